//! PostgreSQL's limit for the same work: pgbench running, at the same concurrency and as the
//! same role, the statements the service runs for one inbound webhook (`sql/inbound.sql`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::stats::Latencies;
use crate::traffic::{Tenant, random_hex};

/// The statements of one inbound webhook, as a pgbench script.
pub const INBOUND_SCRIPT: &str = include_str!("../sql/inbound.sql");
/// Functions the script needs, installed by the schema owner.
pub const SUPPORT_SQL: &str = include_str!("../sql/support.sql");

/// How pgbench sends the statements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// In the service's round trips: its pipelined statements in `\startpipeline` blocks
    /// (pgbench syncs once per block; the service's driver syncs after each statement).
    Pipelined,
    /// One round trip per statement.
    OneByOne,
}

impl Mode {
    fn script(self) -> String {
        match self {
            Self::Pipelined => INBOUND_SCRIPT.to_owned(),
            Self::OneByOne => INBOUND_SCRIPT
                .lines()
                .filter(|line| !line.starts_with("\\startpipeline") && !line.starts_with("\\endpipeline"))
                .map(|line| format!("{line}\n"))
                .collect(),
        }
    }
}

/// What pgbench measured.
#[derive(Debug)]
pub struct PgbenchReport {
    /// Transactions (whole webhooks) per second, without connection set-up.
    pub tps: f64,
    /// Each transaction's latency.
    pub latencies: Latencies,
}

/// Runs the inbound script for `duration` with `clients` connections of `app_url`.
pub fn run_inbound(
    mode: Mode,
    app_url: &str,
    tenant: &Tenant,
    customers: u64,
    clients: usize,
    duration: Duration,
    work_dir: &Path,
) -> anyhow::Result<PgbenchReport> {
    let script = work_dir.join("inbound.sql");
    std::fs::write(&script, mode.script())?;
    let log_prefix = work_dir.join("pgbench_log");
    remove_logs(work_dir)?;
    let output = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-l"])
        .arg(format!("--log-prefix={}", log_prefix.display()))
        .args(["-c", &clients.to_string(), "-j", &clients.min(2).to_string()])
        .args(["-T", &duration.as_secs().max(1).to_string()])
        .args(["-D", &format!("owner={}", tenant.owner_id)])
        .args(["-D", &format!("account_sid={}", tenant.account_sid)])
        .args(["-D", &format!("business={}", tenant.business)])
        .args(["-D", &format!("customers={customers}")])
        .args(["-D", &format!("tag={}", random_hex::<4>())])
        .arg("-f")
        .arg(&script)
        .arg(app_url)
        .output()
        .context("cannot run pgbench (install the PostgreSQL client tools)")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("pgbench failed ({}): {stdout}{}", output.status, String::from_utf8_lossy(&output.stderr));
    }
    let tps = parse_tps(&stdout).with_context(|| format!("no tps in pgbench's output:\n{stdout}"))?;
    let failed = parse_failed(&stdout);
    if failed > 0 {
        bail!("pgbench: {failed} transactions failed:\n{stdout}");
    }
    Ok(PgbenchReport { tps, latencies: read_logs(work_dir)? })
}

fn is_log(name: &str) -> bool {
    name.starts_with("pgbench_log.")
}

fn remove_logs(dir: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if is_log(&entry.file_name().to_string_lossy()) {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

/// Per-transaction logs: `client transaction latency_us script epoch us` per line.
fn read_logs(dir: &Path) -> anyhow::Result<Latencies> {
    let mut latencies = Latencies::default();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if !is_log(&entry.file_name().to_string_lossy()) {
            continue;
        }
        for line in std::fs::read_to_string(entry.path())?.lines() {
            if let Some(micros) = line.split_whitespace().nth(2).and_then(|v| v.parse().ok()) {
                latencies.record_micros(micros);
            }
        }
    }
    Ok(latencies)
}

fn parse_tps(stdout: &str) -> Option<f64> {
    stdout.lines().find_map(|line| line.strip_prefix("tps = ")?.split_whitespace().next()?.parse().ok())
}

fn parse_failed(stdout: &str) -> u64 {
    stdout
        .lines()
        .find_map(|line| {
            line.strip_prefix("number of failed transactions: ")?.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pgbench_output() {
        let out = "number of transactions actually processed: 100\n\
                   number of failed transactions: 0 (0.000%)\n\
                   latency average = 8.1 ms\n\
                   tps = 3937.446511 (without initial connection time)\n";
        assert_eq!(parse_tps(out), Some(3937.446511));
        assert_eq!(parse_failed(out), 0);
        assert_eq!(parse_failed("number of failed transactions: 3 (1.0%)"), 3);
        assert_eq!(parse_tps("nothing"), None);
    }

    #[test]
    fn one_by_one_is_the_script_without_pipelines() {
        let pipelined = Mode::Pipelined.script();
        let one_by_one = Mode::OneByOne.script();
        assert!(pipelined.contains("\\startpipeline") && pipelined.contains("\\endpipeline"));
        assert!(!one_by_one.contains("pipeline\n"));
        let statements = |script: &str| script.matches(';').count();
        assert_eq!(statements(&pipelined), statements(&one_by_one));
    }
}
