use super::*;
use crate::ai::meter::ModelTotals;
use serde_json::Value;

fn config() -> Config {
    let json = r#"{"version": "v7", "environments": {
        "blue": {"cluster": "relay_blue", "weight": 90, "api_key": "sk-blue-secret"},
        "green": {"cluster": "relay_green", "weight": 10, "api_key": "sk-green-secret"}}}"#;
    Config::parse(json.as_bytes(), &|_| None).unwrap()
}

#[test]
fn renders_counts_and_ratio_without_keys() {
    let config = config();
    let mut blue = EnvironmentCounts::default();
    blue.counts[Counter::Requests.index()] = 30;
    blue.counts[Counter::Responses2xx.index()] = 29;
    let mut green = EnvironmentCounts::default();
    green.counts[Counter::Requests.index()] = 10;
    green.counts[Counter::Responses5xx.index()] = 1;
    let text = render(&StatusInput {
        config: &config,
        effective: Split::ALL_BLUE,
        counts: [blue, green],
        health: &HealthView::default(),
        usage: &Default::default(),
        catalog: &Default::default(),
        shadow: None,
        loaded_at_ms: 1_764_072_000_000,
        now_ms: 1_764_072_001_000,
    });
    assert!(!text.contains("sk-"), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["active"], "blue");
    assert_eq!(v["version"], "v7");
    assert_eq!(v["total_requests"], 40);
    assert_eq!(v["green_traffic_ratio"], 0.25);
    assert_eq!(v["environments"]["blue"]["cluster"], "relay_blue");
    assert_eq!(v["environments"]["blue"]["weight"], 90.0);
    // Consumers compare `json!(90.0)`: whole percentages must still parse as floats.
    assert_eq!(v["environments"]["blue"]["weight"], serde_json::json!(90.0));
    assert_eq!(v["green_traffic_ratio"], serde_json::json!(0.25));
    assert_eq!(
        v["environments"]["green"]["effective_weight"],
        serde_json::json!(0.0)
    );
    assert_eq!(v["environments"]["green"]["effective_weight"], 0.0);
    assert_eq!(v["environments"]["green"]["role"], "candidate");
    assert_eq!(v["environments"]["green"]["responses"]["5xx"], 1);
    assert_eq!(v["config_loaded_at"], "2025-11-25T12:00:00.000Z");
    assert_eq!(v["routing_mode"], "normal");
    assert_eq!(v["environments"]["green"]["health"], "healthy");
    assert!(v["environments"]["green"]["tripped"].is_null());
}

#[test]
fn renders_health_and_trip() {
    let config = config();
    let mut health = HealthView {
        probing: true,
        routable: [true, false],
        mode: Mode::CandidateHeld,
        ..HealthView::default()
    };
    health.records[1].health = Health::Unhealthy;
    health.records[1].last_probe_ms = 1_000;
    health.records[1].latency_ms = 12;
    health.records[1].consecutive_failures = 3;
    health.records[1].last_failure = Some("503 from /v1/models".to_string());
    health.trips[1] = Some(Trip {
        at_ms: 1_000,
        until_ms: 301_000,
        error_rate: 0.123456,
        requests: 40,
    });
    let text = render(&StatusInput {
        config: &config,
        effective: Split::ALL_BLUE,
        counts: [EnvironmentCounts::default(); 2],
        health: &health,
        usage: &Default::default(),
        catalog: &Default::default(),
        shadow: None,
        loaded_at_ms: 0,
        now_ms: 0,
    });
    let v: Value = serde_json::from_str(&text).unwrap();
    let green = &v["environments"]["green"];
    assert_eq!(v["routing_mode"], "candidate_held");
    assert_eq!(green["health"], "unhealthy");
    assert_eq!(green["routable"], false);
    assert_eq!(green["latency_ms"], 12);
    assert_eq!(green["last_failure"], "503 from /v1/models");
    assert_eq!(green["consecutive_failures"], 3);
    assert_eq!(green["last_probe_at"], "1970-01-01T00:00:01.000Z");
    assert_eq!(green["tripped"]["error_rate"], 0.1235);
    assert_eq!(green["tripped"]["requests"], 40);
    assert_eq!(green["tripped"]["until"], "1970-01-01T00:05:01.000Z");
    assert_eq!(v["environments"]["blue"]["health"], "unknown");
    assert!(v["environments"]["blue"]["last_probe_at"].is_null());
}

