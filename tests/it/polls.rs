//! Polls through real sockets: a moderator creates, opens and closes a poll; phones choose and
//! change their choice; the screen and other phones see the counts; the choices survive kill -9.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// `poll` with `action`, from the moderator; the poll of the `ok` and the frames before it.
async fn poll(m: &mut Client, body: Value) -> (Value, Vec<Value>) {
    let mut cmd = json!({"type":"poll"});
    for (k, v) in body.as_object().unwrap() {
        cmd[k] = v.clone();
    }
    let (ok, before) = act_ok(m, cmd).await;
    (ok["poll"].clone(), before)
}

fn counts(p: &Value) -> Vec<Value> {
    p["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["count"].clone())
        .collect()
}

/// The next `poll` event on a socket (skipping other frames).
async fn next_poll(c: &mut Client) -> Value {
    c.until("poll").await.0["poll"].clone()
}

#[tokio::test]
async fn a_poll_from_draft_to_result_for_every_role() {
    let mut server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut screen = Client::connect(&server, keyed_hello("screen", &s, &s.screen)).await;
    let mut a = Client::audience(&server, &s).await;
    let mut b = Client::audience(&server, &s).await;
    assert_eq!(m.welcome["polls"], json!([]));
    assert_eq!(a.welcome["polls"], json!([]));

    // A draft: the moderator's alone.
    let (p, _) = poll(
        &mut m,
        json!({"action":"create","ref":"p1","question":"  Apakah Anda puas dengan pelayanan perizinan? ","options":["Puas","Cukup","Tidak puas"]}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["status"], "draft");
    assert_eq!(
        p["question"],
        "Apakah Anda puas dengan pelayanan perizinan?"
    );
    assert_eq!(p["results"], "live");
    assert_eq!(counts(&p), [json!(0), json!(0), json!(0)]);
    assert!(p.get("choice").is_none(), "no choice in a moderator's view");
    marker(&mut m, "draft").await;
    for c in [&mut a, &mut screen] {
        let seen = until_marker(c, "draft").await;
        assert!(
            seen.iter().all(|f| f["type"] != "poll"),
            "a draft is the moderator's: {seen:?}"
        );
    }
    // The same ref again: the same poll, nothing new.
    let (again, _) = poll(
        &mut m,
        json!({"action":"create","ref":"p1","question":"Apakah Anda puas dengan pelayanan perizinan?","options":["Puas","Cukup","Tidak puas"]}),
    )
    .await;
    assert_eq!(again["id"], p["id"]);
    // A draft takes no choice.
    a.err(json!({"type":"choose","poll":id,"option":0}), "closed")
        .await;

    // Open: every role but the overlay sees it.
    let (open, _) = poll(&mut m, json!({"action":"open","poll":id})).await;
    assert_eq!(open["status"], "open");
    for c in [&mut a, &mut b, &mut screen] {
        let p = next_poll(c).await;
        assert_eq!(
            (p["id"].as_str(), p["status"].as_str()),
            (Some(id.as_str()), Some("open"))
        );
        assert_eq!(counts(&p), [json!(0), json!(0), json!(0)]);
    }

    // Choices: the chooser's ok carries its choice; others get the counts.
    let ok = act_ok(&mut a, json!({"type":"choose","poll":id,"option":0}))
        .await
        .0;
    assert_eq!(ok["poll"]["choice"], 0);
    assert_eq!(counts(&ok["poll"]), [json!(1), json!(0), json!(0)]);
    act_ok(&mut b, json!({"type":"choose","poll":id,"option":2})).await;
    // b changes its mind; then the same option again changes nothing.
    let ok = act_ok(&mut b, json!({"type":"choose","poll":id,"option":1}))
        .await
        .0;
    assert_eq!(ok["poll"]["choice"], 1);
    act_ok(&mut b, json!({"type":"choose","poll":id,"option":1})).await;
    let want = [json!(1), json!(1), json!(0)];
    for c in [&mut m, &mut screen, &mut a] {
        let mut p = next_poll(c).await;
        while counts(&p) != want {
            p = next_poll(c).await;
        }
        assert!(p.get("choice").is_none(), "events carry no choice: {p}");
    }
    // Bad choices say what is wrong.
    let e = a
        .err(json!({"type":"choose","poll":id,"option":3}), "invalid")
        .await;
    assert!(e["message"].as_str().unwrap().contains("0 to 2"), "{e}");
    a.err(
        json!({"type":"choose","poll":uuid::Uuid::new_v4(),"option":0}),
        "not_found",
    )
    .await;

    // A reconnecting phone gets its choice back in the welcome.
    let again = phone_with(&server, &s, &b.device()).await;
    let polls = again.welcome["polls"].as_array().unwrap();
    assert_eq!(polls.len(), 1);
    assert_eq!(polls[0]["choice"], 1);

    // Closed: the result stands; no more choices.
    poll(&mut m, json!({"action":"close","poll":id})).await;
    assert_eq!(next_poll(&mut a).await["status"], "closed");
    let mut c = Client::audience(&server, &s).await;
    c.err(json!({"type":"choose","poll":id,"option":0}), "closed")
        .await;

    // Stored: after kill -9 the poll, its counts and the choices are back.
    server.kill9();
    server.restart();
    let m = Client::moderator(&server, &s).await;
    let p = &m.welcome["polls"][0];
    assert_eq!(
        (p["status"].as_str(), counts(p)),
        (Some("closed"), want.to_vec())
    );
    let a2 = phone_with(&server, &s, &a.device()).await;
    assert_eq!(a2.welcome["polls"][0]["choice"], 0);

    // The export carries the polls with their counts.
    let export = format!("/api/sessions/{}/export", s.id);
    let (status, _, body) = http("GET", &server.http(&export), Some(ADMIN), None).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["polls"][0]["id"], id.as_str());
    assert_eq!(counts(&v["polls"][0]), want.to_vec());
    // And as a spreadsheet: one row per option, with counts and percents.
    let (status, headers, body) = http(
        "GET",
        &server.http(&format!("{export}?format=csv&table=polls")),
        Some(ADMIN),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-disposition") && v.contains("-polls.csv")));
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines[0],
        "poll_id,question,status,results,created_at,updated_at,option,text,count,percent"
    );
    assert_eq!(lines.len(), 4, "{body}");
    assert!(
        lines[1].contains(",1,Puas,1,50")
            && lines[2].contains(",2,Cukup,1,50")
            && lines[3].contains(",3,Tidak puas,0,0"),
        "{body}"
    );
    for (query, word) in [
        ("?format=json&table=polls", "csv"),
        ("?format=csv&table=votes", "table"),
    ] {
        let (status, _, body) = http(
            "GET",
            &server.http(&format!("{export}{query}")),
            Some(ADMIN),
            None,
        )
        .await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(word), "{body}");
    }
}

