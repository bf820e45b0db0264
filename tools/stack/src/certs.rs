//! Test certificates for HTTPS relays and the TLS listener, made by `mock-relay certs` at test
//! time (no key is ever committed), laid out as `envoy/templates/tls.yaml` reads them from
//! `{{CERT_DIR}}`: `blue-ca.pem` and `green-ca.pem` (the CA each relay cluster trusts),
//! `server.pem` and `server-key.pem` (the relays' and the listener's certificate), plus the
//! files `mock-relay certs` writes (`ca.pem`, `other-ca.pem`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::paths::mock_relay_bin;
use crate::rundir::RunDir;

/// The relay's host name: SNI, the certificate's DNS name, `:authority` and the host rewrite.
pub const RELAY_HOST: &str = "api.holysheep.ai";

pub struct TestCerts {
    dir: PathBuf,
    /// Set when the certificates own their directory (removed with them).
    _owned: Option<RunDir>,
}

impl TestCerts {
    /// New certificates in a directory of their own, both relays trusting `ca.pem`.
    pub fn new() -> TestCerts {
        let run = RunDir::new("certs");
        let dir = run.path().to_path_buf();
        write(&dir);
        TestCerts {
            dir,
            _owned: Some(run),
        }
    }

    /// New certificates written into `dir`, which the caller keeps (e.g. a validation run).
    pub fn in_dir(dir: &Path) -> TestCerts {
        write(dir);
        TestCerts {
            dir: dir.to_path_buf(),
            _owned: None,
        }
    }

    /// What `{{CERT_DIR}}` becomes.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The CA that signed `server.pem` (a client's trust store).
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Certificate and key the mock relays serve (`--tls-cert`, `--tls-key`).
    pub fn server_cert(&self) -> PathBuf {
        self.dir.join("server.pem")
    }

    pub fn server_key(&self) -> PathBuf {
        self.dir.join("server-key.pem")
    }

    /// Makes the cluster of `env` ("blue" or "green") trust only the unrelated CA, so that
    /// the relay's certificate no longer validates. Envoy reads the file at start.
    pub fn trust_other_ca(&self, env: &str) {
        copy(
            &self.dir.join("other-ca.pem"),
            &self.dir.join(format!("{env}-ca.pem")),
        );
    }
}

impl Default for TestCerts {
    fn default() -> TestCerts {
        TestCerts::new()
    }
}

/// The certificate names api.holysheep.ai and 127.0.0.1, so a client may connect by address.
fn write(dir: &Path) {
    let out = Command::new(mock_relay_bin())
        .args(["certs", "--out"])
        .arg(dir)
        .args(["--host", RELAY_HOST, "--host", "127.0.0.1"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run mock-relay certs: {e}"));
    assert!(
        out.status.success(),
        "mock-relay certs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for env in ["blue", "green"] {
        copy(&dir.join("ca.pem"), &dir.join(format!("{env}-ca.pem")));
    }
}

fn copy(from: &Path, to: &Path) {
    std::fs::copy(from, to)
        .unwrap_or_else(|e| panic!("cannot copy {} to {}: {e}", from.display(), to.display()));
}
