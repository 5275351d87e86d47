//! Load harness for `redress serve`.
//!
//! ```text
//! redress-load throughput --url http://127.0.0.1:8080 --connections 32 --seconds 10
//! redress-load rate --url http://127.0.0.1:8080 --rate 5000 --seconds 10
//! redress-load reload --url http://127.0.0.1:8080 --rules rules --count 50
//! redress-load ceiling --listen 127.0.0.1:9090      # a trivial axum handler to compare with
//! ```
//!
//! The client is a lean keep-alive HTTP/1.1 client on raw TCP, so the
//! harness spends as little of the machine as possible. Every event sent
//! gets a new id, so a daemon with durable state decides and records each
//! one rather than answering a retry from its log. `rate` is open
//! loop: each request has a scheduled time and its latency counts from
//! then, so a slow server cannot hide queueing delay (coordinated
//! omission).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

#[derive(Debug, Parser)]
#[command(name = "redress-load", about = "Load harness for the Redress daemon")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args, Clone)]
struct Target {
    /// Base URL of the daemon.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Path and query to POST to.
    #[arg(long, default_value = "/v1/complaints")]
    path: String,
    /// JSON body to send. Default: a 1 KB complaint.
    #[arg(long)]
    body: Option<PathBuf>,
    /// Bearer token.
    #[arg(long)]
    token: Option<String>,
    /// Send a batch of this many events per request instead of one.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Spread the events over this many customers (`customer.id`), as real
    /// traffic is; `0` keeps the body's own customer for every event.
    #[arg(long, default_value_t = 100_000)]
    customers: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Closed loop: as many requests as the server answers.
    Throughput {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value_t = 32)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Open loop at a fixed rate: latency percentiles.
    Rate {
        #[command(flatten)]
        target: Target,
        /// Requests per second.
        #[arg(long)]
        rate: u64,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 10)]
        seconds: u64,
    },
    /// Save a rule change and time until decisions use it; repeated.
    Reload {
        #[command(flatten)]
        target: Target,
        /// The daemon's rules directory.
        #[arg(long)]
        rules: PathBuf,
        #[arg(long, default_value_t = 50)]
        count: usize,
    },
    /// Serve a trivial handler (fixed JSON) to measure the ceiling.
    Ceiling {
        #[arg(long, default_value = "127.0.0.1:9090")]
        listen: String,
    },
}

/// A 1 KB complaint (the text is the same as docs/examples/long-complaint-1kb.json).
const COMPLAINT: &str = include_str!("../../../docs/examples/long-complaint-1kb.json");

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Throughput {
                target,
                connections,
                seconds,
            } => throughput(&target, connections, seconds).await,
            Command::Rate {
                target,
                rate,
                connections,
                seconds,
            } => fixed_rate(&target, rate, connections, seconds).await,
            Command::Reload {
                target,
                rules,
                count,
            } => reload(&target, &rules, count).await,
            Command::Ceiling { listen } => ceiling(&listen).await,
        }
    })
}

/// A prepared request and where to send it.
#[derive(Clone)]
struct Request {
    address: String,
    bytes: Arc<Vec<u8>>,
    /// Where each event's id placeholder sits in `bytes`.
    id_slots: Arc<Vec<usize>>,
    /// Where each event's customer id placeholder sits, if spread.
    customer_slots: Arc<Vec<usize>>,
    customers: u64,
}

/// Width of a generated event id: every request carries new ids, so the
/// daemon decides each one (an id it has seen is answered from its audit
/// log instead).
const ID_WIDTH: usize = 32;
const ID_PLACEHOLDER: &str = "################################";
const CUSTOMER_WIDTH: usize = 12;
const CUSTOMER_PLACEHOLDER: &str = "~~~~~~~~~~~~";

