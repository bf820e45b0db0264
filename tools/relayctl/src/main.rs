//! relayctl: operates a bluegreen-relay deployment whose filter configuration Envoy reads by
//! ECDS from a watched file. Each change is validated with the filter's own `Config::parse`,
//! published atomically, and confirmed on the running filter's status endpoint.

mod analysis;
mod catalog_check;
mod change_cmd;
mod check;
mod fleet;
mod istio;
mod live;
mod percent;
mod plan;
mod prometheus;
mod resource;
mod rollout;
mod rollout_args;
mod rollout_state;
mod sample;
mod shadow_check;
mod shadow_cmd;
mod state;
mod status_cmd;
mod table;
mod validate_cmd;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use serde_json::Value;

use crate::change_cmd::change;
use crate::live::Live;
use crate::plan::Step;
use crate::resource::ConfigSource;
use crate::status_cmd::status_command;
use crate::validate_cmd::validate;

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
    /// A replica's status endpoint, e.g. http://127.0.0.1:10000/relay/status. Repeat it (or
    /// separate with commas) for every replica of the fleet: a change is live when all serve it.
    #[arg(
        long,
        global = true,
        env = "RELAYCTL_STATUS_URL",
        value_name = "URL",
        value_delimiter = ','
    )]
    status_url: Vec<String>,
    /// The Prometheus HTTP API that scrapes the replicas, e.g. http://prometheus:9090: the
    /// fleet is every replica of --prometheus-selector, and rollouts analyse with PromQL.
    #[arg(long, global = true, env = "RELAYCTL_PROMETHEUS", value_name = "URL")]
    prometheus: Option<String>,
    /// The replicas' series in Prometheus.
    #[arg(
        long,
        global = true,
        value_name = "SELECTOR",
        default_value = "{job=\"bluegreen\"}"
    )]
    prometheus_selector: String,
    /// The variable holding the status endpoint's token (default: RELAYCTL_STATUS_TOKEN).
    #[arg(long, global = true, value_name = "NAME")]
    status_token_env: Option<String>,
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
    /// Show the running filter's status, the fleet's versions and the rollout's progress.
    Status {
        /// The status JSON as the filter gives it, plus relayctl's view under "relayctl".
        #[arg(long)]
        json: bool,
        /// Refresh every 2 s until interrupted.
        #[arg(long)]
        watch: bool,
    },
    /// Release the candidate step by step across the fleet, analysing each step against the
    /// active environment; abort (roll back) on a failed check, promote after the last step.
    Rollout(RolloutArgs),
    /// Stop the rollout and roll the whole fleet back to the active environment.
    Abort,
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

#[derive(clap::Args)]
struct RolloutArgs {
    /// Continue the recorded rollout at the step the fleet is on (its plan is kept).
    #[arg(long)]
    resume: bool,
    /// Canary shares in percent; a last step of 100 is the promote.
    #[arg(long, value_name = "PCTS", default_value = "1,5,25,50,100", value_parser = rollout_args::parse_steps)]
    steps: rollout_args::Steps,
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = rollout_args::parse_duration)]
    step_duration: Duration,
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = rollout_args::parse_duration)]
    analysis_interval: Duration,
    /// Fewer candidate requests in the window make a check inconclusive.
    #[arg(long, value_name = "N", default_value = "200")]
    min_requests: u64,
    #[arg(long, value_name = "RATE", default_value = "0.01", value_parser = rollout_args::parse_positive)]
    max_error_rate: f64,
    #[arg(long, value_name = "RATIO", default_value = "2", value_parser = rollout_args::parse_positive)]
    max_error_ratio: f64,
    #[arg(long, value_name = "RATIO", default_value = "1.25", value_parser = rollout_args::parse_positive)]
    max_ttfb_ratio: f64,
    #[arg(long, value_name = "LOW..HIGH", default_value = "0.5..2", value_parser = rollout_args::parse_range)]
    tokens_ratio: (f64, f64),
    #[arg(long, value_name = "RATIO", default_value = "1.25", value_parser = rollout_args::parse_positive)]
    max_cost_ratio: f64,
}

impl RolloutArgs {
    fn plan(&self) -> rollout_state::Rollout {
        let ms = |d: Duration| d.as_millis() as u64;
        rollout_state::Rollout {
            steps: self.steps.0.clone(),
            step_duration_ms: ms(self.step_duration),
            analysis_interval_ms: ms(self.analysis_interval),
            min_requests: self.min_requests,
            max_error_rate: self.max_error_rate,
            max_error_ratio: self.max_error_ratio,
            max_ttfb_ratio: self.max_ttfb_ratio,
            tokens_ratio: self.tokens_ratio,
            max_cost_ratio: self.max_cost_ratio,
            step: 0,
            step_started_ms: now_ms(),
            phase: "running".to_string(),
            last_analysis: None,
        }
    }
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
        Command::Status { json, watch } => status_command(&cli, *json, *watch),
        Command::Rollout(args) if args.resume => rollout::resume(&cli),
        Command::Rollout(args) => rollout::start(&cli, args.plan()),
        Command::Abort => rollout::abort(&cli),
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

/// The status token, from --status-token-env NAME or RELAYCTL_STATUS_TOKEN; never printed.
fn status_token(cli: &Cli) -> Result<Option<String>, Failure> {
    match &cli.status_token_env {
        Some(name) => match std::env::var(name) {
            Ok(token) if !token.is_empty() => Ok(Some(token)),
            _ => Err(format!("--status-token-env {name}: the variable is unset or empty").into()),
        },
        None => Ok(std::env::var("RELAYCTL_STATUS_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())),
    }
}

/// The first replica: where one answer is enough.
fn live(cli: &Cli) -> Result<Live, Failure> {
    let url = cli.status_url.first().ok_or_else(|| {
        Failure::from(
            "no status endpoint: pass --status-url URL or set RELAYCTL_STATUS_URL \
             (e.g. http://127.0.0.1:10000/relay/status)"
                .to_string(),
        )
    })?;
    Ok(Live::with_token(
        url,
        cli.timeout,
        status_token(cli)?.as_deref(),
    ))
}

/// Every replica: the status URLs and/or Prometheus.
fn fleet(cli: &Cli) -> Result<fleet::Fleet, Failure> {
    let token = status_token(cli)?;
    let replicas = cli
        .status_url
        .iter()
        .map(|url| Live::with_token(url, cli.timeout, token.as_deref()))
        .collect();
    let prometheus = match &cli.prometheus {
        Some(url) => Some(prometheus::Prometheus::new(
            url,
            &cli.prometheus_selector,
            cli.timeout,
        )?),
        None => None,
    };
    if cli.status_url.is_empty() && prometheus.is_none() {
        return Err(
            "no fleet: pass --status-url URL (once per replica) and/or --prometheus URL"
                .to_string()
                .into(),
        );
    }
    Ok(fleet::Fleet {
        replicas,
        prometheus,
    })
}

fn shadow(cli: &Cli, pct: u32) -> Outcome {
    let path = config_path(cli)?;
    shadow_cmd::publish(path, live(cli).ok(), pct, now_ms(), cli.timeout).map_err(Failure::from)
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
