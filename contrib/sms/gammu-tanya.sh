#!/usr/bin/env bash
# gammu-tanya.sh: hands every SMS that Gammu SMSD receives to a Tanya session's intake API.
#
# Install (docs/intake.md has every step):
#   install -m 0755 contrib/sms/gammu-tanya.sh /usr/local/bin/gammu-tanya.sh
#   /etc/gammu-smsdrc, section [smsd]:   RunOnReceive = /usr/local/bin/gammu-tanya.sh
#   /etc/tanya/intake.env (readable by the user gammu-smsd runs as, nobody else):
#     TANYA_INTAKE_URL=https://tanya.example.go.id/api/sessions/SESSION-ID/intake
#     TANYA_INTAKE_KEY=the session's intake key
#
# What Gammu gives: it runs this script once per received message (a long message arrives as
# one run with all its parts) with SMS_MESSAGES, SMS_n_NUMBER, SMS_n_TEXT, SMS_n_CLASS for each
# physical SMS, and DECODED_PARTS with DECODED_n_TEXT holding the joined text of a long message
# (man 7 gammu-smsd-run). It appends the names under which the backend stored the message as
# arguments: file names such as IN20240115_103000_00_+6281234567890_00.txt for the files
# backend, row ids for SQL backends. The script reads the text from DECODED_n_TEXT when there
# is one, else joins SMS_n_TEXT of the parts.
#
# One POST per message: {"ref", "channel": "sms", "contact": sender, "text"} with
# `Authorization: Bearer KEY` (the key never appears on a command line). The body is built by
# python3's json.dumps from the environment: no text of a citizen is ever pasted into JSON or
# into a shell command.
#
# The ref: Gammu gives no message id, so the ref is
#     "sms-" + sha256(sender "|" text "|" stamp)      (hex, 68 characters)
# where stamp is the SMS's date and time taken from the files backend's file name
# (IN<YYYYMMDD>_<HHMMSS>_..., the time the network put on the message), or empty when Gammu
# passes no such name (SQL backends). The same message handed over again, whether Gammu runs
# this script again, an operator re-runs it, or the network delivers the SMS a second time, gives
# the same ref, and the hub answers a known ref with the question it already has: never a
# second question. Without a stamp, the same text from the same number twice in one session is
# also one question (the citizen gets the same tracking code again), which is what the office
# wants from a repeated SMS anyway.
#
# Answers: 200 prints the hub's reply_text (with the tracking code) on stdout, and with
# TANYA_REPLY=1 sends it back to the citizen through Gammu's own outbox:
#     gammu-smsd-inject [-c TANYA_SMSDRC] TEXT NUMBER -len 480 -text "REPLY"
# (-len: the reply with its address is longer than one SMS, so it goes as a long SMS of up to
# 480 characters; the hub's reply template has at most 320 characters before the code and address.)
# Network errors and 5xx are tried 3 times (waits of TANYA_RETRY_DELAY s, then twice that).
# A refusal (400 invalid, 409 conflict or closed session, 429 more than the per-contact limit)
# is logged with the hub's reason and dropped. When the hub cannot be reached, or refuses the
# key or the session (401, 404: the configuration, not the message, is wrong) and the folder
# TANYA_SPOOL exists and is writable, the message is kept there and sent first at the next run.
# The script exits 0 in all these cases: a message must never make Gammu stumble. It exits 1
# only when it cannot work at all (no URL or key, no python3 or curl), so Gammu's log shows it.
#
# Settings (the environment wins over the file TANYA_INTAKE_ENV, default /etc/tanya/intake.env,
# read at every run, with KEY=VALUE lines as systemd's EnvironmentFile; empty: no file):
#   TANYA_INTAKE_URL    the session's links.intake              (required)
#   TANYA_INTAKE_KEY    the session's keys.intake               (required)
#   TANYA_REPLY         1: send reply_text back by SMS          (default 0: off)
#   TANYA_SMSDRC        gammu-smsd-inject's -c                  (default: its own, /etc/gammu-smsdrc)
#   TANYA_INJECT        the inject program                      (default gammu-smsd-inject)
#   TANYA_SPOOL         folder for messages to send later       (default /var/spool/tanya-sms, used
#                                                                only when it exists)
#   TANYA_LOG           a file to append log lines to as well   (default none)
#   TANYA_TIMEOUT       seconds per attempt                     (default 15)
#   TANYA_RETRY_DELAY   seconds before the 2nd attempt          (default 2; the 3rd waits twice that)
# Gammu waits for this script at most two minutes: 3 attempts of 15 s and the waits fit.
#
# Logs go to stderr (newer Gammu copies it into its own log as "Subprocess output"); older Gammu
# closes every descriptor, and then the lines go to syslog with the tag gammu-tanya
# (journalctl -t gammu-tanya). Sender numbers are logged masked (+62812****7890).

