//! deploy/prometheus/ for real: promtool checks the scrape configs and the rules and runs
//! rules_test.yml; the bootstraps carry one `stats_config`; the real Envoy serves the names and
//! labels the rules read; and a real Prometheus scraping it computes the recording rules.
//!
//! promtool and prometheus come from the Debian package `prometheus` (`./build.sh` installs it)
//! or `$PROMTOOL` / `$PROMETHEUS`. Without them a test fails under CI (`$CI` set) and is skipped,
//! saying so, elsewhere.

// Helpers fail the test by panicking; clippy.toml's allow-*-in-tests covers only #[test] fns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bluegreen_relay::status::version_id;
use common::*;
use serde_json::{json, Value};
use serde_yaml::Value as Yaml;

fn deploy_dir() -> PathBuf {
    repo_root().join("deploy/prometheus")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn yaml(path: &Path) -> Yaml {
    serde_yaml::from_str(&read(path))
        .unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// `$<VAR>` or `name` on `$PATH`; `None` (after saying why) when missing outside CI.
fn tool(name: &str, var: &str) -> Option<PathBuf> {
    let found = match std::env::var_os(var) {
        Some(path) => Some(PathBuf::from(path)),
        None => std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        }),
    };
    if found.is_none() {
        let why = format!(
            "{name} not found (${var} or $PATH): install the Debian package prometheus \
             (./build.sh test does)"
        );
        assert!(!under_ci(), "{why}");
        // Straight to stderr: the test harness swallows eprintln! of a passing test.
        let _ = writeln!(std::io::stderr(), "SKIPPED: {why}");
    }
    found
}

/// Runs promtool with `args` in `dir`; panics with its output unless it succeeds.
fn promtool(promtool: &Path, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(promtool)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", promtool.display()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "promtool {} failed:\n{text}",
        args.join(" ")
    );
    text
}

