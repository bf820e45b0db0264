//! Failure-injection settings: set from the command line, changed at runtime
//! through `POST /_mock/config` with a partial object. Both paths end in
//! [`Config::validate`], so a value is accepted or refused the same way.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize};

/// How a streamed answer is cut into body frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SseSplit {
    /// One frame per SSE event, `chunk_delay_ms` apart.
    Event,
    /// The whole event stream cut at random byte boundaries (tests incremental parsers).
    Random,
}

/// When a streamed answer ends with a usage chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StreamUsage {
    /// OpenAI's rule: only if the request asks with `stream_options.include_usage`.
    Requested,
    Always,
    Never,
}

/// What a 200 answer to `GET /v1/models` carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ModelsBody {
    /// OpenAI's `{"object":"list","data":[...]}`.
    List,
    /// An HTML page (`text/html`), as a login page or a misrouted proxy would send.
    Html,
    /// No bytes at all (still `application/json`).
    Empty,
    /// JSON of another shape: `{"models":[...]}`.
    #[value(name = "not_list")]
    NotList,
}

/// What a successful completion answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ChatBody {
    /// The completion (JSON) or its event stream.
    Normal,
    /// 200, `application/json`, no bytes.
    Empty,
}

/// Defines [`Config`], its [`Default`], and [`ConfigPatch`] (every field optional) from
/// one list, so a new field cannot be forgotten in the patch or the merge.
macro_rules! config_fields {
    ($( $(#[doc = $doc:literal])* $field:ident : $ty:ty = $default:expr, )*) => {
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        pub struct Config {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl Default for Config {
            fn default() -> Self {
                Config { $( $field: $default, )* }
            }
        }

        /// Any subset of [`Config`]'s fields; a misspelt field is an error, not a
        /// silent no-op. `null` is a value here: it clears the optional fields.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ConfigPatch {
            $( #[serde(default, deserialize_with = "present")] pub $field: Option<$ty>, )*
        }

        impl Config {
            fn apply(&mut self, patch: ConfigPatch) {
                $( if let Some(value) = patch.$field { self.$field = value; } )*
            }
        }
    };
}

config_fields! {
    /// Status of `GET /v1/models` (non-200 gets an OpenAI error body).
    models_status: u16 = 200,
    /// Status of every completion request, before any other check.
    chat_status: u16 = 200,
    /// Sleep before answering every relay request.
    latency_ms: u64 = 0,
    /// The relay listener is closed (connections refused).
    refuse: bool = false,
    /// Model ids answered 404 `model_not_found` and left out of the list.
    unknown_models: Vec<String> = Vec::new(),
    /// Sleep between SSE events (event split mode).
    chunk_delay_ms: u64 = 0,
    /// Content chunks per streamed answer.
    chunks: u32 = 3,
    sse_split: SseSplit = SseSplit::Event,
    stream_usage: StreamUsage = StreamUsage::Requested,
    /// Seed for the random SSE split.
    seed: u64 = 0,
    /// PEM certificate chain of the relay listener; with `tls_key`, it serves HTTPS.
    tls_cert: Option<PathBuf> = None,
    /// PEM private key for `tls_cert`.
    tls_key: Option<PathBuf> = None,
    /// N >= 1: every Nth completion request (after `chat_status`) fails; 0 = off.
    chat_error_every: u64 = 0,
    /// Status of the requests `chat_error_every` picks.
    chat_error_status: u16 = 500,
    models_body: ModelsBody = ModelsBody::List,
    /// Ids `extra-model-0001`... appended to the model list.
    extra_models: u32 = 0,
    /// Replaces the built-in model ids (null = built-in).
    model_ids: Option<Vec<String>> = None,
    chat_body: ChatBody = ChatBody::Normal,
    /// Forces usage.completion_tokens (null = the formula); `x-mock-usage` still wins.
    completion_tokens: Option<u64> = None,
    /// Sleep before the response head of completion requests only.
    first_byte_delay_ms: u64 = 0,
    /// Every relay request: read it, send nothing for this long, close the connection.
    hang_ms: u64 = 0,
    /// Bytes of the one over-long non-JSON `data:` line put before the usage chunk; 0 = off.
    sse_long_line_bytes: u64 = 0,
    /// Put one malformed JSON event after the first content chunk.
    sse_malformed: bool = false,
    /// Close the connection in the middle of this event (1-based); 0 = off.
    sse_cut_after_events: u32 = 0,
}

/// Keeps a mistyped admin call from turning a stream into gigabytes.
const MAX_CHUNKS: u32 = 100_000;
/// Enough to test a 1,000-id bound by a wide margin.
const MAX_MODELS: usize = 100_000;
/// Room for a 1 MiB line test, far from exhausting memory per stream.
const MAX_LONG_LINE: u64 = 64 * 1024 * 1024;

/// Marks a field as given, so that `null` becomes `Some(None)` for optional fields
/// (and a type error for the others) instead of "not given".
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl ConfigPatch {
    pub fn from_json(body: &[u8]) -> Result<ConfigPatch, String> {
        serde_json::from_slice(body).map_err(|e| format!("invalid config patch: {e}"))
    }
}

impl Config {
    /// The config with `patch` applied, or why the result would be invalid.
    pub fn merged(&self, patch: ConfigPatch) -> Result<Config, String> {
        let mut next = self.clone();
        next.apply(patch);
        next.validate()?;
        Ok(next)
    }

    pub fn validate(&self) -> Result<(), String> {
        for (field, status, allowed) in [
            ("models_status", self.models_status, 200..=599),
            ("chat_status", self.chat_status, 200..=599),
            ("chat_error_status", self.chat_error_status, 400..=599),
        ] {
            if !allowed.contains(&status) {
                return Err(format!(
                    "{field} must be an HTTP status in {}..={}, got {status}",
                    allowed.start(),
                    allowed.end()
                ));
            }
        }
        if self.chunks > MAX_CHUNKS {
            return Err(format!(
                "chunks must be at most {MAX_CHUNKS}, got {}",
                self.chunks
            ));
        }
        let listed = self.model_ids.as_ref().map_or(0, Vec::len);
        if listed.saturating_add(self.extra_models as usize) > MAX_MODELS {
            return Err(format!(
                "model_ids plus extra_models must be at most {MAX_MODELS} ids, got {} + {}",
                listed, self.extra_models
            ));
        }
        if self.sse_long_line_bytes > MAX_LONG_LINE {
            return Err(format!(
                "sse_long_line_bytes must be at most {MAX_LONG_LINE}, got {}",
                self.sse_long_line_bytes
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err("tls_cert and tls_key must be given together (or both null)".into());
        }
        Ok(())
    }

    pub fn is_unknown_model(&self, model: &str) -> bool {
        self.unknown_models.iter().any(|m| m == model)
    }

    /// The certificate and key files, when the relay listener speaks TLS.
    pub fn tls_files(&self) -> Option<(&PathBuf, &PathBuf)> {
        self.tls_cert.as_ref().zip(self.tls_key.as_ref())
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
