mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn smoke() {
    let server = TestServer::start();
    let s = server.demo_session().await;
    let mut m = Client::moderator(&server, &s).await;
    let mut a = Client::audience(&server, &s).await;
    let id = a.ask("Kapan jalan di Plaju diperbaiki?").await;
    let (q, _) = m.until("question").await;
    assert_eq!(q["question"]["id"], json!(id));
    m.ok(json!({"type":"approve","question":id,"rev":1})).await;
    let (q, _) = a.until("question").await;
    assert_eq!(q["question"]["status"], "approved");
}
