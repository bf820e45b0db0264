//! The plugin configuration reader (serde) and validator on arbitrary bytes: never a panic, a
//! key or token read from the environment never reaches an error message or a `Debug` print,
//! a refusal lists at least one problem in one line, and what is accepted keeps the rules.
#![no_main]

use bluegreen_relay::config::Plugin;
use bluegreen_relay::environment::Environment;
use bluegreen_relay::routing::BUCKETS;
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "sk-FUZZ-secret-5e1c0de";

fn lookup(name: &str) -> Option<String> {
    match name {
        "HOLYSHEEP_API_KEY_BLUE" | "KEY" | "TOKEN" => Some(SECRET.to_string()),
        "EMPTY" => Some(String::new()),
        "SPACES" => Some("  \t".to_string()),
        "NEWLINE" => Some("sk-a\nb".to_string()),
        "UNICODE" => Some("sk-ü\u{200b}é".to_string()),
        _ => None,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fuzz_target!(|data: &[u8]| {
    // A message may quote what the input says; only a key the input does not hold must never show.
    let secret_in_input = contains(data, SECRET.as_bytes());
    match Plugin::parse(data, &lookup) {
        Err(err) => {
            let message = err.to_string();
            let problems = err.problems();
            assert!(!problems.is_empty());
            assert!(message.starts_with("invalid configuration: "), "{message}");
            assert!(!message.contains('\n'), "one line: {message}");
            if problems.len() > 1 {
                let count = format!("invalid configuration: {} problems: ", problems.len());
                assert!(message.starts_with(&count), "{message}");
            }
            assert!(
                secret_in_input || !message.contains(SECRET),
                "key in error: {message}"
            );
        }
        Ok(Plugin::Relay(config)) => {
            assert!(secret_in_input || !format!("{config:?}").contains(SECRET));
            let split = config.configured_split();
            assert!(split.green_buckets() <= BUCKETS);
            let mut total = 0;
            for env in Environment::ALL {
                let e = config.environment(env);
                assert!(e.weight_bp <= BUCKETS);
                assert!(!e.cluster.is_empty() && !e.route_cluster.is_empty());
                assert!(e.api_key.authorization().starts_with("Bearer "));
                total += e.weight_bp;
            }
            assert_eq!(total, BUCKETS, "validated weights must sum to 100 %");
            assert!(!config.affinity_headers.is_empty());
            assert!(config.status_path.starts_with('/'));
            assert_eq!(
                config.override_header.is_some(),
                config.override_token.is_some(),
                "an override header needs its token"
            );
            for token in [&config.override_token, &config.status_token].into_iter().flatten() {
                assert!(!token.is_empty());
                assert_eq!(format!("{token:?}"), "Token(***)");
            }
            if let Some(hc) = &config.health_check {
                assert!(hc.timeout_ms < hc.interval_ms);
                assert!(hc.model_probe_interval_ms >= hc.interval_ms);
            }
            if let Some(shadow) = &config.shadow {
                assert!(shadow.percent_bp <= BUCKETS);
                assert!(shadow.max_per_second >= 1 && shadow.max_body_bytes >= 1);
            }
        }
        Ok(_) => {}
    }
});
