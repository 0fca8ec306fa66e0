//! Shared by the tests that drive the real `conversa` binary from the outside (`e2e`, `tour`):
//! its environment (the test's database, a fake Twilio), `conversa serve` as a child process,
//! and an HTTP client for the API. (`support/mod.rs` rather than `support.rs`, which Cargo
//! would build as a test of its own.)

// Each test binary uses part of this module.
#![allow(dead_code)]

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use adapters_twilio::{SIGNATURE_HEADER, compute_signature};
use domain::SecretString;
use serde_json::Value;
use test_db::TestDb;

pub const BIN: &str = env!("CARGO_BIN_EXE_conversa");
pub const TOKEN_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// The environment every `conversa` run gets: the test's database and fake Twilio, nothing
/// from the caller's `CONVERSA_*` variables or a `conversa.toml`.
#[derive(Debug, Clone)]
pub struct Env {
    vars: Vec<(&'static str, String)>,
    dir: PathBuf,
    port: u16,
}

impl Env {
    /// `conversa` on a free local port, against `db`, sending to the Twilio API at `twilio`,
    /// with fast background workers.
    pub fn new(db: &TestDb, twilio: &str) -> Self {
        Self::with_database(db.owner_url(), db.app_url(), twilio)
    }

    /// As [`Env::new`], against the database at `owner_url` (the schema owner) and `app_url`
    /// (the application role).
    pub fn with_database(owner_url: String, app_url: String, twilio: &str) -> Self {
        let port = free_port();
        let vars = vec![
            ("DATABASE_URL", owner_url),
            ("CONVERSA_APP_DATABASE_URL", app_url),
            ("CONVERSA_PORT", port.to_string()),
            ("CONVERSA_HOST", "127.0.0.1".to_owned()),
            ("CONVERSA_PUBLIC_BASE_URL", format!("http://127.0.0.1:{port}")),
            ("CONVERSA_TOKEN_ENCRYPTION_KEY", TOKEN_KEY.to_owned()),
            ("CONVERSA_TWILIO_API_BASE_URL", twilio.to_owned()),
            ("CONVERSA_DISPATCH_INTERVAL_MS", "100".to_owned()),
            ("CONVERSA_SWEEP_INTERVAL_MS", "1000".to_owned()),
            ("CONVERSA_LOG_FORMAT", "json".to_owned()),
            // Tests call faster than any client should; the limits' own tests set theirs.
            ("CONVERSA_RATE_LIMIT_BURST", "100000".to_owned()),
            ("CONVERSA_KEY_RATE_LIMIT_BURST", "100000".to_owned()),
        ];
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let mut env = Self { vars, dir, port };
        // One spool per server: a spool directory serves one instance at a time.
        let spool = env.dir.join(format!("spool-{port}"));
        let _ = std::fs::remove_dir_all(&spool);
        env.set("CONVERSA_SPOOL_DIR", spool.display().to_string());
        env
    }

    /// Sets (or replaces) one variable of every run.
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) {
        self.vars.retain(|(existing, _)| *existing != name);
        self.vars.push((name, value.into()));
    }

    /// The server's base URL, also its public URL (`http://127.0.0.1:port`).
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `program` with the caller's `CONVERSA_*` variables removed.
    pub fn clean_command(program: &str) -> Command {
        let mut command = Command::new(program);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().to_ascii_uppercase().starts_with("CONVERSA_") {
                command.env_remove(name);
            }
        }
        command
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Self::clean_command(BIN);
        command.args(args).current_dir(&self.dir);
        command.envs(self.vars.iter().map(|(name, value)| (name, value)));
        command
    }

    /// Runs `conversa args…` to completion.
    pub async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output()).await.unwrap().unwrap()
    }

    /// Runs `conversa args…`, asserts success and parses its stdout as JSON.
    pub async fn run_json(&self, args: &[&str]) -> Value {
        let output = self.run(args).await;
        assert!(output.status.success(), "conversa {args:?}: {}", describe(&output));
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("conversa {args:?} printed no JSON ({e}): {}", describe(&output)))
    }

    /// Starts `conversa serve` and waits until `/ready` answers 200 (at most 20 s). `label`
    /// names its log file.
    pub async fn serve(&self, label: &str) -> Server {
        let log = self.dir.join(format!("{label}-serve-{}.log", self.port));
        let child = self
            .command(&["serve"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("a log file"))
            .spawn()
            .expect("start conversa serve");
        // From here a failed assertion shows the server's log (`Server`'s drop).
        let server = Server { child, log };
        let client = app_http::simulate::http_client().expect("a client");
        let ready = format!("{}/ready", self.base_url());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = client.get(&ready).send().await;
            if answer.as_ref().is_ok_and(|r| r.status() == 200) {
                return server;
            }
            assert!(Instant::now() < deadline, "the server was not ready within 20 s: {answer:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A client of the server `serve` starts.
    pub fn api(&self) -> Api {
        Api { base: self.base_url(), client: app_http::simulate::http_client().expect("a client") }
    }
}

pub fn describe(output: &Output) -> String {
    format!(
        "{}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `conversa serve`, killed when dropped; its log is shown when the test fails.
pub struct Server {
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

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// The HTTP side: the server's base URL and a client.
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
}

pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    #[track_caller]
    pub fn expect(&self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Api {
    async fn read(response: reqwest::Response) -> Reply {
        let status = response.status().as_u16();
        Reply { status, body: response.text().await.expect("a body") }
    }

    pub async fn get(&self, path: &str, key: &str) -> Reply {
        let request = self.client.get(format!("{}{path}", self.base)).bearer_auth(key);
        Self::read(request.send().await.expect("GET")).await
    }

    pub async fn post(&self, path: &str, key: &str, body: &Value) -> Reply {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_string());
        Self::read(request.send().await.expect("POST")).await
    }

    pub async fn put(&self, path: &str, key: &str, body: &Value) -> Reply {
        let request = self
            .client
            .put(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.to_string());
        Self::read(request.send().await.expect("PUT")).await
    }

    /// A webhook as Twilio sends it: form-encoded, signed with `auth_token` over the public URL.
    pub async fn webhook(&self, path: &str, auth_token: &str, params: &[(&str, &str)]) -> Reply {
        let params: Vec<(String, String)> =
            params.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect();
        let url = format!("{}{path}", self.base);
        let signature = compute_signature(&SecretString::new(auth_token), &url, &params);
        let request = self.client.post(url).header(SIGNATURE_HEADER, signature).form(&params);
        Self::read(request.send().await.expect("webhook")).await
    }

    /// Polls `GET path` until `done` holds (or `timeout` passes) and returns the last body.
    pub async fn poll(
        &self,
        path: &str,
        key: &str,
        timeout: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
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

pub fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("not a string: {value}"))
}
