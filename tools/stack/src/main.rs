//! `stack demo` (the filter splitting traffic between two mock relays, end to end) and
//! `stack load` (the load generator of the tests, the demo and the benchmarks).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // see lib.rs: a harness fails loudly

mod demo;
mod demo_fleet;
mod demo_release;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "stack",
    about = "Envoy + the bluegreen-relay filter in front of two mock relays: the demo, and the \
             load generator of the tests and benchmarks"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The filter end to end: a 90/10 split, then a release under load.
    ///
    /// Part one starts blue and green mock relays behind Envoy + bluegreen-relay (90/10), sends
    /// 1,000 sessions through it and shows the split, a sticky session, the status and the keys
    /// each relay received. Part two runs a release under constant load through relayctl
    /// (canary 10, canary 50, green dies and comes back, promote, rollback) and counts the
    /// failed requests.
    Demo(DemoArgs),
    /// Sends chat completions to a loopback URL and prints a JSON summary on one line.
    ///
    /// Capped (default): each connection sends as soon as its last answer came, all together
    /// at most --max-rps; what the tests and the demo use. Open loop (--rate): request k is due
    /// at start + k/rate and its latency counts from then; what bench/run.sh, bench/soak.sh and
    /// bench/callgrind.sh use.
    Load(stack::load::LoadArgs),
}

#[derive(clap::Args)]
struct DemoArgs {
    /// Runs part one only and keeps it running (Envoy and both relays) until Ctrl-C, to try
    /// requests by hand.
    #[arg(long, conflicts_with = "split_only")]
    hold: bool,
    /// Runs part one only (the split), without the release under load.
    #[arg(long)]
    split_only: bool,
}

fn main() {
    match Cli::parse().command {
        Command::Demo(args) => {
            demo::run(args.hold);
            if !(args.hold || args.split_only) {
                demo_release::run();
                demo_fleet::run();
            }
        }
        Command::Load(args) => std::process::exit(stack::load::run(&args)),
    }
}