#[test]
fn rfc3339_known_dates() {
    assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(rfc3339_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(rfc3339_utc(1_795_609_384_567), "2026-11-25T12:23:04.567Z");
}

/// Every field the status carries, in a busy state.
fn busy(config: &Config, health: &HealthView, usage: &[EnvironmentUsage; 2]) -> String {
    let mut counts = [EnvironmentCounts::default(); 2];
    counts[0].counts = [30, 29, 0, 1, 0];
    counts[1].counts = [10, 8, 1, 1, 0];
    render(&StatusInput {
        config,
        effective: Split::ALL_BLUE,
        counts,
        health,
        usage,
        catalog: &Default::default(),
        shadow: None,
        loaded_at_ms: 1_764_072_000_000,
        now_ms: 1_795_609_384_567,
    })
}

/// The status JSON is a contract (relayctl, the README, dashboards): keys, their order and the
/// numbers' text. Costs under 10^-5 USD print with an exponent (`3e-6`), the same float.
#[test]
fn renders_the_documented_text() {
    let json = r#"{"version": "v\"7", "active": "green", "environments": {
        "blue": {"cluster": "relay_blue", "weight": 33.33, "api_key": "sk-blue-secret"},
        "green": {"cluster": "relay_green2", "weight": 66.67, "api_key": "sk-green-secret"}}}"#;
    let config = Config::parse(json.as_bytes(), &|_| None).unwrap();
    let mut health = HealthView {
        probing: true,
        routable: [true, false],
        mode: Mode::CandidateHeld,
        ..HealthView::default()
    };
    health.records[0].last_probe_ms = 1_764_072_000_123;
    health.records[1].health = Health::Unhealthy;
    health.records[1].last_probe_ms = 1_000;
    health.records[1].latency_ms = 12;
    health.records[1].consecutive_failures = 3;
    health.records[1].last_failure = Some("503 \"x\"\n from /v1/models".to_string());
    for (env, error_rate, requests) in [(0, 1.0, 3), (1, 0.123456, 40)] {
        health.trips[env] = Some(Trip {
            at_ms: 1_000,
            until_ms: 301_000,
            error_rate,
            requests,
        });
    }
    let mut usage: [EnvironmentUsage; 2] = Default::default();
    for (name, requests, prompt_tokens, completion_tokens, cost_micro_usd) in [
        ("gpt-4.1", 3, 300, 30, 840),
        ("other", 1, 5, 0, 0),
        ("tiny\"m", 7, 1, 1, 3),
        ("big", 1, 1, 1, 123_456_789_012),
    ] {
        let totals = ModelTotals {
            requests,
            prompt_tokens,
            completion_tokens,
            cost_micro_usd,
        };
        usage[0].models.insert(name.to_string(), totals);
    }
    let totals = ModelTotals {
        requests: 7,
        cost_micro_usd: 1440,
        ..ModelTotals::default()
    };
    usage[1].models.insert("m".to_string(), totals);
    let want = r#"{"active":"green","version":"v\"7","config_loaded_at":"2025-11-25T12:00:00.000Z","config_loaded_at_ms":1764072000000,"now":"2026-11-25T12:23:04.567Z","total_requests":40,"green_traffic_ratio":0.25,"routing_mode":"candidate_held","health_checks":true,"environments":{"blue":{"cluster":"relay_blue","role":"candidate","weight":33.33,"effective_weight":100.0,"requests":30,"responses":{"2xx":29,"4xx":0,"5xx":1},"retried_away":0,"health":"unknown","routable":true,"last_probe_at":"2025-11-25T12:00:00.123Z","latency_ms":0,"last_failure":null,"consecutive_failures":0,"tripped":{"error_rate":1.0,"requests":3,"at":"1970-01-01T00:00:01.000Z","until":"1970-01-01T00:05:01.000Z"},"usage":{"requests":12,"prompt_tokens":307,"completion_tokens":32,"total_tokens":339,"cost_usd":123456.789855,"cost_per_1k_requests_usd":10288065.82125,"models":{"big":{"requests":1,"prompt_tokens":1,"completion_tokens":1,"cost_usd":123456.789012},"gpt-4.1":{"requests":3,"prompt_tokens":300,"completion_tokens":30,"cost_usd":0.00084},"other":{"requests":1,"prompt_tokens":5,"completion_tokens":0,"cost_usd":0.0},"tiny\"m":{"requests":7,"prompt_tokens":1,"completion_tokens":1,"cost_usd":3e-6}}},"judged_by":"probe","last_model_probe_at":null,"models":null,"missing_models":[]},"green":{"cluster":"relay_green2","role":"active","weight":66.67,"effective_weight":0.0,"requests":10,"responses":{"2xx":8,"4xx":1,"5xx":1},"retried_away":0,"health":"unhealthy","routable":false,"last_probe_at":"1970-01-01T00:00:01.000Z","latency_ms":12,"last_failure":"503 \"x\"\n from /v1/models","consecutive_failures":3,"tripped":{"error_rate":0.1235,"requests":40,"at":"1970-01-01T00:00:01.000Z","until":"1970-01-01T00:05:01.000Z"},"usage":{"requests":7,"prompt_tokens":0,"completion_tokens":0,"total_tokens":0,"cost_usd":0.00144,"cost_per_1k_requests_usd":0.205714,"models":{"m":{"requests":7,"prompt_tokens":0,"completion_tokens":0,"cost_usd":0.00144}}},"judged_by":"probe","last_model_probe_at":null,"models":null}}}"#;
    assert_eq!(busy(&config, &health, &usage), want);
}
