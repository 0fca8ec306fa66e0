//! Rate limits and send quotas (ADR 0020): 429 with the `RateLimit-*` headers and `Retry-After`
//! once a tenant passes its limit, while other tenants and Twilio's webhooks go through; a
//! tenant's `limits` feature applies without a restart; `GET /api/v1/usage`.

use std::time::{Duration, Instant};

use app_http::config::{Config, LimitSettings};
use serde_json::{Value, json};
use services::PutFeature;

use crate::support::*;
use crate::webhooks::{inbound, post_signed, register_account};

/// The test configuration with `limits`, and the tenant's overrides re-read every 50 ms.
async fn app_with(limits: impl FnOnce(LimitSettings) -> LimitSettings) -> TestApp {
    spawn_app_configured(|config| Config {
        limits: limits(LimitSettings { cache_ttl: Duration::from_millis(50), ..config.limits }),
        ..config
    })
    .await
}

/// The service's default rates (the test configuration raises them).
fn service_defaults(limits: LimitSettings) -> LimitSettings {
    let defaults = Config::default().limits;
    LimitSettings { cache_ttl: limits.cache_ttl, ..defaults }
}

/// A rate that refills one request a minute: a test never sees it refill.
fn slow(burst: u32) -> impl FnOnce(LimitSettings) -> LimitSettings {
    move |limits| LimitSettings { tenant_per_minute: 1, tenant_burst: burst, ..limits }
}

#[track_caller]
fn rate_headers(response: &Response) -> (u64, u64, u64) {
    let number = |name: &str| {
        response
            .header(name)
            .unwrap_or_else(|| panic!("no {name}: {:?}", response.headers))
            .parse::<u64>()
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    (number("ratelimit-limit"), number("ratelimit-remaining"), number("ratelimit-reset"))
}

/// Polls `GET path` until `done` holds for its answer, for at most 5 s.
async fn poll(app: &TestApp, path: &str, key: &str, done: impl Fn(&Response) -> bool) -> Response {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let response = app.get(path, key).await;
        if done(&response) {
            return response;
        }
        assert!(Instant::now() < deadline, "not within 5 s: {} {}", response.status, response.text());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn a_tenant_past_its_limit_gets_429_while_other_tenants_and_webhooks_go_through() {
    let app = app_with(slow(3)).await;
    let acme = app.tenant("acme").await;
    let beta = app.tenant("beta").await;
    let twilio = register_account(&app, &acme, 1).await; // the first of acme's three requests

    let mut remaining = Vec::new();
    for _ in 0..2 {
        let response = app.get("/api/v1/conversations", &acme.admin_key).await;
        response.expect(200);
        let (limit, left, reset) = rate_headers(&response);
        assert_eq!(limit, 3);
        assert!(reset > 0, "a used bucket refills in some seconds: {reset}");
        remaining.push(left);
    }
    assert_eq!(remaining, [1, 0], "every answer says what is left");

    let refused = app.get("/api/v1/conversations", &acme.admin_key).await;
    let problem = refused.problem(429, "rate_limited");
    assert!(problem["detail"].as_str().unwrap().contains("rate limit"), "{problem}");
    let retry_after: u64 = refused.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&retry_after), "one request back within a minute: {retry_after}");
    assert_eq!(rate_headers(&refused).1, 0);

    // Another tenant has its own bucket.
    let other = app.get("/api/v1/conversations", &beta.admin_key).await;
    other.expect(200);
    assert_eq!(rate_headers(&other).1, 2);
    // Twilio's webhooks are never limited (refusing one loses a customer's message), nor is
    // the health check, and neither says anything about limits.
    for n in 0..5 {
        let params = inbound(&twilio, &format!("SM{n:032x}"), &customer(n), "Oi");
        let stored = post_signed(&app, "/webhooks/twilio/inbound", &twilio.token, &params).await;
        assert_eq!(stored.status.as_u16(), 200, "{}", stored.text());
        assert_eq!(stored.header("ratelimit-limit"), None);
    }
    let health = app.get_anonymous("/health").await;
    assert_eq!((health.status.as_u16(), health.header("ratelimit-limit")), (200, None));
    app.get("/api/v1/conversations", &acme.admin_key).await.problem(429, "rate_limited");
}

#[actix_web::test]
async fn one_key_past_its_limit_leaves_the_tenants_other_keys_their_share() {
    let app = app_with(|limits| LimitSettings { key_per_minute: 1, key_burst: 2, ..limits }).await;
    let acme = app.tenant("acme").await;
    let agent = app.member(&acme, "agent").await; // two of the admin key's requests
    app.get("/api/v1/conversations", &acme.admin_key).await.problem(429, "rate_limited");
    let response = app.get("/api/v1/conversations", &agent.key).await;
    response.expect(200);
    // The key's bucket (2, one request a minute) is the tighter: one left, full again in 60 s.
    assert_eq!(rate_headers(&response), (2, 1, 60));
}

