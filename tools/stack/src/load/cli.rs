//! `stack load ...`: the flags, their checks, and the run that prints the summary.

use std::ffi::OsString;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{
    generate, summarize, LoadRecord, LoadSpec, MAX_CONCURRENCY, MAX_DURATION_MS, MAX_REQUESTS,
    MAX_RPS,
};

/// Sends chat completions with random session ids (x-session-id) to a loopback URL over
/// keep-alive connections, one per thread, and prints a JSON summary on one line (per
/// environment, per 250 ms, statuses, latency percentiles).
#[derive(Debug, Clone, PartialEq, clap::Args)]
pub struct LoadArgs {
    /// Where to send: http:// on the loopback (127.0.0.0/8, localhost, [::1]),
    /// e.g. http://127.0.0.1:10000. The request path is --path.
    #[arg(long)]
    pub url: String,
    #[arg(long, value_name = "MS", default_value_t = LoadSpec::default().duration_ms,
          help = format!("How long to send, in milliseconds (at most {MAX_DURATION_MS}, and \
                          at most {MAX_REQUESTS} requests at --rate or --max-rps)"))]
    pub duration_ms: u64,
    #[arg(long, value_name = "N", default_value_t = LoadSpec::default().concurrency,
          help = format!("Keep-alive connections, one thread each (1..={MAX_CONCURRENCY})"))]
    pub concurrency: usize,
    /// How many distinct session ids to draw each request's x-session-id from.
    #[arg(long, value_name = "K", default_value_t = LoadSpec::default().session_ids)]
    pub session_ids: usize,
    #[arg(long, value_name = "R", default_value_t = LoadSpec::default().max_rps,
          help = format!("Capped pacing (without --rate): each connection sends its next request \
                          when the last one was answered, all together at most R req/s (1..={MAX_RPS})"))]
    pub max_rps: u64,
    #[arg(long, value_name = "R", conflicts_with = "max_rps",
          help = format!("Open loop: request k is due at start + k/R whatever the answers, and \
                          its latency counts from that time (no coordinated omission; \
                          1..={MAX_RPS})"))]
    pub rate: Option<u64>,
    /// Seeds the session ids and each connection's choice among them.
    #[arg(long, value_name = "S", default_value_t = LoadSpec::default().seed)]
    pub seed: u64,
    /// The request path.
    #[arg(long, value_name = "P", default_value_t = LoadSpec::default().path)]
    pub path: String,
    /// The JSON body of every request (POST, content-type application/json).
    #[arg(long, value_name = "JSON", default_value_t = LoadSpec::default().body)]
    pub body: String,
    /// Also writes every request as a JSON line to FILE (times, latency, status, environment,
    /// relay, session).
    #[arg(long, value_name = "FILE")]
    pub records: Option<PathBuf>,
    /// Also stops when standard input closes (how a harness ends a run early).
    #[arg(long)]
    pub stop_on_stdin_eof: bool,
}

impl LoadArgs {
    pub fn spec(&self) -> LoadSpec {
        LoadSpec {
            duration_ms: self.duration_ms,
            concurrency: self.concurrency,
            session_ids: self.session_ids,
            max_rps: self.max_rps,
            rate: self.rate,
            seed: self.seed,
            path: self.path.clone(),
            body: self.body.clone(),
        }
    }

    /// The arguments after `stack load` that run `spec` against `url`, writing `records`,
    /// stoppable by closing standard input.
    pub fn command_line(url: &str, spec: &LoadSpec, records: &Path) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut flag = |name: &str, value: String| {
            args.push(name.into());
            args.push(value.into());
        };
        flag("--url", url.to_string());
        flag("--duration-ms", spec.duration_ms.to_string());
        flag("--concurrency", spec.concurrency.to_string());
        flag("--session-ids", spec.session_ids.to_string());
        match spec.rate {
            Some(rate) => flag("--rate", rate.to_string()),
            None => flag("--max-rps", spec.max_rps.to_string()),
        }
        flag("--seed", spec.seed.to_string());
        flag("--path", spec.path.clone());
        flag("--body", spec.body.clone());
        args.push("--records".into());
        args.push(records.as_os_str().to_owned());
        args.push("--stop-on-stdin-eof".into());
        args
    }
}

/// Only loopback targets: `http://127.x.y.z:port`, `http://localhost:port`, `http://[::1]:port`.
pub fn check_loopback(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url must be http:// on the loopback (got {url:?})"))?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(h, _)| h)
    };
    let loopback = host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(format!(
            "--url must point at the loopback (127.0.0.0/8, localhost, [::1]); got host {host:?}"
        ))
    }
}

