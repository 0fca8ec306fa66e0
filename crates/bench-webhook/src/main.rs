//! Load benchmark of `POST /webhooks/twilio/inbound` (run it with `scripts/bench-webhook`).
//!
//! In one run, against a fresh database on the server `DATABASE_URL` names:
//! 1. the real `conversa serve` takes signed inbound webhooks with unique MessageSids from
//!    `--connections` keep-alive connections for `--duration`: requests/s, p50/p99, peak RSS;
//! 2. pgbench runs the same SQL statements at the same concurrency as the same role: the
//!    PostgreSQL limit for that work, and the ratio service/pgbench. The two alternate for
//!    `--rounds` rounds, and the median round's ratio is the result: on a shared or virtual
//!    machine, throughput drifts between runs more than between the two sides of one round;
//! 3. the database grows to `--scale-messages` messages, and the latency of the inbound webhook
//!    and of `GET /conversations/{id}/messages` is measured again, before/after.

mod cpu;
mod load;
mod pgbench;
mod setup;
mod stats;
mod traffic;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use serde_json::Value;

use crate::cpu::{CpuPerRequest, CpuSample};
use crate::load::LoadReport;
use crate::pgbench::Mode;
use crate::setup::{BenchDatabase, Conversa, Server, psql};
use crate::traffic::{Tenant, customer_number};

/// The tenant's business number.
const BUSINESS: &str = "+5511940000001";
/// Messages of the conversation the listing probes read, and the page they ask for.
const LISTED_MESSAGES: u64 = 60;
const PAGE: u32 = 50;

#[derive(Debug, Parser)]
#[command(about = "Load benchmark of the inbound Twilio webhook, beside pgbench running the same SQL")]
struct Args {
    /// A PostgreSQL role that may create databases (scripts/bench-webhook provides one).
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The `conversa` binary to measure (build it with --release).
    #[arg(long, default_value = "target/release/conversa")]
    conversa: PathBuf,
    /// Concurrent connections, for the service and for pgbench.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Length of each measured run, in seconds.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Service/pgbench rounds; the median ratio is reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Length of each latency probe (before/after growing the data), in seconds.
    #[arg(long, default_value_t = 8)]
    probe: u64,
    /// Connections of the latency probes: few, so latency is the requests' own work rather
    /// than their wait for a core.
    #[arg(long, default_value_t = 4)]
    probe_connections: usize,
    /// Distinct customers writing (each has one open conversation).
    #[arg(long, default_value_t = 1000)]
    customers: u64,
    /// Grow the database to this many messages for the second probe; 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    scale_messages: u64,
    /// The service's `CONVERSA_LOG_FILTER` (its default, `info`, logs a line per request).
    #[arg(long, default_value = "info")]
    log_filter: String,
    /// The service's `CONVERSA_HTTP_WORKERS` (0, its default: one per core).
    #[arg(long, default_value_t = 0)]
    http_workers: usize,
    /// Keep the bench database afterwards (for inspection).
    #[arg(long)]
    keep: bool,
    /// Where logs and pgbench files go.
    #[arg(long, default_value = "target/bench-webhook")]
    work_dir: PathBuf,
}

/// One round of the throughput comparison: the service, then pgbench on the same SQL.
#[derive(Debug)]
struct Round {
    service: LoadReport,
    service_cpu: CpuPerRequest,
    /// pgbench in the service's round trips.
    pg: pgbench::PgbenchReport,
    pg_cpu: CpuPerRequest,
    /// pgbench with a round trip per statement.
    one_by_one: pgbench::PgbenchReport,
    one_by_one_cpu: CpuPerRequest,
}

impl Round {
    /// Service over pgbench in the service's round trips: the ratio the goal is about.
    fn ratio(&self) -> f64 {
        self.service.rate() / self.pg.tps
    }

    fn ratio_one_by_one(&self) -> f64 {
        self.service.rate() / self.one_by_one.tps
    }
}

