//! The stored journal format: `tests/fixtures/journal-v1/tanya.db` holds a session whose journal
//! was written by a real hub and touches every kind of event; `expected.json` holds what a
//! moderator's full welcome (and two phones' welcomes) showed for it. Today's code must read that
//! file and rebuild exactly that session, so a change to the stored format cannot go unnoticed.
//!
//! The fixture is written by the ignored test `write_journal_fixture`:
//! `cargo test --test it journal::write_journal_fixture -- --ignored`; it refuses to overwrite an
//! existing `tanya.db`. A new stored format gets a new folder (`journal-v2`) beside this one;
//! the v1 files are never rewritten to make the replay test pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::common::*;
use serde_json::{Value, json};
use tanya::domain::flags::Flagger;
use tanya::domain::{Channel, Event, SessionState, SessionStatus, Source, Status};
use uuid::Uuid;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/journal-v1")
}

/// A welcome without what changes with every start of the hub: `epoch`, `seq` and the session's
/// `links` (built from the address the hub listens on); and without the fields the contract
/// gained after v1, once checked to say what they must say of a v1 question.
fn comparable(welcome: &Value) -> Value {
    let mut w = welcome.clone();
    let o = w.as_object_mut().unwrap();
    o.remove("epoch");
    o.remove("seq");
    let code = o["session"]["code"].as_str().unwrap_or("").to_string();
    if let Some(s) = o.get_mut("session").and_then(Value::as_object_mut) {
        s.remove("links");
        // How to join came after v1: the hub's own address, nothing from the journal.
        let join = s.remove("join").expect("every welcome says how to join");
        assert!(
            join["url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/j/{code}")),
            "{join}"
        );
    }
    // The console's and the phone page's settings and the stage came after v1 too.
    if let Some(m) = o.remove("moderation") {
        assert_eq!(m, json!({"reasons": []}));
    }
    if let Some(p) = o.remove("phone") {
        assert_eq!(p, json!({"consent": null, "rules": null}));
    }
    if let Some(st) = o.remove("stage") {
        assert_eq!(st["message"], Value::Null);
        assert_eq!(st["timer"]["running"], false);
    }
    if let Some(ov) = o.get_mut("overlay").and_then(Value::as_object_mut) {
        assert_eq!(
            ov.remove("graphic"),
            Some(Value::Null),
            "no graphic in a v1 journal"
        );
        if let Some(q) = ov.get_mut("question").and_then(Value::as_object_mut) {
            assert_eq!(q.remove("air_text"), Some(Value::Null));
            assert_eq!(
                q.remove("credit"),
                Some(Value::Null),
                "no credit in a v1 journal"
            );
        }
    }
    // The follow-up came after v1: no agency in the fixture's store.
    if let Some(a) = o.remove("agencies") {
        assert_eq!(a, json!([]), "no agencies beside a v1 journal");
    }
    if let Some(polls) = o.remove("polls") {
        assert_eq!(polls, json!([]), "a v1 journal has no polls");
    }
    if let Some(ov) = o.get_mut("overlay").and_then(Value::as_object_mut)
        && let Some(poll) = ov.remove("poll")
    {
        assert_eq!(poll, Value::Null, "no poll on air in a v1 journal");
    }
    if let Some(qs) = o.get_mut("questions").and_then(Value::as_array_mut) {
        for q in qs {
            let q = q.as_object_mut().unwrap();
            if let Some(banned) = q.remove("address_banned") {
                // A v1 journal never recorded the network a question came from.
                assert_eq!(banned, Value::Null, "address_banned of a v1 question");
            }
            // Moderators' view of the short air text and masking came after v1.
            if let Some(air) = q.remove("air_text") {
                assert_eq!(air, Value::Null, "air_text of a v1 question");
            }
            // The follow-up: a v1 question has its tracking code (derived from its id) and a
            // case that was never acted on, and no contact, place or topic.
            if let Some(t) = q.remove("tracking") {
                let id = uuid::Uuid::parse_str(q["id"].as_str().unwrap()).unwrap();
                assert_eq!(t, json!(tanya::domain::followup::tracking_code(id)));
            }
            for k in ["contact", "place", "topic", "station", "via"] {
                if let Some(v) = q.remove(k) {
                    assert_eq!(v, Value::Null, "{k} of a v1 question");
                }
            }
            if let Some(c) = q.remove("credit") {
                assert_eq!(c, false, "credit of a v1 question");
            }
            if let Some(c) = q.remove("case") {
                assert_eq!(
                    c,
                    json!({"agency":null,"due":null,"public":false,"status":"received"})
                );
            }
            if let Some(unmasked) = q.remove("unmasked") {
                assert_eq!(unmasked, false, "unmasked of a v1 question");
            }
            if let Some(masked) = q.remove("masked_text") {
                assert_eq!(
                    masked.is_string(),
                    q["flags"]
                        .as_array()
                        .is_some_and(|f| f.contains(&json!("personal_data"))),
                    "a v1 question flagged personal_data is masked in public views: {masked}"
                );
            }
        }
    }
    w
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture_dir().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A copy of the fixture's database in a temporary folder (the fixture itself stays untouched).
fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tanya.db");
    std::fs::copy(fixture_dir().join("tanya.db"), &db).unwrap();
    (dir, db)
}

