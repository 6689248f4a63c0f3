//! Journey: a moderator works the queue with every command of the contract's (docs/protocol.md) table.
//! Black-box through real sockets; the contract is docs/protocol.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use crate::common::*;
use serde_json::{Value, json};

/// The `question` events about `id` among `frames`.
fn events_of<'a>(frames: &'a [Value], id: &str) -> Vec<&'a Value> {
    frames
        .iter()
        .filter(|f| f["type"] == "question" && f["question"]["id"] == json!(id))
        .map(|f| &f["question"])
        .collect()
}

/// The last `question` event about `id` among `frames`, which must exist.
fn event_of<'a>(frames: &'a [Value], id: &str) -> &'a Value {
    events_of(frames, id)
        .pop()
        .unwrap_or_else(|| panic!("no question event for {id} before ok: {frames:?}"))
}

/// The approved queue, top first, from a fresh moderator's welcome.
async fn queue(server: &TestServer, s: &Session) -> Vec<String> {
    let mut q: Vec<(f64, String)> = snapshot(server, s)
        .await
        .into_values()
        .filter(|q| q["status"] == "approved")
        .map(|q| {
            (
                q["position"].as_f64().unwrap(),
                q["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    q.sort_by(|a, b| a.0.total_cmp(&b.0));
    q.into_iter().map(|(_, id)| id).collect()
}

#[tokio::test]
async fn approve_puts_the_question_last_and_audience_sees_it() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut other = Client::audience(&server, &s).await;
    let mut ids = Vec::new();
    let mut last = f64::NEG_INFINITY;
    for i in 0..3 {
        let id = a.ask(&format!("Pertanyaan nomor {i}")).await;
        let (_, before) = act_ok(&mut m, json!({"type":"approve","question":id,"rev":1})).await;
        let q = event_of(&before, &id);
        assert_eq!(q["status"], "approved");
        assert_eq!(q["rev"], 2, "{q}");
        let p = q["position"]
            .as_f64()
            .expect("an approved question has a position");
        assert!(p > last, "approve puts it last: {p} after {last}");
        last = p;
        // Other phones now see it, in the public view.
        let (ev, _) = other.until("question").await;
        assert_eq!(ev["question"]["id"], json!(id));
        assert_eq!(ev["question"]["status"], "approved");
        for k in [
            "flags",
            "author",
            "banned",
            "original_text",
            "reason",
            "edited",
        ] {
            assert!(
                ev["question"].get(k).is_none(),
                "public view has `{k}`: {ev}"
            );
        }
        ids.push(id);
    }
    assert_eq!(queue(&server, &s).await, ids);

    // A rejected question may be approved again; it goes last.
    let id = a.ask("Ditolak lalu disetujui").await;
    m.ok(json!({"type":"reject","question":id})).await;
    let (_, before) = act_ok(&mut m, json!({"type":"approve","question":id})).await;
    assert_eq!(event_of(&before, &id)["status"], "approved");
    ids.push(id);
    assert_eq!(queue(&server, &s).await, ids);
}

#[tokio::test]
async fn reject_with_reason_and_audience_gets_removed() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut other = Client::audience(&server, &s).await;

    let p = a.ask("Pertanyaan yang ditolak").await;
    let (_, before) = act_ok(
        &mut m,
        json!({"type":"reject","question":p,"reason":"  Sudah dijawab sebelumnya "}),
    )
    .await;
    let q = event_of(&before, &p);
    assert_eq!(q["status"], "rejected");
    assert_eq!(q["reason"], "Sudah dijawab sebelumnya");
    let (ev, _) = a.until("question").await;
    assert_eq!(ev["question"]["reason"], "Sudah dijawab sebelumnya");
    // A reason over 200 characters is invalid; no reason is null.
    let p2 = a.ask("Lagi").await;
    m.err(
        json!({"type":"reject","question":p2,"reason":"x".repeat(201)}),
        "invalid",
    )
    .await;
    let (_, before) = act_ok(&mut m, json!({"type":"reject","question":p2})).await;
    assert_eq!(event_of(&before, &p2)["reason"], Value::Null);
    let (ev, _) = a.until("question").await;
    assert_eq!(ev["question"]["id"], json!(p2));
    barrier(&mut m, &mut [&mut other]).await;

    // An approved question that is rejected leaves the public view: `removed`.
    let q = ask_approved(&mut m, &mut a, "Disetujui lalu ditolak").await;
    let (ev, _) = other.until("question").await;
    assert_eq!(ev["question"]["id"], json!(q));
    let (ev, _) = a.until("question").await;
    assert_eq!(ev["question"]["status"], "approved");
    m.ok(json!({"type":"reject","question":q,"reason":"Menyerang pribadi"}))
        .await;
    let (ev, before) = other.until("removed").await;
    assert_eq!(ev["id"], json!(q));
    assert!(before.is_empty(), "{before:?}");
    // The author keeps it, rejected, with the reason.
    let (ev, _) = a.until("question").await;
    assert_eq!(ev["question"]["status"], "rejected");
    assert_eq!(ev["question"]["reason"], "Menyerang pribadi");

    // A live question can be rejected: it leaves the air.
    let l = ask_approved(&mut m, &mut a, "Sedang dijawab").await;
    m.ok(json!({"type":"live","question":l})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    let (_, before) = act_ok(&mut m, json!({"type":"reject","question":l})).await;
    assert_eq!(event_of(&before, &l)["status"], "rejected");
    let ov = before
        .iter()
        .rfind(|f| f["type"] == "overlay")
        .unwrap_or_else(|| panic!("no overlay event before ok: {before:?}"));
    assert_eq!(ov["visible"], false, "{ov}");
    assert_eq!(ov["question"], Value::Null, "{ov}");
}

#[tokio::test]
async fn edit_keeps_the_original_text() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let id = a.ask("jalan rusak plaju kapan pak???").await;
    let (_, before) = act_ok(
        &mut m,
        json!({"type":"edit","question":id,"rev":1,"text":"  Kapan jalan rusak di Plaju diperbaiki? "}),
    )
    .await;
    let q = event_of(&before, &id);
    assert_eq!(q["text"], "Kapan jalan rusak di Plaju diperbaiki?");
    assert_eq!(q["original_text"], "jalan rusak plaju kapan pak???");
    assert_eq!(q["rev"], 2);
    assert_eq!(q["status"], "pending");

    // A second edit keeps the text as asked.
    let (_, before) = act_ok(
        &mut m,
        json!({"type":"edit","question":id,"text":"Kapan jalan di Plaju diperbaiki?"}),
    )
    .await;
    let q = event_of(&before, &id);
    assert_eq!(q["text"], "Kapan jalan di Plaju diperbaiki?");
    assert_eq!(q["original_text"], "jalan rusak plaju kapan pak???");

    // Empty or too long text is invalid.
    m.err(json!({"type":"edit","question":id,"text":"   "}), "invalid")
        .await;
    m.err(
        json!({"type":"edit","question":id,"text":"x".repeat(301)}),
        "invalid",
    )
    .await;

    // Edit of an approved, a live (on air: the overlay shows the new text) and a rejected question.
    m.ok(json!({"type":"approve","question":id})).await;
    m.ok(json!({"type":"edit","question":id,"text":"Disetujui, diedit"}))
        .await;
    m.ok(json!({"type":"live","question":id})).await;
    m.ok(json!({"type":"overlay","visible":true})).await;
    let (_, before) = act_ok(
        &mut m,
        json!({"type":"edit","question":id,"text":"Sedang tayang, diedit"}),
    )
    .await;
    assert_eq!(event_of(&before, &id)["text"], "Sedang tayang, diedit");
    let ov = before
        .iter()
        .rfind(|f| f["type"] == "overlay")
        .unwrap_or_else(|| panic!("no overlay event before ok: {before:?}"));
    assert_eq!(ov["visible"], true);
    assert_eq!(ov["question"]["text"], "Sedang tayang, diedit");
    let r = a.ask("Akan ditolak").await;
    m.ok(json!({"type":"reject","question":r})).await;
    m.ok(json!({"type":"edit","question":r,"text":"Ditolak, diedit"}))
        .await;

    let snap = snapshot(&server, &s).await;
    assert_eq!(snap[&id]["original_text"], "jalan rusak plaju kapan pak???");
    assert_eq!(snap[&r]["original_text"], "Akan ditolak");
    assert_eq!(snap[&r]["text"], "Ditolak, diedit");
}

#[tokio::test]
async fn live_then_answered() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut other = Client::audience(&server, &s).await;
    let x = ask_approved(&mut m, &mut a, "Pertama").await;
    let y = ask_approved(&mut m, &mut a, "Kedua").await;
    let z = ask_approved(&mut m, &mut a, "Ketiga").await;

    let (_, before) = act_ok(&mut m, json!({"type":"live","question":x,"rev":2})).await;
    assert_eq!(event_of(&before, &x)["status"], "live");
    // `live` replaces the live question: it becomes answered, in the same command.
    let (_, before) = act_ok(&mut m, json!({"type":"live","question":y})).await;
    assert_eq!(event_of(&before, &y)["status"], "live");
    assert_eq!(event_of(&before, &x)["status"], "answered");
    let snap = snapshot(&server, &s).await;
    let live: Vec<_> = snap.values().filter(|q| q["status"] == "live").collect();
    assert_eq!(live.len(), 1, "at most one live question: {snap:?}");
    assert_eq!(live[0]["id"], json!(y));

    let (_, before) = act_ok(&mut m, json!({"type":"answered","question":y})).await;
    assert_eq!(event_of(&before, &y)["status"], "answered");
    // An approved question may be marked answered directly.
    let (_, before) = act_ok(&mut m, json!({"type":"answered","question":z})).await;
    assert_eq!(event_of(&before, &z)["status"], "answered");

    // The audience followed along: approved, live and answered stay in its view.
    let mut seen: HashMap<String, String> = HashMap::new();
    while seen.get(&z).map(String::as_str) != Some("answered") {
        let v = other.recv().await;
        assert_ne!(v["type"], "removed", "{v}");
        if v["type"] == "question" {
            seen.insert(
                v["question"]["id"].as_str().unwrap().into(),
                v["question"]["status"].as_str().unwrap().into(),
            );
        }
    }
    assert_eq!(seen[&x], "answered");
    assert_eq!(seen[&y], "answered");
}

#[tokio::test]
async fn requeue_restores_the_old_position() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let x = ask_approved(&mut m, &mut a, "Satu").await;
    let y = ask_approved(&mut m, &mut a, "Dua").await;
    let z = ask_approved(&mut m, &mut a, "Tiga").await;
    let pos_y = snapshot(&server, &s).await[&y]["position"].clone();
    assert!(pos_y.is_number());

    m.ok(json!({"type":"live","question":y})).await;
    m.ok(json!({"type":"answered","question":y})).await;
    // Answered keeps the last place it had.
    assert_eq!(snapshot(&server, &s).await[&y]["position"], pos_y);
    let w = ask_approved(&mut m, &mut a, "Empat").await;
    let (_, before) = act_ok(&mut m, json!({"type":"requeue","question":y})).await;
    let q = event_of(&before, &y);
    assert_eq!(q["status"], "approved");
    assert_eq!(
        q["position"], pos_y,
        "requeue restores the old position value"
    );
    assert_eq!(queue(&server, &s).await, vec![x.clone(), y.clone(), z, w]);

    // From live, too.
    m.ok(json!({"type":"live","question":x})).await;
    let (_, before) = act_ok(&mut m, json!({"type":"requeue","question":x})).await;
    assert_eq!(event_of(&before, &x)["status"], "approved");
    assert_eq!(queue(&server, &s).await[0], x);
}

