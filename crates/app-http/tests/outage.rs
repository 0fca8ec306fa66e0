//! PostgreSQL goes away under load, and no customer message is lost. The real `conversa`
//! binary against a private PostgreSQL cluster this test starts, and kills (`kill -9` of the
//! postmaster) while signed webhooks keep arriving: every webhook is answered 200 (the service
//! spools what the database cannot take), and every message is in the database once, soon after
//! the database returns. A second test kills the service too while its spool holds messages: the
//! next start replays them. Twilio does not retry a failed SMS webhook, so a 503 here would be a
//! lost message.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use app_http::simulate::{DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, DEMO_BUSINESS_NUMBER};
use support::{Api, Env};

/// A PostgreSQL cluster of the test's own, so it can be killed without harming anyone else's.
struct Cluster {
    data: PathBuf,
    port: u16,
    bindir: PathBuf,
}

/// Runs PostgreSQL's programs as the `postgres` system user when the test runs as root
/// (`initdb` and `postgres` refuse root).
fn pg_command(bindir: &Path, program: &str) -> Command {
    let path = bindir.join(program);
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(path);
        command
    } else {
        Command::new(path)
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// Where `initdb` and `pg_ctl` are: `pg_config --bindir`, Debian's versioned directories, or
/// the `PATH`.
fn find_bindir() -> PathBuf {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if has_tools(&dir) {
            return dir;
        }
    }
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(Result::ok).map(|d| d.path().join("bin")).collect())
        .unwrap_or_default();
    debian.sort();
    let path = std::env::var_os("PATH").unwrap_or_default();
    debian
        .into_iter()
        .rev()
        .chain(std::env::split_paths(&path))
        .find(|dir| has_tools(dir))
        .expect("the PostgreSQL server binaries (initdb, pg_ctl) are installed")
}

fn run(mut command: Command, what: &str) {
    let out = command.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what}: {}", support::describe(&out));
}

impl Cluster {
    fn create() -> Self {
        let port = support::free_port();
        let data = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("outage-pg-{port}"));
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&data).expect("a data directory");
        if is_root() {
            run(
                {
                    let mut chown = Command::new("chown");
                    chown.args(["postgres"]).arg(&data);
                    chown
                },
                "chown the data directory",
            );
        }
        let bindir = find_bindir();
        let mut initdb = pg_command(&bindir, "initdb");
        initdb.arg("-D").arg(&data).args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"]);
        run(initdb, "initdb");
        let cluster = Self { data, port, bindir };
        cluster.start();
        cluster.psql("postgres", "CREATE DATABASE conversa");
        cluster
    }

    /// Starts the server and waits until it accepts connections. Right after a `kill -9` the
    /// old backends may still be leaving; the start is retried for a while.
    fn start(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut pg_ctl = pg_command(&self.bindir, "pg_ctl");
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100",
                self.port,
                self.data.display()
            );
            pg_ctl.arg("-D").arg(&self.data).arg("-l").arg(self.data.join("server.log"));
            pg_ctl.args(["-w", "-t", "30", "-o", &options, "start"]);
            let out = pg_ctl.output().expect("pg_ctl start");
            if out.status.success() {
                return;
            }
            assert!(Instant::now() < deadline, "PostgreSQL did not start: {}", support::describe(&out));
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `kill -9` of the postmaster and its backends: no shutdown, no checkpoint.
    fn kill(&self) {
        let pid_file = std::fs::read_to_string(self.data.join("postmaster.pid")).expect("postmaster.pid");
        let pid = pid_file.lines().next().expect("the postmaster's pid").trim().to_owned();
        // The postmaster stops first (so it forks no one new), then its backends die, then it
        // does (SIGKILL ends a stopped process too). A backend left alive would finish the
        // statement it is in, and the outage would begin a moment later than the test thinks.
        let signal = |args: &[&str], what: &str| {
            let mut command = Command::new(args[0]);
            command.args(&args[1..]);
            let status = command.status().expect(what);
            assert!(status.success() || args[0] == "pkill", "{what}: {status}");
        };
        signal(&["kill", "-STOP", &pid], "stop the postmaster");
        signal(&["pkill", "-9", "-P", &pid], "kill -9 the backends");
        signal(&["kill", "-9", &pid], "kill -9 the postmaster");
    }

    fn url(&self, user: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/conversa", self.port)
    }

    /// Runs `sql` with psql as the superuser; returns its unaligned output.
    fn psql(&self, database: &str, sql: &str) -> String {
        let out = Command::new("psql")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres", "-d", database])
            .args(["-Atqc", sql])
            .output()
            .expect("psql");
        assert!(out.status.success(), "psql {sql}: {}", support::describe(&out));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// How many of the messages whose MessageSid starts with `prefix` are stored, and how many
    /// distinct MessageSids they have.
    fn stored(&self, prefix: &str) -> (usize, usize) {
        let counts = self.psql(
            "conversa",
            &format!("SELECT count(*), count(DISTINCT provider_sid) FROM messages WHERE provider_sid LIKE '{prefix}%'"),
        );
        let (all, distinct) = counts.split_once('|').expect("two counts");
        (all.parse().expect("a count"), distinct.parse().expect("a count"))
    }

    /// Polls until `expected` messages with `prefix` are stored or `within` passes.
    fn wait_stored(&self, prefix: &str, expected: usize, within: Duration) -> (usize, usize) {
        let deadline = Instant::now() + within;
        loop {
            let counts = self.stored(prefix);
            if counts.0 >= expected || Instant::now() > deadline {
                return counts;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let mut stop = pg_command(&self.bindir, "pg_ctl");
        stop.arg("-D").arg(&self.data).args(["-m", "immediate", "stop"]);
        let _ = stop.output();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.data);
        }
    }
}

