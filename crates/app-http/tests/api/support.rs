//! The application under test: the real actix-web app (`server::app`) wired by
//! `wiring::app_state` to a store over a fresh database, called in-process the way a client
//! calls it, plus tenants, users and keys created the way an operator and an admin create them.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use actix_web::test::{self, TestRequest};
use actix_web::web::{self, Bytes};
use app_http::config::{
    Config, DatabaseSettings, LimitSettings, MetricsSettings, TwilioSettings, WebhookSettings,
};
use app_http::state::AppState;
use app_http::{server, wiring};
use domain::SecretString;
use serde_json::{Value, json};
use services::NewOwnerRequest;
use tempfile::TempDir;
use test_db::TestDb;

/// The token encryption key of every test store.
pub const CIPHER_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// The body limit of [`spawn_app`] (the service's default).
pub const BODY_LIMIT: usize = 64 * 1024;

/// The business number conversations are opened on (SMS).
pub const BUSINESS: &str = "+5511940000001";

/// The `n`-th customer number.
pub fn customer(n: usize) -> String {
    format!("+55119876{n:05}")
}

/// An Account SID made of `n` (`AC` and 32 hex digits).
pub fn account_sid(n: u32) -> String {
    format!("AC{n:032x}")
}

/// An auth token made of `n` (32 hex digits).
pub fn auth_token(n: u32) -> String {
    format!("{:032x}", 0xabcd_0000_u64 + u64::from(n))
}

/// A response, read whole.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Response {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }

    /// Asserts the status and returns the JSON body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text());
        self.json()
    }

    /// Asserts an `application/problem+json` answer with this status and code, with every
    /// member of a problem, and returns it.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) -> Value {
        let body = self.expect(status);
        assert_eq!(self.header("content-type"), Some("application/problem+json"), "{body}");
        assert_eq!(body["status"], json!(status), "{body}");
        assert_eq!(body["code"], json!(code), "{body}");
        assert_eq!(body["type"], json!(format!("https://conversa.dev/problems/{code}")), "{body}");
        for member in ["title", "detail"] {
            assert!(body[member].as_str().is_some_and(|s| !s.is_empty()), "no `{member}`: {body}");
        }
        body
    }

    /// Asserts a 422 naming `field` and returns the problem.
    #[track_caller]
    pub fn invalid(&self, field: &str) -> Value {
        let body = self.problem(422, "invalid_input");
        assert_eq!(body["field"], json!(field), "{body}");
        body
    }
}

type Call = Box<dyn Fn(TestRequest) -> Pin<Box<dyn Future<Output = Response>>>>;

/// The running application.
pub struct TestApp {
    call: Call,
    pub state: web::Data<AppState>,
    /// The app's database (it lives as long as the app); `None` for an unreachable store.
    db: Option<TestDb>,
    /// The spool's directory, removed with the app.
    _spool_dir: TempDir,
}

/// The application over a fresh database with the default body limit.
pub async fn spawn_app() -> TestApp {
    spawn_app_with_limit(BODY_LIMIT).await
}

/// The application over a fresh database with a body limit of `limit` bytes.
pub async fn spawn_app_with_limit(limit: usize) -> TestApp {
    let db = TestDb::new().await;
    let (state, spool_dir) = state(|spool_dir| config(&db.app_url(), spool_dir));
    build(state, spool_dir, limit, Some(db)).await
}

/// The application over a fresh database with the test configuration changed by `change`.
pub async fn spawn_app_configured(change: impl FnOnce(Config) -> Config) -> TestApp {
    let db = TestDb::new().await;
    let (state, spool_dir) = state(|spool_dir| change(config(&db.app_url(), spool_dir)));
    build(state, spool_dir, BODY_LIMIT, Some(db)).await
}

