//! Abuse: one device flooding asks and votes from ten sockets at once gets no more than its
//! quota (counted in `ok`s) while another phone is unaffected; fresh devices from one address
//! get no more than the per-address quota; one vote per device per question holds when the
//! same device votes from ten sockets at once (also across a restart); a banned device stays
//! banned across a kill and a graceful restart.
//!
//! Quick profile: 4 s of flooding. Soak (`TANYA_SOAK=1`): 30 s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::faults::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// `n` sockets of one device (the first one gets the token, the others present it).
async fn sockets_of(server: &TestServer, s: &Session, n: usize) -> (String, Vec<Ws>) {
    let url = server.ws_url();
    let (first, w) = join_phone(&url, &s.code, None).await.expect("welcome");
    let device = w["you"]["device"].as_str().unwrap().to_string();
    let mut out = vec![first];
    for _ in 1..n {
        let (ws, w) = join_phone(&url, &s.code, Some(&device))
            .await
            .expect("welcome");
        assert_eq!(w["you"]["device"], json!(device), "the token is honoured");
        out.push(ws);
    }
    (device, out)
}

/// Approved questions to vote on, entered by the moderator at a moderator's pace (clear of the
/// 60 frames/s flood limit).
async fn approved(m: &mut Client, n: usize) -> Vec<String> {
    enter_approved_many(m, n, Some(Duration::from_millis(20)), |k| {
        format!("Pertanyaan untuk dipilih {k}")
    })
    .await
}

#[derive(Default)]
struct Count {
    asks_sent: AtomicU64,
    asks_ok: AtomicU64,
    votes_sent: AtomicU64,
    votes_ok: AtomicU64,
    limited: AtomicU64,
    other: AtomicU64,
    closed: AtomicU64,
}

