//! Questions from outside the room (docs/intake.md): a gateway posting SMS through the intake
//! API (idempotent per `ref`, also across `kill -9`), every bad field, the per-contact limit, and
//! the WhatsApp Cloud API webhook (verification; signed, mis-signed and unsigned deliveries).

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::{ADMIN, Client, Session, TestServer, http, http_json};

const SECRET: &str = "app-secret-of-the-meta-app";
const VERIFY: &str = "verify-token-of-the-office";

fn keys(server_session: &Value) -> (String, String) {
    (
        server_session["keys"]["intake"]
            .as_str()
            .unwrap()
            .to_string(),
        server_session["links"]["intake"]
            .as_str()
            .unwrap()
            .to_string(),
    )
}

async fn post_intake(server: &TestServer, s: &Session, key: &str, body: Value) -> (u16, Value) {
    http_json(
        "POST",
        &server.http(&format!("/api/sessions/{}/intake", s.id)),
        Some(key),
        Some(&body.to_string()),
    )
    .await
}

#[tokio::test]
async fn a_gateway_posts_an_sms_once_however_often_it_retries_also_across_a_crash() {
    let mut server = TestServer::start();
    let raw = server
        .create_session("Diskusi Wong Kito #13", json!([]))
        .await;
    let s = Session::from_json(&raw);
    let (key, link) = keys(&raw);
    assert!(
        link.ends_with(&format!("/api/sessions/{}/intake", s.id)),
        "{link}"
    );
    assert!(raw["links"]["desk"].as_str().unwrap().contains("/desk/"));
    let sms = json!({"ref":"gammu-20261205-0001","channel":"sms",
                     "text":"Jalan di Sako rusak parah, kapan diperbaiki?",
                     "contact":"0812-3456-7890","place":{"kecamatan":"Sako"},"topic":"jalan"});
    let (st, first) = post_intake(&server, &s, &key, sms.clone()).await;
    assert_eq!(st, 200, "{first}");
    let code = first["tracking"].as_str().unwrap().to_string();
    let reply = first["reply_text"].as_str().unwrap();
    assert!(
        reply.contains(&code) && reply.contains(&format!("/lacak/{code}")),
        "{reply}"
    );
    assert!(reply.starts_with("Terima kasih"), "{reply}");
    assert_eq!(first["question"]["channel"], "sms");
    assert!(first.get("contact").is_none() && !first.to_string().contains("3456"));
    // A retry is the same question.
    let (_, again) = post_intake(&server, &s, &key, sms.clone()).await;
    assert_eq!(again["question"]["id"], first["question"]["id"]);
    assert_eq!(again["tracking"], first["tracking"]);
    // The same ref after kill -9 and a restart: still the same question.
    server.kill9();
    server.restart();
    let (st, after) = post_intake(&server, &s, &key, sms.clone()).await;
    assert_eq!(st, 200, "{after}");
    assert_eq!(after["question"]["id"], first["question"]["id"]);
    // The same ref with other text is a conflict, not a second question.
    let mut other = sms.clone();
    other["text"] = json!("Teks lain");
    let (st, e) = post_intake(&server, &s, &key, other).await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{e}"
    );
    // The moderator sees one question, from a gateway, with the private contact.
    let m = Client::moderator(&server, &s).await;
    let qs = m.welcome["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 1, "{qs:?}");
    assert_eq!(qs[0]["via"], "gateway");
    assert_eq!(qs[0]["source"], "operator");
    assert_eq!(qs[0]["channel"], "sms");
    assert_eq!(qs[0]["contact"], "081234567890");
    assert_eq!(qs[0]["status"], "pending");
    // The citizen's code works.
    let (st, t) = http_json(
        "GET",
        &server.http(&format!("/api/track/{code}")),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200, "{t}");
    // A form, as some SMS providers post.
    let auth = format!("Bearer {key}");
    let (st, b) = raw_post(
        &server,
        &format!("/api/sessions/{}/intake", s.id),
        "application/x-www-form-urlencoded",
        &[("Authorization", &auth)],
        "ref=prov-1&channel=sms&text=Banjir+di+Kertapati&contact=%2B6281111222333&kecamatan=Kertapati",
    )
    .await;
    assert_eq!(st, 200, "{b}");
    let m = Client::moderator(&server, &s).await;
    let q = &m.welcome["questions"][1];
    assert_eq!(q["text"], "Banjir di Kertapati");
    assert_eq!(q["place"]["kecamatan"], "Kertapati");
    assert_eq!(q["contact"], "+6281111222333");
}

