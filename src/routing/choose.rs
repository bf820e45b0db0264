//! Which environment one request goes to, from the headers it carries.
//!
//! The host passes a header reader so that headers are fetched lazily: the first affinity
//! header present and non-empty wins, and later ones are never read. The override header is
//! obeyed only together with the override token, so no client can send itself to an
//! environment that was never validated.

use crate::config::Config;
use crate::environment::Environment;
use crate::routing::Headers;
use crate::routing::Split;

/// The header that must carry the override token for the override header to count.
pub const OVERRIDE_TOKEN_HEADER: &str = "x-relay-override-token";

/// How the environment was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The override header with the right token: the answer says `x-relay-override: accepted`.
    Override,
    Affinity,
    Keyless,
}

pub fn choose_environment(
    config: &Config,
    split: Split,
    headers: &dyn Headers,
    keyless_bucket: &mut dyn FnMut() -> u32,
) -> (Environment, Reason) {
    if let (Some(name), Some(token)) = (&config.override_header, &config.override_token) {
        if let Some(env) = headers.get(name).and_then(Environment::from_bytes) {
            // Compared only when an override is asked for, in constant time.
            let authorised = headers
                .get(OVERRIDE_TOKEN_HEADER)
                .is_some_and(|given| token.matches(given));
            if authorised {
                return (env, Reason::Override);
            }
        }
    }
    for name in &config.affinity_headers {
        if let Some(value) = headers.get(name).filter(|v| !v.is_empty()) {
            return (split.pick_for_key(value), Reason::Affinity);
        }
    }
    (split.pick(keyless_bucket()), Reason::Keyless)
}

/// True when the request path (query string ignored) is the status endpoint's.
pub fn is_status_path(config: &Config, path: &[u8]) -> bool {
    let without_query = path
        .iter()
        .position(|&b| b == b'?')
        .map_or(path, |at| &path[..at]);
    without_query == config.status_path.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// Headers that remember which names were asked for.
    struct Recorded<'a> {
        map: HashMap<&'a str, &'a str>,
        read: RefCell<Vec<String>>,
    }

    impl Headers for Recorded<'_> {
        fn get(&self, name: &str) -> Option<&[u8]> {
            self.read.borrow_mut().push(name.to_string());
            self.map.get(name).map(|v| v.as_bytes())
        }
    }

    fn config(extra: &str) -> Config {
        let json = format!(
            r#"{{"environments": {{
                "blue": {{"cluster": "b", "weight": 50, "api_key": "kb"}},
                "green": {{"cluster": "g", "weight": 50, "api_key": "kg"}}}},
                "affinity_headers": ["x-session-id", "x-request-id"] {extra}}}"#
        );
        let env = |name: &str| (name == "OVERRIDE_TOKEN").then(|| "tok-override".to_string());
        Config::parse(json.as_bytes(), &env).unwrap()
    }

    fn choose(
        config: &Config,
        split: Split,
        headers: &[(&str, &str)],
    ) -> (Environment, Reason, Vec<String>) {
        let recorded = Recorded {
            map: headers.iter().copied().collect(),
            read: RefCell::new(Vec::new()),
        };
        let (env, reason) = choose_environment(config, split, &recorded, &mut || 0);
        (env, reason, recorded.read.into_inner())
    }

    #[test]
    fn first_present_non_empty_affinity_header_wins() {
        let config = config("");
        let split = Split::from_green_buckets(5000);
        let key = "abc";
        let expected = split.pick_for_key(key.as_bytes());
        let (env, reason, read) = choose(
            &config,
            split,
            &[("x-session-id", ""), ("x-request-id", key)],
        );
        assert_eq!((env, reason), (expected, Reason::Affinity));
        assert_eq!(read, vec!["x-session-id", "x-request-id"]);
        let (_, _, read) = choose(
            &config,
            split,
            &[("x-session-id", key), ("x-request-id", "zzz")],
        );
        assert_eq!(read, vec!["x-session-id"], "later headers are never read");
    }

    #[test]
    fn no_key_picks_by_weight() {
        let config = config("");
        let (env, reason, _) = choose(&config, Split::from_green_buckets(1), &[]);
        assert_eq!((env, reason), (Environment::Green, Reason::Keyless));
        let (env, _, _) = choose(&config, Split::ALL_BLUE, &[]);
        assert_eq!(env, Environment::Blue);
    }

    #[test]
    fn override_header_only_when_configured() {
        let with =
            config(r#", "override_header": "x-relay-env", "override_token_env": "OVERRIDE_TOKEN""#);
        let (env, reason, _) = choose(
            &with,
            Split::ALL_BLUE,
            &[
                ("x-relay-env", "green"),
                (OVERRIDE_TOKEN_HEADER, "tok-override"),
            ],
        );
        assert_eq!((env, reason), (Environment::Green, Reason::Override));
        // Without the token, or with a wrong one, the header is ignored.
        for token in [
            None,
            Some("tok-overridE"),
            Some(""),
            Some("tok-override-and-more"),
        ] {
            let mut headers = vec![("x-relay-env", "green")];
            headers.extend(token.map(|t| (OVERRIDE_TOKEN_HEADER, t)));
            let (env, reason, _) = choose(&with, Split::ALL_BLUE, &headers);
            assert_eq!(
                (env, reason),
                (Environment::Blue, Reason::Keyless),
                "{token:?}"
            );
        }
        let (env, reason, _) = choose(&with, Split::ALL_BLUE, &[("x-relay-env", "purple")]);
        assert_eq!((env, reason), (Environment::Blue, Reason::Keyless));
        let without = config("");
        let (env, _, read) = choose(&without, Split::ALL_BLUE, &[("x-relay-env", "green")]);
        assert_eq!(env, Environment::Blue);
        assert!(!read.contains(&"x-relay-env".to_string()));
    }

    #[test]
    fn status_path_ignores_query() {
        let config = config("");
        assert!(is_status_path(&config, b"/relay/status"));
        assert!(is_status_path(&config, b"/relay/status?x=1"));
        assert!(!is_status_path(&config, b"/relay/status/x"));
        assert!(!is_status_path(&config, b"/v1/models"));
    }
}
