//! `relayctl rollout`: each step publishes the canary share, waits for the whole fleet, then
//! analyses the candidate against the active environment until the step has passed for its
//! duration. A failed check rolls the fleet back; missing or too little data pauses (never
//! advances); passing the last step promotes.

use std::time::{Duration, Instant};

use bluegreen_relay::environment::Environment;
use bluegreen_relay::routing::weight;

use crate::analysis::{judge, Verdict};
use crate::fleet::Fleet;
use crate::percent::ALL;
use crate::plan::Step;
use crate::rollout_state::Rollout;
use crate::state::State;
use crate::{change, config_path, fleet, now_ms, resource, Cli, Failure, Outcome};

/// How a step ended.
enum StepEnd {
    Passed,
    Failed(String),
    Paused(String),
}

/// A step that stays inconclusive this many times its duration pauses the rollout.
const PATIENCE: u32 = 3;

pub fn start(cli: &Cli, plan: Rollout) -> Outcome {
    let path = config_path(cli)?;
    let (state, _) = State::load(path);
    if let Some(r) = state.rollout.as_ref().filter(|r| r.unfinished()) {
        return Err(format!(
            "a rollout is already at {} ({}): `relayctl rollout --resume` continues it, \
             `relayctl abort` rolls it back",
            r.step_label(),
            r.phase
        )
        .into());
    }
    run(cli, plan, false)
}

pub fn resume(cli: &Cli) -> Outcome {
    let path = config_path(cli)?;
    let (state, _) = State::load(path);
    match state.rollout.filter(Rollout::unfinished) {
        Some(r) => {
            println!("resuming the rollout at {}", r.step_label());
            run(cli, r, true)
        }
        None => Err("no rollout to resume (relayctl status shows the last one)"
            .to_string()
            .into()),
    }
}

pub fn abort(cli: &Cli) -> Outcome {
    let path = config_path(cli)?;
    let (state, _) = State::load(path);
    let label = state.rollout.as_ref().map(Rollout::step_label);
    change(cli, Step::Rollback, true)?;
    record(cli, |r| r.phase = "aborted: by relayctl abort".to_string());
    match label {
        Some(label) => {
            println!("rollout aborted at {label}; the fleet is back on the active environment")
        }
        None => println!("no rollout was recorded; rolled back anyway"),
    }
    Ok(())
}

fn run(cli: &Cli, mut r: Rollout, resuming: bool) -> Outcome {
    let fleet = fleet(cli)?;
    let active = active_of(cli)?;
    let total = r.steps.len();
    let first = r.step;
    for i in first..total {
        let share = r.steps[i];
        r.step = i;
        if share >= ALL {
            break;
        }
        if !(resuming && i == first) {
            if let Err(failure) = change(cli, Step::Canary(share), false) {
                r.phase = format!(
                    "paused: {} not published: {}",
                    r.step_label(),
                    failure.message
                );
                save(cli, &r);
                return Err(paused(&r, &failure.message));
            }
        }
        r.step_started_ms = now_ms();
        r.phase = "running".to_string();
        r.last_analysis = None;
        save(cli, &r);
        match analyse_step(cli, &fleet, &mut r, active) {
            StepEnd::Passed => println!(
                "{} passed: {}",
                r.step_label(),
                r.last_analysis.as_deref().unwrap_or("")
            ),
            StepEnd::Failed(line) => {
                let abort_line = format!(
                    "abort at step {} ({} %): {line}",
                    i + 1,
                    weight::display(share)
                );
                println!("{abort_line}");
                let rolled_back = change(cli, Step::Rollback, true);
                r.phase = format!("aborted: {line}");
                save(cli, &r);
                return Err(match rolled_back {
                    Ok(()) => abort_line.into(),
                    Err(e) => format!("{abort_line}; the rollback failed: {}", e.message).into(),
                });
            }
            StepEnd::Paused(why) => {
                r.phase = format!("paused: {why}");
                save(cli, &r);
                return Err(paused(&r, &why));
            }
        }
    }
    change(cli, Step::Promote, false)?;
    r.step = total.saturating_sub(1);
    r.phase = "promoted".to_string();
    save(cli, &r);
    println!("rollout done: the candidate passed every step and is promoted");
    Ok(())
}

fn paused(r: &Rollout, why: &str) -> Failure {
    format!(
        "rollout paused at {}: {why}. `relayctl rollout --resume` continues at this step, \
         `relayctl abort` rolls back",
        r.step_label()
    )
    .into()
}

fn analyse_step(cli: &Cli, fleet: &Fleet, r: &mut Rollout, active: Environment) -> StepEnd {
    let step_duration = Duration::from_millis(r.step_duration_ms);
    let interval = Duration::from_millis(r.analysis_interval_ms);
    let thresholds = r.thresholds();
    let started = Instant::now();
    let mut baseline = None;
    let mut last = String::new();
    loop {
        std::thread::sleep(interval);
        let elapsed = started.elapsed();
        let verdict = match &baseline {
            None => match crate::sample::begin(fleet) {
                Ok(b) => {
                    baseline = Some(b);
                    Verdict::Inconclusive("the window has begun".to_string())
                }
                Err(e) => Verdict::Inconclusive(format!("paused, no data: {e}")),
            },
            Some(base) => match crate::sample::window(fleet, base, active) {
                Ok(window) => judge(&window, &thresholds),
                Err(e) => Verdict::Inconclusive(format!("paused, no data: {e}")),
            },
        };
        if verdict.text() != last {
            println!(
                "  {} {:.0}s: {}",
                r.step_label(),
                elapsed.as_secs_f64(),
                verdict.text()
            );
            last = verdict.text().to_string();
        }
        r.last_analysis = Some(verdict.text().to_string());
        save(cli, r);
        match verdict {
            Verdict::Fail(line) => return StepEnd::Failed(line),
            Verdict::Pass(_) if elapsed >= step_duration => return StepEnd::Passed,
            Verdict::Pass(_) => {}
            Verdict::Inconclusive(why) if elapsed >= step_duration * PATIENCE => {
                return StepEnd::Paused(format!(
                    "still inconclusive after {PATIENCE} × the step duration: {why}"
                ))
            }
            Verdict::Inconclusive(_) => {}
        }
    }
}

fn save(cli: &Cli, r: &Rollout) {
    let Ok(path) = config_path(cli) else { return };
    let (mut state, _) = State::load(path);
    state.rollout = Some(r.clone());
    if let Err(e) = state.save(path) {
        eprintln!("warning: cannot record the rollout in relayctl's state: {e}");
    }
}

/// Updates the recorded rollout, if there is one.
fn record(cli: &Cli, update: impl FnOnce(&mut Rollout)) {
    let Ok(path) = config_path(cli) else { return };
    let (state, _) = State::load(path);
    if let Some(mut r) = state.rollout {
        update(&mut r);
        save(cli, &r);
    }
}

/// The active environment of the configuration file (the filter's default: blue).
fn active_of(cli: &Cli) -> Result<Environment, Failure> {
    let resource = resource::load(config_path(cli)?)?;
    let plugin: serde_json::Value = serde_json::from_str(resource.plugin_json()?)
        .map_err(|e| format!("the plugin configuration is not JSON: {e}"))?;
    Ok(plugin["active"]
        .as_str()
        .and_then(|name| Environment::from_bytes(name.as_bytes()))
        .unwrap_or(Environment::Blue))
}
