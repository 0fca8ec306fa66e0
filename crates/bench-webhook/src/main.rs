//! Load benchmark of `POST /webhooks/twilio/inbound` (run it with `scripts/bench-webhook`).
//!
//! In one run, on one machine, against fresh databases on the server `DATABASE_URL` names, three
//! systems take the same load shape, in alternating rounds (limit, peer, Conversa; the median
//! round is the result, as throughput on a virtual machine drifts between minutes):
//! 1. **the limit**: pgbench running the references' one-statement script
//!    (`pgbench_minimal.sql`) on a scratch database with `peer_schema.sql`;
//! 2. **the peer**: the seed's stack, FastAPI + asyncpg under uvicorn (`peer_fastapi/`), on a
//!    scratch database with `peer_schema.sql`, taking signed webhooks;
//! 3. **Conversa**: the real `conversa serve` on its own migrated database, taking the same
//!    webhooks.
//!
//! Both services get `--connections` keep-alive connections, a new MessageSid per request, from
//! `--customers` senders, a fifth of the bodies a farewell; pgbench runs as many clients. Then
//! Conversa's database grows to `--scale-messages` messages and the latency of the inbound webhook
//! and of `GET /conversations/{id}/messages` is measured again, before/after.

mod cpu;
mod load;
mod pgbench;
mod report;
mod setup;
mod stats;
mod traffic;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::Value;

use crate::cpu::{CpuPerRequest, CpuSample, Watched};
use crate::report::{Probe, Report, Round, Run, System};
use crate::setup::{BenchDatabase, Conversa, Peer, Server, psql};
use crate::traffic::{Mix, Tenant, WebhookTarget, customer_number};

/// The tenant's business number, the `To` of every webhook (Conversa's and the peer's).
const BUSINESS: &str = "+5511940000001";
/// The peer's account, as `peer_schema.sql` creates it.
const PEER_ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
const PEER_AUTH_TOKEN: &str = "0123456789abcdef0123456789abcdef";
/// Messages of the conversation the listing probes read, and the page they ask for.
const LISTED_MESSAGES: u64 = 60;
const PAGE: u32 = 50;
/// Helpers the data growth needs, installed in Conversa's bench database.
const SUPPORT_SQL: &str = include_str!("../sql/support.sql");

#[derive(Debug, Parser)]
#[command(about = "Load benchmark of the inbound Twilio webhook: Conversa beside the FastAPI peer and the \
             one-statement PostgreSQL limit")]
struct Args {
    /// A PostgreSQL role that may create databases (scripts/bench-webhook provides one).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The `conversa` binary to measure (build it with --release).
    #[arg(long, default_value = "target/release/conversa")]
    conversa: PathBuf,
    /// The references: pgbench_minimal.sql, peer_schema.sql and peer_fastapi/ (read in place).
    #[arg(long, env = "CONVERSA_BENCH_REFERENCES", default_value = "../shared/bench")]
    references: PathBuf,
    /// The virtualenv with the peer's packages (scripts/bench-webhook creates it).
    #[arg(long, default_value = "target/bench-venv")]
    peer_venv: PathBuf,
    /// uvicorn `--workers` for the peer.
    #[arg(long, default_value_t = 2)]
    peer_workers: usize,
    /// Leave the FastAPI peer out (for a machine that cannot install it).
    #[arg(long)]
    no_peer: bool,
    /// Concurrent connections, for each service and for pgbench.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Length of each measured run, in seconds.
    #[arg(long, default_value_t = 15)]
    duration: u64,
    /// Unmeasured run of each system before the first round, in seconds (0 skips it).
    #[arg(long, default_value_t = 5)]
    warmup: u64,
    /// Rounds (limit, peer, Conversa); the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Length of each latency probe (before/after growing the data), in seconds.
    #[arg(long, default_value_t = 8)]
    probe: u64,
    /// Connections of the latency probes: few, so latency is the requests' own work rather
    /// than their wait for a core.
    #[arg(long, default_value_t = 4)]
    probe_connections: usize,
    /// Distinct senders (From numbers); pgbench_minimal.sql draws from 5 000.
    #[arg(long, default_value_t = 5000)]
    customers: u64,
    /// Grow Conversa's database to this many messages for the second probe; 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    scale_messages: u64,
    /// The service's `CONVERSA_LOG_FILTER` (its default, `info`, logs a line per request).
    #[arg(long, default_value = "info")]
    log_filter: String,
    /// The service's `CONVERSA_HTTP_WORKERS` (0, its default: one per core).
    #[arg(long, default_value_t = 0)]
    http_workers: usize,
    /// More of the service's configuration, `NAME=value` (repeatable), for measuring a setting
    /// (say `CONVERSA_DB_INBOUND_FLUSHERS=3`); the figures compare the defaults.
    #[arg(long = "service-env", value_parser = service_setting)]
    service_env: Vec<(String, String)>,
    /// The tenant's closure grace period (`closure_detection.config.grace_seconds`). 0, the
    /// default here, closes each farewell's conversation at once, the load shape the figures
    /// compare (a fifth of the messages a farewell that closes the conversation); the service's
    /// own default, 120, records a pending closure instead, which the next message drops.
    #[arg(long, default_value_t = 0)]
    closure_grace_seconds: u64,
    /// Keep the bench databases afterwards (for inspection).
    #[arg(long)]
    keep: bool,
    /// Where logs, pgbench files and summary.jsonl go.
    #[arg(long, default_value = "target/bench-webhook")]
    work_dir: PathBuf,
}

