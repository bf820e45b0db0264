//! A running Envoy started from a template, or the reason it would not start.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::http::{Http, Resp};
use crate::paths::envoy_bin;
use crate::poll::poll_until;
use crate::rundir::RunDir;

/// Env vars the filter may read: never inherited from the caller's shell, so a
/// developer's real key cannot leak into a test and "unset" really is unset.
const KEY_VARS: [&str; 2] = ["HOLYSHEEP_API_KEY_BLUE", "HOLYSHEEP_API_KEY_GREEN"];

/// How long Envoy may take to load the wasm filter and come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Envoy stopped (or never got ready): its exit code (`None` if killed) and log.
pub struct EnvoyExit {
    pub code: Option<i32>,
    pub log: String,
}

impl fmt::Debug for EnvoyExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Envoy exited with {:?}; log tail:\n{}",
            self.code,
            tail(&self.log, 40)
        )
    }
}

pub struct Envoy {
    /// Envoy admin API.
    pub admin: Http,
    /// `127.0.0.1:port` of the relay listener.
    pub listen: String,
    child: Child,
    log_path: PathBuf,
    _dir: RunDir,
}

/// Replaces each `{{NAME}}` token (upper case, digits, `_`) in one pass, so values
/// are never re-scanned; panics on a token without a value.
pub fn render(template: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find("{{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        if name_len == 0 || !after[name_len..].starts_with("}}") {
            out.push_str("{{");
            rest = after;
            continue;
        }
        let name = &after[..name_len];
        let value = vars
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("template token {{{{{name}}}}} has no value"));
        out.push_str(&value.1);
        rest = &after[name_len + 2..];
    }
    out.push_str(rest);
    out
}

/// Runs `envoy --mode validate -c <config>` in `cwd` (which relative paths resolve against).
pub fn validate(config: &Path, env: &[(&str, &str)], cwd: &Path) -> EnvoyExit {
    let out = envoy_command(env)
        .args(["--mode", "validate", "-l", "info", "-c"])
        .arg(config)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| panic!("cannot run envoy: {e}"));
    let mut log = String::from_utf8_lossy(&out.stdout).into_owned();
    log.push_str(&String::from_utf8_lossy(&out.stderr));
    EnvoyExit {
        code: out.status.code(),
        log,
    }
}

fn envoy_command(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(envoy_bin());
    for var in KEY_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

impl Envoy {
    /// Renders `template` (ADMIN_PORT and LISTEN_PORT default to 0: the kernel picks,
    /// so parallel tests never race for a port) and runs Envoy until it is LIVE.
    pub fn start(
        template: &Path,
        vars: &[(&str, String)],
        env: &[(&str, &str)],
        concurrency: u32,
    ) -> Result<Envoy, EnvoyExit> {
        let dir = RunDir::new("envoy");
        let text = std::fs::read_to_string(template)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", template.display()));
        let mut all: Vec<(&str, String)> =
            vec![("ADMIN_PORT", "0".into()), ("LISTEN_PORT", "0".into())];
        all.retain(|(k, _)| !vars.iter().any(|(n, _)| n == k));
        all.extend(vars.iter().cloned());
        let config = dir.path().join("envoy.yaml");
        std::fs::write(&config, render(&text, &all)).expect("write rendered config");

        let log_path = dir.path().join("envoy.log");
        let admin_file = dir.path().join("admin-address");
        let log = File::create(&log_path).expect("create envoy log");
        let child = envoy_command(env)
            .arg("-c")
            .arg(&config)
            .args(["--concurrency", &concurrency.to_string(), "-l", "info"])
            .arg("--use-dynamic-base-id")
            .arg("--admin-address-path")
            .arg(&admin_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log fd"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start envoy: {e}"));

        let mut envoy = Envoy {
            admin: Http::new("http://127.0.0.1:0"),
            listen: String::new(),
            child,
            log_path,
            _dir: dir,
        };
        match envoy.wait_live(&admin_file) {
            Some(code) => Err(EnvoyExit {
                code,
                log: envoy.log(),
            }),
            None => Ok(envoy),
        }
    }

    /// `None` once LIVE; `Some(exit code)` if Envoy exited or never got there.
    fn wait_live(&mut self, admin_file: &Path) -> Option<Option<i32>> {
        let live = poll_until(START_TIMEOUT, || {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(Err(status.code()));
            }
            let addr = std::fs::read_to_string(admin_file).ok()?;
            let admin = Http::new(&format!("http://{}", addr.trim()));
            let ready = admin.try_get("/ready")?;
            (ready.status == 200 && ready.body.trim() == "LIVE").then_some(Ok(admin))
        });
        match live {
            Some(Ok(admin)) => {
                self.listen = listener_address(&admin);
                self.admin = admin;
                None
            }
            Some(Err(code)) => Some(code),
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                Some(None)
            }
        }
    }

    /// A client for the relay listener (keep-alive).
    pub fn client(&self) -> Http {
        Http::new(&self.url())
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// Everything Envoy has written so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Admin `/stats` as text.
    pub fn stats(&self) -> String {
        self.admin_text("/stats")
    }

    /// Admin `/stats/prometheus`.
    pub fn prometheus(&self) -> String {
        self.admin_text("/stats/prometheus")
    }

    fn admin_text(&self, path: &str) -> String {
        let resp: Resp = self.admin.get(path, &[]);
        assert_eq!(resp.status, 200, "admin {path}: {}", resp.body);
        resp.body
    }

    /// Downstream connections accepted by each worker of the relay listener.
    pub fn worker_connections(&self) -> Vec<u64> {
        let stats = self.stats();
        let mut counts: Vec<(String, u64)> = stats
            .lines()
            .filter(|l| l.starts_with("listener.127.0.0.1_") && l.contains(".worker_"))
            .filter_map(|l| {
                let (name, value) = l.split_once(": ")?;
                let worker = name.strip_suffix(".downstream_cx_total")?;
                Some((worker.to_string(), value.trim().parse().ok()?))
            })
            .collect();
        counts.sort();
        counts.into_iter().map(|(_, n)| n).collect()
    }
}

/// The port the kernel gave the relay listener.
fn listener_address(admin: &Http) -> String {
    let listeners = admin.get("/listeners?format=json", &[]).json();
    let port = listeners["listener_statuses"][0]["local_address"]["socket_address"]["port_value"]
        .as_u64()
        .unwrap_or_else(|| panic!("no listener port in {listeners}"));
    format!("127.0.0.1:{port}")
}

/// The last `n` lines of `text`, each cut to 300 characters (Envoy's start-up lines are huge).
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| l.chars().take(300).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "---- envoy log {} (last lines) ----\n{}",
                self.log_path.display(),
                tail(&self.log(), 40)
            );
        }
    }
}