impl Request {
    fn new(target: &Target, path: &str, body: &str) -> anyhow::Result<Self> {
        let address = target
            .url
            .strip_prefix("http://")
            .context("only http:// URLs are supported")?
            .trim_end_matches('/')
            .to_string();
        let mut head = format!(
            "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(token) = &target.token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        let body_start = bytes.len();
        bytes.extend_from_slice(body.as_bytes());
        let slots = |placeholder: &str| -> Vec<usize> {
            body.match_indices(placeholder)
                .map(|(at, _)| body_start + at)
                .collect()
        };
        Ok(Request {
            address,
            bytes: Arc::new(bytes),
            id_slots: Arc::new(slots(ID_PLACEHOLDER)),
            customer_slots: Arc::new(slots(CUSTOMER_PLACEHOLDER)),
            customers: target.customers,
        })
    }

    /// The request bytes for one sender, whose ids it numbers itself.
    fn for_sender(&self, sender: usize) -> Sender {
        Sender {
            bytes: self.bytes.to_vec(),
            id_slots: self.id_slots.clone(),
            customer_slots: self.customer_slots.clone(),
            customers: self.customers.max(1),
            prefix: format!("{:08x}{sender:06}", run_tag()),
            next: 0,
            // Senders start at different customers.
            next_customer: (sender as u64).wrapping_mul(7919),
        }
    }
}

/// One connection's copy of a request, with fresh ids on each use.
struct Sender {
    bytes: Vec<u8>,
    id_slots: Arc<Vec<usize>>,
    customer_slots: Arc<Vec<usize>>,
    customers: u64,
    prefix: String,
    next: u64,
    next_customer: u64,
}

impl Sender {
    fn next_bytes(&mut self) -> &[u8] {
        // Written in place: the harness shares the cores it measures.
        let prefix = self.prefix.len();
        for &slot in self.id_slots.iter() {
            let id = &mut self.bytes[slot..slot + ID_WIDTH];
            id[..prefix].copy_from_slice(self.prefix.as_bytes());
            write_decimal(&mut id[prefix..], self.next);
            self.next += 1;
        }
        for &slot in self.customer_slots.iter() {
            // A stride coprime with most pool sizes visits every customer.
            self.next_customer = self.next_customer.wrapping_add(104_729);
            let customer = &mut self.bytes[slot..slot + CUSTOMER_WIDTH];
            customer[0] = b'c';
            write_decimal(&mut customer[1..], self.next_customer % self.customers);
        }
        &self.bytes
    }
}

/// Writes `value` in decimal, zero-padded to fill `digits` (keeping the
/// lowest digits if it does not fit).
fn write_decimal(digits: &mut [u8], mut value: u64) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Tells this run's ids from an earlier run's against the same daemon.
fn run_tag() -> u32 {
    static TAG: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *TAG.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() ^ d.as_secs() as u32);
        nanos ^ std::process::id().rotate_left(16)
    })
}

/// The event to send, with its id replaced by a placeholder that each
/// request fills in, `--batch` times.
fn body(target: &Target) -> anyhow::Result<String> {
    let text = match &target.body {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => COMPLAINT.to_string(),
    };
    let mut event: serde_json::Value =
        serde_json::from_str(&text).context("the body is not JSON")?;
    let object = event
        .as_object_mut()
        .context("the body must be one event (a JSON object); use --batch for batches")?;
    object.insert("id".to_string(), ID_PLACEHOLDER.into());
    // Events arrive now, as live traffic does: a fixed past time would put
    // every SLA timer in the past and make the daemon fire them all at once.
    object.remove("received_at");
    if target.customers > 0 {
        let customer = object
            .entry("customer")
            .or_insert_with(|| serde_json::json!({}));
        if let Some(customer) = customer.as_object_mut() {
            customer.insert("id".to_string(), CUSTOMER_PLACEHOLDER.into());
        }
    }
    let one = serde_json::to_string(&event)?;
    Ok(if target.batch > 1 {
        format!("[{}]", vec![one; target.batch].join(","))
    } else {
        one
    })
}