/// The references' files.
#[derive(Debug)]
struct References {
    pgbench_script: PathBuf,
    schema: PathBuf,
    peer_dir: PathBuf,
}

impl References {
    fn find(dir: &Path) -> anyhow::Result<Self> {
        let dir = dir.canonicalize().with_context(|| {
            format!("no references at {} (set CONVERSA_BENCH_REFERENCES or --references)", dir.display())
        })?;
        let refs = Self {
            pgbench_script: dir.join("pgbench_minimal.sql"),
            schema: dir.join("peer_schema.sql"),
            peer_dir: dir.join("peer_fastapi"),
        };
        for path in [&refs.pgbench_script, &refs.schema, &refs.peer_dir.join("app.py")] {
            if !path.exists() {
                bail!("the references lack {}", path.display());
            }
        }
        Ok(refs)
    }
}

/// One HTTP service under test, with what its webhooks are signed for.
#[derive(Debug)]
struct HttpSystem<'a> {
    server: &'a Server,
    db: &'a BenchDatabase,
    target: WebhookTarget,
}

/// Everything the rounds need.
#[derive(Debug)]
struct Bench<'a> {
    args: &'a Args,
    work_dir: PathBuf,
    postmaster: Option<u32>,
    limit_db: &'a BenchDatabase,
    pgbench_script: &'a Path,
    peer: Option<HttpSystem<'a>>,
    conversa: HttpSystem<'a>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.work_dir)?;
    let work_dir = args.work_dir.canonicalize()?;
    let refs = References::find(&args.references)?;
    let postmaster = setup::postmaster_pid(&args.database_url);
    if postmaster.is_none() {
        eprintln!(
            "bench: PostgreSQL's processes are not visible here; its CPU is the machine's rest (which \
             includes anything else running)"
        );
    }

    eprintln!("bench: creating the databases and Conversa's tenant");
    let conversa_db = BenchDatabase::create(&args.database_url, "conversa_bench", args.keep)?;
    let limit_db =
        BenchDatabase::with_schema(&args.database_url, "conversa_bench_limit", &refs.schema, args.keep)?;
    let conversa = Conversa::new(&args.conversa, &conversa_db.url, &work_dir.join("conversa"))?;
    conversa.run(&["migrate"])?;
    psql(&conversa_db.url, SUPPORT_SQL)?;
    let owner: Value = serde_json::from_str(&conversa.run(&[
        "owner",
        "create",
        "--name",
        "Bench",
        "--email",
        "bench@example.com",
    ])?)
    .context("`conversa owner create` printed no JSON")?;
    let field = |name: &str| owner[name].as_str().map(str::to_owned).context("owner create: missing field");
    let tenant = Tenant::new(field("owner_id")?, field("api_key")?, BUSINESS);

    let mut service_env = vec![
        ("CONVERSA_LOG_FILTER".to_owned(), args.log_filter.clone()),
        ("CONVERSA_HTTP_WORKERS".to_owned(), args.http_workers.to_string()),
    ];
    service_env.extend(args.service_env.iter().cloned());
    let server = conversa.serve(&work_dir.join("server.log"), &service_env).await?;
    register_account(&server, &tenant).await?;
    set_closure_grace(&server, &tenant, args.closure_grace_seconds).await?;
    let conversa_target = tenant.webhook_target(&server.base_url());

    let (peer_db, peer_server) = if args.no_peer {
        (None, None)
    } else {
        eprintln!("bench: starting the FastAPI peer (uvicorn, {} workers)", args.peer_workers);
        let db =
            BenchDatabase::with_schema(&args.database_url, "conversa_bench_peer", &refs.schema, args.keep)?;
        let runner =
            Peer { venv: args.peer_venv.clone(), app_dir: refs.peer_dir.clone(), workers: args.peer_workers };
        let server = runner.serve(&db.url, &work_dir.join("peer.log")).await?;
        (Some(db), Some(server))
    };
    let peer = match (&peer_db, &peer_server) {
        (Some(db), Some(server)) => {
            let target = WebhookTarget::new(&server.base_url(), PEER_ACCOUNT_SID, PEER_AUTH_TOKEN, BUSINESS);
            Some(HttpSystem { server, db, target })
        }
        _ => None,
    };
    let conversa_system = HttpSystem { server: &server, db: &conversa_db, target: conversa_target.clone() };

    let customers = 0..args.customers;
    eprintln!("bench: opening {} customers' conversations in each service", args.customers);
    for system in peer.iter().chain([&conversa_system]) {
        let opening = traffic::inbound_webhooks(&system.target, customers.clone(), Mix::Sequential);
        load::send_count(system.server.addr, args.connections, args.customers, 200, opening).await?;
    }
    // The listing probes read one conversation of its own, which the load never writes to, so
    // its first page is the same size before and after the data grows.
    let listed_customer = args.customers;
    let listed = listed_customer..listed_customer + 1;
    let listed_messages = traffic::inbound_webhooks(&conversa_target, listed, Mix::Sequential);
    load::send_count(server.addr, 1, LISTED_MESSAGES, 200, listed_messages).await?;
    let listed = open_conversation(&conversa_db, &tenant, &customer_number(listed_customer))?;

    eprintln!("bench: probing Conversa's latency with {} messages", count_messages(&conversa_db, &tenant)?);
    let before = probe(&server, &conversa_db, &tenant, &listed, &args).await?;

    let bench = Bench {
        args: &args,
        work_dir: work_dir.clone(),
        postmaster,
        limit_db: &limit_db,
        pgbench_script: &refs.pgbench_script,
        peer,
        conversa: conversa_system,
    };
    if args.warmup > 0 {
        eprintln!("bench: warming up, {} s each", args.warmup);
        bench.round(Duration::from_secs(args.warmup)).await?;
    }
    let mut rounds = Vec::with_capacity(args.rounds);
    for n in 1..=args.rounds.max(1) {
        eprintln!(
            "bench: round {n}: limit, peer, conversa, {} connections, {} s each",
            args.connections, args.duration
        );
        rounds.push(bench.round(Duration::from_secs(args.duration)).await?);
    }
    let conversa_rss_kib = server.peak_rss_kib()?;
    let (peer_rss_kib, peer_processes) = match &bench.peer {
        Some(peer) => (Some(peer.server.peak_rss_kib()?), peer.server.processes()),
        None => (None, 0),
    };
    let conversations = tenant_sql(
        &conversa_db,
        &tenant,
        "SELECT string_agg(status || ' ' || n, ', ' ORDER BY status) FROM \
         (SELECT status, count(*) n FROM conversations GROUP BY status) s",
    )?;
    // The peer is done: stop it before the data grows, so it takes nothing from the probes.
    drop(bench);
    drop(peer_server);

    let after = if args.scale_messages > 0 {
        let have = count_messages(&conversa_db, &tenant)?;
        eprintln!("bench: growing Conversa's database from {have} to {} messages", args.scale_messages);
        grow(&conversa_db, &tenant, args.scale_messages.saturating_sub(have))?;
        Some(probe(&server, &conversa_db, &tenant, &listed, &args).await?)
    } else {
        None
    };

    let report = Report {
        connections: args.connections,
        duration: args.duration,
        warmup: args.warmup,
        customers: args.customers,
        http_workers: args.http_workers,
        service_env: args.service_env.clone(),
        peer_workers: args.peer_workers,
        peer_processes,
        probe_connections: args.probe_connections,
        probe_seconds: args.probe,
        rounds,
        conversa_rss_kib,
        peer_rss_kib,
        conversations,
        postgres_measured: postmaster.is_some(),
        before,
        after,
    };
    report.print();
    let jsonl = report.json_lines().join("\n") + "\n";
    std::fs::write(work_dir.join("summary.jsonl"), &jsonl)?;
    print!("{jsonl}");
    Ok(())
}

