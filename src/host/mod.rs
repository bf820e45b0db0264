//! The thin host layer: reads inputs from Envoy, calls the pure core, applies its decision.
//! Only compiled for the proxy-wasm VM (wasm32).

mod ai_calls;
mod ai_metrics;
mod ai_stream;
mod calls;
mod keys;
mod metrics;
mod probe;
mod rollback_window;
mod root;
mod route_after_body;
mod routing_state;
mod runtime;
mod shared;
mod stream;
mod upstream;
mod vm;

use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    // Info: the hot path only logs at debug, which this level filters before formatting.
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn proxy_wasm::traits::RootContext> {
        Box::new(root::RelayRoot::default())
    });
}}
