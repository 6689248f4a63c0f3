//! Flapping phones: clients reach the hub through a proxy that cuts their connections at random
//! (and drops 30% of `ok` replies); each stays away a random while, then reconnects with
//! `since` and its device token. Meanwhile a moderator approves, rejects, moves, edits, merges,
//! goes live and takes the overlay, phones ask and vote, and the hub restarts twice (once
//! killed, once terminated). At the end every client's view, built only by applying the events
//! it received (docs/protocol.md), equals exactly the view a fresh client with the same device
//! token (or key) gets: no gap, no duplicate, no stale status or count.
//!
//! Quick profile: 50 clients, connections live 0.2-2 s, offline 0.2-2 s, 12 s of work.
//! Soak (`TANYA_SOAK=1`): 200 clients, connections live 1-60 s, offline 1-60 s, 240 s.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::faults::proxy::Proxy;
use crate::faults::*;
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use tokio::sync::watch;

const RUNNING: u8 = 0;
const SETTLING: u8 = 1;
const DONE: u8 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Audience,
    Screen,
    Moderator,
}

/// One flapping client as the checker sees it.
struct Seen {
    view: ClientView,
    device: Option<String>,
    connected: bool,
    connects: u64,
}

impl Default for Seen {
    fn default() -> Self {
        Self {
            view: ClientView::lenient(),
            device: None,
            connected: false,
            connects: 0,
        }
    }
}

struct Setup {
    url: String,
    s: Session,
    offline: (Duration, Duration),
    commands: AtomicU64,
}

fn hello_for(kind: Kind, s: &Session, device: Option<&str>, since: Option<(&str, u64)>) -> Value {
    let mut h = match kind {
        Kind::Audience => audience_hello(&s.code, device, None),
        Kind::Screen => keyed_hello("screen", s, &s.screen),
        Kind::Moderator => keyed_hello("moderator", s, &s.moderator),
    };
    if let Some((e, q)) = since {
        h["since"] = json!({"epoch": e, "seq": q});
    }
    h
}

/// A phone's next command: mostly votes (on and off) on what it sees, sometimes a question.
fn phone_command(view: &ClientView, r: &mut StdRng, i: usize, n: u64) -> Value {
    let ids: Vec<&String> = view.questions.keys().collect();
    if ids.is_empty() || r.random_bool(0.15) {
        return json!({"type":"ask","ref":format!("p{i}-{n}"),
                      "text":format!("Warga {i} bertanya ({n}): kapan pasar direnovasi?")});
    }
    let id = ids[r.random_range(0..ids.len())];
    json!({"type":"vote","ref":format!("v{i}-{n}"),"question":id,"on":r.random_bool(0.7)})
}

async fn flapper(
    setup: Arc<Setup>,
    i: usize,
    kind: Kind,
    seen: Arc<Mutex<Seen>>,
    mut phase: watch::Receiver<u8>,
    seed: u64,
) {
    let mut r = rng(seed.wrapping_add(i as u64 * 7919));
    let mut n = 0u64;
    loop {
        if *phase.borrow() == DONE {
            return;
        }
        let (device, since) = {
            let g = seen.lock().unwrap();
            let since = (!g.view.epoch.is_empty()).then(|| (g.view.epoch.clone(), g.view.seq));
            (g.device.clone(), since)
        };
        let since_ref = since.as_ref().map(|(e, q)| (e.as_str(), *q));
        let h = hello_for(kind, &setup.s, device.as_deref(), since_ref);
        let Ok((mut ws, w)) = hello(&setup.url, &h, Duration::from_secs(3)).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        {
            let mut g = seen.lock().unwrap();
            g.view.apply(&w);
            if let Some(d) = w["you"]["device"].as_str() {
                g.device = Some(d.to_string());
            }
            g.connected = true;
            g.connects += 1;
        }
        let mut next = tokio::time::Instant::now()
            + between(
                &mut r,
                Duration::from_millis(300),
                Duration::from_millis(1500),
            );
        loop {
            let acting = kind == Kind::Audience && *phase.borrow() == RUNNING;
            tokio::select! {
                m = recv(&mut ws, Duration::from_secs(3600)) => match m {
                    Ok(v) => seen.lock().unwrap().view.apply(&v),
                    Err(_) => break,
                },
                _ = tokio::time::sleep_until(next), if acting => {
                    n += 1;
                    let cmd = phone_command(&seen.lock().unwrap().view, &mut r, i, n);
                    setup.commands.fetch_add(1, Ordering::Relaxed);
                    use futures_util::SinkExt;
                    let msg = tokio_tungstenite::tungstenite::Message::text(cmd.to_string());
                    if ws.send(msg).await.is_err() {
                        break;
                    }
                    next = tokio::time::Instant::now()
                        + between(&mut r, Duration::from_millis(300), Duration::from_millis(1500));
                },
                c = phase.changed() => {
                    if c.is_err() || *phase.borrow() == DONE {
                        return;
                    }
                },
            }
        }
        seen.lock().unwrap().connected = false;
        if *phase.borrow() == RUNNING {
            let away = between(&mut r, setup.offline.0, setup.offline.1);
            tokio::select! {
                _ = tokio::time::sleep(away) => {}
                _ = phase.changed() => {}
            }
        }
    }
}