impl Bench<'_> {
    fn watched(&self, service: Option<&Server>) -> Watched {
        Watched { service: service.map(Server::pid), postgres: self.postmaster }
    }

    /// One round: the limit, the peer, Conversa, each for `duration` on a settled database.
    async fn round(&self, duration: Duration) -> anyhow::Result<Round> {
        let limit = self.limit(duration)?;
        let peer = match &self.peer {
            Some(peer) => Some(self.http(System::Peer, peer, duration).await?),
            None => None,
        };
        let conversa = self.http(System::Conversa, &self.conversa, duration).await?;
        Ok(Round { limit, peer, conversa })
    }

    fn limit(&self, duration: Duration) -> anyhow::Result<Run> {
        self.limit_db.settle()?;
        let watched = self.watched(None);
        let cpu_before = CpuSample::now(watched)?;
        let report = pgbench::run(
            self.pgbench_script,
            &self.limit_db.url,
            self.args.connections,
            duration,
            &self.work_dir,
        )?;
        // pgbench's backends exit with it; their CPU reaches the postmaster's counters only once
        // it has reaped them. Sampled at once, a run could miss all of it (PostgreSQL 0 ms).
        std::thread::sleep(Duration::from_millis(500));
        let cpu = CpuSample::now(watched)?.per_request_ms(&cpu_before, report.transactions);
        Ok(Run {
            system: System::Limit,
            rate: report.tps,
            requests: report.transactions,
            latencies: report.latencies,
            cpu,
        })
    }

    async fn http(&self, system: System, http: &HttpSystem<'_>, duration: Duration) -> anyhow::Result<Run> {
        http.db.settle()?;
        let watched = self.watched(Some(http.server));
        let load = traffic::inbound_webhooks(&http.target, 0..self.args.customers, Mix::Load);
        let cpu_before = CpuSample::now(watched)?;
        let report = load::run(http.server.addr, self.args.connections, duration, 200, load).await?;
        let cpu: CpuPerRequest = CpuSample::now(watched)?.per_request_ms(&cpu_before, report.ok);
        Ok(Run { system, rate: report.rate(), requests: report.ok, latencies: report.latencies, cpu })
    }
}