/// The application over a fresh database whose `GET /metrics` requires `token`.
pub async fn spawn_app_with_metrics_token(token: &str) -> TestApp {
    let db = TestDb::new().await;
    let (state, spool_dir) = state(|spool_dir| Config {
        metrics: MetricsSettings { token: Some(SecretString::new(token)) },
        ..config(&db.app_url(), spool_dir)
    });
    build(state, spool_dir, BODY_LIMIT, Some(db)).await
}

/// The application over a store whose database does not answer (nothing listens on port 1).
pub async fn spawn_app_without_database() -> TestApp {
    let (state, spool_dir) = state(|spool_dir| {
        let config = config("postgres://conversa_app@127.0.0.1:1/conversa", spool_dir);
        Config {
            database: DatabaseSettings {
                acquire_timeout: Duration::from_millis(300),
                connect_timeout: Duration::from_millis(300),
                ..config.database
            },
            ..config
        }
    });
    build(state, spool_dir, BODY_LIMIT, None).await
}

/// The service's defaults, but the application role's URL `app_url`, the test cipher key and a
/// small spool in `spool_dir`.
fn config(app_url: &str, spool_dir: &Path) -> Config {
    let defaults = Config::default();
    Config {
        database: DatabaseSettings {
            app_url: Some(SecretString::new(app_url)),
            // Not the service's 2 s: a test machine running several builds can be that slow.
            acquire_timeout: Duration::from_secs(5),
            ..defaults.database
        },
        twilio: TwilioSettings { token_encryption_key: SecretString::new(CIPHER_KEY), ..defaults.twilio },
        webhooks: WebhookSettings {
            spool_dir: spool_dir.to_owned(),
            spool_max_bytes: 16 * 1024 * 1024,
            ..defaults.webhooks
        },
        // Tests make requests faster than any client should; the limits' own tests set theirs.
        limits: LimitSettings {
            tenant_per_minute: 100_000,
            tenant_burst: 100_000,
            key_per_minute: 100_000,
            key_burst: 100_000,
            ..defaults.limits
        },
        ..defaults
    }
}

/// The app's state, wired as `serve` wires it, for the configuration `config` makes with a spool
/// directory of its own (removed with the app).
fn state(config: impl FnOnce(&Path) -> Config) -> (AppState, TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = config(dir.path());
    let store = wiring::store(&config).expect("the test configuration wires");
    let spool = wiring::spool(&config).expect("the spool opens");
    (wiring::app_state(&config, store, Arc::new(spool)).expect("the state wires"), dir)
}

async fn build(state: AppState, spool_dir: TempDir, limit: usize, db: Option<TestDb>) -> TestApp {
    let state = web::Data::new(state);
    let service = Rc::new(test::init_service(server::app(state.clone(), limit)).await);
    let call: Call = Box::new(move |request: TestRequest| {
        let service = Rc::clone(&service);
        Box::pin(async move {
            let response = test::call_service(&*service, request.to_request()).await;
            let status = response.status();
            let headers = response.headers().clone();
            Response { status, headers, body: test::read_body(response).await }
        })
    });
    TestApp { call, state, db, _spool_dir: spool_dir }
}

/// A tenant made by an operator: its admin and the admin's first key.
#[derive(Debug, Clone)]
pub struct Tenant {
    pub admin_id: String,
    pub admin_key_id: String,
    pub admin_key: String,
}

/// A user of a tenant with an API key, made through the API.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: String,
    pub key_id: String,
    pub key: String,
}

impl TestApp {
    /// Sends a request as is.
    pub async fn send(&self, request: TestRequest) -> Response {
        (self.call)(request).await
    }

    /// Runs `sql` on the app's database as its owner, behind the service's back.
    pub async fn execute_as_owner(&self, sql: &str) {
        self.db.as_ref().expect("an app with a database").execute(sql).await;
    }

    /// `GET path` without credentials.
    pub async fn get_anonymous(&self, path: &str) -> Response {
        self.send(TestRequest::get().uri(path)).await
    }

