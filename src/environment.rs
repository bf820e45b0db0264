//! The two environments of a blue/green release.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Blue,
    Green,
}

impl Environment {
    pub const ALL: [Environment; 2] = [Environment::Blue, Environment::Green];

    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Blue => "blue",
            Environment::Green => "green",
        }
    }

    /// Position in per-environment arrays.
    pub const fn index(self) -> usize {
        match self {
            Environment::Blue => 0,
            Environment::Green => 1,
        }
    }

    pub const fn other(self) -> Environment {
        match self {
            Environment::Blue => Environment::Green,
            Environment::Green => Environment::Blue,
        }
    }

    /// Parses the exact lowercase names used in headers and configuration.
    pub fn from_bytes(value: &[u8]) -> Option<Environment> {
        match value {
            b"blue" => Some(Environment::Blue),
            b"green" => Some(Environment::Green),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for env in Environment::ALL {
            assert_eq!(Environment::from_bytes(env.as_str().as_bytes()), Some(env));
            assert_eq!(env.other().other(), env);
            assert_ne!(env.other(), env);
        }
        assert_eq!(Environment::from_bytes(b"Blue"), None);
        assert_eq!(Environment::from_bytes(b""), None);
    }
}
