//! Fields of client bodies and relay answers, read with serde from their raw text: a field is
//! captured as the `&RawValue` slice of the input (nothing is built or copied) and judged from
//! there, so a value of an unexpected type is a verdict of ours, not a parse error.

use std::borrow::Cow;

use serde_json::value::RawValue;

/// True when the document's first byte after JSON whitespace opens an object. Checked first
/// because serde's derived structs would also read an array, field by position.
pub fn is_object(doc: &[u8]) -> bool {
    doc.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|&b| b == b'{')
}

/// What a field holds when only a string will do.
#[derive(Debug, PartialEq, Eq)]
pub enum Text<'a> {
    /// Borrowed from the input unless it has escapes.
    Str(Cow<'a, str>),
    NotAString,
}

/// The string in `raw`; an error for a string serde cannot decode (a lone surrogate escape,
/// which the raw capture lets through).
pub fn text(raw: &RawValue) -> Result<Text<'_>, serde_json::Error> {
    let json = raw.get();
    if !json.starts_with('"') {
        return Ok(Text::NotAString);
    }
    // `from_slice` everywhere: one instance of serde_json's reader in the module.
    if let Ok(plain) = serde_json::from_slice::<&str>(json.as_bytes()) {
        return Ok(Text::Str(Cow::Borrowed(plain)));
    }
    serde_json::from_slice::<String>(json.as_bytes()).map(|owned| Text::Str(Cow::Owned(owned)))
}

/// serde_json's message without the position it appends (the messages quote no input).
pub fn reason(err: &serde_json::Error) -> String {
    let message = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    match message.strip_suffix(&position) {
        Some(reason) => reason.to_string(),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> Box<RawValue> {
        RawValue::from_string(json.to_string()).unwrap()
    }

    #[test]
    fn objects_only() {
        for doc in [&b"{}"[..], b" \r\n\t{\"a\":1}", b"{"] {
            assert!(is_object(doc), "{doc:?}");
        }
        for doc in [&b""[..], b"  ", b"[{}]", b"\x0c{}", b"\"{\"", b"null"] {
            assert!(!is_object(doc), "{doc:?}");
        }
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let plain = raw(r#""gpt-4.1""#);
        assert!(matches!(
            text(&plain),
            Ok(Text::Str(Cow::Borrowed("gpt-4.1")))
        ));
        let escaped = raw(r#""gpt\u002d4""#);
        match text(&escaped) {
            Ok(Text::Str(Cow::Owned(name))) => assert_eq!(name, "gpt-4"),
            other => panic!("{other:?}"),
        }
        for other in ["42", "true", "[\"a\"]", "{\"a\":\"b\"}", "null"] {
            assert_eq!(text(&raw(other)).unwrap(), Text::NotAString, "{other}");
        }
        assert!(text(&raw(r#""\ud800""#)).is_err());
    }

    #[test]
    fn reasons_drop_the_position() {
        let err = serde_json::from_str::<serde_json::Value>("{\n\"a\" x").unwrap_err();
        assert_eq!(reason(&err), "expected `:`");
        let err = serde_json::from_str::<serde_json::Value>("[1] x").unwrap_err();
        assert_eq!(reason(&err), "trailing characters");
    }
}
