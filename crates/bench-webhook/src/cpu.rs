//! Where the CPU goes during a run (Linux `/proc`): the whole machine's busy time, the
//! service's processes (for uvicorn, its master and workers), PostgreSQL's (the postmaster and
//! every backend), this load generator's, and this process's reaped children's (pgbench), so a
//! run can say how many CPU milliseconds one webhook costs on each side.

use std::collections::HashMap;

use anyhow::Context;

/// `USER_HZ`: the unit of `/proc` CPU times on every Linux architecture Rust supports.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU time used so far, in seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    /// Busy time of all cores (not idle, not waiting for I/O).
    pub machine: f64,
    /// The service's process tree.
    pub service: f64,
    /// PostgreSQL's process tree, when its postmaster runs on this machine.
    pub postgres: Option<f64>,
    /// This process (the load generator).
    pub load: f64,
    /// This process's children that ended (pgbench, psql).
    pub children: f64,
}

/// The processes the samples follow.
#[derive(Debug, Clone, Copy, Default)]
pub struct Watched {
    /// The service's root process (conversa, or uvicorn's master), if one runs.
    pub service: Option<u32>,
    /// PostgreSQL's postmaster, if it runs on this machine.
    pub postgres: Option<u32>,
}

impl CpuSample {
    /// Reads the counters now.
    pub fn now(watched: Watched) -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat (Linux only)")?;
        let machine = machine_busy_ticks(&stat).context("no cpu line in /proc/stat")? / TICKS_PER_SECOND;
        let processes = processes();
        let service = watched.service.map_or(0.0, |pid| tree_ticks(&processes, pid)) / TICKS_PER_SECOND;
        let postgres = watched.postgres.map(|pid| tree_ticks(&processes, pid) / TICKS_PER_SECOND);
        let me = std::fs::read_to_string("/proc/self/stat").context("cannot read /proc/self/stat")?;
        let me = parse_process(&me).context("unexpected /proc/self/stat")?;
        Ok(Self {
            machine,
            service,
            postgres,
            load: me.own / TICKS_PER_SECOND,
            children: me.children / TICKS_PER_SECOND,
        })
    }

    /// CPU time used between `earlier` and `self`, per request (in milliseconds).
    pub fn per_request_ms(&self, earlier: &Self, requests: u64) -> CpuPerRequest {
        let per = |seconds: f64| seconds * 1000.0 / requests.max(1) as f64;
        let machine = self.machine - earlier.machine;
        let service = self.service - earlier.service;
        let load = self.load - earlier.load;
        let client = self.children - earlier.children;
        let rest = (machine - service - load - client).max(0.0);
        let postgres = match (self.postgres, earlier.postgres) {
            (Some(now), Some(then)) => now - then,
            _ => rest,
        };
        CpuPerRequest {
            machine: per(machine),
            service: per(service),
            postgres: per(postgres),
            load: per(load),
            client: per(client),
            other: per((rest - postgres).max(0.0)),
        }
    }
}

/// CPU milliseconds one request cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuPerRequest {
    /// The whole machine.
    pub machine: f64,
    /// The service's processes.
    pub service: f64,
    /// PostgreSQL's processes (or, when they cannot be seen, all that is left).
    pub postgres: f64,
    /// The load generator.
    pub load: f64,
    /// pgbench's client process.
    pub client: f64,
    /// Everything else on the machine.
    pub other: f64,
}

/// One process's counters, in ticks.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ProcessTicks {
    ppid: u32,
    /// `utime + stime`.
    own: f64,
    /// `cutime + cstime`: its children that ended and were waited for.
    children: f64,
}

fn machine_busy_ticks(stat: &str) -> Option<f64> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<f64> = line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: f64 = fields.iter().take(8).sum();
    let idle = fields.get(3)? + fields.get(4)?;
    Some(total - idle)
}

fn parse_process(stat: &str) -> Option<ProcessTicks> {
    // The command name (field 2) may hold spaces; fields count from after its ')'.
    let after_name = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let number = |index: usize| -> Option<f64> { fields.get(index)?.parse().ok() };
    Some(ProcessTicks {
        ppid: fields.get(1)?.parse().ok()?,
        own: number(11)? + number(12)?,
        children: number(13)? + number(14)?,
    })
}

/// Every process on the machine, by id.
fn processes() -> HashMap<u32, ProcessTicks> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return HashMap::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            Some((pid, parse_process(&stat)?))
        })
        .collect()
}

/// `root` and its descendants, alive now.
fn tree(processes: &HashMap<u32, ProcessTicks>, root: u32) -> Vec<u32> {
    let mut members = vec![root];
    let mut index = 0;
    while index < members.len() {
        let parent = members[index];
        members.extend(processes.iter().filter(|(_, p)| p.ppid == parent).map(|(pid, _)| *pid));
        index += 1;
    }
    members.retain(|pid| processes.contains_key(pid));
    members
}

/// CPU ticks of a process tree: every live member's own time and its ended children's, so a
/// backend that exits between two samples is still counted (in its parent's `cutime`).
fn tree_ticks(processes: &HashMap<u32, ProcessTicks>, root: u32) -> f64 {
    tree(processes, root).iter().map(|pid| processes[pid].own + processes[pid].children).sum()
}

/// The live processes of `root`'s tree (root first).
pub fn tree_pids(root: u32) -> Vec<u32> {
    tree(&processes(), root)
}

/// The parent of `pid`, if it runs.
pub fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(parse_process(&stat)?.ppid)
}

/// Sum of the peak resident memory (`VmHWM`) of `root`'s live tree, in KiB.
pub fn tree_peak_rss_kib(root: u32) -> anyhow::Result<u64> {
    let mut total = 0;
    for pid in tree_pids(root) {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("cannot read /proc/{pid}/status (Linux only)"))?;
        total += status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_counters() {
        let stat = "cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\n";
        assert_eq!(machine_busy_ticks(stat), Some(161.0));
        let process = "4242 (conversa serve) S 1 4242 4242 0 -1 4194560 900 0 0 0 1234 567 10 5 20 0 9 0";
        assert_eq!(parse_process(process), Some(ProcessTicks { ppid: 1, own: 1801.0, children: 15.0 }));
    }

    #[test]
    fn trees_sum_their_members() {
        let p = |ppid, own| ProcessTicks { ppid, own, children: 1.0 };
        let processes: HashMap<u32, ProcessTicks> =
            [(1, p(0, 1000.0)), (10, p(1, 5.0)), (11, p(10, 7.0)), (12, p(10, 11.0)), (20, p(1, 100.0))]
                .into();
        assert_eq!(tree_ticks(&processes, 10), 26.0);
        assert_eq!(tree(&processes, 11), vec![11]);
        assert!(tree(&processes, 99).is_empty());
    }
}
