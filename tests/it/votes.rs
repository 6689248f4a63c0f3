//! Journey: phones vote for approved questions. One vote per device, counts coalesced into at
//! most 4 `votes` frames a second, per-device quotas. Black-box through real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::{Value, json};

fn vote(q: &str, on: bool) -> Value {
    json!({"type":"vote","question":q,"on":on})
}

/// The moderator view of question `id`, from a fresh moderator's welcome.
async fn fresh_view(server: &TestServer, s: &Session, id: &str) -> Value {
    let mut all = snapshot(server, s).await;
    all.remove(id)
        .unwrap_or_else(|| panic!("{id} not in {all:?}"))
}

/// Reads `votes` frames (skipping others) until the count of `id` is `n`; every count of `id`
/// seen on the way must be at most `max`.
async fn wait_count(c: &mut Client, id: &str, n: u64, max: u64) {
    loop {
        let (v, _) = c.until("votes").await;
        if let Some(k) = v["counts"][id].as_u64() {
            assert!(k <= max, "count of {id} went to {k}: {v}");
            if k == n {
                return;
            }
        }
    }
}

#[tokio::test]
async fn vote_on_and_off() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut voter = Client::audience(&server, &s).await;
    let q = ask_approved(&mut m, &mut a, "Kapan pasar Cinde dibuka?").await;
    let rev = fresh_view(&server, &s, &q).await["rev"].clone();

    voter.ok(vote(&q, true)).await;
    wait_count(&mut m, &q, 1, 1).await;
    wait_count(&mut a, &q, 1, 1).await;
    // Again: still one vote from this device.
    voter.ok(vote(&q, true)).await;
    let v = fresh_view(&server, &s, &q).await;
    assert_eq!(v["votes"], 1);
    assert_eq!(v["rev"], rev, "votes do not change rev");

    voter.ok(vote(&q, false)).await;
    wait_count(&mut m, &q, 0, 1).await;
    wait_count(&mut a, &q, 0, 1).await;
    voter.ok(vote(&q, false)).await;
    assert_eq!(fresh_view(&server, &s, &q).await["votes"], 0);

    // Votes stay with a question through any change.
    voter.ok(vote(&q, true)).await;
    for cmd in [
        json!({"type":"live","question":q}),
        json!({"type":"answered","question":q}),
        json!({"type":"requeue","question":q}),
        json!({"type":"reject","question":q}),
        json!({"type":"approve","question":q}),
    ] {
        m.ok(cmd.clone()).await;
        assert_eq!(fresh_view(&server, &s, &q).await["votes"], 1, "after {cmd}");
    }
    // Live and answered questions take votes.
    let mut other = Client::audience(&server, &s).await;
    m.ok(json!({"type":"live","question":q})).await;
    other.ok(vote(&q, true)).await;
    m.ok(json!({"type":"answered","question":q})).await;
    voter.ok(vote(&q, false)).await;
    assert_eq!(fresh_view(&server, &s, &q).await["votes"], 1);

    // `rev` may be given: the current one is fine, a stale one is a conflict.
    let rev = fresh_view(&server, &s, &q).await["rev"].as_u64().unwrap();
    voter
        .ok(json!({"type":"vote","question":q,"on":true,"rev":rev}))
        .await;
    let e = voter
        .err(
            json!({"type":"vote","question":q,"on":false,"rev":rev - 1}),
            "conflict",
        )
        .await;
    assert_eq!(e["rev"], rev, "{e}");

    // Fields and roles.
    voter
        .err(json!({"type":"vote","question":q}), "invalid")
        .await;
    voter
        .err(json!({"type":"vote","question":q,"on":"yes"}), "invalid")
        .await;
    voter
        .err(vote(&uuid::Uuid::new_v4().to_string(), true), "not_found")
        .await;
    m.err(vote(&q, true), "forbidden").await;
}

