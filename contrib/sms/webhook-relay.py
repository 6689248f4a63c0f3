#!/usr/bin/env python3
"""webhook-relay.py: turns an SMS provider's webhook into a question in a Tanya session.

SMS providers that deliver incoming messages by HTTP each post their own fields, as a form
(application/x-www-form-urlencoded), as JSON, or as a GET query: the sender as `from`, `msisdn`,
`phoneNumber` or `From`, the text as `text`, `message`, `body` or `Body`, the provider's id as
`id`, `messageId` or `MessageSid`. This relay takes any of them, posts
{"ref", "channel": "sms", "contact", "text"} to the session's intake API
(docs/protocol.md, docs/intake.md) and answers the provider with the hub's reply_text, the
thank-you with the tracking code, which most providers can send back to the citizen.

Python 3 standard library only. Run it behind nginx (HTTPS) or on a private address:

    TANYA_INTAKE_URL=https://tanya.example.go.id/api/sessions/ID/intake \\
    TANYA_INTAKE_KEY=... TANYA_RELAY_SECRET=a-long-random-string \\
    python3 webhook-relay.py

and give the provider the webhook address  https://HOST/sms?secret=a-long-random-string
(or have it send the header `X-Tanya-Secret: ...`, or `Authorization: Bearer ...`).

Settings (environment; also read from the file TANYA_INTAKE_ENV, default /etc/tanya/intake.env,
KEY=VALUE lines, empty: no file; the environment wins). The file is read again when it changes,
so a new session's URL and key, or a rotated key, take effect without a restart:
  TANYA_INTAKE_URL         the session's links.intake                               (required)
  TANYA_INTAKE_KEY         the session's keys.intake                                (required)
  TANYA_RELAY_SECRET       the shared secret the provider must send, 16+ characters (required)
  TANYA_RELAY_LISTEN       address:port to listen on              (default 127.0.0.1:8090)
  TANYA_RELAY_PATH         the webhook's path                     (default /sms; any path: "*")
  TANYA_RELAY_SECRET_PARAM query or form field with the secret    (default secret)
  TANYA_RELAY_SECRET_HEADER header with the secret                (default X-Tanya-Secret)
  TANYA_RELAY_FROM         sender field names, comma-separated, first present wins
                           (default from,msisdn,phoneNumber,phone_number,phone,sender,From,source)
  TANYA_RELAY_TEXT         text field names   (default text,message,body,Body,content,msg,Text)
  TANYA_RELAY_ID           id field names     (default id,messageId,message_id,MessageSid,SmsSid,
                           msgid,messageID,sms_id)
  TANYA_RELAY_REPLY        how to answer the provider: text (text/plain, the reply text),
                           json ({"reply": "..."}) or twiml (<Response><Message>...)   (default text)
  TANYA_RELAY_REFUSED_TEXT what to answer (with 200) when the hub refuses the message, e.g.
                           "Maaf, pertanyaan tidak dapat diterima saat ini."         (default empty)
  TANYA_TIMEOUT            seconds per attempt to the hub (3 attempts; providers wait
                           about 15 s for an answer)                                 (default 5)
Field names may be dotted paths into JSON (`message.from`, `data.0.text`).

Answers to the provider: 200 with the reply (also for a message the provider sends again: the
ref is the provider's id, so the hub answers with the same question); 200 with
TANYA_RELAY_REFUSED_TEXT when the hub refuses the message itself (invalid, session closed,
more than the per-contact limit), so the provider does not send it again; 400 when sender or
text is missing; 403 without the secret; 503 when the hub cannot be reached or refuses the
relay's key or session (a provider that retries sends it again later). Texts over 300
characters are shortened to 300 (the hub's limit) with a "…". Without an id field the
ref is "sms-" + sha256(sender "|" text), as contrib/sms/gammu-tanya.sh does without a time.
Logs go to stderr; sender numbers are masked, secrets and keys never logged.
"""

import hashlib
import hmac
import json
import os
import re
import socket
import sys
import threading
import time
import unicodedata
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape as xml_escape

