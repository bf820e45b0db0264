//! Blue + green mock relays behind Envoy started from the ECDS bootstrap
//! (`envoy/templates/ecds.yaml`): the filter's configuration comes from a watched directory,
//! so a test can publish a new one to the running Envoy, as `relayctl` does.

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bluegreen_relay::config::defaults;
use bluegreen_relay::routing::{weight, BUCKETS};
use serde_json::Value;

use crate::envoy::{render, Envoy, EnvoyExit};
use crate::http::Http;
use crate::mock::MockRelay;
use crate::paths::{template, wasm_path};
use crate::poll::poll_until;
use crate::relayctl::{run_relayctl, RelayctlRun};
use crate::rundir::RunDir;
use crate::stack::BLUE_KEY;

/// The resource file the bootstrap's `path_config_source` names, inside the watched directory.
pub const ECDS_RESOURCE: &str = "bluegreen-relay.json";

/// Workers per Envoy, as [`crate::Stack`].
const CONCURRENCY: u32 = 2;

pub struct EcdsStack {
    pub blue: MockRelay,
    pub green: MockRelay,
    pub envoy: Envoy,
    client: Http,
    /// Publications so far: names the temp files and the default `version_info`s.
    published: Cell<u32>,
    /// The watched directory; declared last so it outlives Envoy.
    dir: RunDir,
}

