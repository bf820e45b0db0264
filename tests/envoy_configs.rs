//! Every shipped Envoy config passes `envoy --mode validate`. Validation loads the wasm
//! and runs the filter's `on_configure`, so the real filter and keys are needed.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::json;

const KEYS: [(&str, &str); 2] = [
    ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
    ("HOLYSHEEP_API_KEY_GREEN", GREEN_KEY),
];

/// Renders a template as the harness would, into a directory of its own. For the ECDS
/// bootstrap, the watched directory gets the rendered `ecds-resource.json` too.
fn render_template(template: &Path, filter_config: &str) -> PathBuf {
    render_with_stage(template, filter_config, body_stage_yaml())
}

/// `body_stage`: what `{{BODY_STAGE}}` becomes (static.yaml; the other templates lack it).
fn render_with_stage(template: &Path, filter_config: &str, body_stage: String) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "bluegreen-validate-{}-{:x}",
        std::process::id(),
        bluegreen_relay::routing::fnv1a64(
            format!("{}{filter_config}{}", template.display(), body_stage.len()).as_bytes()
        )
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let quoted = json!(filter_config).to_string();
    let vars = [
        ("ADMIN_PORT", "0".to_string()),
        ("LISTEN_PORT", "0".to_string()),
        ("BLUE_ADDR", "127.0.0.1".to_string()),
        ("BLUE_PORT", "18001".to_string()),
        ("GREEN_ADDR", "127.0.0.1".to_string()),
        ("GREEN_PORT", "18002".to_string()),
        ("WASM_PATH", wasm_path().display().to_string()),
        ("FILTER_CONFIG", quoted.clone()),
        ("DEFAULT_CONFIG", quoted),
        ("ACTIVE_CLUSTER", "relay_blue".to_string()),
        ("ECDS_DIR", dir.display().to_string()),
        ("VERSION", "validate-1".to_string()),
        ("BODY_STAGE", body_stage),
        // (tls.yaml) test certificates in the validation directory.
        (
            "CERT_DIR",
            TestCerts::in_dir(&dir).dir().display().to_string(),
        ),
    ];
    let resource = repo_root().join("envoy/templates/ecds-resource.json");
    if resource.is_file() {
        let text = std::fs::read_to_string(resource).unwrap();
        std::fs::write(dir.join("bluegreen-relay.json"), render(&text, &vars)).unwrap();
    }
    let text = std::fs::read_to_string(template).unwrap();
    let out = dir.join(template.file_name().unwrap());
    std::fs::write(&out, render(&text, &vars)).unwrap();
    out
}

/// Validates in the wasm's directory, where the example's relative wasm path resolves.
fn validate_here(config: &Path, env: &[(&str, &str)]) -> EnvoyExit {
    validate(config, env, wasm_path().parent().unwrap())
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_template_validates_once_rendered() {
    let templates = yaml_files(&repo_root().join("envoy/templates"));
    assert!(!templates.is_empty());
    for template in templates {
        let rendered = render_template(&template, &config(1000).to_string());
        let exit = validate_here(&rendered, &KEYS);
        assert_eq!(exit.code, Some(0), "{}: {exit:?}", template.display());
        let _ = std::fs::remove_dir_all(rendered.parent().unwrap());
    }
    // static.yaml without the body stage, as it runs for a configuration without a catalog.
    let rendered = render_with_stage(
        &template("static.yaml"),
        &config(1000).to_string(),
        String::new(),
    );
    let exit = validate_here(&rendered, &KEYS);
    assert_eq!(
        exit.code,
        Some(0),
        "static.yaml without the body stage: {exit:?}"
    );
    let _ = std::fs::remove_dir_all(rendered.parent().unwrap());
}

#[test]
fn every_example_config_validates() {
    let examples = yaml_files(&repo_root().join("envoy"));
    assert!(examples
        .iter()
        .any(|p| p.ends_with("holysheep-example.yaml")));
    for example in examples {
        let exit = validate_here(&example, &KEYS);
        assert_eq!(exit.code, Some(0), "{}: {exit:?}", example.display());
    }
}

#[test]
fn validation_runs_the_filter_configuration() {
    // So a green validate means the filter accepted its config, not just the YAML shape.
    let mut bad = config(1000);
    bad["environments"]["green"]["weight"] = json!(40);
    let rendered = render_template(&template("static.yaml"), &bad.to_string());
    let exit = validate_here(&rendered, &KEYS);
    let _ = std::fs::remove_dir_all(rendered.parent().unwrap());
    assert_ne!(exit.code, Some(0), "validate accepted weights 90 + 40");
    assert!(
        exit.log.contains("must sum to 100 (got 90 + 40)"),
        "{exit:?}"
    );
}

#[test]
fn holysheep_example_needs_both_keys() {
    let example = repo_root().join("envoy/holysheep-example.yaml");
    let exit = validate_here(&example, &KEYS[..1]);
    assert_ne!(
        exit.code,
        Some(0),
        "validated without $HOLYSHEEP_API_KEY_GREEN"
    );
    assert!(
        exit.log.contains("environments.green.api_key_env"),
        "{exit:?}"
    );
}
