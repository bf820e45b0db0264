//! relayctl against a real Envoy fed by ECDS: validation with the filter's own messages,
//! health-gated canaries, the status table and JSON, the Istio manifest. No key is ever printed.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use bluegreen_relay::config::Config;
use serde_json::{json, Value};
use stack::{
    failover_config, poll_until, render, run_relayctl, template, wasm_path, EcdsStack, RelayctlRun,
    RunningStack, BLUE_KEY, CHAT_BODY, GREEN_KEY,
};

/// The last 12 characters of each test key: enough to spot a leak.
fn assert_no_key(what: &str, text: &str) {
    for key in [BLUE_KEY, GREEN_KEY] {
        let tail = &key[key.len() - 12..];
        assert!(
            !text.contains(tail),
            "{what} shows a key (…{tail}):\n{text}"
        );
    }
}

fn assert_no_key_in(run: &RelayctlRun) {
    assert_no_key(&format!("relayctl {:?}", run.args), &format!("{run}"));
}

/// A scratch directory removed at the end of a passing test.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "relayctl-test-{}-{label}-{}",
            std::process::id(),
            stack::load::unix_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// `plugin` written as the ECDS resource the bootstrap watches.
    fn resource(&self, name: &str, plugin: &Value) -> PathBuf {
        let text = std::fs::read_to_string(template("ecds-resource.json")).unwrap();
        let vars = [
            ("VERSION", "1".to_string()),
            ("FILTER_CONFIG", Value::from(plugin.to_string()).to_string()),
            ("WASM_PATH", wasm_path().display().to_string()),
        ];
        let path = self.0.join(name);
        std::fs::write(&path, render(&text, &vars)).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn relayctl_at(args: &[&str], config: &Path, env: &[(&str, &str)]) -> RelayctlRun {
    let config = config.to_str().unwrap();
    let mut all = vec![("RELAYCTL_CONFIG", config)];
    all.extend_from_slice(env);
    run_relayctl(args, &all)
}

/// What the filter says about `plugin`, with both keys in its environment.
fn filter_message(plugin: &Value) -> String {
    let lookup = |name: &str| match name {
        "HOLYSHEEP_API_KEY_BLUE" => Some(BLUE_KEY.to_string()),
        "HOLYSHEEP_API_KEY_GREEN" => Some(GREEN_KEY.to_string()),
        _ => None,
    };
    Config::parse(plugin.to_string().as_bytes(), &lookup)
        .expect_err("the configuration is invalid")
        .to_string()
}

#[test]
fn validate_prints_the_filters_message_and_status_shows_the_release() {
    let stack = EcdsStack::start_operations(&failover_config(1000, "rc-initial"));
    let scratch = Scratch::new("validate");

    // Bad configurations: relayctl prints the line the filter would, and exits 1.
    let mut sum = failover_config(1000, "rc-bad-sum");
    sum["environments"]["green"]["weight"] = json!(20);
    let mut unknown = failover_config(1000, "rc-bad-field");
    unknown["environments"]["blue"]["wieght"] = json!(90);
    let mut active = failover_config(1000, "rc-bad-active");
    active["active"] = json!("purple");
    // A variable Envoy does not hand the VM (not in host_env_keys) is unset for the filter,
    // even if relayctl's own environment has it.
    let mut hidden = failover_config(1000, "rc-bad-env");
    hidden["environments"]["green"]["api_key_env"] = json!("SOME_OTHER_KEY");
    for (i, bad) in [&sum, &unknown, &active, &hidden].into_iter().enumerate() {
        let file = scratch.resource(&format!("bad-{i}.json"), bad);
        let run = relayctl_at(
            &["validate"],
            &file,
            &[("SOME_OTHER_KEY", "sk-not-in-envoy")],
        );
        assert_eq!(run.code, Some(1), "{run}");
        let want = filter_message(bad);
        assert!(want.starts_with("invalid configuration: "), "{want}");
        assert!(
            run.stderr.lines().any(|l| l == want),
            "relayctl validate did not print {want:?}:\n{run}"
        );
    }
    assert!(filter_message(&hidden).contains("environments.green.api_key_env"));

    // The same bad configuration published to Envoy: the filter logs exactly that line.
    let run = relayctl_at(
        &["validate", "--offline"],
        &scratch.resource("sum.json", &sum),
        &[],
    );
    let relayctl_line = run.stderr.lines().next().unwrap().to_string();
    let rejected = stack.ecds_stat("update_rejected");
    stack.publish(&sum.to_string());
    poll_until(Duration::from_secs(10), || {
        (stack.ecds_stat("update_rejected") > rejected).then_some(())
    })
    .expect("Envoy never rejected the bad configuration");
    let log = stack.envoy.log();
    assert!(
        log.lines()
            .any(|l| l.ends_with(&format!(": {relayctl_line}"))),
        "Envoy's log has no line ending in {relayctl_line:?}"
    );
    assert_eq!(stack.live_version().as_deref(), Some("rc-initial"));
    // Put the good one back (the resource file is what relayctl edits).
    stack.publish(&failover_config(1000, "rc-good").to_string());
    stack.wait_version("rc-good");

    // A good configuration: keys unset here are checked with a placeholder, and said so;
    // green (the candidate) is healthy, so exit 0.
    let run = stack.relayctl(&["validate"]);
    assert_eq!(run.code, Some(0), "{run}");
    for var in ["HOLYSHEEP_API_KEY_BLUE", "HOLYSHEEP_API_KEY_GREEN"] {
        assert!(
            run.stderr.contains(&format!(
                "warning: ${var} is not set in relayctl's environment"
            )),
            "{run}"
        );
    }
    assert!(
        run.stdout.contains("configuration OK: version rc-good"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("green (the candidate) could get traffic"),
        "{run}"
    );
    assert_no_key_in(&run);
    // With the keys in relayctl's environment there is nothing to warn about.
    let run = relayctl_at(
        &["validate", "--offline"],
        &stack.resource_path(),
        &[
            ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
            ("HOLYSHEEP_API_KEY_GREEN", GREEN_KEY),
        ],
    );
    assert_eq!(run.code, Some(0), "{run}");
    assert!(!run.stderr.contains("warning"), "{run}");
    assert_no_key_in(&run);

    // Some traffic, a canary, then the status as a table and as JSON.
    let client = stack.envoy.client();
    for i in 0..40 {
        let id = format!("session-{i}");
        let resp = client.post("/v1/chat/completions", &[("x-session-id", &id)], CHAT_BODY);
        assert_eq!(resp.status, 200, "{}", resp.body);
    }
    let canary = stack.relayctl(&["canary", "25"]);
    canary.assert_ok();
    assert_no_key_in(&canary);
    let version = canary
        .stdout
        .split("published version ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .unwrap()
        .to_string();
    let live = poll_until(Duration::from_secs(5), || {
        let s = stack.status();
        (s["total_requests"] == json!(40)).then_some(s)
    })
    .expect("the status never counted the 40 requests");

    let table = stack.relayctl(&["status"]);
    table.assert_ok();
    assert_no_key_in(&table);
    let out = &table.stdout;
    print!("{out}");
    for line in [
        format!("  config version   {version}"),
        "  active           blue".to_string(),
        "  routing mode     normal (health checks off)".to_string(),
        format!(
            "  requests         40 in total, green traffic ratio {}",
            live["green_traffic_ratio"]
        ),
        "  last step        ".to_string(),
    ] {
        assert!(out.contains(&line), "no {line:?} in:\n{out}");
    }
    let row = |env: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("{env} ")))
            .unwrap_or_else(|| panic!("no {env} row in:\n{out}"))
            .split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let blue = row("blue");
    let green = row("green");
    assert_eq!(
        blue[..8].join(" "),
        format!(
            "blue active relay_blue 75 % 75 % {}",
            live["environments"]["blue"]["requests"]
        ),
        "{out}"
    );
    assert_eq!(
        green[..8].join(" "),
        format!(
            "green candidate relay_green 25 % 25 % {}",
            live["environments"]["green"]["requests"]
        ),
        "{out}"
    );
    assert_eq!(blue[8..].join(" "), "healthy yes no", "{out}");
    assert!(out.contains(&format!("{version} (live on Envoy)")), "{out}");
    assert!(out.contains(&format!("canary 25 -> {version}")), "{out}");

    let json_run = stack.relayctl(&["status", "--json"]);
    json_run.assert_ok();
    assert_no_key_in(&json_run);
    let doc: Value = serde_json::from_str(&json_run.stdout).unwrap();
    for field in ["version", "active", "routing_mode", "total_requests"] {
        assert_eq!(doc[field], live[field], "{field}: {doc:#}");
    }
    // Each worker stamps its own load time: the two may differ by a few ms.
    let loaded = |s: &Value| s["config_loaded_at_ms"].as_i64().unwrap();
    assert!((loaded(&doc) - loaded(&live)).abs() < 1000, "{doc:#}");
    assert_eq!(doc["environments"]["green"]["weight"], json!(25.0));
    assert_eq!(doc["relayctl"]["in_sync"], json!(true), "{doc:#}");
    assert_eq!(doc["relayctl"]["live_version"], json!(version));
    assert_eq!(doc["relayctl"]["last_step"]["step"], "canary 25");
    assert_eq!(doc["relayctl"]["status_url"], json!(stack.status_url()));
}

#[test]
fn canary_and_promote_refuse_an_unhealthy_candidate_unless_forced() {
    let mut config = failover_config(0, "hc-initial");
    config["health_check"] = json!({"interval_ms": 300, "timeout_ms": 200});
    let stack = EcdsStack::start_operations(&config);
    stack.green.set_config(&json!({"models_status": 503}));
    // A probe answered 503: "degraded" (or "unhealthy"), anything but healthy.
    let health = poll_until(Duration::from_secs(10), || {
        let health = stack.status()["environments"]["green"]["health"].clone();
        (health == "degraded" || health == "unhealthy").then_some(health)
    })
    .expect("green's probes never failed");
    let health = health.as_str().unwrap();
    let resource = std::fs::read_to_string(stack.resource_path()).unwrap();

    for args in [&["canary", "10"][..], &["promote"][..]] {
        let run = stack.relayctl(args);
        assert_eq!(run.code, Some(1), "{run}");
        assert!(
            run.stderr.contains(&format!(
                "refusing {}: green is {health} in the filter's health checks",
                args.join(" ")
            )),
            "{run}"
        );
        assert!(run.stderr.contains("--force"), "{run}");
        assert_no_key_in(&run);
    }
    assert_eq!(
        std::fs::read_to_string(stack.resource_path()).unwrap(),
        resource,
        "a refused step changed the configuration"
    );
    let run = stack.relayctl(&["validate"]);
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stderr
            .contains("green (the candidate) could not get traffic now"),
        "{run}"
    );

    // --force publishes anyway: configured 10 %, but the filter holds green back.
    let run = stack.relayctl(&["canary", "10", "--force"]);
    run.assert_ok();
    assert!(run.stderr.contains("publishing anyway (--force)"), "{run}");
    let status = stack.status();
    assert_eq!(
        status["environments"]["green"]["weight"],
        json!(10.0),
        "{status:#}"
    );
    assert_eq!(
        status["environments"]["green"]["effective_weight"],
        json!(0.0),
        "{status:#}"
    );

    // Rollback is never refused.
    stack.relayctl(&["rollback"]).assert_ok();
    assert_eq!(
        stack.status()["environments"]["green"]["weight"],
        json!(0.0)
    );

    // Healthy again: no --force needed.
    stack.green.set_config(&json!({"models_status": 200}));
    poll_until(Duration::from_secs(10), || {
        (stack.status()["environments"]["green"]["health"] == "healthy").then_some(())
    })
    .expect("green never became healthy again");
    stack.relayctl(&["validate"]).assert_ok();
    stack.relayctl(&["canary", "20"]).assert_ok();
    // Each worker re-reads the shared health on its 200 ms timer.
    poll_until(Duration::from_secs(3), || {
        let status = stack.status();
        (status["environments"]["green"]["effective_weight"] == json!(20.0)).then_some(())
    })
    .unwrap_or_else(|| panic!("green never got its 20 %: {:#}", stack.status()));
}