#[actix_web::test]
async fn an_override_applies_without_a_restart_whether_an_admin_or_the_operator_sets_it() {
    // The tenant's default limit, with keys that never get in the way.
    let app = app_with(|limits| LimitSettings {
        key_per_minute: 100_000,
        key_burst: 100_000,
        ..service_defaults(limits)
    })
    .await;
    let acme = app.tenant("acme").await;
    let first = app.get("/api/v1/conversations", &acme.admin_key).await;
    assert_eq!(rate_headers(&first).0, 100, "the configured default");

    // The tenant's admin lowers its own limit (admin only: an agent may not).
    let agent = app.member(&acme, "agent").await;
    let lower = json!({"enabled": true, "config": {"burst": 2, "requests_per_minute": 1}});
    app.put("/api/v1/features/limits", &agent.key, &lower).await.problem(403, "forbidden");
    let bad = json!({"enabled": true, "config": {"burst": 0}});
    app.put("/api/v1/features/limits", &acme.admin_key, &bad).await.invalid("config");
    app.put("/api/v1/features/limits", &acme.admin_key, &lower).await.expect(200);
    let refused = poll(&app, "/api/v1/conversations", &acme.admin_key, |r| r.status.as_u16() == 429).await;
    assert_eq!(rate_headers(&refused).0, 2);

    // The operator raises it again (what `conversa limits set` does), with no API call.
    let owner_id = app.state.tenants.authenticate(&acme.admin_key).await.unwrap().unwrap().owner_id;
    let raise = PutFeature { name: "limits".to_owned(), enabled: true, config: json!({"burst": 50}) };
    app.state.features.put_as_operator(owner_id, raise).await.unwrap();
    let served = poll(&app, "/api/v1/conversations", &acme.admin_key, |r| r.status.as_u16() == 200).await;
    assert_eq!(rate_headers(&served).0, 50);
}

fn usage_of(body: &Value) -> (u64, Value) {
    (body["sends_today"]["sent"].as_u64().unwrap(), body["sends_today"]["quota"].clone())
}

#[actix_web::test]
async fn a_send_past_the_days_quota_is_refused_with_its_reset_time_and_nothing_is_stored() {
    let app = app_with(|limits| LimitSettings { sends_per_day: Some(2), ..service_defaults(limits) }).await;
    let acme = app.tenant("acme").await;
    let viewer = app.member(&acme, "viewer").await;
    let conversation = text(&app.conversation(&acme.admin_key, 1).await["id"]);
    app.message(&acme.admin_key, &conversation, "primeira").await;
    app.message(&acme.admin_key, &conversation, "segunda").await;

    let path = format!("/api/v1/conversations/{conversation}/messages");
    let refused = app.post(&path, &acme.admin_key, &json!({"body": "terceira"})).await;
    let problem = refused.problem(429, "send_quota_exceeded");
    let resets_at: chrono::DateTime<chrono::Utc> = problem["resets_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(resets_at, domain::QuotaPeriod::Day.resets_at(chrono::Utc::now()), "{problem}");
    let retry_after: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    rate_headers(&refused);
    let messages = app.get(&path, &acme.admin_key).await.expect(200);
    assert_eq!(messages["items"].as_array().unwrap().len(), 2, "nothing stored: {messages}");

    // Any role reads the usage.
    let usage = app.get("/api/v1/usage", &viewer.key).await.expect(200);
    assert_eq!(usage_of(&usage), (2, json!(2)), "{usage}");
    assert_eq!(usage["sends_this_month"]["sent"], 2, "{usage}");
    assert_eq!(usage["sends_this_month"]["quota"], Value::Null, "unlimited by default: {usage}");
    assert_eq!(usage["rate_limit"], json!({"requests_per_minute": 600, "burst": 100}), "{usage}");

    // `null` lifts the quota: the next send goes through at once (quotas are read fresh).
    let unlimited = json!({"enabled": true, "config": {"sends_per_day": null}});
    app.put("/api/v1/features/limits", &acme.admin_key, &unlimited).await.expect(200);
    app.message(&acme.admin_key, &conversation, "terceira").await;
    let usage = app.get("/api/v1/usage", &viewer.key).await.expect(200);
    assert_eq!(usage_of(&usage), (3, Value::Null), "{usage}");
}
