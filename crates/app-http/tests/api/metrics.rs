//! `GET /metrics`: requests by route pattern and status, webhooks by outcome, the background
//! workers' sends and closures, the send queue and the pool, and the optional bearer token.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use adapters_twilio::{TwilioConfig, TwilioGateway, compute_signature};
use app_http::workers::Workers;
use chrono::{DateTime, Utc};
use domain::SecretString;
use ports::Clock;
use serde_json::json;
use services::{EventRetention, LifecycleSweeper};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::*;
use crate::webhooks::{
    PUBLIC, dispatcher, form, inbound, post_signed, post_with_signature, register_account,
};

/// A scrape's samples: each series, named and labelled as exported, and its value.
#[derive(Debug)]
struct Samples(BTreeMap<String, f64>);

impl Samples {
    #[track_caller]
    fn value(&self, series: &str) -> f64 {
        *self.0.get(series).unwrap_or_else(|| panic!("no `{series}` in {:#?}", self.0.keys()))
    }

    fn has(&self, name: &str) -> bool {
        self.0.keys().any(|series| series.starts_with(name))
    }
}

fn parse(text: &str) -> Samples {
    let samples = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("not a sample: {line}"));
            (series.to_owned(), value.parse().unwrap_or_else(|e| panic!("{line}: {e}")))
        })
        .collect();
    Samples(samples)
}

async fn scrape(app: &TestApp) -> Samples {
    let response = app.get_anonymous("/metrics").await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.text());
    assert_eq!(
        response.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(response.text().ends_with("# EOF\n"), "{}", response.text());
    parse(&response.text())
}

fn requests(method: &str, route: &str, status: u16) -> String {
    format!(
        "conversa_http_request_duration_seconds_count{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}}"
    )
}

fn counter(name: &str, label: &str, value: &str) -> String {
    format!("conversa_{name}_total{{{label}=\"{value}\"}}")
}

#[actix_web::test]
async fn requests_are_counted_by_route_pattern_and_status() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let id = text(&app.conversation(&tenant.admin_key, 1).await["id"]);
    for _ in 0..2 {
        app.get(&format!("/api/v1/conversations/{id}"), &tenant.admin_key).await.expect(200);
    }
    let unknown = uuid::Uuid::now_v7();
    app.get(&format!("/api/v1/conversations/{unknown}"), &tenant.admin_key).await.problem(404, "not_found");
    app.get_anonymous("/api/v1/conversations").await.problem(401, "unauthorized");
    app.get_anonymous("/wp-login.php").await.problem(404, "not_found");
    app.get_anonymous("/api/v1/nothing/here").await.problem(404, "not_found");

    let samples = scrape(&app).await;
    let expected = [
        (requests("POST", "/api/v1/conversations", 201), 1.0),
        (requests("GET", "/api/v1/conversations/{id}", 200), 2.0),
        (requests("GET", "/api/v1/conversations/{id}", 404), 1.0),
        (requests("GET", "/api/v1/conversations", 401), 1.0),
        // Paths no route matches share one series: probes cannot add series.
        (requests("GET", "unmatched", 404), 2.0),
    ];
    for (series, value) in expected {
        assert_eq!(samples.value(&series), value, "{series}");
    }
    let bucket = "conversa_http_request_duration_seconds_bucket{le=\"+Inf\",method=\"GET\",\
                  route=\"/api/v1/conversations/{id}\",status=\"200\"}";
    assert_eq!(samples.value(bucket), 2.0);
    assert!(!samples.has(&requests("GET", "/metrics", 200)), "a scrape is recorded after it answers");

    let again = scrape(&app).await;
    assert_eq!(again.value(&requests("GET", "/metrics", 200)), 1.0);
    assert_eq!(again.value(&requests("GET", "/api/v1/conversations/{id}", 200)), 2.0);
}

#[actix_web::test]
async fn webhooks_are_counted_by_outcome() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    let twilio = register_account(&app, &tenant, 1).await;
    let inbound_path = "/webhooks/twilio/inbound";
    let first = inbound(&twilio, "SM0001", &customer(1), "Oi, meu pedido não chegou");
    post_signed(&app, inbound_path, &twilio.token, &first).await;
    post_signed(&app, inbound_path, &twilio.token, &first).await;
    let forged =
        compute_signature(&SecretString::new(auth_token(99)), &format!("{PUBLIC}{inbound_path}"), &first);
    post_with_signature(&app, inbound_path, &forged, &first).await.problem(403, "invalid_signature");
    let no_from = form(&[("AccountSid", &twilio.sid), ("MessageSid", "SM0002"), ("To", BUSINESS)]);
    post_signed(&app, inbound_path, &twilio.token, &no_from).await.invalid("From");
    let unknown_sid =
        form(&[("AccountSid", &twilio.sid), ("MessageSid", "SMnope"), ("MessageStatus", "sent")]);
    let status = post_signed(&app, "/webhooks/twilio/status", &twilio.token, &unknown_sid).await;
    assert_eq!(status.expect(200)["outcome"], "unknown_sid");

    let samples = scrape(&app).await;
    let expected = [
        (counter("inbound_webhooks", "outcome", "stored"), 1.0),
        (counter("inbound_webhooks", "outcome", "duplicate"), 1.0),
        (counter("inbound_webhooks", "outcome", "rejected"), 2.0),
        (counter("inbound_webhooks", "outcome", "failed"), 0.0),
        (counter("status_callbacks", "outcome", "unknown_sid"), 1.0),
        (counter("status_callbacks", "outcome", "advanced"), 0.0),
        // Detection ran on the stored message only, and the customer is still waiting.
        (counter("closure_detections", "result", "kept_open"), 1.0),
        (counter("closure_detections", "result", "closed"), 0.0),
        (requests("POST", inbound_path, 200), 2.0),
        (requests("POST", inbound_path, 403), 1.0),
        (requests("POST", inbound_path, 422), 1.0),
    ];
    for (series, value) in expected {
        assert_eq!(samples.value(&series), value, "{series}");
    }
}