async fn register_account(server: &Server, tenant: &Tenant) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "account_sid": tenant.account_sid,
        "auth_token": tenant.auth_token,
        "friendly_name": "bench",
        "phone_numbers": [tenant.business],
    })
    .to_string();
    let request = traffic::json_request(&server.base_url(), tenant, "POST", "/api/v1/twilio-accounts", &body);
    load::send_count(server.addr, 1, 1, 201, Arc::new(move |_| request.clone()))
        .await
        .context("cannot register the bench Twilio account")
}

async fn set_closure_grace(server: &Server, tenant: &Tenant, grace_seconds: u64) -> anyhow::Result<()> {
    let body = serde_json::json!({"enabled": true, "config": {"grace_seconds": grace_seconds}}).to_string();
    let path = "/api/v1/features/closure_detection";
    let request = traffic::json_request(&server.base_url(), tenant, "PUT", path, &body);
    load::send_count(server.addr, 1, 1, 200, Arc::new(move |_| request.clone()))
        .await
        .context("cannot set the bench tenant's closure grace period")
}

/// Runs `sql` as the schema owner with the tenant set, so it holds under forced RLS too.
fn tenant_sql(db: &BenchDatabase, tenant: &Tenant, sql: &str) -> anyhow::Result<String> {
    psql(&db.url, &format!("SET app.owner_id = '{}'; {sql}", tenant.owner_id))
}

