//! What a run measured, printed for people (tables) and for machines (JSON lines, also written
//! to `summary.jsonl` in the work directory).

use serde_json::{Value, json};

use crate::cpu::CpuPerRequest;
use crate::stats::Latencies;
use crate::traffic::FAREWELL;

/// The three systems of a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// pgbench on the one-statement script.
    Limit,
    /// The FastAPI peer.
    Peer,
    /// `conversa serve`.
    Conversa,
}

impl System {
    /// Its name in the tables and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Limit => "limit",
            Self::Peer => "peer",
            Self::Conversa => "conversa",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Limit => "limit (pgbench, 1 stmt)",
            Self::Peer => "peer (FastAPI, uvicorn)",
            Self::Conversa => "conversa",
        }
    }
}

/// One measured run of one system.
#[derive(Debug)]
pub struct Run {
    /// Which system.
    pub system: System,
    /// Requests/s (transactions/s for pgbench).
    pub rate: f64,
    /// Requests (transactions) it completed.
    pub requests: u64,
    /// Each one's latency.
    pub latencies: Latencies,
    /// CPU per request.
    pub cpu: CpuPerRequest,
}

impl Run {
    fn p50(&self) -> f64 {
        self.latencies.percentile_ms(50.0)
    }

    fn p99(&self) -> f64 {
        self.latencies.percentile_ms(99.0)
    }

    /// The share of the machine's cores that processes outside the benchmark (neither the
    /// service, nor PostgreSQL, nor the load generator or pgbench) kept busy during the run.
    fn foreign_share(&self) -> f64 {
        let cores = std::thread::available_parallelism().map_or(1, usize::from) as f64;
        let seconds = self.requests as f64 / self.rate;
        if seconds > 0.0 { self.cpu.other * self.requests as f64 / 1000.0 / (seconds * cores) } else { 0.0 }
    }
}

/// One round: each system in turn, for the same time.
#[derive(Debug)]
pub struct Round {
    /// pgbench on the one-statement script.
    pub limit: Run,
    /// The FastAPI peer, unless left out.
    pub peer: Option<Run>,
    /// Conversa.
    pub conversa: Run,
}

impl Round {
    fn get(&self, system: System) -> Option<&Run> {
        match system {
            System::Limit => Some(&self.limit),
            System::Peer => self.peer.as_ref(),
            System::Conversa => Some(&self.conversa),
        }
    }

    /// Conversa's rate over `other`'s in this round.
    fn ratio(&self, other: System) -> Option<f64> {
        Some(self.conversa.rate / self.get(other)?.rate)
    }
}

/// Conversa's latency at one database size.
#[derive(Debug)]
pub struct Probe {
    /// Messages in its database.
    pub messages: u64,
    /// Inbound webhooks.
    pub inbound: Latencies,
    /// `GET /conversations/{id}/messages?limit=50`.
    pub listing: Latencies,
}

/// The whole run.
#[derive(Debug)]
pub struct Report {
    pub connections: usize,
    pub duration: u64,
    pub warmup: u64,
    pub customers: u64,
    pub http_workers: usize,
    /// Settings given with `--service-env` (none: the defaults were measured).
    pub service_env: Vec<(String, String)>,
    pub peer_workers: usize,
    /// Processes of the peer's tree (uvicorn's master and workers).
    pub peer_processes: usize,
    pub probe_connections: usize,
    pub probe_seconds: u64,
    pub rounds: Vec<Round>,
    pub conversa_rss_kib: u64,
    pub peer_rss_kib: Option<u64>,
    /// Conversa's conversations by status after the rounds.
    pub conversations: String,
    /// Whether PostgreSQL's CPU was read from its processes (else: the machine's rest).
    pub postgres_measured: bool,
    pub before: Probe,
    pub after: Option<Probe>,
}

/// A system's figures over the rounds: its median round by rate, and the range.
struct Summary<'a> {
    median: &'a Run,
    lowest: f64,
    highest: f64,
}

