//! Packaging: the docker-compose stack (docker-compose.yml, docker/) and the Istio WasmPlugin
//! with its OCI image recipe (envoy/istio/). There is no Docker engine here, so:
//! - `docker-compose config` checks the compose file (services, images, mounts, ports);
//! - docker/envoy.yaml and docker/ecds/bluegreen-relay.json must be what envoy/templates/ gives
//!   with the compose values (this file generates them: after changing a template, run
//!   `UPDATE_DOCKER_CONFIG=1 cargo test --test packaging` and commit the result);
//! - the real Envoy validates the compose bootstrap, then runs it in front of two mock relays
//!   (hostnames and ports pointed at them) and serves, reloads and fails over;
//! - the WasmPlugin's pluginConfig goes through the filter's own validation.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bluegreen_relay::config::Config;
use bluegreen_relay::routing::weight;
use common::*;
use serde::Deserialize;
use serde_json::{json, Value};
use serde_yaml::Value as Yaml;

/// Where docker-compose.yml mounts the filter and the watched directory in the Envoy container.
const COMPOSE_WASM: &str = "/etc/envoy/bluegreen_relay.wasm";
const COMPOSE_ECDS_DIR: &str = "/etc/envoy/ecds";
const COMPOSE_BOOTSTRAP: &str = "/etc/envoy/envoy.yaml";
const LISTEN_PORT: u16 = 10000;
const ADMIN_PORT: u16 = 9901;
/// Both mock relays listen here inside their containers.
const RELAY_PORT: u16 = 8080;
const RELAY_ADMIN_PORT: u16 = 8081;
/// (environment, compose service, Envoy cluster).
const RELAYS: [(&str, &str, &str); 2] = [
    ("blue", "relay-blue", "relay_blue"),
    ("green", "relay-green", "relay_green"),
];
const KEYS: [(&str, &str); 2] = [
    ("HOLYSHEEP_API_KEY_BLUE", BLUE_KEY),
    ("HOLYSHEEP_API_KEY_GREEN", GREEN_KEY),
];
/// Set to regenerate docker/envoy.yaml and docker/ecds/bluegreen-relay.json.
const UPDATE_VAR: &str = "UPDATE_DOCKER_CONFIG";

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel))
        .unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
}

fn yaml(rel: &str) -> Yaml {
    serde_yaml::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not YAML: {e}"))
}

fn lookup_key(name: &str) -> Option<String> {
    KEYS.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.to_string())
}

/// A scratch directory, removed unless the test failed.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "bluegreen-packaging-{}-{label}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The compose configuration, generated from envoy/templates/
// ---------------------------------------------------------------------------------------------

fn environments(blue_weight: u32, green_weight: u32) -> Value {
    json!({
        "blue": {"cluster": "relay_blue", "weight": blue_weight,
                 "api_key_env": "HOLYSHEEP_API_KEY_BLUE", "failover_cluster": "relay_blue_failover"},
        "green": {"cluster": "relay_green", "weight": green_weight,
                  "api_key_env": "HOLYSHEEP_API_KEY_GREEN", "failover_cluster": "relay_green_failover"},
    })
}

/// What docker/ecds/bluegreen-relay.json publishes first: 90/10, probes, rollback, failover.
fn compose_filter_config() -> Value {
    json!({
        "version": "initial",
        "environments": environments(90, 10),
        "active": "blue",
        "affinity_headers": ["x-session-id", "x-request-id"],
        "health_check": {"interval_ms": 5000, "timeout_ms": 2000, "path": "/v1/models",
                         "unhealthy_threshold": 2, "healthy_threshold": 1},
        "auto_rollback": {"max_error_rate": 0.05, "min_requests": 20, "window_ms": 60000,
                          "cooldown_ms": 300000},
    })
}

/// Served until the watched file has been read: everything to blue, no probes.
fn compose_default_config() -> Value {
    json!({
        "environments": environments(100, 0),
        "active": "blue",
        "affinity_headers": ["x-session-id", "x-request-id"],
    })
}

const GENERATED_HEADER: &str = "\
# GENERATED from envoy/templates/ecds.yaml by tests/packaging.rs: do not edit by hand.
# After changing the template: UPDATE_DOCKER_CONFIG=1 cargo test --test packaging
#
# docker-compose.yml's Envoy bootstrap: the ECDS template with the compose values. The relays
# are reached by service name (STRICT_DNS through Docker's DNS), the filter and the watched
# directory are mounted under /etc/envoy, and the listener and admin bind every interface of
# the container (docker-compose.yml publishes admin on the host's 127.0.0.1 only).
";

/// `text` with `from` replaced, which must occur exactly `count` times (else the template
/// changed shape and this generator must follow).
fn replace_exactly(text: &str, from: &str, to: &str, count: usize) -> String {
    let found = text.matches(from).count();
    assert_eq!(
        found, count,
        "envoy/templates/ecds.yaml changed shape: expected {count} of {from:?}, found {found}; \
         update the generator in tests/packaging.rs"
    );
    text.replace(from, to)
}

