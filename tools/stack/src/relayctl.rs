//! relayctl as the operations tests and the demo run it: where the binary is, and one run's
//! exit code, outputs and timing.

use std::path::PathBuf;

use crate::load::unix_ms;

/// relayctl: `$RELAYCTL_BIN`, else the release build next to mock-relay.
pub fn relayctl_bin() -> PathBuf {
    let bin = match std::env::var_os("RELAYCTL_BIN") {
        Some(bin) if !bin.is_empty() => PathBuf::from(bin),
        _ => crate::paths::mock_relay_bin().with_file_name("relayctl"),
    };
    if !bin.is_file() {
        panic!(
            "relayctl not found at {}: run ./build.sh build first",
            bin.display()
        );
    }
    bin
}

/// One relayctl run.
#[derive(Debug, Clone)]
pub struct RelayctlRun {
    pub args: Vec<String>,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Unix ms when it was started and when it had returned.
    pub started_ms: u64,
    pub returned_ms: u64,
}

impl RelayctlRun {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with both outputs unless relayctl exited 0.
    pub fn assert_ok(&self) -> &RelayctlRun {
        assert!(self.ok(), "relayctl {:?} failed:\n{self}", self.args);
        self
    }
}

impl std::fmt::Display for RelayctlRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs relayctl with exactly `env` added (and no key variable, no RELAYCTL_* from the caller).
pub fn run_relayctl(args: &[&str], env: &[(&str, &str)]) -> RelayctlRun {
    let started_ms = unix_ms();
    let mut cmd = std::process::Command::new(relayctl_bin());
    for var in [
        "HOLYSHEEP_API_KEY_BLUE",
        "HOLYSHEEP_API_KEY_GREEN",
        "RELAYCTL_CONFIG",
        "RELAYCTL_STATUS_URL",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run relayctl: {e}"));
    RelayctlRun {
        args: args.iter().map(|a| a.to_string()).collect(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        started_ms,
        returned_ms: unix_ms(),
    }
}
