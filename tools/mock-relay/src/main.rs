//! mock-relay: a stand-in OpenAI-compatible AI relay for tests, demos and
//! benchmarks, with failure injection controlled from an admin listener.

mod admin;
mod certs;
mod cli;
mod config;
mod data_listener;
mod http;
mod models;
mod openai;
mod recorder;
mod relay;
mod server;
mod split;
mod sse;
mod sse_faults;
mod state;
mod stream;
mod tls;
mod usage;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::Parser;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::{watch, Mutex};

use crate::admin::Admin;
use crate::certs::CertsCli;
use crate::cli::Cli;
use crate::data_listener::DataListener;
use crate::state::AppState;

/// The one stdout line test harnesses read to learn the ports (field order matters).
#[derive(Serialize)]
struct PortsLine<'a> {
    name: &'a str,
    listen: SocketAddr,
    admin: SocketAddr,
    /// Present (true) only when the relay listener speaks TLS.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    tls: bool,
}

fn main() -> anyhow::Result<()> {
    // A subcommand beside the relay's flat flags: `--name` stays required for the relay.
    if std::env::args_os().nth(1).is_some_and(|arg| arg == "certs") {
        return certs::run(&CertsCli::parse_from(std::env::args_os().skip(1)));
    }
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(usize::from(cli.threads))
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.initial_config().map_err(|e| anyhow!(e))?;
    let record_limit = if cli.no_record { 0 } else { cli.record_limit };
    let refused = config.refuse;
    let tls = tls::for_config(&config, cli.verbose).map_err(|e| anyhow!(e))?;
    let app = Arc::new(AppState::new(&cli.name, config, record_limit, cli.verbose)?);

    let data = DataListener::start(cli.listen, Arc::clone(&app), tls, refused).await?;
    let admin_listener = TcpListener::bind(cli.admin)
        .await
        .with_context(|| format!("cannot bind admin listener {}", cli.admin))?;
    let ports = PortsLine {
        name: &cli.name,
        listen: data.addr(),
        admin: admin_listener.local_addr()?,
        tls: data.is_tls(),
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", serde_json::to_string(&ports)?)?;
    stdout.flush()?;
    drop(stdout);

    let admin = Arc::new(Admin {
        app,
        data: Mutex::new(data),
    });
    // The admin listener is never shut down: its shutdown sender lives as long as it does.
    let (_admin_shutdown, admin_shutdown_rx) = watch::channel(());
    let handler = move |req| admin::serve_request(Arc::clone(&admin), req);
    server::serve(admin_listener, None, handler, admin_shutdown_rx).await;
    Ok(())
}
