//! A fleet: several Envoys (`--concurrency 1` each) behind one pair of mock relays, all but
//! the stray ones watching one ECDS directory, and optionally a real Prometheus (the Debian
//! `prometheus` binary, a free port, temp storage, 1 s scrapes) scraping their admin endpoints.

use std::cell::Cell;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bluegreen_relay::config::defaults;
use serde_json::Value;

use crate::ecds::{default_config_for, publish_into, ECDS_RESOURCE};
use crate::envoy::Envoy;
use crate::http::Http;
use crate::load::{LoadRun, LoadSpec};
use crate::mock::MockRelay;
use crate::paths::template;
use crate::poll::poll_until;
use crate::relayctl::{run_relayctl, RelayctlRun};
use crate::rundir::RunDir;
use crate::stack::{bootstrap_vars, BLUE_KEY, GREEN_KEY};

pub struct Fleet {
    pub blue: MockRelay,
    pub green: MockRelay,
    pub envoys: Vec<Envoy>,
    pub prometheus: Option<PrometheusServer>,
    published: Cell<u32>,
    /// The directory every replica but the strays watches; declared last to outlive them.
    dir: RunDir,
    _stray_dir: RunDir,
}

impl Fleet {
    /// `replicas` Envoys on `filter_config` (which must carry a `version`); the last
    /// `strays` of them watch a directory of their own, which is never updated.
    pub fn start(
        filter_config: &Value,
        replicas: usize,
        strays: usize,
        green_args: &[&str],
    ) -> Fleet {
        let text = filter_config.to_string();
        let blue = MockRelay::start("blue", &[]);
        let green = MockRelay::start("green", green_args);
        let dir = RunDir::new("fleet-ecds");
        let stray_dir = RunDir::new("fleet-stray");
        let published = Cell::new(0);
        publish_into(dir.path(), &published, &text, None);
        publish_into(stray_dir.path(), &Cell::new(0), &text, None);
        let default_config = default_config_for(&text);
        let env = [
            ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
            ("HOLYSHEEP_API_KEY_GREEN", GREEN_KEY),
        ];
        let envoys = (0..replicas)
            .map(|i| {
                let watched = if i + strays >= replicas {
                    stray_dir.path()
                } else {
                    dir.path()
                };
                let mut vars = bootstrap_vars(&blue, &green, &default_config);
                vars.push(("ECDS_DIR", watched.display().to_string()));
                vars.push((
                    "DEFAULT_CONFIG",
                    Value::from(default_config.as_str()).to_string(),
                ));
                Envoy::start(&template("ecds.yaml"), &vars, &env, 1)
                    .unwrap_or_else(|exit| panic!("replica {i} did not start: {exit:?}"))
            })
            .collect();
        Fleet {
            blue,
            green,
            envoys,
            prometheus: None,
            published,
            dir,
            _stray_dir: stray_dir,
        }
    }

    /// Starts a Prometheus scraping every replica's admin `/stats/prometheus` each second.
    pub fn with_prometheus(mut self) -> Fleet {
        let targets: Vec<String> = self
            .envoys
            .iter()
            .map(|e| e.admin.base().trim_start_matches("http://").to_string())
            .collect();
        self.prometheus = Some(PrometheusServer::start(&targets));
        self
    }

    /// What `relayctl --config` names.
    pub fn resource_path(&self) -> PathBuf {
        self.dir.path().join(ECDS_RESOURCE)
    }

    pub fn status_urls(&self) -> Vec<String> {
        self.envoys
            .iter()
            .map(|e| format!("{}{}", e.url(), defaults::status_path()))
            .collect()
    }

    /// Publishes a configuration to the shared directory (not to strays).
    pub fn publish(&self, filter_config: &Value) -> String {
        publish_into(
            self.dir.path(),
            &self.published,
            &filter_config.to_string(),
            None,
        )
    }