fn generated_bootstrap() -> String {
    let quoted = |config: Value| Value::from(config.to_string()).to_string();
    let vars = [
        ("ADMIN_PORT", ADMIN_PORT.to_string()),
        ("LISTEN_PORT", LISTEN_PORT.to_string()),
        ("BLUE_ADDR", RELAYS[0].1.to_string()),
        ("BLUE_PORT", RELAY_PORT.to_string()),
        ("GREEN_ADDR", RELAYS[1].1.to_string()),
        ("GREEN_PORT", RELAY_PORT.to_string()),
        ("WASM_PATH", COMPOSE_WASM.to_string()),
        ("ACTIVE_CLUSTER", "relay_blue".to_string()),
        ("ECDS_DIR", COMPOSE_ECDS_DIR.to_string()),
        ("DEFAULT_CONFIG", quoted(compose_default_config())),
    ];
    let rendered = render(&read("envoy/templates/ecds.yaml"), &vars);
    // The template's own header talks about tokens; the generated file gets its own.
    let body: String = rendered
        .split_inclusive('\n')
        .skip_while(|line| line.starts_with('#'))
        .collect();
    let mut out = format!("{GENERATED_HEADER}{body}");
    for port in [ADMIN_PORT, LISTEN_PORT] {
        out = replace_exactly(
            &out,
            &format!("{{ address: 127.0.0.1, port_value: {port} }}"),
            &format!("{{ address: 0.0.0.0, port_value: {port} }}"),
            1,
        );
    }
    replace_exactly(&out, "type: STATIC\n", "type: STRICT_DNS\n", 2)
}

fn generated_resource() -> String {
    let vars = [
        ("VERSION", "1".to_string()),
        ("WASM_PATH", COMPOSE_WASM.to_string()),
        (
            "FILTER_CONFIG",
            Value::from(compose_filter_config().to_string()).to_string(),
        ),
    ];
    render(&read("envoy/templates/ecds-resource.json"), &vars)
}

/// Writes `expected` to `rel` when regenerating; else says whether the file is stale.
fn up_to_date(rel: &str, expected: &str, same: impl Fn(&str, &str) -> bool) -> bool {
    if std::env::var_os(UPDATE_VAR).is_some() {
        // Temp file and rename: other tests read these files meanwhile.
        let path = repo_root().join(rel);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, expected).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        println!("wrote {rel}");
        return true;
    }
    same(&read(rel), expected)
}

fn first_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (None, None) => return "none (line endings?)".to_string(),
            (x, y) if x == y => continue,
            (x, y) => return format!("line {n}: file {x:?}, template gives {y:?}"),
        }
    }
    unreachable!()
}

/// The resource without the parts relayctl changes (`version_info` and the plugin
/// configuration, checked on their own), to compare the rest with the template.
fn resource_shape(text: &str) -> Value {
    let mut v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {e}"));
    v["version_info"] = Value::Null;
    v["resources"][0]["typed_config"]["config"]["configuration"]["value"] = Value::Null;
    v
}

/// The plugin configuration inside an ECDS resource.
fn resource_filter_config(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap();
    v["resources"][0]["typed_config"]["config"]["configuration"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("no configuration.value in {v}"))
        .to_string()
}

#[test]
fn compose_bootstrap_is_the_rendered_ecds_template() {
    let expected = generated_bootstrap();
    let rel = "docker/envoy.yaml";
    assert!(
        up_to_date(rel, &expected, |a, b| a == b),
        "{rel} is stale: run {UPDATE_VAR}=1 cargo test --test packaging (first difference: {})",
        first_difference(&read(rel), &expected)
    );
}

#[test]
fn compose_ecds_resource_is_the_rendered_template() {
    let rel = "docker/ecds/bluegreen-relay.json";
    let expected = generated_resource();
    // relayctl rewrites the weights, `active`, `version` and `version_info` of this file while
    // the stack runs, and may format it its own way: compare the rest as JSON.
    assert!(
        up_to_date(rel, &expected, |a, b| resource_shape(a)
            == resource_shape(b)),
        "{rel} differs from envoy/templates/ecds-resource.json beyond the plugin configuration \
         and version_info: run {UPDATE_VAR}=1 cargo test --test packaging"
    );

    let text = read(rel);
    let filter_config = resource_filter_config(&text);
    Config::parse(filter_config.as_bytes(), &lookup_key)
        .unwrap_or_else(|e| panic!("{rel}: the filter refuses its configuration: {e}"));
    let config: Value = serde_json::from_str(&filter_config).unwrap();
    for (env, _, cluster) in RELAYS {
        let e = &config["environments"][env];
        assert_eq!(e["cluster"], cluster, "{env}");
        assert_eq!(
            e["failover_cluster"],
            format!("{cluster}_failover"),
            "{env}"
        );
        assert!(
            e["api_key_env"].is_string(),
            "{env}: keys come from the environment"
        );
        assert!(
            e.get("api_key").is_none(),
            "{env}: no inline key in a file in git"
        );
    }
    assert!(config["health_check"].is_object(), "health checks on");
    assert!(config["auto_rollback"].is_object(), "auto-rollback on");
}

/// A cluster of a parsed bootstrap by name.
fn cluster<'a>(bootstrap: &'a Yaml, name: &str) -> &'a Yaml {
    bootstrap["static_resources"]["clusters"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|c| c["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no cluster {name}"))
}

