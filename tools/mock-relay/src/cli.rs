//! Command line: the listeners, the process knobs, and the initial failure-injection config.

use std::net::SocketAddr;

use clap::Parser;

use crate::config::{Config, SseSplit, StreamUsage};

#[derive(Debug, Parser)]
#[command(
    name = "mock-relay",
    version,
    about = "Stand-in OpenAI-compatible AI relay with runtime failure injection"
)]
pub struct Cli {
    /// Name of this relay (e.g. blue, green); echoed in `x-mock-relay` and in answers.
    #[arg(long)]
    pub name: String,
    /// Relay (data) listener; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Admin listener (`/_mock/...`); stays up while the relay refuses connections.
    #[arg(long, default_value = "127.0.0.1:0")]
    pub admin: SocketAddr,
    /// Status answered by GET /v1/models (non-200 gets an OpenAI error body).
    #[arg(long, default_value_t = 200)]
    pub models_status: u16,
    /// Status answered by the completion endpoints, before any other check.
    #[arg(long, default_value_t = 200)]
    pub chat_status: u16,
    /// Sleep before answering every relay request.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Sleep between SSE events (event split mode).
    #[arg(long, default_value_t = 0)]
    pub chunk_delay_ms: u64,
    /// Content chunks per streamed answer.
    #[arg(long, default_value_t = 3)]
    pub chunks: u32,
    /// Start with the relay listener closed: connections are refused.
    #[arg(long)]
    pub refuse: bool,
    /// A model id to answer with 404 model_not_found (repeatable).
    #[arg(long = "unknown-model", value_name = "ID")]
    pub unknown_models: Vec<String>,
    /// How streamed answers are cut into body frames.
    #[arg(long, value_enum, default_value_t = SseSplit::Event)]
    pub sse_split: SseSplit,
    /// When streamed answers end with a usage chunk.
    #[arg(long, value_enum, default_value_t = StreamUsage::Requested)]
    pub stream_usage: StreamUsage,
    /// Seed for the random SSE split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
    /// Do not record requests (for benchmarks); stats are still counted.
    #[arg(long)]
    pub no_record: bool,
    /// How many recent requests to keep for GET /_mock/requests.
    #[arg(long, default_value_t = 100_000)]
    pub record_limit: usize,
    /// Log one line per relay request to stderr.
    #[arg(long)]
    pub verbose: bool,
}

impl Cli {
    pub fn initial_config(&self) -> Result<Config, String> {
        let config = Config {
            models_status: self.models_status,
            chat_status: self.chat_status,
            latency_ms: self.latency_ms,
            refuse: self.refuse,
            unknown_models: self.unknown_models.clone(),
            chunk_delay_ms: self.chunk_delay_ms,
            chunks: self.chunks,
            sse_split: self.sse_split,
            stream_usage: self.stream_usage,
            seed: self.seed,
        };
        config.validate()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_initial_config() {
        let cli = Cli::try_parse_from([
            "mock-relay",
            "--name",
            "green",
            "--chat-status",
            "503",
            "--sse-split",
            "random",
            "--stream-usage",
            "always",
            "--unknown-model",
            "a",
            "--unknown-model",
            "b",
            "--refuse",
        ])
        .unwrap();
        let config = cli.initial_config().unwrap();
        assert_eq!(config.chat_status, 503);
        assert_eq!(config.sse_split, SseSplit::Random);
        assert_eq!(config.stream_usage, StreamUsage::Always);
        assert_eq!(config.unknown_models, vec!["a", "b"]);
        assert!(config.refuse);
        assert_eq!(cli.threads, 1);
    }

    #[test]
    fn name_is_required_and_threads_positive() {
        assert!(Cli::try_parse_from(["mock-relay"]).is_err());
        assert!(Cli::try_parse_from(["mock-relay", "--name", "b", "--threads", "0"]).is_err());
    }
}