/// The service over `cluster`, migrated and seeded (the demo tenant and its Twilio account).
async fn service_env(cluster: &Cluster) -> Env {
    let env = Env::with_database(cluster.url("postgres"), cluster.url("conversa_app"), "http://127.0.0.1:1");
    env.run_json(&["migrate"]).await;
    env.run_json(&["seed"]).await;
    env
}

/// An inbound message from the demo tenant's customer `customer`, as Twilio signs it.
async fn inbound(api: &Api, sid: &str, customer: usize, body: &str) -> u16 {
    let from = format!("+55119876{customer:05}");
    let params = [
        ("AccountSid", DEMO_ACCOUNT_SID),
        ("MessageSid", sid),
        ("From", from.as_str()),
        ("To", DEMO_BUSINESS_NUMBER),
        ("Body", body),
    ];
    api.webhook("/webhooks/twilio/inbound", DEMO_AUTH_TOKEN, &params).await.status
}

/// Polls `GET /metrics` until `series` reads `expected` (the drainer records a batch once it is
/// removed from the spool, a moment after its messages are in the database); at most 5 s.
async fn wait_metric(api: &Api, series: &str, expected: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let value = metric(api, series).await;
        if value == expected || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of one series of `GET /metrics`.
async fn metric(api: &Api, series: &str) -> f64 {
    let text = api.client.get(format!("{}/metrics", api.base)).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no `{series}` in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_killed_under_load_loses_no_message() {
    let cluster = Cluster::create();
    let env = service_env(&cluster).await;
    let _server = env.serve("outage").await;
    let api = Arc::new(env.api());
    // The account is cached from the first webhook on: while the database is down, webhooks
    // are still verified against it.
    assert_eq!(inbound(&api, "SMwarmup", 0, "Oi").await, 200);

    let stop = Arc::new(AtomicBool::new(false));
    let senders: Vec<_> = (0..8)
        .map(|task| {
            let (api, stop) = (Arc::clone(&api), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let sid = format!("SMload{task:02}{n:08}");
                    let status = inbound(&api, &sid, task * 1000 + n % 50, &format!("mensagem {n}")).await;
                    statuses.push((sid, status));
                    n += 1;
                }
                statuses
            })
        })
        .collect();

    tokio::time::sleep(Duration::from_secs(1)).await;
    cluster.kill();
    tokio::time::sleep(Duration::from_secs(6)).await;
    cluster.start();
    let returned = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::Relaxed);
    let mut statuses = Vec::new();
    for sender in senders {
        statuses.extend(sender.await.expect("a sender"));
    }

    let refused: Vec<_> = statuses.iter().filter(|(_, status)| *status != 200).collect();
    assert!(
        refused.is_empty(),
        "{} of {} webhooks were not answered 200: {refused:?}",
        refused.len(),
        statuses.len()
    );
    let spooled = metric(&api, "conversa_inbound_webhooks_total{outcome=\"spooled\"}").await;
    assert!(spooled > 0.0, "the outage was not felt: nothing was spooled");
    let sent = statuses.len();
    let (stored, distinct) = cluster.wait_stored("SMload", sent, Duration::from_secs(10));
    let waited = returned.elapsed();
    assert_eq!((stored, distinct), (sent, sent), "{sent} sent, {stored} stored ({distinct} distinct)");
    assert!(waited < Duration::from_secs(11), "stored {waited:?} after PostgreSQL returned");
    eprintln!(
        "{sent} webhooks, {spooled} spooled during the outage, all stored once {waited:?} after PostgreSQL returned"
    );
    assert_eq!(wait_metric(&api, "conversa_spool_webhooks", 0.0).await, 0.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_spool_survives_a_restart_of_the_service() {
    let cluster = Cluster::create();
    let env = service_env(&cluster).await;
    let server = env.serve("spool-restart").await;
    let api = env.api();
    assert_eq!(inbound(&api, "SMwarmup", 0, "Oi").await, 200);

    cluster.kill();
    for n in 0..20 {
        assert_eq!(inbound(&api, &format!("SMkept{n:04}"), n % 3, &format!("mensagem {n}")).await, 200);
    }
    // Bad input gets what it always gets; none of it reaches the spool.
    let forged = [("AccountSid", DEMO_ACCOUNT_SID), ("MessageSid", "SMforged"), ("From", "+5511987600001")];
    let forged = api.webhook("/webhooks/twilio/inbound", "0123456789abcdef0123456789abcdef", &forged).await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let no_from = [
        ("AccountSid", DEMO_ACCOUNT_SID),
        ("MessageSid", "SMnofrom"),
        ("To", DEMO_BUSINESS_NUMBER),
        ("Body", "oi"),
    ];
    assert_eq!(api.webhook("/webhooks/twilio/inbound", DEMO_AUTH_TOKEN, &no_from).await.status, 422);
    let huge = "x".repeat(70 * 1024);
    let too_large = [("AccountSid", DEMO_ACCOUNT_SID), ("MessageSid", "SMhuge"), ("Body", huge.as_str())];
    assert_eq!(api.webhook("/webhooks/twilio/inbound", DEMO_AUTH_TOKEN, &too_large).await.status, 413);
    // An account the service has never seen cannot be verified while the database is down.
    let stranger = [("AccountSid", "AC0000000000000000000000000000ffff"), ("MessageSid", "SMstranger")];
    assert_eq!(api.webhook("/webhooks/twilio/inbound", DEMO_AUTH_TOKEN, &stranger).await.status, 503);
    assert_eq!(metric(&api, "conversa_spool_webhooks").await, 20.0);

    // The service dies (SIGKILL: nothing flushed on the way out), the database comes back, and
    // the service starts again on the same spool.
    drop(server);
    cluster.start();
    let started = Instant::now();
    let _server = env.serve("spool-restart-2").await;
    let (stored, distinct) = cluster.wait_stored("SMkept", 20, Duration::from_secs(10));
    assert_eq!((stored, distinct), (20, 20), "after {:?}", started.elapsed());
    let api = env.api();
    assert_eq!(wait_metric(&api, "conversa_spool_replays_total{outcome=\"replayed\"}", 20.0).await, 20.0);
    assert_eq!(wait_metric(&api, "conversa_spool_webhooks", 0.0).await, 0.0);
    for refused in ["SMforged", "SMnofrom", "SMhuge", "SMstranger"] {
        assert_eq!(cluster.stored(refused), (0, 0), "{refused} was refused and must not be stored");
    }
    // Replayed in arrival order: message ids are their arrival times.
    let order = cluster.psql(
        "conversa",
        "SELECT string_agg(provider_sid, ',' ORDER BY id) FROM messages WHERE provider_sid LIKE 'SMkept%'",
    );
    let expected: Vec<String> = (0..20).map(|n| format!("SMkept{n:04}")).collect();
    assert_eq!(order, expected.join(","));
}
