//! The configuration's JSON read with serde into a raw struct; a syntax or type error stops
//! the reading and is reported with the field's path (`serde_path_to_error`), what was
//! expected and the value serde saw, in the words the rules use: `must be <expected> (got
//! <value>)`, `is required`, `is set twice (duplicate key)`, `unknown field (expected ...)`.

use serde::Deserialize;

use super::ConfigError;

/// Reads the whole of `json` (nothing but whitespace after the value) as a `T`.
pub fn read<'a, T: Deserialize<'a>>(json: &'a [u8]) -> Result<T, ConfigError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        refusal(&path, err.inner())
    })?;
    deserializer
        .end()
        .map_err(|err| refusal(".", &err))
        .map(|()| value)
}

/// True when `json` reads as a `T` (used to tell the plugin's forms apart).
pub fn reads_as<'a, T: Deserialize<'a>>(json: &'a [u8]) -> bool {
    serde_json::from_slice::<T>(json).is_ok()
}

fn refusal(path: &str, err: &serde_json::Error) -> ConfigError {
    if err.is_syntax() || err.is_eof() {
        return ConfigError::new("configuration", format!("not valid JSON: {err}"));
    }
    let full = err.to_string();
    // The field path says where; serde_json's position would only repeat it.
    let position = format!(" at line {} column {}", err.line(), err.column());
    let message = full.strip_suffix(&position).unwrap_or(&full);
    let parent = if path == "." { "" } else { path };
    let join = |name: &str| {
        if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        }
    };
    if let Some(name) = backticked_after(message, "missing field ") {
        return ConfigError::new(join(name), "is required");
    }
    if let Some(name) = backticked_after(message, "duplicate field ") {
        return ConfigError::new(join(name), "is set twice (duplicate key)");
    }
    if let Some(name) = backticked_after(message, "unknown field ") {
        let expected = message
            .split_once(", expected ")
            .map(|(_, names)| format!(" (expected {names})"))
            .or_else(|| {
                message
                    .split_once(", there are no fields")
                    .map(|_| String::new())
            })
            .unwrap_or_default();
        // The path of an error in a key already ends with that key.
        let field = if parent == name || parent.ends_with(&format!(".{name}")) {
            parent.to_string()
        } else {
            join(name)
        };
        return ConfigError::new(field, format!("unknown field{expected}"));
    }
    let field = if parent.is_empty() {
        "configuration"
    } else {
        parent
    };
    ConfigError::new(field, wrong_type(message).unwrap_or_else(|| message.into()))
}

/// serde's `invalid type: <what>, expected <expected>` as `must be <expected> (got <value>)`.
fn wrong_type(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?;
    let (got, expected) = rest.rsplit_once(", expected ")?;
    let expected = match expected {
        "u64" | "u32" | "usize" => "a non-negative integer",
        "a boolean" => "true or false",
        "a sequence" => "an array",
        "a map" => "a JSON object",
        other => other,
    };
    Some(format!("must be {expected} (got {})", value(got)))
}

/// serde's description of a value (`integer `7``, `string "x"`, `map`) as the JSON it was.
fn value(got: &str) -> String {
    for prefix in ["integer `", "floating point `", "boolean `"] {
        if let Some(inner) = got.strip_prefix(prefix).and_then(|s| s.strip_suffix('`')) {
            return inner.to_string();
        }
    }
    if let Some(quoted) = got.strip_prefix("string ") {
        return quoted.to_string();
    }
    match got {
        "unit value" => "null",
        "sequence" => "an array",
        "map" => "an object",
        other => other,
    }
    .to_string()
}

fn backticked_after<'a>(message: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = message.strip_prefix(prefix)?.strip_prefix('`')?;
    rest.split_once('`').map(|(name, _)| name)
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
