//! The radio desk (docs/intake.md): a desk key enters questions and sees its own entries, and
//! nothing else, end to end; the moderator sees which desk and station an entry came from and
//! may credit it on the lower third; every key, the desk's and the gateways' too, can be replaced.

use serde_json::json;

use crate::common::{ADMIN, Client, Session, TestServer, http_json, new_ref};

async fn desk(server: &TestServer, s: &Session, key: &str) -> Client {
    Client::connect(
        server,
        json!({"type":"hello","role":"desk","session":s.id,"key":key,"name":"Dewi (RRI)"}),
    )
    .await
}

#[tokio::test]
async fn the_desk_enters_questions_sees_its_own_and_may_do_nothing_else() {
    let server = TestServer::start();
    let raw = server
        .create_session(
            "Diskusi Wong Kito #13",
            json!([{"name":"Ratu Dewa","role":"Sekda"}]),
        )
        .await;
    let s = Session::from_json(&raw);
    let key = raw["keys"]["desk"].as_str().unwrap().to_string();
    let mut d = desk(&server, &s, &key).await;
    assert_eq!(d.welcome["role"], "desk");
    assert_eq!(
        d.welcome["desk"]["stations"],
        json!(["RRI Palembang", "Sonora FM Palembang", "PalTV"])
    );
    assert_eq!(d.welcome["questions"], json!([]));
    assert!(d.welcome.get("overlay").is_none() && d.welcome.get("polls").is_none());
    let mut phone = Client::audience(&server, &s).await;
    let mut m = Client::moderator(&server, &s).await;
    // A phone's question never reaches the desk.
    let pq = phone.ask("Pertanyaan dari ponsel").await;
    m.ok(json!({"type":"approve","question":pq})).await;
    let ok = d
        .ok(
            json!({"type":"enter","ref":"call-1","text":"Kapan lampu jalan di Plaju diganti?",
                   "channel":"phone","station":"rri palembang","name":"Pak Hasan",
                   "contact":"0813 1111 2222","topic":"listrik","place":{"kecamatan":"Plaju"}}),
        )
        .await;
    let qid = ok["question"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        ok["question"]["station"], "RRI Palembang",
        "the list's spelling"
    );
    assert_eq!(ok["question"]["tracking"], ok["tracking"]);
    assert!(ok["question"].get("contact").is_none(), "{ok}");
    // A retry of the desk's ref is the same question; a moderator's same ref is another.
    let again = d
        .ok(
            json!({"type":"enter","ref":"call-1","text":"Kapan lampu jalan di Plaju diganti?",
                   "channel":"phone","station":"RRI Palembang"}),
        )
        .await;
    assert_eq!(again["question"]["id"], json!(qid));
    let mine = m
        .ok(json!({"type":"enter","ref":"call-1","text":"Dari moderator","channel":"room"}))
        .await;
    assert_ne!(mine["question"]["id"], json!(qid));
    // Everything else is refused, whatever the question.
    for cmd in [
        json!({"type":"approve","question":qid}),
        json!({"type":"reject","question":qid}),
        json!({"type":"edit","question":qid,"text":"x"}),
        json!({"type":"live","question":qid}),
        json!({"type":"move","question":qid,"after":null}),
        json!({"type":"ban","question":pq}),
        json!({"type":"overlay","visible":true}),
        json!({"type":"session","status":"closed"}),
        json!({"type":"case","question":qid,"action":"publish","public":true}),
        json!({"type":"rotate_key","role":"desk"}),
        json!({"type":"ask","ref":new_ref(),"text":"x"}),
        json!({"type":"vote","question":pq,"on":true}),
        json!({"type":"credit","question":qid,"on":true}),
    ] {
        let e = d.err(cmd.clone(), "forbidden").await;
        assert!(
            e["message"].as_str().unwrap().contains("desk"),
            "{cmd} -> {e}"
        );
    }
    let e = d
        .err(
            json!({"type":"enter","ref":"call-2","text":"x","channel":"phone","station":"Radio Antah"}),
            "invalid",
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("station"), "{e}");
    // The moderator sees where it came from, with the private number.
    let m2 = Client::moderator(&server, &s).await;
    let q = crate::common::questions_by_id(&m2.welcome)[&qid].clone();
    assert_eq!(q["via"], "desk");
    assert_eq!(q["station"], "RRI Palembang");
    assert_eq!(q["channel"], "phone");
    assert_eq!(q["contact"], "081311112222");
    assert_eq!(q["name"], "Pak Hasan");
    // The desk follows its entry: approved, then on air, never the phone's question.
    m.ok(json!({"type":"approve","question":qid})).await;
    loop {
        let v = d.recv().await;
        assert_ne!(
            v["question"]["id"],
            json!(pq),
            "the phone's question reached the desk: {v}"
        );
        if v["type"] == "question" && v["question"]["id"] == json!(qid) {
            assert_eq!(v["question"]["status"], "approved");
            assert!(v["question"].get("contact").is_none(), "{v}");
            break;
        }
    }
    let fresh = desk(&server, &s, &key).await;
    let qs = fresh.welcome["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 1, "{qs:?}");
    assert_eq!(qs[0]["id"], json!(qid));
    assert_eq!(qs[0]["status"], "approved");
    assert!(!fresh.welcome.to_string().contains("081311112222"));
    assert!(!fresh.welcome.to_string().contains("Pertanyaan dari ponsel"));
    // The who-did-what names the desk.
    let (_, h) = http_json(
        "GET",
        &server.http(&format!("/api/sessions/{}/questions/{qid}/history", s.id)),
        Some(&s.moderator),
        None,
    )
    .await;
    assert_eq!(h["history"][0]["action"], "enter");
    assert_eq!(
        h["history"][1]["by"],
        json!({"name":"Dewi (RRI)","role":"desk"})
    );
    // Presence counts the desk.
    let mut seen = false;
    for _ in 0..20 {
        let v = crate::common::next_json(&mut m.ws).await;
        if v["type"] == "presence" && v["counts"]["desk"].as_u64() >= Some(1) {
            seen = true;
            break;
        }
    }
    assert!(seen, "a presence frame counting the desk");
}

#[tokio::test]
async fn the_lower_third_credits_the_channel_when_the_moderator_chooses() {
    let server = TestServer::start();
    let raw = server.create_session("Uji kredit", json!([])).await;
    let s = Session::from_json(&raw);
    let key = raw["keys"]["desk"].as_str().unwrap().to_string();
    let mut d = desk(&server, &s, &key).await;
    let qid = d
        .ok(json!({"type":"enter","ref":"c1","text":"Bagaimana jadwal bus sekolah?","channel":"phone","station":"Sonora FM Palembang"}))
        .await["question"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut m = Client::moderator(&server, &s).await;
    m.ok(json!({"type":"approve","question":qid})).await;
    m.ok(json!({"type":"live","question":qid})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    let live = |server: &TestServer| {
        let url = server.http(&format!("/api/sessions/{}/live.json?k={}", s.id, s.overlay));
        async move { http_json("GET", &url, None, None).await.1 }
    };
    assert_eq!(live(&server).await[0]["credit"], "");
    let (_, frames) =
        crate::common::act_ok(&mut m, json!({"type":"credit","question":qid,"on":true})).await;
    let overlay = frames
        .iter()
        .find(|f| f["type"] == "overlay")
        .expect("the overlay changes");
    assert_eq!(
        overlay["question"]["credit"],
        "via telepon · Sonora FM Palembang"
    );
    assert_eq!(
        live(&server).await[0]["credit"],
        "via telepon · Sonora FM Palembang"
    );
    let o = Client::connect(
        &server,
        json!({"type":"hello","role":"overlay","session":s.id,"key":s.overlay}),
    )
    .await;
    assert_eq!(
        o.welcome["overlay"]["question"]["credit"],
        "via telepon · Sonora FM Palembang"
    );
    m.ok(json!({"type":"credit","question":qid,"on":false}))
        .await;
    assert_eq!(live(&server).await[0]["credit"], "");
    let e = m
        .err(json!({"type":"credit","question":qid}), "invalid")
        .await;
    assert!(e["message"].as_str().unwrap().contains("on"));
}

#[tokio::test]
async fn the_desk_and_intake_keys_are_replaced_like_the_others() {
    let server = TestServer::start();
    let raw = server.create_session("Uji kunci", json!([])).await;
    let s = Session::from_json(&raw);
    let (desk_key, intake_key) = (
        raw["keys"]["desk"].as_str().unwrap().to_string(),
        raw["keys"]["intake"].as_str().unwrap().to_string(),
    );
    let mut d = desk(&server, &s, &desk_key).await;
    let (st, rotated) = http_json(
        "POST",
        &server.http(&format!("/api/sessions/{}/keys/desk", s.id)),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(st, 200, "{rotated}");
    let new_desk = rotated["keys"]["desk"].as_str().unwrap();
    assert_ne!(new_desk, desk_key);
    assert!(
        rotated["links"]["desk"]
            .as_str()
            .unwrap()
            .ends_with(new_desk)
    );
    assert_eq!(d.expect_close().await, 4401, "the old desk is closed");
    desk(&server, &s, new_desk).await;
    // The intake key, from the console.
    let mut m = Client::moderator(&server, &s).await;
    m.ok(json!({"type":"rotate_key","role":"intake"})).await;
    let body = json!({"ref":"r1","channel":"sms","text":"Halo"}).to_string();
    let url = server.http(&format!("/api/sessions/{}/intake", s.id));
    let (st, _) = http_json("POST", &url, Some(&intake_key), Some(&body)).await;
    assert_eq!(st, 401, "the old intake key stops working");
    let (_, list) = http_json("GET", &server.http("/api/sessions"), Some(ADMIN), None).await;
    let new_intake = list["sessions"][0]["keys"]["intake"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_intake, intake_key);
    let (st, v) = http_json("POST", &url, Some(&new_intake), Some(&body)).await;
    assert_eq!(st, 200, "{v}");
    let e = m
        .err(json!({"type":"rotate_key","role":"audience"}), "invalid")
        .await;
    assert!(e["message"].as_str().unwrap().contains("intake"));
}

/// The office edits a session's title, speakers and start from `/admin` (`PATCH`), as the
/// console's `session` command does; every role's session view carries `starts_at`.
#[tokio::test]
async fn the_office_edits_title_speakers_and_start_time() {
    let server = TestServer::start();
    let raw = server
        .create_session("Diskusi Wong Kito #14", json!([]))
        .await;
    let s = Session::from_json(&raw);
    let mut m = Client::moderator(&server, &s).await;
    assert!(m.welcome["session"].get("starts_at").is_none());
    let url = server.http(&format!("/api/sessions/{}", s.id));
    let body = json!({"title":"Diskusi Wong Kito #14: Banjir","starts_at":"2026-12-18T19:00:00+07:00",
                      "speakers":[{"name":"Drs Ratu Dewa MSi","role":"Sekretaris Daerah"}]});
    let (st, v) = http_json("PATCH", &url, Some(ADMIN), Some(&body.to_string())).await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["session"]["title"], "Diskusi Wong Kito #14: Banjir");
    assert_eq!(v["session"]["starts_at"], "2026-12-18T12:00:00.000Z");
    assert_eq!(v["session"]["speakers"][0]["id"], "s1");
    let (ev, _) = m.until("session").await;
    assert_eq!(ev["session"]["starts_at"], "2026-12-18T12:00:00.000Z");
    let phone = Client::audience(&server, &s).await;
    assert_eq!(
        phone.welcome["session"]["starts_at"],
        "2026-12-18T12:00:00.000Z"
    );
    // From the console too, and cleared with "".
    m.ok(json!({"type":"session","starts_at":""})).await;
    let phone = Client::audience(&server, &s).await;
    assert!(phone.welcome["session"].get("starts_at").is_none());
    for (b, word) in [
        (json!({"starts_at":"besok malam"}), "starts_at"),
        (json!({"title":""}), "title"),
        (json!({}), "at least one"),
        (json!({"speakers":[{"name":"X"}]}), "role"),
    ] {
        let (st, e) = http_json("PATCH", &url, Some(ADMIN), Some(&b.to_string())).await;
        assert_eq!(st, 400, "{b} -> {e}");
        assert!(e.to_string().contains(word), "{b} -> {e}");
    }
    let (st, _) = http_json("PATCH", &url, Some(&s.moderator), Some(&body.to_string())).await;
    assert_eq!(st, 401, "the office's route");
}

/// A rehearsal: everything works and the session says so; "start for real" wipes the test
/// questions, votes, bans and cases (journaled: also after a restart), every socket comes back
/// to a fresh welcome, and the export holds only the broadcast.
#[tokio::test]
async fn starting_a_rehearsal_for_real_leaves_no_trace_of_it() {
    let mut server = TestServer::start();
    let (st, raw) = http_json(
        "POST",
        &server.http("/api/sessions"),
        Some(ADMIN),
        Some(&json!({"title":"Gladi Wong Kito #15","rehearsal":true}).to_string()),
    )
    .await;
    assert_eq!(st, 201, "{raw}");
    assert_eq!(raw["session"]["rehearsal"], true);
    let s = Session::from_json(&raw);
    let mut phone = Client::audience(&server, &s).await;
    assert_eq!(phone.welcome["session"]["rehearsal"], true);
    let mut m = Client::moderator(&server, &s).await;
    let test_q = phone
        .ok(json!({"type":"ask","ref":new_ref(),"text":"Uji coba satu dua","contact":"081255556666"}))
        .await;
    let tq = test_q["question"]["id"].as_str().unwrap().to_string();
    let code = test_q["tracking"].as_str().unwrap().to_string();
    m.ok(json!({"type":"approve","question":tq})).await;
    phone
        .ok(json!({"type":"vote","question":tq,"on":true}))
        .await;
    m.ok(json!({"type":"ban","question":tq})).await;
    let (st, _) = http_json(
        "GET",
        &server.http(&format!("/api/track/{code}")),
        None,
        None,
    )
    .await;
    assert_eq!(st, 200, "a rehearsal's code works during it");
    // Start for real.
    m.ok(json!({"type":"session","rehearsal":false})).await;
    assert_eq!(m.expect_close().await, 4503, "every socket comes back");
    assert_eq!(phone.expect_close().await, 4503);
    let m = Client::moderator(&server, &s).await;
    assert!(
        m.welcome["session"].get("rehearsal").is_none(),
        "{}",
        m.welcome["session"]
    );
    assert_eq!(m.welcome["questions"], json!([]));
    let mut phone = Client::connect(
        &server,
        json!({"type":"hello","role":"audience","session":s.code,"device":phone.device()}),
    )
    .await;
    assert_eq!(phone.welcome["you"]["votes"], json!([]));
    // The banned device may ask again; the broadcast's question is all the export holds.
    let real = phone.ask("Pertanyaan siaran yang sebenarnya").await;
    let (_, export) = http_json(
        "GET",
        &server.http(&format!("/api/sessions/{}/export", s.id)),
        Some(&s.moderator),
        None,
    )
    .await;
    let qs = export["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 1, "{qs:?}");
    assert_eq!(qs[0]["id"], json!(real));
    let (st, _) = http_json(
        "GET",
        &server.http(&format!("/api/track/{code}")),
        None,
        None,
    )
    .await;
    assert_eq!(st, 404, "the rehearsal's codes are gone");
    let (_, board) = http_json("GET", &server.http("/api/board"), None, None).await;
    assert_eq!(board["total"]["received"], 1);
    // Journaled: a restart replays the wipe.
    server.kill9();
    server.restart();
    let m = Client::moderator(&server, &s).await;
    let qs = m.welcome["questions"].as_array().unwrap();
    assert_eq!(qs.len(), 1);
    assert_eq!(qs[0]["id"], json!(real));
    // Only false is taken, and only once it changes anything.
    let mut m = m;
    let e = m
        .err(json!({"type":"session","rehearsal":true}), "invalid")
        .await;
    assert!(e["message"].as_str().unwrap().contains("rehearsal"));
    m.ok(json!({"type":"session","rehearsal":false})).await;
    assert!(m.quiet(300).await, "not a rehearsal: nothing happens");
}