/// Moves `q` and checks that a `question` event came before the ok for every question whose
/// `position` changed, carrying its new position; returns the queue after the move.
async fn check_move(
    server: &TestServer,
    s: &Session,
    m: &mut Client,
    q: &str,
    after: Value,
) -> Vec<String> {
    let old = snapshot(server, s).await;
    let (_, before) = act_ok(m, json!({"type":"move","question":q,"after":after})).await;
    let new = snapshot(server, s).await;
    let mut evs: HashMap<String, Value> = HashMap::new();
    for f in &before {
        assert_eq!(
            f["type"], "question",
            "a move causes only question events: {f}"
        );
        evs.insert(
            f["question"]["id"].as_str().unwrap().into(),
            f["question"].clone(),
        );
    }
    for (id, nq) in &new {
        if nq["position"] != old[id]["position"] {
            let ev = evs
                .get(id)
                .unwrap_or_else(|| panic!("position of {id} changed without an event: {before:?}"));
            assert_eq!(ev["position"], nq["position"], "{ev}");
        }
    }
    for (id, ev) in &evs {
        assert_eq!(ev["position"], new[id]["position"], "{ev}");
        assert_eq!(ev["rev"], new[id]["rev"], "{ev}");
    }
    assert!(
        evs.contains_key(q),
        "the moved question has an event: {before:?}"
    );
    queue(server, s).await
}