/// Opens a copy of the fixture through the library: its one session, its keys and its journal.
async fn load_fixture() -> (tanya::store::SessionRecord, Vec<Event>) {
    let (_dir, db) = fixture_copy();
    let store = tanya::store::open(&format!("sqlite://{}", db.display()))
        .await
        .expect("today's store opens the v1 file");
    let sessions = store.list_sessions().await.unwrap();
    assert_eq!(sessions.len(), 1, "one session in the fixture");
    let rec = sessions.into_iter().next().unwrap();
    let events = store
        .load_events(rec.info.id)
        .await
        .expect("every v1 journal row reads as an event");
    (rec, events)
}

/// What a phone's hello needs: the session's join code and the device token.
fn audience_hello(code: &str, device: &str) -> Value {
    json!({"type":"hello","role":"audience","session":code,"device":device})
}

#[tokio::test]
async fn todays_hub_rebuilds_the_v1_journal_to_the_same_welcomes() {
    let want = expected();
    let (rec, _) = load_fixture().await;
    let server = TestServer::start_on_copy(&fixture_dir().join("tanya.db"));
    let m = Client::connect(
        &server,
        json!({"type":"hello","role":"moderator","session":rec.info.id,"key":rec.keys.moderator}),
    )
    .await;
    assert_eq!(m.welcome["resumed"], false);
    assert_eq!(
        comparable(&m.welcome),
        want["moderator"],
        "the moderator's welcome after replaying the v1 journal"
    );
    let phones = want["audience"].as_array().unwrap();
    assert!(!phones.is_empty());
    for p in phones {
        let device = p["device"].as_str().unwrap();
        let c = Client::connect(&server, audience_hello(&rec.info.code, device)).await;
        assert_eq!(
            c.welcome["you"]["device"], device,
            "the device token signed before still holds"
        );
        assert_eq!(
            comparable(&c.welcome),
            p["welcome"],
            "the welcome of device {device} after replaying the v1 journal"
        );
    }
}