#[tokio::test]
async fn bad_intakes_name_the_field_and_create_nothing() {
    let server = TestServer::start_with(&[("TANYA_INTAKE_PER_CONTACT_PER_MINUTE", "2")]);
    let raw = server.create_session("Uji intake", json!([])).await;
    let s = Session::from_json(&raw);
    let (key, _) = keys(&raw);
    let ok = json!({"ref":"r","channel":"sms","text":"Halo"});
    for (patch, status, word) in [
        (json!({"ref": null}), 400, "ref"),
        (json!({"ref": ""}), 400, "ref"),
        (json!({"ref": "x".repeat(101)}), 400, "ref"),
        (json!({"channel": null}), 400, "channel"),
        (json!({"channel": "radio"}), 400, "channel"),
        (json!({"channel": 5}), 400, "channel"),
        (json!({"text": null}), 400, "text"),
        (json!({"text": "   "}), 400, "text"),
        (json!({"text": "x".repeat(301)}), 400, "text"),
        (json!({"name": "x".repeat(61)}), 400, "name"),
        (json!({"contact": "abc"}), 400, "contact"),
        (
            json!({"place": {"kecamatan": "Atlantis"}}),
            400,
            "place.kecamatan",
        ),
        (json!({"topic": "cuaca"}), 400, "topic"),
    ] {
        let mut b = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                b.as_object_mut().unwrap().remove(k);
            } else {
                b[k] = v.clone();
            }
        }
        let (st, e) = post_intake(&server, &s, &key, b.clone()).await;
        assert_eq!(st, status, "{b} -> {e}");
        assert!(
            e["error"]["message"].as_str().unwrap().contains(word),
            "{b} -> {e}"
        );
    }
    for (body, word) in [("{", "JSON"), ("[]", "object")] {
        let (st, _, b) = http(
            "POST",
            &server.http(&format!("/api/sessions/{}/intake", s.id)),
            Some(&key),
            Some(body),
        )
        .await;
        assert_eq!(st, 400, "{b}");
        assert!(b.contains(word), "{b}");
    }
    let (st, _) = post_intake(&server, &s, "wrong-key", ok.clone()).await;
    assert_eq!(st, 401);
    let (st, _) = post_intake(&server, &s, &s.moderator, ok.clone()).await;
    assert_eq!(st, 401, "the moderator key is not the intake key");
    let (st, _, _) = http(
        "POST",
        &server.http(&format!("/api/sessions/{}/intake", uuid::Uuid::new_v4())),
        Some(&key),
        Some(&ok.to_string()),
    )
    .await;
    assert_eq!(st, 404);
    let m = Client::moderator(&server, &s).await;
    assert_eq!(m.welcome["questions"], json!([]), "nothing was created");
    // A flooding number: its third new question in a minute waits; retries and others do not.
    for i in 0..2 {
        let (st, _) = post_intake(
            &server,
            &s,
            &key,
            json!({"ref":format!("f{i}"),"channel":"sms","text":format!("Pesan {i}"),"contact":"081200000001"}),
        )
        .await;
        assert_eq!(st, 200);
    }
    let (st, e) = post_intake(
        &server,
        &s,
        &key,
        json!({"ref":"f2","channel":"sms","text":"Pesan 2","contact":"081200000001"}),
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{e}"
    );
    assert!(e["error"]["retry_after_ms"].as_u64().unwrap() > 1000, "{e}");
    let (st, _) = post_intake(
        &server,
        &s,
        &key,
        json!({"ref":"f0","channel":"sms","text":"Pesan 0","contact":"081200000001"}),
    )
    .await;
    assert_eq!(st, 200, "a retry of an earlier one is answered");
    let (st, _) = post_intake(
        &server,
        &s,
        &key,
        json!({"ref":"g0","channel":"sms","text":"Pesan lain","contact":"081200000002"}),
    )
    .await;
    assert_eq!(st, 200, "another number is not held up");
    // A closed session takes no more.
    let mut m = Client::moderator(&server, &s).await;
    m.ok(json!({"type":"session","status":"closed"})).await;
    let (st, e) = post_intake(
        &server,
        &s,
        &key,
        json!({"ref":"late","channel":"web","text":"Telat"}),
    )
    .await;
    assert_eq!(
        (st, e["error"]["code"].as_str()),
        (409, Some("closed")),
        "{e}"
    );
    let _ = ADMIN;
}

