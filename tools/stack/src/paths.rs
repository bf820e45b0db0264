//! Where the binaries and files the harness runs live.

use std::path::{Path, PathBuf};

/// The workspace root (this crate lives in `<root>/tools/stack`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tools/stack has a grandparent")
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => repo_root().join(dir),
        None => repo_root().join("target"),
    }
}

/// Panics with the fix when a file the harness needs was not built.
fn must_exist(path: PathBuf, what: &str) -> PathBuf {
    if !path.is_file() {
        panic!(
            "{what} not found at {}: run ./build.sh build first",
            path.display()
        );
    }
    path
}

/// Envoy: `$ENVOY_BIN`, else the one build.sh installs into `<repo>/.venv`.
pub fn envoy_bin() -> PathBuf {
    match std::env::var_os("ENVOY_BIN") {
        Some(bin) if !bin.is_empty() => must_exist(PathBuf::from(bin), "Envoy ($ENVOY_BIN)"),
        _ => must_exist(repo_root().join(".venv/bin/envoy"), "Envoy"),
    }
}

/// The filter, as `cargo build --release --target wasm32-wasip1` leaves it.
pub fn wasm_path() -> PathBuf {
    must_exist(
        target_dir().join("wasm32-wasip1/release/bluegreen_relay.wasm"),
        "the filter (bluegreen_relay.wasm)",
    )
}

/// The mock relay: `$MOCK_RELAY_BIN`, else the release build.
pub fn mock_relay_bin() -> PathBuf {
    match std::env::var_os("MOCK_RELAY_BIN") {
        Some(bin) if !bin.is_empty() => {
            must_exist(PathBuf::from(bin), "mock-relay ($MOCK_RELAY_BIN)")
        }
        _ => must_exist(target_dir().join("release/mock-relay"), "mock-relay"),
    }
}

/// A shipped Envoy config template, e.g. `template("static.yaml")`.
pub fn template(name: &str) -> PathBuf {
    must_exist(
        repo_root().join("envoy/templates").join(name),
        "the Envoy template",
    )
}