#[tokio::test]
async fn todays_library_replays_the_v1_journal() {
    let want = expected();
    let (rec, events) = load_fixture().await;
    // Start from other session info: the journal's `session` events must bring back the stored one.
    let mut start = rec.info.clone();
    start.title = "(before replay)".into();
    start.status = SessionStatus::Closed;
    start.speakers.clear();
    let state = SessionState::replay(start, Arc::new(Flagger::default()), &events);
    assert_eq!(
        state.info, rec.info,
        "session events rebuild the stored info"
    );

    let shown = want["moderator"]["questions"].as_array().unwrap();
    let ids: Vec<String> = state.questions().map(|q| q.id.to_string()).collect();
    let shown_ids: Vec<&str> = shown.iter().map(|q| q["id"].as_str().unwrap()).collect();
    assert_eq!(ids, shown_ids, "every question, in the order asked");
    for q in shown {
        let id: Uuid = q["id"].as_str().unwrap().parse().unwrap();
        let r = state.question(id).unwrap();
        assert_eq!(json!(r.status), q["status"], "{q}");
        assert_eq!(r.rev, q["rev"].as_u64().unwrap(), "{q}");
        assert_eq!(r.text, q["text"].as_str().unwrap(), "{q}");
        assert_eq!(json!(r.position), q["position"], "{q}");
        assert_eq!(json!(state.votes(id)), q["votes"], "{q}");
    }
    assert_eq!(
        json!(state.overlay_visible()),
        want["moderator"]["overlay"]["visible"]
    );
    assert_eq!(
        state.live().map(|q| json!(q.id.to_string())),
        Some(want["moderator"]["overlay"]["question"]["id"].clone())
    );
}