KNOWN = {
    "TANYA_INTAKE_URL", "TANYA_INTAKE_KEY", "TANYA_RELAY_SECRET", "TANYA_RELAY_LISTEN",
    "TANYA_RELAY_PATH", "TANYA_RELAY_SECRET_PARAM", "TANYA_RELAY_SECRET_HEADER", "TANYA_RELAY_FROM",
    "TANYA_RELAY_TEXT", "TANYA_RELAY_ID", "TANYA_RELAY_REPLY", "TANYA_RELAY_REFUSED_TEXT",
    "TANYA_TIMEOUT",
}
MAX_BODY = 64 * 1024


def log(msg):
    sys.stderr.write("webhook-relay: %s\n" % msg)
    sys.stderr.flush()


ENV_FILE = os.environ.get("TANYA_INTAKE_ENV", "/etc/tanya/intake.env")


def read_env_file(path):
    """KEY=VALUE lines (as systemd's EnvironmentFile), read as data, never run."""
    settings = {}
    if not path:
        return settings
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                if line.startswith("export "):
                    line = line[len("export "):]
                key, sep, val = line.partition("=")
                key, val = key.strip(), val.strip()
                if not sep or key not in KNOWN:
                    continue
                if len(val) >= 2 and val[0] == val[-1] and val[0] in "\"'":
                    val = val[1:-1]
                settings[key] = val
    except FileNotFoundError:
        pass
    except OSError as e:
        log("cannot read %s: %s" % (path, e))
    return settings


class Config:
    """The settings: the environment over the file. The file is read again when it changes,
    so a new session's URL and key (or a new key) take effect without a restart."""

    def __init__(self):
        s = read_env_file(ENV_FILE)
        for key in KNOWN:
            if key in os.environ:
                s[key] = os.environ[key]

        def get(key, default=""):
            v = s.get(key, "")
            return v if v != "" else default

        def names(key, default):
            return [n.strip() for n in get(key, default).split(",") if n.strip()]

        self.url = get("TANYA_INTAKE_URL")
        self.key = get("TANYA_INTAKE_KEY")
        self.secret = get("TANYA_RELAY_SECRET")
        self.listen = get("TANYA_RELAY_LISTEN", "127.0.0.1:8090")
        self.path = get("TANYA_RELAY_PATH", "/sms")
        self.secret_param = get("TANYA_RELAY_SECRET_PARAM", "secret")
        self.secret_header = get("TANYA_RELAY_SECRET_HEADER", "X-Tanya-Secret")
        self.from_fields = names("TANYA_RELAY_FROM", "from,msisdn,phoneNumber,phone_number,phone,sender,From,source")
        self.text_fields = names("TANYA_RELAY_TEXT", "text,message,body,Body,content,msg,Text")
        self.id_fields = names("TANYA_RELAY_ID", "id,messageId,message_id,MessageSid,SmsSid,msgid,messageID,sms_id")
        self.reply = get("TANYA_RELAY_REPLY", "text")
        self.refused_text = get("TANYA_RELAY_REFUSED_TEXT")
        try:
            self.timeout = float(get("TANYA_TIMEOUT", "5"))
        except ValueError:
            self.timeout = 5.0

    def problems(self):
        p = []
        if not self.url.startswith(("http://", "https://")):
            p.append("TANYA_INTAKE_URL (the session's links.intake) must be set")
        if not self.key:
            p.append("TANYA_INTAKE_KEY (the session's keys.intake) must be set")
        if len(self.secret) < 16:
            p.append("TANYA_RELAY_SECRET must be set, at least 16 characters (the provider sends it)")
        if self.reply not in ("text", "json", "twiml"):
            p.append("TANYA_RELAY_REPLY must be text, json or twiml")
        return p


def file_stamp():
    """The file's bytes (a few hundred): compared at each request, so any change is seen."""
    try:
        if not ENV_FILE:
            return None
        with open(ENV_FILE, "rb") as f:
            return f.read(65536)
    except OSError:
        return None


_config = {"stamp": file_stamp(), "config": Config()}
_config_lock = threading.Lock()