fn socket_address(v: &Yaml) -> (String, u64) {
    (
        v["address"].as_str().unwrap_or_default().to_string(),
        v["port_value"].as_u64().unwrap_or_default(),
    )
}

#[test]
fn compose_bootstrap_has_the_compose_values() {
    let bootstrap = yaml("docker/envoy.yaml");
    assert_eq!(
        socket_address(&bootstrap["admin"]["address"]["socket_address"]),
        ("0.0.0.0".to_string(), u64::from(ADMIN_PORT))
    );
    let listener = &bootstrap["static_resources"]["listeners"][0];
    assert_eq!(
        socket_address(&listener["address"]["socket_address"]),
        ("0.0.0.0".to_string(), u64::from(LISTEN_PORT))
    );
    for (env, service, name) in RELAYS {
        let c = cluster(&bootstrap, name);
        assert_eq!(c["type"].as_str(), Some("STRICT_DNS"), "{name}");
        let endpoint = &c["load_assignment"]["endpoints"][0]["lb_endpoints"][0];
        assert_eq!(
            socket_address(&endpoint["endpoint"]["address"]["socket_address"]),
            (service.to_string(), u64::from(RELAY_PORT)),
            "{name}"
        );
        assert_eq!(
            endpoint["metadata"]["filter_metadata"]["bluegreen"]["environment"].as_str(),
            Some(env)
        );
        let failover = cluster(&bootstrap, &format!("{name}_failover"));
        assert!(failover["cluster_type"]["name"]
            .as_str()
            .is_some_and(|t| t.ends_with("aggregate")));
    }
    let text = read("docker/envoy.yaml");
    assert!(text.contains(&format!("filename: \"{COMPOSE_WASM}\"")));
    assert!(text.contains(&format!("path: {COMPOSE_ECDS_DIR}/bluegreen-relay.json")));
    assert!(text.contains(&format!(
        "watched_directory: {{ path: {COMPOSE_ECDS_DIR} }}"
    )));
    assert!(!text.contains("{{"), "an unrendered token is left");
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml through `docker-compose config`
// ---------------------------------------------------------------------------------------------

/// `docker-compose config` with exactly `env` among the variables the file reads.
fn compose_config(env: &[(&str, &str)]) -> Yaml {
    let mut cmd = Command::new("docker-compose");
    cmd.args(["--file", "docker-compose.yml", "config"])
        .current_dir(repo_root());
    for var in [
        "ENVOY_IMAGE",
        "ENVOY_IMAGE_TAG",
        "HOLYSHEEP_API_KEY_BLUE",
        "HOLYSHEEP_API_KEY_GREEN",
        "COMPOSE_FILE",
        "COMPOSE_PROJECT_NAME",
        "COMPOSE_PROFILES",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run docker-compose ({e}): install the Debian package docker-compose (./build.sh does)")
    });
    assert!(
        out.status.success(),
        "docker-compose config failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_yaml::from_slice(&out.stdout).unwrap()
}

fn strings(v: &Yaml) -> Vec<String> {
    v.as_sequence()
        .unwrap_or_else(|| panic!("not a list: {v:?}"))
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn scalar(v: &Yaml) -> String {
    match v {
        Yaml::String(s) => s.clone(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Null => String::new(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// (host ip, published, target) from either the short or the long syntax (compose v1 and v2
/// print them differently).
fn ports(service: &Yaml) -> Vec<(String, String, String)> {
    let Some(list) = service["ports"].as_sequence() else {
        return Vec::new();
    };
    list.iter()
        .map(|p| match p {
            Yaml::String(s) => {
                let s = s.trim_end_matches("/tcp");
                let parts: Vec<&str> = s.rsplitn(3, ':').collect();
                let part = |i: usize| parts.get(i).copied().unwrap_or_default().to_string();
                (part(2), part(1), part(0))
            }
            _ => (
                scalar(&p["host_ip"]),
                scalar(&p["published"]),
                scalar(&p["target"]),
            ),
        })
        .collect()
}

struct Mount {
    source: String,
    target: String,
    read_only: bool,
}

fn mounts(service: &Yaml) -> Vec<Mount> {
    service["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|m| match m {
            Yaml::String(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                Mount {
                    source: parts[0].to_string(),
                    target: parts[1].to_string(),
                    read_only: parts
                        .get(2)
                        .is_some_and(|o| o.split(',').any(|o| o == "ro")),
                }
            }
            _ => {
                assert_eq!(m["type"].as_str(), Some("bind"), "{m:?}");
                Mount {
                    source: scalar(&m["source"]),
                    target: scalar(&m["target"]),
                    read_only: m["read_only"].as_bool().unwrap_or(false),
                }
            }
        })
        .collect()
}

/// Both exist and are the same file or directory.
fn same_path(a: &str, b: &Path) -> bool {
    matches!((Path::new(a).canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

#[test]
fn compose_file_declares_the_stack() {
    let config = compose_config(&[]);
    let services = &config["services"];
    let names: BTreeSet<String> = services
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["envoy", "relay-blue", "relay-green"].map(String::from))
    );

    // Envoy: the official image, the binary itself, the generated bootstrap.
    let envoy = &services["envoy"];
    assert_eq!(
        envoy["image"].as_str(),
        Some("envoyproxy/envoy:v1.40-latest")
    );
    assert_eq!(strings(&envoy["entrypoint"]), ["/usr/local/bin/envoy"]);
    let command = strings(&envoy["command"]);
    let c = command.iter().position(|a| a == "-c").expect("-c");
    assert_eq!(command[c + 1], COMPOSE_BOOTSTRAP);

    let root = repo_root();
    let mounts = mounts(envoy);
    let mount = |target: &str| {
        mounts
            .iter()
            .find(|m| m.target == target)
            .unwrap_or_else(|| panic!("nothing mounted at {target}"))
    };
    let bootstrap = mount(COMPOSE_BOOTSTRAP);
    assert!(same_path(
        &bootstrap.source,
        &root.join("docker/envoy.yaml")
    ));
    assert!(bootstrap.read_only);
    let wasm = mount(COMPOSE_WASM);
    assert!(
        Path::new(&wasm.source).ends_with("target/wasm32-wasip1/release/bluegreen_relay.wasm"),
        "{}",
        wasm.source
    );
    assert!(wasm.read_only, "the filter is mounted read-only");
    let ecds = mount(COMPOSE_ECDS_DIR);
    assert!(same_path(&ecds.source, &root.join("docker/ecds")));
    assert!(
        !ecds.read_only,
        "relayctl publishes into the watched directory"
    );
    assert!(root.join("docker/ecds/bluegreen-relay.json").is_file());

    let envoy_ports = ports(envoy);
    let listen = (
        String::new(),
        LISTEN_PORT.to_string(),
        LISTEN_PORT.to_string(),
    );
    let listen_any = ("0.0.0.0".to_string(), listen.1.clone(), listen.2.clone());
    assert!(
        envoy_ports.contains(&listen) || envoy_ports.contains(&listen_any),
        "{envoy_ports:?}"
    );
    let admin: Vec<_> = envoy_ports
        .iter()
        .filter(|p| p.2 == ADMIN_PORT.to_string())
        .collect();
    assert_eq!(
        admin,
        [&(
            "127.0.0.1".to_string(),
            ADMIN_PORT.to_string(),
            ADMIN_PORT.to_string()
        )],
        "admin is published on 127.0.0.1 only"
    );

    let env = &envoy["environment"];
    assert_eq!(
        env["HOLYSHEEP_API_KEY_BLUE"].as_str(),
        Some("sk-local-blue")
    );
    assert_eq!(
        env["HOLYSHEEP_API_KEY_GREEN"].as_str(),
        Some("sk-local-green")
    );

    // The relays: built from this repository, addressed as the bootstrap's clusters say.
    for (env_name, service_name, _) in RELAYS {
        let service = &services[service_name];
        let context = scalar(&service["build"]["context"]);
        assert!(
            same_path(&context, &root),
            "{service_name} context {context}"
        );
        let dockerfile = scalar(&service["build"]["dockerfile"]);
        assert_eq!(dockerfile, "docker/mock-relay.Dockerfile");
        let command = strings(&service["command"]);
        let flag = |name: &str| {
            let at = command.iter().position(|a| a == name).unwrap();
            command[at + 1].clone()
        };
        assert_eq!(flag("--name"), env_name);
        assert_eq!(flag("--listen"), format!("0.0.0.0:{RELAY_PORT}"));
        assert_eq!(flag("--admin"), format!("0.0.0.0:{RELAY_ADMIN_PORT}"));
        let check = strings(&service["healthcheck"]["test"]).join(" ");
        assert!(
            check.contains(&format!("http://127.0.0.1:{RELAY_ADMIN_PORT}/_mock/health")),
            "{check}"
        );
        assert_eq!(
            envoy["depends_on"][service_name]["condition"].as_str(),
            Some("service_healthy")
        );
        for (ip, _, target) in ports(service) {
            assert_eq!(
                ip, "127.0.0.1",
                "{service_name} publishes {target} beyond this host"
            );
        }
    }
}

#[test]
fn compose_file_takes_image_and_keys_from_the_environment() {
    let config = compose_config(&[
        ("ENVOY_IMAGE", "istio/proxyv2"),
        ("ENVOY_IMAGE_TAG", "1.28.0"),
        ("HOLYSHEEP_API_KEY_BLUE", "sk-from-host-blue"),
        ("HOLYSHEEP_API_KEY_GREEN", "sk-from-host-green"),
    ]);
    let envoy = &config["services"]["envoy"];
    assert_eq!(envoy["image"].as_str(), Some("istio/proxyv2:1.28.0"));
    assert_eq!(
        envoy["environment"]["HOLYSHEEP_API_KEY_BLUE"].as_str(),
        Some("sk-from-host-blue")
    );
    assert_eq!(
        envoy["environment"]["HOLYSHEEP_API_KEY_GREEN"].as_str(),
        Some("sk-from-host-green")
    );
    let tag_only = compose_config(&[("ENVOY_IMAGE_TAG", "v1.40.1")]);
    assert_eq!(
        tag_only["services"]["envoy"]["image"].as_str(),
        Some("envoyproxy/envoy:v1.40.1")
    );
}

// ---------------------------------------------------------------------------------------------
// Dockerfiles
// ---------------------------------------------------------------------------------------------

/// Instructions of a Dockerfile: (KEYWORD, rest), comments dropped, continuations joined.
fn instructions(rel: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read(rel).lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                let (keyword, rest) = current.split_once(' ').unwrap_or((&current, ""));
                out.push((keyword.to_ascii_uppercase(), rest.trim().to_string()));
                current.clear();
            }
        }
    }
    out
}

/// Workspace members from the root Cargo.toml (`members = [...]` on one line).
fn workspace_members() -> Vec<String> {
    let manifest = read("Cargo.toml");
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("a members line in Cargo.toml");
    let list = line.split_once('[').unwrap().1.split_once(']').unwrap().0;
    list.split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn mock_relay_image_is_a_small_multi_stage_build() {
    let rel = "docker/mock-relay.Dockerfile";
    let steps = instructions(rel);
    let froms: Vec<&String> = steps
        .iter()
        .filter(|(k, _)| k == "FROM")
        .map(|(_, r)| r)
        .collect();
    assert!(froms.len() >= 2, "multi-stage: {froms:?}");
    assert!(froms[0].starts_with("rust:"), "{froms:?}");
    let runtime = froms.last().unwrap();
    assert!(!runtime.starts_with("rust:"), "runtime image {runtime}");
    let run = steps
        .iter()
        .filter(|(k, _)| k == "RUN")
        .map(|(_, r)| r.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        run.contains("cargo build --locked --release -p mock-relay"),
        "{run}"
    );
    // Every workspace member's manifest must be in the build, or cargo cannot load the workspace.
    let copied: Vec<String> = steps
        .iter()
        .filter(|(k, r)| k == "COPY" && !r.starts_with("--from"))
        .flat_map(|(_, r)| {
            let words: Vec<&str> = r.split_whitespace().collect();
            words[..words.len() - 1]
                .iter()
                .map(|w| w.to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    for file in ["Cargo.toml", "Cargo.lock", "src"] {
        assert!(
            copied.iter().any(|c| c == file),
            "{rel} does not copy {file}"
        );
    }
    for member in workspace_members().iter().filter(|m| *m != ".") {
        assert!(
            copied
                .iter()
                .any(|c| member == c || member.starts_with(&format!("{c}/"))),
            "{rel} does not copy workspace member {member}"
        );
    }
    let entrypoint = steps.iter().find(|(k, _)| k == "ENTRYPOINT").unwrap();
    assert!(entrypoint.1.contains("mock-relay"));
    // The compose healthcheck runs /busybox/wget: only distroless's :debug images have it.
    let compose = read("docker-compose.yml");
    if compose.contains("/busybox/wget") {
        assert!(runtime.contains(":debug"), "{runtime} has no /busybox");
    }
    let ignore = read("docker/mock-relay.Dockerfile.dockerignore");
    assert!(ignore.lines().any(|l| l.trim() == "*"), "whitelist context");
    assert!(ignore.lines().any(|l| l.trim() == "**/target"));
}

#[test]
fn istio_image_is_one_plugin_wasm_layer_from_scratch() {
    let steps = instructions("envoy/istio/Dockerfile");
    assert_eq!(steps[0], ("FROM".to_string(), "scratch".to_string()));
    // One layer: one COPY, nothing else that makes a layer.
    let layers: Vec<_> = steps
        .iter()
        .filter(|(k, _)| ["COPY", "ADD", "RUN"].contains(&k.as_str()))
        .collect();
    assert_eq!(layers.len(), 1, "{layers:?}");
    let words: Vec<&str> = layers[0].1.split_whitespace().collect();
    assert_eq!(layers[0].0, "COPY");
    assert_eq!(words.len(), 2, "one file: {words:?}");
    assert_eq!(words[0], "bluegreen_relay.wasm");
    assert_eq!(Path::new(words[1]).file_name().unwrap(), "plugin.wasm");
    assert!(["./plugin.wasm", "/plugin.wasm", "plugin.wasm"].contains(&words[1]));
    assert_eq!(steps.iter().filter(|(k, _)| k == "FROM").count(), 1);

    // The oras route pushes a runtime config layer next to plugin.wasm.
    let runtime: Value = serde_json::from_str(&read("envoy/istio/runtime-config.json")).unwrap();
    assert_eq!(runtime["type"], "envoy_proxy");
    let wasm = std::fs::read(wasm_path()).unwrap();
    for abi in runtime["abiVersions"].as_array().unwrap() {
        let abi = abi.as_str().unwrap().as_bytes();
        assert!(
            wasm.windows(abi.len()).any(|w| w == abi),
            "the filter does not export {}",
            String::from_utf8_lossy(abi)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Istio
// ---------------------------------------------------------------------------------------------

/// JSON as Istio hands pluginConfig to the filter: a protobuf Struct printed as JSON, where
/// every number is a double (whole numbers print without a fraction).
fn as_istio_json(v: &Value) -> Value {
    match v {
        Value::Number(n) => {
            let f = n.as_f64().unwrap();
            assert!(
                f.is_finite() && f.abs() < 9.0e15,
                "{n} does not survive a double"
            );
            if f.fract() == 0.0 {
                json!(f as i64)
            } else {
                json!(f)
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(as_istio_json).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), as_istio_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn plugin_config() -> Value {
    let plugin = yaml("envoy/istio/wasmplugin.yaml");
    let config: Value = serde_json::to_value(&plugin["spec"]["pluginConfig"]).unwrap();
    as_istio_json(&config)
}

#[test]
fn istio_wasm_plugin_is_complete() {
    let plugin = yaml("envoy/istio/wasmplugin.yaml");
    assert_eq!(
        plugin["apiVersion"].as_str(),
        Some("extensions.istio.io/v1alpha1")
    );
    assert_eq!(plugin["kind"].as_str(), Some("WasmPlugin"));
    let spec = &plugin["spec"];
    let url = spec["url"].as_str().unwrap_or_default();
    assert!(
        url.starts_with("oci://") && url.len() > "oci://".len(),
        "url {url:?}"
    );
    let one_of = |field: &str, allowed: &[&str]| {
        let value = spec[field].as_str().unwrap_or_default();
        assert!(
            allowed.contains(&value),
            "{field}: {value:?} not in {allowed:?}"
        );
    };
    one_of("phase", &["AUTHN", "AUTHZ", "STATS", "UNSPECIFIED_PHASE"]);
    one_of("failStrategy", &["FAIL_CLOSE", "FAIL_RELOAD"]);
    one_of("imagePullPolicy", &["IfNotPresent", "Always"]);
    assert!(
        spec["selector"]["matchLabels"].is_mapping() || spec["targetRefs"].is_sequence(),
        "the plugin names its workloads"
    );

    // Keys come from the proxy's own environment, never inline.
    let env = spec["vmConfig"]["env"].as_sequence().unwrap();
    let host_vars: BTreeSet<&str> = env
        .iter()
        .filter(|e| e["valueFrom"].as_str() == Some("HOST"))
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(env.iter().all(|e| e["value"].is_null()), "no inline values");

    let config = plugin_config();
    let text = config.to_string();
    Config::parse(text.as_bytes(), &lookup_key)
        .unwrap_or_else(|e| panic!("the filter refuses the WasmPlugin's pluginConfig: {e}"));
    for env_name in ["blue", "green"] {
        let e = &config["environments"][env_name];
        let var = e["api_key_env"].as_str().expect("api_key_env");
        assert!(
            host_vars.contains(var),
            "{var} is not passed with valueFrom: HOST"
        );
        assert!(e.get("api_key").is_none(), "{env_name}: inline key");
        assert!(
            e.get("failover_cluster").is_none(),
            "{env_name}: Istio creates no aggregate clusters (README.md, Failover)"
        );
    }
    // Without the keys the filter refuses it: api_key_env is really what it reads.
    assert!(Config::parse(text.as_bytes(), &|_| None).is_err());
}

/// `outbound|<port>||<host>`: (host, port) of an Istio outbound cluster name.
fn outbound(cluster: &str) -> (String, u64) {
    let parts: Vec<&str> = cluster.split('|').collect();
    assert_eq!(
        (parts.len(), parts[0], parts[2]),
        (4, "outbound", ""),
        "not an Istio outbound cluster name: {cluster}"
    );
    (parts[3].to_string(), parts[1].parse().unwrap())
}

#[test]
fn istio_routes_follow_the_filters_cluster_header() {
    let config = plugin_config();
    let header = config["cluster_header"].as_str().map_or_else(
        bluegreen_relay::config::defaults::cluster_header,
        str::to_string,
    );
    let docs: Vec<Yaml> = serde_yaml::Deserializer::from_str(&read("envoy/istio/routing.yaml"))
        .map(|d| Yaml::deserialize(d).unwrap())
        .collect();
    let vs = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("VirtualService"))
        .expect("a VirtualService");
    let routes = vs["spec"]["http"].as_sequence().unwrap();
    let destination = |route: &Yaml| {
        let d = &route["route"][0]["destination"];
        (
            d["host"].as_str().unwrap().to_string(),
            d["port"]["number"].as_u64().unwrap(),
        )
    };
    for env_name in ["blue", "green"] {
        let cluster = config["environments"][env_name]["cluster"]
            .as_str()
            .unwrap();
        let route = routes
            .iter()
            .find(|r| r["match"][0]["headers"][header.as_str()]["exact"].as_str() == Some(cluster))
            .unwrap_or_else(|| panic!("no route matches {header}: {cluster}"));
        assert_eq!(destination(route), outbound(cluster), "{env_name}");
        let authority = config["environments"][env_name]["authority"].as_str();
        let (host, port) = outbound(cluster);
        assert_eq!(authority, Some(format!("{host}:{port}").as_str()));
    }
    // The last route (no match) is the active environment, for requests the filter did not see.
    let last = routes.last().unwrap();
    assert!(
        last["match"].is_null(),
        "the last route must match everything"
    );
    let active = config["active"].as_str().unwrap_or("blue");
    let active_cluster = config["environments"][active]["cluster"].as_str().unwrap();
    assert_eq!(destination(last), outbound(active_cluster));
    let gateway = docs.iter().find(|d| d["kind"].as_str() == Some("Gateway"));
    let plugin = yaml("envoy/istio/wasmplugin.yaml");
    if let Some(gateway) = gateway {
        assert_eq!(
            gateway["spec"]["selector"], plugin["spec"]["selector"]["matchLabels"],
            "the plugin runs on the gateway that serves these routes"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The real Envoy with the compose bootstrap
// ---------------------------------------------------------------------------------------------

/// Replaces every string equal to `from` (or under `from/`) with `to`, anywhere in `v`.
fn replace_paths(v: &mut Yaml, from: &str, to: &str) {
    match v {
        Yaml::String(s) => {
            if s == from {
                *s = to.to_string();
            } else if let Some(rest) = s.strip_prefix(&format!("{from}/")) {
                *s = format!("{to}/{rest}");
            }
        }
        Yaml::Sequence(seq) => seq.iter_mut().for_each(|x| replace_paths(x, from, to)),
        Yaml::Mapping(map) => map.iter_mut().for_each(|(_, x)| replace_paths(x, from, to)),
        _ => {}
    }
}

/// The compose bootstrap with the container paths moved to this machine: the local filter and
/// `ecds_dir`, which gets a copy of the published resource.
fn local_bootstrap(ecds_dir: &Path) -> Yaml {
    let wasm = wasm_path().display().to_string();
    let mut bootstrap = yaml("docker/envoy.yaml");
    replace_paths(&mut bootstrap, COMPOSE_WASM, &wasm);
    replace_paths(
        &mut bootstrap,
        COMPOSE_ECDS_DIR,
        &ecds_dir.display().to_string(),
    );
    let resource = read("docker/ecds/bluegreen-relay.json").replace(COMPOSE_WASM, &wasm);
    std::fs::write(ecds_dir.join("bluegreen-relay.json"), resource).unwrap();
    bootstrap
}

fn set_socket_address(v: &mut Yaml, address: &str, port: u16) {
    v["address"] = Yaml::from(address);
    v["port_value"] = Yaml::Number(u64::from(port).into());
}

#[test]
fn compose_bootstrap_and_resource_validate() {
    // `envoy --mode validate` resolves no hostname and binds no port, so the bootstrap is
    // validated as the container runs it (relay-blue, relay-green, 0.0.0.0); only the paths
    // move to this machine. Validation runs the filter on default_config, but never reads the
    // watched directory: the published resource is validated as the static filter of a copy.
    let dir = Scratch::new("validate");
    let ecds = dir.0.join("ecds");
    std::fs::create_dir_all(&ecds).unwrap();
    let bootstrap = local_bootstrap(&ecds);
    let config = dir.0.join("envoy.yaml");
    std::fs::write(&config, serde_yaml::to_string(&bootstrap).unwrap()).unwrap();
    let exit = validate(&config, &KEYS, &dir.0);
    assert_eq!(exit.code, Some(0), "docker/envoy.yaml: {exit:?}");
    // Both keys are needed: the default configuration names them.
    let exit = validate(&config, &KEYS[..1], &dir.0);
    assert_ne!(
        exit.code,
        Some(0),
        "validated without $HOLYSHEEP_API_KEY_GREEN"
    );

    let resource: Value =
        serde_json::from_str(&std::fs::read_to_string(ecds.join("bluegreen-relay.json")).unwrap())
            .unwrap();
    let mut with_resource = bootstrap.clone();
    let filters = &mut with_resource["static_resources"]["listeners"][0]["filter_chains"][0]
        ["filters"][0]["typed_config"]["http_filters"];
    assert_eq!(filters[0]["name"].as_str(), Some("bluegreen-relay"));
    filters[0] = serde_yaml::to_value(json!({
        "name": "bluegreen-relay",
        "typed_config": resource["resources"][0]["typed_config"],
    }))
    .unwrap();
    let config = dir.0.join("envoy-resource.yaml");
    std::fs::write(&config, serde_yaml::to_string(&with_resource).unwrap()).unwrap();
    let exit = validate(&config, &KEYS, &dir.0);
    assert_eq!(
        exit.code,
        Some(0),
        "docker/ecds/bluegreen-relay.json: {exit:?}"
    );
}

/// Session ids the routing rule puts on `env` at green weight `green_bp` (basis points).
fn sessions(env: &str, green_bp: u32, n: usize) -> Vec<String> {
    (0..)
        .map(|i| format!("session-{i}"))
        .filter(|id| expected_env(id, green_bp) == env)
        .take(n)
        .collect()
}

fn stat(envoy: &Envoy, name: &str) -> u64 {
    envoy
        .stats()
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// The chat completions a relay received (the filter's probes are recorded too).
fn chats(relay: &MockRelay) -> Vec<RecordedRequest> {
    relay
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/chat/completions")
        .collect()
}

/// Publishes a new plugin configuration the way relayctl does: temp file, then rename.
fn publish(ecds_dir: &Path, config: &Value, version_info: &str) {
    let path = ecds_dir.join("bluegreen-relay.json");
    let mut resource: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    resource["version_info"] = json!(version_info);
    resource["resources"][0]["typed_config"]["config"]["configuration"]["value"] =
        json!(config.to_string());
    let tmp = ecds_dir.join(".bluegreen-relay.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&resource).unwrap()).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
}

#[test]
fn compose_stack_runs_on_the_local_envoy() {
    let blue = MockRelay::start("blue", &[]);
    let green = MockRelay::start("green", &[]);
    let dir = Scratch::new("stack");
    let ecds = dir.0.join("ecds");
    std::fs::create_dir_all(&ecds).unwrap();

    // The compose bootstrap, its hostnames and fixed ports pointed at this machine.
    let mut bootstrap = local_bootstrap(&ecds);
    set_socket_address(
        &mut bootstrap["admin"]["address"]["socket_address"],
        "127.0.0.1",
        0,
    );
    set_socket_address(
        &mut bootstrap["static_resources"]["listeners"][0]["address"]["socket_address"],
        "127.0.0.1",
        0,
    );
    let clusters = bootstrap["static_resources"]["clusters"]
        .as_sequence_mut()
        .unwrap();
    for c in clusters.iter_mut() {
        let relay = match c["name"].as_str() {
            Some("relay_blue") => &blue,
            Some("relay_green") => &green,
            _ => continue,
        };
        let address =
            &mut c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"];
        set_socket_address(&mut address["socket_address"], "127.0.0.1", relay.port());
    }
    let config_path = dir.0.join("envoy.yaml");
    std::fs::write(&config_path, serde_yaml::to_string(&bootstrap).unwrap()).unwrap();
    let envoy = Envoy::start(&config_path, &[], &KEYS, 2)
        .unwrap_or_else(|exit| panic!("Envoy did not start with the compose bootstrap: {exit:?}"));
    let client = envoy.client();
    let status = || {
        let resp = client.get("/relay/status", &[]);
        assert_eq!(resp.status, 200, "{}", resp.body);
        resp.json()
    };

    // The published 90/10 configuration is in force once green has passed a probe.
    let initial: Value = serde_json::from_str(&resource_filter_config(&read(
        "docker/ecds/bluegreen-relay.json",
    )))
    .unwrap();
    let green_bp = weight::from_json(&initial["environments"]["green"]["weight"]).unwrap();
    let mut last = Value::Null;
    poll_until(Duration::from_secs(20), || {
        last = status();
        (last["version"] == initial["version"]
            && last["routing_mode"] == "normal"
            && last["environments"]["green"]["health"] == "healthy")
            .then_some(())
    })
    .unwrap_or_else(|| panic!("the published configuration never took effect; status:\n{last:#}"));
    assert_eq!(
        weight::from_json(&last["environments"]["green"]["weight"]),
        Some(green_bp)
    );

    // Sticky split, each relay with its own key.
    for env in ["blue", "green"] {
        for id in sessions(env, green_bp, 4) {
            let resp = client.post("/v1/chat/completions", &[("x-session-id", &id)], CHAT_BODY);
            assert_eq!(
                (resp.status, resp.relay()),
                (200, env),
                "session {id}: {}",
                resp.body
            );
        }
    }
    for (relay, key) in [(&blue, BLUE_KEY), (&green, GREEN_KEY)] {
        let requests = chats(relay);
        assert_eq!(requests.len(), 4, "{} relay", relay.name);
        let want = format!("Bearer {key}");
        for r in requests {
            assert_eq!(
                r.header("authorization"),
                Some(want.as_str()),
                "{} relay",
                relay.name
            );
        }
    }

    // A change published into the watched directory is live without a restart (promote).
    let mut promoted = initial.clone();
    promoted["environments"] = environments(0, 100);
    promoted["active"] = json!("green");
    promoted["version"] = json!("packaging-promote");
    publish(&ecds, &promoted, "2");
    poll_until(Duration::from_secs(10), || {
        last = status();
        (last["version"] == "packaging-promote").then_some(())
    })
    .unwrap_or_else(|| panic!("the published change never took effect; status:\n{last:#}"));
    let moved = &sessions("blue", green_bp, 1)[0];
    let resp = client.post(
        "/v1/chat/completions",
        &[("x-session-id", moved)],
        CHAT_BODY,
    );
    assert_eq!((resp.status, resp.relay()), (200, "green"), "{}", resp.body);

    // Green dies: the failover cluster retries on blue, with blue's key.
    green.set_config(&json!({"refuse": true}));
    blue.clear();
    let retries_before = stat(&envoy, "cluster.relay_green_failover.upstream_rq_retry");
    let resp = client.post(
        "/v1/chat/completions",
        &[("x-session-id", moved)],
        CHAT_BODY,
    );
    assert_eq!((resp.status, resp.relay()), (200, "blue"), "{}", resp.body);
    let requests = chats(&blue);
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("authorization"),
        Some(format!("Bearer {BLUE_KEY}").as_str())
    );
    assert!(
        stat(&envoy, "cluster.relay_green_failover.upstream_rq_retry") > retries_before,
        "the answer did not come from a retry"
    );
}
