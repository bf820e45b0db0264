use super::*;

fn parsed(text: &str) -> Result<Value<'_>, Error> {
    parse(text.as_bytes())
}

fn refused(text: &str) -> &'static str {
    match parsed(text) {
        Ok(value) => panic!("accepted {text:?} as {value:?}"),
        Err(err) => err.what(),
    }
}

fn string(text: &str) -> String {
    match parsed(text) {
        Ok(Value::String(s)) => s.value().into_owned(),
        other => panic!("{text:?} gave {other:?}"),
    }
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn scalars() {
    assert_eq!(parsed(" null "), Ok(Value::Null));
    assert_eq!(parsed("true"), Ok(Value::Bool(true)));
    assert_eq!(parsed("\tfalse\r\n"), Ok(Value::Bool(false)));
    assert_eq!(parsed("-12.5e+3"), Ok(Value::Number("-12.5e+3")));
    assert_eq!(string(r#""plain""#), "plain");
}

#[test]
fn documents_are_checked_whole() {
    for text in [
        r#"{"a": [1, 2.5, {"b": null}], "c": {"d": [[], {}]}, "e": "x"}"#,
        "[]",
        "{}",
        " [ 1 , \"two\" , [ true ] ] ",
    ] {
        assert!(parsed(text).is_ok(), "{text}");
    }
    for (text, what) in [
        ("", "unexpected end of input"),
        ("   ", "unexpected end of input"),
        ("{", "unexpected end of input"),
        ("[1,]", "expected a value"),
        ("[1 2]", "expected `,` or `]`"),
        (r#"{"a" 1}"#, "expected `:`"),
        (r#"{"a": 1,}"#, "expected a string key"),
        (r#"{"a": 1 "b": 2}"#, "expected `,` or `}`"),
        ("{a: 1}", "expected a string key"),
        ("[1] [2]", "trailing characters after the JSON value"),
        ("{} x", "trailing characters after the JSON value"),
        ("nul", "expected a value"),
        ("nulls", "trailing characters after the JSON value"),
        ("True", "expected a value"),
        ("'a'", "expected a value"),
        ("[1}", "expected `,` or `]`"),
        (r#"{"a": [}"#, "expected a value"),
    ] {
        assert_eq!(refused(text), what, "{text:?}");
    }
}

#[test]
fn numbers() {
    for ok in [
        "0", "-0", "1", "-1", "0.5", "10.25", "1e9", "1E-9", "2.5e+10", "-0.0e0",
    ] {
        assert_eq!(parsed(ok), Ok(Value::Number(ok)), "{ok}");
    }
    for bad in [
        "01", "-", "+1", "1.", ".5", "1e", "1e+", "0x10", "1.e3", "--1", "Infinity", "NaN",
    ] {
        assert!(parsed(bad).is_err(), "{bad}");
    }
}

#[test]
fn escapes() {
    assert_eq!(string(r#""a\"b\\c\/d""#), "a\"b\\c/d");
    assert_eq!(string(r#""\b\f\n\r\t""#), "\u{8}\u{c}\n\r\t");
    assert_eq!(string(r#""\u0041\u00e9\u20AC""#), "Aé€");
    assert_eq!(string(r#""x\ud83d\ude00y""#), "x😀y");
    assert_eq!(string("\"ünï\""), "ünï");
    // Lone surrogates are valid JSON (RFC 8259, 8.2) but no character.
    assert_eq!(string(r#""\ud83d""#), "\u{fffd}");
    assert_eq!(string(r#""\ud83dx""#), "\u{fffd}x");
    assert_eq!(string(r#""\ud83d\u0041""#), "\u{fffd}A");
    assert_eq!(string(r#""\ude00\ud83d\ude00""#), "\u{fffd}😀");
    for bad in [
        r#""\x""#,
        r#""\u12""#,
        r#""\u12g4""#,
        r#""\u+123""#,
        r#""\ud83d\u12""#,
        "\"tab\there\"",
        "\"new\nline\"",
        "\"open",
    ] {
        assert!(parsed(bad).is_err(), "{bad}");
    }
    assert_eq!(
        parse(b"\"\xff\"").map_err(|e| e.what()),
        Err("invalid UTF-8 in a string")
    );
    assert!(parse(b"\"\xc3\"").is_err());
    assert!(
        parse("\u{feff}{}".as_bytes()).is_err(),
        "no byte order mark"
    );
}

#[test]
fn strings_borrow_unless_escaped() {
    let Ok(Value::String(plain)) = parsed(r#""abc""#) else {
        panic!()
    };
    assert!(matches!(plain.value(), std::borrow::Cow::Borrowed("abc")));
    let Ok(Value::String(escaped)) = parsed(r#""a\u0062c""#) else {
        panic!()
    };
    assert_eq!(escaped.raw(), br"a\u0062c");
    assert!(escaped.is("abc") && plain.is("abc") && !plain.is("ab"));
    assert_eq!(escaped, plain);
}

#[test]
fn depth_is_bounded() {
    assert!(parsed(&nested(MAX_DEPTH as usize)).is_ok());
    assert_eq!(
        refused(&nested(MAX_DEPTH as usize + 1)),
        "nesting deeper than 128 levels"
    );
    let objects = format!("{}1{}", r#"{"a":"#.repeat(200), "}".repeat(200));
    assert_eq!(refused(&objects), "nesting deeper than 128 levels");
    // Far deeper than any stack would take if skipping recursed.
    assert!(parsed(&"[".repeat(1_000_000)).is_err());
}

#[test]
fn members_in_document_order_with_duplicates() {
    let doc = br#"{"a": 1, "b": {"c": [true, null]}, "a": "x"}"#;
    let all: Vec<_> = members(doc).collect::<Result<_, _>>().unwrap();
    let keys: Vec<_> = all.iter().map(|(k, _)| k.raw()).collect();
    assert_eq!(keys, [b"a", b"b", b"a"]);
    let Value::Object(b) = all[1].1 else { panic!() };
    assert_eq!(b.text(), br#"{"c": [true, null]}"#);
    let (key, c) = b.members().next().unwrap().unwrap();
    assert!(key.is("c"));
    let Value::Array(c) = c else { panic!() };
    let items: Vec<_> = c.elements().collect::<Result<_, _>>().unwrap();
    assert_eq!(items, [Value::Bool(true), Value::Null]);
    assert_eq!(members(b"{}").count(), 0);
    assert_eq!(members(b" { } ").count(), 0);
}

#[test]
fn members_end_with_the_error() {
    for (doc, what) in [
        (&b"[1, 2]"[..], "expected a JSON object"),
        (b"", "unexpected end of input"),
        (br#"{"a": 1} x"#, "trailing characters after the JSON value"),
        (br#"{"a": 1, "b": [}"#, "expected a value"),
        (br#"{"a": 1"#, "unexpected end of input"),
    ] {
        let mut last = None;
        let mut count = 0;
        for member in members(doc) {
            count += 1;
            last = Some(member);
        }
        assert!(count <= 2, "{doc:?}");
        assert_eq!(last.unwrap().map(|_| ()).map_err(|e| e.what()), Err(what));
    }
}

#[test]
fn errors_say_where() {
    let err = parsed("{\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err();
    assert_eq!(err.to_string(), "expected `:` at line 3 column 7");
    assert_eq!(err.offset(), 18);
}

#[test]
fn scaled_numbers() {
    let s = |text, scale| scaled(text, scale).unwrap();
    let exact = |whole| Scaled {
        negative: false,
        whole: Some(whole),
        frac: 0,
        exact: true,
    };
    assert_eq!(s("33.33", 2), exact(3333));
    assert_eq!(s("100", 2), exact(10_000));
    assert_eq!(s("0.28", 6), exact(280_000));
    assert_eq!(s("2.5e-3", 6), exact(2_500));
    assert_eq!(s("25E2", 0), exact(2_500));
    assert_eq!(s("-0", 0), exact(0));
    assert_eq!(s("0.000e5", 3), exact(0));
    assert_eq!(s("0.05", 18), exact(50_000_000_000_000_000));
    let third = s("10.005", 2);
    assert_eq!(
        (third.whole, third.frac, third.exact),
        (Some(1000), FRAC_ONE / 2, false)
    );
    let neg = s("-1.5", 0);
    assert!(neg.negative && neg.whole == Some(1) && neg.frac == FRAC_ONE / 2);
    let tiny = s("1e-30", 0);
    assert_eq!((tiny.whole, tiny.frac, tiny.exact), (Some(0), 0, false));
    assert_eq!(s("18446744073709551615", 0), exact(u64::MAX));
    assert_eq!(s("18446744073709551616", 0).whole, None);
    assert_eq!(s("1e400", 0).whole, None);
    assert_eq!(s("1e-400", 0).whole, Some(0));
    assert_eq!(s("1e999999999999999999999", 0).whole, None);
    assert_eq!(s("0.00000000000000000001e20", 0), exact(1));
    assert_eq!(scaled("abc", 0), None);
    assert_eq!(scaled("1e", 0), None);
}

#[test]
fn unsigned_numbers() {
    assert_eq!(unsigned("0"), Some(0));
    assert_eq!(unsigned("128000"), Some(128_000));
    assert_eq!(unsigned("18446744073709551615"), Some(u64::MAX));
    for no in ["18446744073709551616", "-1", "-0", "1.0", "1e3", ""] {
        assert_eq!(unsigned(no), None, "{no}");
    }
}

#[test]
fn long_strings_are_swept_word_by_word() {
    // Every position of the special byte in and after an 8-byte word.
    for len in 0..40 {
        let plain = "é".repeat(len / 2) + &"x".repeat(len % 2);
        for end in ["\"", "\\n\"", "\\u00e9\""] {
            let text = format!("\"{plain}{end}");
            let want = format!("{plain}{}", &end[..end.len() - 1]).replace("\\n", "\n");
            assert_eq!(string(&text), want.replace("\\u00e9", "é"), "{text}");
        }
        let control = format!("\"{plain}\u{1}\"");
        assert!(parsed(&control).is_err(), "{control:?}");
    }
    let mut bad = b"\"abcdefgh".to_vec();
    bad.extend_from_slice(&[0xc3, 0x28]);
    bad.extend_from_slice(b"ijklmnop\"");
    assert_eq!(
        parse(&bad).map_err(|e| e.what()),
        Err("invalid UTF-8 in a string")
    );
}
