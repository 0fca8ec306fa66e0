//! What the API answers when the store refuses or fails: a typed conflict that names what is
//! taken, never how the store keeps it; a bland 500 carrying only the request id; a 503 that
//! says when to try again.

use serde_json::{Value, json};

use crate::support::{Response, account_sid, auth_token, spawn_app, spawn_app_without_database};

/// Fragments of the store's own names: constraints, indexes, tables.
const STORE_NAMES: &[&str] =
    &["_key", "_idx", "_fkey", "_pkey", "_check", "constraint", "users", "twilio_accounts", "unique"];

#[track_caller]
fn assert_no_store_names(response: &Response) {
    let text = response.text();
    for name in STORE_NAMES {
        assert!(!text.contains(name), "`{name}` in {text}");
    }
}

#[actix_web::test]
async fn a_taken_email_is_email_taken_without_naming_the_constraint() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let bruno = json!({"name": "Bruno", "email": "bruno@acme.example", "role": "agent"});
    app.post("/api/v1/users", &key, &bruno).await.expect(201);

    let again = json!({"name": "Other Bruno", "email": "BRUNO@acme.example", "role": "viewer"});
    let response = app.post("/api/v1/users", &key, &again).await;
    let problem = response.problem(409, "email_taken");
    assert_eq!(problem["field"], "email", "{problem}");
    assert_eq!(problem["detail"], "this email address is already in use");
    assert_no_store_names(&response);
}

#[actix_web::test]
async fn a_registered_account_sid_is_account_sid_taken_for_any_tenant() {
    let app = spawn_app().await;
    let acme = app.tenant("acme").await.admin_key;
    let beta = app.tenant("beta").await.admin_key;
    let account = |token| json!({"account_sid": account_sid(7), "auth_token": auth_token(token), "phone_numbers": ["+14155550107"]});
    app.post("/api/v1/twilio-accounts", &acme, &account(1)).await.expect(201);

    for key in [&acme, &beta] {
        let response = app.post("/api/v1/twilio-accounts", key, &account(2)).await;
        let problem = response.problem(409, "account_sid_taken");
        assert_eq!(problem["field"], "account_sid", "{problem}");
        assert_no_store_names(&response);
    }
}

#[actix_web::test]
async fn a_number_of_another_account_of_the_tenant_is_number_taken() {
    let app = spawn_app().await;
    let acme = app.tenant("acme").await.admin_key;
    let account = |n| json!({"account_sid": account_sid(n), "auth_token": auth_token(n), "phone_numbers": ["+14155550107"]});
    app.post("/api/v1/twilio-accounts", &acme, &account(7)).await.expect(201);

    let response = app.post("/api/v1/twilio-accounts", &acme, &account(8)).await;
    let problem = response.problem(409, "number_taken");
    assert_eq!(problem["field"], "phone_numbers", "{problem}");
    assert_no_store_names(&response);
    // Another tenant may register the number on an account of its own.
    let beta = app.tenant("beta").await.admin_key;
    app.post("/api/v1/twilio-accounts", &beta, &account(9)).await.expect(201);
}

#[actix_web::test]
async fn an_internal_error_answers_only_the_request_id() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let bruno = json!({"name": "Bruno", "email": "bruno@acme.example", "role": "agent"});
    app.post("/api/v1/users", &key, &bruno).await.expect(201);
    // A manual edit the schema's check lets through and the domain cannot read back.
    app.execute_as_owner("UPDATE users SET email = 'bruno@intranet' WHERE email = 'bruno@acme.example'")
        .await;

    let response = app.get("/api/v1/users", &key).await;
    let problem = response.problem(500, "internal");
    let id = response.header("x-request-id").expect("a request id");
    assert_eq!(problem["request_id"], id, "{problem}");
    let mut members: Vec<&str> = problem.as_object().unwrap().keys().map(String::as_str).collect();
    members.sort_unstable();
    assert_eq!(members, ["code", "detail", "request_id", "status", "title", "type"], "{problem}");
    assert_eq!(
        problem["detail"],
        "something went wrong on our side; quote the request id when you report it"
    );
    for leak in ["bruno", "intranet", "email", "users", "stored data"] {
        assert!(!response.text().contains(leak), "`{leak}` in {problem}");
    }
}

#[actix_web::test]
async fn every_error_body_carries_the_request_id_of_its_header() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let responses = [
        app.get("/api/v1/conversations/not-an-id", &key).await,
        app.get_anonymous("/api/v1/conversations").await,
        app.get("/api/v1/conversations?limit=0", &key).await,
    ];
    for response in responses {
        let body: Value = response.json();
        assert_eq!(body["request_id"].as_str(), response.header("x-request-id"), "{body}");
    }
}

#[actix_web::test]
async fn a_503_says_when_to_try_again() {
    let app = spawn_app_without_database().await;
    let unavailable = app.get("/api/v1/conversations", "cnv_whatever").await;
    unavailable.problem(503, "unavailable");
    assert_eq!(unavailable.header("retry-after"), Some("5"));
    let not_ready = app.get_anonymous("/ready").await;
    not_ready.problem(503, "not_ready");
    assert_eq!(not_ready.header("retry-after"), Some("5"));
}

#[actix_web::test]
async fn a_served_path_with_a_wrong_method_is_405_naming_the_methods_it_has() {
    let app = spawn_app().await;
    let key = app.tenant("acme").await.admin_key;
    let response = app.delete("/api/v1/conversations", &key).await;
    let problem = response.problem(405, "method_not_allowed");
    assert_eq!(response.header("allow"), Some("GET, POST"), "{problem}");
    assert_eq!(problem["detail"], "DELETE is not served here; GET, POST are");

    // A path with a parameter, and one served outside /api/v1; no credentials are needed to
    // learn which methods a path has.
    let id = "0190f3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d";
    let response = app.put(&format!("/api/v1/twilio-accounts/{id}"), &key, &json!({})).await;
    response.problem(405, "method_not_allowed");
    assert_eq!(response.header("allow"), Some("DELETE, GET, PATCH"));
    let response = app.send(actix_web::test::TestRequest::post().uri("/health")).await;
    response.problem(405, "method_not_allowed");
    assert_eq!(response.header("allow"), Some("GET"));

    // A path no route serves stays 404, whatever the method.
    let response = app.delete("/api/v1/nothing", &key).await;
    response.problem(404, "not_found");
    assert_eq!(response.header("allow"), None);
}