#[tokio::test]
async fn move_to_top_and_after_with_events_for_every_moved_position() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut ids = Vec::new();
    for t in ["A", "B", "C", "D", "E"] {
        ids.push(ask_approved(&mut m, &mut a, &format!("Pertanyaan {t}")).await);
    }
    let [qa, qb, qc, qd, qe] = <[String; 5]>::try_from(ids).unwrap();

    let order = check_move(&server, &s, &mut m, &qd, Value::Null).await;
    assert_eq!(
        order,
        [qd.clone(), qa.clone(), qb.clone(), qc.clone(), qe.clone()]
    );
    let order = check_move(&server, &s, &mut m, &qa, json!(qc)).await;
    assert_eq!(
        order,
        [qd.clone(), qb.clone(), qc.clone(), qa.clone(), qe.clone()]
    );
    let order = check_move(&server, &s, &mut m, &qd, json!(qe)).await;
    assert_eq!(
        order,
        [qb.clone(), qc.clone(), qa.clone(), qe.clone(), qd.clone()]
    );
    // Many moves into the same gap: the order stays right, whatever renumbering it takes.
    for _ in 0..12 {
        let top = queue(&server, &s).await[0].clone();
        let last = queue(&server, &s).await[4].clone();
        let order = check_move(&server, &s, &mut m, &last, json!(top)).await;
        assert_eq!(order[0], top);
        assert_eq!(order[1], last);
    }

    // A phone follows the order from events alone.
    let mut b = Client::audience(&server, &s).await;
    let mut view = ClientView::from_welcome(&b.welcome);
    m.ok(json!({"type":"move","question":qb,"after":Value::Null}))
        .await;
    let title = new_ref();
    m.ok(json!({"type":"session","title":title})).await;
    loop {
        let v = b.recv().await;
        if v["type"] == "session" {
            break;
        }
        assert_eq!(v["type"], "question", "{v}");
        view.apply(&v);
    }
    let mut local: Vec<(f64, String)> = view
        .questions
        .values()
        .map(|q| {
            (
                q["position"].as_f64().unwrap(),
                q["id"].as_str().unwrap().into(),
            )
        })
        .collect();
    local.sort_by(|x, y| x.0.total_cmp(&y.0));
    let local: Vec<String> = local.into_iter().map(|(_, id)| id).collect();
    let order = queue(&server, &s).await;
    assert_eq!(order[0], qb);
    assert_eq!(local, order);

    // Only approved questions move; `after` is required and must be approved.
    let p = a.ask("Masih menunggu").await;
    let e = m
        .err(
            json!({"type":"move","question":p,"after":Value::Null}),
            "conflict",
        )
        .await;
    assert_eq!(e["rev"], 1);
    m.err(json!({"type":"move","question":qa}), "invalid").await;
    m.err(json!({"type":"move","question":qa,"after":qa}), "invalid")
        .await;
    m.err(json!({"type":"move","question":qa,"after":p}), "conflict")
        .await;
}

