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
    serde_json::to_string(&Envelope {
        error: Body {
            message,
            kind,
            param,
            code,
        },
    })
    .unwrap_or_else(|_| {
        r#"{"error":{"message":"internal error","type":"server_error","param":null,"code":null}}"#
            .to_string()
    })
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
}