/// Median, lowest and highest of `values` (not empty).
fn spread(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    (values[values.len() / 2], values[0], values[values.len() - 1])
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn cell(value: Option<f64>, width: usize, decimals: usize) -> String {
    match value {
        Some(v) if v.is_finite() => format!("{v:>width$.decimals$}"),
        _ => format!("{:>width$}", "-"),
    }
}

impl Report {
    fn systems(&self) -> Vec<System> {
        let mut systems = vec![System::Limit];
        if self.rounds.iter().all(|r| r.peer.is_some()) {
            systems.push(System::Peer);
        }
        systems.push(System::Conversa);
        systems
    }

    /// The systems Conversa is compared with, in the order of the ratios.
    fn others(&self) -> Vec<System> {
        self.systems().into_iter().rev().filter(|s| *s != System::Conversa).collect()
    }

    fn summary(&self, system: System) -> Option<Summary<'_>> {
        let mut runs: Vec<&Run> = self.rounds.iter().filter_map(|r| r.get(system)).collect();
        if runs.is_empty() {
            return None;
        }
        runs.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        Some(Summary {
            median: runs[runs.len() / 2],
            lowest: runs[0].rate,
            highest: runs[runs.len() - 1].rate,
        })
    }

    fn rss_mib(&self, system: System) -> Option<f64> {
        match system {
            System::Limit => None,
            System::Peer => self.peer_rss_kib.map(mib),
            System::Conversa => Some(mib(self.conversa_rss_kib)),
        }
    }

    /// Median, lowest and highest of the rounds' Conversa/`other` rate ratios.
    fn rate_ratio(&self, other: System) -> Option<(f64, f64, f64)> {
        let ratios: Option<Vec<f64>> = self.rounds.iter().map(|r| r.ratio(other)).collect();
        ratios.filter(|r| !r.is_empty()).map(spread)
    }

    /// The figures of the table's columns for `system`: req/s, p50, p99, RSS, CPU of the
    /// service, CPU of PostgreSQL.
    fn columns(&self, system: System) -> Option<[Option<f64>; 6]> {
        let s = self.summary(system)?;
        let service_cpu = (system != System::Limit).then_some(s.median.cpu.service);
        Some([
            Some(s.median.rate),
            Some(s.median.p50()),
            Some(s.median.p99()),
            self.rss_mib(system),
            service_cpu,
            Some(s.median.cpu.postgres),
        ])
    }

    fn ratio_columns(&self, other: System) -> Option<[Option<f64>; 6]> {
        let conversa = self.columns(System::Conversa)?;
        let other_columns = self.columns(other)?;
        let mut ratios = [None; 6];
        for (i, ratio) in ratios.iter_mut().enumerate() {
            *ratio = match (conversa[i], other_columns[i]) {
                (Some(a), Some(b)) if b > 0.0 => Some(a / b),
                _ => None,
            };
        }
        ratios[0] = self.rate_ratio(other).map(|(median, _, _)| median);
        Some(ratios)
    }

    /// The tables.
    pub fn print(&self) {
        let cores = std::thread::available_parallelism().map_or(0, usize::from);
        let systems = self.systems();
        println!();
        println!(
            "POST /webhooks/twilio/inbound: {} connections, {} rounds of {} s after a {} s warm-up, {} senders \
             (a fifth \"{FAREWELL}\"), {cores} cores",
            self.connections,
            self.rounds.len(),
            self.duration,
            self.warmup,
            self.customers
        );
        println!(
            "  limit:    pgbench -n -M prepared -f pgbench_minimal.sql -c {} -j 2 (one statement, no RLS)",
            self.connections
        );
        if systems.contains(&System::Peer) {
            println!(
                "  peer:     FastAPI + asyncpg, uvicorn --workers {} --loop uvloop --http httptools ({} processes)",
                self.peer_workers, self.peer_processes
            );
        } else {
            println!("  peer:     left out (--no-peer)");
        }
        println!(
            "  conversa: conversa serve, HTTP workers {}",
            if self.http_workers == 0 { "one per core".to_owned() } else { self.http_workers.to_string() }
        );
        for (name, value) in &self.service_env {
            println!("            {name}={value} (not the default)");
        }
        println!();
        print!("{:<7}", "round");
        for system in &systems {
            print!(
                "{:>16}",
                format!("{} {}", system.name(), if *system == System::Limit { "tps" } else { "req/s" })
            );
        }
        for other in &self.others() {
            print!("{:>16}", format!("conversa/{}", other.name()));
        }
        println!();
        for (n, round) in self.rounds.iter().enumerate() {
            print!("{:<7}", n + 1);
            for system in &systems {
                print!("{}", cell(round.get(*system).map(|r| r.rate), 16, 1));
            }
            for other in &self.others() {
                print!("{}", cell(round.ratio(*other), 16, 2));
            }
            println!();
        }
        println!();
        println!(
            "{:<26}{:>10}{:>9}{:>9}{:>14}{:>17}{:>13}",
            "system (median round)", "req/s", "p50 ms", "p99 ms", "peak RSS MiB", "CPU ms/webhook:", ""
        );
        println!(
            "{:<26}{:>10}{:>9}{:>9}{:>14}{:>17}{:>13}",
            "", "(tps)", "", "", "", "service", "PostgreSQL"
        );
        let row = |label: &str, columns: [Option<f64>; 6], decimals: [usize; 6]| {
            println!(
                "{label:<26}{}{}{}{}{}{}",
                cell(columns[0], 10, decimals[0]),
                cell(columns[1], 9, decimals[1]),
                cell(columns[2], 9, decimals[2]),
                cell(columns[3], 14, decimals[3]),
                cell(columns[4], 17, decimals[4]),
                cell(columns[5], 13, decimals[5])
            );
        };
        for system in &systems {
            if let Some(columns) = self.columns(*system) {
                row(system.label(), columns, [1, 2, 2, 1, 2, 2]);
            }
        }
        for other in &self.others() {
            if let Some(ratios) = self.ratio_columns(*other) {
                row(&format!("ratio conversa/{}", other.name()), ratios, [2; 6]);
            }
        }
        let ranges: Vec<String> = self
            .others()
            .into_iter()
            .filter_map(|other| {
                let (median, low, high) = self.rate_ratio(other)?;
                Some(format!("conversa/{} {median:.2} ({low:.2}-{high:.2})", other.name()))
            })
            .collect();
        println!(
            "req/s ratios: median of the rounds' ratios, lowest-highest in brackets: {}; the other ratios \
             are of the median rounds' figures",
            ranges.join(", ")
        );
        let spreads: Vec<String> = systems
            .iter()
            .filter_map(|s| {
                let summary = self.summary(*s)?;
                Some(format!("{} {:.1}-{:.1}", s.name(), summary.lowest, summary.highest))
            })
            .collect();
        println!("req/s over the rounds (lowest-highest): {}", spreads.join(", "));
        let machine: Vec<String> = systems
            .iter()
            .filter_map(|s| {
                let cpu = self.summary(*s)?.median.cpu;
                Some(match s {
                    System::Limit => format!(
                        "limit {:.2} (PostgreSQL {:.2} + pgbench client {:.2} + other {:.2})",
                        cpu.machine, cpu.postgres, cpu.client, cpu.other
                    ),
                    _ => format!(
                        "{} {:.2} (service {:.2} + PostgreSQL {:.2} + load generator {:.2} + other {:.2})",
                        s.name(),
                        cpu.machine,
                        cpu.service,
                        cpu.postgres,
                        cpu.load,
                        cpu.other
                    ),
                })
            })
            .collect();
        println!("CPU ms per webhook of the whole machine (median round): {}", machine.join("; "));
        let foreign = self.rounds.iter().flat_map(|r| [Some(&r.limit), r.peer.as_ref(), Some(&r.conversa)]);
        let foreign = foreign.flatten().map(Run::foreign_share).fold(0.0, f64::max);
        println!(
            "CPU of processes outside the benchmark: at most {:.0} % of the machine during a run{}",
            foreign * 100.0,
            if foreign > 0.1 {
                " (WARNING: something else was busy; these figures are not clean)"
            } else {
                ""
            }
        );
        if !self.postgres_measured {
            println!("(PostgreSQL's processes were not visible: its CPU is the machine's rest)");
        }
        println!("Conversa's conversations after the rounds: {}", self.conversations);
        println!();
        println!(
            "Conversa's latency as the data grows ({} connections, {} s each):",
            self.probe_connections, self.probe_seconds
        );
        println!(
            "{:<12}{:>12}{:>14}{:>10}{:>18}{:>10}",
            "", "messages", "inbound p50", "p99", "GET messages p50", "p99"
        );
        let probe_row = |name: &str, probe: &Probe| {
            println!(
                "{name:<12}{:>12}{:>14.2}{:>10.2}{:>18.2}{:>10.2}",
                probe.messages,
                probe.inbound.percentile_ms(50.0),
                probe.inbound.percentile_ms(99.0),
                probe.listing.percentile_ms(50.0),
                probe.listing.percentile_ms(99.0)
            );
        };
        probe_row("before", &self.before);
        if let Some(after) = &self.after {
            probe_row("after", after);
            let ratio = |a: &Latencies, b: &Latencies| a.percentile_ms(50.0) / b.percentile_ms(50.0);
            println!(
                "p50 after/before: inbound {:.2}, GET messages {:.2}",
                ratio(&after.inbound, &self.before.inbound),
                ratio(&after.listing, &self.before.listing)
            );
        }
        println!();
    }

    /// One JSON object per line: the configuration, every run, every system's summary, the
    /// ratios, and the latency before/after growing the data.
    pub fn json_lines(&self) -> Vec<String> {
        let round3 = |v: f64| if v.is_finite() { json!((v * 1000.0).round() / 1000.0) } else { Value::Null };
        let opt = |v: Option<f64>| v.map_or(Value::Null, round3);
        let mut lines = vec![json!({
            "record": "config",
            "connections": self.connections,
            "duration_s": self.duration,
            "warmup_s": self.warmup,
            "rounds": self.rounds.len(),
            "senders": self.customers,
            "farewell_share": 0.2,
            "cores": std::thread::available_parallelism().map_or(0, usize::from),
            "conversa_http_workers": self.http_workers,
            "conversa_settings": self.service_env.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<String, Value>>(),
            "peer_workers": self.peer_workers,
            "peer_processes": self.peer_processes,
            "postgres_cpu_measured": self.postgres_measured,
        })];
        let cpu = |c: &CpuPerRequest| {
            json!({
                "machine": round3(c.machine), "service": round3(c.service), "postgres": round3(c.postgres),
                "load_generator": round3(c.load), "pgbench_client": round3(c.client), "other": round3(c.other),
            })
        };
        for (n, round) in self.rounds.iter().enumerate() {
            for system in self.systems() {
                let Some(run) = round.get(system) else { continue };
                lines.push(json!({
                    "record": "run", "round": n + 1, "system": run.system.name(), "rate": round3(run.rate),
                    "requests": run.requests, "p50_ms": round3(run.p50()), "p99_ms": round3(run.p99()),
                    "cpu_ms_per_request": cpu(&run.cpu), "foreign_cpu_share": round3(run.foreign_share()),
                }));
            }
        }
        for system in self.systems() {
            let Some(s) = self.summary(system) else { continue };
            lines.push(json!({
                "record": "system", "system": system.name(), "rate": round3(s.median.rate),
                "rate_min": round3(s.lowest), "rate_max": round3(s.highest),
                "p50_ms": round3(s.median.p50()), "p99_ms": round3(s.median.p99()),
                "peak_rss_mib": opt(self.rss_mib(system)),
                "cpu_ms_service": opt((system != System::Limit).then_some(s.median.cpu.service)),
                "cpu_ms_postgres": round3(s.median.cpu.postgres),
                "cpu_ms_machine": round3(s.median.cpu.machine),
            }));
        }
        for other in self.others() {
            let (Some((median, low, high)), Some(columns)) =
                (self.rate_ratio(other), self.ratio_columns(other))
            else {
                continue;
            };
            lines.push(json!({
                "record": "ratio", "ratio": format!("conversa/{}", other.name()),
                "rate": round3(median), "rate_min": round3(low), "rate_max": round3(high),
                "p50": opt(columns[1]), "p99": opt(columns[2]), "peak_rss": opt(columns[3]),
                "cpu_service": opt(columns[4]), "cpu_postgres": opt(columns[5]),
            }));
        }
        let probe = |p: &Probe| {
            json!({
                "messages": p.messages,
                "inbound_p50_ms": round3(p.inbound.percentile_ms(50.0)),
                "inbound_p99_ms": round3(p.inbound.percentile_ms(99.0)),
                "messages_page_p50_ms": round3(p.listing.percentile_ms(50.0)),
                "messages_page_p99_ms": round3(p.listing.percentile_ms(99.0)),
            })
        };
        lines.push(json!({
            "record": "scale", "connections": self.probe_connections, "seconds": self.probe_seconds,
            "before": probe(&self.before), "after": self.after.as_ref().map_or(Value::Null, probe),
        }));
        lines.into_iter().map(|line| line.to_string()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(system: System, rate: f64) -> Run {
        let mut latencies = Latencies::default();
        latencies.record_micros(1000);
        Run { system, rate, requests: 10, latencies, cpu: CpuPerRequest::default() }
    }

    #[test]
    fn ratios_are_medians_of_rounds() {
        let rounds = [(1000.0, 500.0, 800.0), (1100.0, 400.0, 900.0), (900.0, 450.0, 600.0)]
            .into_iter()
            .map(|(limit, peer, conversa)| Round {
                limit: run(System::Limit, limit),
                peer: Some(run(System::Peer, peer)),
                conversa: run(System::Conversa, conversa),
            })
            .collect();
        let probe = || Probe { messages: 1, inbound: Latencies::default(), listing: Latencies::default() };
        let report = Report {
            connections: 32,
            duration: 1,
            warmup: 0,
            customers: 5000,
            http_workers: 0,
            service_env: Vec::new(),
            peer_workers: 2,
            peer_processes: 3,
            probe_connections: 4,
            probe_seconds: 1,
            rounds,
            conversa_rss_kib: 1024,
            peer_rss_kib: Some(4096),
            conversations: String::new(),
            postgres_measured: true,
            before: probe(),
            after: None,
        };
        let (median, low, high) = report.rate_ratio(System::Peer).unwrap();
        assert_eq!((median, low, high), (1.6, 1.3333333333333333, 2.25));
        assert_eq!(report.rate_ratio(System::Limit).unwrap().0, 0.8);
        assert_eq!(report.summary(System::Limit).unwrap().median.rate, 1000.0);
        assert_eq!(report.ratio_columns(System::Peer).unwrap()[3], Some(0.25));
        let lines = report.json_lines();
        assert!(lines.iter().all(|l| serde_json::from_str::<Value>(l).is_ok()));
        assert!(lines.iter().any(|l| l.contains("\"ratio\":\"conversa/peer\"")));
    }
}