#[tokio::test]
async fn assign_to_a_speaker_or_nobody() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let sp = speaker_ids(&m);
    let p = a.ask("Untuk siapa?").await;
    let (_, before) = act_ok(&mut m, json!({"type":"assign","question":p,"to":sp[0]})).await;
    let q = event_of(&before, &p);
    assert_eq!(q["to"], json!(sp[0]));
    let rev = q["rev"].as_u64().unwrap();
    assert_eq!(rev, 2);
    // The author sees it.
    let (ev, _) = a.until("question").await;
    assert_eq!(ev["question"]["to"], json!(sp[0]));

    m.ok(json!({"type":"approve","question":p})).await;
    let (_, before) = act_ok(
        &mut m,
        json!({"type":"assign","question":p,"to":sp[1],"rev":rev + 1}),
    )
    .await;
    assert_eq!(event_of(&before, &p)["to"], json!(sp[1]));
    m.ok(json!({"type":"live","question":p})).await;
    let (_, before) = act_ok(&mut m, json!({"type":"assign","question":p,"to":null})).await;
    assert_eq!(event_of(&before, &p)["to"], Value::Null);

    m.err(
        json!({"type":"assign","question":p,"to":"nobody"}),
        "invalid",
    )
    .await;
    m.ok(json!({"type":"answered","question":p})).await;
    m.err(json!({"type":"assign","question":p,"to":sp[0]}), "conflict")
        .await;
}

/// Waits until the moderator has seen `votes` counts equal to `want` (applying every frame).
async fn wait_counts(m: &mut Client, counts: &mut HashMap<String, u64>, want: &[(&str, u64)]) {
    while !want
        .iter()
        .all(|(id, n)| counts.get(*id).copied().unwrap_or(0) == *n)
    {
        let (v, _) = m.until("votes").await;
        for (id, n) in v["counts"].as_object().unwrap() {
            counts.insert(id.clone(), n.as_u64().unwrap());
        }
    }
}

#[tokio::test]
async fn merge_pools_votes_one_per_device() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let target = ask_approved(&mut m, &mut a, "Kapan jalan diperbaiki?").await;
    let dup = ask_approved(&mut m, &mut a, "Jalan rusak kapan dibenahi?").await;
    let mut d1 = Client::audience(&server, &s).await;
    let mut d2 = Client::audience(&server, &s).await;
    let mut d3 = Client::audience(&server, &s).await;
    for (c, qs) in [
        (&mut d1, vec![&target, &dup]),
        (&mut d2, vec![&target]),
        (&mut d3, vec![&dup]),
    ] {
        for q in qs {
            c.ok(json!({"type":"vote","question":q,"on":true})).await;
        }
    }
    let mut counts = HashMap::new();
    wait_counts(&mut m, &mut counts, &[(&target, 2), (&dup, 2)]).await;
    let target_rev = snapshot(&server, &s).await[&target]["rev"].clone();

    let (_, before) = act_ok(&mut m, json!({"type":"merge","question":dup,"into":target})).await;
    let q = event_of(&before, &dup);
    assert_eq!(q["status"], "merged");
    assert_eq!(q["merged_into"], json!(target));
    // Every device voting for either now votes for the target: d1 counts once.
    wait_counts(&mut m, &mut counts, &[(&target, 3)]).await;
    let snap = snapshot(&server, &s).await;
    assert_eq!(snap[&target]["votes"], 3);
    assert_eq!(snap[&target]["rev"], target_rev, "votes do not change rev");
    assert_eq!(snap[&dup]["status"], "merged");
    assert_eq!(snap[&dup]["merged_into"], json!(target));

    // The audience saw the merged question leave.
    let (ev, _) = d2.until("removed").await;
    assert_eq!(ev["id"], json!(dup));
    // d3's vote went with it.
    let dev3 = d3.device();
    drop(d3);
    let d3 = phone_with(&server, &s, &dev3).await;
    let votes: Vec<&str> = d3.welcome["you"]["votes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(votes.contains(&target.as_str()), "{}", d3.welcome);
    // d1 voting again for the target changes nothing.
    d1.ok(json!({"type":"vote","question":target,"on":true}))
        .await;
    assert_eq!(snapshot(&server, &s).await[&target]["votes"], 3);

    // Into itself: invalid. Into a pending question, or of a rejected one: conflict with the
    // rev of the command's own question.
    let other = ask_approved(&mut m, &mut a, "Lain").await;
    m.err(
        json!({"type":"merge","question":other,"into":other}),
        "invalid",
    )
    .await;
    let pending = a.ask("Menunggu").await;
    let e = m
        .err(
            json!({"type":"merge","question":other,"into":pending}),
            "conflict",
        )
        .await;
    assert_eq!(e["rev"], 2, "the rev of `question`, not of `into`: {e}");
    // Pending may be merged into live or answered.
    m.ok(json!({"type":"live","question":target})).await;
    let (_, before) = act_ok(
        &mut m,
        json!({"type":"merge","question":pending,"into":target}),
    )
    .await;
    assert_eq!(event_of(&before, &pending)["status"], "merged");
}