def current():
    """The settings now; a changed file is read again (kept as they were when it is broken)."""
    stamp = file_stamp()
    with _config_lock:
        if stamp != _config["stamp"]:
            fresh = Config()
            _config["stamp"] = stamp
            if fresh.problems():
                log("%s changed but is not usable (%s); keeping the settings I had" % (ENV_FILE, "; ".join(fresh.problems())))
            else:
                log("%s changed: posting to %s now" % (ENV_FILE, fresh.url))
                _config["config"] = fresh
        return _config["config"]


def mask(number):
    return number[:-8] + "****" + number[-4:] if len(number) > 8 else "****"


def lookup(fields, name):
    """A field by name or dotted path; scalars only, as a string."""
    cur = fields
    for part in name.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    if isinstance(cur, bool) or cur is None or isinstance(cur, (dict, list)):
        return None
    return str(cur)


def first(fields, candidates):
    for name in candidates:
        v = lookup(fields, name)
        if v is not None and v.strip() != "":
            return v
    return None


def post_intake(cfg, body):
    """POSTs to the hub, 3 attempts on network errors and 5xx. -> (status, json or None)."""
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    wait = 0.5
    for attempt in range(1, 4):
        req = urllib.request.Request(cfg.url, data=data, method="POST", headers={
            "Authorization": "Bearer " + cfg.key,
            "Content-Type": "application/json",
            "Accept": "application/json",
        })
        status, answer, why = 0, None, ""
        try:
            with urllib.request.urlopen(req, timeout=cfg.timeout) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            raw, why = b"", "no answer (%s)" % getattr(e, "reason", e)
        try:
            answer = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            answer = None
        if status and status < 500:
            return status, answer
        if status:
            why = "HTTP %d" % status
        if attempt == 3:
            log("attempt %d of 3 failed: %s; giving up" % (attempt, why))
            return status, answer
        log("attempt %d of 3 failed: %s; again in %.1fs" % (attempt, why, wait))
        time.sleep(wait)
        wait *= 2
    return 0, None


def error_of(answer):
    e = (answer or {}).get("error") if isinstance(answer, dict) else None
    return (e or {}).get("code", "?"), (e or {}).get("message", "no reason given")