fn open_conversation(db: &BenchDatabase, tenant: &Tenant, customer: &str) -> anyhow::Result<String> {
    let id = tenant_sql(
        db,
        tenant,
        &format!(
            "SELECT id FROM conversations WHERE owner_id = '{}' AND customer_phone = '{customer}' \
             AND status IN ('pending', 'progress')",
            tenant.owner_id
        ),
    )?;
    anyhow::ensure!(!id.is_empty(), "no open conversation for {customer}");
    Ok(id)
}

fn count_messages(db: &BenchDatabase, tenant: &Tenant) -> anyhow::Result<u64> {
    let count = tenant_sql(db, tenant, "SELECT count(*) FROM messages")?;
    count.parse().with_context(|| format!("bad count: {count}"))
}

/// Adds `messages` messages in closed conversations of 100 messages each (the next probe
/// vacuums and analyzes).
fn grow(db: &BenchDatabase, tenant: &Tenant, messages: u64) -> anyhow::Result<()> {
    const PER_CONVERSATION: u64 = 100;
    let conversations = messages.div_ceil(PER_CONVERSATION);
    if conversations == 0 {
        return Ok(());
    }
    let owner = &tenant.owner_id;
    let business = &tenant.business;
    tenant_sql(
        db,
        tenant,
        &format!(
            "INSERT INTO conversations (owner_id, id, channel, customer_phone, business_phone, status, expires_at,
                 idle_timeout_seconds, idle_deadline_at, max_extension_seconds, max_expires_at, last_message_at,
                 last_inbound_at, message_count, closed_at, close_reason, created_at, updated_at)
             SELECT '{owner}', bench_uuid_v7(), 'sms', '+5521' || (900000000 + g), '{business}', 'user_closed',
                 now() + interval '1 day', 3600, now() + interval '1 hour', 86400, now() + interval '2 days',
                 now(), now(), {PER_CONVERSATION}, now(), 'bench seed', now(), now()
               FROM generate_series(1, {conversations}) g;
             INSERT INTO messages (owner_id, id, conversation_id, direction, sender, message_type, body, provider_sid,
                 delivery_status, created_at, updated_at)
             SELECT c.owner_id, bench_uuid_v7(), c.id,
                 CASE WHEN g % 2 = 0 THEN 'inbound' ELSE 'outbound' END,
                 CASE WHEN g % 2 = 0 THEN 'user' ELSE 'agent' END, 'text', 'Mensagem de carga número ' || g,
                 'SMseed' || md5(c.id::text || g), CASE WHEN g % 2 = 0 THEN 'received' ELSE 'delivered' END,
                 now(), now()
               FROM conversations c CROSS JOIN generate_series(1, {PER_CONVERSATION}) g
              WHERE c.owner_id = '{owner}' AND c.close_reason = 'bench seed';"
        ),
    )?;
    Ok(())
}

/// Conversa's latency with few connections: inbound webhooks (the load's mix), then the
/// listing of a 60-message conversation's first page.
async fn probe(
    server: &Server,
    db: &BenchDatabase,
    tenant: &Tenant,
    conversation_id: &str,
    args: &Args,
) -> anyhow::Result<Probe> {
    let messages = count_messages(db, tenant)?;
    let duration = Duration::from_secs(args.probe);
    db.settle()?;
    let base = server.base_url();
    let inbound = traffic::inbound_webhooks(&tenant.webhook_target(&base), 0..args.customers, Mix::Load);
    let inbound = load::run(server.addr, args.probe_connections, duration, 200, inbound).await?;
    let pages = traffic::message_pages(&base, tenant, conversation_id, PAGE);
    let listing = load::run(server.addr, args.probe_connections, duration, 200, pages).await?;
    Ok(Probe { messages, inbound: inbound.latencies, listing: listing.latencies })
}

/// `NAME=value` of `--service-env`: one of the service's `CONVERSA_*` settings.
fn service_setting(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((name, value)) if name.starts_with("CONVERSA_") => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!("{raw:?} is not CONVERSA_<NAME>=<value>")),
    }
}
