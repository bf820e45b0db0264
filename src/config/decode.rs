//! Typed reads of configuration JSON, in document order as serde read it: an unknown, repeated
//! or mistyped field is refused with its path, the expected type and the value.

use super::ConfigError;
use crate::json::{self, unsigned, Value};

/// `parent.name`, or `name` at the top.
pub fn field(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_string()
    } else {
        format!("{parent}.{name}")
    }
}

/// A document that is not JSON at all.
#[cold]
pub fn syntax(err: json::Error) -> ConfigError {
    ConfigError::new("configuration", format!("not valid JSON: {err}"))
}

/// Calls `each(name, value, path)` for the members of the object at `path`, refusing a name
/// not in `names` and a name given twice. (`dyn`: one copy of the loop, not one per caller.)
pub fn object<'a>(
    path: &str,
    value: Value<'a>,
    names: &[&'static str],
    each: &mut dyn FnMut(&'static str, Value<'a>, &str) -> Result<(), ConfigError>,
) -> Result<(), ConfigError> {
    let mut seen = vec![false; names.len()];
    entries(path, value, &mut |key, value, at| {
        let Some(index) = names.iter().position(|name| *name == key) else {
            return Err(ConfigError::new(
                at,
                format!("unknown field{}", expected(names)),
            ));
        };
        match seen.get_mut(index) {
            Some(true) => return Err(repeated(at)),
            Some(seen) => *seen = true,
            None => {}
        }
        each(names.get(index).copied().unwrap_or_default(), value, at)
    })
}

/// Calls `each(key, value, path)` for the members of the object at `path` (a map: any keys).
pub fn entries<'a>(
    path: &str,
    value: Value<'a>,
    each: &mut dyn FnMut(&str, Value<'a>, &str) -> Result<(), ConfigError>,
) -> Result<(), ConfigError> {
    let Value::Object(raw) = value else {
        return Err(wrong_type(path, "a JSON object", value));
    };
    for member in raw.members() {
        let (key, value) = member.map_err(syntax)?;
        let key = key.value();
        each(&key, value, &field(path, &key))?;
    }
    Ok(())
}

/// A key that appears twice in one object: which one wins is not obvious, so neither does.
#[cold]
pub fn repeated(path: &str) -> ConfigError {
    ConfigError::new(path, "is set twice (duplicate key)")
}

/// A field without default that the object did not have.
pub fn required<T>(parent: &str, name: &str, value: Option<T>) -> Result<T, ConfigError> {
    value.ok_or_else(|| ConfigError::new(field(parent, name), "is required"))
}

/// `null` is `None`, like a missing field.
pub fn optional<'a, T>(
    value: Value<'a>,
    read: impl FnOnce(Value<'a>) -> Result<T, ConfigError>,
) -> Result<Option<T>, ConfigError> {
    match value {
        Value::Null => Ok(None),
        value => read(value).map(Some),
    }
}

pub fn string(path: &str, value: Value<'_>) -> Result<String, ConfigError> {
    match value {
        Value::String(s) => Ok(s.value().into_owned()),
        value => Err(wrong_type(path, "a string", value)),
    }
}

/// An array of strings; an element's path is `path[i]`.
pub fn strings(path: &str, value: Value<'_>) -> Result<Vec<String>, ConfigError> {
    let Value::Array(raw) = value else {
        return Err(wrong_type(path, "an array of strings", value));
    };
    raw.elements()
        .enumerate()
        .map(|(i, element)| string(&format!("{path}[{i}]"), element.map_err(syntax)?))
        .collect()
}

pub fn boolean(path: &str, value: Value<'_>) -> Result<bool, ConfigError> {
    match value {
        Value::Bool(b) => Ok(b),
        value => Err(wrong_type(path, "true or false", value)),
    }
}

/// A number as written; its field's rule reads it (see `json::scaled`).
pub fn number<'a>(path: &str, value: Value<'a>) -> Result<&'a str, ConfigError> {
    match value {
        Value::Number(text) => Ok(text),
        value => Err(wrong_type(path, "a number", value)),
    }
}

/// A whole number of at least 0; the field's rule checks its range.
pub fn integer(path: &str, value: Value<'_>) -> Result<u64, ConfigError> {
    match value {
        Value::Number(text) => unsigned(text),
        _ => None,
    }
    .ok_or_else(|| wrong_type(path, "a non-negative integer", value))
}

#[cold]
fn wrong_type(path: &str, expected: &str, value: Value<'_>) -> ConfigError {
    let got = match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(text) => text.to_string(),
        Value::String(s) => format!("{:?}", s.value()),
        Value::Array(_) => "an array".to_string(),
        Value::Object(_) => "an object".to_string(),
    };
    let path = if path.is_empty() {
        "configuration"
    } else {
        path
    };
    ConfigError::new(path, format!("must be {expected} (got {got})"))
}

/// serde's wording: "expected `a`", "expected `a` or `b`", "expected one of `a`, `b`, `c`".
#[cold]
fn expected(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => format!(" (expected {one})"),
        [a, b] => format!(" (expected {a} or {b})"),
        all => format!(" (expected one of {})", all.join(", ")),
    }
}
