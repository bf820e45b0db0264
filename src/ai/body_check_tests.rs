use serde_json::{json, Value};

use super::*;
use crate::config::Config;

fn config(enforce: bool) -> ModelsConfig {
    let value = json!({
        "environments": {
            "blue": {"cluster": "relay_blue", "weight": 50, "api_key": "sk-b"},
            "green": {"cluster": "relay_green", "weight": 50, "api_key": "sk-g"}
        },
        "models": {
            "gpt-4.1": {"provider": "openai", "max_tokens": 128000, "supports_streaming": true},
            "some-batch-model": {"provider": "x", "max_tokens": 4096, "supports_streaming": false,
                                 "environments": ["green"]}
        },
        "enforce_models": enforce
    });
    Config::parse(value.to_string().as_bytes(), &|_| None)
        .unwrap()
        .models
}

fn refused(body: &str) -> (u32, Value) {
    match check_body(&config(true), body.as_bytes()) {
        Ok(model) => panic!("accepted {body} as {model:?}"),
        Err(refusal) => {
            let body: Value = serde_json::from_str(&refusal.body()).unwrap();
            (refusal.status, body["error"].clone())
        }
    }
}

fn index_of(name: &str) -> Option<usize> {
    catalog_index(&config(true).catalog, name)
}

#[test]
fn covered_paths() {
    assert!(is_completion_path(b"/v1/chat/completions"));
    assert!(is_completion_path(b"/v1/completions?x=1"));
    assert!(!is_completion_path(b"/v1/models"));
    assert!(!is_completion_path(b"/v1/chat/completions/x"));
    assert!(!is_completion_path(b"/v1/chat"));
}

#[test]
fn valid_requests_pass_with_their_model() {
    let ok = [
        r#"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}]}"#,
        r#"{"model":"gpt-4.1","max_tokens":128000,"stream":true}"#,
        r#"{"model":"gpt-4.1","max_completion_tokens":10,"stream":false}"#,
        r#"{"model":"gpt-4.1","max_tokens":null,"stream":null}"#,
        r#"{"model":"some-batch-model","max_tokens":4096}"#,
        r#"{"messages":[{"content":"\"model\": \"nope\""}],"model":"gpt-\u0034.1"}"#,
    ];
    for body in ok {
        let want = serde_json::from_str::<Value>(body).unwrap()["model"]
            .as_str()
            .and_then(index_of);
        assert_eq!(
            check_body(&config(true), body.as_bytes()),
            Ok(want),
            "{body}"
        );
        assert!(want.is_some(), "{body}");
    }
}

#[test]
fn not_json_is_400() {
    for body in [
        "",
        "not json",
        "[1,2]",
        r#"{"model":"gpt-4.1""#,
        r#"{"model":"gpt-4.1"} x"#,
        r#"{"model":"gpt-4.1",}"#,
        // A derived serde struct would read an array by position.
        r#"["gpt-4.1", 1, 2, true]"#,
        "{\"model\":\"gpt\u{1}\"}",
    ] {
        let (status, error) = refused(body);
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["type"], "invalid_request_error");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("We could not parse the JSON body of your request"),
            "{error}"
        );
    }
}

