//! Blue + green mock relays behind Envoy running the filter: what tests and the demo use.

use std::time::Duration;

use bluegreen_relay::config::defaults;
use serde_json::Value;

use crate::envoy::{Envoy, EnvoyExit};
use crate::http::Http;
use crate::mock::MockRelay;
use crate::paths::{template, wasm_path};
use crate::poll::poll_until;
use crate::running::RunningStack;

/// Handed to Envoy as `$HOLYSHEEP_API_KEY_BLUE` by [`Stack::start`].
pub const BLUE_KEY: &str = "sk-test-blue-3f9c2a7d1e8b4c60";
/// For configs that carry green's key inline.
pub const GREEN_KEY: &str = "sk-test-green-b8e14d0a9c7f2e35";

/// Workers per Envoy: two, so per-worker state and cross-worker counts get exercised.
const CONCURRENCY: u32 = 2;

/// Counters are flushed on a ~200 ms timer; this is ample.
const SETTLE: Duration = Duration::from_secs(3);

pub struct Stack {
    pub blue: MockRelay,
    pub green: MockRelay,
    pub envoy: Envoy,
    client: Http,
}

impl Stack {
    /// Starts everything with `$HOLYSHEEP_API_KEY_BLUE` = [`BLUE_KEY`]; panics if Envoy refuses.
    pub fn start(filter_config: &str) -> Stack {
        Stack::start_with_env(filter_config, &[("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY)])
    }

    /// Starts everything with exactly `env` as the key variables Envoy sees.
    pub fn start_with_env(filter_config: &str, env: &[(&str, &str)]) -> Stack {
        Stack::try_start(filter_config, env)
            .unwrap_or_else(|exit| panic!("Envoy did not start: {exit:?}"))
    }

    /// Like [`Stack::start_with_env`], but hands back Envoy's exit when it will not start.
    pub fn try_start(filter_config: &str, env: &[(&str, &str)]) -> Result<Stack, EnvoyExit> {
        Stack::try_start_with_relays(filter_config, env, &[], &[])
    }

    /// Like [`Stack::try_start`], with extra `mock-relay` arguments for each relay (e.g.
    /// `["--models-status", "503"]`), so a failure is in place before Envoy's first probe.
    pub fn try_start_with_relays(
        filter_config: &str,
        env: &[(&str, &str)],
        blue_args: &[&str],
        green_args: &[&str],
    ) -> Result<Stack, EnvoyExit> {
        let blue = MockRelay::start("blue", blue_args);
        let green = MockRelay::start("green", green_args);
        let mut vars = bootstrap_vars(&blue, &green, filter_config);
        // A JSON string literal is also a valid YAML double-quoted scalar.
        vars.push(("FILTER_CONFIG", Value::from(filter_config).to_string()));
        let envoy = Envoy::start(&template("static.yaml"), &vars, env, CONCURRENCY)?;
        let client = envoy.client();
        Ok(Stack {
            blue,
            green,
            envoy,
            client,
        })
    }

    /// Polls the status until `settled` holds (counters are batched); panics with the
    /// last status seen, described by `what`, if it never does.
    pub fn status_when(&self, what: &str, settled: impl Fn(&Value) -> bool) -> Value {
        let mut last = Value::Null;
        poll_until(SETTLE, || {
            last = self.status();
            settled(&last).then(|| last.clone())
        })
        .unwrap_or_else(|| panic!("status never showed {what}; last:\n{last:#}"))
    }

    pub fn envoy_log(&self) -> String {
        self.envoy.log()
    }
}

pub const CHAT_BODY: &str =
    r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}"#;

/// The fallback route's cluster: the active environment's, when the config says.
/// The template tokens every bootstrap has: where the relays listen, the `.wasm`, and the
/// fallback route's cluster (the active environment's in `serving_config`).
pub(crate) fn bootstrap_vars(
    blue: &MockRelay,
    green: &MockRelay,
    serving_config: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("BLUE_ADDR", blue.host().to_string()),
        ("BLUE_PORT", blue.port().to_string()),
        ("GREEN_ADDR", green.host().to_string()),
        ("GREEN_PORT", green.port().to_string()),
        ("WASM_PATH", wasm_path().display().to_string()),
        ("ACTIVE_CLUSTER", active_cluster(serving_config)),
        ("BODY_STAGE", body_stage(serving_config)),
    ]
}

/// What envoy/templates/static.yaml gets for `{{BODY_STAGE}}`: the body-check filters when the
/// filter configuration has a model catalog (pinned models and large bodies need them), nothing
/// otherwise, since Envoy creates them for every request even when their matcher skips them.
pub fn body_stage(filter_config: &str) -> String {
    let config: Value = serde_json::from_str(filter_config).unwrap_or(Value::Null);
    let has_catalog = config["models"].as_object().is_some_and(|m| !m.is_empty());
    if has_catalog {
        body_stage_yaml()
    } else {
        String::new()
    }
}

/// envoy/templates/parts/body-stage.yaml, for bootstraps that always want it.
pub fn body_stage_yaml() -> String {
    std::fs::read_to_string(template("parts/body-stage.yaml")).unwrap_or_else(|err| panic!("{err}"))
}

fn active_cluster(filter_config: &str) -> String {
    let config: Value = serde_json::from_str(filter_config).unwrap_or(Value::Null);
    let active = config["active"]
        .as_str()
        .map_or_else(defaults::active, str::to_string);
    config["environments"][active.as_str()]["cluster"]
        .as_str()
        .unwrap_or("relay_blue")
        .to_string()
}

impl crate::running::RunningStack for Stack {
    fn relays(&self) -> [&MockRelay; 2] {
        [&self.blue, &self.green]
    }

    fn client(&self) -> &Http {
        &self.client
    }
}