    /// relayctl with `--config`, every status URL and, when `prometheus`, `--prometheus`.
    pub fn relayctl(&self, args: &[&str], prometheus: bool) -> RelayctlRun {
        let config = self.resource_path();
        let urls = self.status_urls().join(",");
        let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        if prometheus {
            let p = self
                .prometheus
                .as_ref()
                .expect("the fleet has no Prometheus");
            all.push("--prometheus".into());
            all.push(p.url());
        }
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let status_urls = if prometheus { String::new() } else { urls };
        let mut env = vec![("RELAYCTL_CONFIG", config.to_str().unwrap_or_default())];
        if !status_urls.is_empty() {
            env.push(("RELAYCTL_STATUS_URL", status_urls.as_str()));
        }
        run_relayctl(&refs, &env)
    }

    /// Load on every replica: `rps` each, sticky sessions, for up to `duration_ms` (stop it
    /// earlier with [`stop_load`]).
    pub fn load(&self, rps: u64, duration_ms: u64) -> Vec<LoadRun> {
        self.envoys
            .iter()
            .enumerate()
            .map(|(i, envoy)| {
                let spec = LoadSpec {
                    duration_ms,
                    concurrency: 2,
                    session_ids: 3000,
                    max_rps: rps,
                    seed: 7 + i as u64,
                    ..LoadSpec::default()
                };
                LoadRun::start(&envoy.url(), &spec)
            })
            .collect()
    }

    /// Each replica's status JSON.
    pub fn statuses(&self) -> Vec<Value> {
        self.envoys
            .iter()
            .map(|e| {
                Http::fresh_connections(&e.url())
                    .get(&defaults::status_path(), &[])
                    .json()
            })
            .collect()
    }
}

/// Stops [`Fleet::load`]'s runs: (requests, failed) over all of them.
pub fn stop_load(runs: Vec<LoadRun>) -> (u64, u64) {
    runs.into_iter().fold((0, 0), |(n, f), run| {
        let s = run.stop().summary;
        (n + s.total, f + s.failed)
    })
}

pub struct PrometheusServer {
    child: Option<Child>,
    port: u16,
    _dir: RunDir,
}

impl PrometheusServer {
    fn start(targets: &[String]) -> PrometheusServer {
        let dir = RunDir::new("prometheus");
        let port = free_port();
        let config = dir.path().join("prometheus.yml");
        let list = targets
            .iter()
            .map(|t| format!("'{t}'"))
            .collect::<Vec<_>>()
            .join(", ");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n\
                 - job_name: bluegreen\n  metrics_path: /stats/prometheus\n  \
                 static_configs:\n  - targets: [{list}]\n"
            ),
        )
        .expect("write prometheus.yml");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("create log");
        let child = Command::new(prometheus_bin())
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start prometheus ({e}): install Debian's `prometheus` package \
                     (./build.sh test does) or set PROMETHEUS_BIN"
                )
            });
        let server = PrometheusServer {
            child: Some(child),
            port,
            _dir: dir,
        };
        let ready = poll_until(Duration::from_secs(30), || {
            let r = Http::new(&server.url()).try_get("/-/ready")?;
            (r.status == 200).then_some(())
        });
        assert!(
            ready.is_some(),
            "Prometheus never became ready on port {port}"
        );
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until every target has been scraped up.
    pub fn wait_scraped(&self, targets: usize) {
        let http = Http::new(&self.url());
        let seen = poll_until(Duration::from_secs(30), || {
            let v = http.try_get("/api/v1/query?query=sum(up)")?.json();
            let up: f64 = v["data"]["result"][0]["value"][1].as_str()?.parse().ok()?;
            (up as usize >= targets).then_some(())
        });
        assert!(
            seen.is_some(),
            "Prometheus never scraped {targets} replicas"
        );
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn prometheus_bin() -> PathBuf {
    std::env::var_os("PROMETHEUS_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new("prometheus").to_path_buf())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