fn sign(body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    format!(
        "sha256={}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A delivery as the WhatsApp Cloud API documents it: a text message, and (in one entry with
/// it) an image and a status update, which are acknowledged and ignored.
fn delivery(id: &str, text: &str) -> String {
    json!({"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[
        {"value":{"messaging_product":"whatsapp",
                  "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
                  "contacts":[{"profile":{"name":"Sari Palembang"},"wa_id":"6281377665544"}],
                  "messages":[
                    {"from":"6281377665544","id":id,"timestamp":"1733389200","text":{"body":text},"type":"text"},
                    {"from":"6281377665544","id":"wamid.IMAGE","timestamp":"1733389201","type":"image",
                     "image":{"mime_type":"image/jpeg","sha256":"abc","id":"1003383421387256"}}]},
         "field":"messages"},
        {"value":{"messaging_product":"whatsapp",
                  "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
                  "statuses":[{"id":"wamid.OUT","status":"delivered","timestamp":"1733389202","recipient_id":"6281377665544"}]},
         "field":"messages"}]}]})
    .to_string()
}

async fn raw_post(
    server: &TestServer,
    path: &str,
    content_type: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url = server.http(path);
    let rest = url.strip_prefix("http://").unwrap();
    let (host, p) = rest.split_at(rest.find('/').unwrap());
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut req = format!(
        "POST {p} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|x| x.1.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn the_whatsapp_webhook_verifies_and_takes_only_signed_text_messages() {
    let server = TestServer::start_with(&[
        ("TANYA_WHATSAPP_VERIFY_TOKEN", VERIFY),
        ("TANYA_WHATSAPP_APP_SECRET", SECRET),
    ]);
    let s = server.demo_session().await;
    let path = format!("/api/sessions/{}/whatsapp", s.id);
    // Verification (GET): the challenge back for the right token only.
    let (st, _, body) = http(
        "GET",
        &server.http(&format!(
            "{path}?hub.mode=subscribe&hub.verify_token={VERIFY}&hub.challenge=1158201444"
        )),
        None,
        None,
    )
    .await;
    assert_eq!((st, body.as_str()), (200, "1158201444"));
    for q in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1".to_string(),
        "hub.mode=subscribe&hub.challenge=1".to_string(),
        format!("hub.mode=unsubscribe&hub.verify_token={VERIFY}&hub.challenge=1"),
    ] {
        let (st, _, b) = http("GET", &server.http(&format!("{path}?{q}")), None, None).await;
        assert_eq!(st, 403, "{q}: {b}");
    }
    // A delivery with a wrong signature, or none, creates nothing.
    let body = delivery(
        "wamid.HBgLNjI4MTM3NzY2NTU0NBUCABIYFjNFQjBDMEE1",
        "Kapan air PDAM di Plaju mengalir lagi?",
    );
    let (st, b) = raw_post(
        &server,
        &path,
        "application/json",
        &[("X-Hub-Signature-256", "sha256=00ff")],
        &body,
    )
    .await;
    assert_eq!(st, 401, "{b}");
    let tampered = sign(&body.replace("Plaju", "Sako"));
    let (st, _) = raw_post(
        &server,
        &path,
        "application/json",
        &[("X-Hub-Signature-256", &tampered)],
        &body,
    )
    .await;
    assert_eq!(st, 401);
    let (st, _) = raw_post(&server, &path, "application/json", &[], &body).await;
    assert_eq!(st, 401);
    let m = Client::moderator(&server, &s).await;
    assert_eq!(
        m.welcome["questions"],
        json!([]),
        "nothing from unsigned deliveries"
    );
    // Signed: the text message becomes a question; the image and the status are ignored.
    let (st, b) = raw_post(
        &server,
        &path,
        "application/json",
        &[("X-Hub-Signature-256", &sign(&body))],
        &body,
    )
    .await;
    assert_eq!(st, 200, "{b}");
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v, json!({"accepted":1,"ignored":1}));
    // Meta delivers again (it retries until it sees 200): no second question.
    let (st, _) = raw_post(
        &server,
        &path,
        "application/json",
        &[("X-Hub-Signature-256", &sign(&body))],
        &body,
    )
    .await;
    assert_eq!(st, 200);
    let m = Client::moderator(&server, &s).await;
    let qs = m.welcome["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 1, "{qs:?}");
    assert_eq!(qs[0]["channel"], "whatsapp");
    assert_eq!(qs[0]["via"], "gateway");
    assert_eq!(qs[0]["name"], "Sari Palembang");
    assert_eq!(qs[0]["contact"], "+6281377665544");
    assert_eq!(qs[0]["text"], "Kapan air PDAM di Plaju mengalir lagi?");
    // Without an app secret set, every delivery is refused.
    let bare = TestServer::start();
    let s2 = bare.demo_session().await;
    let (st, _) = raw_post(
        &bare,
        &format!("/api/sessions/{}/whatsapp", s2.id),
        "application/json",
        &[("X-Hub-Signature-256", &sign(&body))],
        &body,
    )
    .await;
    assert_eq!(st, 401);
}
