//! `relayctl shadow PCT`: sets `shadow.percent` (0 turns shadowing off) and publishes the
//! configuration as the other steps do: checked with the filter's own validation, written
//! atomically, confirmed on the status endpoint. The other `shadow` fields keep their values
//! (or the filter's defaults when the block is new).

use std::path::Path;
use std::time::{Duration, Instant};

use bluegreen_relay::routing::weight;
use bluegreen_relay::status::rfc3339_utc;
use serde_json::{json, Value};

use crate::live::Live;
use crate::{check, resource};

/// Parses a shadow percentage: `0` to `100`, at most two decimals, an optional trailing `%`.
pub fn parse(text: &str) -> Result<u32, String> {
    let number = text.trim();
    let number = number.strip_suffix('%').unwrap_or(number).trim_end();
    weight::parse(number).map_err(|rule| format!("shadow percentage {rule} (got {text:?})"))
}

/// The plugin JSON with `shadow.percent` set to `bp` and `version` stamped.
pub fn with_percent(current: &str, bp: u32, version: &str) -> Result<String, String> {
    let mut plugin: Value = serde_json::from_str(current)
        .map_err(|e| format!("the current plugin configuration is not JSON: {e}"))?;
    let Some(object) = plugin.as_object_mut() else {
        return Err("the current plugin configuration is not a JSON object".into());
    };
    let block = object.entry("shadow").or_insert_with(|| json!({}));
    if !block.is_object() {
        *block = json!({});
    }
    block["percent"] = weight::to_json(bp);
    plugin["version"] = Value::from(version);
    serde_json::to_string(&plugin).map_err(|e| e.to_string())
}

/// Publishes `shadow.percent = bp` to the resource at `path` and waits until Envoy serves it.
pub fn publish(
    path: &Path,
    live: Option<Live>,
    bp: u32,
    now_ms: u64,
    timeout: Duration,
) -> Result<(), String> {
    let resource = resource::load(path)?;
    let version = format!("relayctl-{now_ms}-shadow-{}", weight::display(bp));
    let plugin_json = with_percent(resource.plugin_json()?, bp, &version)
        .map_err(|e| format!("{}: {e}; nothing was published", path.display()))?;
    if let Err(err) = check::check(
        &plugin_json,
        Some(&resource.host_env_keys()),
        &check::process_env,
    ) {
        eprintln!("{err}");
        return Err("shadow refused: nothing was published".into());
    }
    resource::write_atomic(path, &resource.with_plugin_json(&plugin_json).to_text())?;
    let published = Instant::now();
    let what = if bp == 0 {
        "shadow off".to_string()
    } else {
        format!(
            "shadow {} % of the active environment's completions to the candidate",
            weight::display(bp)
        )
    };
    let Some(live) = live else {
        return Err(format!(
            "{what}: published version {version} to {}, NOT confirmed: no status endpoint",
            path.display()
        ));
    };
    let after = live
        .wait_for_version(&version, published, timeout)
        .map_err(|last| {
            format!(
                "{what}: published version {version} to {}, but after {:.1} s: {last}",
                path.display(),
                timeout.as_secs_f64()
            )
        })?;
    println!(
        "{} {what}: published version {version}; live on Envoy after {} ms",
        rfc3339_utc(now_ms),
        after.as_millis()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_the_percent_and_keeps_the_limits() {
        let current = r#"{"version":"v1","shadow":{"percent":5,"max_per_second":7}}"#;
        let next: Value =
            serde_json::from_str(&with_percent(current, 1250, "v2").unwrap()).unwrap();
        assert_eq!(
            next["shadow"],
            json!({"percent": 12.5, "max_per_second": 7})
        );
        assert_eq!(next["version"], "v2");
        let next: Value = serde_json::from_str(&with_percent("{}", 0, "v3").unwrap()).unwrap();
        assert_eq!(next["shadow"], json!({"percent": 0}));
        assert_eq!(parse("12.5%"), Ok(1250));
        assert_eq!(parse("0"), Ok(0));
        assert!(parse("101").is_err());
    }
}