/// Latency of the two probed requests at one database size.
#[derive(Debug)]
struct Probe {
    messages: u64,
    inbound: LoadReport,
    listing: LoadReport,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.work_dir)?;
    let work_dir = args.work_dir.canonicalize()?;
    let connections = args.connections;

    eprintln!("bench: creating the database and the tenant");
    let db = BenchDatabase::create(&args.database_url, "conversa_bench", args.keep)?;
    let conversa = Conversa::new(&args.conversa, &db.url);
    conversa.run(&["migrate"])?;
    psql(&db.url, pgbench::SUPPORT_SQL)?;
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

    let service_env = [
        ("CONVERSA_LOG_FILTER", args.log_filter.clone()),
        ("CONVERSA_HTTP_WORKERS", args.http_workers.to_string()),
    ];
    let server = conversa.serve(&work_dir.join("server.log"), &service_env).await?;
    register_account(&server, &tenant).await?;
    let base = server.base_url();

    eprintln!("bench: opening {} customers' conversations", args.customers);
    let opening = traffic::inbound_webhooks(&base, &tenant, 0..args.customers);
    load::send_count(server.addr, connections, args.customers, 200, opening).await?;
    // The listing probes read one conversation of its own, which the load never writes to, so
    // its first page is the same size before and after the data grows.
    let listed_customer = args.customers;
    let listed_messages = traffic::inbound_webhooks(&base, &tenant, listed_customer..listed_customer + 1);
    load::send_count(server.addr, 1, LISTED_MESSAGES, 200, listed_messages).await?;
    let listed = open_conversation(&db, &tenant, &customer_number(listed_customer))?;

    eprintln!("bench: probing latency with {} messages", count_messages(&db, &tenant)?);
    let before = probe(&server, &db, &tenant, &listed, &args).await?;

    let mut rounds = Vec::with_capacity(args.rounds);
    for round in 1..=args.rounds.max(1) {
        eprintln!(
            "bench: round {round}: service then pgbench, {connections} connections, {} s each",
            args.duration
        );
        rounds.push(run_round(&server, &db, &tenant, &args, &work_dir).await?);
    }
    let peak_rss_kib = server.peak_rss_kib()?;

    let after = if args.scale_messages > 0 {
        let have = count_messages(&db, &tenant)?;
        eprintln!("bench: growing the database from {have} to {} messages", args.scale_messages);
        grow(&db, &tenant, args.scale_messages.saturating_sub(have))?;
        Some(probe(&server, &db, &tenant, &listed, &args).await?)
    } else {
        None
    };

    print_report(&args, &rounds, peak_rss_kib, &before, after.as_ref());
    Ok(())
}

