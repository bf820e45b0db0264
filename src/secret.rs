//! API keys: kept only as the ready-made `authorization` value, never printable.

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
}
