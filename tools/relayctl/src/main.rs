//! relayctl: operates a bluegreen-relay deployment whose filter configuration Envoy reads by
//! ECDS from a watched file. Each change is validated with the filter's own `Config::parse`,
//! published atomically, and confirmed on the running filter's status endpoint.

mod catalog_check;
mod check;
mod istio;
mod live;
mod percent;
mod plan;
mod resource;
mod shadow_check;
mod shadow_cmd;
mod state;
mod table;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bluegreen_relay::environment::Environment;
use bluegreen_relay::status::rfc3339_utc;
use clap::{Parser, Subcommand};
use serde_json::{json, Value};

use crate::live::{traffic_blocker, Live};
use crate::plan::Step;
use crate::resource::{ConfigSource, Resource};
use crate::state::{Entry, State};

#[derive(Parser)]
#[command(
    name = "relayctl",
    version,
    about = "Blue/green and canary releases of an AI relay behind Envoy + bluegreen-relay",
    long_about = "Blue/green and canary releases of an AI relay behind Envoy + bluegreen-relay.\n\n\
        The configuration file is the ECDS resource Envoy watches (envoy/templates/ecds-resource.json).\n\
        Every change is checked with the filter's own validation, written atomically (temp file +\n\
        rename) and confirmed on the status endpoint before relayctl returns.\n\n\
        Exit status: 0 done, 1 refused or failed, 2 usage error."
)]
struct Cli {
    /// The ECDS resource file Envoy watches (bluegreen-relay.json).
    #[arg(long, global = true, env = "RELAYCTL_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// The filter's status endpoint, e.g. http://127.0.0.1:10000/relay/status.
    #[arg(long, global = true, env = "RELAYCTL_STATUS_URL", value_name = "URL")]
    status_url: Option<String>,
    /// How long to wait for Envoy to serve a change (and for each status request).
    #[arg(long, global = true, value_name = "SECS", default_value = "10", value_parser = parse_secs)]
    timeout: Duration,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a configuration as the filter would; then exit 0 only if the candidate could get
    /// traffic now (healthy and not tripped in the running filter's status).
    Validate {
        /// An ECDS resource or a bare plugin JSON (default: --config).
        file: Option<PathBuf>,
        /// Check the configuration only, not the running filter.
        #[arg(long)]
        offline: bool,
        /// Accept that the candidate lacks MODEL although it carried live traffic (repeatable).
        #[arg(long = "allow-missing", value_name = "MODEL")]
        allow_missing: Vec<String>,
    },
    /// Give the candidate PCT % of the traffic (0.01 to 100, two decimals at most) and the
    /// active environment the rest.
    Canary {
        #[arg(value_name = "PCT", value_parser = percent::parse_canary)]
        pct: u32,
        /// Publish even if the candidate is unhealthy or tripped.
        #[arg(long)]
        force: bool,
    },
    /// Copy PCT % (0 to 100; 0 turns it off) of the active environment's completion requests
    /// to the candidate; the copies' answers are compared, never returned to clients.
    Shadow {
        #[arg(value_name = "PCT", value_parser = shadow_cmd::parse)]
        pct: u32,
    },
    /// The candidate takes 100 % and becomes the active environment.
    Promote {
        /// Publish even if the candidate is unhealthy or tripped.
        #[arg(long)]
        force: bool,
    },
    /// Everything back to the active environment (right after a promote: to the environment
    /// that was active before it). Never refused, no health check.
    Rollback,
    /// Show the running filter's status.
    Status {
        /// The status JSON as the filter gives it, plus relayctl's view under "relayctl".
        #[arg(long)]
        json: bool,
    },
    /// Print the configuration as a deployment manifest.
    Render {
        /// An Istio WasmPlugin.
        #[arg(long, required = true)]
        istio: bool,
        /// The module's OCI (or https) URL.
        #[arg(long, value_name = "URL", default_value = istio::DEFAULT_WASM_URL)]
        wasm_url: String,
    },
}

