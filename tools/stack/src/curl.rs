//! curl as an HTTP/2 client (h2c with prior knowledge, h2 over TLS by ALPN): Debian's curl is
//! built with nghttp2, and ureq speaks only HTTP/1.1. Proxy variables are ignored, so a
//! request always goes straight to Envoy.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::certs::RELAY_HOST;
use crate::rundir::RunDir;

/// An answer as curl saw it.
#[derive(Debug, Clone)]
pub struct CurlResp {
    /// `2` or `1.1`: the protocol the exchange used (`%{http_version}`).
    pub http_version: String,
    pub status: u16,
    /// Lowercased names, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl CurlResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.body))
    }

    /// Which mock relay answered, or "-".
    pub fn relay(&self) -> &str {
        self.header("x-mock-relay").unwrap_or("-")
    }
}

/// A streamed answer: the body pieces as they arrived, each with its arrival time from the
/// start of the request.
#[derive(Debug, Clone)]
pub struct CurlStream {
    pub resp: CurlResp,
    pub pieces: Vec<(Duration, usize)>,
}

/// How to reach Envoy's listener.
#[derive(Debug, Clone)]
pub struct Curl {
    base: String,
    args: Vec<String>,
}

/// `None` when curl is here with HTTP/2; else why the HTTP/2 tests cannot run.
pub fn curl_http2_missing() -> Option<String> {
    match Command::new("curl").arg("--version").output() {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("HTTP2") => None,
        Ok(_) => Some("curl here is built without HTTP/2 (nghttp2)".to_string()),
        Err(e) => Some(format!("curl cannot run here: {e}")),
    }
}

impl Curl {
    /// HTTP/1.1 in plain text.
    pub fn http1(port: u16) -> Curl {
        Curl::new(format!("http://127.0.0.1:{port}"), &["--http1.1"])
    }

    /// HTTP/2 in plain text with prior knowledge (no upgrade).
    pub fn h2c(port: u16) -> Curl {
        Curl::new(
            format!("http://127.0.0.1:{port}"),
            &["--http2-prior-knowledge"],
        )
    }

    /// TLS to `api.holysheep.ai` (resolved to 127.0.0.1), trusting `ca`, offering h2 and
    /// http/1.1 by ALPN.
    pub fn h2_tls(port: u16, ca: &Path) -> Curl {
        Curl::tls(port, ca, "--http2")
    }

    /// TLS as above, offering only http/1.1.
    pub fn http1_tls(port: u16, ca: &Path) -> Curl {
        Curl::tls(port, ca, "--http1.1")
    }

    fn tls(port: u16, ca: &Path, version: &str) -> Curl {
        let resolve = format!("{RELAY_HOST}:{port}:127.0.0.1");
        let ca = ca.display().to_string();
        Curl::new(
            format!("https://{RELAY_HOST}:{port}"),
            &[version, "--resolve", &resolve, "--cacert", &ca],
        )
    }

    fn new(base: String, args: &[&str]) -> Curl {
        Curl {
            base,
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    pub fn get(&self, path: &str, headers: &[(&str, &str)]) -> CurlResp {
        self.send("GET", path, headers, None)
    }

    pub fn post(&self, path: &str, headers: &[(&str, &str)], body: &str) -> CurlResp {
        self.send("POST", path, headers, Some(body))
    }

    /// Sends a request; panics only if curl got no HTTP answer at all.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> CurlResp {
        self.stream(method, path, headers, body).resp
    }

    /// Like [`Curl::send`], recording when each piece of the body arrived (`--no-buffer`).
    pub fn stream(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> CurlStream {
        let dir = RunDir::new("curl");
        let head_file = dir.path().join("head");
        let mut cmd = self.command(method, path, headers, body, &head_file);
        let started = Instant::now();
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run curl: {e}"));
        let mut stdout = child.stdout.take().expect("piped stdout");
        let (mut bytes, mut pieces, mut buf) = (Vec::new(), Vec::new(), [0u8; 16384]);
        loop {
            match stdout.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    pieces.push((started.elapsed(), n));
                    bytes.extend_from_slice(&buf[..n]);
                }
                Err(e) => panic!("reading curl's output: {e}"),
            }
        }
        let out = child.wait_with_output().expect("curl ran");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        // The last line of stdout is `-w`'s: protocol version after a marker.
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (body, version) = text
            .rsplit_once(VERSION_MARKER)
            .unwrap_or_else(|| panic!("curl {method} {path}: no answer ({stderr}); got {text}"));
        let head = std::fs::read_to_string(&head_file).unwrap_or_default();
        let (status, headers) = parse_head(&head)
            .unwrap_or_else(|| panic!("curl {method} {path}: no response head ({stderr})"));
        CurlStream {
            resp: CurlResp {
                http_version: version.trim().to_string(),
                status,
                headers,
                body: body.to_string(),
            },
            pieces,
        }
    }

    fn command(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
        head_file: &PathBuf,
    ) -> Command {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--no-buffer", "--noproxy", "*", "--max-time", "30"])
            .args(&self.args)
            .args(["-X", method, "-D"])
            .arg(head_file)
            .args(["-w", &format!("{VERSION_MARKER}%{{http_version}}")]);
        for (name, value) in headers {
            cmd.args(["-H", &format!("{name}: {value}")]);
        }
        if let Some(body) = body {
            cmd.args([
                "-H",
                "content-type: application/json",
                "--data-binary",
                body,
            ]);
        }
        cmd.arg(format!("{}{path}", self.base));
        cmd
    }
}

const VERSION_MARKER: &str = "\n@@curl-http-version@@";

/// The status and headers of the last response head in a `-D` dump (skipping `100 Continue`).
fn parse_head(dump: &str) -> Option<(u16, Vec<(String, String)>)> {
    let block = dump
        .split("\r\n\r\n")
        .filter(|b| b.starts_with("HTTP/"))
        .last()?;
    let mut lines = block.lines();
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_string()))
        })
        .collect();
    Some((status, headers))
}