class Relay(BaseHTTPRequestHandler):
    server_version = "tanya-webhook-relay"
    sys_version = ""

    def log_message(self, fmt, *args):  # the default logs the query string (the secret)
        pass

    def answer(self, status, text="", content_type=None):
        fmt = current().reply
        if content_type:  # the relay's own answers (errors, health): plain text
            payload, ctype = text.encode("utf-8"), content_type
        elif fmt == "json":
            payload = json.dumps({"reply": text}, ensure_ascii=False).encode("utf-8")
            ctype = "application/json"
        elif fmt == "twiml":
            inner = "<Message>%s</Message>" % xml_escape(text) if text else ""
            payload = ('<?xml version="1.0" encoding="UTF-8"?><Response>%s</Response>' % inner).encode("utf-8")
            ctype = "application/xml"
        else:
            payload = text.encode("utf-8")
            ctype = "text/plain; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def do_GET(self):
        path = urllib.parse.urlsplit(self.path).path
        if path == "/healthz":
            self.answer(200, "ok", "text/plain; charset=utf-8")
            return
        self.handle_webhook()

    def do_POST(self):
        self.handle_webhook()

    def handle_webhook(self):
        cfg = current()
        split = urllib.parse.urlsplit(self.path)
        if cfg.path != "*" and split.path != cfg.path:
            self.answer(404, "not found", "text/plain; charset=utf-8")
            return
        query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))

        fields = dict(query)
        if self.command == "POST":
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                self.answer(413, "too large", "text/plain; charset=utf-8")
                return
            raw = self.rfile.read(length) if length else b""
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            if ctype == "application/json" or (not ctype and text.lstrip().startswith("{")):
                try:
                    parsed = json.loads(text) if text.strip() else {}
                except ValueError:
                    self.answer(400, "bad JSON", "text/plain; charset=utf-8")
                    return
                if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
                    parsed = parsed[0]
                if isinstance(parsed, dict):
                    fields.update(parsed)
            else:
                fields.update(dict(urllib.parse.parse_qsl(text, keep_blank_values=True)))

        # The shared secret: query or form field, a header, or a Bearer token.
        param = fields.get(cfg.secret_param)
        offered = [query.get(cfg.secret_param), param if isinstance(param, str) else None,
                   self.headers.get(cfg.secret_header)]
        auth = self.headers.get("Authorization") or ""
        if auth.lower().startswith("bearer "):
            offered.append(auth[7:].strip())
        if not any(o is not None and hmac.compare_digest(o.encode("utf-8"), cfg.secret.encode("utf-8")) for o in offered):
            log("refused a request without the right secret from %s" % self.client_address[0])
            self.answer(403, "forbidden", "text/plain; charset=utf-8")
            return

        sender = first(fields, cfg.from_fields)
        text = first(fields, cfg.text_fields)
        if sender is None or text is None:
            log("a webhook without %s (fields: %s)" % (
                "sender" if sender is None else "text",
                ", ".join(sorted(k for k in fields if k != cfg.secret_param))[:200]))
            self.answer(400, "sender and text are required", "text/plain; charset=utf-8")
            return
        sender = re.sub(r"[\s\-().]", "", sender)
        if re.fullmatch(r"\d{9,15}", sender) and not sender.startswith("0"):
            sender = "+" + sender  # providers often send 6281... without the plus
        clean = unicodedata.normalize("NFC", text).strip()
        if len(clean) > 300:
            log("a message from %s shortened from %d to 300 characters" % (mask(sender), len(clean)))
            clean = clean[:299].rstrip() + "\u2026"

        pid = first(fields, cfg.id_fields)
        if pid is not None:
            ref = "sms-" + pid.strip() if len(pid.strip()) <= 96 else "sms-" + hashlib.sha256(pid.encode("utf-8")).hexdigest()
        else:
            ref = "sms-" + hashlib.sha256("|".join([sender, text, ""]).encode("utf-8")).hexdigest()

        body = {"ref": ref, "channel": "sms", "text": clean}
        if re.fullmatch(r"\+?\d{9,15}", sender):
            body["contact"] = sender
        else:
            log("the sender %r is not a phone number: the question has no contact" % sender[:20])
        status, answer = post_intake(cfg, body)
        if 200 <= status < 300 and isinstance(answer, dict):
            q = answer.get("question") or {}
            log("delivered: from %s, question %s, tracking %s" % (mask(sender), q.get("id"), answer.get("tracking")))
            self.answer(200, answer.get("reply_text") or "")
        elif status in (0, 401, 404) or status >= 500:
            code, message = error_of(answer)
            why = "the hub could not be reached" if status == 0 else "HTTP %d %s: %s" % (status, code, message)
            hint = "; check TANYA_INTAKE_URL and TANYA_INTAKE_KEY" if status in (401, 404) else ""
            log("NOT delivered, the provider should send it again later: %s%s" % (why, hint))
            self.answer(503, "try again later", "text/plain; charset=utf-8")
        else:
            code, message = error_of(answer)
            log("refused by the hub: HTTP %d %s: %s; from %s, ref %s; dropped" % (status, code, message, mask(sender), ref))
            self.answer(200, cfg.refused_text)


def main():
    cfg = current()
    problems = cfg.problems()
    host, _, port = cfg.listen.rpartition(":")
    if not port.isdigit():
        problems.append("TANYA_RELAY_LISTEN must be address:port")
    if problems:
        for p in problems:
            log(p)
        sys.exit(2)
    host = host.strip("[]") or "127.0.0.1"

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in host else socket.AF_INET

    server = Server((host, int(port)), Relay)
    server.daemon_threads = True
    log("listening on http://%s:%d%s, posting to %s" % (server.server_address[0], server.server_address[1],
                                                       "" if cfg.path == "*" else cfg.path, cfg.url))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
