//! HTTP/1.1 written byte by byte, for requests no well-behaved client sends: header values that
//! are not UTF-8, repeated headers, chunked bodies, a body cut off by closing the connection.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// An answer read off the wire.
#[derive(Debug, Clone)]
pub struct RawResp {
    pub status: u16,
    /// Lowercased names, in arrival order.
    pub headers: Vec<(String, String)>,
    /// Chunked transfer decoded; what arrived, when the answer was cut.
    pub body: Vec<u8>,
    /// The body ended as framed (the last chunk, or `content-length` bytes); `false` when the
    /// connection closed before.
    pub complete: bool,
}

impl RawResp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.body_text()))
    }
}

/// A request head: `method path`, then each header as raw bytes, `connection: close` added.
pub fn raw_head(method: &str, path: &str, headers: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: relay\r\n").into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"connection: close\r\n\r\n");
    out
}

/// Sends `request` on a new connection to `addr` (`127.0.0.1:port`) and reads the answer until
/// Envoy closes (the request must say `connection: close`, as [`raw_head`] does).
pub fn raw_exchange(addr: &str, request: &[u8]) -> std::io::Result<RawResp> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.write_all(request)?;
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes)?;
    parse(&bytes).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not an HTTP answer: {:?}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
            ),
        )
    })
}

/// Sends `partial` and closes the connection without waiting for an answer: a client that
/// gives up mid-request.
pub fn raw_send_and_close(addr: &str, partial: &[u8]) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.write_all(partial)?;
    // Give Envoy the bytes before the FIN, so the stream is open when the client goes.
    std::thread::sleep(Duration::from_millis(100));
    stream.shutdown(Shutdown::Both)
}

/// `body` as chunks of `chunk` bytes, with the terminating chunk.
pub fn chunked(body: &[u8], chunk: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / chunk.max(1) * 8 + 8);
    for piece in body.chunks(chunk.max(1)) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

fn parse(bytes: &[u8]) -> Option<RawResp> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_ascii_lowercase(), value.trim().to_string()))
        })
        .collect();
    let rest = &bytes[end + 4..];
    let is_chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let (body, complete) = if is_chunked {
        dechunk(rest)
    } else {
        let length = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        (rest.to_vec(), length.is_none_or(|len| rest.len() >= len))
    };
    Some(RawResp {
        status,
        headers,
        body,
        complete,
    })
}

/// The chunks that arrived, and whether the last (empty) chunk did.
fn dechunk(mut rest: &[u8]) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return (body, false);
        };
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|text| usize::from_str_radix(text.split(';').next()?.trim(), 16).ok());
        let Some(size) = size else {
            return (body, false);
        };
        rest = &rest[line_end + 2..];
        if size == 0 {
            return (body, true);
        }
        match rest.get(..size) {
            Some(chunk) => body.extend_from_slice(chunk),
            None => {
                body.extend_from_slice(rest);
                return (body, false);
            }
        }
        rest = rest.get(size + 2..).unwrap_or_default();
    }
}