    /// `GET path` with `key`.
    pub async fn get(&self, path: &str, key: &str) -> Response {
        self.send(TestRequest::get().uri(path).insert_header(bearer(key))).await
    }

    /// `POST path` with `key` and a JSON body.
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Response {
        self.send(TestRequest::post().uri(path).insert_header(bearer(key)).set_json(body)).await
    }

    /// `PUT path` with `key` and a JSON body.
    pub async fn put(&self, path: &str, key: &str, body: &Value) -> Response {
        self.send(TestRequest::put().uri(path).insert_header(bearer(key)).set_json(body)).await
    }

    /// `PATCH path` with `key` and a JSON body.
    pub async fn patch(&self, path: &str, key: &str, body: &Value) -> Response {
        self.send(TestRequest::patch().uri(path).insert_header(bearer(key)).set_json(body)).await
    }

    /// `DELETE path` with `key`.
    pub async fn delete(&self, path: &str, key: &str) -> Response {
        self.send(TestRequest::delete().uri(path).insert_header(bearer(key))).await
    }

    /// `POST path` with `key`, a raw body and (when given) a content type.
    pub async fn post_raw(&self, path: &str, key: &str, content_type: Option<&str>, body: &[u8]) -> Response {
        let mut request = TestRequest::post().uri(path).insert_header(bearer(key)).set_payload(body.to_vec());
        if let Some(content_type) = content_type {
            request = request.insert_header((CONTENT_TYPE, content_type.to_owned()));
        }
        self.send(request).await
    }

    /// Creates a tenant the way the operator's CLI does.
    pub async fn tenant(&self, label: &str) -> Tenant {
        let request = NewOwnerRequest {
            name: format!("Tenant {label}"),
            email: format!("{label}@example.com"),
            admin_name: Some(format!("Admin {label}")),
            admin_email: Some(format!("admin@{label}.example")),
        };
        let (created, key) = self.state.tenants.create_owner(request).await.expect("tenant created");
        Tenant {
            admin_id: created.admin.id.to_string(),
            admin_key_id: created.api_key.id.to_string(),
            admin_key: key.expose().to_owned(),
        }
    }

    /// Adds a user with `role` to the tenant and gives it a key, through the API.
    pub async fn member(&self, tenant: &Tenant, role: &str) -> Member {
        let user =
            json!({"name": format!("A {role}"), "email": format!("{role}@staff.example"), "role": role});
        let user = self.post("/api/v1/users", &tenant.admin_key, &user).await.expect(201);
        let user_id = text(&user["id"]);
        let body = json!({"user_id": user_id, "name": format!("{role} key")});
        let key = self.post("/api/v1/api-keys", &tenant.admin_key, &body).await.expect(201);
        Member { user_id, key_id: text(&key["id"]), key: text(&key["key"]) }
    }

    /// Opens an SMS conversation with customer `n`; the conversation.
    pub async fn conversation(&self, key: &str, n: usize) -> Value {
        let body = json!({"customer_phone": customer(n), "business_phone": BUSINESS});
        self.post("/api/v1/conversations", key, &body).await.expect(201)
    }

    /// Writes `text` to a conversation's customer; the message.
    pub async fn message(&self, key: &str, conversation_id: &str, text: &str) -> Value {
        let path = format!("/api/v1/conversations/{conversation_id}/messages");
        self.post(&path, key, &json!({"body": text})).await.expect(201)
    }
}

/// The `Authorization` header for `key`.
pub fn bearer(key: &str) -> (actix_web::http::header::HeaderName, String) {
    (AUTHORIZATION, format!("Bearer {key}"))
}

/// A JSON string's text.
#[track_caller]
pub fn text(value: &Value) -> String {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}")).to_owned()
}

/// The ids of a list's items.
#[track_caller]
pub fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {list}"))
        .iter()
        .map(|item| text(&item["id"]))
        .collect()
}