fn parse_secs(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 3600.0 => {
            Ok(Duration::from_secs_f64(secs))
        }
        _ => Err(format!(
            "must be a number of seconds above 0, at most 3600 (got {text:?})"
        )),
    }
}

/// Why relayctl stops: the message (said on stderr) and the exit status.
struct Failure {
    message: String,
    code: u8,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure { message, code: 1 }
    }
}

type Outcome = Result<(), Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Validate {
            file,
            offline,
            allow_missing,
        } => validate(&cli, file.as_deref(), *offline, allow_missing),
        Command::Canary { pct, force } => change(&cli, Step::Canary(*pct), *force),
        Command::Promote { force } => change(&cli, Step::Promote, *force),
        Command::Shadow { pct } => shadow(&cli, *pct),
        Command::Rollback => change(&cli, Step::Rollback, true),
        Command::Status { json } => status(&cli, *json),
        Command::Render { wasm_url, .. } => render(&cli, wasm_url),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if !failure.message.is_empty() {
                eprintln!("relayctl: {}", failure.message);
            }
            ExitCode::from(failure.code)
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn config_path(cli: &Cli) -> Result<&Path, Failure> {
    cli.config.as_deref().ok_or_else(|| {
        Failure::from(
            "no configuration file: pass --config FILE or set RELAYCTL_CONFIG".to_string(),
        )
    })
}

fn live(cli: &Cli) -> Result<Live, Failure> {
    let url = cli.status_url.as_deref().ok_or_else(|| {
        Failure::from(
            "no status endpoint: pass --status-url URL or set RELAYCTL_STATUS_URL \
             (e.g. http://127.0.0.1:10000/relay/status)"
                .to_string(),
        )
    })?;
    Ok(Live::new(url, cli.timeout))
}

fn validate(cli: &Cli, file: Option<&Path>, offline: bool, allow_missing: &[String]) -> Outcome {
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
    let catalog = catalog_check::run(live.url(), cli.timeout, candidate, allow_missing)?;
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

fn change(cli: &Cli, step: Step, force: bool) -> Outcome {
    let path = config_path(cli)?;
    // A rollback is published even without a status endpoint (it then cannot be confirmed).
    let live = match (step, live(cli)) {
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
        let status = live.as_ref().map(Live::fetch);
        let blocker = match status.unwrap_or_else(|| Err("no status endpoint".into())) {
            Ok(snapshot) => traffic_blocker(&snapshot.status, target).or_else(|| {
                let found = shadow_check::refusals(&snapshot.status, target);
                (!found.is_empty()).then(|| found.join("; "))
            }),
            Err(e) => Some(e),
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
                "{} {what}: {}; published version {version}; live on Envoy after {} ms",
                rfc3339_utc(now_ms()),
                plan.summary(),
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

fn shadow(cli: &Cli, pct: u32) -> Outcome {
    let path = config_path(cli)?;
    shadow_cmd::publish(path, live(cli).ok(), pct, now_ms(), cli.timeout).map_err(Failure::from)
}

fn status(cli: &Cli, as_json: bool) -> Outcome {
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

fn render(cli: &Cli, wasm_url: &str) -> Outcome {
    let path = config_path(cli)?;
    let source = ConfigSource::parse(&resource::read(path)?)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let plugin_json = source.plugin_json()?;
    // Render only what the filter would accept (keys may live elsewhere: placeholders).
    if let Err(err) = check::check(plugin_json, None, &|_| None) {
        eprintln!("{err}");
        return Err("not rendered".to_string().into());
    }
    let plugin: Value = serde_json::from_str(plugin_json).map_err(|e| e.to_string())?;
    let rendered = istio::render(&plugin, wasm_url, &path.display().to_string())?;
    for warning in &rendered.warnings {
        eprintln!("{warning}");
    }
    print!("{}", rendered.manifest);
    Ok(())
}
