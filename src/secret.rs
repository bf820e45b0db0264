//! Secrets from the configuration, never printable: API keys (kept as the ready-made
//! `authorization` value) and tokens a request must present (compared in constant time).

use std::fmt;

/// An environment's API key. `Debug` and `Display` print `***` so a key cannot reach a log,
/// an error message or the status endpoint by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// `Bearer <key>`, precomputed once per configuration.
    authorization: String,
    key_len: usize,
}

impl ApiKey {
    pub fn new(key: &str) -> ApiKey {
        ApiKey {
            authorization: format!("Bearer {key}"),
            key_len: key.len(),
        }
    }

    /// The value for the upstream `authorization` header.
    pub fn authorization(&self) -> &str {
        &self.authorization
    }

    pub fn len(&self) -> usize {
        self.key_len
    }

    pub fn is_empty(&self) -> bool {
        self.key_len == 0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A token a request must present (the status endpoint's, the override header's). `Debug`
/// and `Display` print `***`; `matches` compares without an early exit, so the time a refusal
/// takes does not tell how much of a guess was right.
///
/// `PartialEq` compares configurations (is this the same configuration?), never a request's
/// candidate: that is `matches`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    bytes: Box<[u8]>,
}

impl Token {
    pub fn new(token: &str) -> Token {
        Token {
            bytes: token.as_bytes().into(),
        }
    }

    /// True when `candidate` is exactly the token. Every byte of the token is compared
    /// whatever the candidate holds; a candidate of another length is refused the same way
    /// (its length is the caller's own, so it tells nothing).
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let mut difference = u8::from(candidate.len() != self.bytes.len());
        for (i, &byte) in self.bytes.iter().enumerate() {
            difference |= byte ^ candidate.get(i).copied().unwrap_or(0);
        }
        // Keeps the optimizer from turning the fold back into a comparison that stops early.
        std::hint::black_box(difference) == 0
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_key() {
        let key = ApiKey::new("sk-secret-123");
        assert_eq!(format!("{key:?}"), "ApiKey(***)");
        assert_eq!(format!("{key}"), "***");
        assert_eq!(key.authorization(), "Bearer sk-secret-123");
        assert_eq!(key.len(), 13);
    }

    #[test]
    fn a_token_is_never_printed() {
        let token = Token::new("tok-secret-456");
        assert_eq!(format!("{token:?}"), "Token(***)");
        assert_eq!(format!("{token}"), "***");
        assert_eq!(token.len(), 14);
        assert!(!token.is_empty());
    }

    #[test]
    fn a_token_matches_only_itself() {
        let token = Token::new("tok-secret-456");
        assert!(token.matches(b"tok-secret-456"));
        for candidate in [
            &b""[..],
            b"tok-secret-45",
            b"tok-secret-4567",
            b"tok-secret-457",
            b"Tok-secret-456",
            b"tok-secret-456\0",
            b"xxxxxxxxxxxxxx",
        ] {
            assert!(
                !token.matches(candidate),
                "{:?}",
                String::from_utf8_lossy(candidate)
            );
        }
        let one = Token::new("a");
        assert!(one.matches(b"a"));
        assert!(!one.matches(b"") && !one.matches(b"aa") && !one.matches(b"b"));
    }
}