#[actix_web::test]
async fn the_send_queue_and_the_pool_are_read_at_scrape_time() {
    let app = spawn_app().await;
    let empty = scrape(&app).await;
    assert_eq!(empty.value("conversa_send_queue_jobs{state=\"due\"}"), 0.0);
    assert_eq!(empty.value("conversa_send_queue_oldest_due_age_seconds"), 0.0);

    let tenant = app.tenant("acme").await;
    let conversation = text(&app.conversation(&tenant.admin_key, 1).await["id"]);
    app.message(&tenant.admin_key, &conversation, "Seu pedido saiu para entrega").await;

    let samples = scrape(&app).await;
    assert_eq!(samples.value("conversa_send_queue_jobs{state=\"due\"}"), 1.0, "the message waits to be sent");
    assert_eq!(samples.value("conversa_send_queue_jobs{state=\"deferred\"}"), 0.0);
    assert!(samples.value("conversa_send_queue_oldest_due_age_seconds") >= 0.0);
    assert_eq!(samples.value("conversa_db_pool_max_connections"), 16.0);
    assert_eq!(samples.value("conversa_db_pool_waiting"), 0.0);
    assert_eq!(samples.value("conversa_db_pool_connections{state=\"in_use\"}"), 0.0, "between requests");
    assert!(
        samples.value("conversa_db_pool_connections{state=\"idle\"}") >= 1.0,
        "the requests' connections"
    );
}

#[actix_web::test]
async fn a_scrape_answers_without_the_queue_when_the_database_does_not() {
    let app = spawn_app_without_database().await;
    let started = Instant::now();
    let samples = scrape(&app).await;
    assert!(started.elapsed() < Duration::from_secs(3), "the scrape took {:?}", started.elapsed());
    assert!(!samples.has("conversa_send_queue"), "no stale or made-up queue depth: {samples:#?}");
    assert_eq!(samples.value("conversa_db_pool_connections{state=\"in_use\"}"), 0.0);
    assert_eq!(samples.value(&counter("sends", "outcome", "sent")), 0.0);
}

#[actix_web::test]
async fn a_configured_token_is_required() {
    let app = spawn_app_with_metrics_token("s3cret-scrape-token").await;
    let problem = app.get_anonymous("/metrics").await.problem(401, "unauthorized");
    assert!(problem["detail"].as_str().unwrap().contains("metrics token"), "{problem}");
    app.get("/metrics", "s3cret-scrape-tokeN").await.problem(401, "unauthorized");
    app.get("/metrics", "s3cret").await.problem(401, "unauthorized");
    let response = app.get("/metrics", "s3cret-scrape-token").await;
    assert_eq!(response.status.as_u16(), 200, "{}", response.text());
    assert!(response.text().contains("conversa_inbound_webhooks_total"), "{}", response.text());
}

/// A clock a month ahead: every conversation opened now is past its expiry.
#[derive(Debug)]
struct NextMonth;

impl Clock for NextMonth {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::days(31)
    }
}

#[actix_web::test]
async fn the_workers_count_sends_and_sweeper_closures() {
    let app = spawn_app().await;
    let tenant = app.tenant("acme").await;
    register_account(&app, &tenant, 1).await;
    let conversation = text(&app.conversation(&tenant.admin_key, 1).await["id"]);
    app.message(&tenant.admin_key, &conversation, "Seu pedido saiu para entrega").await;
    let twilio = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SMout1", "status": "queued"})))
        .expect(1)
        .mount(&twilio)
        .await;
    let store = Arc::new(app.state.store.clone());
    let retention = EventRetention {
        log: store.clone(),
        clock: Arc::new(NextMonth),
        keep: chrono::Duration::days(7),
        batch_size: 100,
    };
    let gateway = TwilioGateway::new(&TwilioConfig { api_base_url: twilio.uri(), ..TwilioConfig::default() })
        .expect("a gateway");
    let sweeper = LifecycleSweeper {
        conversations: store.clone(),
        messages: store.clone(),
        features: store,
        clock: Arc::new(NextMonth),
        batch_size: 10,
    };
    let dispatcher = dispatcher(&app, gateway);
    let every = Duration::from_millis(50);
    let workers = Workers::start(sweeper, every, dispatcher, every, retention, app.state.metrics.clone());

    let (sent, expired) =
        (counter("sends", "outcome", "sent"), counter("sweeper_closures", "reason", "expired"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let samples = loop {
        let samples = scrape(&app).await;
        if (samples.value(&sent), samples.value(&expired)) == (1.0, 1.0) || Instant::now() > deadline {
            break samples;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    workers.shutdown().await;
    assert_eq!(samples.value(&sent), 1.0, "the message was sent once");
    assert_eq!(samples.value(&expired), 1.0, "the conversation expired");
    assert_eq!(samples.value(&counter("sweeper_closures", "reason", "idle_timeout")), 0.0);
    assert_eq!(samples.value(&counter("sends", "outcome", "failed")), 0.0);
    assert_eq!(samples.value(&counter("worker_failures", "worker", "dispatcher")), 0.0);
    assert_eq!(samples.value("conversa_send_queue_jobs{state=\"due\"}"), 0.0, "the queue drained");
}