set -u -o pipefail
umask 077

# Older Gammu closes every file descriptor before it runs this script.
stderr_closed=0
[ -e /dev/fd/0 ] || exec 0</dev/null
[ -e /dev/fd/1 ] || exec 1>/dev/null
if [ ! -e /dev/fd/2 ]; then exec 2>/dev/null; stderr_closed=1; fi

log() {
  printf 'gammu-tanya: %s\n' "$*" >&2
  if [ -n "${TANYA_LOG:-}" ]; then
    printf '%s gammu-tanya[%d]: %s\n' "$(date '+%Y-%m-%d %H:%M:%S')" "$$" "$*" >>"$TANYA_LOG" 2>/dev/null || true
  fi
  if [ "$stderr_closed" = 1 ] && command -v logger >/dev/null 2>&1; then
    logger -t gammu-tanya -- "$*" 2>/dev/null || true
  fi
}

# --- settings ------------------------------------------------------------------------------

KNOWN_KEYS=" TANYA_INTAKE_URL TANYA_INTAKE_KEY TANYA_REPLY TANYA_SMSDRC TANYA_INJECT TANYA_SPOOL TANYA_LOG TANYA_TIMEOUT TANYA_RETRY_DELAY "
config_file=${TANYA_INTAKE_ENV-/etc/tanya/intake.env}
if [ -n "$config_file" ] && [ -r "$config_file" ]; then
  # KEY=VALUE lines, # comments, optional quotes, optional `export `; never run as code.
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    line=${line#"${line%%[![:space:]]*}"}
    case $line in '' | '#'*) continue ;; esac
    line=${line#export }
    key=${line%%=*}
    [ "$key" != "$line" ] || continue
    key=${key%"${key##*[![:space:]]}"}
    val=${line#*=}
    case $val in
      \"*\") val=${val#\"}; val=${val%\"} ;;
      \'*\') val=${val#\'}; val=${val%\'} ;;
    esac
    case $KNOWN_KEYS in *" $key "*) ;; *) continue ;; esac
    # The environment wins over the file.
    if [ -z "${!key+set}" ]; then
      printf -v "$key" '%s' "$val"
      export "${key?}"
    fi
  done <"$config_file"
fi

URL=${TANYA_INTAKE_URL:-}
KEY=${TANYA_INTAKE_KEY:-}
REPLY=${TANYA_REPLY:-0}
INJECT=${TANYA_INJECT:-gammu-smsd-inject}
SPOOL=${TANYA_SPOOL:-/var/spool/tanya-sms}
TIMEOUT=${TANYA_TIMEOUT:-15}
DELAY=${TANYA_RETRY_DELAY:-2}

missing=""
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
if [ -n "$missing" ]; then
  log "cannot work: missing$missing (apt-get install$missing); the message is NOT delivered"
  exit 1
fi
if [ -z "$URL" ] || [ -z "$KEY" ]; then
  log "cannot work: TANYA_INTAKE_URL and TANYA_INTAKE_KEY must be set (environment or $config_file); the message is NOT delivered"
  exit 1
fi
case $URL in http://* | https://*) ;; *)
  log "cannot work: TANYA_INTAKE_URL must start with http:// or https:// (got something else); the message is NOT delivered"
  exit 1 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/gammu-tanya.XXXXXX") || { log "cannot make a temporary folder"; exit 1; }
trap 'rm -rf "$work"' EXIT
# The key goes to curl in a header file, never on its command line (ps shows command lines).
printf 'Authorization: Bearer %s\n' "$KEY" >"$work/auth"

