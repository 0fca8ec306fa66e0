//! The whole service from the outside: the real `conversa` binary (migrate, owner and key
//! commands, `serve` with its background workers, `simulate`), a real database and a fake
//! Twilio. A customer writes, an agent answers, Twilio takes the answer and reports its
//! delivery, and the customer's goodbye closes the conversation.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use adapters_twilio::{SIGNATURE_HEADER, compute_signature};
use domain::SecretString;
use serde_json::{Value, json};
use test_db::TestDb;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BIN: &str = env!("CARGO_BIN_EXE_conversa");
const TOKEN_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const BUSINESS: &str = "+5511940000001";
const CUSTOMER: &str = "+5511987650001";
const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN: &str = "fedcba9876543210fedcba9876543210";

/// The environment every `conversa` run gets: the test's database and fake Twilio, nothing
/// from the caller's `CONVERSA_*` variables or a `conversa.toml`.
#[derive(Debug, Clone)]
struct Env {
    vars: Vec<(&'static str, String)>,
    dir: PathBuf,
}

impl Env {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command.args(args).current_dir(&self.dir);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().to_ascii_uppercase().starts_with("CONVERSA_") {
                command.env_remove(name);
            }
        }
        command.envs(self.vars.iter().map(|(name, value)| (name, value)));
        command
    }

    /// Runs `conversa args…` to completion.
    async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap()
    }

    /// Runs `conversa args…`, asserts success and parses its stdout as JSON.
    async fn run_json(&self, args: &[&str]) -> Value {
        let output = self.run(args).await;
        assert!(output.status.success(), "conversa {args:?}: {}", describe(&output));
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("conversa {args:?} printed no JSON ({e}): {}", describe(&output)))
    }
}

fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `conversa serve`, killed when dropped; its log is shown when the test fails.
struct Server {
    child: Child,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            eprintln!("--- conversa serve log ---\n{log}--- end of log ---");
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// The HTTP side: the server's base URL and a client.
struct Api {
    base: String,
    client: reqwest::Client,
}

struct Reply {
    status: u16,
    body: String,
}

impl Reply {
    #[track_caller]
    fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Api {
    async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        Reply { status, body: response.text().await.expect("a body") }
    }

    async fn get(&self, path: &str, key: &str) -> Reply {
        let request = self.client.get(format!("{}{path}", self.base)).bearer_auth(key);
        Self::read(request.send().await.expect("GET")).await
    }

    async fn post(&self, path: &str, key: &str, body: &Value) -> Reply {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_string());
        Self::read(request.send().await.expect("POST")).await
    }

    /// A webhook as Twilio sends it: form-encoded, signed over the public URL.
    async fn webhook(&self, path: &str, params: &[(&str, &str)]) -> Reply {
        let params: Vec<(String, String)> =
            params.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        let url = format!("{}{path}", self.base);
        let signature = compute_signature(&SecretString::new(AUTH_TOKEN), &url, &params);
        let request = self.client.post(url).header(SIGNATURE_HEADER, signature).form(&params);
        Self::read(request.send().await.expect("webhook")).await
    }