/// The moderator's next command, chosen from its own view.
fn moderator_command(view: &ClientView, r: &mut StdRng, n: u64) -> Value {
    let of = |st: &str| -> Vec<String> {
        view.questions
            .values()
            .filter(|q| q["status"] == st)
            .filter_map(|q| q["id"].as_str().map(String::from))
            .collect()
    };
    let (pending, approved, live, answered, rejected) = (
        of("pending"),
        of("approved"),
        of("live"),
        of("answered"),
        of("rejected"),
    );
    let reference = format!("m{n}");
    let c = r.random_range(0..100);
    let three = r.random_range(0..3usize);
    let mut any = |v: &Vec<String>| v[r.random_range(0..v.len())].clone();
    let cmd = match c {
        0..=24 if !pending.is_empty() => json!({"type":"approve","question":any(&pending)}),
        25..=30 if !pending.is_empty() => {
            json!({"type":"reject","question":any(&pending),"reason":"di luar topik"})
        }
        31..=44 if approved.len() >= 2 => {
            let q = any(&approved);
            let after = if c % 3 == 0 {
                Value::Null
            } else {
                json!(any(&approved))
            };
            json!({"type":"move","question":q,"after":after})
        }
        45..=50 if !approved.is_empty() => json!({"type":"live","question":any(&approved)}),
        51..=54 if !live.is_empty() => json!({"type":"answered","question":any(&live)}),
        55..=58 if !live.is_empty() => json!({"type":"overlay","visible":true}),
        59..=60 => json!({"type":"overlay","visible":false}),
        61..=64 if !answered.is_empty() => json!({"type":"requeue","question":any(&answered)}),
        65..=70 if !approved.is_empty() => json!({"type":"edit","question":any(&approved),
            "text":format!("Disunting {n}: bagaimana rencana renovasi pasar?")}),
        71..=75 if !approved.is_empty() => json!({"type":"reject","question":any(&approved)}),
        76..=78 if !live.is_empty() => json!({"type":"reject","question":any(&live)}),
        79..=81 if !rejected.is_empty() => json!({"type":"approve","question":any(&rejected)}),
        82..=84 if !pending.is_empty() && !approved.is_empty() => {
            json!({"type":"merge","question":any(&pending),"into":any(&approved)})
        }
        85..=87 if !approved.is_empty() => {
            let to = [json!("s1"), json!("s2"), Value::Null][three].clone();
            json!({"type":"assign","question":any(&approved),"to":to})
        }
        88..=89 => json!({"type":"session","title":format!("Diskusi Wong Kito #{n}")}),
        _ => json!({"type":"enter","channel":"radio",
                    "text":format!("Pendengar radio {n}: bagaimana dengan banjir?")}),
    };
    let mut cmd = cmd;
    cmd["ref"] = json!(reference);
    cmd
}