# --- the messages of this run, as JSON bodies, built by python3 ------------------------------
# Writes $work/msg-N.json and prints one line per message: FILE<TAB>REF<TAB>MASKED-SENDER<TAB>NOTE
messages=$(python3 - "$work" "$@" <<'PY'
import hashlib, json, os, re, sys, unicodedata

work, args = sys.argv[1], sys.argv[2:]
env = os.environb

def get(name):
    v = env.get(name.encode())
    return None if v is None else v.decode("utf-8", "replace")

def count(name):
    try:
        return max(0, int(get(name) or "0"))
    except ValueError:
        return 0

def mask(number):
    n = number or ""
    return n[:-8] + "****" + n[-4:] if len(n) > 8 else "****"

# The SMS's date and time from the files backend's names: IN<YYYYMMDD>_<HHMMSS>_...
stamps = sorted(m.group(1) + m.group(2) for a in args
                for m in [re.match(r"IN(\d{8})_(\d{6})_", os.path.basename(a))] if m)
stamp = stamps[0] if stamps else ""

n_sms = count("SMS_MESSAGES")
decoded = [t for t in (get("DECODED_%d_TEXT" % i) for i in range(1, count("DECODED_PARTS") + 1)) if t is not None]

# One run is one message (a long one with all its parts). Defensively, parts from different
# senders without a decoded text become separate messages.
groups = []
if decoded:
    groups.append((get("SMS_1_NUMBER") or "", "".join(decoded)))
else:
    for i in range(1, n_sms + 1):
        number, text = get("SMS_%d_NUMBER" % i) or "", get("SMS_%d_TEXT" % i)
        if text is None:
            continue  # 8-bit (binary) parts have no text
        if groups and groups[-1][0] == number:
            groups[-1] = (number, groups[-1][1] + text)
        else:
            groups.append((number, text))

for k, (number, text) in enumerate(groups, 1):
    sender = re.sub(r"[\s\-().]", "", number)
    if not re.fullmatch(r"\+?\d{9,15}", sender):
        print("-\t-\t%s\tskipped: the sender is not a phone number (operator notice or short code)" % (number[:20] or "(none)"))
        continue
    ref = "sms-" + hashlib.sha256("|".join([sender, text, stamp]).encode("utf-8", "surrogatepass")).hexdigest()
    clean = unicodedata.normalize("NFC", text).strip()
    if not clean:
        print("-\t%s\t%s\tskipped: an empty message" % (ref, mask(sender)))
        continue
    note = ""
    if len(clean) > 300:
        note = "shortened from %d to 300 characters" % len(clean)
        clean = clean[:299].rstrip() + "\u2026"
    body = {"ref": ref, "channel": "sms", "contact": sender, "text": clean}
    path = os.path.join(work, "msg-%d.json" % k)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(body, f, ensure_ascii=False)
    print("%s\t%s\t%s\t%s" % (path, ref, mask(sender), note))
PY
) || { log "could not read the message from Gammu's environment"; exit 1; }

# Reads fields (dotted paths) of a JSON file, one python3 run for all: sets the shell variables
# J_1, J_2, ... in order (empty when a field is not there; line breaks and tabs become spaces).
jget() {
  local file=$1 i=1 v
  shift
  while IFS= read -r -d '' v; do
    printf -v "J_$i" '%s' "$v"
    i=$((i + 1))
  done < <(python3 - "$file" "$@" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        doc = json.load(f)
except Exception:
    doc = None
for path in sys.argv[2:]:
    d = doc
    for k in path.split("."):
        d = d.get(k) if isinstance(d, dict) else None
    v = "" if d is None else d if isinstance(d, str) else json.dumps(d)
    sys.stdout.write(" ".join(v.replace("\t", " ").splitlines()) + "\0")
PY
)
}

# POSTs a body file. Sets HTTP (000: no answer) and leaves the answer in $work/resp.
# Returns 0 when an answer was final (2xx, 4xx), 1 when the hub could not be reached or failed.
post() {
  local body=$1 attempts=$2 attempt=1 wait=$DELAY err
  while :; do
    HTTP=$(curl -sS -o "$work/resp" -w '%{http_code}' -X POST \
      -H @"$work/auth" -H 'Content-Type: application/json' -H 'Accept: application/json' \
      --data-binary @"$body" --connect-timeout 5 --max-time "$TIMEOUT" -- "$URL" 2>"$work/curl-err")
    local rc=$?
    [ -n "$HTTP" ] || HTTP=000
    if [ $rc -eq 0 ] && [ "${HTTP:0:1}" != 5 ] && [ "$HTTP" != 000 ]; then return 0; fi
    if [ "$HTTP" = 000 ]; then
      err="no answer ($(head -c 200 "$work/curl-err" | tr '\n' ' '))"
    else
      jget "$work/resp" error.code
      err="HTTP $HTTP $J_1"
    fi
    if [ "$attempt" -ge "$attempts" ]; then
      log "attempt $attempt of $attempts failed: $err; giving up"
      return 1
    fi
    log "attempt $attempt of $attempts failed: $err; again in ${wait}s"
    sleep "$wait"
    attempt=$((attempt + 1))
    wait=$(awk -v w="$wait" 'BEGIN { print w * 2 }')
  done
}