#[tokio::test]
async fn enter_an_operator_question_with_a_channel() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut m2 = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let sp = speaker_ids(&m);
    let r = new_ref();
    let cmd = json!({"type":"enter","ref":r,"text":"Penelepon dari Kertapati: kapan air bersih?",
        "name":"Pak Darto","channel":"phone","to":sp[0]});
    let (ok, before) = act_ok(&mut m, cmd.clone()).await;
    let q = &ok["question"];
    assert_eq!(q["source"], "operator");
    assert_eq!(q["channel"], "phone");
    assert_eq!(q["author"], Value::Null);
    assert_eq!(q["status"], "pending");
    assert_eq!(q["name"], "Pak Darto");
    assert_eq!(q["to"], json!(sp[0]));
    assert_eq!(q["outlet"], Value::Null);
    assert!(q["flags"].is_array(), "moderator view: {q}");
    assert_eq!(q["original_text"], Value::Null);
    let id = q["id"].as_str().unwrap().to_string();
    assert_eq!(event_of(&before, &id)["source"], "operator");
    let (ev, _) = m2.until("question").await;
    assert_eq!(ev["question"]["id"], json!(id));
    assert_eq!(ev["question"]["channel"], "phone");

    // Idempotent per ref, also from another moderator.
    let (again, before) = act_ok(&mut m2, cmd).await;
    assert_eq!(again["question"]["id"], json!(id));
    assert!(events_of(&before, &id).is_empty(), "{before:?}");
    m.err(
        json!({"type":"enter","ref":r,"text":"Teks lain","channel":"phone"}),
        "conflict",
    )
    .await;

    for ch in ["sms", "whatsapp", "radio", "room"] {
        let ok = m
            .ok(json!({"type":"enter","ref":new_ref(),"text":format!("Lewat {ch}"),"channel":ch}))
            .await;
        assert_eq!(ok["question"]["channel"], ch);
        assert_eq!(ok["question"]["name"], Value::Null);
    }
    m.err(
        json!({"type":"enter","ref":new_ref(),"text":"Tanpa kanal"}),
        "invalid",
    )
    .await;
    m.err(
        json!({"type":"enter","ref":new_ref(),"text":"Kanal aneh","channel":"pigeon"}),
        "invalid",
    )
    .await;
    // `ref` is required for enter (`call` always adds one, so send by hand).
    m.send(json!({"type":"enter","text":"Tanpa ref","channel":"sms"}))
        .await;
    let (e, before) = m.until("error").await;
    assert_eq!(e["code"], "invalid", "{e}");
    assert_eq!(e["ref"], Value::Null, "{e}");
    assert!(before.iter().all(|f| f["type"] != "ok"), "{before:?}");
    a.err(
        json!({"type":"enter","ref":new_ref(),"text":"Dari penonton","channel":"sms"}),
        "forbidden",
    )
    .await;
    // Ban of an operator entry: there is no device.
    m.err(json!({"type":"ban","question":id}), "invalid").await;
    // Approved, it reaches the audience like any other.
    m.ok(json!({"type":"approve","question":id})).await;
    let (ev, _) = a.until("question").await;
    assert_eq!(ev["question"]["source"], "operator");
    assert_eq!(ev["question"]["channel"], "phone");
}

fn assert_overlay_question(q: &Value, id: &str) {
    let keys: Vec<&str> = q.as_object().unwrap().keys().map(String::as_str).collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "air_text", "credit", "id", "name", "outlet", "source", "text", "to"
        ],
        "{q}"
    );
    assert_eq!(q["id"], json!(id));
}

