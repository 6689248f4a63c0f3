//! What the hub keeps on disk is readable by its own user alone: the database folder it creates
//! is 0700, and the database, its WAL and its shared-memory file are 0600 (they hold every key,
//! question and device of every session), also when the file was there before with a looser
//! mode.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::*;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn the_database_folder_and_files_are_private() {
    let base = tempfile::tempdir().unwrap();
    let folder = base.path().join("data").join("tanya");
    let db = folder.join("tanya.db");
    let url = format!("sqlite://{}", db.display());
    let server = TestServer::start_with(&[("TANYA_DATABASE", url.as_str())]);
    let s = server.demo_session().await;
    let mut a = Client::audience(&server, &s).await;
    a.ask("Apakah berkas basis data aman?").await;
    assert_eq!(mode(&base.path().join("data")), 0o700, "the folder it made");
    assert_eq!(mode(&folder), 0o700, "the folder it made");
    for f in ["tanya.db", "tanya.db-wal", "tanya.db-shm"] {
        assert_eq!(mode(&folder.join(f)), 0o600, "{f}");
    }
    drop(a);
    drop(server);

    // A database left world-readable by an earlier version is made private at start.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let server = TestServer::start_with(&[("TANYA_DATABASE", url.as_str())]);
    let (st, _, _) = http("GET", &server.http("/healthz"), None, None).await;
    assert_eq!(st, 200);
    assert_eq!(mode(&db), 0o600);
}
