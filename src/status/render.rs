//! The status endpoint's JSON. Built from counts the host gathered for the whole Envoy;
//! it carries cluster names, weights and counts — never a key.

use crate::ai::meter::EnvironmentUsage;
use crate::config::Config;
use crate::decimal::Decimal;
use crate::environment::Environment;
use crate::health::policy::Mode;
use crate::health::rollback::Trip;
use crate::health::{Health, HealthRecord};
use crate::json_writer::JsonWriter;
use crate::routing::Split;
use crate::status::counters::Counter;
use crate::status::usage_view;

/// Whole-Envoy counts for one environment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EnvironmentCounts {
    pub counts: [u64; 4],
}

impl EnvironmentCounts {
    pub fn get(&self, counter: Counter) -> u64 {
        self.counts[counter.index()]
    }
}

/// Health and rollback state as the worker answering the status request last read it.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthView {
    /// False when no `health_check` is configured: every environment then counts as healthy.
    pub probing: bool,
    pub records: [HealthRecord; 2],
    /// The candidate's trip while it holds traffic back.
    pub trips: [Option<Trip>; 2],
    pub routable: [bool; 2],
    pub mode: Mode,
}

impl Default for HealthView {
    fn default() -> HealthView {
        HealthView {
            probing: false,
            records: Default::default(),
            trips: [None, None],
            routable: [true, true],
            mode: Mode::Normal,
        }
    }
}

pub struct StatusInput<'a> {
    pub config: &'a Config,
    /// The split in force now (the configured one, unless health or rollback changed it).
    pub effective: Split,
    pub counts: [EnvironmentCounts; 2],
    pub health: &'a HealthView,
    /// Tokens and cost per environment and model (whole Envoy).
    pub usage: &'a [EnvironmentUsage; 2],
    pub loaded_at_ms: u64,
    pub now_ms: u64,
}

/// Writes the status JSON. Weights print as percent floats (`90.0`, `12.5`), ratios with four
/// places, all from integers.
pub fn render(input: &StatusInput<'_>) -> String {
    let requests = |env: Environment| input.counts[env.index()].get(Counter::Requests);
    let green = requests(Environment::Green);
    let total = requests(Environment::Blue) + green;
    let mut w = JsonWriter::new();
    w.begin_object();
    w.key("active").str(input.config.active.as_str());
    w.key("version").opt_str(input.config.version.as_deref());
    w.key("config_loaded_at")
        .str(&rfc3339_utc(input.loaded_at_ms));
    w.key("config_loaded_at_ms").u64(input.loaded_at_ms);
    w.key("now").str(&rfc3339_utc(input.now_ms));
    w.key("total_requests").u64(total);
    w.key("green_traffic_ratio")
        .decimal(Decimal::ratio(green, total, 4));
    w.key("routing_mode").str(input.health.mode.as_str());
    w.key("health_checks").bool(input.health.probing);
    w.key("environments").begin_object();
    for env in Environment::ALL {
        w.key(env.as_str());
        write_environment(&mut w, input, env);
    }
    w.end_object().end_object();
    w.finish()
}

fn write_environment(w: &mut JsonWriter, input: &StatusInput<'_>, env: Environment) {
    let counts = input.counts[env.index()];
    let config = input.config.environment(env);
    let health = input.health;
    let record = &health.records[env.index()];
    let probed = health.probing && record.last_probe_ms > 0;
    let role = if env == input.config.active {
        "active"
    } else {
        "candidate"
    };
    w.begin_object();
    w.key("cluster").str(&config.cluster);
    w.key("role").str(role);
    w.key("weight").decimal(percent(config.weight_bp));
    w.key("effective_weight")
        .decimal(percent(input.effective.buckets(env)));
    w.key("requests").u64(counts.get(Counter::Requests));
    w.key("responses").begin_object();
    w.key("2xx").u64(counts.get(Counter::Responses2xx));
    w.key("4xx").u64(counts.get(Counter::Responses4xx));
    w.key("5xx").u64(counts.get(Counter::Responses5xx));
    w.end_object();
    let shown = if health.probing {
        record.health
    } else {
        Health::Healthy
    };
    w.key("health").str(shown.as_str());
    w.key("routable").bool(health.routable[env.index()]);
    w.key("last_probe_at")
        .opt_str(probed.then(|| rfc3339_utc(record.last_probe_ms)).as_deref());
    w.key("latency_ms")
        .opt_u64(probed.then_some(record.latency_ms));
    w.key("last_failure")
        .opt_str(record.last_failure.as_deref().filter(|_| health.probing));
    w.key("consecutive_failures")
        .u64(u64::from(record.consecutive_failures));
    w.key("tripped");
    match health.trips[env.index()] {
        Some(trip) => {
            w.begin_object();
            w.key("error_rate")
                .decimal(Decimal::from_f64(trip.error_rate, 4));
            w.key("requests").u64(trip.requests);
            w.key("at").str(&rfc3339_utc(trip.at_ms));
            w.key("until").str(&rfc3339_utc(trip.until_ms));
            w.end_object();
        }
        None => {
            w.null();
        }
    }
    w.key("usage");
    usage_view::write(w, &input.usage[env.index()]);
    w.end_object();
}

/// Basis points (weights, buckets) as a percentage with two places.
fn percent(basis_points: u32) -> Decimal {
    Decimal::new(u64::from(basis_points), 2)
}

/// `2026-11-25T12:00:00.123Z` from Unix milliseconds (proleptic Gregorian, UTC).
pub fn rfc3339_utc(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
