//! Every broken configuration is refused at start: Envoy exits with 1 and logs one
//! `invalid configuration: <field>: <rule> (got <value>)` line naming field and value,
//! never a key; several problems share that line (`invalid configuration: N problems: ...`).

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use serde_json::{json, Value};

const BLUE_ENV: (&str, &str) = ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY);

/// Starts Envoy with `cfg`, expects it to exit, and returns the `invalid configuration`
/// line after checking it contains every needle.
fn refused(cfg: &Value, env: &[(&str, &str)], needles: &[&str]) -> String {
    let exit = match Stack::try_start(&cfg.to_string(), env) {
        Ok(_) => panic!("Envoy accepted a bad configuration: {cfg}"),
        Err(exit) => exit,
    };
    assert_eq!(
        exit.code,
        Some(1),
        "Envoy should exit with status 1: {exit:?}"
    );
    let line = exit
        .log
        .lines()
        .find(|l| l.contains("invalid configuration: "))
        .unwrap_or_else(|| panic!("no `invalid configuration` line for {cfg}: {exit:?}"))
        .to_string();
    let count = exit.log.matches("invalid configuration: ").count();
    println!("{line}");
    assert_eq!(
        count, 1,
        "want exactly one `invalid configuration` line: {exit:?}"
    );
    for needle in needles {
        assert!(line.contains(needle), "`{needle}` missing from: {line}");
    }
    for key in [BLUE_KEY, GREEN_KEY] {
        assert!(
            !exit.log.contains(&key[key.len() - 12..]),
            "a key is in the log: {line}"
        );
    }
    line
}

fn base() -> Value {
    config(1000)
}

#[test]
fn unknown_top_level_field() {
    let mut cfg = base();
    cfg["colour"] = json!("teal");
    refused(&cfg, &[BLUE_ENV], &["colour"]);
}

#[test]
fn unknown_field_in_an_environment() {
    let mut cfg = base();
    cfg["environments"]["green"]["wieght"] = json!(10);
    refused(&cfg, &[BLUE_ENV], &["environments.green", "wieght"]);
}

#[test]
fn missing_cluster() {
    let mut cfg = base();
    cfg["environments"]["blue"]
        .as_object_mut()
        .unwrap()
        .remove("cluster");
    refused(&cfg, &[BLUE_ENV], &["environments.blue.cluster"]);
}

#[test]
fn weight_below_zero() {
    let mut cfg = base();
    cfg["environments"]["green"]["weight"] = json!(-1);
    refused(&cfg, &[BLUE_ENV], &["environments.green.weight", "-1"]);
}

#[test]
fn weight_above_100() {
    let mut cfg = base();
    cfg["environments"]["green"]["weight"] = json!(100.5);
    refused(&cfg, &[BLUE_ENV], &["environments.green.weight", "100.5"]);
}

#[test]
fn weight_with_three_decimals() {
    let mut cfg = base();
    cfg["environments"]["green"]["weight"] = json!(10.005);
    refused(&cfg, &[BLUE_ENV], &["environments.green.weight", "10.005"]);
}

#[test]
fn weights_not_summing_to_100() {
    let mut cfg = base();
    cfg["environments"]["green"]["weight"] = json!(40);
    let line = refused(&cfg, &[BLUE_ENV], &[]);
    let want = "invalid configuration: environments.green.weight: blue + green must sum to 100 (got 90 + 40)";
    assert!(line.contains(want), "want `{want}` in: {line}");
}

#[test]
fn both_api_key_and_api_key_env() {
    let mut cfg = base();
    cfg["environments"]["green"]["api_key_env"] = json!("HOLYSHEEP_API_KEY_GREEN");
    refused(
        &cfg,
        &[BLUE_ENV, ("HOLYSHEEP_API_KEY_GREEN", GREEN_KEY)],
        &["environments.green", "api_key"],
    );
}

#[test]
fn neither_api_key_nor_api_key_env() {
    let mut cfg = base();
    cfg["environments"]["green"]
        .as_object_mut()
        .unwrap()
        .remove("api_key");
    refused(&cfg, &[BLUE_ENV], &["environments.green", "api_key"]);
}

#[test]
fn api_key_env_unset() {
    refused(
        &base(),
        &[],
        &["environments.blue.api_key_env", "HOLYSHEEP_API_KEY_BLUE"],
    );
}

#[test]
fn api_key_env_empty() {
    refused(
        &base(),
        &[("HOLYSHEEP_API_KEY_BLUE", "")],
        &["environments.blue.api_key_env", "HOLYSHEEP_API_KEY_BLUE"],
    );
}

#[test]
fn weight_of_the_wrong_type() {
    let mut cfg = base();
    cfg["environments"]["green"]["weight"] = json!("ten");
    refused(&cfg, &[BLUE_ENV], &["environments.green.weight", "ten"]);
}

#[test]
fn active_neither_blue_nor_green() {
    let mut cfg = base();
    cfg["active"] = json!("purple");
    refused(&cfg, &[BLUE_ENV], &["active", "purple"]);
}

#[test]
fn environments_without_green() {
    let mut cfg = base();
    cfg["environments"].as_object_mut().unwrap().remove("green");
    refused(&cfg, &[BLUE_ENV], &["environments", "green"]);
}

#[test]
fn extra_environment() {
    let mut cfg = base();
    cfg["environments"]["red"] = json!({"cluster": "relay_red", "weight": 0, "api_key": "sk-red"});
    refused(&cfg, &[BLUE_ENV], &["environments", "red"]);
}

#[test]
fn empty_affinity_headers() {
    let mut cfg = base();
    cfg["affinity_headers"] = json!([]);
    refused(&cfg, &[BLUE_ENV], &["affinity_headers"]);
}

#[test]
fn status_path_without_leading_slash() {
    let mut cfg = base();
    cfg["status_path"] = json!("relay/status");
    refused(&cfg, &[BLUE_ENV], &["status_path", "relay/status"]);
}

#[test]
fn several_problems_in_one_line() {
    let mut cfg = base();
    cfg["environments"]["green"]["weight"] = json!(40);
    cfg["cluster_header"] = json!("bad header");
    cfg["override_header"] = json!("x-relay-env");
    let line = refused(&cfg, &[], &[]);
    let want = "invalid configuration: 4 problems: \
        environments.blue.api_key_env: environment variable is unset or empty in the Envoy process \
        (got \"HOLYSHEEP_API_KEY_BLUE\"; pass it with vm_config.environment_variables.host_env_keys); \
        environments.green.weight: blue + green must sum to 100 (got 90 + 40); \
        cluster_header: must be an HTTP header name (got \"bad header\"); \
        override_token_env: is required when override_header is set \
        (got override_header \"x-relay-env\" without override_token_env)";
    assert!(line.contains(want), "want `{want}` in: {line}");
}

#[test]
fn override_token_env_unset() {
    let mut cfg = base();
    cfg["override_header"] = json!("x-relay-env");
    cfg["override_token_env"] = json!("RELAY_OVERRIDE_TOKEN");
    refused(
        &cfg,
        &[BLUE_ENV],
        &[
            "override_token_env",
            "RELAY_OVERRIDE_TOKEN",
            "unset or empty",
        ],
    );
}
