//! The routing decision from arbitrary header bytes: `choose_environment` + `routing::bucket`.
//! Input: two bytes of green weight (basis points), then header values separated by 0xFF for
//! the override header, the override token header and two affinity headers. Checks the bucket rule's promises: buckets are
//! in range, a key always lands on the same side, and raising green only moves keys to green.
#![no_main]

use std::cell::Cell;
use std::sync::OnceLock;

use bluegreen_relay::config::Config;
use bluegreen_relay::routing::{choose_environment, is_status_path, Reason};
use bluegreen_relay::environment::Environment;
use bluegreen_relay::routing::Headers;
use bluegreen_relay::routing::{bucket, Split, BUCKETS};
use libfuzzer_sys::fuzz_target;

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let json = br#"{"environments": {
            "blue": {"cluster": "relay_blue", "weight": 50, "api_key": "kb"},
            "green": {"cluster": "relay_green", "weight": 50, "api_key": "kg"}},
            "affinity_headers": ["x-session-id", "x-request-id"],
            "override_header": "x-relay-env", "override_token_env": "OVERRIDE_TOKEN"}"#;
        let env = |name: &str| (name == "OVERRIDE_TOKEN").then(|| "tok-fuzz".to_string());
        match Config::parse(json, &env) {
            Ok(config) => config,
            Err(err) => panic!("the fuzz target's own config is refused: {err}"),
        }
    })
}

/// The fuzzed headers, counting lookups.
struct Listed<'a> {
    headers: &'a [(&'a str, Option<&'a [u8]>)],
    reads: Cell<usize>,
}

impl Headers for Listed<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.reads.set(self.reads.get() + 1);
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| *v)
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let green = u32::from(u16::from_le_bytes([data[0], data[1]])) % (BUCKETS + 1);
    let split = Split::from_green_buckets(green);
    let mut values = data[2..].split(|&b| b == 0xff);
    let names = [
        "x-relay-env",
        "x-relay-override-token",
        "x-session-id",
        "x-request-id",
    ];
    let headers: Vec<(&str, Option<&[u8]>)> =
        names.into_iter().map(|name| (name, values.next())).collect();
    let read = Listed {
        headers: &headers,
        reads: Cell::new(0),
    };
    let keyless = u32::from(data[0]) * 39 % BUCKETS;
    let (env, reason) = choose_environment(config(), split, &read, &mut || keyless);
    assert!(read.reads.get() <= 4, "each header is read at most once");

    let value = |i: usize| headers[i].1.unwrap_or_default();
    match reason {
        Reason::Override => {
            assert_eq!(Environment::from_bytes(value(0)), Some(env));
            assert_eq!(value(1), b"tok-fuzz", "an override needs the token");
        }
        Reason::Affinity => {
            let key = if value(2).is_empty() {
                value(3)
            } else {
                value(2)
            };
            assert!(!key.is_empty());
            let b = bucket(key);
            assert!(b < BUCKETS);
            assert_eq!(env, split.pick(b));
            assert_eq!(env == Environment::Green, b < green);
            // Stickiness under a raise: a green key stays green with one more green bucket.
            if env == Environment::Green {
                assert_eq!(
                    Split::from_green_buckets(green + 1).pick(b),
                    Environment::Green
                );
            }
        }
        Reason::Keyless => assert_eq!(env, split.pick(keyless)),
    }
    let _ = is_status_path(config(), &data[2..]);
});
