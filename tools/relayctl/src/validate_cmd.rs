//! `relayctl validate`: the filter's own checks, then whether the candidate could take traffic
//! now: health, trip, model catalog and shadow comparison.

use std::path::Path;

use bluegreen_relay::environment::Environment;

use crate::live::traffic_blocker;
use crate::resource::{self, ConfigSource};
use crate::{
    catalog_check, check, config_path, live, shadow_check, status_token, Cli, Failure, Outcome,
};

pub fn validate(
    cli: &Cli,
    file: Option<&Path>,
    offline: bool,
    allow_missing: &[String],
) -> Outcome {
    let path = match file {
        Some(path) => path,
        None => config_path(cli)?,
    };
    let source = ConfigSource::parse(&resource::read(path)?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let keys = source.host_env_keys();
    let checked = match check::check(source.plugin_json()?, keys.as_deref(), &check::process_env) {
        Ok(checked) => checked,
        Err(err) => {
            // Exactly the line the filter logs when it refuses this configuration.
            eprintln!("{err}");
            return Err(Failure {
                message: String::new(),
                code: 1,
            });
        }
    };
    for name in &checked.placeholders {
        eprintln!("{}", check::placeholder_warning(name));
    }
    println!("configuration OK: {}", check::describe(&checked.config));
    if offline {
        return Ok(());
    }
    let live = live(cli)?;
    let snapshot = live
        .fetch()
        .map_err(|e| format!("cannot check the environments' health: {e}"))?;
    let status = &snapshot.status;
    let live_version = snapshot.version.unwrap_or_default();
    let file_version = checked.config.version.clone().unwrap_or_default();
    if live_version == file_version {
        println!("Envoy serves this configuration (version {live_version})");
    } else {
        println!("Envoy serves version {live_version:?}, not this file's {file_version:?}");
    }
    let active = checked.config.active;
    for env in Environment::ALL {
        let view = &status["environments"][env.as_str()];
        let role = if env == active { "active" } else { "candidate" };
        let state = match traffic_blocker(status, env) {
            None => "healthy, not tripped".to_string(),
            Some(why) => why,
        };
        println!(
            "  {} ({role}): {state}; routable {}, effective weight {}",
            env.as_str(),
            view["routable"],
            view["effective_weight"]
        );
    }
    let candidate = active.other();
    let catalog = catalog_check::run(
        live.url(),
        cli.timeout,
        status_token(cli)?.as_deref(),
        candidate,
        allow_missing,
    )?;
    for note in &catalog.notes {
        println!("{note}");
    }
    let mut refusals: Vec<String> = traffic_blocker(status, candidate).into_iter().collect();
    refusals.extend(catalog.refusals);
    refusals.extend(shadow_check::refusals(status, candidate));
    if refusals.is_empty() {
        println!("{} (the candidate) could get traffic", candidate.as_str());
        return Ok(());
    }
    Err(format!(
        "{} (the candidate) could not get traffic now: {}",
        candidate.as_str(),
        refusals.join("; ")
    )
    .into())
}
