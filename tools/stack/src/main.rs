//! `stack demo [--hold]`: the filter splitting traffic between two mock relays, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // see lib.rs: a harness fails loudly

mod demo;
mod demo_release;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["demo"] => {
            demo::run(false);
            demo_release::run();
        }
        ["demo", "--hold"] => demo::run(true),
        ["demo", "--split-only"] => demo::run(false),
        ["load", rest @ ..] => std::process::exit(stack::load::main(rest)),
        _ => {
            eprintln!("usage: stack demo [--hold | --split-only] | stack load --url URL [options]");
            eprintln!(
                "  Starts blue and green mock relays behind Envoy + bluegreen-relay (90/10),"
            );
            eprintln!(
                "  sends 1,000 sessions through it and shows the split, then runs a release under load\n  (canary, green dies, promote, rollback) through relayctl; --hold keeps part one running."
            );
            eprintln!("{}", stack::load::USAGE);
            std::process::exit(2);
        }
    }
}
