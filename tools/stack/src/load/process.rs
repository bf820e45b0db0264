//! The harness side: a `stack load` process a test starts, stops and reads.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};

use super::{LoadArgs, LoadRecord, LoadSpec, LoadSummary};
use crate::rundir::RunDir;

/// The `stack` binary: `$STACK_BIN`, else the release build next to mock-relay.
pub fn stack_bin() -> PathBuf {
    let bin = match std::env::var_os("STACK_BIN") {
        Some(bin) if !bin.is_empty() => PathBuf::from(bin),
        _ => crate::paths::mock_relay_bin().with_file_name("stack"),
    };
    if !bin.is_file() {
        panic!(
            "stack not found at {}: run ./build.sh build first",
            bin.display()
        );
    }
    bin
}

/// What a finished run gives back.
pub struct LoadReport {
    pub summary: LoadSummary,
    pub records: Vec<LoadRecord>,
}

/// A `stack load` process; killed if dropped before it finished.
pub struct LoadRun {
    child: Child,
    stdin: Option<ChildStdin>,
    records_path: PathBuf,
    stderr_path: PathBuf,
    _dir: RunDir,
}

impl LoadRun {
    /// Starts `stack load` against `url` (loopback); it runs until `spec.duration_ms` passes
    /// or [`LoadRun::stop`] is called.
    pub fn start(url: &str, spec: &LoadSpec) -> LoadRun {
        let dir = RunDir::new("load");
        let records_path = dir.path().join("records.jsonl");
        let stderr_path = dir.path().join("stderr.log");
        let stderr = File::create(&stderr_path).expect("create load stderr log");
        let mut child = Command::new(stack_bin())
            .arg("load")
            .args(LoadArgs::command_line(url, spec, &records_path))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start stack load: {e}"));
        let stdin = child.stdin.take();
        LoadRun {
            child,
            stdin,
            records_path,
            stderr_path,
            _dir: dir,
        }
    }

    /// Ends the run now (closes its standard input) and reads its results.
    pub fn stop(mut self) -> LoadReport {
        self.stdin = None;
        self.finish()
    }

    /// Waits for the run to end by itself and reads its results.
    pub fn wait(self) -> LoadReport {
        self.finish()
    }

    fn finish(mut self) -> LoadReport {
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        let status = self.child.wait().expect("wait for stack load");
        let stderr = std::fs::read_to_string(&self.stderr_path).unwrap_or_default();
        assert!(
            status.success(),
            "stack load exited with {status}; stderr:\n{stderr}"
        );
        let summary: LoadSummary = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("stack load printed no summary ({e}): {stdout}\n{stderr}"));
        let file = File::open(&self.records_path)
            .unwrap_or_else(|e| panic!("no records from stack load ({e})"));
        let records = BufReader::new(file)
            .lines()
            .map(|line| {
                let line = line.expect("read a load record");
                serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("bad load record ({e}): {line}"))
            })
            .collect();
        LoadReport { summary, records }
    }
}

impl Drop for LoadRun {
    fn drop(&mut self) {
        // Still running only if the test failed before reading the results.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
