//! The one-statement PostgreSQL limit: pgbench running the reference script
//! (`pgbench_minimal.sql`: upsert the active conversation and insert the message in one
//! statement, no RLS) on a scratch database with the reference schema.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::stats::Latencies;

/// What pgbench measured.
#[derive(Debug)]
pub struct PgbenchReport {
    /// Transactions (whole webhooks) per second, without connection set-up.
    pub tps: f64,
    /// Transactions it completed.
    pub transactions: u64,
    /// Each transaction's latency.
    pub latencies: Latencies,
}

/// Runs `script` (read where it lies) for `duration` with `clients` connections of `url`:
/// `pgbench -n -M prepared -f <script> -c <clients> -j 2 -T <secs>`, logging every transaction
/// under `work_dir` for the latency percentiles.
pub fn run(
    script: &Path,
    url: &str,
    clients: usize,
    duration: Duration,
    work_dir: &Path,
) -> anyhow::Result<PgbenchReport> {
    let log_prefix = work_dir.join("pgbench_log");
    remove_logs(work_dir)?;
    let output = Command::new("pgbench")
        .args(["-n", "-M", "prepared", "-l"])
        .arg(format!("--log-prefix={}", log_prefix.display()))
        .arg("-f")
        .arg(script)
        .args(["-c", &clients.to_string(), "-j", &clients.min(2).to_string()])
        .args(["-T", &duration.as_secs().max(1).to_string()])
        .arg(url)
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
    let latencies = read_logs(work_dir)?;
    Ok(PgbenchReport { tps, transactions: latencies.len() as u64, latencies })
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
}