/// `stack load ...`: returns the process exit status.
pub fn run(args: &LoadArgs) -> i32 {
    let spec = args.spec();
    if let Err(e) = check_loopback(&args.url).and_then(|()| spec.check()) {
        eprintln!("stack load: {e}");
        return 2;
    }
    let stop = Arc::new(AtomicBool::new(false));
    if args.stop_on_stdin_eof {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut sink = Vec::new();
            let _ = std::io::stdin().lock().read_to_end(&mut sink);
            stop.store(true, Ordering::Relaxed);
        });
    }
    let pace = match spec.rate {
        Some(rate) => format!("open loop at {rate} req/s"),
        None => format!("up to {} req/s", spec.max_rps),
    };
    eprintln!(
        "stack load: {} connections, {} session ids, {pace} for {} ms -> {}",
        spec.concurrency, spec.session_ids, spec.duration_ms, args.url
    );
    let (started_at_ms, records) = generate(&args.url, &spec, &stop);
    let summary = summarize(&args.url, &spec, started_at_ms, &records);
    if let Some(path) = &args.records {
        if let Err(e) = write_records(path, &records) {
            eprintln!("stack load: cannot write {}: {e}", path.display());
            return 1;
        }
    }
    match serde_json::to_string(&summary) {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("stack load: {e}");
            return 1;
        }
    }
    0
}

fn write_records(path: &Path, records: &[LoadRecord]) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for r in records {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Load {
        #[command(flatten)]
        args: LoadArgs,
    }

    fn parse(args: &[&str]) -> Result<LoadArgs, clap::Error> {
        Load::try_parse_from(std::iter::once("load").chain(args.iter().copied())).map(|l| l.args)
    }

    #[test]
    fn loopback_only() {
        for ok in [
            "http://127.0.0.1:10000",
            "http://127.1.2.3:1/x",
            "http://localhost:8080/",
            "http://[::1]:9000",
        ] {
            assert!(check_loopback(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://10.0.0.1:80",
            "http://192.168.1.1:80",
            "http://example.com:80",
            "https://127.0.0.1:1",
            "127.0.0.1:80",
            "http://[::2]:1",
        ] {
            assert!(check_loopback(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_are_the_specs() {
        let args = parse(&["--url", "http://127.0.0.1:1"]).unwrap();
        assert_eq!(args.spec(), LoadSpec::default());
        assert_eq!((args.records, args.stop_on_stdin_eof), (None, false));
    }

    #[test]
    fn the_harness_command_line_reads_back_as_its_spec() {
        let records = Path::new("/tmp/records.jsonl");
        for spec in [
            LoadSpec {
                duration_ms: 1234,
                concurrency: 3,
                session_ids: 7,
                max_rps: 99,
                seed: 42,
                path: "/v1/x".into(),
                body: r#"{"model":"m"}"#.into(),
                ..LoadSpec::default()
            },
            LoadSpec {
                rate: Some(1100),
                ..LoadSpec::default()
            },
        ] {
            let line = LoadArgs::command_line("http://127.0.0.1:9", &spec, records);
            let args =
                Load::try_parse_from(std::iter::once(OsString::from("load")).chain(line)).unwrap();
            assert_eq!(args.args.spec(), spec);
            assert_eq!(args.args.records.as_deref(), Some(records));
            assert!(args.args.stop_on_stdin_eof);
        }
    }

    #[test]
    fn refuses_what_is_out_of_bounds_naming_the_flag() {
        let url = ["--url", "http://127.0.0.1:1"];
        for (extra, flag) in [
            (["--rate", "0"], "--rate"),
            (["--rate", "5001"], "--rate"),
            (["--max-rps", "0"], "--max-rps"),
            (["--concurrency", "65"], "--concurrency"),
            (["--session-ids", "0"], "--session-ids"),
            (["--duration-ms", "3600001"], "--duration-ms"),
        ] {
            let args = parse(&[&url[..], &extra[..]].concat()).unwrap();
            let err = args.spec().check().unwrap_err();
            assert!(err.contains(flag), "{extra:?}: {err}");
        }
        let planned = |rate: &str, ms: &str| {
            parse(&[&url[..], &["--rate", rate, "--duration-ms", ms][..]].concat())
                .unwrap()
                .spec()
                .check()
        };
        let err = planned("5000", "601000").unwrap_err();
        assert!(err.contains("3005000 requests"), "{err}");
        assert_eq!(
            planned("500", "3600000"),
            Ok(()),
            "an hour's soak at 500 req/s"
        );
        assert!(parse(&[
            "--url",
            "http://127.0.0.1:1",
            "--rate",
            "1",
            "--max-rps",
            "2"
        ])
        .is_err());
        assert!(parse(&["--duration-ms", "1"]).is_err(), "--url is required");
        assert!(parse(&["--url", "http://127.0.0.1:1", "--concurrency", "x"]).is_err());
    }
}
