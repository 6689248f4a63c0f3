//! One client must not lock everyone out by holding sockets: the hub raises its soft limit of
//! open files to the hard limit at start and says so, so a hub started with a soft limit of 256
//! still answers `/healthz` and lets the moderator in while 400 silent connections are held.

use std::time::Duration;

use crate::common::*;

#[tokio::test]
async fn a_low_soft_limit_of_open_files_is_raised_at_start() {
    let _load = loads_the_machine();
    let server = TestServer::start_with_open_files(256);
    let lines = server.stderr.lock().unwrap().clone();
    let hard = rlimit_hard();
    let want = format!("open files: soft limit raised from 256 to {hard}");
    assert!(
        lines.iter().any(|l| l == &want),
        "a line {want:?} in {lines:?}"
    );
    let s = server.demo_session().await;
    // More silent connections than the soft limit it was started with.
    let mut silent = Vec::new();
    for _ in 0..400 {
        silent.push(tokio::net::TcpStream::connect(&server.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (st, _, body) = http("GET", &server.http("/healthz"), None, None).await;
    assert_eq!(st, 200, "{body}");
    let m = Client::moderator(&server, &s).await;
    assert_eq!(m.welcome["type"], "welcome");
    drop(silent);
}

/// The hard limit of open files of this process (the hub inherits it).
fn rlimit_hard() -> u64 {
    let out = std::process::Command::new("prlimit")
        .args(["--nofile", "--output=HARD", "--noheadings"])
        .output()
        .expect("prlimit");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
