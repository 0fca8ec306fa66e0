//! Liveness, readiness, the OpenAPI document and the Swagger UI.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{spawn_app, spawn_app_without_database};

#[actix_web::test]
async fn health_endpoints_answer_ok() {
    let app = spawn_app().await;
    let health = app.get_anonymous("/health").await.expect(200);
    assert_eq!(health, json!({"status": "ok"}));
    let twilio = app.get_anonymous("/webhooks/twilio/health").await.expect(200);
    assert_eq!(twilio["status"], "ok");
    assert_eq!(twilio["service"], "twilio-webhooks");
}

#[actix_web::test]
async fn ready_when_the_database_answers() {
    let app = spawn_app().await;
    let ready = app.get_anonymous("/ready").await.expect(200);
    assert_eq!(ready, json!({"status": "ready"}));
}

#[actix_web::test]
async fn not_ready_and_unavailable_when_the_database_does_not_answer() {
    let app = spawn_app_without_database().await;
    let started = Instant::now();
    let problem = app.get_anonymous("/ready").await.problem(503, "not_ready");
    assert!(problem["detail"].as_str().unwrap().contains("database"), "{problem}");
    assert!(started.elapsed() < Duration::from_secs(3), "readiness took {:?}", started.elapsed());
    // Liveness does not depend on the database.
    app.get_anonymous("/health").await.expect(200);
    // Authentication needs the database: an API call answers 503, not 401 or 500.
    let problem = app.get("/api/v1/conversations", "cnv_whatever").await.problem(503, "unavailable");
    assert_eq!(problem["detail"], "try again shortly", "no internals leak: {problem}");
}

/// Every route of `server::routes` under `/api/v1`, with its methods.
const API_PATHS: &[(&str, &[&str])] = &[
    ("/api/v1/conversations", &["get", "post"]),
    ("/api/v1/conversations/{id}", &["get"]),
    ("/api/v1/conversations/{id}/close", &["post"]),
    ("/api/v1/conversations/{id}/extend", &["post"]),
    ("/api/v1/conversations/{id}/messages", &["get", "post"]),
    ("/api/v1/messages/{id}", &["get"]),
    ("/api/v1/messages/{id}/ai-results", &["get", "post"]),
    ("/api/v1/users", &["get", "post"]),
    ("/api/v1/users/{id}", &["get"]),
    ("/api/v1/api-keys", &["get", "post"]),
    ("/api/v1/api-keys/{id}/revoke", &["post"]),
    ("/api/v1/features", &["get"]),
    ("/api/v1/features/{name}", &["get", "put"]),
    ("/api/v1/features/{name}/enabled", &["post"]),
    ("/api/v1/twilio-accounts", &["get", "post"]),
    ("/api/v1/twilio-accounts/{id}", &["get", "patch", "delete"]),
    ("/api/v1/events", &["get"]),
    ("/api/v1/usage", &["get"]),
    ("/api/v1/webhook-endpoints", &["get", "post"]),
    ("/api/v1/webhook-endpoints/{id}", &["get", "patch", "delete"]),
    ("/api/v1/webhook-endpoints/{id}/rotate-secret", &["post"]),
    ("/api/v1/webhook-endpoints/{id}/deliveries", &["get"]),
    ("/api/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry", &["post"]),
];

#[actix_web::test]
async fn openapi_describes_every_route_and_the_bearer_scheme() {
    let app = spawn_app().await;
    let response = app.get_anonymous("/openapi.json").await;
    assert!(response.header("content-type").unwrap().starts_with("application/json"));
    let doc = response.expect(200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "Conversa API");

    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in API_PATHS {
        let item = paths.get(*path).unwrap_or_else(|| panic!("{path} is not documented"));
        for method in *methods {
            let operation = &item[*method];
            assert!(operation.is_object(), "{method} {path} is not documented");
            assert_eq!(operation["security"], json!([{"api_key": []}]), "{method} {path}");
            assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
        }
    }
    let api_paths = paths.keys().filter(|p| p.starts_with("/api/v1")).count();
    assert_eq!(api_paths, API_PATHS.len(), "undocumented or stray paths: {:?}", paths.keys());
    for path in ["/health", "/ready", "/webhooks/twilio/health", "/metrics"] {
        assert!(paths[path]["get"].is_object(), "{path} is not documented");
    }

    // The document served is the one collected from the server's registration.
    assert_eq!(doc, app_http::server::document());

    let scheme = &doc["components"]["securitySchemes"]["api_key"];
    assert_eq!(scheme["type"], "http", "{scheme}");
    assert_eq!(scheme["scheme"], "bearer", "{scheme}");
}

