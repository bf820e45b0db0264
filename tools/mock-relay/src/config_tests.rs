use super::*;

fn merge(json: &str) -> Result<Config, String> {
    Config::default().merged(ConfigPatch::from_json(json.as_bytes())?)
}

#[test]
fn partial_patch_changes_only_given_fields() {
    let merged =
        merge(r#"{"chat_status":503,"unknown_models":["x"],"sse_split":"random"}"#).unwrap();
    assert_eq!(merged.chat_status, 503);
    assert_eq!(merged.unknown_models, vec!["x".to_string()]);
    assert_eq!(merged.sse_split, SseSplit::Random);
    assert_eq!(merged.models_status, 200);
    assert_eq!(merged.chunks, 3);
    assert_eq!(merged.stream_usage, StreamUsage::Requested);
}

#[test]
fn empty_patch_is_identity() {
    assert_eq!(merge("{}").unwrap(), Config::default());
}

#[test]
fn unknown_field_is_rejected() {
    let err = merge(r#"{"chat_stauts":503}"#).unwrap_err();
    assert!(err.contains("unknown field"), "{err}");
}

#[test]
fn bad_enum_value_and_status_are_rejected() {
    assert!(merge(r#"{"sse_split":"bytes"}"#).is_err());
    assert!(merge(r#"{"chat_status":99}"#).is_err());
    assert!(merge(r#"{"models_status":600}"#).is_err());
    assert!(merge(r#"{"models_body":"xml"}"#).is_err());
    assert!(merge(r#"{"chat_body":"half"}"#).is_err());
    assert!(merge("[1]").is_err());
}

#[test]
fn config_serializes_with_lowercase_enums() {
    let json = serde_json::to_value(Config::default()).unwrap();
    assert_eq!(json["sse_split"], "event");
    assert_eq!(json["stream_usage"], "requested");
    assert_eq!(json["refuse"], false);
    assert_eq!(json["models_body"], "list");
    assert_eq!(json["chat_body"], "normal");
    assert!(json["model_ids"].is_null());
    assert!(json["tls_cert"].is_null());
}

#[test]
fn new_failure_fields_merge() {
    let merged = merge(
        r#"{"chat_error_every":10,"chat_error_status":429,"models_body":"not_list",
            "extra_models":1000,"model_ids":["a","b"],"chat_body":"empty",
            "completion_tokens":1,"first_byte_delay_ms":30,"hang_ms":5000,
            "sse_long_line_bytes":1048576,"sse_malformed":true,"sse_cut_after_events":2}"#,
    )
    .unwrap();
    assert_eq!(merged.chat_error_every, 10);
    assert_eq!(merged.chat_error_status, 429);
    assert_eq!(merged.models_body, ModelsBody::NotList);
    assert_eq!(merged.extra_models, 1000);
    assert_eq!(merged.model_ids, Some(vec!["a".into(), "b".into()]));
    assert_eq!(merged.chat_body, ChatBody::Empty);
    assert_eq!(merged.completion_tokens, Some(1));
    assert_eq!(merged.first_byte_delay_ms, 30);
    assert_eq!(merged.hang_ms, 5000);
    assert_eq!(merged.sse_long_line_bytes, 1 << 20);
    assert!(merged.sse_malformed);
    assert_eq!(merged.sse_cut_after_events, 2);
}

#[test]
fn null_clears_optional_fields_and_is_refused_elsewhere() {
    let set = merge(r#"{"completion_tokens":1,"model_ids":[]}"#).unwrap();
    assert_eq!(set.model_ids, Some(Vec::new()));
    let cleared = set
        .merged(ConfigPatch::from_json(br#"{"completion_tokens":null,"model_ids":null}"#).unwrap())
        .unwrap();
    assert_eq!(cleared, Config::default());
    let err = merge(r#"{"chat_status":null}"#).unwrap_err();
    assert!(err.contains("invalid type: null"), "{err}");
}

#[test]
fn chat_error_status_must_be_an_error() {
    let err = merge(r#"{"chat_error_status":200}"#).unwrap_err();
    assert!(
        err.contains("chat_error_status") && err.contains("400..=599"),
        "{err}"
    );
    assert!(merge(r#"{"chat_error_status":600}"#).is_err());
}

#[test]
fn sizes_are_bounded() {
    assert!(merge(r#"{"extra_models":100000}"#).is_ok());
    let err = merge(r#"{"extra_models":100001}"#).unwrap_err();
    assert!(err.contains("extra_models"), "{err}");
    assert!(merge(r#"{"model_ids":["a"],"extra_models":100000}"#).is_err());
    let err = merge(r#"{"sse_long_line_bytes":67108865}"#).unwrap_err();
    assert!(err.contains("sse_long_line_bytes"), "{err}");
    assert!(merge(r#"{"chunks":100001}"#).is_err());
}

#[test]
fn tls_files_come_in_pairs() {
    let err = merge(r#"{"tls_cert":"/c.pem"}"#).unwrap_err();
    assert!(err.contains("tls_cert and tls_key"), "{err}");
    let both = merge(r#"{"tls_cert":"/c.pem","tls_key":"/k.pem"}"#).unwrap();
    assert_eq!(
        both.tls_files(),
        Some((&PathBuf::from("/c.pem"), &PathBuf::from("/k.pem")))
    );
    let off = both
        .merged(ConfigPatch::from_json(br#"{"tls_cert":null,"tls_key":null}"#).unwrap())
        .unwrap();
    assert_eq!(off.tls_files(), None);
}
