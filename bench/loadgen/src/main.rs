//! Open-loop, fixed-rate HTTP/1.1 load generator (what wrk2 does; wrk2 is not in Debian).
//!
//! `--connections` keep-alive connections, one thread each. Request k of the whole run is due at
//! `start + k / rate`; connection i sends requests i, i + C, i + 2C, ... Each thread sleeps until
//! its next request is due, sends it, and reads the answer. Latency is measured from the time the
//! request was *due*, not sent, so a stall that delays later requests counts against them (no
//! coordinated omission); the time from the actual send ("service time") is reported too.
//! Every request carries a random `x-session-id`. One JSON line goes to stdout.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    addr: String,
    path: String,
    rate: f64,
    seconds: f64,
    connections: usize,
    body: String,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen --addr HOST:PORT [--path /v1/chat/completions] [--rate 2000] \
         [--seconds 10] [--connections 16] [--body JSON]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        addr: String::new(),
        path: "/v1/chat/completions".into(),
        rate: 2000.0,
        seconds: 10.0,
        connections: 16,
        body: r#"{"model":"gpt-4.1","messages":[{"role":"user","content":"hello"}]}"#.into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--addr" => args.addr = value,
            "--path" => args.path = value,
            "--rate" => args.rate = value.parse().unwrap_or_else(|_| usage()),
            "--seconds" => args.seconds = value.parse().unwrap_or_else(|_| usage()),
            "--connections" => args.connections = value.parse().unwrap_or_else(|_| usage()),
            "--body" => args.body = value,
            _ => usage(),
        }
    }
    if args.addr.is_empty() || args.rate <= 0.0 || args.connections == 0 {
        usage()
    }
    args
}

#[derive(Default)]
struct Outcome {
    /// (latency from due time, latency from send time), microseconds.
    samples: Vec<(u32, u32)>,
    errors: u64,
    non_2xx: u64,
    /// Answers by status code.
    statuses: BTreeMap<u16, u64>,
    /// Failed requests (connection error or non-2xx) by second of the run.
    failures_at: BTreeMap<u64, u64>,
}

/// Reads one response; returns its status. Needs `content-length` (no chunked bodies).
fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<(u16, bool)> {
    buf.clear();
    let mut chunk = [0u8; 8192];
    let header_end = loop {
        if let Some(at) = find(buf, b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let close = head.contains("\r\nconnection: close");
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok((status, close))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn connect(addr: &str) -> Option<TcpStream> {
    let stream = TcpStream::connect(addr).ok()?;
    stream.set_nodelay(true).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    Some(stream)
}

fn worker(args: Arc<Args>, index: usize, start: Instant) -> Outcome {
    let mut out = Outcome::default();
    let interval = 1.0 / args.rate;
    let total = (args.rate * args.seconds) as usize;
    let mut rng: u64 = 0x9e37_79b9_7f4a_7c15 ^ ((index as u64 + 1) * 0x2545_f491_4f6c_dd1d);
    let mut stream: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut k = index;
    while k < total {
        let due = start + Duration::from_secs_f64(k as f64 * interval);
        k += args.connections;
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if stream.is_none() {
            stream = connect(&args.addr);
            if stream.is_none() {
                out.errors += 1;
                *out.failures_at.entry(second(start, due)).or_default() += 1;
                continue;
            }
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let request = format!(
            "POST {} HTTP/1.1\r\nhost: bench\r\ncontent-type: application/json\r\n\
             x-session-id: {:016x}\r\ncontent-length: {}\r\n\r\n{}",
            args.path,
            rng,
            args.body.len(),
            args.body
        );
        let sent = Instant::now();
        let Some(conn) = stream.as_mut() else {
            continue;
        };
        let result = conn
            .write_all(request.as_bytes())
            .and_then(|()| read_response(conn, &mut buf));
        let done = Instant::now();
        match result {
            Ok((status, close)) => {
                *out.statuses.entry(status).or_default() += 1;
                if !(200..300).contains(&status) {
                    out.non_2xx += 1;
                    *out.failures_at.entry(second(start, due)).or_default() += 1;
                }
                let from_due = done.duration_since(due).as_micros().min(u32::MAX as u128) as u32;
                let from_sent = done.duration_since(sent).as_micros().min(u32::MAX as u128) as u32;
                out.samples.push((from_due, from_sent));
                if close {
                    stream = None;
                }
            }
            Err(_) => {
                out.errors += 1;
                *out.failures_at.entry(second(start, due)).or_default() += 1;
                stream = None;
            }
        }
    }
    out
}

fn second(start: Instant, at: Instant) -> u64 {
    at.saturating_duration_since(start).as_secs()
}

/// `{"200":n,...}`
fn json_map<K: std::fmt::Display>(map: &BTreeMap<K, u64>) -> String {
    let fields: Vec<String> = map.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", fields.join(","))
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let args = Arc::new(parse_args());
    let start = Instant::now() + Duration::from_millis(50);
    let handles: Vec<_> = (0..args.connections)
        .map(|i| {
            let args = Arc::clone(&args);
            std::thread::spawn(move || worker(args, i, start))
        })
        .collect();
    let mut all = Outcome::default();
    for handle in handles {
        if let Ok(out) = handle.join() {
            all.samples.extend(out.samples);
            all.errors += out.errors;
            all.non_2xx += out.non_2xx;
            for (k, v) in out.statuses {
                *all.statuses.entry(k).or_default() += v;
            }
            for (k, v) in out.failures_at {
                *all.failures_at.entry(k).or_default() += v;
            }
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let mut due: Vec<u32> = all.samples.iter().map(|s| s.0).collect();
    let mut sent: Vec<u32> = all.samples.iter().map(|s| s.1).collect();
    due.sort_unstable();
    sent.sort_unstable();
    println!(
        "{{\"rate\":{},\"seconds\":{:.3},\"connections\":{},\"completed\":{},\"errors\":{},\"non_2xx\":{},\
         \"achieved_rps\":{:.1},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{},\
         \"service_p50_us\":{},\"service_p99_us\":{},\"statuses\":{},\"failures_at_s\":{}}}",
        args.rate,
        elapsed,
        args.connections,
        all.samples.len(),
        all.errors,
        all.non_2xx,
        all.samples.len() as f64 / elapsed,
        percentile(&due, 50.0),
        percentile(&due, 90.0),
        percentile(&due, 99.0),
        percentile(&due, 99.9),
        due.last().copied().unwrap_or(0),
        percentile(&sent, 50.0),
        percentile(&sent, 99.0),
        json_map(&all.statuses),
        json_map(&all.failures_at),
    );
}
