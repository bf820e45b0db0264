//! One published change (canary, promote, rollback): planned, checked with the filter's own
//! validation, refused while its target could not take traffic, written atomically and
//! confirmed on every replica.

use std::time::Instant;

use bluegreen_relay::status::rfc3339_utc;

use crate::plan::{self, Step};
use crate::resource::{self, Resource};
use crate::state::{Entry, State};
use crate::{check, config_path, fleet, now_ms, shadow_check, Cli, Outcome};

pub fn change(cli: &Cli, step: Step, force: bool) -> Outcome {
    let path = config_path(cli)?;
    // A rollback is published even without a status endpoint (it then cannot be confirmed).
    let live = match (step, fleet(cli)) {
        (Step::Rollback, Err(_)) => None,
        (_, live) => Some(live?),
    };
    let resource: Resource = resource::load(path)?;
    let (mut state, warning) = State::load(path);
    if let Some(warning) = warning {
        eprintln!("warning: {warning}");
    }
    let version = step.version(now_ms());
    let plan = plan::plan(resource.plugin_json()?, step, &state, &version)
        .map_err(|e| format!("{}: {e}; nothing was published", path.display()))?;
    let plugin_json = plan.plugin_json();
    if let Err(err) = check::check(
        &plugin_json,
        Some(&resource.host_env_keys()),
        &check::process_env,
    ) {
        eprintln!("{err}");
        return Err(format!("{} refused: nothing was published", step.describe()).into());
    }

    // Only steps that send traffic to an environment check it first; rollback never waits.
    if step != Step::Rollback {
        let target = plan.active_after.other();
        let target = if step == Step::Promote {
            plan.active_after
        } else {
            target
        };
        let blocker = match live.as_ref() {
            Some(fleet) => fleet.blocker(target).or_else(|| {
                let snapshot = fleet.first()?.fetch().ok()?;
                let found = shadow_check::refusals(&snapshot.status, target);
                (!found.is_empty()).then(|| found.join("; "))
            }),
            None => Some("no status endpoint".to_string()),
        };
        if let Some(why) = blocker {
            if !force {
                return Err(format!(
                    "refusing {}: {why}. Nothing was published; --force publishes anyway.",
                    step.describe()
                )
                .into());
            }
            eprintln!("warning: {why}; publishing anyway (--force)");
        }
    }

    let next = resource.with_plugin_json(&plugin_json);
    resource::write_atomic(path, &next.to_text())?;
    let published = Instant::now();
    state.record(Entry {
        at: rfc3339_utc(now_ms()),
        kind: step.kind().to_string(),
        step: step.describe(),
        version: version.clone(),
        previous_version: plan.previous_version.clone(),
        active_before: plan.active_before.as_str().to_string(),
        active_after: plan.active_after.as_str().to_string(),
        blue_weight: f64::from(plan.weights[0]) / 100.0,
        green_weight: f64::from(plan.weights[1]) / 100.0,
    });
    if let Err(e) = state.save(path) {
        eprintln!("warning: cannot record the step in relayctl's state: {e}");
    }

    let what = match &plan.note {
        Some(note) => format!("{} ({note})", step.describe()),
        None => step.describe(),
    };
    let Some(live) = live else {
        return Err(format!(
            "{} {what}: {}; published version {version} to {}, NOT confirmed: no status \
             endpoint (pass --status-url or set RELAYCTL_STATUS_URL)",
            rfc3339_utc(now_ms()),
            plan.summary(),
            path.display()
        )
        .into());
    };
    match live.wait_for_version(&version, published, cli.timeout) {
        Ok(after) => {
            println!(
                "{} {what}: {}; published version {version}; live on {} after {} ms",
                rfc3339_utc(now_ms()),
                plan.summary(),
                live.describe_replicas(),
                after.as_millis()
            );
            Ok(())
        }
        Err(last) => Err(format!(
            "{} {what}: published version {version} to {}, but after {:.1} s: {last}. \
             Envoy rejected it or does not watch this file: look for 'invalid configuration' \
             or 'update rejected' in its log.",
            rfc3339_utc(now_ms()),
            path.display(),
            cli.timeout.as_secs_f64()
        )
        .into()),
    }
}
