//! Log lines through the host's own `proxy_log`, for the `log` crate's macros: the filter never
//! goes through a logger that could trap on an unexpected status. Envoy's level for the module
//! is read once at start, so lines below it are dropped before they are formatted.

use log::{LevelFilter, Log, Metadata, Record};

use super::abi::AbiHost;
use super::api::Host;

struct HostLogger;

static LOGGER: HostLogger = HostLogger;

impl Log for HostLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let message = record.args().to_string();
        // A line the host refuses has nowhere else to go.
        let _ = AbiHost.log(record.level(), &message);
    }

    fn flush(&self) {}
}

/// Installs the logger at Envoy's level for this module (info if the host cannot say).
pub fn install() {
    let level = match AbiHost.log_level() {
        Ok(0) => LevelFilter::Trace,
        Ok(1) => LevelFilter::Debug,
        Ok(2) | Err(_) => LevelFilter::Info,
        Ok(3) => LevelFilter::Warn,
        Ok(_) => LevelFilter::Error,
    };
    // Fails only if a logger is already installed (a second `_initialize`): keep that one.
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
}
