//! What the benchmark runs against: fresh databases on the given server (Conversa's, migrated
//! by the real `conversa` binary, and scratch ones with the references' schema), a tenant made
//! with Conversa's CLI, and the two services as child processes: `conversa serve` and the
//! FastAPI peer under uvicorn.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{cpu, load, traffic};

/// Runs SQL with `psql` and returns what it printed (unaligned, tuples only).
pub fn psql(url: &str, sql: &str) -> anyhow::Result<String> {
    let output = Command::new("psql")
        .args([url, "-X", "-Atq", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .output()
        .context("cannot run psql (install the PostgreSQL client)")?;
    checked("psql", &output)?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Runs the SQL file `path` with `psql -f` (read where it lies).
pub fn psql_file(url: &str, path: &Path) -> anyhow::Result<()> {
    let output = Command::new("psql")
        .args([url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f"])
        .arg(path)
        .output()
        .context("cannot run psql (install the PostgreSQL client)")?;
    checked(&format!("psql -f {}", path.display()), &output)
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

/// A database made for one benchmark run, dropped again unless kept.
#[derive(Debug)]
pub struct BenchDatabase {
    admin_url: String,
    name: String,
    /// The URL of the database, as the role that made it (the schema owner).
    pub url: String,
    keep: bool,
}

impl BenchDatabase {
    /// Drops any leftover of an earlier run and creates the database afresh.
    pub fn create(admin_url: &str, name: &str, keep: bool) -> anyhow::Result<Self> {
        psql(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        let url = with_database(admin_url, name);
        Ok(Self { admin_url: admin_url.to_owned(), name: name.to_owned(), url, keep })
    }

    /// A fresh database with the SQL file `schema` loaded.
    pub fn with_schema(admin_url: &str, name: &str, schema: &Path, keep: bool) -> anyhow::Result<Self> {
        let db = Self::create(admin_url, name, keep)?;
        psql_file(&db.url, schema)?;
        Ok(db)
    }

    /// `VACUUM (ANALYZE)`, then a checkpoint (best effort: it needs a privileged role), so that
    /// every run starts from the same state: dead row versions, or autovacuum and a checkpoint
    /// catching up in the middle of a run, would tax whichever run comes later.
    pub fn settle(&self) -> anyhow::Result<()> {
        psql(&self.url, "VACUUM (ANALYZE)")?;
        let _ = psql(&self.url, "CHECKPOINT");
        Ok(())
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
    /// The binary (an absolute path).
    pub bin: PathBuf,
    /// Its environment: the database, a token key, the API limits lifted, nothing inherited from
    /// `CONVERSA_*`.
    pub env: Vec<(String, String)>,
    /// Its working directory, made empty: no `conversa.toml` of the repository changes the
    /// measured (default) configuration, and its relative paths (the webhook spool,
    /// `.data/spool`) are the benchmark's own rather than a development instance's.
    pub dir: PathBuf,
}

/// The highest rate and burst the service accepts (`domain::limits::MAX_RATE`).
const MAX_RATE: &str = "1000000";

impl Conversa {
    /// The binary with the database and a random token-encryption key, run in `dir` (emptied).
    pub fn new(bin: &Path, database_url: &str, dir: &Path) -> anyhow::Result<Self> {
        let key: [u8; 32] = rand::random();
        let key: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let bin =
            bin.canonicalize().with_context(|| format!("no {} (build it with --release)", bin.display()))?;
        if dir.exists() {
            std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir)?;
        Ok(Self {
            bin,
            env: vec![
                ("DATABASE_URL".to_owned(), database_url.to_owned()),
                ("CONVERSA_TOKEN_ENCRYPTION_KEY".to_owned(), key),
                // The latency probes read the API back to back: the API's rate limits (ADR 0020,
                // 600 a minute by default) are policy, not cost, and would answer them 429. The
                // webhooks measured are never limited, so this changes none of their figures.
                ("CONVERSA_RATE_LIMIT_PER_MINUTE".to_owned(), MAX_RATE.to_owned()),
                ("CONVERSA_RATE_LIMIT_BURST".to_owned(), MAX_RATE.to_owned()),
                ("CONVERSA_KEY_RATE_LIMIT_PER_MINUTE".to_owned(), MAX_RATE.to_owned()),
                ("CONVERSA_KEY_RATE_LIMIT_BURST".to_owned(), MAX_RATE.to_owned()),
            ],
            dir: dir.to_owned(),
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.bin);
        command.args(args).current_dir(&self.dir);
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
    pub async fn serve(&self, log: &Path, extra_env: &[(String, String)]) -> anyhow::Result<Server> {
        let port = free_port()?;
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
        let mut server = Server { child, addr, log: log.to_owned() };
        server.wait_ready("/health").await?;
        Ok(server)
    }
}

/// A service under test, a child process (with, for uvicorn, worker processes of its own):
/// stopped with its whole tree when dropped.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// The base URL Twilio would call (the services check signatures against it).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until `GET path` answers 200, or the process exits, or 60 s pass.
    async fn wait_ready(&mut self, path: &str) -> anyhow::Result<()> {
        let started = Instant::now();
        let render = traffic::plain_get(&self.base_url(), path);
        loop {
            if load::send_count(self.addr, 1, 1, 200, Arc::clone(&render)).await.is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("the service exited ({status}) before answering; see {}", self.log.display());
            }
            if started.elapsed() > Duration::from_secs(60) {
                bail!("the service did not answer GET {path}; see {}", self.log.display());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Its (root) process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The most resident memory its processes have had (`VmHWM`, summed over the tree), in KiB.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        cpu::tree_peak_rss_kib(self.pid())
    }

    /// How many processes it runs now.
    pub fn processes(&self) -> usize {
        cpu::tree_pids(self.pid()).len()
    }
}

impl Drop for Server {
    /// SIGTERM to the root (uvicorn's master stops its workers then), up to 10 s to exit, then
    /// SIGKILL to whatever of the tree is left.
    fn drop(&mut self) {
        let pids = cpu::tree_pids(self.pid());
        let _ = Command::new("kill").args(["-TERM", &self.pid().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        for pid in pids.iter().skip(1) {
            if cpu::parent(*pid).is_some() {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).stderr(Stdio::null()).status();
            }
        }
    }
}

/// The FastAPI peer (`peer_fastapi/app.py` of the references), run by uvicorn from a virtualenv.
#[derive(Debug, Clone)]
pub struct Peer {
    /// The virtualenv with fastapi, uvicorn, uvloop, httptools, asyncpg, python-multipart, twilio.
    pub venv: PathBuf,
    /// The directory holding `app.py`.
    pub app_dir: PathBuf,
    /// uvicorn's `--workers`.
    pub workers: usize,
}

impl Peer {
    /// `uvicorn app:app` on a free local port with `--workers`, uvloop and httptools, against
    /// `dsn`, logging to `log`; waits until it answers.
    pub async fn serve(&self, dsn: &str, log: &Path) -> anyhow::Result<Server> {
        // uvicorn runs in the app's directory: the virtualenv's path must not be relative.
        let uvicorn = std::path::absolute(self.venv.join("bin/uvicorn"))?;
        if !uvicorn.exists() {
            bail!(
                "the FastAPI peer needs {} (scripts/bench-webhook creates the virtualenv; --no-peer skips the peer)",
                uvicorn.display()
            );
        }
        let port = free_port()?;
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log_file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(&uvicorn)
            .args(["app:app", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--workers", &self.workers.to_string(), "--loop", "uvloop", "--http", "httptools"])
            .args(["--log-level", "warning"])
            .current_dir(&self.app_dir)
            .env("PEER_DSN", dsn)
            .env("PEER_PUBLIC_URL", format!("http://{addr}"))
            // The references are read where they lie; nothing is written next to them.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {}", uvicorn.display()))?;
        let mut server = Server { child, addr, log: log.to_owned() };
        // FastAPI serves its schema at /openapi.json; an answer means a worker took the socket.
        server.wait_ready("/openapi.json").await?;
        Ok(server)
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// PostgreSQL's postmaster, when it runs on this machine (the parent of its checkpointer, a
/// `postgres` process we can see): its process tree is PostgreSQL's CPU.
pub fn postmaster_pid(url: &str) -> Option<u32> {
    let checkpointer: u32 = psql(url, "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
        .ok()?
        .parse()
        .ok()?;
    let postmaster = cpu::parent(checkpointer)?;
    let comm = std::fs::read_to_string(format!("/proc/{postmaster}/comm")).ok()?;
    (comm.trim() == "postgres" || comm.trim() == "postmaster").then_some(postmaster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_change_database() {
        let url = "postgres://postgres@127.0.0.1:54329/postgres";
        assert_eq!(with_database(url, "bench"), "postgres://postgres@127.0.0.1:54329/bench");
        assert_eq!(with_database("postgres://h/db?sslmode=disable", "b"), "postgres://h/b?sslmode=disable");
        assert_eq!(with_database("postgres://h:5432", "b"), "postgres://h:5432/b");
    }
}