    /// Polls `GET path` until `done` holds (or `timeout` passes) and returns the last body.
    async fn poll(&self, path: &str, key: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let body = self.get(path, key).await.expect(200);
            if done(&body) || Instant::now() > deadline {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_from_first_message_to_goodbye() {
    let db = TestDb::new().await;
    let twilio = MockServer::start().await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let env = Env {
        vars: vec![
            ("DATABASE_URL", db.owner_url()),
            ("CONVERSA_APP_DATABASE_URL", db.app_url()),
            ("CONVERSA_PORT", port.to_string()),
            ("CONVERSA_HOST", "127.0.0.1".to_owned()),
            ("CONVERSA_PUBLIC_BASE_URL", base.clone()),
            ("CONVERSA_TOKEN_ENCRYPTION_KEY", TOKEN_KEY.to_owned()),
            ("CONVERSA_TWILIO_API_BASE_URL", twilio.uri()),
            ("CONVERSA_DISPATCH_INTERVAL_MS", "100".to_owned()),
            ("CONVERSA_SWEEP_INTERVAL_MS", "1000".to_owned()),
            ("CONVERSA_LOG_FORMAT", "json".to_owned()),
        ],
        dir: dir.clone(),
    };

    // The template database is migrated already: this run applies nothing, and says so.
    let migrated = env.run_json(&["migrate"]).await;
    assert!(migrated["applied"].is_array(), "{migrated}");

    let log = dir.join(format!("e2e-serve-{port}.log"));
    let child = env
        .command(&["serve"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(&log).expect("a log file"))
        .spawn()
        .expect("start conversa serve");
    let _server = Server { child, log };
    let api = Api { base: base.clone(), client: app_http::simulate::http_client().expect("a client") };

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = api.client.get(format!("{base}/ready")).send().await;
        if ready.as_ref().is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(Instant::now() < deadline, "the server was not ready within 20 s: {ready:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // An operator creates the tenant; its admin registers the Twilio account.
    let owner = env.run_json(&["owner", "create", "--name", "Loja E2E", "--email", "e2e@loja.example"]).await;
    let key = text(&owner["api_key"]).to_owned();
    let account = json!({"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "phone_numbers": [BUSINESS]});
    api.post("/api/v1/twilio-accounts", &key, &account).await.expect(201);

    // A customer writes.
    let first_sid = format!("SM{:032x}", 0xe2e1);
    let first = [
        ("AccountSid", ACCOUNT_SID),
        ("MessageSid", first_sid.as_str()),
        ("From", CUSTOMER),
        ("To", BUSINESS),
        ("Body", "Oi, meu pedido não chegou"),
        ("NumMedia", "0"),
    ];
    let answer = api.webhook("/webhooks/twilio/inbound", &first).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.starts_with("<?xml"), "{}", answer.body);
    let list = api.get("/api/v1/conversations", &key).await.expect(200);
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(
        (items[0]["customer_phone"].as_str(), items[0]["status"].as_str()),
        (Some(CUSTOMER), Some("progress"))
    );
    let conversation = text(&items[0]["id"]).to_owned();

    // An agent answers; the dispatcher hands the answer to (fake) Twilio.
    Mock::given(method("POST"))
        .and(path(format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")))
        .and(body_string_contains("StatusCallback=http%3A%2F%2F127.0.0.1"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SMe2e1", "status": "queued"})))
        .expect(1)
        .mount(&twilio)
        .await;
    let reply = json!({"body": "Chegou hoje! Posso ajudar em algo mais?"});
    let message =
        api.post(&format!("/api/v1/conversations/{conversation}/messages"), &key, &reply).await.expect(201);
    assert_eq!(message["delivery_status"], "queued", "{message}");
    let message_path = format!("/api/v1/messages/{}", text(&message["id"]));
    let sent =
        api.poll(&message_path, &key, Duration::from_secs(10), |m| m["provider_sid"] == "SMe2e1").await;
    assert_eq!(sent["provider_sid"], "SMe2e1", "not sent through Twilio: {sent}");

    // Twilio reports the delivery: `sent` signed here, `delivered` by `conversa simulate status`.
    let callback = [("AccountSid", ACCOUNT_SID), ("MessageSid", "SMe2e1"), ("MessageStatus", "sent")];
    assert_eq!(api.webhook("/webhooks/twilio/status", &callback).await.expect(200)["outcome"], "advanced");
    let simulated = env
        .run(&[
            "simulate",
            "status",
            "--message-sid",
            "SMe2e1",
            "--status",
            "delivered",
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            AUTH_TOKEN,
        ])
        .await;
    assert!(simulated.status.success(), "{}", describe(&simulated));
    let stdout = String::from_utf8_lossy(&simulated.stdout);
    assert!(stdout.starts_with("HTTP 200") && stdout.contains("advanced"), "{stdout}");
    let delivered = api.get(&message_path, &key).await.expect(200);
    assert_eq!(delivered["delivery_status"], "delivered", "{delivered}");

    // The customer says goodbye (through `conversa simulate inbound`, at the configured public
    // URL): closure detection closes the conversation.
    let goodbye = env
        .run(&[
            "simulate",
            "inbound",
            "--from",
            CUSTOMER,
            "--to",
            BUSINESS,
            "--body",
            "Não, obrigado! Tchau 👋",
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            AUTH_TOKEN,
        ])
        .await;
    assert!(goodbye.status.success(), "{}", describe(&goodbye));
    let stdout = String::from_utf8_lossy(&goodbye.stdout);
    assert!(stdout.starts_with("HTTP 200") && stdout.contains("<Response"), "{stdout}");
    let closed = api.get(&format!("/api/v1/conversations/{conversation}"), &key).await.expect(200);
    assert_eq!(closed["status"], "user_closed", "{closed}");
    assert_eq!(closed["message_count"], 3, "{closed}");

    // A wrongly signed webhook stores nothing.
    let forged = env
        .run(&[
            "simulate",
            "inbound",
            "--from",
            CUSTOMER,
            "--to",
            BUSINESS,
            "--body",
            "Oi de novo",
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            "0123456789abcdef0123456789abcdef",
        ])
        .await;
    assert!(!forged.status.success(), "{}", describe(&forged));
    assert!(String::from_utf8_lossy(&forged.stdout).starts_with("HTTP 403"), "{}", describe(&forged));

    // An operator issues another key for the admin; it works at once.
    let admin = text(&owner["admin_user_id"]).to_owned();
    let issued = env.run_json(&["api-key", "create", "--user", &admin]).await;
    let second_key = text(&issued["api_key"]);
    assert_ne!(second_key, key);
    let seen = api.get("/api/v1/conversations?status=user_closed", second_key).await.expect(200);
    assert_eq!(seen["items"][0]["id"], conversation.as_str(), "{seen}");
    assert_eq!(api.get("/api/v1/conversations", "cnv_not_a_key").await.status, 401);

    // Twilio got exactly one send (the mock's `expect(1)`).
    twilio.verify().await;
}
