//! Webhook endpoints over the API: an admin registers one (its secret shown once), lists,
//! reads, changes, rotates and deletes it; URLs that are not https or whose host is not public
//! are refused with 422 (the private-targets flag is off here, as by default); another tenant
//! gets 404 for all of it, and viewers and agents get 403.

use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app, text};

const UNKNOWN: &str = "0190f3c4-0000-7000-8000-000000000000";
/// A public literal address: registering it needs no DNS (nothing is delivered in these tests).
const PUBLIC_URL: &str = "https://93.184.215.14/hooks/conversa";

fn path(endpoint: &Value) -> String {
    format!("/api/v1/webhook-endpoints/{}", text(&endpoint["id"]))
}

async fn register(app: &TestApp, key: &str) -> Value {
    let body = json!({"url": PUBLIC_URL, "events": ["message.created"], "description": "CRM"});
    app.post("/api/v1/webhook-endpoints", key, &body).await.expect(201)
}

#[actix_web::test]
async fn an_admin_registers_lists_changes_rotates_and_deletes_an_endpoint() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let key = &tenant.admin_key;
    let created = register(&app, key).await;
    let secret = text(&created["secret"]);
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{created}");
    assert_eq!(
        (created["enabled"].clone(), created["events"].clone()),
        (json!(true), json!(["message.created"]))
    );

    let listed = app.get("/api/v1/webhook-endpoints", key).await;
    assert!(!listed.text().contains(&secret), "the secret is shown once");
    let listed = listed.expect(200);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["next_cursor"], Value::Null);
    let one = app.get(&path(&created), key).await.expect(200);
    assert_eq!(one["url"], PUBLIC_URL);
    assert!(one.get("secret").is_none(), "{one}");

    let changed = app
        .patch(&path(&created), key, &json!({"events": [], "description": null, "enabled": false}))
        .await
        .expect(200);
    assert_eq!(
        (changed["events"].clone(), changed["description"].clone(), changed["enabled"].clone()),
        (json!([]), Value::Null, json!(false))
    );
    app.patch(&path(&created), key, &json!({"enabled": null})).await.invalid("enabled");
    let enabled = app.patch(&path(&created), key, &json!({"enabled": true})).await.expect(200);
    assert_eq!((enabled["enabled"].clone(), enabled["disabled_reason"].clone()), (json!(true), Value::Null));

    let rotated = app.post(&format!("{}/rotate-secret", path(&created)), key, &json!({})).await.expect(200);
    assert_ne!(text(&rotated["secret"]), secret);
    assert!(rotated["previous_secret_expires_at"].is_string(), "{rotated}");

    let deliveries = app.get(&format!("{}/deliveries", path(&created)), key).await.expect(200);
    assert_eq!(deliveries["items"], json!([]));
    let retry = format!("{}/deliveries/{UNKNOWN}/retry", path(&created));
    app.post(&retry, key, &json!({})).await.problem(404, "not_found");

    assert_eq!(app.delete(&path(&created), key).await.status, 204);
    app.get(&path(&created), key).await.problem(404, "not_found");
    app.delete(&path(&created), key).await.problem(404, "not_found");
}

#[actix_web::test]
async fn urls_that_are_not_https_or_not_public_and_unknown_types_are_refused() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let key = &tenant.admin_key;
    let long = format!("https://crm.example/{}", "a".repeat(2048));
    let refused = [
        "http://93.184.215.14/hooks",
        "ftp://crm.example/hooks",
        "not a url",
        long.as_str(),
        "https://127.0.0.1/hooks",
        "http://127.0.0.1/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
        "http://10.0.0.1/hooks",
        "http://localhost/hooks",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hooks",
        "https://10.0.0.1/hooks",
        "https://[::ffff:127.0.0.1]/hooks",
        "https://localhost/hooks",
        "https://user:pw@93.184.215.14/hooks",
    ];
    for url in refused {
        let response = app.post("/api/v1/webhook-endpoints", key, &json!({"url": url})).await;
        let problem = response.invalid("url");
        assert!(!problem.to_string().contains("internal"), "{url}: {problem}");
    }
    let private = app
        .post("/api/v1/webhook-endpoints", key, &json!({"url": "https://localhost/x"}))
        .await
        .invalid("url");
    assert!(text(&problem_detail(&private)).contains("not a public address"), "{private}");

    let unknown = json!({"url": PUBLIC_URL, "events": ["message.deleted"]});
    app.post("/api/v1/webhook-endpoints", key, &unknown).await.invalid("events");
    let long_label = json!({"url": PUBLIC_URL, "description": "x".repeat(501)});
    app.post("/api/v1/webhook-endpoints", key, &long_label).await.invalid("description");
    let extra = json!({"url": PUBLIC_URL, "secret": "mine"});
    assert_eq!(app.post("/api/v1/webhook-endpoints", key, &extra).await.status, 422);
    let endpoint = register(&app, key).await;
    app.patch(&path(&endpoint), key, &json!({"url": "https://10.1.2.3/x"})).await.invalid("url");
    let listed = app.get("/api/v1/webhook-endpoints", key).await.expect(200);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "nothing refused was stored");
}

fn problem_detail(problem: &Value) -> Value {
    problem["detail"].clone()
}

#[actix_web::test]
async fn another_tenant_gets_404_and_viewers_and_agents_get_403() {
    let app = spawn_app().await;
    let (a, b) = (app.tenant("a").await, app.tenant("b").await);
    let endpoint = register(&app, &a.admin_key).await;
    let mine = path(&endpoint);
    let foreign_routes = [
        ("GET", mine.clone()),
        ("PATCH", mine.clone()),
        ("DELETE", mine.clone()),
        ("POST", format!("{mine}/rotate-secret")),
        ("GET", format!("{mine}/deliveries")),
        ("POST", format!("{mine}/deliveries/{UNKNOWN}/retry")),
    ];
    for (method, route) in &foreign_routes {
        call(&app, method, route, &b.admin_key).await.problem(404, "not_found");
    }
    let listed = app.get("/api/v1/webhook-endpoints", &b.admin_key).await.expect(200);
    assert_eq!(listed["items"], json!([]), "a tenant lists only its own");

    for role in ["viewer", "agent"] {
        let member = app.member(&a, role).await;
        call(&app, "POST", "/api/v1/webhook-endpoints", &member.key).await.problem(403, "forbidden");
        call(&app, "GET", "/api/v1/webhook-endpoints", &member.key).await.problem(403, "forbidden");
        for (method, route) in &foreign_routes {
            call(&app, method, route, &member.key).await.problem(403, "forbidden");
        }
    }
    // Still there, unchanged, for its own admin.
    assert_eq!(app.get(&mine, &a.admin_key).await.expect(200)["url"], endpoint["url"]);
}

async fn call(app: &TestApp, method: &str, route: &str, key: &str) -> crate::support::Response {
    match method {
        "GET" => app.get(route, key).await,
        "PATCH" => app.patch(route, key, &json!({"description": "x"})).await,
        "DELETE" => app.delete(route, key).await,
        _ => app.post(route, key, &json!({"url": PUBLIC_URL})).await,
    }
}
