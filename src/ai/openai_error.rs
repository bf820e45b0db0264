//! Errors in the shape OpenAI clients parse:
//! `{"error": {"message", "type", "param", "code"}}`.

use serde::Serialize;

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

pub fn error_body(message: &str, kind: &str, param: Option<&str>, code: Option<&str>) -> String {
    let envelope = Envelope {
        error: Body {
            message,
            kind,
            param,
            code,
        },
    };
    // Four strings or nulls: serializing cannot fail.
    serde_json::to_string(&envelope).unwrap_or_default()
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

    #[test]
    fn keys_in_openai_order() {
        assert_eq!(
            error_body("m", "server_error", None, Some("c")),
            r#"{"error":{"message":"m","type":"server_error","param":null,"code":"c"}}"#
        );
    }
}
