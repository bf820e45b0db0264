//! The README's demo: start, send traffic, show the split, the status and the keys.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bluegreen_relay::config::defaults;
use bluegreen_relay::routing::{weight, BUCKETS};
use serde_json::json;
use stack::{expected_env, RunningStack, Stack};

const SESSIONS: usize = 1000;
const THREADS: usize = 4;
/// Green's share in basis points: 10 %.
const GREEN_BP: u32 = 1000;
const DEMO_BLUE_KEY: &str = "sk-demo-blue-5c1e9a7f03b2d846";
const DEMO_GREEN_KEY: &str = "sk-demo-green-e20b7c4d9f61a358";

pub fn run(hold: bool) {
    let config = json!({
        "environments": {
            "blue": {"cluster": "relay_blue", "weight": weight::to_json(BUCKETS - GREEN_BP),
                     "api_key_env": "HOLYSHEEP_API_KEY_BLUE"},
            "green": {"cluster": "relay_green", "weight": weight::to_json(GREEN_BP),
                      "api_key": DEMO_GREEN_KEY},
        },
        "active": "blue",
        "affinity_headers": ["x-session-id", "x-request-id"],
    });
    let stack = Stack::try_start(
        &config.to_string(),
        &[("HOLYSHEEP_API_KEY_BLUE", DEMO_BLUE_KEY)],
    )
    .unwrap_or_else(|exit| panic!("Envoy did not start: {exit:?}"));

    println!(
        "bluegreen-relay demo: Envoy (2 workers) + filter, blue {} / green {}",
        weight::display(BUCKETS - GREEN_BP),
        weight::display(GREEN_BP)
    );
    println!("  send requests to  {}", stack.envoy.url());
    println!("  Envoy admin       {}", stack.envoy.admin.base());
    println!(
        "  blue relay        http://{}  key from $HOLYSHEEP_API_KEY_BLUE",
        stack.blue.listen
    );
    println!(
        "  green relay       http://{}  key inline in the filter config",
        stack.green.listen
    );

    split(&stack);
    sticky(&stack);
    status(&stack);
    keys(&stack);

    if hold {
        println!(
            "\nRunning; try: curl -s {}{}",
            stack.envoy.url(),
            defaults::status_path()
        );
        println!("Ctrl-C to stop.");
        wait_for_ctrl_c();
    }
    println!("\nStopping.");
}

/// 1,000 sessions, each one request: where they went vs. where the rule says.
fn split(stack: &Stack) {
    println!("\nSending {SESSIONS} chat requests, each with its own x-session-id ...");
    let started = Instant::now();
    let mismatches: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    let client = stack.envoy.client();
                    (t..SESSIONS)
                        .step_by(THREADS)
                        .filter(|i| {
                            let session = format!("demo-user-{i}");
                            let resp = client.post(
                                "/v1/chat/completions",
                                &[("x-session-id", session.as_str())],
                                stack::CHAT_BODY,
                            );
                            resp.relay() != expected_env(&session, GREEN_BP)
                        })
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    let expected_green = (0..SESSIONS)
        .filter(|i| expected_env(&format!("demo-user-{i}"), GREEN_BP) == "green")
        .count();
    let (blue, green) = (stack.blue.total(), stack.green.total());
    println!("  done in {} ms", started.elapsed().as_millis());
    println!("           relays saw   bucket rule expects");
    println!("  blue     {blue:>9}   {:>19}", SESSIONS - expected_green);
    println!("  green    {green:>9}   {expected_green:>19}");
    println!("  requests not where the rule says: {mismatches}");
}

/// One session, ten requests: always the same environment (a green one, to be visible).
fn sticky(stack: &Stack) {
    let session = (0..)
        .map(|i| format!("demo-user-{i}"))
        .find(|s| expected_env(s, GREEN_BP) == "green")
        .unwrap();
    let envs: Vec<String> = (0..10)
        .map(|_| {
            let resp = stack.chat(&[("x-session-id", &session)]);
            resp.header("x-relay-environment")
                .unwrap_or("-")
                .to_string()
        })
        .collect();
    println!("\nSession {session}, 10 requests: {}", envs.join(" "));
}

fn status(stack: &Stack) {
    let total = (SESSIONS + 10) as u64;
    let status = stack.status_when("all requests counted", |s| {
        s["total_requests"].as_u64() == Some(total)
    });
    println!(
        "\nGET {} (answered by the filter; counts from both workers):",
        defaults::status_path()
    );
    println!("{}", serde_json::to_string_pretty(&status).unwrap());
}

/// The Authorization each relay received, masked, and whose key it is.
fn keys(stack: &Stack) {
    println!("\nKey each relay received (masked):");
    for relay in [&stack.blue, &stack.green] {
        let mut seen: Vec<String> = relay
            .requests()
            .iter()
            .filter_map(|r| r.header("authorization").map(describe_auth))
            .collect();
        seen.sort();
        seen.dedup();
        println!("  {:<6} {}", relay.name, seen.join("; "));
    }
}

fn describe_auth(auth: &str) -> String {
    let key = auth.strip_prefix("Bearer ").unwrap_or(auth);
    let whose = match key {
        DEMO_BLUE_KEY => "blue's key, from $HOLYSHEEP_API_KEY_BLUE",
        DEMO_GREEN_KEY => "green's key, inline in the config",
        _ => "an unexpected key",
    };
    format!("Bearer {} = {whose}", mask_key(key))
}

/// `sk-d…(24 chars)`: enough to tell keys apart, too little to use one.
fn mask_key(key: &str) -> String {
    let head: String = key.chars().take(4).collect();
    format!("{head}…({} chars)", key.chars().count())
}

fn wait_for_ctrl_c() {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)).expect("install Ctrl-C handler");
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
}