#[tokio::test]
async fn overlay_take_and_clear() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut ov = Client::connect(
        &server,
        json!({"type":"hello","role":"overlay","session":s.id,"key":s.overlay}),
    )
    .await;
    assert_eq!(ov.welcome["overlay"]["visible"], false);
    assert_eq!(ov.welcome["overlay"]["question"], Value::Null);
    let qs = &ov.welcome["questions"];
    assert!(
        qs.is_null() || qs.as_array().is_some_and(Vec::is_empty),
        "{}",
        ov.welcome
    );

    // Nothing live: nothing to take.
    m.err(json!({"type":"overlay","visible":true}), "conflict")
        .await;
    let x = ask_approved(&mut m, &mut a, "Yang akan tayang").await;
    let y = ask_approved(&mut m, &mut a, "Berikutnya").await;
    m.ok(json!({"type":"live","question":x})).await;
    // Going live does not put it on air.
    let snapm = Client::moderator(&server, &s).await;
    assert_eq!(snapm.welcome["overlay"]["visible"], false);

    let (_, before) = act_ok(&mut m, json!({"type":"overlay","visible":true})).await;
    let f = before
        .iter()
        .rfind(|f| f["type"] == "overlay")
        .unwrap_or_else(|| panic!("no overlay event before ok: {before:?}"));
    assert_eq!(f["visible"], true);
    assert_overlay_question(&f["question"], &x);
    assert_eq!(f["question"]["text"], "Yang akan tayang");
    assert_eq!(f["question"]["source"], "audience");
    // The overlay role may have seen the live question arrive (still off air) first.
    let f = loop {
        let (f, _) = ov.until("overlay").await;
        if f["visible"] == true {
            break f;
        }
        assert_eq!(f["question"]["id"], json!(x), "{f}");
    };
    assert_overlay_question(&f["question"], &x);

    let (_, before) = act_ok(&mut m, json!({"type":"overlay","visible":false})).await;
    let f = before.iter().rfind(|f| f["type"] == "overlay").unwrap();
    assert_eq!(f["visible"], false);
    let (f, _) = ov.until("overlay").await;
    assert_eq!(f["visible"], false);

    // Take again, then `live` replaces the question: the overlay goes off by itself.
    m.ok(json!({"type":"overlay","visible":true})).await;
    let (f, _) = ov.until("overlay").await;
    assert_eq!(f["visible"], true);
    let (_, before) = act_ok(&mut m, json!({"type":"live","question":y})).await;
    let f = before.iter().rfind(|f| f["type"] == "overlay").unwrap();
    assert_eq!(
        f["visible"], false,
        "nothing reaches the air without a take: {f}"
    );
    let (f, _) = ov.until("overlay").await;
    assert_eq!(f["visible"], false);
    let fresh = Client::moderator(&server, &s).await;
    assert_eq!(fresh.welcome["overlay"]["visible"], false);
    assert_eq!(fresh.welcome["overlay"]["question"]["id"], json!(y));

    // Take, then answered: off, and no question.
    m.ok(json!({"type":"overlay","visible":true})).await;
    let (_, before) = act_ok(&mut m, json!({"type":"answered","question":y})).await;
    let f = before.iter().rfind(|f| f["type"] == "overlay").unwrap();
    assert_eq!(f["visible"], false);
    assert_eq!(f["question"], Value::Null);
    // The overlay role saw the take, then off with no question; it never gets questions.
    let (f, before) = ov.until("overlay").await;
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(f["visible"], true);
    assert_overlay_question(&f["question"], &y);
    let (f, before) = ov.until("overlay").await;
    assert!(before.is_empty(), "{before:?}");
    assert_eq!(f["visible"], false);
    assert_eq!(f["question"], Value::Null);
    m.err(json!({"type":"overlay","visible":true}), "conflict")
        .await;
    // The audience may not.
    a.err(json!({"type":"overlay","visible":true}), "forbidden")
        .await;
}

#[tokio::test]
async fn session_title_speakers_and_status() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let old = speaker_ids(&m);

    let (_, before) = act_ok(
        &mut m,
        json!({"type":"session","title":"  Diskusi #13: Air Bersih "}),
    )
    .await;
    let ev = before
        .iter()
        .find(|f| f["type"] == "session")
        .expect("session event before ok");
    assert_eq!(ev["session"]["title"], "Diskusi #13: Air Bersih");
    let (ev, _) = a.until("session").await;
    assert_eq!(ev["session"]["title"], "Diskusi #13: Air Bersih");
    assert_eq!(ev["session"]["id"], json!(s.id));
    assert_eq!(ev["session"]["code"], json!(s.code));

    let (_, before) = act_ok(
        &mut m,
        json!({"type":"session","speakers":[
            {"id":old[0],"name":"Drs Ratu Dewa MSi","role":"Sekretaris Daerah"},
            {"name":"Ir Budi","role":"Kepala PDAM"}]}),
    )
    .await;
    let ev = before.iter().find(|f| f["type"] == "session").unwrap();
    let sp = ev["session"]["speakers"].as_array().unwrap();
    assert_eq!(sp.len(), 2);
    assert_eq!(sp[0]["id"], json!(old[0]));
    assert_eq!(sp[1]["name"], "Ir Budi");
    assert_eq!(sp[1]["role"], "Kepala PDAM");
    let new_id = sp[1]["id"].as_str().expect("an id assigned by the hub");
    assert!(!new_id.is_empty());
    assert!(sp.iter().all(|x| x["id"].is_string()));
    let (ev, _) = a.until("session").await;
    assert_eq!(ev["session"]["speakers"], json!(sp));

    m.err(json!({"type":"session","title":""}), "invalid").await;
    m.err(json!({"type":"session","status":"frozen"}), "invalid")
        .await;
    m.err(
        json!({"type":"session","speakers":[{"name":"Tanpa jabatan"}]}),
        "invalid",
    )
    .await;

    // Paused: votes and moderation go on.
    let q = ask_approved(&mut m, &mut a, "Sebelum jeda").await;
    let p = a.ask("Akan tertutup").await;
    m.ok(json!({"type":"session","status":"paused"})).await;
    let (ev, _) = a.until("session").await;
    assert_eq!(ev["session"]["status"], "paused");
    a.ok(json!({"type":"vote","question":q,"on":true})).await;
    m.ok(json!({"type":"live","question":q})).await;

    // Closed: every change but `session` gets closed (before existence).
    let (_, before) = act_ok(&mut m, json!({"type":"session","status":"closed"})).await;
    assert_eq!(
        before.iter().find(|f| f["type"] == "session").unwrap()["session"]["status"],
        "closed"
    );
    m.err(json!({"type":"approve","question":p}), "closed")
        .await;
    m.err(json!({"type":"answered","question":q}), "closed")
        .await;
    m.err(
        json!({"type":"approve","question":uuid::Uuid::new_v4().to_string()}),
        "closed",
    )
    .await;
    m.err(
        json!({"type":"enter","ref":new_ref(),"text":"x","channel":"sms"}),
        "closed",
    )
    .await;
    for cmd in [
        json!({"type":"overlay","visible":true}),
        json!({"type":"ban","question":p}),
        json!({"type":"unban","question":p}),
        json!({"type":"requeue","question":q}),
        json!({"type":"assign","question":q,"to":null}),
        json!({"type":"edit","question":q,"text":"Saat tutup"}),
        json!({"type":"reject","question":q}),
    ] {
        m.err(cmd, "closed").await;
    }
    a.err(json!({"type":"vote","question":q,"on":false}), "closed")
        .await;
    a.err(json!({"type":"withdraw","question":p}), "closed")
        .await;
    a.err(
        json!({"type":"ask","ref":new_ref(),"text":"Saat tutup"}),
        "closed",
    )
    .await;
    // Title changes still work while closed; it may be reopened.
    m.ok(json!({"type":"session","title":"Ditutup"})).await;
    m.ok(json!({"type":"session","status":"open"})).await;
    m.ok(json!({"type":"approve","question":p})).await;
    // A fresh join sees the current session.
    let fresh = Client::audience(&server, &s).await;
    assert_eq!(fresh.welcome["session"]["title"], "Ditutup");
    assert_eq!(fresh.welcome["session"]["status"], "open");
    assert_eq!(fresh.welcome["session"]["speakers"], json!(sp));
}