/// The service, then pgbench, on the same work for the same time.
async fn run_round(
    server: &Server,
    db: &BenchDatabase,
    tenant: &Tenant,
    args: &Args,
    work_dir: &std::path::Path,
) -> anyhow::Result<Round> {
    let duration = Duration::from_secs(args.duration);
    let inbound = traffic::inbound_webhooks(&server.base_url(), tenant, 0..args.customers);
    vacuum(db)?;
    let cpu_before = CpuSample::now(Some(server.pid()))?;
    let service = load::run(server.addr, args.connections, duration, 200, inbound).await?;
    let service_cpu = CpuSample::now(Some(server.pid()))?.per_request_ms(&cpu_before, service.ok);

    let pgbench = |mode| -> anyhow::Result<(pgbench::PgbenchReport, CpuPerRequest)> {
        vacuum(db)?;
        let cpu_before = CpuSample::now(Some(server.pid()))?;
        let report = pgbench::run_inbound(
            mode,
            &db.app_url,
            tenant,
            args.customers,
            args.connections,
            duration,
            work_dir,
        )?;
        let transactions = (report.tps * duration.as_secs_f64()).round() as u64;
        Ok((report, CpuSample::now(Some(server.pid()))?.per_request_ms(&cpu_before, transactions)))
    };
    let (pg, pg_cpu) = pgbench(Mode::Pipelined)?;
    let (one_by_one, one_by_one_cpu) = pgbench(Mode::OneByOne)?;
    Ok(Round { service, service_cpu, pg, pg_cpu, one_by_one, one_by_one_cpu })
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

/// Vacuums and analyzes the database, so that every run starts from the same state: the
/// conversations' rows are updated with every message, and dead versions (or autovacuum
/// catching up on them in the middle of a run) would tax whichever run comes later.
fn vacuum(db: &BenchDatabase) -> anyhow::Result<()> {
    psql(&db.url, "VACUUM (ANALYZE)").map(drop)
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

async fn probe(
    server: &Server,
    db: &BenchDatabase,
    tenant: &Tenant,
    conversation_id: &str,
    args: &Args,
) -> anyhow::Result<Probe> {
    let messages = count_messages(db, tenant)?;
    let duration = Duration::from_secs(args.probe);
    vacuum(db)?;
    let base = server.base_url();
    let inbound = traffic::inbound_webhooks(&base, tenant, 0..args.customers);
    let inbound = load::run(server.addr, args.probe_connections, duration, 200, inbound).await?;
    let pages = traffic::message_pages(&base, tenant, conversation_id, PAGE);
    let listing = load::run(server.addr, args.probe_connections, duration, 200, pages).await?;
    Ok(Probe { messages, inbound, listing })
}

fn print_report(args: &Args, rounds: &[Round], peak_rss_kib: u64, before: &Probe, after: Option<&Probe>) {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    println!();
    println!(
        "POST /webhooks/twilio/inbound: {} connections, {} rounds of {} s, {} customers, {cores} cores, \
         service HTTP workers: {}",
        args.connections,
        rounds.len(),
        args.duration,
        args.customers,
        if args.http_workers == 0 { "one per core".to_owned() } else { args.http_workers.to_string() }
    );
    println!(
        "{:<7}{:>15}{:>22}{:>22}{:>10}{:>14}",
        "round", "service req/s", "pgbench tps pipelined", "pgbench tps 1-by-1", "ratio", "ratio 1-by-1"
    );
    for (n, round) in rounds.iter().enumerate() {
        println!(
            "{:<7}{:>15.1}{:>22.1}{:>22.1}{:>10.2}{:>14.2}",
            n + 1,
            round.service.rate(),
            round.pg.tps,
            round.one_by_one.tps,
            round.ratio(),
            round.ratio_one_by_one()
        );
    }
    let mut by_ratio: Vec<&Round> = rounds.iter().collect();
    by_ratio.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    let median = by_ratio[by_ratio.len() / 2];
    println!(
        "ratio service/pgbench (pipelined as the service): {:.2} (median round; lowest {:.2}, highest {:.2})",
        median.ratio(),
        by_ratio[0].ratio(),
        by_ratio[by_ratio.len() - 1].ratio()
    );
    let mut one_by_one: Vec<f64> = rounds.iter().map(Round::ratio_one_by_one).collect();
    one_by_one.sort_by(f64::total_cmp);
    println!(
        "ratio service/pgbench (a round trip per statement): {:.2} (median)",
        one_by_one[one_by_one.len() / 2]
    );
    println!("latency in the median round (p50 / p99 ms):");
    for (name, latencies) in [
        ("service", &median.service.latencies),
        ("pgbench pipelined", &median.pg.latencies),
        ("pgbench 1-by-1", &median.one_by_one.latencies),
    ] {
        println!("  {name:<20}{:>9.2}{:>9.2}", latencies.percentile_ms(50.0), latencies.percentile_ms(99.0));
    }
    println!("peak RSS of the service: {:.1} MiB", peak_rss_kib as f64 / 1024.0);
    let (service_cpu, pg_cpu, one_cpu) = (median.service_cpu, median.pg_cpu, median.one_by_one_cpu);
    println!(
        "CPU ms per request (median round), service run: {:.2} = service {:.2} + load generator {:.2} + PostgreSQL {:.2}",
        service_cpu.machine, service_cpu.service, service_cpu.load, service_cpu.rest
    );
    println!(
        "CPU ms per transaction (median round), PostgreSQL and pgbench: pipelined {:.2}, one by one {:.2}",
        pg_cpu.machine, one_cpu.machine
    );
    println!();
    println!("Latency as the data grows ({} connections, {} s each):", args.probe_connections, args.probe);
    println!(
        "{:<12}{:>12}{:>14}{:>10}{:>18}{:>10}",
        "", "messages", "inbound p50", "p99", "GET messages p50", "p99"
    );
    let row = |name: &str, probe: &Probe| {
        println!(
            "{name:<12}{:>12}{:>14.2}{:>10.2}{:>18.2}{:>10.2}",
            probe.messages,
            probe.inbound.latencies.percentile_ms(50.0),
            probe.inbound.latencies.percentile_ms(99.0),
            probe.listing.latencies.percentile_ms(50.0),
            probe.listing.latencies.percentile_ms(99.0)
        );
    };
    row("before", before);
    if let Some(after) = after {
        row("after", after);
        let ratio = |a: &LoadReport, b: &LoadReport| {
            a.latencies.percentile_ms(50.0) / b.latencies.percentile_ms(50.0)
        };
        println!(
            "p50 after/before: inbound {:.2}, GET messages {:.2}",
            ratio(&after.inbound, &before.inbound),
            ratio(&after.listing, &before.listing)
        );
    }
}
