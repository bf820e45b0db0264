//! One shadow copy on its way from a stream to the root context (a proxy-wasm shared queue
//! carries it as `record` JSON): what to send and to whom. The candidate's key is not in it;
//! the root context adds it from its own configuration.

use serde::{Deserialize, Serialize};

use crate::environment::Environment;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShadowItem {
    /// The environment the copy goes to.
    pub env: Option<Environment>,
    pub method: String,
    pub path: String,
    /// The affinity header that chose the session (name, value), if any.
    pub affinity: Option<(String, String)>,
    pub content_type: Option<String>,
    /// The catalog model the request named, when the stream read it.
    pub model: Option<String>,
    /// When the stream enqueued it (Unix ms): the shadow's latency starts at dispatch.
    pub enqueued_ms: u64,
    #[serde(with = "body_text")]
    pub body: Vec<u8>,
}

/// Request bodies are JSON text in practice; any bytes survive as a lossless `u8` list when not.
mod body_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Body {
        Text(String),
        Bytes(Vec<u8>),
    }

    pub fn serialize<S: Serializer>(body: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(body) {
            Ok(text) => Body::Text(text.to_string()),
            Err(_) => Body::Bytes(body.to_vec()),
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        Ok(match Body::deserialize(deserializer)? {
            Body::Text(text) => text.into_bytes(),
            Body::Bytes(bytes) => bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_bodies_round_trip() {
        for body in [br#"{"model":"m"}"#.to_vec(), vec![0xff, 0x00, 0x80]] {
            let item = ShadowItem {
                env: Some(Environment::Green),
                method: "POST".into(),
                path: "/v1/chat/completions".into(),
                body,
                ..ShadowItem::default()
            };
            crate::record::check_codec(&item);
        }
    }
}