#[test]
fn missing_or_bad_model_is_400() {
    for body in [r#"{"messages":[]}"#, r#"{"model":null}"#] {
        let (status, error) = refused(body);
        assert_eq!(status, 400);
        assert_eq!(error["message"], "you must provide a model parameter");
        assert_eq!(error["param"], "model");
    }
    let (status, error) = refused(r#"{"model":42}"#);
    assert_eq!(status, 400);
    assert_eq!(error["message"], "model must be a string");
}

#[test]
fn unknown_model_is_404() {
    let (status, error) = refused(r#"{"model":"gpt-5-imaginary"}"#);
    assert_eq!(status, 404);
    assert_eq!(error["code"], "model_not_found");
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(
        error["message"],
        "The model `gpt-5-imaginary` does not exist or you do not have access to it."
    );
}

#[test]
fn max_tokens_over_the_limit_is_400() {
    let (status, error) = refused(r#"{"model":"gpt-4.1","max_tokens":128001}"#);
    assert_eq!(status, 400);
    assert_eq!(error["param"], "max_tokens");
    assert_eq!(
        error["message"],
        "max_tokens is too large: 128001. The model `gpt-4.1` supports at most 128000 completion tokens, whereas you provided 128001."
    );
    let (status, error) = refused(r#"{"model":"some-batch-model","max_completion_tokens":5000}"#);
    assert_eq!(status, 400);
    assert_eq!(error["param"], "max_tokens");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("max_completion_tokens is too large: 5000."));
    let (status, _) = refused(r#"{"model":"gpt-4.1","max_tokens":1e9}"#);
    assert_eq!(status, 400);
}

#[test]
fn streaming_a_batch_model_is_400() {
    let (status, error) = refused(r#"{"model":"some-batch-model","stream":true}"#);
    assert_eq!(status, 400);
    assert_eq!(error["param"], "stream");
    assert!(error["message"]
        .as_str()
        .unwrap()
        .contains("does not support streaming"));
}

#[test]
fn without_enforcement_nothing_is_refused() {
    let config = config(false);
    let batch = catalog_index(&config.catalog, "some-batch-model");
    assert!(batch.is_some());
    for (body, want) in [
        ("not json", None),
        (r#"{"model":"unknown"}"#, None),
        (r#"{"model":7}"#, None),
        (
            r#"{"model":"some-batch-model","stream":true,"max_tokens":999999}"#,
            batch,
        ),
    ] {
        assert_eq!(check_body(&config, body.as_bytes()), Ok(want), "{body}");
    }
}

#[test]
fn too_large_is_413() {
    let refusal = too_large(1024);
    assert_eq!(refusal.status, 413);
    let body: Value = serde_json::from_str(&refusal.body()).unwrap();
    assert_eq!(body["error"]["code"], "request_too_large");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("1024 bytes"));
}

#[test]
fn body_route_round_trip() {
    let route = BodyRoute {
        env: Environment::Green,
        cluster_header: "x-relay-cluster".to_string(),
        cluster: "relay_green".to_string(),
    };
    let bytes = crate::record::encode(&route);
    assert_eq!(crate::record::decode::<BodyRoute>(&bytes).ok(), Some(route));
    for bad in [
        &b""[..],
        b"green x y",
        br#"{"env":"red","cluster_header":"x","cluster":"y"}"#,
    ] {
        assert!(crate::record::decode::<BodyRoute>(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn fields_read_as_serde_read_them() {
    let gpt = index_of("gpt-4.1");
    for (body, want) in [
        (r#"{"mod\u0065l":"gpt-4.1"}"#, gpt),
        (r#"{"model":"gpt-4.1","max_tokens":"999999999"}"#, gpt),
        (r#"{"model":"gpt-4.1","max_tokens":-1}"#, gpt),
        (r#"{"model":"gpt-4.1","max_tokens":1.28e5}"#, gpt),
        (r#"{"model":"gpt-4.1","max_tokens":128000.0}"#, gpt),
        (
            r#"{"model":"gpt-4.1","stream":"yes","stream_options":{}}"#,
            gpt,
        ),
        (r#"{"messages":[],"messages":[],"model":"gpt-4.1"}"#, gpt),
    ] {
        assert_eq!(
            check_body(&config(true), body.as_bytes()),
            Ok(want),
            "{body}"
        );
    }
    let (status, error) = refused(r#"{"model":"gpt-4.1","model":"gpt-4.1"}"#);
    assert_eq!(status, 400);
    assert_eq!(
        error["message"],
        "We could not parse the JSON body of your request (duplicate field `model`)."
    );
    let (status, error) = refused(r#"{"model":"gpt-4.1","max_tokens":128000.5}"#);
    assert_eq!(status, 400);
    assert!(error["message"]
        .as_str()
        .unwrap()
        .starts_with("max_tokens is too large: 128000.5."));
    let (status, _) = refused(r#"{"model":"gpt-4.1","max_tokens":1e400}"#);
    assert_eq!(status, 400);
    // Unread values are skipped without recursion, however deep; a read one is judged.
    let deep = format!(
        r#"{{"model":"gpt-4.1","x":{}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    assert_eq!(check_body(&config(true), deep.as_bytes()), Ok(gpt));
    let deep_model = format!(r#"{{"model":{}{}}}"#, "[".repeat(200), "]".repeat(200));
    let (status, error) = refused(&deep_model);
    assert_eq!(status, 400);
    assert_eq!(error["message"], "model must be a string");
    // Read fields are kept as text, so numbers no float holds are no parse error.
    for body in [
        r#"{"model":"gpt-4.1","stream":1e400}"#,
        r#"{"model":"gpt-4.1","max_tokens":-1e400}"#,
        r#"{"model":"gpt-4.1","x":1e400}"#,
    ] {
        assert_eq!(
            check_body(&config(true), body.as_bytes()),
            Ok(gpt),
            "{body}"
        );
    }
    assert_eq!(
        check_body(&config(false), br#"{"model":"gpt-4.1","model":"x"}"#),
        Ok(None)
    );
}

#[test]
fn parse_errors_say_why_without_a_position() {
    for (body, reason) in [
        (&b""[..], "expected a JSON object"),
        (b"[1,2]", "expected a JSON object"),
        (br#"{"model":"gpt-4.1""#, "EOF while parsing an object"),
        (br#"{"model":"gpt-4.1"} x"#, "trailing characters"),
        (br#"{"model":"gpt-4.1","x":01}"#, "invalid number"),
        (b"{\"model\":\"gpt-4.1\",\"x\":\"\xc3\"}", "invalid UTF-8"),
        (br#"{"model":"\ud800"}"#, "unexpected end of hex escape"),
    ] {
        let refusal = check_body(&config(true), body).unwrap_err();
        assert_eq!(
            refusal.message,
            format!("We could not parse the JSON body of your request ({reason})."),
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!((refusal.status, refusal.param), (400, None));
    }
}