#[tokio::test]
async fn ban_and_unban() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut m2 = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let mut other = Client::audience(&server, &s).await;
    let first = json!({"type":"ask","ref":new_ref(),"text":"Pertanyaan pertama"});
    let q1 = a.ok(first.clone()).await["question"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let q2 = ask_approved(&mut m, &mut a, "Pertanyaan kedua").await;
    let keep = other.ask("Dari orang lain").await;
    let snap = snapshot(&server, &s).await;
    sync(&mut m, &mut [&mut m2, &mut a, &mut other]).await;

    let (_, before) = act_ok(&mut m, json!({"type":"ban","question":q1,"rev":1})).await;
    for (id, q) in [(&q1, &snap[&q1]), (&q2, &snap[&q2])] {
        let ev = event_of(&before, id);
        assert_eq!(ev["banned"], true, "{ev}");
        assert_eq!(ev["rev"], q["rev"], "a ban does not change rev");
    }
    assert!(events_of(&before, &keep).is_empty());
    // The other moderator gets the same, and nothing else.
    let mut got = Vec::new();
    while got.len() < 2 {
        let v = m2.recv().await;
        assert_eq!(v["type"], "question", "{v}");
        assert_eq!(v["question"]["banned"], true);
        got.push(v["question"]["id"].as_str().unwrap().to_string());
    }
    got.sort();
    let mut want = vec![q1.clone(), q2.clone()];
    want.sort();
    assert_eq!(got, want);
    // Phones see nothing of it.
    barrier(&mut m, &mut [&mut m2, &mut a, &mut other]).await;

    a.err(
        json!({"type":"ask","ref":new_ref(),"text":"Masih boleh?"}),
        "banned",
    )
    .await;
    // Also after a reconnect with the device token.
    let dev = a.device();
    drop(a);
    let mut a = phone_with(&server, &s, &dev).await;
    a.err(
        json!({"type":"ask","ref":new_ref(),"text":"Sekarang?"}),
        "banned",
    )
    .await;
    // A retry of an ask from before the ban is not a new question: ok.
    let again = a.ok(first).await;
    assert_eq!(again["question"]["id"], json!(q1));
    other.ask("Orang lain masih boleh").await;

    let (_, before) = act_ok(&mut m, json!({"type":"unban","question":q2})).await;
    assert_eq!(event_of(&before, &q1)["banned"], false);
    assert_eq!(event_of(&before, &q2)["banned"], false);
    a.ask("Boleh lagi").await;
    let snap = snapshot(&server, &s).await;
    assert_eq!(snap[&q1]["banned"], false);
    assert_eq!(snap[&keep]["banned"], false);
    a.err(json!({"type":"ban","question":q1}), "forbidden")
        .await;
}