/// A keep-alive connection.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl Connection {
    async fn open(address: &str) -> anyhow::Result<Self> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            buffer: Vec::with_capacity(64 * 1024),
        })
    }

    /// Sends `request`; returns the status and the body.
    async fn send(&mut self, request: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        self.stream.write_all(request).await?;
        self.buffer.clear();
        let mut chunk = [0u8; 16 * 1024];
        let (head_end, status, length) = loop {
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                bail!("the server closed the connection");
            }
            self.buffer.extend_from_slice(&chunk[..read]);
            if let Some(end) = find(&self.buffer, b"\r\n\r\n") {
                let head = std::str::from_utf8(&self.buffer[..end])?;
                let status: u16 = head.get(9..12).unwrap_or("0").parse()?;
                let length = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse::<usize>().ok())?
                    })
                    .context("response without Content-Length")?;
                break (end + 4, status, length);
            }
        };
        while self.buffer.len() < head_end + length {
            let read = self.stream.read(&mut chunk).await?;
            if read == 0 {
                bail!("the server closed the connection mid-response");
            }
            self.buffer.extend_from_slice(&chunk[..read]);
        }
        Ok((status, self.buffer[head_end..head_end + length].to_vec()))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
}

async fn throughput(target: &Target, connections: usize, seconds: u64) -> anyhow::Result<()> {
    let request = Request::new(target, &target.path, &body(target)?)?;
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for index in 0..connections {
        let (request, tally) = (request.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut sender = request.for_sender(index);
            let mut connection = Connection::open(&request.address).await?;
            while Instant::now() < deadline {
                let sent = Instant::now();
                match connection.send(sender.next_bytes()).await {
                    Ok((status, _)) if (200..300).contains(&status) => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                        latencies.push(sent.elapsed().as_micros() as u64);
                    }
                    Ok(_) => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        connection = Connection::open(&request.address).await?;
                    }
                }
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let ok = tally.ok.load(Ordering::Relaxed);
    let events = ok * target.batch as u64;
    report(
        "throughput",
        &[
            ("connections", connections.to_string()),
            ("seconds", format!("{elapsed:.1}")),
            ("requests_ok", ok.to_string()),
            (
                "requests_failed",
                tally.failed.load(Ordering::Relaxed).to_string(),
            ),
            ("requests_per_second", format!("{:.0}", ok as f64 / elapsed)),
            (
                "decisions_per_second",
                format!("{:.0}", events as f64 / elapsed),
            ),
        ],
        &mut latencies,
    );
    Ok(())
}

async fn fixed_rate(
    target: &Target,
    rate: u64,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let request = Request::new(target, &target.path, &body(target)?)?;
    let tally = Arc::new(Tally::default());
    let total = rate * seconds;
    let per_connection = total / connections as u64;
    let interval = Duration::from_secs_f64(connections as f64 / rate as f64);
    let start = Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::new();
    for index in 0..connections {
        let (request, tally) = (request.clone(), tally.clone());
        // Spread the connections' schedules across one interval.
        let offset = interval.mul_f64(index as f64 / connections as f64);
        tasks.push(tokio::spawn(async move {
            let mut sender = request.for_sender(index);
            let mut connection = Connection::open(&request.address).await?;
            let mut latencies = Vec::with_capacity(per_connection as usize);
            for k in 0..per_connection {
                let scheduled = start + offset + interval.mul_f64(k as f64);
                tokio::time::sleep_until(scheduled.into()).await;
                match connection.send(sender.next_bytes()).await {
                    Ok((status, _)) if (200..300).contains(&status) => {
                        tally.ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        connection = Connection::open(&request.address).await?;
                    }
                }
                // From when it should have been sent: queueing counts.
                latencies.push(scheduled.elapsed().as_micros() as u64);
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = start.elapsed().as_secs_f64();
    report(
        "rate",
        &[
            ("target_rate", rate.to_string()),
            (
                "achieved_rate",
                format!("{:.0}", latencies.len() as f64 / elapsed),
            ),
            ("requests_ok", tally.ok.load(Ordering::Relaxed).to_string()),
            (
                "requests_failed",
                tally.failed.load(Ordering::Relaxed).to_string(),
            ),
        ],
        &mut latencies,
    );
    Ok(())
}

/// Edits `10-routing.toml` (write a temporary file, rename it over) and
/// times until a billing complaint is routed to the new queue.
async fn reload(target: &Target, rules: &std::path::Path, count: usize) -> anyhow::Result<()> {
    let file = rules.join("10-routing.toml");
    let original = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read {}", file.display()))?;
    if !original.contains("queue = \"billing\"") {
        bail!("{} has no `queue = \"billing\"` to change", file.display());
    }
    let request = Request::new(
        target,
        "/v1/complaints?trace=none",
        &format!(r#"{{"id": "{ID_PLACEHOLDER}", "category": "price_billing"}}"#),
    )?;
    let mut sender = request.for_sender(0);
    let mut connection = Connection::open(&request.address).await?;
    let mut latencies = Vec::new();
    for round in 0..count {
        let queue = format!("billing-{round}-{}", std::process::id());
        let temporary = rules.join(".10-routing.toml.tmp");
        std::fs::write(
            &temporary,
            original.replace("queue = \"billing\"", &format!("queue = \"{queue}\"")),
        )?;
        let saved = Instant::now();
        std::fs::rename(&temporary, &file)?;
        let needle = format!("\"queue\":\"{queue}\"");
        loop {
            let (_, body) = connection.send(sender.next_bytes()).await?;
            if find(&body, needle.as_bytes()).is_some() {
                latencies.push(saved.elapsed().as_micros() as u64);
                break;
            }
            if saved.elapsed() > Duration::from_secs(10) {
                bail!("round {round}: the change was not picked up within 10 s");
            }
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    std::fs::write(&file, original)?;
    report(
        "reload (save to new version serving)",
        &[("rounds", count.to_string())],
        &mut latencies,
    );
    Ok(())
}

async fn ceiling(listen: &str) -> anyhow::Result<()> {
    let response: &'static str = r#"{"route":{"queue":"care"}}"#;
    let app = axum::Router::new().route(
        "/v1/complaints",
        axum::routing::post(move |body: axum::body::Bytes| async move {
            std::hint::black_box(body);
            ([("content-type", "application/json")], response)
        }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!(
        "ceiling: serving a trivial handler on http://{}",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}

fn report(name: &str, fields: &[(&str, String)], latencies: &mut [u64]) {
    latencies.sort_unstable();
    let percentile = |p: f64| -> String {
        if latencies.is_empty() {
            return "-".to_string();
        }
        let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
        format!("{:.2}", latencies[index] as f64 / 1000.0)
    };
    println!("{name}");
    for (key, value) in fields {
        println!("  {key:<22} {value}");
    }
    println!("  {:<22} {}", "latency_p50_ms", percentile(0.50));
    println!("  {:<22} {}", "latency_p99_ms", percentile(0.99));
    println!("  {:<22} {}", "latency_p999_ms", percentile(0.999));
    println!(
        "  {:<22} {}",
        "latency_max_ms",
        latencies
            .last()
            .map_or("-".to_string(), |m| format!("{:.2}", *m as f64 / 1000.0))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_carries_new_ids_of_the_same_length() {
        let target = Target {
            url: "http://127.0.0.1:1".to_string(),
            path: "/v1/complaints".to_string(),
            body: None,
            token: None,
            batch: 3,
            customers: 10,
        };
        let request = Request::new(&target, &target.path, &body(&target).unwrap()).unwrap();
        assert_eq!(request.id_slots.len(), 3);
        let mut sender = request.for_sender(7);
        let first = String::from_utf8(sender.next_bytes().to_vec()).unwrap();
        let second = String::from_utf8(sender.next_bytes().to_vec()).unwrap();
        assert_eq!(first.len(), second.len(), "Content-Length stays right");
        let ids = |text: &str| -> Vec<String> {
            let body = &text[text.find("\r\n\r\n").unwrap() + 4..];
            let events: Vec<serde_json::Value> = serde_json::from_str(body).unwrap();
            events
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect()
        };
        let mut all = ids(&first);
        all.extend(ids(&second));
        let unique: std::collections::BTreeSet<_> = all.iter().collect();
        assert_eq!(unique.len(), 6, "{all:?}");
        assert!(!first.contains(ID_PLACEHOLDER));
        assert!(!first.contains(CUSTOMER_PLACEHOLDER));
        assert!(first.contains("\"id\":\"c0000000000"), "{first}");
    }
}
