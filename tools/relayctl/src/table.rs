//! `relayctl status`: the status JSON as a table people can read.

use serde_json::Value;

use crate::state::Entry;

/// What relayctl knows beyond the status endpoint.
#[derive(Debug, Default, Clone)]
pub struct LocalView {
    pub status_url: String,
    pub config_path: Option<String>,
    /// The `version` in the configuration file (what is published).
    pub file_version: Option<String>,
    /// A problem reading the file, said instead of its version.
    pub file_problem: Option<String>,
    pub last_step: Option<Entry>,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "-".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn percent(v: &Value) -> String {
    match bluegreen_relay::routing::weight::from_json(v) {
        Some(bp) => format!("{} %", bluegreen_relay::routing::weight::display(bp)),
        None => "-".to_string(),
    }
}

fn yes_no(v: &Value) -> String {
    match v.as_bool() {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "-".into(),
    }
}

/// Lays out rows under a header; columns listed in `right` are right-aligned.
fn grid(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if right.contains(&i) {
                    format!("{cell:>w$}", w = widths[i])
                } else {
                    format!("{cell:<w$}", w = widths[i])
                }
            })
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut out = vec![line(header.iter().map(|h| h.to_string()).collect())];
    out.extend(rows.iter().map(|r| line(r.clone())));
    out
}

pub fn render(status: &Value, local: &LocalView) -> String {
    let mut out = Vec::new();
    out.push(format!("bluegreen-relay ({})", local.status_url));
    let live_version = text(&status["version"]);
    let field = |name: &str, value: String| format!("  {name:<16} {value}");
    out.push(field("config version", live_version.clone()));
    out.push(field("loaded at", text(&status["config_loaded_at"])));
    out.push(field("active", text(&status["active"])));
    let checks = match status["health_checks"].as_bool() {
        Some(true) => " (health checks on)",
        Some(false) => " (health checks off)",
        None => "",
    };
    out.push(field(
        "routing mode",
        format!("{}{checks}", text(&status["routing_mode"])),
    ));
    out.push(field(
        "requests",
        format!(
            "{} in total, green traffic ratio {}",
            text(&status["total_requests"]),
            text(&status["green_traffic_ratio"])
        ),
    ));
    out.push(String::new());

    let mut rows = Vec::new();
    let mut notes = Vec::new();
    for name in ["blue", "green"] {
        let env = &status["environments"][name];
        let tripped = match env["tripped"].as_object() {
            Some(trip) => format!(
                "until {}",
                trip.get("until").map(text).unwrap_or_else(|| "?".into())
            ),
            None if env.is_object() => "no".into(),
            None => "-".into(),
        };
        rows.push(vec![
            name.to_string(),
            text(&env["role"]),
            text(&env["cluster"]),
            percent(&env["weight"]),
            percent(&env["effective_weight"]),
            text(&env["requests"]),
            text(&env["health"]),
            yes_no(&env["routable"]),
            tripped,
        ]);
        if let Some(failure) = env["last_failure"].as_str() {
            notes.push(format!("  {name}: last probe failure: {failure}"));
        }
        if let Some(trip) = env["tripped"].as_object() {
            notes.push(format!(
                "  {name}: tripped at {} (error rate {} over {} requests)",
                trip.get("at").map(text).unwrap_or_default(),
                trip.get("error_rate").map(text).unwrap_or_default(),
                trip.get("requests").map(text).unwrap_or_default(),
            ));
        }
    }
    let header = [
        "ENV",
        "ROLE",
        "CLUSTER",
        "CONFIGURED",
        "EFFECTIVE",
        "REQUESTS",
        "HEALTH",
        "ROUTABLE",
        "TRIPPED",
    ];
    out.extend(
        grid(&header, &rows, &[3, 4, 5])
            .into_iter()
            .map(|l| format!("  {l}")),
    );
    out.extend(notes);

    out.push(String::new());
    out.push("relayctl".to_string());
    if let Some(path) = &local.config_path {
        let state = match (&local.file_problem, &local.file_version) {
            (Some(problem), _) => problem.clone(),
            (None, Some(v)) if *v == live_version => format!("version {v} (live on Envoy)"),
            (None, Some(v)) => {
                format!("version {v} (NOT live: Envoy serves {live_version}; was it rejected?)")
            }
            (None, None) => "no version".to_string(),
        };
        out.push(field("config file", format!("{path}: {state}")));
    } else {
        out.push(field("config file", "(none: pass --config)".into()));
    }
    match &local.last_step {
        Some(step) => out.push(field(
            "last step",
            format!("{} {} -> {}", step.at, step.step, step.version),
        )),
        None => out.push(field("last step", "(none recorded)".into())),
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn status() -> Value {
        json!({
            "active": "blue", "version": "v7", "config_loaded_at": "2026-11-25T12:00:00.123Z",
            "total_requests": 1234, "green_traffic_ratio": 0.1012, "routing_mode": "candidate_held",
            "health_checks": true,
            "environments": {
                "blue": {"cluster": "relay_blue", "role": "active", "weight": 87.5,
                         "effective_weight": 100.0, "requests": 1110, "health": "healthy",
                         "routable": true, "tripped": null, "last_failure": null},
                "green": {"cluster": "relay_green", "role": "candidate", "weight": 12.5,
                          "effective_weight": 0.0, "requests": 124, "health": "unhealthy",
                          "routable": false, "last_failure": "503 from /v1/models",
                          "tripped": {"at": "2026-11-25T12:01:00.000Z", "until": "2026-11-25T12:06:00.000Z",
                                      "error_rate": 0.25, "requests": 40}}
            }
        })
    }

    #[test]
    fn renders_the_table() {
        let local = LocalView {
            status_url: "http://127.0.0.1:1/relay/status".into(),
            config_path: Some("/ecds/bluegreen-relay.json".into()),
            file_version: Some("v8".into()),
            ..LocalView::default()
        };
        let out = render(&status(), &local);
        let expected_rows = [
            "  ENV    ROLE       CLUSTER      CONFIGURED  EFFECTIVE  REQUESTS  HEALTH     ROUTABLE  TRIPPED",
            "  blue   active     relay_blue       87.5 %      100 %      1110  healthy    yes       no",
            "  green  candidate  relay_green      12.5 %        0 %       124  unhealthy  no        until 2026-11-25T12:06:00.000Z",
        ];
        for row in expected_rows {
            assert!(out.contains(row), "missing row {row:?} in\n{out}");
        }
        for line in [
            "  config version   v7",
            "  routing mode     candidate_held (health checks on)",
            "  requests         1234 in total, green traffic ratio 0.1012",
            "  green: last probe failure: 503 from /v1/models",
            "NOT live: Envoy serves v7",
            "  last step        (none recorded)",
        ] {
            assert!(out.contains(line), "missing {line:?} in\n{out}");
        }
    }

    #[test]
    fn survives_a_sparse_status() {
        let out = render(&json!({}), &LocalView::default());
        assert!(out.contains("  blue   -"), "{out}");
        assert!(out.contains("(none: pass --config)"), "{out}");
    }
}