/// One question in each status; returns (status, id).
async fn one_of_each(m: &mut Client, a: &mut Client) -> Vec<(&'static str, String)> {
    let pending = a.ask("pending").await;
    let approved_ = ask_approved(m, a, "approved").await;
    let rejected = a.ask("rejected").await;
    m.ok(json!({"type":"reject","question":rejected})).await;
    let answered = ask_approved(m, a, "answered").await;
    m.ok(json!({"type":"live","question":answered})).await;
    m.ok(json!({"type":"answered","question":answered})).await;
    let live = ask_approved(m, a, "live").await;
    m.ok(json!({"type":"live","question":live})).await;
    let withdrawn = a.ask("withdrawn").await;
    a.ok(json!({"type":"withdraw","question":withdrawn})).await;
    let merged = ask_approved(m, a, "merged").await;
    m.ok(json!({"type":"merge","question":merged,"into":approved_}))
        .await;
    vec![
        ("pending", pending),
        ("approved", approved_),
        ("rejected", rejected),
        ("live", live),
        ("answered", answered),
        ("withdrawn", withdrawn),
        ("merged", merged),
    ]
}

#[tokio::test]
async fn forbidden_transitions_are_conflicts_with_the_current_rev() {
    // Seven questions from one phone: more than the default ask quota.
    let server = TestServer::start_with(&[("TANYA_ASKS_PER_MINUTE", "60")]);
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let qs = one_of_each(&mut m, &mut a).await;
    let sp = speaker_ids(&m);
    let snap = snapshot(&server, &s).await;
    for (st, id) in &qs {
        assert_eq!(snap[id]["status"], *st, "setup");
    }
    let target = &qs[1].1; // approved
    let pending = &qs[0].1;
    // the contract's (docs/protocol.md) status table: the statuses each command is allowed from.
    let table: &[(&str, &[&str])] = &[
        ("approve", &["pending", "rejected"]),
        ("reject", &["pending", "approved", "live"]),
        ("edit", &["pending", "approved", "live", "rejected"]),
        ("live", &["approved"]),
        ("answered", &["approved", "live"]),
        ("requeue", &["live", "answered"]),
        ("move", &["approved"]),
        ("assign", &["approved", "pending", "live"]),
        ("merge", &["pending", "approved"]),
    ];
    let mut checked = 0;
    for (cmd, allowed) in table {
        for (st, id) in &qs {
            if allowed.contains(st) {
                continue;
            }
            let mut c = json!({"type":cmd,"question":id});
            match *cmd {
                "edit" => c["text"] = json!("Teks baru"),
                "move" => c["after"] = Value::Null,
                "assign" => c["to"] = json!(sp[0]),
                "merge" => c["into"] = json!(target),
                _ => {}
            }
            if *cmd == "merge" && id == target {
                continue;
            }
            let e = m.err(c.clone(), "conflict").await;
            assert_eq!(e["rev"], snap[id]["rev"], "{c} on {st}: {e}");
            checked += 1;
        }
    }
    assert!(checked >= 35, "{checked}");
    // merge: `into` must be approved, live or answered.
    for (st, id) in &qs {
        if ["approved", "live", "answered"].contains(st) || id == pending {
            continue;
        }
        let c = json!({"type":"merge","question":pending,"into":id});
        let e = m.err(c.clone(), "conflict").await;
        assert_eq!(e["rev"], snap[pending]["rev"], "{c} into {st}: {e}");
    }
    // withdraw (by its author) and vote on:true.
    for (st, id) in &qs {
        if *st != "pending" {
            let e = a
                .err(json!({"type":"withdraw","question":id}), "conflict")
                .await;
            assert_eq!(e["rev"], snap[id]["rev"], "withdraw on {st}: {e}");
        }
        if ["pending", "rejected", "withdrawn", "merged"].contains(st) {
            let e = a
                .err(json!({"type":"vote","question":id,"on":true}), "conflict")
                .await;
            assert_eq!(e["rev"], snap[id]["rev"], "vote on {st}: {e}");
        }
        a.ok(json!({"type":"vote","question":id,"on":false})).await;
    }
    // A stale rev is a conflict before the status is looked at.
    for (st, id) in &qs {
        let rev = snap[id]["rev"].as_u64().unwrap();
        let e = m
            .err(
                json!({"type":"reject","question":id,"rev":rev + 7}),
                "conflict",
            )
            .await;
        assert_eq!(e["rev"], rev, "stale rev on {st}: {e}");
    }
    // Nothing changed.
    assert_eq!(snapshot(&server, &s).await, snap);
    // A question that does not exist is not_found.
    m.err(
        json!({"type":"approve","question":uuid::Uuid::new_v4().to_string()}),
        "not_found",
    )
    .await;
}

#[tokio::test]
async fn phones_may_not_moderate() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    let id = a.ask("Boleh saya setujui sendiri?").await;
    for cmd in [
        json!({"type":"approve","question":id}),
        json!({"type":"reject","question":id}),
        json!({"type":"edit","question":id,"text":"x"}),
        json!({"type":"live","question":id}),
        json!({"type":"answered","question":id}),
        json!({"type":"requeue","question":id}),
        json!({"type":"move","question":id,"after":null}),
        json!({"type":"assign","question":id,"to":null}),
        json!({"type":"merge","question":id,"into":id}),
        json!({"type":"session","title":"x"}),
        json!({"type":"ban","question":id}),
        json!({"type":"unban","question":id}),
    ] {
        a.err(cmd, "forbidden").await;
    }
}
