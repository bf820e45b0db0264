//! Command line: the listeners, the process knobs, and the initial failure-injection config.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::config::{ChatBody, Config, ModelsBody, SseSplit, StreamUsage};

#[derive(Debug, Parser)]
#[command(
    name = "mock-relay",
    version,
    about = "Stand-in OpenAI-compatible AI relay with runtime failure injection",
    after_help = "`mock-relay certs --help`: write test certificates and exit."
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
    /// PEM certificate chain: the relay listener serves HTTPS (needs --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Every Nth completion request fails with --chat-error-status (0 = off).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub chat_error_every: u64,
    /// Status of the requests --chat-error-every picks (400..=599).
    #[arg(long, default_value_t = 500)]
    pub chat_error_status: u16,
    /// Body of a 200 GET /v1/models.
    #[arg(long, value_enum, default_value_t = ModelsBody::List)]
    pub models_body: ModelsBody,
    /// Extra ids extra-model-0001... appended to the model list.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub extra_models: u32,
    /// Replaces the built-in model ids (repeatable).
    #[arg(long = "model-id", value_name = "ID")]
    pub model_ids: Vec<String>,
    /// Body of a successful completion answer.
    #[arg(long, value_enum, default_value_t = ChatBody::Normal)]
    pub chat_body: ChatBody,
    /// Forces usage.completion_tokens (x-mock-usage still overrides).
    #[arg(long, value_name = "N")]
    pub completion_tokens: Option<u64>,
    /// Sleep before the response head of completion requests only.
    #[arg(long, default_value_t = 0)]
    pub first_byte_delay_ms: u64,
    /// Read each relay request, send nothing for this long, then close the connection.
    #[arg(long, default_value_t = 0)]
    pub hang_ms: u64,
    /// One non-JSON `data:` line of this many bytes before a stream's usage chunk.
    #[arg(long, default_value_t = 0, value_name = "BYTES")]
    pub sse_long_line_bytes: u64,
    /// One malformed JSON event after a stream's first content chunk.
    #[arg(long)]
    pub sse_malformed: bool,
    /// Close the connection halfway through this event of each stream (0 = off).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub sse_cut_after_events: u32,
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
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            chat_error_every: self.chat_error_every,
            chat_error_status: self.chat_error_status,
            models_body: self.models_body,
            extra_models: self.extra_models,
            model_ids: (!self.model_ids.is_empty()).then(|| self.model_ids.clone()),
            chat_body: self.chat_body,
            completion_tokens: self.completion_tokens,
            first_byte_delay_ms: self.first_byte_delay_ms,
            hang_ms: self.hang_ms,
            sse_long_line_bytes: self.sse_long_line_bytes,
            sse_malformed: self.sse_malformed,
            sse_cut_after_events: self.sse_cut_after_events,
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
    fn failure_flags_become_initial_config() {
        let cli = Cli::try_parse_from([
            "mock-relay",
            "--name",
            "blue",
            "--tls-cert",
            "/c.pem",
            "--tls-key",
            "/k.pem",
            "--chat-error-every",
            "10",
            "--chat-error-status",
            "429",
            "--models-body",
            "not_list",
            "--extra-models",
            "1000",
            "--model-id",
            "a",
            "--model-id",
            "b",
            "--chat-body",
            "empty",
            "--completion-tokens",
            "1",
            "--first-byte-delay-ms",
            "20",
            "--hang-ms",
            "9000",
            "--sse-long-line-bytes",
            "1048576",
            "--sse-malformed",
            "--sse-cut-after-events",
            "2",
        ])
        .unwrap();
        let config = cli.initial_config().unwrap();
        assert_eq!(
            config.tls_files(),
            Some((&PathBuf::from("/c.pem"), &PathBuf::from("/k.pem")))
        );
        assert_eq!(config.chat_error_every, 10);
        assert_eq!(config.chat_error_status, 429);
        assert_eq!(config.models_body, ModelsBody::NotList);
        assert_eq!(config.extra_models, 1000);
        assert_eq!(config.model_ids, Some(vec!["a".into(), "b".into()]));
        assert_eq!(config.chat_body, ChatBody::Empty);
        assert_eq!(config.completion_tokens, Some(1));
        assert_eq!(config.first_byte_delay_ms, 20);
        assert_eq!(config.hang_ms, 9000);
        assert_eq!(config.sse_long_line_bytes, 1 << 20);
        assert!(config.sse_malformed);
        assert_eq!(config.sse_cut_after_events, 2);
    }

    #[test]
    fn defaults_are_the_default_config() {
        let cli = Cli::try_parse_from(["mock-relay", "--name", "b"]).unwrap();
        assert_eq!(cli.initial_config().unwrap(), Config::default());
    }

    #[test]
    fn flags_get_the_admin_validation() {
        let parse = |args: &[&str]| {
            let mut all = vec!["mock-relay", "--name", "b"];
            all.extend_from_slice(args);
            Cli::try_parse_from(all).unwrap().initial_config()
        };
        let err = parse(&["--chat-error-status", "200"]).unwrap_err();
        assert!(err.contains("chat_error_status"), "{err}");
        assert!(parse(&["--extra-models", "100001"]).is_err());
        assert!(parse(&["--sse-long-line-bytes", "67108865"]).is_err());
        // The pair rule is clap's here, so the message names the flags.
        assert!(Cli::try_parse_from(["mock-relay", "--name", "b", "--tls-cert", "c"]).is_err());
    }

    #[test]
    fn name_is_required_and_threads_positive() {
        assert!(Cli::try_parse_from(["mock-relay"]).is_err());
        assert!(Cli::try_parse_from(["mock-relay", "--name", "b", "--threads", "0"]).is_err());
    }
}
