//! `relayctl status [--json] [--watch]`: the filter's status, the fleet's versions, the
//! shadow comparison and the rollout's progress.

use std::time::Duration;

use serde_json::{json, Value};

use crate::resource;
use crate::state::State;
use crate::{fleet, live, now_ms, shadow_check, table, Cli, Outcome};

pub fn status_command(cli: &Cli, as_json: bool, watch: bool) -> Outcome {
    if !watch {
        return status(cli, as_json);
    }
    loop {
        // Clear the screen and home the cursor, like `watch`.
        print!("\x1b[2J\x1b[H");
        if let Err(e) = status(cli, as_json) {
            println!("relayctl: {}", e.message);
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

pub fn status(cli: &Cli, as_json: bool) -> Outcome {
    let live = live(cli)?;
    let snapshot = live.fetch()?;
    let mut local = table::LocalView {
        status_url: live.url().to_string(),
        ..table::LocalView::default()
    };
    if let Some(path) = cli.config.as_deref() {
        local.config_path = Some(path.display().to_string());
        match resource::load(path).and_then(|r| {
            let plugin: Value = serde_json::from_str(r.plugin_json()?)
                .map_err(|e| format!("plugin configuration is not JSON: {e}"))?;
            Ok(plugin["version"].as_str().map(str::to_string))
        }) {
            Ok(version) => local.file_version = version,
            Err(e) => local.file_problem = Some(e),
        }
        local.last_step = State::load(path).0.last().cloned();
    }
    if !as_json {
        print!("{}", table::render(&snapshot.status, &local));
        if let Some(line) = shadow_check::describe(&snapshot.status) {
            println!("{line}");
        }
        if cli.status_url.len() > 1 || cli.prometheus.is_some() {
            print!("{}", fleet(cli)?.versions());
        }
        if let Some(r) = cli
            .config
            .as_deref()
            .and_then(|path| State::load(path).0.rollout)
        {
            println!("{}", r.summary(now_ms()));
        }
        return Ok(());
    }
    let mut out = snapshot.status;
    let live_version = snapshot.version.unwrap_or_default();
    let view = json!({
        "status_url": local.status_url,
        "live_version": live_version,
        "config_file": local.config_path,
        "config_file_version": local.file_version,
        "config_file_problem": local.file_problem,
        "in_sync": local.file_version.as_deref().map(|v| v == live_version),
        "last_step": local.last_step,
    });
    if let Some(object) = out.as_object_mut() {
        object.insert("relayctl".into(), view);
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&out).map_err(|e| e.to_string())?
    );
    Ok(())
}