#[tokio::test]
async fn one_vote_per_device_even_from_ten_sockets_at_once() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let q = ask_approved(&mut m, &mut a, "Satu perangkat, satu suara").await;
    let device = Client::audience(&server, &s).await.device();

    let mut sockets = Vec::new();
    for _ in 0..10 {
        let c = phone_with(&server, &s, &device).await;
        assert_eq!(c.device(), device);
        sockets.push(c);
    }
    for on in [true, false, true] {
        // All ten send before any reply is read.
        for c in &mut sockets {
            c.send(json!({"type":"vote","ref":new_ref(),"question":q,"on":on}))
                .await;
        }
        for c in &mut sockets {
            let (v, _) = c.until("ok").await;
            assert_eq!(v["type"], "ok");
        }
        let want = u64::from(on);
        assert_eq!(fresh_view(&server, &s, &q).await["votes"], want);
        wait_count(&mut m, &q, want, 1).await;
    }
    // Every socket of the device sees the vote as its own.
    let again = phone_with(&server, &s, &device).await;
    assert_eq!(you_votes(&again), vec![q.clone()]);
}

#[tokio::test]
async fn votes_are_coalesced_into_at_most_four_frames_a_second() {
    let _machine = measures_time().await;
    const DEVICES: usize = 40;
    const QUESTIONS: usize = 5;
    let server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "100")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut qs = Vec::new();
    for i in 0..QUESTIONS {
        qs.push(ask_approved(&mut m, &mut a, &format!("Pertanyaan populer {i}")).await);
    }
    let mut observer = Client::audience(&server, &s).await;
    let mut phones = Vec::new();
    for _ in 0..DEVICES {
        phones.push(Client::audience(&server, &s).await);
    }

    // The observer records every votes frame until every count is final.
    let want: HashMap<String, u64> = qs.iter().map(|q| (q.clone(), DEVICES as u64)).collect();
    let watch = tokio::spawn(async move {
        let mut counts: HashMap<String, u64> = HashMap::new();
        let mut times = Vec::new();
        while counts != want {
            let (v, _) = observer.until("votes").await;
            times.push(Instant::now());
            for (id, n) in v["counts"].as_object().unwrap() {
                counts.insert(id.clone(), n.as_u64().unwrap());
            }
        }
        // Nothing more comes after the final counts.
        assert!(
            observer.quiet(600).await,
            "a votes frame after the final counts"
        );
        times
    });

    // 200 votes from 40 devices spread evenly over one second (one every 5 ms), so that a hub
    // sending a frame per vote, or per short burst, would send far more than 4 a second.
    let start = Instant::now();
    let total = (DEVICES * QUESTIONS) as u32;
    let mut tasks = Vec::new();
    for (i, mut p) in phones.into_iter().enumerate() {
        let qs = qs.clone();
        tasks.push(tokio::spawn(async move {
            for (k, q) in qs.iter().enumerate() {
                let nth = (k * DEVICES + i) as u32;
                tokio::time::sleep_until((start + Duration::from_secs(1) * nth / total).into())
                    .await;
                p.send(json!({"type":"vote","ref":new_ref(),"question":q,"on":true}))
                    .await;
            }
            for _ in &qs {
                let (v, _) = p.until("ok").await;
                assert_eq!(v["type"], "ok");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let voting = start.elapsed();
    let times = tokio::time::timeout(Duration::from_secs(10), watch)
        .await
        .expect("the observer saw the final counts")
        .unwrap();
    let span = times.last().unwrap().duration_since(start);
    eprintln!(
        "{} votes in {voting:?}; {} votes frames over {span:?}",
        DEVICES * QUESTIONS,
        times.len()
    );
    // At most 4 a second: any five frames span (nearly, for delivery jitter) a second or more.
    for w in times.windows(5) {
        let d = w[4].duration_since(w[0]);
        assert!(
            d >= Duration::from_millis(900),
            "5 votes frames within {d:?}"
        );
    }
    if voting <= Duration::from_millis(1200) {
        assert!(times.len() <= 6, "{} votes frames", times.len());
    } else {
        // A slow machine: the same rate bound over the longer time.
        let bound = 4 * span.as_secs() as usize + 6;
        assert!(
            times.len() <= bound,
            "{} votes frames in {span:?}",
            times.len()
        );
    }
    for q in &qs {
        assert_eq!(fresh_view(&server, &s, q).await["votes"], DEVICES as u64);
    }
}

#[tokio::test]
async fn a_vote_in_a_quiet_room_is_counted_at_once_not_at_the_next_tick() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let q = ask_approved(&mut m, &mut a, "Kapan jalan di depan pasar diperbaiki?").await;
    let mut observer = Client::audience(&server, &s).await;
    let mut voter = Client::audience(&server, &s).await;

    // The session's first vote: no `votes` frame was sent in the last 250 ms, so its count goes
    // out right after its commit, before anything the moderator does after the vote's `ok`.
    voter.ok(vote(&q, true)).await;
    marker(&mut m, "sesudah suara").await;
    let frames = through_marker(&mut observer, "sesudah suara").await;
    let marker_at = frames.len() - 1;
    let votes_at = frames
        .iter()
        .position(|f| f["type"] == "votes" && f["counts"][&q] == 1)
        .unwrap_or_else(|| panic!("no count before the marker: {frames:#?}"));
    assert!(votes_at < marker_at, "{frames:#?}");
}

#[tokio::test]
async fn vote_on_a_pending_question_is_a_conflict_off_is_always_ok() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut other = Client::audience(&server, &s).await;
    let p = a.ask("Masih menunggu").await;
    let e = a.err(vote(&p, true), "conflict").await;
    assert_eq!(e["rev"], 1, "{e}");
    a.ok(vote(&p, false)).await;
    // Another phone cannot see it at all.
    other.err(vote(&p, true), "not_found").await;
    // Rejected and withdrawn: no votes; off still fine.
    m.ok(json!({"type":"reject","question":p})).await;
    let e = a.err(vote(&p, true), "conflict").await;
    assert_eq!(e["rev"], 2, "{e}");
    a.ok(vote(&p, false)).await;
    let w = a.ask("Akan ditarik").await;
    a.ok(json!({"type":"withdraw","question":w})).await;
    a.err(vote(&w, true), "conflict").await;
    a.ok(vote(&w, false)).await;
    assert_eq!(fresh_view(&server, &s, &p).await["votes"], 0);
    // Paused: votes go on.
    let q = ask_approved(&mut m, &mut a, "Disetujui").await;
    m.ok(json!({"type":"session","status":"paused"})).await;
    other.ok(vote(&q, true)).await;
    assert_eq!(fresh_view(&server, &s, &q).await["votes"], 1);
}

fn assert_rate_limited(e: &Value, max_ms: u64) -> u64 {
    let ms = e["retry_after_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("retry_after_ms: {e}"));
    assert!(ms > 0 && ms <= max_ms, "retry_after_ms {ms}: {e}");
    ms
}

#[tokio::test]
async fn vote_quota_per_device() {
    let server = TestServer::start_with(&[("TANYA_VOTES_PER_MINUTE", "5")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let q = ask_approved(&mut m, &mut a, "Kuota suara").await;
    let mut v = Client::audience(&server, &s).await;
    let p = v.ask("Punya saya, masih menunggu").await;
    // Refused votes do not count (checks before the quota).
    v.err(vote(&p, true), "conflict").await;
    v.err(json!({"type":"vote","question":q}), "invalid").await;
    v.err(vote(&uuid::Uuid::new_v4().to_string(), true), "not_found")
        .await;
    for i in 0..5 {
        v.ok(vote(&q, i % 2 == 0)).await;
    }
    let e = v.err(vote(&q, false), "rate_limited").await;
    assert_rate_limited(&e, 60_000);
    // The refused vote changed nothing.
    assert_eq!(fresh_view(&server, &s, &q).await["votes"], 1);
    // The question-status check still comes before the quota.
    v.err(vote(&p, true), "conflict").await;
    // The device is limited on every socket; other devices are not.
    let dev = v.device();
    drop(v);
    let mut v = phone_with(&server, &s, &dev).await;
    let e = v.err(vote(&q, false), "rate_limited").await;
    assert_rate_limited(&e, 60_000);
    let mut w = Client::audience(&server, &s).await;
    w.ok(vote(&q, true)).await;
    assert_eq!(fresh_view(&server, &s, &q).await["votes"], 2);
}

/// "Quotas: every vote and ask that passes the earlier checks counts, over a sliding minute."
/// Having used the whole minute's allowance at once, a device may not vote again until that
/// minute has passed: `retry_after_ms` says so, and a vote after a shorter wait is refused.
#[tokio::test]
async fn vote_quota_is_over_a_sliding_minute() {
    let server = TestServer::start_with(&[("TANYA_VOTES_PER_MINUTE", "60")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let q = ask_approved(&mut m, &mut a, "Jendela geser").await;
    let mut v = Client::audience(&server, &s).await;
    let first = Instant::now();
    for i in 0..60 {
        v.ok(vote(&q, i % 2 == 0)).await;
    }
    let e = v.err(vote(&q, true), "rate_limited").await;
    let ms = assert_rate_limited(&e, 60_000);
    let elapsed = first.elapsed().as_millis() as u64;
    // The oldest of the 60 leaves the minute no earlier than 60 s after it was counted.
    assert!(
        ms + elapsed + 1_000 >= 60_000,
        "60 votes in {elapsed} ms, yet retry_after_ms is only {ms}: \
         a 61st vote would be allowed within the same minute"
    );
}

#[tokio::test]
async fn ask_quota_per_device() {
    let server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "3")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    // Refused asks do not count.
    a.err(
        json!({"type":"ask","ref":new_ref(),"text":"   "}),
        "invalid",
    )
    .await;
    a.err(
        json!({"type":"ask","ref":new_ref(),"text":"x".repeat(301)}),
        "invalid",
    )
    .await;
    let first = json!({"type":"ask","ref":new_ref(),"text":"Pertama"});
    let id = a.ok(first.clone()).await["question"]["id"].clone();
    a.ask("Kedua").await;
    a.ask("Ketiga").await;
    let e = a
        .err(
            json!({"type":"ask","ref":new_ref(),"text":"Keempat"}),
            "rate_limited",
        )
        .await;
    assert_rate_limited(&e, 60_000);
    // A retry of an earlier ask is not a new change: ok, same question.
    let again = a.ok(first).await;
    assert_eq!(again["question"]["id"], id);
    // The same device on a new socket is still limited; another device is not.
    let dev = a.device();
    drop(a);
    let mut a = phone_with(&server, &s, &dev).await;
    let e = a
        .err(
            json!({"type":"ask","ref":new_ref(),"text":"Kelima"}),
            "rate_limited",
        )
        .await;
    assert_rate_limited(&e, 60_000);
    let mut b = Client::audience(&server, &s).await;
    b.ask("Dari perangkat lain").await;
    // Session status is checked before the quota.
    m.ok(json!({"type":"session","status":"paused"})).await;
    a.err(
        json!({"type":"ask","ref":new_ref(),"text":"Saat jeda"}),
        "closed",
    )
    .await;
    // Exactly four questions exist.
    let fresh = Client::moderator(&server, &s).await;
    assert_eq!(fresh.welcome["questions"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn you_votes_in_welcome_after_reconnect() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let x = ask_approved(&mut m, &mut a, "X").await;
    let y = ask_approved(&mut m, &mut a, "Y").await;
    let z = ask_approved(&mut m, &mut a, "Z").await;
    let mut v = Client::audience(&server, &s).await;
    assert_eq!(you_votes(&v), Vec::<String>::new());
    v.ok(vote(&x, true)).await;
    v.ok(vote(&y, true)).await;
    v.ok(vote(&z, true)).await;
    v.ok(vote(&y, false)).await;
    // A question answered keeps the vote.
    m.ok(json!({"type":"live","question":z})).await;
    m.ok(json!({"type":"answered","question":z})).await;
    let dev = v.device();
    drop(v);
    let again = phone_with(&server, &s, &dev).await;
    let mut want = vec![x.clone(), z.clone()];
    want.sort();
    assert_eq!(you_votes(&again), want);
    // Each question in the welcome carries the counts.
    let count = |id: &str| {
        again.welcome["questions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == json!(id))
            .unwrap()["votes"]
            .clone()
    };
    assert_eq!(count(&x), 1);
    assert_eq!(count(&y), 0);
    assert_eq!(count(&z), 1);
    // Another device has none of them.
    let other = Client::audience(&server, &s).await;
    assert!(you_votes(&other).is_empty());
    // The press page keeps its votes the same way.
    let mut p = Client::connect(
        &server,
        json!({"type":"hello","role":"press","session":s.code,"key":s.press}),
    )
    .await;
    p.ok(vote(&y, true)).await;
    let pdev = p.device();
    drop(p);
    let p = Client::connect(
        &server,
        json!({"type":"hello","role":"press","session":s.code,"key":s.press,"device":pdev}),
    )
    .await;
    assert_eq!(you_votes(&p), vec![y]);
}

#[tokio::test]
async fn moderators_and_the_screen_get_vote_counts_in_rounds_of_their_own() {
    let _machine = measures_time().await;
    const DEVICES: usize = 30;
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let q = ask_approved(&mut m, &mut a, "Kapan jembatan Ampera dicat ulang?").await;
    let screen = Client::connect(
        &server,
        json!({"type":"hello","role":"screen","session":s.id,"key":s.screen}),
    )
    .await;
    let mut phones = Vec::new();
    for _ in 0..DEVICES {
        phones.push(Client::audience(&server, &s).await);
    }
    // Each role's votes frames: when, and the count of the question.
    async fn watch(mut c: Client, q: String, want: u64) -> Vec<(Instant, u64)> {
        let mut seen = Vec::new();
        loop {
            let (v, _) = c.until("votes").await;
            if let Some(n) = v["counts"][&q].as_u64() {
                seen.push((Instant::now(), n));
                if n == want {
                    return seen;
                }
            }
        }
    }
    let want = DEVICES as u64;
    let (qm, qs, qa) = (q.clone(), q.clone(), q.clone());
    let wm = tokio::spawn(watch(m, qm, want));
    let ws = tokio::spawn(watch(screen, qs, want));
    let wa = tokio::spawn(watch(a, qa, want));
    // One vote every 20 ms for 600 ms.
    let start = Instant::now();
    let mut sent = Vec::new();
    for (i, p) in phones.iter_mut().enumerate() {
        tokio::time::sleep_until((start + Duration::from_millis(20) * i as u32).into()).await;
        sent.push(Instant::now());
        p.send(json!({"type":"vote","ref":new_ref(),"question":q,"on":true}))
            .await;
    }
    let wait = |h: tokio::task::JoinHandle<Vec<(Instant, u64)>>| async move {
        tokio::time::timeout(Duration::from_secs(10), h)
            .await
            .expect("the final count arrives")
            .unwrap()
    };
    let (mods, scr, phone) = (wait(wm).await, wait(ws).await, wait(wa).await);
    // The k-th vote sent is counted in the first frame whose count reaches k.
    let lat = |frames: &[(Instant, u64)]| -> Vec<Duration> {
        let mut l: Vec<Duration> = sent
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let (at, _) = frames.iter().find(|(_, n)| *n > k as u64).unwrap();
                at.saturating_duration_since(*t)
            })
            .collect();
        l.sort();
        l
    };
    let (lm, ls, lp) = (lat(&mods), lat(&scr), lat(&phone));
    let p99 = |l: &[Duration]| l[(l.len() * 99).div_ceil(100) - 1].as_millis();
    println!(
        "FIGURES votes staff: moderator frames={} p99_ms={} max_ms={}; screen frames={} p99_ms={}; \
         phone frames={} p99_ms={}",
        mods.len(),
        p99(&lm),
        lm.last().unwrap().as_millis(),
        scr.len(),
        p99(&ls),
        phone.len(),
        p99(&lp)
    );
    // The staff's rounds are their own: more of them than the phones' four a second allow.
    let span = start.elapsed().as_secs_f64();
    assert!(
        phone.len() as f64 <= 4.0 * span + 2.0,
        "{} phone frames in {span} s",
        phone.len()
    );
    assert!(
        mods.len() > phone.len() && scr.len() > phone.len(),
        "moderator {} and screen {} frames against the phone's {}",
        mods.len(),
        scr.len(),
        phone.len()
    );
}
