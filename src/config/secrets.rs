//! Keys and tokens: inline, or read from a variable of the Envoy process. A message names the
//! field and the variable and describes the value (its length), never shows it.

use super::ConfigError;
use crate::secret::{ApiKey, Token};

/// The value of the variable `var`, refused when unset or empty.
pub fn from_env(
    field: &str,
    var: &str,
    lookup_env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    match lookup_env(var) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(ConfigError::new(
            field,
            format!(
                "environment variable is unset or empty in the Envoy process \
                 (got {var:?}; pass it with vm_config.environment_variables.host_env_keys)"
            ),
        )),
    }
}

/// An API key; `what` says where it came from ("the inline key", "the value of X").
pub fn api_key(field: &str, key: &str, what: &str) -> Result<ApiKey, ConfigError> {
    header_safe(field, key, what).map(|()| ApiKey::new(key))
}

/// A token read from the variable named at `field` (`status_token_env`, `override_token_env`).
pub fn token(
    field: &str,
    var: &str,
    lookup_env: &dyn Fn(&str) -> Option<String>,
) -> Result<Token, ConfigError> {
    let value = from_env(field, var, lookup_env)?;
    header_safe(field, &value, &format!("the value of {var}"))?;
    Ok(Token::new(&value))
}

/// A key or token is sent or compared as a header value: visible ASCII without spaces.
fn header_safe(field: &str, value: &str, what: &str) -> Result<(), ConfigError> {
    if value.is_empty() {
        return Err(ConfigError::new(field, format!("{what} is empty")));
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConfigError::new(
            field,
            format!(
                "{what} must be visible ASCII without spaces (got {} characters)",
                value.len()
            ),
        ));
    }
    Ok(())
}
