//! Response building blocks shared by the relay and admin listeners.

use std::fmt;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::Value;

use crate::openai;

/// Every response body: a full buffer or a paced stream. Unsync because the
/// stream holds a timer future; hyper only needs Send.
pub type Body = UnsyncBoxBody<Bytes, ConnectionCut>;
pub type Resp = Response<Body>;

/// Ends a connection on purpose, with no more bytes: as a body error, hyper drops
/// the connection mid-body; as a service error, before any byte of the answer.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionCut;

impl fmt::Display for ConnectionCut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection cut by failure injection")
    }
}

impl std::error::Error for ConnectionCut {}

/// A response that must not be sent: the server closes the connection instead.
pub fn close_without_answer() -> Resp {
    let mut resp = empty(StatusCode::OK);
    resp.extensions_mut().insert(ConnectionCut);
    resp
}

pub fn is_close_without_answer(resp: &Resp) -> bool {
    resp.extensions().get::<ConnectionCut>().is_some()
}

/// Request bodies larger than this are answered 413 instead of buffered.
pub const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn with_type(status: StatusCode, content_type: &'static str, body: Body) -> Resp {
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

pub fn json_bytes(status: StatusCode, body: Vec<u8>) -> Resp {
    with_type(status, "application/json", full(body))
}

pub fn json(status: StatusCode, value: &Value) -> Resp {
    // A Value always serializes; an empty body would only hide a bug, not crash.
    json_bytes(status, serde_json::to_vec(value).unwrap_or_default())
}

pub fn text(status: StatusCode, body: &'static str) -> Resp {
    with_type(status, "text/plain; charset=utf-8", full(body))
}

pub fn empty(status: StatusCode) -> Resp {
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

/// An OpenAI error envelope whose `type` follows the status.
pub fn openai_error(status: StatusCode, message: &str, code: Option<&str>) -> Resp {
    let body = openai::error_body(message, openai::error_type_for(status.as_u16()), code);
    json(status, &body)
}

/// Buffers a request body, or the error response to send instead.
pub async fn read_body(body: Incoming) -> Result<Bytes, Resp> {
    match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(openai_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large",
            None,
        )),
        Err(e) => Err(openai_error(
            StatusCode::BAD_REQUEST,
            &format!("could not read request body: {e}"),
            None,
        )),
    }
}
