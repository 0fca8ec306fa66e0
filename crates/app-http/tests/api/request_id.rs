//! Every response carries an `x-request-id`; a sane one sent by the caller is echoed.

use actix_web::test::TestRequest;
use serde_json::json;
use uuid::Uuid;

use crate::support::{Response, bearer, spawn_app};

#[track_caller]
fn generated_id(response: &Response) -> Uuid {
    let id = response.header("x-request-id").unwrap_or_else(|| panic!("no x-request-id: {response:?}"));
    Uuid::parse_str(id).unwrap_or_else(|e| panic!("not a generated id ({e}): {id}"))
}

#[actix_web::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let responses = [
        app.get_anonymous("/health").await,
        app.get_anonymous("/ready").await,
        app.get_anonymous("/openapi.json").await,
        app.get_anonymous("/docs").await,
        app.get_anonymous("/nowhere").await,
        app.get_anonymous("/api/v1/conversations").await,
        app.get("/api/v1/conversations", &key).await,
        app.get("/api/v1/conversations?limit=0", &key).await,
        app.post(
            "/api/v1/conversations",
            &key,
            &json!({"customer_phone": "+5511987600001", "business_phone": "+5511940000001"}),
        )
        .await,
        app.post_raw("/api/v1/conversations", &key, Some("application/json"), b"{").await,
    ];
    let statuses: Vec<u16> = responses.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 200, 200, 404, 401, 200, 422, 201, 400]);
    let mut seen: Vec<Uuid> = responses.iter().map(generated_id).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), responses.len(), "request ids repeat");
}

#[actix_web::test]
async fn a_sane_incoming_request_id_is_echoed_and_others_are_replaced() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    for sent in ["abc-123", "0190f3c4-0000-7000-8000-000000000000", &"a".repeat(64)] {
        let request = TestRequest::get().uri("/api/v1/conversations").insert_header(bearer(&key));
        let response = app.send(request.insert_header(("x-request-id", sent))).await;
        assert_eq!(response.status.as_u16(), 200);
        assert_eq!(response.header("x-request-id"), Some(sent));
    }
    // Echoed on errors too.
    let request =
        TestRequest::get().uri("/api/v1/conversations").insert_header(("x-request-id", "trace-401"));
    assert_eq!(app.send(request).await.header("x-request-id"), Some("trace-401"));

    for insane in ["has space", "semi;colon", "", &"a".repeat(65), "<script>"] {
        let request = TestRequest::get().uri("/health").insert_header(("x-request-id", insane));
        let response = app.send(request).await;
        assert_ne!(response.header("x-request-id"), Some(insane));
        generated_id(&response);
    }
}