/// A scratch directory, removed unless the test failed.
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!(
            "bluegreen-prometheus-{}-{label}",
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
// promtool on deploy/prometheus/
// ---------------------------------------------------------------------------------------------

#[test]
fn promtool_checks_the_static_scrape_config() {
    let Some(promtool_bin) = tool("promtool", "PROMTOOL") else {
        return;
    };
    let out = promtool(
        &promtool_bin,
        &deploy_dir(),
        &["check", "config", "prometheus.yml"],
    );
    assert!(out.contains("2 rule files found"), "{out}");
}

/// Debian's Prometheus is built without Kubernetes discovery: check the file with
/// `kubernetes_sd_configs` swapped for `static_configs`, everything else as it is.
#[test]
fn promtool_checks_the_kubernetes_scrape_config() {
    let Some(promtool_bin) = tool("promtool", "PROMTOOL") else {
        return;
    };
    let mut config = yaml(&deploy_dir().join("prometheus-kubernetes.yml"));
    let job = &mut config["scrape_configs"][0];
    let sd = job["kubernetes_sd_configs"].clone();
    assert_eq!(sd[0]["role"], Yaml::from("pod"), "{sd:?}");
    let job = job.as_mapping_mut().unwrap();
    job.remove("kubernetes_sd_configs");
    job.insert(
        "static_configs".into(),
        serde_yaml::from_str("[{targets: ['127.0.0.1:9901']}]").unwrap(),
    );
    let dir = Scratch::new("kubernetes");
    for rules in ["rules.yml", "alerts.yml"] {
        std::fs::copy(deploy_dir().join(rules), dir.0.join(rules)).unwrap();
    }
    let path = dir.0.join("prometheus.yml");
    std::fs::write(&path, serde_yaml::to_string(&config).unwrap()).unwrap();
    promtool(
        &promtool_bin,
        &dir.0,
        &["check", "config", "prometheus.yml"],
    );
}

#[test]
fn promtool_checks_the_rules() {
    let Some(promtool_bin) = tool("promtool", "PROMTOOL") else {
        return;
    };
    let out = promtool(
        &promtool_bin,
        &deploy_dir(),
        &["check", "rules", "rules.yml", "alerts.yml"],
    );
    assert!(!out.contains("WARNING"), "{out}");
}

#[test]
fn promtool_tests_every_rule_and_alert() {
    let Some(promtool_bin) = tool("promtool", "PROMTOOL") else {
        return;
    };
    promtool(
        &promtool_bin,
        &deploy_dir(),
        &["test", "rules", "rules_test.yml"],
    );
}

/// Names of `key` (`record` or `alert`) in a rule file.
fn rule_names(file: &str, key: &str) -> Vec<String> {
    let rules = yaml(&deploy_dir().join(file));
    let groups = rules["groups"].as_sequence().unwrap();
    let names: Vec<String> = groups
        .iter()
        .flat_map(|g| g["rules"].as_sequence().unwrap())
        .filter_map(|r| r[key].as_str().map(str::to_string))
        .collect();
    assert!(!names.is_empty(), "{file} has no {key} rule");
    names
}

#[test]
fn rules_test_covers_every_rule_and_a_silent_case_per_alert() {
    let cases = yaml(&deploy_dir().join("rules_test.yml"));
    let tests = cases["tests"].as_sequence().unwrap();
    let list = |test: &Yaml, key: &str| test[key].as_sequence().cloned().unwrap_or_default();
    let exprs: Vec<String> = tests
        .iter()
        .flat_map(|t| list(t, "promql_expr_test"))
        .map(|e| e["expr"].as_str().unwrap().to_string())
        .collect();
    for record in rule_names("rules.yml", "record") {
        assert!(
            exprs.contains(&record),
            "no promql_expr_test evaluates {record}"
        );
    }
    let alert_cases: Vec<(String, bool)> = tests
        .iter()
        .flat_map(|t| list(t, "alert_rule_test"))
        .map(|a| {
            let fires = a["exp_alerts"].as_sequence().is_some_and(|e| !e.is_empty());
            (a["alertname"].as_str().unwrap().to_string(), fires)
        })
        .collect();
    for alert in rule_names("alerts.yml", "alert") {
        for fires in [true, false] {
            assert!(
                alert_cases.contains(&(alert.clone(), fires)),
                "no alert_rule_test where {alert} {}",
                if fires { "fires" } else { "stays silent" }
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The bootstraps' stats_config
// ---------------------------------------------------------------------------------------------

const BOOTSTRAPS: [&str; 5] = [
    "envoy/templates/static.yaml",
    "envoy/templates/ecds.yaml",
    "envoy/templates/tls.yaml",
    "docker/envoy.yaml",
    "envoy/holysheep-example.yaml",
];

/// The `stats_config:` block of a bootstrap, up to the next top-level key.
fn stats_config_block(rel: &str) -> String {
    let text = read(&repo_root().join(rel));
    let mut lines = text.lines().skip_while(|l| *l != "stats_config:");
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("{rel} has no top-level stats_config"));
    let rest = lines.take_while(|l| l.is_empty() || l.starts_with(' ') || l.starts_with('#'));
    let block: Vec<&str> = std::iter::once(first).chain(rest).collect();
    block.join("\n").trim_end().to_string()
}

/// The bucket bounds (ms) the bootstraps give the filter's histograms.
fn bucket_bounds() -> Vec<f64> {
    let block: Yaml = serde_yaml::from_str(&stats_config_block(BOOTSTRAPS[0])).unwrap();
    let settings = &block["stats_config"]["histogram_bucket_settings"][0];
    assert_eq!(
        settings["match"]["prefix"],
        Yaml::from("wasmcustom.bluegreen.")
    );
    let bounds: Vec<f64> = settings["buckets"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|b| b.as_f64().unwrap())
        .collect();
    assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{bounds:?}");
    bounds
}

#[test]
fn bootstraps_share_one_stats_config() {
    let reference = stats_config_block(BOOTSTRAPS[0]);
    for rel in &BOOTSTRAPS[1..] {
        assert_eq!(
            stats_config_block(rel),
            reference,
            "{rel}'s stats_config differs from {}'s",
            BOOTSTRAPS[0]
        );
    }
    let block: Yaml = serde_yaml::from_str(&reference).unwrap();
    let tags: Vec<&str> = block["stats_config"]["stats_tags"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t["tag_name"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["bluegreen_env", "bluegreen_model"]);
    let bounds = bucket_bounds();
    assert!(
        bounds[0] <= 5.0 && *bounds.last().unwrap() >= 600_000.0,
        "{bounds:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// The real Envoy and the real Prometheus
// ---------------------------------------------------------------------------------------------

/// Series (name and labels) -> value of the `bluegreen_*` samples; `name{}` is kept as `name`.
fn bluegreen_series(prometheus: &str) -> BTreeMap<String, f64> {
    prometheus
        .lines()
        .filter(|l| l.starts_with("bluegreen_"))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let series = series.strip_suffix("{}").unwrap_or(series);
            Some((series.to_string(), value.trim().parse().ok()?))
        })
        .collect()
}

/// `n` session ids that the split sends to `env` at `green_bp`, from `from` on.
fn sessions(env: &str, green_bp: u32, from: usize, n: usize) -> Vec<String> {
    (from..)
        .map(|i| format!("session-{i}"))
        .filter(|id| expected_env(id, green_bp) == env)
        .take(n)
        .collect()
}

fn chat(stack: &Stack, session: &str, model: &str) {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
    let resp = Http::fresh_connections(&stack.envoy.url()).post(
        "/v1/chat/completions",
        &[("x-session-id", session), ("x-mock-usage", "10,20")],
        &body.to_string(),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
}

#[test]
fn envoy_serves_the_documented_names_and_labels() {
    const VERSION: &str = "prometheus-names-1";
    let mut cfg = config(5000);
    cfg["version"] = json!(VERSION);
    cfg["models"] = json!({"gpt-4.1": {"provider": "openai", "max_tokens": 128000,
        "supports_streaming": true, "price_per_mtok": {"input": 2.00, "output": 8.00}}});
    let stack = start(&cfg);
    let (blue, green) = (sessions("blue", 5000, 0, 4), sessions("green", 5000, 0, 3));
    for session in blue.iter().chain(&green) {
        chat(&stack, session, "gpt-4.1");
    }
    chat(&stack, &blue[0], "not-in-the-catalog");

    let get = |series: &BTreeMap<String, f64>, name: &str| series.get(name).copied();
    let mut series = BTreeMap::new();
    // Histograms reach /stats/prometheus on Envoy's stats flush (every 5 s).
    let settled = poll_until(Duration::from_secs(15), || {
        series = bluegreen_series(&stack.envoy.prometheus());
        (get(&series, r#"bluegreen_ttfb_ms_count{bluegreen_env="blue"}"#) == Some(5.0)
            && get(&series, r#"bluegreen_ttfb_ms_count{bluegreen_env="green"}"#) == Some(3.0))
        .then_some(())
    });
    assert!(settled.is_some(), "TTFB counts never arrived: {series:#?}");

    let gpt = r#"bluegreen_model="gpt-4_1""#;
    let other = r#"bluegreen_model="other""#;
    for (name, want) in [
        (
            r#"bluegreen_requests{bluegreen_env="blue"}"#.to_string(),
            5.0,
        ),
        (
            r#"bluegreen_requests{bluegreen_env="green"}"#.to_string(),
            3.0,
        ),
        (
            r#"bluegreen_responses_2xx{bluegreen_env="green"}"#.to_string(),
            3.0,
        ),
        (
            r#"bluegreen_responses_5xx{bluegreen_env="blue"}"#.to_string(),
            0.0,
        ),
        (
            format!(r#"bluegreen_model_requests{{bluegreen_env="blue",{gpt}}}"#),
            4.0,
        ),
        (
            format!(r#"bluegreen_model_requests{{bluegreen_env="blue",{other}}}"#),
            1.0,
        ),
        (
            format!(r#"bluegreen_model_prompt_tokens{{bluegreen_env="green",{gpt}}}"#),
            30.0,
        ),
        (
            format!(r#"bluegreen_model_completion_tokens{{bluegreen_env="green",{gpt}}}"#),
            60.0,
        ),
        // 3 × (10 × 2 + 20 × 8) micro-USD.
        (
            format!(r#"bluegreen_model_cost_micro_usd{{bluegreen_env="green",{gpt}}}"#),
            540.0,
        ),
        (
            r#"bluegreen_weight_bp{bluegreen_env="green"}"#.to_string(),
            5000.0,
        ),
        (
            r#"bluegreen_tripped{bluegreen_env="green"}"#.to_string(),
            0.0,
        ),
        (
            "bluegreen_config_version".to_string(),
            version_id(Some(VERSION)) as f64,
        ),
    ] {
        assert_eq!(get(&series, &name), Some(want), "{name}: {series:#?}");
    }

    // The bootstrap's buckets, each labelled with its environment.
    let bounds: Vec<String> = series
        .keys()
        .filter_map(|s| s.strip_prefix(r#"bluegreen_ttfb_ms_bucket{bluegreen_env="green",le=""#))
        .filter_map(|s| s.strip_suffix("\"}"))
        .filter(|le| *le != "+Inf")
        .map(str::to_string)
        .collect();
    let mut bounds: Vec<f64> = bounds.iter().map(|b| b.parse().unwrap()).collect();
    bounds.sort_by(f64::total_cmp);
    assert_eq!(bounds, bucket_bounds(), "{series:#?}");

    let untagged: Vec<&String> = series
        .keys()
        .filter(|s| s.starts_with("bluegreen_blue_") || s.starts_with("bluegreen_green_"))
        .collect();
    assert!(untagged.is_empty(), "stats without labels: {untagged:?}");
    let text = stack.envoy.prometheus();
    for kind in [
        "bluegreen_requests counter",
        "bluegreen_model_requests counter",
        "bluegreen_weight_bp gauge",
        "bluegreen_config_version gauge",
        "bluegreen_ttfb_ms histogram",
    ] {
        assert!(
            text.contains(&format!("# TYPE {kind}\n")),
            "no `# TYPE {kind}`"
        );
    }

    // Admin /stats keeps the full names.
    assert_eq!(stat(&stack.envoy, "bluegreen.green.requests"), Some(3));
    assert_eq!(
        stat(&stack.envoy, "bluegreen.blue.model.gpt-4_1.requests"),
        Some(4)
    );
}

/// A Prometheus server, stopped on drop.
struct Prometheus {
    child: Child,
    api: Http,
    dir: Scratch,
}

impl Prometheus {
    /// deploy/prometheus/prometheus.yml with `target` as the only target, scraping and
    /// evaluating every second.
    fn start(binary: &Path, target: &str) -> Prometheus {
        let dir = Scratch::new("server");
        let mut config = yaml(&deploy_dir().join("prometheus.yml"));
        config["global"]["scrape_interval"] = "1s".into();
        config["global"]["evaluation_interval"] = "1s".into();
        config["scrape_configs"][0]["static_configs"][0]["targets"] = vec![target].into();
        let rule_files: Vec<String> = config["rule_files"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|f| deploy_dir().join(f.as_str().unwrap()).display().to_string())
            .collect();
        config["rule_files"] = rule_files.into();
        let config_path = dir.0.join("prometheus.yml");
        std::fs::write(&config_path, serde_yaml::to_string(&config).unwrap()).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let log = std::fs::File::create(dir.0.join("prometheus.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let server = Prometheus {
            child,
            api: Http::new(&format!("http://127.0.0.1:{port}")),
            dir,
        };
        let ready = poll_until(Duration::from_secs(20), || {
            server.api.try_get("/-/ready").filter(|r| r.status == 200)
        });
        assert!(ready.is_some(), "Prometheus never ready:\n{}", server.log());
        server
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.0.join("prometheus.log")).unwrap_or_default()
    }

    /// `query`'s instant vector as (labels without job and instance, value).
    fn query(&self, query: &str) -> Vec<(BTreeMap<String, String>, f64)> {
        let resp = self.api.get(&format!("/api/v1/query?query={query}"), &[]);
        assert_eq!(resp.status, 200, "{query}: {}", resp.body);
        let body = resp.json();
        let result = body["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        result
            .iter()
            .map(|sample| {
                let mut labels: BTreeMap<String, String> =
                    serde_json::from_value(sample["metric"].clone()).unwrap();
                labels.retain(|k, _| k != "instance" && k != "job" && k != "__name__");
                let value = sample["value"][1].as_str().unwrap().parse().unwrap();
                (labels, value)
            })
            .collect()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn by_env(samples: &[(BTreeMap<String, String>, f64)]) -> BTreeMap<String, f64> {
    samples
        .iter()
        .filter_map(|(labels, v)| Some((labels.get("bluegreen_env")?.clone(), *v)))
        .collect()
}

#[test]
fn prometheus_computes_the_recording_rules_from_envoy() {
    let Some(prometheus_bin) = tool("prometheus", "PROMETHEUS") else {
        return;
    };
    const VERSION: &str = "prometheus-rules-1";
    let mut cfg = config(2000);
    cfg["version"] = json!(VERSION);
    let stack = start(&cfg);
    stack.green.set_config(&json!({"chat_status": 503}));
    let target = stack
        .envoy
        .admin
        .base()
        .trim_start_matches("http://")
        .to_string();
    let prometheus = Prometheus::start(&prometheus_bin, &target);

    let (blue, green) = (sessions("blue", 2000, 0, 4), sessions("green", 2000, 0, 1));
    let client = stack.client();
    let mut last = Value::Null;
    // Traffic until the rules have seen it move over at least two scrapes.
    let settled = poll_until(Duration::from_secs(30), || {
        for session in blue.iter().chain(&green) {
            client.post(
                "/v1/chat/completions",
                &[("x-session-id", session)],
                CHAT_BODY,
            );
        }
        std::thread::sleep(Duration::from_millis(200));
        let rate = by_env(&prometheus.query("bluegreen_env:bluegreen_requests:rate1m"));
        let errors =
            by_env(&prometheus.query("bluegreen_env:bluegreen_responses_5xx:ratio_rate1m"));
        let candidate = by_env(&prometheus.query("bluegreen_env:bluegreen_weight_bp:candidate"));
        let versions = prometheus.query("config_version:bluegreen_replicas:count");
        last = json!({"rate": rate, "errors": errors, "candidate": candidate,
                      "versions": format!("{versions:?}")});
        (rate.get("blue").is_some_and(|r| *r > 0.0)
            && rate.get("green").is_some_and(|r| *r > 0.0)
            && errors.get("green") == Some(&1.0)
            && errors.get("blue") == Some(&0.0))
        .then_some((candidate, versions))
    });
    let Some((candidate, versions)) = settled else {
        panic!(
            "the recording rules never showed the traffic: {last:#}\n{}",
            prometheus.log()
        );
    };
    let want: BTreeMap<String, f64> = [("blue".to_string(), 8000.0), ("green".to_string(), 2000.0)]
        .into_iter()
        .collect();
    assert_eq!(candidate, want, "candidates of a 80/20 split");
    let id = version_id(Some(VERSION)).to_string();
    let want: BTreeMap<String, String> = [("config_version".to_string(), id)].into_iter().collect();
    assert_eq!(versions, vec![(want, 1.0)], "one replica on {VERSION}");
}