#[tokio::test]
async fn after_close_hides_counts_from_phones_until_the_poll_closes() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut screen = Client::connect(&server, keyed_hello("screen", &s, &s.screen)).await;
    let (p, _) = poll(
        &mut m,
        json!({"action":"create","ref":"p","question":"Masalah paling mendesak?","options":["Jalan","Banjir","Sampah"],"results":"after_close"}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    poll(&mut m, json!({"action":"open","poll":id})).await;
    let ok = act_ok(&mut a, json!({"type":"choose","poll":id,"option":1}))
        .await
        .0;
    assert_eq!(ok["poll"]["choice"], 1);
    assert_eq!(counts(&ok["poll"]), [Value::Null, Value::Null, Value::Null]);
    // The moderator and the screen see the counts all along.
    let mut p = next_poll(&mut screen).await;
    while counts(&p) != [json!(0), json!(1), json!(0)] {
        p = next_poll(&mut screen).await;
    }
    marker(&mut m, "hidden").await;
    for f in until_marker(&mut a, "hidden").await {
        if f["type"] == "poll" {
            assert_eq!(
                counts(&f["poll"]),
                [Value::Null, Value::Null, Value::Null],
                "{f}"
            );
        }
    }
    poll(&mut m, json!({"action":"close","poll":id})).await;
    let mut p = next_poll(&mut a).await;
    while p["status"] != "closed" {
        p = next_poll(&mut a).await;
    }
    assert_eq!(counts(&p), [json!(0), json!(1), json!(0)]);
}

#[tokio::test]
async fn drafts_are_deleted_and_only_drafts() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut other = Client::moderator(&server, &s).await;
    let (p, _) = poll(
        &mut m,
        json!({"action":"create","ref":"d","question":"Hapus saya?","options":["Ya","Tidak"]}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(next_poll(&mut other).await["id"], id.as_str());
    poll(&mut m, json!({"action":"delete","poll":id})).await;
    let (removed, _) = other.until("poll_removed").await;
    assert_eq!(removed["poll"], id.as_str());
    m.err(
        json!({"type":"poll","action":"open","poll":id}),
        "not_found",
    )
    .await;
    let (p, _) = poll(
        &mut m,
        json!({"action":"create","ref":"e","question":"Buka dulu?","options":["Ya","Tidak"]}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    poll(&mut m, json!({"action":"open","poll":id})).await;
    let e = m
        .err(
            json!({"type":"poll","action":"delete","poll":id}),
            "conflict",
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("draft"), "{e}");
    // Opening a second poll closes the first: one open poll at a time.
    let (q, _) = poll(
        &mut m,
        json!({"action":"create","ref":"f","question":"Kedua?","options":["A","B"]}),
    )
    .await;
    let (_, before) = poll(&mut m, json!({"action":"open","poll":q["id"]})).await;
    let closed: Vec<&Value> = before
        .iter()
        .filter(|f| f["type"] == "poll" && f["poll"]["status"] == "closed")
        .collect();
    assert_eq!(closed.len(), 1, "{before:?}");
    assert_eq!(closed[0]["poll"]["id"], id.as_str());
}

/// Choices count against the device's vote quota.
#[tokio::test]
async fn choices_share_the_vote_quota() {
    let server = TestServer::start_with(&[("TANYA_VOTES_PER_MINUTE", "3")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let (p, _) = poll(
        &mut m,
        json!({"action":"create","ref":"q","question":"Cepat?","options":["A","B"]}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    poll(&mut m, json!({"action":"open","poll":id})).await;
    for i in 0..3 {
        act_ok(&mut a, json!({"type":"choose","poll":id,"option":i % 2})).await;
    }
    let e = a
        .err(
            json!({"type":"choose","poll":id,"option":0}),
            "rate_limited",
        )
        .await;
    assert!(e["retry_after_ms"].as_u64().unwrap() > 0, "{e}");
}

/// How many `poll` frames come until the counts are `want`.
async fn frames_until(c: &mut Client, want: &[Value]) -> usize {
    let mut frames = 0;
    loop {
        let p = next_poll(c).await;
        frames += 1;
        if counts(&p) == want {
            return frames;
        }
    }
}

/// Counts reach a phone at most four times a second and the moderator at most ten times a
/// second (every 100 ms) while many choose at once, and the last counts are exact.
#[tokio::test]
async fn counts_are_coalesced_for_phones() {
    let _machine = measures_time().await;
    const DEVICES: usize = 30;
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let (p, _) = poll(
        &mut m,
        json!({"action":"create","ref":"c","question":"Ramai?","options":["A","B","C"]}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    poll(&mut m, json!({"action":"open","poll":id})).await;
    let mut observer = Client::audience(&server, &s).await;
    let mut phones = Vec::new();
    for _ in 0..DEVICES {
        phones.push(Client::audience(&server, &s).await);
    }
    let start = Instant::now();
    for (i, p) in phones.iter_mut().enumerate() {
        p.send(json!({"type":"choose","poll":id,"option":i % 3,"ref":new_ref()}))
            .await;
        tokio::time::sleep(Duration::from_millis(1000 / DEVICES as u64)).await;
    }
    let want = vec![json!(10), json!(10), json!(10)];
    let frames = frames_until(&mut observer, &want).await;
    let staff_frames = frames_until(&mut m, &want).await;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{DEVICES} choices over {secs:.2} s reached a phone in {frames} poll frames, the moderator in {staff_frames}"
    );
    assert!(
        (frames as f64) <= 4.0 * secs + 2.0,
        "{frames} frames in {secs:.2} s: more than 4 a second"
    );
    assert!(
        (staff_frames as f64) <= 10.0 * secs + 2.0,
        "{staff_frames} frames in {secs:.2} s: more than 10 a second"
    );
    assert!(
        staff_frames > frames,
        "the moderator's counts come more often than the phones' ({staff_frames} vs {frames})"
    );
}

/// A poll's result on air: the overlay gets it (and its counts as they change); the question's
/// lower third goes off; taking a question or clearing takes the poll off; `live.json` has it.
#[tokio::test]
async fn a_poll_result_goes_on_air_and_off() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut overlay = Client::connect(&server, keyed_hello("overlay", &s, &s.overlay)).await;
    let mut a = Client::audience(&server, &s).await;
    assert_eq!(overlay.welcome["overlay"]["poll"], Value::Null);
    assert!(
        overlay.welcome.get("polls").is_none(),
        "the overlay has no poll list"
    );
    // A question on air first.
    let q = enter_approved(&mut m, "room", "Pertanyaan di layar").await;
    act_ok(&mut m, json!({"type":"live","question":q})).await;
    act_ok(&mut m, json!({"type":"overlay","visible":true})).await;
    let (p, _) = poll(
        &mut m,
        json!({"action":"create","ref":"air","question":"Puas?","options":["Ya","Tidak"]}),
    )
    .await;
    let id = p["id"].as_str().unwrap().to_string();
    let e = m
        .err(json!({"type":"poll","action":"show","poll":id}), "conflict")
        .await;
    assert!(e["message"].as_str().unwrap().contains("draft"), "{e}");
    poll(&mut m, json!({"action":"open","poll":id})).await;

    // Show: one overlay event, the question off air, the poll on.
    let (_, before) = poll(&mut m, json!({"action":"show","poll":id})).await;
    let ov: Vec<&Value> = before.iter().filter(|f| f["type"] == "overlay").collect();
    assert_eq!(ov.len(), 1, "one overlay event: {before:?}");
    assert_eq!(ov[0]["visible"], false);
    assert_eq!(ov[0]["poll"]["id"], id.as_str());
    let (o, _) = overlay.until("overlay").await;
    let mut o = o;
    while o["poll"].is_null() {
        o = overlay.until("overlay").await.0;
    }
    assert_eq!(
        o["visible"], false,
        "the lower third is off while the poll is on"
    );
    // Counts reach the overlay while it is on air.
    act_ok(&mut a, json!({"type":"choose","poll":id,"option":1})).await;
    let mut p = next_poll(&mut overlay).await;
    while counts(&p) != [json!(0), json!(1)] {
        p = next_poll(&mut overlay).await;
    }
    let live = format!("/api/sessions/{}/live.json?k={}", s.id, s.overlay);
    let (_, _, body) = http("GET", &server.http(&live), None, None).await;
    let row: Value = serde_json::from_str::<Value>(&body).unwrap()[0].clone();
    assert_eq!(row["poll_visible"], true);
    assert_eq!(row["poll_question"], "Puas?");
    assert_eq!(
        (
            row["poll_option2"].as_str(),
            row["poll_count2"].as_str(),
            row["poll_percent2"].as_str()
        ),
        (Some("Tidak"), Some("1"), Some("100"))
    );
    assert_eq!(row["poll_option3"], "");
    assert_eq!(row["visible"], false);

    // Taking the question again takes the poll off: one overlay event.
    let (_, before) = act_ok(&mut m, json!({"type":"overlay","visible":true})).await;
    let ov: Vec<&Value> = before.iter().filter(|f| f["type"] == "overlay").collect();
    assert_eq!(ov.len(), 1, "{before:?}");
    assert_eq!(
        (ov[0]["visible"].as_bool(), ov[0]["poll"].is_null()),
        (Some(true), true)
    );
    // Show again, then hide: nothing on air.
    poll(&mut m, json!({"action":"show","poll":id})).await;
    let (_, before) = poll(&mut m, json!({"action":"hide","poll":id})).await;
    let last = before.iter().rfind(|f| f["type"] == "overlay").unwrap();
    assert_eq!(
        (last["visible"].as_bool(), last["poll"].is_null()),
        (Some(false), true)
    );
    let (_, _, body) = http("GET", &server.http(&live), None, None).await;
    let row: Value = serde_json::from_str::<Value>(&body).unwrap()[0].clone();
    assert_eq!(row["poll_visible"], false);
    assert_eq!(row["poll_question"], "");
    // Clearing the overlay takes a poll off too.
    poll(&mut m, json!({"action":"show","poll":id})).await;
    let (_, before) = act_ok(&mut m, json!({"type":"overlay","visible":false})).await;
    let last = before.iter().rfind(|f| f["type"] == "overlay").unwrap();
    assert!(last["poll"].is_null(), "{last}");
}
