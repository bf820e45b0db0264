//! The JSON reader on arbitrary bytes: never a panic; an accepted document walks without an
//! error through `members`/`elements`, and each array or object re-reads alone as itself;
//! a number's exact readings agree.
#![no_main]

use bluegreen_relay::json::{self, scaled, unsigned, Value};
use libfuzzer_sys::fuzz_target;

fn walk(value: Value<'_>) {
    match value {
        Value::Object(raw) => {
            assert!(json::parse(raw.text()).is_ok(), "an object re-reads alone");
            for member in raw.members() {
                let (key, value) = member.expect("a checked object walks");
                let _ = key.value();
                walk(value);
            }
        }
        Value::Array(raw) => {
            assert!(json::parse(raw.text()).is_ok(), "an array re-reads alone");
            for element in raw.elements() {
                walk(element.expect("a checked array walks"));
            }
        }
        Value::String(s) => {
            let value = s.value();
            assert!(s.is(&value));
        }
        Value::Number(text) => {
            let exact = scaled(text, 0).expect("a checked number scales");
            if let Some(n) = unsigned(text) {
                assert_eq!((exact.whole, exact.exact, exact.negative), (Some(n), true, false));
            }
            for scale in [2, 6, 18] {
                let _ = scaled(text, scale);
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = json::parse(data) {
        walk(value);
    }
    // Streaming the top-level members ends with an error or not at all; never panics.
    let streamed: Result<Vec<_>, _> = json::members(data).collect();
    if let (Ok(_), Ok(Value::Array(_) | Value::Object(_))) = (&streamed, json::parse(data)) {
        assert!(matches!(json::parse(data), Ok(Value::Object(_))));
    }
});