/// The fixture keeps its worth only while it holds every kind of event; a rewrite that loses
/// one fails here.
#[tokio::test]
async fn the_v1_journal_holds_every_kind_of_event() {
    let (_, events) = load_fixture().await;
    let mut statuses = BTreeSet::new();
    let mut sources = BTreeSet::new();
    let mut channels = BTreeSet::new();
    let (mut votes, mut overlays, mut bans) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let mut merges = 0;
    let (mut titles, mut session_statuses, mut speakers) =
        (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    let (mut edited, mut moved, mut reasons, mut flags, mut outlets, mut assigned) =
        (false, false, false, false, false, false);
    let mut last: HashMap<Uuid, tanya::domain::Question> = HashMap::new();
    for e in &events {
        match e {
            Event::Put { question: q, .. } => {
                statuses.insert(q.status.as_str());
                sources.insert(format!("{:?}", q.source));
                if let Some(c) = q.channel {
                    channels.insert(format!("{c:?}"));
                }
                edited |= q.original_text.is_some();
                reasons |= q.reason.is_some();
                flags |= !q.flags.is_empty();
                outlets |= q.outlet.is_some();
                assigned |= q.to.is_some();
                if let Some(p) = last.get(&q.id) {
                    moved |= p.status == Status::Approved
                        && q.status == Status::Approved
                        && p.position != q.position;
                }
                last.insert(q.id, q.clone());
            }
            Event::Vote { on, .. } => {
                votes.insert(*on);
            }
            Event::MergeVotes { .. } => merges += 1,
            Event::Overlay { visible } => {
                overlays.insert(*visible);
            }
            Event::Session { info } => {
                titles.insert(info.title.clone());
                session_statuses.insert(format!("{:?}", info.status));
                speakers.insert(serde_json::to_string(&info.speakers).unwrap());
            }
            Event::Ban { banned, .. } => {
                bans.insert(*banned);
            }
            Event::BanNet { .. }
            | Event::Poll { .. }
            | Event::PollDeleted { .. }
            | Event::Choice { .. }
            | Event::PollOnAir { .. }
            | Event::Graphic { .. }
            | Event::Timer { .. }
            | Event::Message { .. }
            | Event::Case { .. }
            | Event::Erase { .. }
            | Event::Wipe { .. }
            | Event::Presence { .. } => {
                panic!(
                    "address bans, polls, graphics, the stage and cases came after the v1 journal format: {e:?}"
                )
            }
        }
    }
    // `Status::ALL` holds every status (the domain's own test makes sure); a new one must reach
    // the fixture too, as journal-v2.
    for s in Status::ALL {
        assert!(statuses.contains(s.as_str()), "a put with status {s:?}");
    }
    for s in [Source::Audience, Source::Press, Source::Operator] {
        assert!(sources.contains(&format!("{s:?}")), "a put from {s:?}");
    }
    for c in ["phone", "sms", "whatsapp", "radio", "room"] {
        let c = Channel::parse(c).unwrap();
        assert!(channels.contains(&format!("{c:?}")), "an entry by {c:?}");
    }
    assert_eq!(votes, BTreeSet::from([false, true]), "votes on and off");
    assert!(merges > 0, "merge_votes");
    assert_eq!(
        overlays,
        BTreeSet::from([false, true]),
        "overlay on and off"
    );
    assert_eq!(bans, BTreeSet::from([false, true]), "ban and unban");
    assert!(titles.len() >= 2, "a title change: {titles:?}");
    assert!(session_statuses.len() >= 2, "a status change");
    assert!(speakers.len() >= 2, "a change of speakers");
    assert!(edited, "an edited question");
    assert!(moved, "a moved question");
    assert!(reasons, "a rejection reason");
    assert!(flags, "a flagged question");
    assert!(outlets, "a press outlet");
    assert!(assigned, "a question addressed to a speaker");
}

/// Writes `tests/fixtures/journal-v1/` from a real hub: a session touching every kind of event,
/// the database copied with `VACUUM INTO`, and the welcomes it shows in `expected.json`.
#[tokio::test]
#[ignore = "writes the fixture; run by hand for a new journal version"]
async fn write_journal_fixture() {
    let dir = fixture_dir();
    let out = dir.join("tanya.db");
    assert!(
        !out.exists(),
        "{} exists: a fixture is never rewritten in place (delete it first only on purpose)",
        out.display()
    );
    let mut server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut sari = Client::audience(&server, &s).await;
    let mut budi = Client::audience(&server, &s).await;
    let mut tono = Client::audience(&server, &s).await;
    let mut press = Client::connect(
        &server,
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
    )
    .await;
    let speakers = speaker_ids(&m);

    let ask = |text: &str| json!({"type":"ask","ref":new_ref(),"text":text});
    let q_sari = id_of(
        &sari
            .ok(
                json!({"type":"ask","ref":new_ref(),"name":"Bu Sari","to":speakers[0],
                       "text":"Kapan izin usaha bisa selesai dalam satu hari?"}),
            )
            .await,
    );
    let q_budi = id_of(
        &budi
            .ok(ask("Berapa biaya resmi IMB untuk rumah tinggal?"))
            .await,
    );
    let q_press = id_of(
        &press
            .ok(
                json!({"type":"ask","ref":new_ref(),"name":"Rudi","outlet":"Sumatera Ekspres",
                       "to":speakers[1],"text":"Berapa izin yang tertunda lebih dari sebulan?"}),
            )
            .await,
    );
    let q_tono = id_of(
        &tono
            .ok(ask("Loket perizinan tolol, kenapa antre sampai sore?"))
            .await,
    );
    let mut entries = BTreeMap::new();
    for (channel, name, text) in [
        (
            "phone",
            "Pak Hasan",
            "Apakah izin reklame bisa diurus lewat daring?",
        ),
        ("sms", "", "Hubungi saya di 081234567890 soal izin toko"),
        (
            "whatsapp",
            "Ibu Lina",
            "Bagaimana cara mengadu jika petugas meminta uang?",
        ),
        (
            "radio",
            "Pendengar Sonora",
            "Kapan mal pelayanan publik buka hari Sabtu?",
        ),
        ("room", "", "Apakah UMKM dibebaskan dari retribusi?"),
    ] {
        let mut cmd = json!({"type":"enter","ref":new_ref(),"channel":channel,"text":text});
        if !name.is_empty() {
            cmd["name"] = json!(name);
        }
        entries.insert(channel, id_of(&m.ok(cmd).await));
    }
    let (q_phone, q_sms, q_radio) = (&entries["phone"], &entries["sms"], &entries["radio"]);

    for id in [&q_sari, &q_press, q_phone, q_sms, q_radio] {
        m.ok(json!({"type":"approve","question":id})).await;
    }
    m.ok(json!({"type":"move","question":q_radio,"after":null}))
        .await;
    m.ok(json!({"type":"move","question":q_sms,"after":q_sari}))
        .await;
    m.ok(json!({"type":"edit","question":q_sari,
                "text":"Kapan izin usaha bisa selesai dalam sehari?"}))
        .await;
    m.ok(json!({"type":"assign","question":q_phone,"to":speakers[1]}))
        .await;

    let vote = |q: &str, on: bool| json!({"type":"vote","ref":new_ref(),"question":q,"on":on});
    sari.ok(vote(&q_press, true)).await;
    budi.ok(vote(&q_press, true)).await;
    budi.ok(vote(q_phone, true)).await;
    budi.ok(vote(q_phone, false)).await;
    tono.ok(vote(q_phone, true)).await;
    tono.ok(vote(q_sms, true)).await;
    sari.ok(vote(q_sms, true)).await;
    m.ok(json!({"type":"merge","question":q_sms,"into":q_phone}))
        .await;

    m.ok(json!({"type":"live","question":q_radio})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    m.ok(json!({"type":"overlay","visible":false})).await;
    m.ok(json!({"type":"answered","question":q_radio})).await;
    m.ok(json!({"type":"live","question":q_sari})).await;
    m.ok(json!({"type":"requeue","question":q_sari})).await;
    m.ok(json!({"type":"live","question":q_press})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;

    m.ok(json!({"type":"reject","question":q_budi,"reason":"di luar topik"}))
        .await;
    m.ok(json!({"type":"ban","question":q_budi})).await;
    m.ok(json!({"type":"unban","question":q_budi})).await;
    m.ok(json!({"type":"ban","question":q_tono})).await;
    let q_withdrawn = id_of(&sari.ok(ask("Maaf, pertanyaan saya sudah terjawab.")).await);
    sari.ok(json!({"type":"withdraw","question":q_withdrawn}))
        .await;

    for title in [
        "Diskusi Wong Kito #12: Izin Usaha",
        "Diskusi Wong Kito #12: Perizinan Usaha",
    ] {
        m.ok(json!({"type":"session","title":title})).await;
    }
    m.ok(json!({"type":"session","speakers":[
        {"id":speakers[0],"name":"Drs Ratu Dewa MSi","role":"Sekretaris Daerah"},
        {"id":speakers[1],"name":"Ir Rina","role":"Kepala Dinas PMPTSP"},
        {"name":"Hj Nurul","role":"Ketua Kadin"}]}))
        .await;
    m.ok(json!({"type":"session","status":"paused"})).await;
    m.ok(json!({"type":"session","status":"open"})).await;
    m.ok(json!({"type":"session","status":"paused"})).await;

    let moderator = Client::moderator(&server, &s).await;
    let mut audience = Vec::new();
    for phone in [&budi, &tono] {
        let device = phone.device();
        let c = Client::connect(&server, audience_hello(&s.code, &device)).await;
        audience.push(json!({"device": device, "welcome": comparable(&c.welcome)}));
    }
    let expected = json!({
        "moderator": comparable(&moderator.welcome),
        "audience": audience,
    });
    drop((m, sari, budi, tono, press, moderator));
    let (status, _) = server.terminate();
    assert!(status.success(), "the hub stops cleanly: {status}");

    std::fs::create_dir_all(&dir).unwrap();
    {
        use sqlx::{ConnectOptions, Connection};
        let mut c = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(server.db_path())
            .connect()
            .await
            .unwrap();
        sqlx::query("VACUUM INTO ?")
            .bind(out.display().to_string())
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
    }
    let mut text = serde_json::to_string_pretty(&expected).unwrap();
    text.push('\n');
    std::fs::write(dir.join("expected.json"), text).unwrap();
}
