//! State shared by every connection: identity, live config, request log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use anyhow::Context;
use hyper::header::HeaderValue;

use crate::config::Config;
use crate::recorder::RequestLog;

pub struct AppState {
    pub name: String,
    /// Pre-built `x-mock-relay` value, attached to every relay response.
    pub name_header: HeaderValue,
    pub log: RequestLog,
    pub verbose: bool,
    /// Handlers take a cheap snapshot; admin updates swap the whole Arc.
    config: RwLock<Arc<Config>>,
    answers: AtomicU64,
    /// Completion requests seen while `chat_error_every` is on, since it was last set.
    completions: AtomicU64,
}

impl AppState {
    pub fn new(
        name: &str,
        config: Config,
        record_limit: usize,
        verbose: bool,
    ) -> anyhow::Result<AppState> {
        let name_header = HeaderValue::from_str(name)
            .with_context(|| format!("--name {name:?} is not a valid header value"))?;
        Ok(AppState {
            name: name.to_string(),
            name_header,
            log: RequestLog::new(record_limit),
            verbose,
            config: RwLock::new(Arc::new(config)),
            answers: AtomicU64::new(0),
            completions: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> Arc<Config> {
        // The Arc inside is always whole, so a poisoned lock is still usable.
        Arc::clone(&self.config.read().unwrap_or_else(PoisonError::into_inner))
    }

    pub fn set_config(&self, config: Config) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(config);
    }

    /// 1, 2, 3... for completion ids.
    pub fn next_answer_number(&self) -> u64 {
        self.answers.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// 1, 2, 3... for the completion requests `chat_error_every` counts.
    pub fn next_completion_number(&self) -> u64 {
        self.completions.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn restart_completion_count(&self) {
        self.completions.store(0, Ordering::Relaxed);
    }
}
