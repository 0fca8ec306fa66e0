//! What the benchmark runs against: a fresh database on the given server, migrated by the real
//! `conversa` binary, a tenant made with its CLI, and `conversa serve` as a child process.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::load;

/// Runs SQL with `psql` and returns what it printed (unaligned, tuples only).
pub fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
    let output = Command::new("psql")
        .args([url, "-X", "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .context("cannot run psql (install the PostgreSQL client)")?;
    checked("psql", &output)?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn checked(what: &str, output: &Output) -> anyhow::Result<()> {
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// `url` with its user replaced (and its password dropped).
pub fn with_user(url: &str, user: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[authority_start..];
    let host_start = rest.find('@').map_or(0, |at| at + 1);
    format!("{}{user}@{}", &url[..authority_start], &rest[host_start..])
}

/// A database made for one benchmark run, dropped again unless kept.
#[derive(Debug)]
pub struct BenchDatabase {
    admin_url: String,
    name: String,
    /// The schema owner's URL of the database.
    pub url: String,
    /// The application role's URL of the database (what the service and pgbench use).
    pub app_url: String,
    keep: bool,
}

impl BenchDatabase {
    /// Drops any leftover of an earlier run and creates the database afresh.
    pub fn create(admin_url: &str, name: &str, keep: bool) -> anyhow::Result<Self> {
        psql(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        let url = with_database(admin_url, name);
        let app_url = with_user(&url, "conversa_app");
        Ok(Self { admin_url: admin_url.to_owned(), name: name.to_owned(), url, app_url, keep })
    }
}

impl Drop for BenchDatabase {
    fn drop(&mut self) {
        if !self.keep {
            let _ = psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}

/// How to run the `conversa` binary against the bench database.
#[derive(Debug, Clone)]
pub struct Conversa {
    /// The binary.
    pub bin: PathBuf,
    /// Its environment: the database, a token key, nothing inherited from `CONVERSA_*`.
    pub env: Vec<(String, String)>,
}

impl Conversa {
    /// The binary with the database and a random token-encryption key.
    pub fn new(bin: &Path, database_url: &str) -> Self {
        let key: [u8; 32] = rand::random();
        let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
        Self {
            bin: bin.to_owned(),
            env: vec![
                ("DATABASE_URL".to_owned(), database_url.to_owned()),
                ("CONVERSA_TOKEN_ENCRYPTION_KEY".to_owned(), key),
            ],
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command.args(args);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CONVERSA_") {
                command.env_remove(name);
            }
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    /// Runs a command to completion and returns its stdout.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let output = self.command(args).output().with_context(|| format!("cannot run {:?}", self.bin))?;
        checked(&format!("conversa {}", args.join(" ")), &output)?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Starts `conversa serve` on a free local port, logging to `log`, and waits until
    /// `/health` answers.
    pub async fn serve(&self, log: &Path, extra_env: &[(&str, String)]) -> anyhow::Result<Server> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log_file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let mut command = self.command(&["serve"]);
        command
            .env("CONVERSA_HOST", "127.0.0.1")
            .env("CONVERSA_PORT", port.to_string())
            .env("CONVERSA_PUBLIC_BASE_URL", format!("http://{addr}"))
            .envs(extra_env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(log_file);
        let child = command.spawn().context("cannot start conversa serve")?;
        let server = Server { child, addr, log: log.to_owned() };
        server.wait_healthy().await?;
        Ok(server)
    }
}

/// `conversa serve`, killed when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// The base URL Twilio would call (the service checks signatures against it).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let started = Instant::now();
        let health = format!("GET /health HTTP/1.1\r\nHost: {}\r\n\r\n", self.addr).into_bytes();
        let render: load::RenderRequest = Arc::new(move |_| health.clone());
        loop {
            if load::send_count(self.addr, 1, 1, 200, Arc::clone(&render)).await.is_ok() {
                return Ok(());
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("conversa serve did not become healthy; see {}", self.log.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The most resident memory the process has had (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("cannot read the server's /proc status (Linux only)")?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .context("no VmHWM line in /proc status")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_change_database_and_user() {
        let url = "postgres://postgres@127.0.0.1:54329/postgres";
        assert_eq!(with_database(url, "bench"), "postgres://postgres@127.0.0.1:54329/bench");
        assert_eq!(with_database("postgres://h/db?sslmode=disable", "b"), "postgres://h/b?sslmode=disable");
        assert_eq!(with_database("postgres://h:5432", "b"), "postgres://h:5432/b");
        assert_eq!(with_user(url, "conversa_app"), "postgres://conversa_app@127.0.0.1:54329/postgres");
        assert_eq!(with_user("postgres://u:pw@h/db", "app"), "postgres://app@h/db");
        assert_eq!(with_user("postgres://h/db", "app"), "postgres://app@h/db");
    }
}