/// Floods asks and votes on one socket at ~40 frames/s (under the per-socket flood limit)
/// for `d`, then reads the remaining replies.
async fn flood(ws: Ws, k: usize, ids: Arc<Vec<String>>, d: Duration, c: Arc<Count>) -> Instant {
    let (mut sink, mut stream) = ws.split();
    let c2 = c.clone();
    let reader = tokio::spawn(async move {
        while let Ok(Some(Ok(m))) =
            tokio::time::timeout(Duration::from_secs(3), stream.next()).await
        {
            let Message::Text(t) = m else {
                if let Message::Close(_) = m {
                    c2.closed.fetch_add(1, Ordering::Relaxed);
                }
                continue;
            };
            let v: Value = serde_json::from_str(&t).unwrap();
            let r = v["ref"].as_str().unwrap_or("");
            match (v["type"].as_str(), v["code"].as_str()) {
                (Some("ok"), _) if r.starts_with('a') => c2.asks_ok.fetch_add(1, Ordering::Relaxed),
                (Some("ok"), _) => c2.votes_ok.fetch_add(1, Ordering::Relaxed),
                (Some("error"), Some("rate_limited")) => {
                    assert!(v["retry_after_ms"].as_u64().is_some_and(|ms| ms > 0), "{v}");
                    c2.limited.fetch_add(1, Ordering::Relaxed)
                }
                (Some("error"), _) => c2.other.fetch_add(1, Ordering::Relaxed),
                _ => 0,
            };
        }
    });
    let t = Instant::now();
    let mut n = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(25));
    while t.elapsed() < d {
        tick.tick().await;
        n += 1;
        let cmd = if n.is_multiple_of(4) {
            c.asks_sent.fetch_add(1, Ordering::Relaxed);
            json!({"type":"ask","ref":format!("a{k}-{n}"),
                   "text":format!("Banjir pertanyaan {k}-{n} dari satu perangkat")})
        } else {
            c.votes_sent.fetch_add(1, Ordering::Relaxed);
            let q = &ids[(n as usize) % ids.len()];
            json!({"type":"vote","ref":format!("v{k}-{n}"),"question":q,"on":n % 8 != 1})
        };
        if sink.send(Message::text(cmd.to_string())).await.is_err() {
            break;
        }
    }
    let sent = Instant::now();
    let _ = reader.await;
    sent
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_device_flooding_from_ten_sockets_gets_no_more_than_its_quota() {
    let _machine = loads_the_machine().await;
    let d = pick(Duration::from_secs(4), Duration::from_secs(30));
    let server = TestServer::start(); // the shipped quotas: 6 asks and 120 votes a minute
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let ids = Arc::new(approved(&mut m, 8).await);
    let (_, socks) = sockets_of(&server, &s, 10).await;
    let c = Arc::new(Count::default());
    let t = Instant::now();
    let floods: Vec<_> = socks
        .into_iter()
        .enumerate()
        .map(|(k, ws)| tokio::spawn(flood(ws, k, ids.clone(), d, c.clone())))
        .collect();
    // Another phone at the same address asks and votes meanwhile, as a person would.
    let mut other = Client::audience(&server, &s).await;
    let mut other_ok = 0;
    for k in 0..3 {
        other.ask(&format!("Saya juga ingin bertanya {k}")).await;
        other
            .ok(json!({"type":"vote","question":ids[k],"on":true}))
            .await;
        other_ok += 2;
        tokio::time::sleep(d / 4).await;
    }
    let mut last = t;
    for f in floods {
        last = last.max(f.await.unwrap());
    }
    // The span over which the flood's commands arrived (all were answered within it).
    let secs = (last - t).as_secs_f64() + 0.5;
    // A sliding minute: no window of 60 s holds more than the quota, so a flood of `secs`
    // seconds gets at most the quota once per started minute.
    let minutes = (secs / 60.0).ceil().max(1.0) as u64;
    let ask_quota = 6 * minutes;
    let vote_quota = 120 * minutes;
    let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
    figures(
        "faults_abuse_flood",
        &[
            ("sockets", "10".into()),
            ("secs", format!("{secs:.1}")),
            ("asks_sent", l(&c.asks_sent).to_string()),
            ("asks_ok", l(&c.asks_ok).to_string()),
            ("ask_quota", ask_quota.to_string()),
            ("votes_sent", l(&c.votes_sent).to_string()),
            ("votes_ok", l(&c.votes_ok).to_string()),
            ("vote_quota", vote_quota.to_string()),
            ("rate_limited", l(&c.limited).to_string()),
            ("other_errors", l(&c.other).to_string()),
            ("closed", l(&c.closed).to_string()),
            ("other_phone_ok", format!("{other_ok}/6")),
        ],
    );
    assert_eq!(
        l(&c.closed),
        0,
        "no flooding socket was over the frame limit"
    );
    assert!(l(&c.asks_sent) > 3 * ask_quota, "the flood was a flood");
    assert!(l(&c.votes_sent) > 2 * vote_quota, "the flood was a flood");
    assert!(l(&c.asks_ok) <= ask_quota, "asks over quota");
    assert!(l(&c.votes_ok) <= vote_quota, "votes over quota");
    assert!(l(&c.asks_ok) >= 6, "the allowance itself is granted");
    assert_eq!(
        l(&c.asks_ok) + l(&c.votes_ok) + l(&c.limited) + l(&c.other),
        l(&c.asks_sent) + l(&c.votes_sent),
        "every command got exactly one reply"
    );
    // The hub's count agrees: the flooding device holds no more questions than its oks.
    let w = moderator_welcome(
        &server.ws_url(),
        &s.id,
        &s.moderator,
        Duration::from_secs(10),
    )
    .await;
    let flooded = by_id(&w)
        .values()
        .filter(|q| q["text"].as_str().unwrap_or("").starts_with("Banjir"))
        .count() as u64;
    assert_eq!(flooded, l(&c.asks_ok));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_devices_from_one_address_get_no_more_than_the_address_quota() {
    let _machine = loads_the_machine().await;
    // 6 asks a minute per device, 100x per address: 600. 130 fresh devices x 6 asks = 780.
    let server = TestServer::start();
    let s = server.demo_session().await;
    let t = Instant::now();
    let ok = Arc::new(AtomicU64::new(0));
    let limited = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for d in 0..130 {
        let (url, code, ok, limited) =
            (server.ws_url(), s.code.clone(), ok.clone(), limited.clone());
        tasks.push(tokio::spawn(async move {
            let (mut ws, _) = hello(
                &url,
                &audience_hello(&code, None, None),
                Duration::from_secs(20),
            )
            .await
            .expect("welcome");
            for k in 0..6 {
                let cmd = json!({"type":"ask","ref":format!("r{k}"),
                                 "text":format!("Perangkat baru {d} bertanya {k}")});
                let v = reply(&mut ws, &cmd, Duration::from_secs(20))
                    .await
                    .expect("reply");
                match v["type"].as_str() {
                    Some("ok") => ok.fetch_add(1, Ordering::Relaxed),
                    _ => {
                        assert_eq!(v["code"], "rate_limited", "{v}");
                        limited.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let quota = 600 * (secs / 60.0).ceil().max(1.0) as u64;
    let ok = ok.load(Ordering::Relaxed);
    figures(
        "faults_abuse_fresh_devices",
        &[
            ("devices", "130".into()),
            ("asks", "780".into()),
            ("ok", ok.to_string()),
            ("address_quota", quota.to_string()),
            ("rate_limited", limited.load(Ordering::Relaxed).to_string()),
            ("secs", format!("{secs:.1}")),
        ],
    );
    assert!(
        ok <= quota,
        "asks from one address over its quota: {ok} > {quota}"
    );
    assert!(ok >= 600, "the address allowance is granted: {ok}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_vote_per_device_per_question_from_ten_sockets_at_once() {
    let _machine = loads_the_machine().await;
    let mut server = TestServer::start_with(&[("TANYA_VOTES_PER_MINUTE", "100000")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let ids = approved(&mut m, 6).await;
    let devices = 5;
    let mut all = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..devices {
        let (dev, socks) = sockets_of(&server, &s, 10).await;
        tokens.push(dev);
        all.push(socks);
    }
    // Every socket of every device votes at the same moment; `on` per socket from `on_of`.
    async fn volley(all: &mut [Vec<Ws>], q: &str, on_of: impl Fn(usize, usize) -> bool) -> u64 {
        let barrier = Arc::new(tokio::sync::Barrier::new(all.iter().map(Vec::len).sum()));
        let mut futs = Vec::new();
        for (d, socks) in all.iter_mut().enumerate() {
            for (k, ws) in socks.iter_mut().enumerate() {
                let cmd = json!({"type":"vote","ref":format!("{q}-{d}-{k}"),"question":q,"on":on_of(d, k)});
                let b = barrier.clone();
                futs.push(async move {
                    b.wait().await;
                    reply(ws, &cmd, Duration::from_secs(10)).await
                });
            }
        }
        let replies = futures_util::future::join_all(futs).await;
        replies
            .iter()
            .filter(|r| r.as_ref().is_ok_and(|v| v["type"] == "ok"))
            .count() as u64
    }
    let votes_of = |w: &Value| -> Vec<u64> {
        let qs = by_id(w);
        ids.iter()
            .map(|id| qs[id]["votes"].as_u64().unwrap())
            .collect()
    };
    let url = server.ws_url();
    let mut oks = 0;
    // All on at once: one vote per device.
    for q in &ids {
        oks += volley(&mut all, q, |_, _| true).await;
    }
    let w = moderator_welcome(&url, &s.id, &s.moderator, Duration::from_secs(10)).await;
    let after_on = votes_of(&w);
    // All off at once, then a mix at once, then one last `on` from one socket of each device.
    for q in &ids {
        oks += volley(&mut all, q, |_, _| false).await;
    }
    let w = moderator_welcome(&url, &s.id, &s.moderator, Duration::from_secs(10)).await;
    let after_off = votes_of(&w);
    for q in &ids {
        oks += volley(&mut all, q, |d, k| (d + k) % 2 == 0).await;
    }
    let w = moderator_welcome(&url, &s.id, &s.moderator, Duration::from_secs(10)).await;
    let mixed = votes_of(&w);
    for q in &ids {
        for socks in all.iter_mut() {
            let cmd = json!({"type":"vote","ref":format!("last-{q}"),"question":q,"on":true});
            let v = reply(&mut socks[3], &cmd, Duration::from_secs(10))
                .await
                .unwrap();
            assert_eq!(v["type"], "ok", "{v}");
        }
    }
    let w = moderator_welcome(&url, &s.id, &s.moderator, Duration::from_secs(10)).await;
    let last = votes_of(&w);
    // Each device's own view lists each question once.
    let mut you_ok = true;
    for dev in &tokens {
        let (_, w) = join_phone(&url, &s.code, Some(dev)).await.unwrap();
        let mut mine: Vec<String> = w["you"]["votes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        mine.sort();
        let mut want = ids.clone();
        want.sort();
        you_ok &= mine == want;
    }
    drop(all);
    blocking(|| {
        server.kill9();
        server.restart();
    });
    let w = moderator_welcome(&url, &s.id, &s.moderator, Duration::from_secs(10)).await;
    let after_restart = votes_of(&w);
    let n = devices as u64;
    figures(
        "faults_abuse_ten_sockets",
        &[
            ("devices", devices.to_string()),
            ("sockets_per_device", "10".into()),
            ("questions", ids.len().to_string()),
            ("vote_oks", oks.to_string()),
            ("after_all_on", format!("{after_on:?}").replace(' ', "")),
            ("after_all_off", format!("{after_off:?}").replace(' ', "")),
            ("after_mixed", format!("{mixed:?}").replace(' ', "")),
            ("after_last_on", format!("{last:?}").replace(' ', "")),
            (
                "after_restart",
                format!("{after_restart:?}").replace(' ', ""),
            ),
        ],
    );
    assert_eq!(oks, 3 * ids.len() as u64 * n * 10, "every vote got ok");
    assert!(after_on.iter().all(|v| *v == n), "all on: {after_on:?}");
    assert!(after_off.iter().all(|v| *v == 0), "all off: {after_off:?}");
    assert!(mixed.iter().all(|v| *v <= n), "mixed: {mixed:?}");
    assert!(last.iter().all(|v| *v == n), "last on: {last:?}");
    assert!(you_ok, "each device's welcome lists each question once");
    assert_eq!(after_restart, last, "the same counts after a restart");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_device_stays_banned_across_restarts() {
    let _machine = loads_the_machine().await;
    let mut server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "1000")]);
    let s = server.demo_session().await;
    let url = server.ws_url();
    let ask = |r: &str| json!({"type":"ask","ref":r,"text":format!("Pertanyaan {r} dari perangkat nakal")});
    let (mut ws, w) = join_phone(&url, &s.code, None).await.unwrap();
    let device = w["you"]["device"].as_str().unwrap().to_string();
    let first = reply(&mut ws, &ask("r1"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(first["type"], "ok", "{first}");
    let q1 = first["question"]["id"].as_str().unwrap().to_string();
    {
        let mut m = Client::moderator(&server, &s).await;
        m.ok(json!({"type":"ban","question":q1})).await;
    }
    let v = reply(&mut ws, &ask("r2"), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(v["code"], "banned", "{v}");
    drop(ws);

    // After each kind of restart: still banned; the earlier ask, retried, is still `ok`.
    let mut rows = Vec::new();
    for (k, how) in ["kill -9", "SIGTERM"].iter().enumerate() {
        blocking(|| {
            if k == 0 {
                server.kill9();
            } else {
                let (st, _) = server.terminate();
                assert!(st.success());
            }
            server.restart();
        });
        let (mut ws, w) = join_phone(&url, &s.code, Some(&device)).await.unwrap();
        assert_eq!(w["you"]["device"], json!(device));
        let new = reply(
            &mut ws,
            &ask(&format!("after-{k}")),
            Duration::from_secs(10),
        )
        .await
        .unwrap();
        let retry = reply(&mut ws, &ask("r1"), Duration::from_secs(10))
            .await
            .unwrap();
        let mw = moderator_welcome(&url, &s.id, &s.moderator, Duration::from_secs(10)).await;
        let flag = by_id(&mw)[&q1]["banned"].clone();
        println!(
            "  after {how}: new ask -> {} / retried ask -> {} / moderator sees banned={flag}",
            new["code"]
                .as_str()
                .unwrap_or(new["type"].as_str().unwrap_or("")),
            retry["type"]
        );
        rows.push((new, retry, flag));
    }
    // A fresh device (the ban holds for a device, not a person) and an unban, kept too.
    let mut fresh = Client::audience(&server, &s).await;
    fresh.ask("Perangkat lain, orang yang sama?").await;
    {
        let mut m = Client::moderator(&server, &s).await;
        m.ok(json!({"type":"unban","question":q1})).await;
    }
    blocking(|| {
        server.kill9();
        server.restart();
    });
    let (mut ws, _) = join_phone(&url, &s.code, Some(&device)).await.unwrap();
    let after_unban = reply(&mut ws, &ask("r9"), Duration::from_secs(10))
        .await
        .unwrap();
    figures(
        "faults_abuse_ban",
        &[
            ("restarts", "3".into()),
            (
                "banned_after_restarts",
                rows.iter()
                    .filter(|r| r.0["code"] == "banned")
                    .count()
                    .to_string(),
            ),
            (
                "unbanned_after_restart",
                (after_unban["type"] == "ok").to_string(),
            ),
        ],
    );
    for (new, retry, flag) in rows {
        assert_eq!(new["code"], "banned", "{new}");
        assert_eq!(retry["type"], "ok", "{retry}");
        assert_eq!(
            retry["question"]["id"],
            json!(q1),
            "the retried ask is the same question"
        );
        assert_eq!(flag, json!(true));
    }
    assert_eq!(
        after_unban["type"], "ok",
        "an unban is kept too: {after_unban}"
    );
}

/// Questions pile up: one address may ask 600 a minute (100 x the device quota), so in under
/// 20 minutes a session can hold 10,000 questions (here they come faster, from 40 phones with
/// the device quota lifted). The moderator must still be able to open the console: its
/// welcome carries every question (~6.5 MB here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_flooded_with_10000_questions_still_admits_its_moderator() {
    let _machine = loads_the_machine().await;
    let server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "1000000")]);
    let s = server.demo_session().await;
    let t = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (url, code) = (server.ws_url(), s.code.clone());
        tasks.push(tokio::spawn(async move {
            let (ws, _) = join_phone(&url, &code, None).await.expect("welcome");
            let (mut sink, mut stream) = ws.split();
            let reader = tokio::spawn(async move {
                let mut oks = 0u64;
                while oks < 250 {
                    match tokio::time::timeout(Duration::from_secs(10), stream.next()).await {
                        Ok(Some(Ok(Message::Text(t)))) => {
                            let v: Value = serde_json::from_str(&t).unwrap();
                            if v["type"] == "ok" {
                                oks += 1;
                            }
                        }
                        Ok(Some(Ok(_))) => {}
                        _ => break,
                    }
                }
                oks
            });
            for k in 0..250 {
                let text = format!(
                    "Warga {i} pertanyaan {k}: {}",
                    "mohon penjelasan tentang perizinan usaha mikro di kecamatan kami. ".repeat(4)
                );
                let cmd = json!({"type":"ask","ref":format!("r{k}"),"text":text});
                sink.send(Message::text(cmd.to_string())).await.unwrap();
                // 50 frames a second per socket: under the 60/s flood limit.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            reader.await.unwrap()
        }));
    }
    let mut oks = 0;
    for t in tasks {
        oks += t.await.unwrap();
    }
    let h = json!({"type":"hello","role":"moderator","session":s.id,"key":s.moderator});
    let r = hello(&server.ws_url(), &h, Duration::from_secs(20)).await;
    let (outcome, questions, bytes) = match &r {
        Ok((_, w)) => (
            "welcome".to_string(),
            w["questions"].as_array().map_or(0, Vec::len),
            w.to_string().len(),
        ),
        Err(e) => (format!("{e:?}"), 0, 0),
    };
    figures(
        "faults_abuse_big_session",
        &[
            ("asks_ok", oks.to_string()),
            ("moderator_hello", outcome.replace(' ', "")),
            ("welcome_questions", questions.to_string()),
            ("welcome_bytes", bytes.to_string()),
            ("secs", format!("{:.1}", t.elapsed().as_secs_f64())),
        ],
    );
    assert_eq!(oks, 10_000, "every ask was answered");
    assert!(
        r.is_ok(),
        "the moderator of a session with 10,000 questions gets no welcome: {outcome}"
    );
    assert_eq!(questions, 10_000);
}

/// A client cannot make itself new identities (new votes, a way around a ban) without bound:
/// phones that join without a valid device token get a new device only `new_devices_per_minute`
/// times a minute per address; then 4429. A phone that kept its token and other addresses are
/// not affected.
#[tokio::test]
async fn new_devices_per_address_are_bounded() {
    let server = TestServer::start_with_config("[limits]\nnew_devices_per_minute = 5\n", &[]);
    let s = server.demo_session().await;
    let mut first = None;
    for _ in 0..5 {
        let c = Client::audience(&server, &s).await;
        first.get_or_insert(c.device());
    }
    let mut ws = raw(&server.ws_url()).await;
    ws.send(Message::text(
        json!({"type":"hello","role":"audience","session":s.code}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(expect_close(&mut ws).await, 4429, "a sixth new device");
    // The token of a device from before still joins.
    let again = Client::connect(
        &server,
        json!({"type":"hello","role":"audience","session":s.code,"device":first.unwrap()}),
    )
    .await;
    assert_eq!(again.welcome["type"], "welcome");
    // Another address has its own count.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.4.4:0".parse().unwrap()).unwrap();
    let tcp = sock.connect(server.addr.parse().unwrap()).await.unwrap();
    let (mut other, _) = tokio_tungstenite::client_async(server.ws_url(), tcp)
        .await
        .unwrap();
    other
        .send(Message::text(
            json!({"type":"hello","role":"audience","session":s.code}).to_string(),
        ))
        .await
        .unwrap();
    let w = loop {
        match other.next().await {
            Some(Ok(Message::Text(t))) => break serde_json::from_str::<Value>(&t).unwrap(),
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(w["type"], "welcome");
}
