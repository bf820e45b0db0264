//! The status endpoint's JSON. Built from counts the host gathered for the whole Envoy;
//! it carries cluster names, weights and counts — never a key.

use serde::Serialize;

use crate::ai::meter::EnvironmentUsage;
use crate::config::Config;
use crate::environment::Environment;
use crate::health::policy::Mode;
use crate::health::rollback::Trip;
use crate::health::{Health, HealthRecord};
use crate::routing::Split;
use crate::shadow::stats::ShadowComparison;
use crate::status::catalog_view::{self, CatalogInput, MissingView, ModelsView};
use crate::status::counters::Counter;
use crate::status::number;
use crate::status::shadow_view::{self, ShadowView};
use crate::status::usage_view::{self, UsageView};

/// Whole-Envoy counts for one environment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EnvironmentCounts {
    pub counts: [u64; Counter::COUNT],
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
    /// Model lists and recent traffic per model.
    pub catalog: &'a CatalogInput,
    /// Answers to shadowed requests (`None` without a `shadow` block and none recorded).
    pub shadow: Option<&'a ShadowComparison>,
    pub loaded_at_ms: u64,
    pub now_ms: u64,
}

#[derive(Serialize)]
struct StatusView<'a> {
    active: &'static str,
    version: Option<&'a str>,
    config_loaded_at: String,
    config_loaded_at_ms: u64,
    now: String,
    total_requests: u64,
    green_traffic_ratio: f64,
    routing_mode: &'static str,
    health_checks: bool,
    environments: EnvironmentsView<'a>,
}

#[derive(Serialize)]
struct EnvironmentsView<'a> {
    blue: EnvironmentView<'a>,
    green: EnvironmentView<'a>,
}

#[derive(Serialize)]
struct EnvironmentView<'a> {
    cluster: &'a str,
    role: &'static str,
    weight: f64,
    effective_weight: f64,
    requests: u64,
    responses: ResponsesView,
    /// Attempts that failed here and were retried on the other environment (failover).
    retried_away: u64,
    health: &'static str,
    routable: bool,
    last_probe_at: Option<String>,
    latency_ms: Option<u64>,
    last_failure: Option<&'a str>,
    consecutive_failures: u32,
    tripped: Option<TripView>,
    usage: UsageView<'a>,
    /// `probe` or `traffic`: whether the last verdict came from probes or from real answers.
    judged_by: Option<&'static str>,
    last_model_probe_at: Option<String>,
    models: Option<ModelsView<'a>>,
    /// Only for the candidate.
    #[serde(skip_serializing_if = "Option::is_none")]
    missing_models: Option<Vec<MissingView<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    shadow: Option<ShadowView>,
}

#[derive(Serialize)]
struct ResponsesView {
    #[serde(rename = "2xx")]
    ok: u64,
    #[serde(rename = "4xx")]
    client_error: u64,
    #[serde(rename = "5xx")]
    server_error: u64,
}

#[derive(Serialize)]
struct TripView {
    error_rate: f64,
    requests: u64,
    at: String,
    until: String,
}

/// The status JSON. Weights print as percent floats (`90.0`, `12.5`), ratios with four places,
/// each rounded once from integers.
pub fn render(input: &StatusInput<'_>) -> String {
    let requests = |env: Environment| input.counts[env.index()].get(Counter::Requests);
    let green = requests(Environment::Green);
    let total = requests(Environment::Blue) + green;
    let view = StatusView {
        active: input.config.active.as_str(),
        version: input.config.version.as_deref(),
        config_loaded_at: rfc3339_utc(input.loaded_at_ms),
        config_loaded_at_ms: input.loaded_at_ms,
        now: rfc3339_utc(input.now_ms),
        total_requests: total,
        green_traffic_ratio: number::ratio(green, total, 4),
        routing_mode: input.health.mode.as_str(),
        health_checks: input.health.probing,
        environments: EnvironmentsView {
            blue: environment(input, Environment::Blue),
            green: environment(input, Environment::Green),
        },
    };
    // Strings, integers and floats with string keys: serializing cannot fail.
    serde_json::to_string(&view).unwrap_or_default()
}

fn environment<'a>(input: &StatusInput<'a>, env: Environment) -> EnvironmentView<'a> {
    let counts = input.counts[env.index()];
    let config = input.config.environment(env);
    let health = input.health;
    let record = &health.records[env.index()];
    let probed = health.probing && record.last_probe_ms > 0;
    EnvironmentView {
        cluster: &config.cluster,
        role: if env == input.config.active {
            "active"
        } else {
            "candidate"
        },
        weight: percent(config.weight_bp),
        effective_weight: percent(input.effective.buckets(env)),
        requests: counts.get(Counter::Requests),
        responses: ResponsesView {
            ok: counts.get(Counter::Responses2xx),
            client_error: counts.get(Counter::Responses4xx),
            server_error: counts.get(Counter::Responses5xx),
        },
        retried_away: counts.get(Counter::RetriedAway),
        health: if health.probing {
            record.health
        } else {
            Health::Healthy
        }
        .as_str(),
        routable: health.routable[env.index()],
        last_probe_at: probed.then(|| rfc3339_utc(record.last_probe_ms)),
        latency_ms: probed.then_some(record.latency_ms),
        last_failure: record.last_failure.as_deref().filter(|_| health.probing),
        consecutive_failures: record.consecutive_failures,
        tripped: health.trips[env.index()].map(|trip| TripView {
            error_rate: number::rounded(trip.error_rate, 4),
            requests: trip.requests,
            at: rfc3339_utc(trip.at_ms),
            until: rfc3339_utc(trip.until_ms),
        }),
        usage: usage_view::view(&input.usage[env.index()]),
        judged_by: probed.then_some(if record.judged_by_traffic {
            "traffic"
        } else {
            "probe"
        }),
        last_model_probe_at: (health.probing && record.last_full_probe_ms > 0)
            .then(|| rfc3339_utc(record.last_full_probe_ms)),
        models: catalog_view::models(&input.catalog.catalogs[env.index()]),
        missing_models: (env != input.config.active).then(|| {
            catalog_view::missing(input.catalog, env.index(), input.config.active.index())
        }),
        shadow: input.shadow.map(|comparison| {
            if env == input.config.active {
                shadow_view::view(&comparison.active, false)
            } else {
                shadow_view::view(&comparison.candidate, true)
            }
        }),
    }
}

/// Basis points (weights, buckets) as a percentage with two places.
fn percent(basis_points: u32) -> f64 {
    number::fixed(u64::from(basis_points), 2)
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
#[path = "render_tests.rs"]
mod tests;