spool_usable() { [ -d "$SPOOL" ] && [ -w "$SPOOL" ]; }

keep_for_later() { # body ref why
  if spool_usable && cp "$1" "$SPOOL/.$2.tmp" && mv -f "$SPOOL/.$2.tmp" "$SPOOL/$2.json"; then
    log "kept in $SPOOL for the next run ($3)"
  else
    log "NOT delivered ($3); create a writable folder $SPOOL to keep such messages for later"
  fi
}

send_reply() { # contact reply
  [ "$REPLY" = 1 ] || return 0
  local args=()
  [ -n "${TANYA_SMSDRC:-}" ] && args=(-c "$TANYA_SMSDRC")
  if out=$("$INJECT" "${args[@]}" TEXT "$1" -len 480 -text "$2" 2>&1); then
    log "reply queued in Gammu's outbox"
  else
    log "could not queue the reply with $INJECT: $(printf '%s' "$out" | tail -n 2 | tr '\n' ' ')"
  fi
}

# Handles the answer to one body. $1 body file, $2 ref, $3 masked sender, $4 "spooled" or "".
# Returns 1 when the hub could not take it now (the caller stops draining the spool).
deliver() {
  local body=$1 ref=$2 who=$3 from_spool=$4 attempts=3
  [ -n "$from_spool" ] && attempts=1
  if ! post "$body" "$attempts"; then
    [ -n "$from_spool" ] || keep_for_later "$body" "$ref" "the hub could not be reached"
    return 1
  fi
  local code message
  case $HTTP in
    2??)
      local reply tracking question
      jget "$work/resp" reply_text tracking question.id
      reply=$J_1 tracking=$J_2 question=$J_3
      log "delivered: from $who, question $question, tracking $tracking${from_spool:+ (kept earlier)}"
      [ -n "$from_spool" ] && rm -f "$body"
      if [ -n "$reply" ]; then
        printf '%s\n' "$reply" || true
        jget "$body" contact
        send_reply "$J_1" "$reply"
      fi
      return 0 ;;
    401 | 404)
      jget "$work/resp" error.code error.message
      code=$J_1 message=$J_2
      log "refused by the hub: HTTP $HTTP ${code:-?}: ${message:-no reason given}; check TANYA_INTAKE_URL and TANYA_INTAKE_KEY (a new key, or another session?)"
      [ -n "$from_spool" ] || keep_for_later "$body" "$ref" "HTTP $HTTP, the configuration"
      return 1 ;;
    *)
      local retry
      jget "$work/resp" error.code error.message error.retry_after_ms
      code=$J_1 message=$J_2 retry=$J_3
      log "refused by the hub: HTTP $HTTP ${code:-?}: ${message:-no reason given}${retry:+ (retry after ${retry} ms)}; from $who, ref $ref; dropped"
      [ -n "$from_spool" ] && rm -f "$body"
      return 0 ;;
  esac
}

# --- first what an earlier run had to keep, then this run's message -------------------------
if spool_usable; then
  for kept in "$SPOOL"/sms-*.json; do
    [ -e "$kept" ] || break
    kref=$(basename "$kept" .json)
    jget "$kept" contact
    kcontact=$J_1
    deliver "$kept" "$kref" "****${kcontact: -4}" spooled || break
  done
fi

[ -n "$messages" ] || log "no text in this run (SMS_MESSAGES=${SMS_MESSAGES:-unset}, DECODED_PARTS=${DECODED_PARTS:-unset}): nothing to send"
while IFS=$'\t' read -r file ref who note; do
  [ -n "$file" ] || continue
  if [ "$file" = - ]; then
    log "message from $who $note"
    continue
  fi
  [ -n "$note" ] && log "message from $who $note"
  deliver "$file" "$ref" "$who" "" || true
done <<<"$messages"

exit 0
