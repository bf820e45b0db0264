//! Errors in the shape OpenAI clients parse:
//! `{"error": {"message", "type", "param", "code"}}`.

use crate::json_writer::JsonWriter;

pub fn error_body(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> String {
    let mut w = JsonWriter::new();
    w.begin_object().key("error").begin_object();
    w.key("message").str(message);
    w.key("type").str(kind);
    w.key("param").opt_str(param);
    w.key("code").opt_str(code);
    w.end_object().end_object();
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape() {
        let body = error_body(
            "no \"such\" model",
            "invalid_request_error",
            Some("model"),
            Some("model_not_found"),
        );
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["message"], "no \"such\" model");
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"], "model");
        assert_eq!(v["error"]["code"], "model_not_found");
        let v: serde_json::Value =
            serde_json::from_str(&error_body("x", "server_error", None, None)).unwrap();
        assert!(v["error"]["param"].is_null() && v["error"]["code"].is_null());
    }

    #[test]
    fn client_text_in_the_message_stays_one_json_string() {
        let message = "model \"a\\b\"\n\u{1}</script>";
        let body = error_body(message, "invalid_request_error", None, None);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["message"], message);
        assert_eq!(v["error"].as_object().unwrap().len(), 4);
    }
}