impl EcdsStack {
    /// Starts everything with `$HOLYSHEEP_API_KEY_BLUE` = [`BLUE_KEY`]: `filter_config` is
    /// published before Envoy starts, and [`default_config_for`] of it is the bootstrap's
    /// `default_config`. Panics if Envoy will not start.
    pub fn start(filter_config: &str) -> EcdsStack {
        EcdsStack::try_start_with(
            &default_config_for(filter_config),
            Some(filter_config),
            &[("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY)],
            &[],
            &[],
        )
        .unwrap_or_else(|exit| panic!("Envoy (ECDS) did not start: {exit:?}"))
    }

    /// The general form: `default_config` serves until a published configuration arrives;
    /// `initial`, if any, is published before Envoy starts; `env` is exactly the key variables
    /// Envoy sees; `*_args` are extra `mock-relay` arguments.
    pub fn try_start_with(
        default_config: &str,
        initial: Option<&str>,
        env: &[(&str, &str)],
        blue_args: &[&str],
        green_args: &[&str],
    ) -> Result<EcdsStack, EnvoyExit> {
        let blue = MockRelay::start("blue", blue_args);
        let green = MockRelay::start("green", green_args);
        let dir = RunDir::new("ecds");
        let published = Cell::new(0);
        if let Some(config) = initial {
            publish_into(dir.path(), &published, config, None);
        }
        let mut vars = crate::stack::bootstrap_vars(&blue, &green, default_config);
        vars.push(("ECDS_DIR", dir.path().display().to_string()));
        vars.push(("DEFAULT_CONFIG", Value::from(default_config).to_string()));
        let envoy = Envoy::start(&template("ecds.yaml"), &vars, env, CONCURRENCY)?;
        let client = envoy.client();
        Ok(EcdsStack {
            blue,
            green,
            envoy,
            client,
            published,
            dir,
        })
    }

    /// The watched directory.
    pub fn ecds_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Publishes `filter_config` (rendered into `ecds-resource.json` with a fresh
    /// `version_info`): written to a temp file in the watched directory, then renamed over
    /// [`ECDS_RESOURCE`]. Returns the `version_info`. Does not wait for Envoy to apply it.
    pub fn publish(&self, filter_config: &str) -> String {
        publish_into(self.dir.path(), &self.published, filter_config, None)
    }

    /// [`EcdsStack::publish`] with a chosen `version_info`.
    pub fn publish_version(&self, filter_config: &str, version_info: &str) -> String {
        publish_into(
            self.dir.path(),
            &self.published,
            filter_config,
            Some(version_info),
        )
    }

    /// Envoy's count of accepted ECDS updates for the filter (`...bluegreen-relay.config_reload`).
    pub fn config_reloads(&self) -> u64 {
        ecds_counter(&self.envoy, "config_reload")
    }

    /// Publishes and waits until Envoy counts one more accepted update (the workers get it a few
    /// ms later). Panics with the log tail if it never does. Each update compiles the module
    /// for a validating VM: milliseconds when idle, but ~10 s was seen with 8 Envoys on 2 cores.
    pub fn publish_and_wait(&self, filter_config: &str) -> String {
        let before = self.config_reloads();
        let version = self.publish(filter_config);
        poll_until(Duration::from_secs(30), || {
            (self.config_reloads() > before).then_some(())
        })
        .unwrap_or_else(|| {
            panic!(
                "ECDS update {version} was never applied; log tail:\n{}",
                crate::envoy::tail(&self.envoy.log(), 30)
            )
        });
        version
    }
}

/// The configuration served before the first publication: `filter_config` with everything on
/// its active environment, the same clusters and key sources, no probes and no auto rollback.
pub fn default_config_for(filter_config: &str) -> String {
    let mut config: Value = serde_json::from_str(filter_config)
        .unwrap_or_else(|e| panic!("filter config is not JSON ({e}): {filter_config}"));
    let active = config["active"]
        .as_str()
        .map_or_else(defaults::active, str::to_string);
    if let Some(object) = config.as_object_mut() {
        object.remove("health_check");
        object.remove("auto_rollback");
        object.insert("version".into(), Value::from("ecds-default"));
    }
    if let Some(envs) = config["environments"].as_object_mut() {
        for (name, env) in envs.iter_mut() {
            env["weight"] = weight::to_json(if *name == active { BUCKETS } else { 0 });
        }
    }
    config.to_string()
}

pub(crate) fn publish_into(
    dir: &Path,
    published: &Cell<u32>,
    filter_config: &str,
    version_info: Option<&str>,
) -> String {
    let n = published.get() + 1;
    published.set(n);
    let version = version_info.map_or_else(|| format!("test-{n}"), str::to_string);
    let text = std::fs::read_to_string(template("ecds-resource.json"))
        .unwrap_or_else(|e| panic!("cannot read ecds-resource.json: {e}"));
    let vars = [
        ("VERSION", version.clone()),
        ("FILTER_CONFIG", Value::from(filter_config).to_string()),
        ("WASM_PATH", wasm_path().display().to_string()),
    ];
    let temp: PathBuf = dir.join(format!(".{ECDS_RESOURCE}.{n}.tmp"));
    std::fs::write(&temp, render(&text, &vars))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", temp.display()));
    std::fs::rename(&temp, dir.join(ECDS_RESOURCE))
        .unwrap_or_else(|e| panic!("cannot rename {} into place: {e}", temp.display()));
    version
}

/// An ECDS counter of the filter, found by suffix (the prefix differs between Envoy versions).
fn ecds_counter(envoy: &Envoy, name: &str) -> u64 {
    let suffix = format!("bluegreen-relay.{name}");
    envoy
        .stats()
        .lines()
        .filter(|l| l.starts_with("extension_config_discovery."))
        .find_map(|l| {
            let (key, value) = l.split_once(": ")?;
            key.ends_with(&suffix).then(|| value.trim().parse().ok())?
        })
        .unwrap_or(0)
}

// ---- Operations: relayctl against this stack, and when a publication is live.

/// Consecutive answers, each on a fresh connection (the kernel spreads those over both
/// workers), that must report a version before it counts as live.
const CONFIRMING_POLLS: usize = 6;

/// How long a publication may take to go live before a test fails.
const LIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// The plugin configuration of the operations tests: both keys from Envoy's environment
/// ([`BLUE_KEY`], [`crate::GREEN_KEY`]), requests routed through the failover clusters
/// (a failed attempt is retried on the other environment with that environment's key),
/// green at `green_hundredths` / 100 %, affinity on `x-session-id`.
pub fn failover_config(green_hundredths: u32, version: &str) -> Value {
    serde_json::json!({
        "version": version,
        "active": "blue",
        "affinity_headers": ["x-session-id", "x-request-id"],
        "environments": {
            "blue": {
                "cluster": "relay_blue",
                "weight": weight::to_json(BUCKETS - green_hundredths),
                "api_key_env": "HOLYSHEEP_API_KEY_BLUE",
                "failover_cluster": "relay_blue_failover",
            },
            "green": {
                "cluster": "relay_green",
                "weight": weight::to_json(green_hundredths),
                "api_key_env": "HOLYSHEEP_API_KEY_GREEN",
                "failover_cluster": "relay_green_failover",
            },
        },
    })
}

impl EcdsStack {
    /// Starts everything with both keys in Envoy's environment, `filter_config` published
    /// before Envoy starts, and waits until both workers serve it (it must carry a `version`).
    pub fn start_operations(filter_config: &Value) -> EcdsStack {
        let text = filter_config.to_string();
        let stack = EcdsStack::try_start_with(
            &default_config_for(&text),
            Some(&text),
            &[
                ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
                ("HOLYSHEEP_API_KEY_GREEN", crate::stack::GREEN_KEY),
            ],
            &[],
            &[],
        )
        .unwrap_or_else(|exit| panic!("Envoy (ECDS) did not start: {exit:?}"));
        let version = filter_config["version"]
            .as_str()
            .expect("the operations config carries a version");
        stack.wait_version(version);
        stack
    }

    /// The resource file Envoy watches: what `relayctl --config` names.
    pub fn resource_path(&self) -> PathBuf {
        self.dir.path().join(ECDS_RESOURCE)
    }

    /// What `relayctl --status-url` names (the filter's default `status_path`).
    pub fn status_url(&self) -> String {
        format!("{}{}", self.envoy.url(), defaults::status_path())
    }

    /// The configuration version a worker serves (`x-relay-config-version`), asked on a
    /// fresh connection; `None` if the status endpoint does not answer 200.
    pub fn live_version(&self) -> Option<String> {
        let resp = Http::fresh_connections(&self.envoy.url()).try_get(&defaults::status_path())?;
        (resp.status == 200).then(|| {
            resp.header("x-relay-config-version")
                .unwrap_or("")
                .to_string()
        })
    }

    /// Waits until [`CONFIRMING_POLLS`] consecutive fresh-connection answers report
    /// `version`, and returns when the first of them arrived. Panics after 10 s.
    pub fn wait_version(&self, version: &str) -> std::time::Instant {
        let deadline = std::time::Instant::now() + LIVE_TIMEOUT;
        let mut first: Option<std::time::Instant> = None;
        let mut run = 0;
        let mut last = None;
        loop {
            last = self.live_version().or(last);
            let answered = std::time::Instant::now();
            if last.as_deref() == Some(version) {
                first.get_or_insert(answered);
                run += 1;
                if run >= CONFIRMING_POLLS {
                    return first.unwrap_or(answered);
                }
                continue;
            }
            first = None;
            run = 0;
            if answered >= deadline {
                panic!(
                    "Envoy never served version {version:?} (last seen {last:?}); log tail:\n{}",
                    crate::envoy::tail(&self.envoy.log(), 30)
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// An ECDS counter of the filter by its last name part, e.g. `update_rejected`
    /// (`extension_config_discovery.http_filter.bluegreen-relay.update_rejected`... as Envoy names it).
    pub fn ecds_stat(&self, name: &str) -> u64 {
        ecds_counter(&self.envoy, name)
    }

    /// Runs relayctl with `--config` and `--status-url` of this stack (through
    /// `RELAYCTL_CONFIG` / `RELAYCTL_STATUS_URL`), without any key variable in its
    /// environment: keys live in Envoy's environment only.
    pub fn relayctl(&self, args: &[&str]) -> RelayctlRun {
        let config = self.resource_path();
        let url = self.status_url();
        run_relayctl(
            args,
            &[
                ("RELAYCTL_CONFIG", config.to_str().unwrap_or_default()),
                ("RELAYCTL_STATUS_URL", url.as_str()),
            ],
        )
    }
}

impl crate::running::RunningStack for EcdsStack {
    fn relays(&self) -> [&MockRelay; 2] {
        [&self.blue, &self.green]
    }

    fn client(&self) -> &Http {
        &self.client
    }
}
