//! `stack demo [--hold]`: the filter splitting traffic between two mock relays, end to end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // see lib.rs: a harness fails loudly

mod demo;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["demo"] => demo::run(false),
        ["demo", "--hold"] => demo::run(true),
        ["load", rest @ ..] => std::process::exit(stack::load::main(rest)),
        _ => {
            eprintln!("usage: stack demo [--hold] | stack load --url URL [options]");
            eprintln!(
                "  Starts blue and green mock relays behind Envoy + bluegreen-relay (90/10),"
            );
            eprintln!(
                "  sends 1,000 sessions through it and shows the split; --hold keeps it running."
            );
            eprintln!("{}", stack::load::USAGE);
            std::process::exit(2);
        }
    }
}
