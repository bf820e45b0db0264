//! Failure-injection settings: set from the command line, changed at runtime
//! through `POST /_mock/config` with a partial object.

use serde::{Deserialize, Serialize};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    pub models_status: u16,
    pub chat_status: u16,
    pub latency_ms: u64,
    pub refuse: bool,
    pub unknown_models: Vec<String>,
    pub chunk_delay_ms: u64,
    pub chunks: u32,
    pub sse_split: SseSplit,
    pub stream_usage: StreamUsage,
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            models_status: 200,
            chat_status: 200,
            latency_ms: 0,
            refuse: false,
            unknown_models: Vec::new(),
            chunk_delay_ms: 0,
            chunks: 3,
            sse_split: SseSplit::Event,
            stream_usage: StreamUsage::Requested,
            seed: 0,
        }
    }
}

/// Any subset of [`Config`]'s fields; a misspelt field is an error, not a silent no-op.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigPatch {
    pub models_status: Option<u16>,
    pub chat_status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub refuse: Option<bool>,
    pub unknown_models: Option<Vec<String>>,
    pub chunk_delay_ms: Option<u64>,
    pub chunks: Option<u32>,
    pub sse_split: Option<SseSplit>,
    pub stream_usage: Option<StreamUsage>,
    pub seed: Option<u64>,
}

/// Keeps a mistyped admin call from turning a stream into gigabytes.
const MAX_CHUNKS: u32 = 100_000;

impl ConfigPatch {
    pub fn from_json(body: &[u8]) -> Result<ConfigPatch, String> {
        serde_json::from_slice(body).map_err(|e| format!("invalid config patch: {e}"))
    }
}

impl Config {
    /// The config with `patch` applied, or why the result would be invalid.
    pub fn merged(&self, patch: ConfigPatch) -> Result<Config, String> {
        let mut next = self.clone();
        let ConfigPatch {
            models_status,
            chat_status,
            latency_ms,
            refuse,
            unknown_models,
            chunk_delay_ms,
            chunks,
            sse_split,
            stream_usage,
            seed,
        } = patch;
        set(&mut next.models_status, models_status);
        set(&mut next.chat_status, chat_status);
        set(&mut next.latency_ms, latency_ms);
        set(&mut next.refuse, refuse);
        set(&mut next.unknown_models, unknown_models);
        set(&mut next.chunk_delay_ms, chunk_delay_ms);
        set(&mut next.chunks, chunks);
        set(&mut next.sse_split, sse_split);
        set(&mut next.stream_usage, stream_usage);
        set(&mut next.seed, seed);
        next.validate()?;
        Ok(next)
    }

    pub fn validate(&self) -> Result<(), String> {
        for (field, status) in [
            ("models_status", self.models_status),
            ("chat_status", self.chat_status),
        ] {
            if !(200..=599).contains(&status) {
                return Err(format!("{field} must be an HTTP status in 200..=599"));
            }
        }
        if self.chunks > MAX_CHUNKS {
            return Err(format!("chunks must be at most {MAX_CHUNKS}"));
        }
        Ok(())
    }

    pub fn is_unknown_model(&self, model: &str) -> bool {
        self.unknown_models.iter().any(|m| m == model)
    }
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(json: &str) -> Result<Config, String> {
        Config::default().merged(ConfigPatch::from_json(json.as_bytes())?)
    }

    #[test]
    fn partial_patch_changes_only_given_fields() {
        let merged =
            merge(r#"{"chat_status":503,"unknown_models":["x"],"sse_split":"random"}"#).unwrap();
        assert_eq!(merged.chat_status, 503);
        assert_eq!(merged.unknown_models, vec!["x".to_string()]);
        assert_eq!(merged.sse_split, SseSplit::Random);
        assert_eq!(merged.models_status, 200);
        assert_eq!(merged.chunks, 3);
        assert_eq!(merged.stream_usage, StreamUsage::Requested);
    }

    #[test]
    fn empty_patch_is_identity() {
        assert_eq!(merge("{}").unwrap(), Config::default());
    }

    #[test]
    fn unknown_field_is_rejected() {
        let err = merge(r#"{"chat_stauts":503}"#).unwrap_err();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn bad_enum_value_and_status_are_rejected() {
        assert!(merge(r#"{"sse_split":"bytes"}"#).is_err());
        assert!(merge(r#"{"chat_status":99}"#).is_err());
        assert!(merge(r#"{"models_status":600}"#).is_err());
        assert!(merge("[1]").is_err());
    }

    #[test]
    fn config_serializes_with_lowercase_enums() {
        let json = serde_json::to_value(Config::default()).unwrap();
        assert_eq!(json["sse_split"], "event");
        assert_eq!(json["stream_usage"], "requested");
        assert_eq!(json["refuse"], false);
    }
}
