//! A closed-loop HTTP/1.1 load generator: `connections` keep-alive connections, each sending
//! its next request as soon as the previous answer arrived, for a fixed time. Requests are
//! rendered by the caller (signed webhooks, authenticated GETs); the generator only writes
//! bytes and reads answers, so it takes little of the CPU the service and PostgreSQL share.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::stats::Latencies;

/// Renders request number `n` (unique across all connections) as HTTP/1.1 bytes.
pub type RenderRequest = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

/// What a run measured.
#[derive(Debug)]
pub struct LoadReport {
    /// Answered requests with the expected status.
    pub ok: u64,
    /// Latency of each of them.
    pub latencies: Latencies,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl LoadReport {
    /// Requests per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `connections` connections against `addr` for `duration`, each request answered with
/// `expected_status` or the run fails (the first unexpected answer is reported).
pub async fn run(
    addr: SocketAddr,
    connections: usize,
    duration: Duration,
    expected_status: u16,
    render: RenderRequest,
) -> anyhow::Result<LoadReport> {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let render = Arc::clone(&render);
        let counter = Arc::clone(&counter);
        tasks.push(tokio::spawn(async move {
            connection(addr, deadline, expected_status, &render, &counter).await
        }));
    }
    let mut latencies = Latencies::default();
    for task in tasks {
        latencies.merge(task.await.context("load task panicked")??);
    }
    let elapsed = started.elapsed();
    Ok(LoadReport { ok: latencies.len() as u64, latencies, elapsed })
}

/// Sends exactly `count` requests, `connections` at a time (for setup work such as opening
/// every customer's conversation before the measured run).
pub async fn send_count(
    addr: SocketAddr,
    connections: usize,
    count: u64,
    expected_status: u16,
    render: RenderRequest,
) -> anyhow::Result<()> {
    let counter = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let render = Arc::clone(&render);
        let counter = Arc::clone(&counter);
        tasks.push(tokio::spawn(async move {
            let mut conn = Connection::open(addr).await?;
            loop {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return Ok::<_, anyhow::Error>(());
                }
                conn.exchange(&render(n), expected_status).await?;
            }
        }));
    }
    for task in tasks {
        task.await.context("load task panicked")??;
    }
    Ok(())
}

async fn connection(
    addr: SocketAddr,
    deadline: Instant,
    expected_status: u16,
    render: &RenderRequest,
    counter: &AtomicU64,
) -> anyhow::Result<Latencies> {
    let mut conn = Connection::open(addr).await?;
    let mut latencies = Latencies::default();
    while Instant::now() < deadline {
        let request = render(counter.fetch_add(1, Ordering::Relaxed));
        let sent = Instant::now();
        conn.exchange(&request, expected_status).await?;
        latencies.record(sent.elapsed());
    }
    Ok(latencies)
}

/// One keep-alive connection and its read buffer.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(addr: SocketAddr) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(addr).await.with_context(|| format!("cannot connect to {addr}"))?;
        stream.set_nodelay(true)?;
        Ok(Self { stream, buffer: Vec::with_capacity(4096) })
    }

    /// Writes a request and reads its whole answer, which must have `expected_status`.
    async fn exchange(&mut self, request: &[u8], expected_status: u16) -> anyhow::Result<()> {
        self.stream.write_all(request).await.context("cannot send the request")?;
        self.buffer.clear();
        let header_end = loop {
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                break end + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buffer[..header_end]).context("answer head is not UTF-8")?;
        let status = parse_status(head)?;
        let length = content_length(head)?;
        while self.buffer.len() < header_end + length {
            self.fill().await?;
        }
        if status != expected_status {
            let body = String::from_utf8_lossy(&self.buffer[header_end..header_end + length]);
            bail!("expected HTTP {expected_status}, got {status}: {body}");
        }
        Ok(())
    }

    async fn fill(&mut self) -> anyhow::Result<()> {
        let mut chunk = [0_u8; 8192];
        let read = self.stream.read(&mut chunk).await.context("cannot read the answer")?;
        if read == 0 {
            bail!("the server closed the connection");
        }
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

fn parse_status(head: &str) -> anyhow::Result<u16> {
    head.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .with_context(|| format!("bad status line: {head}"))
}

/// The body length; the service answers every request with a sized body.
fn content_length(head: &str) -> anyhow::Result<usize> {
    for line in head.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else { continue };
        if name.eq_ignore_ascii_case("content-length") {
            return value.trim().parse().context("bad content-length");
        }
        if name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("chunked answers are not supported by this load generator");
        }
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_and_length() {
        let head = "HTTP/1.1 403 Forbidden\r\ncontent-type: x\r\nContent-Length: 12\r\n\r\n";
        assert_eq!(parse_status(head).unwrap(), 403);
        assert_eq!(content_length(head).unwrap(), 12);
        assert_eq!(content_length("HTTP/1.1 204 No Content\r\n\r\n").unwrap(), 0);
        assert!(content_length("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").is_err());
        assert_eq!(find(b"ab\r\n\r\ncd", b"\r\n\r\n"), Some(2));
    }
}