async fn moderator(url: String, s: Session, mut phase: watch::Receiver<u8>, seed: u64) -> u64 {
    let mut r = rng(seed ^ 0xabcdef);
    let mut view = ClientView::lenient();
    let mut n = 0u64;
    let h = json!({"type":"hello","role":"moderator","session":s.id,"key":s.moderator});
    while *phase.borrow() == RUNNING {
        let Ok((mut ws, w)) = hello(&url, &h, Duration::from_secs(3)).await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        view.apply(&w);
        while *phase.borrow() == RUNNING {
            n += 1;
            let cmd = moderator_command(&view, &mut r, n);
            match call(&mut ws, &cmd, Duration::from_secs(5), &mut |v| {
                view.apply(v)
            })
            .await
            {
                Ok(_) => {}
                Err(_) => break,
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(r.random_range(30..90))) => {}
                _ = phase.changed() => {}
            }
        }
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_flapping_client_ends_with_the_exact_current_view() {
    let _machine = loads_the_machine().await;
    let clients = pick(50, 200);
    let work = pick(Duration::from_secs(12), Duration::from_secs(240));
    let life = pick(
        (Duration::from_millis(200), Duration::from_secs(2)),
        (Duration::from_secs(1), Duration::from_secs(60)),
    );
    let offline = life;
    let seed = seed();
    let t0 = Instant::now();
    let mut server = unlimited_hub();
    let s = server.demo_session().await;
    // Something to see from the start.
    {
        let mut m = Client::moderator(&server, &s).await;
        for k in 0..10 {
            let v = m
                .ok(
                    json!({"type":"enter","ref":format!("seed{k}"),"channel":"sms",
                           "text":format!("Pertanyaan awal {k}")}),
                )
                .await;
            if k % 3 != 0 {
                let id = v["question"]["id"].as_str().unwrap().to_string();
                m.ok(json!({"type":"approve","question":id})).await;
            }
        }
    }
    let proxy = Proxy::start(&server.addr).await;
    proxy.set_drop_ok(0.3);
    proxy.set_life(Some(life));
    let setup = Arc::new(Setup {
        url: proxy.ws_url(),
        s: s.clone(),
        offline,
        commands: AtomicU64::new(0),
    });
    let (phase_tx, phase) = watch::channel(RUNNING);
    let mut seen = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..clients {
        let kind = match i {
            1 => Kind::Moderator,
            _ if i % 20 == 0 => Kind::Screen,
            _ => Kind::Audience,
        };
        let st = Arc::new(Mutex::new(Seen::default()));
        seen.push((kind, st.clone()));
        tasks.push(tokio::spawn(flapper(
            setup.clone(),
            i,
            kind,
            st,
            phase.clone(),
            seed,
        )));
    }
    let m = tokio::spawn(moderator(server.ws_url(), s.clone(), phase.clone(), seed));

    // The work, with two restarts: a kill and a graceful stop.
    tokio::time::sleep(work / 3).await;
    blocking(|| {
        server.kill9();
        server.restart();
    });
    tokio::time::sleep(work / 3).await;
    let (st, took) = blocking(|| server.terminate());
    assert!(st.success(), "SIGTERM exit: {st:?}");
    blocking(|| server.restart());
    tokio::time::sleep(work / 3).await;

    // Settle: no more commands, no more cuts; everyone comes back.
    phase_tx.send(SETTLING).unwrap();
    proxy.set_life(None);
    proxy.set_drop_ok(0.0);
    let moderator_commands = m.await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let marker = format!("Selesai {seed}");
    let mut mm = Client::moderator(&server, &s).await;
    mm.ok(json!({"type":"session","title":marker})).await;
    let settle = Instant::now();
    loop {
        let behind = seen
            .iter()
            .filter(|(_, st)| {
                let g = st.lock().unwrap();
                !(g.connected && g.view.session["title"] == json!(marker))
            })
            .count();
        if behind == 0 {
            break;
        }
        assert!(
            settle.elapsed() < Duration::from_secs(60),
            "{behind} clients never caught up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Coalesced vote counts go out on a 250 ms tick.
    tokio::time::sleep(Duration::from_millis(1000)).await;

    // Compare with a fresh client of the same device (or key), straight to the hub.
    let mut mismatched = 0;
    let mut diffs = Vec::new();
    let (mut resumed, mut full, mut out_of_order, mut bad_resumes, mut connects) = (0, 0, 0, 0, 0);
    let mut unknown_removed = 0;
    for (i, (kind, st)) in seen.iter().enumerate() {
        let (view, device) = {
            let g = st.lock().unwrap();
            (g.view.clone(), g.device.clone())
        };
        resumed += view.resumed;
        full += view.full;
        out_of_order += view.out_of_order;
        bad_resumes += view.bad_resumes;
        unknown_removed += view.unknown_removed;
        connects += st.lock().unwrap().connects;
        let h = hello_for(*kind, &s, device.as_deref(), None);
        let (_, w) = hello(&server.ws_url(), &h, Duration::from_secs(10))
            .await
            .expect("fresh welcome");
        let fresh = ClientView::from_welcome(&w);
        let d = view.diff(&fresh);
        if !d.is_empty() {
            mismatched += 1;
            diffs.push(format!("client {i} ({kind:?}): {}", d.join(" | ")));
        }
    }
    phase_tx.send(DONE).unwrap();
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let (dropped, _, cuts, _) = proxy.counts();
    let final_view = ClientView::from_welcome(&mm.welcome);
    figures(
        "faults_flapping",
        &[
            ("clients", clients.to_string()),
            ("restarts", "2".into()),
            ("sigterm_secs", format!("{:.2}", took.as_secs_f64())),
            ("questions", final_view.questions.len().to_string()),
            ("moderator_commands", moderator_commands.to_string()),
            (
                "phone_commands",
                setup.commands.load(Ordering::Relaxed).to_string(),
            ),
            ("cuts", cuts.to_string()),
            ("oks_dropped", dropped.to_string()),
            ("connects", connects.to_string()),
            ("resumed", resumed.to_string()),
            ("full", full.to_string()),
            ("out_of_order", out_of_order.to_string()),
            ("bad_resumes", bad_resumes.to_string()),
            ("unknown_removed", unknown_removed.to_string()),
            ("mismatched", mismatched.to_string()),
            ("seed", seed.to_string()),
            ("secs", format!("{:.1}", t0.elapsed().as_secs_f64())),
        ],
    );
    for d in diffs.iter().take(10) {
        println!("  {d}");
    }
    assert!(resumed > 0, "some reconnects resumed");
    assert!(cuts > clients as u64, "the proxy cut connections");
    assert_eq!(out_of_order, 0, "events with a seq not above the last one");
    assert_eq!(bad_resumes, 0, "resumed welcomes not at the `since` sent");
    assert_eq!(mismatched, 0, "views differ from a fresh client's");
}

/// The smallest case the flapping run can hit: an author's view of its own question that is no
/// longer public (rejected) must follow that question's vote count like a fresh welcome does.
/// (`votes` frames for the audience carry only public questions; the author gets nothing when
/// the count of its rejected question changes.)
#[tokio::test]
async fn an_authors_view_of_its_rejected_question_follows_its_vote_count() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut view = ClientView::from_welcome(&a.welcome);
    async fn act(
        a: &mut Client,
        view: &mut ClientView,
        cmd: serde_json::Value,
    ) -> serde_json::Value {
        let r = call(&mut a.ws, &cmd, Duration::from_secs(5), &mut |v| {
            view.apply(v)
        })
        .await
        .unwrap();
        assert_eq!(r["type"], "ok", "{cmd} -> {r}");
        r
    }
    async fn settle(a: &mut Client, view: &mut ClientView) {
        // Vote counts go out on a 250 ms tick.
        while let Ok(v) = recv(&mut a.ws, Duration::from_millis(700)).await {
            view.apply(&v);
        }
    }
    let q = act(
        &mut a,
        &mut view,
        json!({"type":"ask","ref":"r1","text":"Pertanyaan saya tentang parkir liar"}),
    )
    .await["question"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    m.ok(json!({"type":"approve","question":q})).await;
    act(
        &mut a,
        &mut view,
        json!({"type":"vote","ref":"v1","question":q,"on":true}),
    )
    .await;
    settle(&mut a, &mut view).await;
    m.ok(json!({"type":"reject","question":q,"reason":"sudah dijawab"}))
        .await;
    act(
        &mut a,
        &mut view,
        json!({"type":"vote","ref":"v2","question":q,"on":false}),
    )
    .await;
    settle(&mut a, &mut view).await;
    let (_, w) = hello(
        &server.ws_url(),
        &audience_hello(&s.code, Some(&a.device()), None),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let fresh = ClientView::from_welcome(&w);
    let d = view.diff(&fresh);
    figures(
        "faults_flapping_author_votes",
        &[("differences", d.len().to_string())],
    );
    assert!(d.is_empty(), "the author's view went stale: {d:#?}");
}