#[test]
fn render_istio_is_yaml_with_the_config_and_no_key() {
    let scratch = Scratch::new("render");
    let mut plugin = failover_config(1000, "render-1");
    plugin["environments"]["green"] = json!({
        "cluster": "relay_green",
        "weight": 10,
        "api_key": GREEN_KEY,
    });
    plugin["health_check"] = json!({"interval_ms": 5000, "model_probes": ["gpt-4.1"]});
    let file = scratch.resource("bluegreen-relay.json", &plugin);

    let run = relayctl_at(
        &[
            "render",
            "--istio",
            "--wasm-url",
            "oci://registry.example/relay:1.2.3",
        ],
        &file,
        &[("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY)],
    );
    run.assert_ok();
    assert_no_key_in(&run);
    assert!(
        run.stderr
            .contains("environments.green.api_key is an inline key"),
        "{run}"
    );

    let doc: serde_yaml::Value = serde_yaml::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not YAML ({e}):\n{}", run.stdout));
    let doc: Value = serde_json::to_value(doc).unwrap();
    assert_eq!(doc["apiVersion"], "extensions.istio.io/v1alpha1");
    assert_eq!(doc["kind"], "WasmPlugin");
    let spec = &doc["spec"];
    assert_eq!(spec["selector"]["matchLabels"]["istio"], "ingressgateway");
    assert_eq!(spec["url"], "oci://registry.example/relay:1.2.3");
    // The same placement and failure policy as the shipped envoy/istio/wasmplugin.yaml.
    assert_eq!(spec["failStrategy"], "FAIL_RELOAD");
    assert_eq!(spec["phase"], "STATS", "{spec:#}");
    assert_eq!(
        spec["vmConfig"]["env"],
        json!([
            {"name": "HOLYSHEEP_API_KEY_BLUE", "valueFrom": "HOST"},
            {"name": "HOLYSHEEP_API_KEY_GREEN", "valueFrom": "HOST"},
        ])
    );
    // The configuration, with green's inline key replaced by a variable.
    let mut want = plugin.clone();
    want["environments"]["green"] =
        json!({"cluster": "relay_green", "weight": 10, "api_key_env": "HOLYSHEEP_API_KEY_GREEN"});
    assert_eq!(spec["pluginConfig"], want);
    let placeholder = |_: &str| Some("placeholder".to_string());
    Config::parse(spec["pluginConfig"].to_string().as_bytes(), &placeholder)
        .expect("the rendered pluginConfig is a valid configuration");

    // The default module URL.
    let run = relayctl_at(&["render", "--istio"], &file, &[]);
    run.assert_ok();
    let doc: serde_yaml::Value = serde_yaml::from_str(&run.stdout).unwrap();
    let doc: Value = serde_json::to_value(doc).unwrap();
    assert_eq!(
        doc["spec"]["url"],
        "oci://ghcr.io/example/bluegreen-relay:0.1.0"
    );

    // An invalid configuration is not rendered.
    let mut bad = plugin.clone();
    bad["environments"]["green"]["weight"] = json!(11);
    let run = relayctl_at(
        &["render", "--istio"],
        &scratch.resource("bad.json", &bad),
        &[],
    );
    assert_eq!(run.code, Some(1), "{run}");
    assert!(run.stdout.is_empty(), "{run}");
    assert!(
        run.stderr.contains(
            "invalid configuration: environments.green.weight: blue + green must sum to 100"
        ),
        "{run}"
    );
}
