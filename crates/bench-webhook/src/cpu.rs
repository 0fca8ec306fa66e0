//! Where the CPU goes during a run (Linux `/proc`): the whole machine's busy time, the
//! service's, and this load generator's. What is left is PostgreSQL (and, in pgbench's run,
//! pgbench itself), so a run can say how many CPU milliseconds one request costs on each side.

use anyhow::Context;

/// `USER_HZ`: the unit of `/proc` CPU times on every Linux architecture Rust supports.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time used so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    /// Busy time of all cores (not idle, not waiting for I/O).
    pub machine: f64,
    /// The service process.
    pub service: f64,
    /// This process (the load generator).
    pub load: f64,
}

impl CpuSample {
    /// Reads the counters now; `service` is the service's process id, if one runs.
    pub fn now(service: Option<u32>) -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat (Linux only)")?;
        let machine = machine_busy_ticks(&stat).context("no cpu line in /proc/stat")? / TICKS_PER_SECOND;
        let service = match service {
            Some(pid) => process_ticks(&format!("/proc/{pid}/stat"))? / TICKS_PER_SECOND,
            None => 0.0,
        };
        let load = process_ticks("/proc/self/stat")? / TICKS_PER_SECOND;
        Ok(Self { machine, service, load })
    }

    /// CPU time used between `earlier` and `self`, per request (in milliseconds).
    pub fn per_request_ms(&self, earlier: &Self, requests: u64) -> CpuPerRequest {
        let per = |seconds: f64| seconds * 1000.0 / requests.max(1) as f64;
        let machine = self.machine - earlier.machine;
        let service = self.service - earlier.service;
        let load = self.load - earlier.load;
        CpuPerRequest {
            machine: per(machine),
            service: per(service),
            load: per(load),
            rest: per((machine - service - load).max(0.0)),
        }
    }
}

/// CPU milliseconds one request cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuPerRequest {
    /// The whole machine.
    pub machine: f64,
    /// The service.
    pub service: f64,
    /// The load generator.
    pub load: f64,
    /// Everything else: PostgreSQL (and pgbench in its own run).
    pub rest: f64,
}

fn machine_busy_ticks(stat: &str) -> Option<f64> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<f64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: f64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some(total - idle)
}

/// `utime + stime` of a process, from its `stat` file.
fn process_ticks(path: &str) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    parse_process_ticks(&stat).with_context(|| format!("unexpected {path}: {stat}"))
}

fn parse_process_ticks(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces; fields count from after its ')'.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_counters() {
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n";
        assert_eq!(machine_busy_ticks(stat), Some(161.0));
        let process = "4242 (conversa serve) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 0 0 20 0 9 0";
        assert_eq!(parse_process_ticks(process), Some(1801.0));
    }
}