/// A schema's example, however the generator spells it (`example` or `examples`).
fn example(schema: &Value) -> Option<&Value> {
    schema.get("example").or_else(|| schema.get("examples").and_then(|e| e.get(0)))
}

#[actix_web::test]
async fn openapi_schemas_carry_their_declared_examples() {
    let app = spawn_app().await;
    let doc = app.get_anonymous("/openapi.json").await.expect(200);
    let schemas = &doc["components"]["schemas"];
    let whole = [
        ("Problem", "code", json!("invalid_input")),
        ("CreateConversationIn", "customer_phone", json!("+5511987650001")),
        ("CloseIn", "status", json!("agent_closed")),
        ("ExtendIn", "seconds", json!(3600)),
        ("AddMessageIn", "body", json!("Your order ships today!")),
        ("AddAiResultIn", "kind", json!("sentiment")),
        ("CreateUserIn", "role", json!("agent")),
        ("PutFeatureIn", "config", json!({"threshold": 0.7})),
        ("CreateTwilioAccountIn", "account_sid", json!("AC0123456789abcdef0123456789abcdef")),
    ];
    for (name, member, expected) in whole {
        let schema = &schemas[name];
        assert!(schema.is_object(), "schema {name} is missing");
        let found = example(schema).unwrap_or_else(|| panic!("{name} has no example: {schema}"));
        assert_eq!(found[member], expected, "{name}: {found}");
    }
    let fields = [
        ("ConversationOut", "channel", json!("whatsapp")),
        ("MessageOut", "delivery_status", json!("queued")),
        ("ApiKeyOut", "prefix", json!("cnv_3f9a1c2b")),
        ("FeatureOut", "config", json!({"threshold": 0.7})),
        ("TwilioAccountOut", "account_sid", json!("AC0123456789abcdef0123456789abcdef")),
        ("CreateApiKeyIn", "name", json!("crm integration")),
    ];
    for (name, field, expected) in fields {
        let property = &schemas[name]["properties"][field];
        let found = example(property).unwrap_or_else(|| panic!("{name}.{field} has no example: {property}"));
        assert_eq!(found, &expected, "{name}.{field}");
    }
    let responses = [("/health", "ok"), ("/ready", "ready"), ("/webhooks/twilio/health", "ok")];
    for (path, status) in responses {
        let content = &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"];
        assert_eq!(content["example"], json!({"status": status}), "{path}: {content}");
    }
    // Examples are valid inputs, not placeholders: the documented request is accepted.
    let documented = example(&schemas["CreateConversationIn"]).unwrap().clone();
    let admin = app.tenant("docs").await.admin_key;
    app.post("/api/v1/conversations", &admin, &documented).await.expect(201);
}

#[actix_web::test]
async fn swagger_ui_is_served_from_local_assets() {
    let app = spawn_app().await;
    let page = app.get_anonymous("/docs").await;
    assert_eq!(page.status.as_u16(), 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let html = page.text();
    for reference in ["/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css", "/openapi.json"] {
        assert!(html.contains(reference), "the page does not reference {reference}");
    }
    assert!(!html.contains("://"), "the page references another origin: {html}");

    let bundle = app.get_anonymous("/docs/swagger-ui-bundle.js").await;
    assert_eq!(bundle.status.as_u16(), 200);
    assert_eq!(bundle.header("content-type"), Some("application/javascript"));
    assert!(bundle.body.len() > 100_000, "the bundle is {} bytes", bundle.body.len());
    assert!(bundle.text().contains("SwaggerUIBundle"));

    let css = app.get_anonymous("/docs/swagger-ui.css").await;
    assert_eq!(css.status.as_u16(), 200);
    assert_eq!(css.header("content-type"), Some("text/css"));
    assert!(css.text().contains(".swagger-ui"));
}

#[actix_web::test]
async fn unknown_paths_are_problem_404s() {
    let app = spawn_app().await;
    app.get_anonymous("/nope").await.problem(404, "not_found");
    app.get_anonymous("/api/v2/conversations").await.problem(404, "not_found");
}
