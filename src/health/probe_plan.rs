//! The requests one probe round sends to an environment: `GET <path>`, then, when the chat
//! probes are due (`schedule.rs`), one tiny chat completion per model in `model_probes`.

use serde::Serialize;

use crate::config::HealthCheck;
use crate::health::ProbeKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    pub kind: ProbeKind,
    pub method: &'static str,
    pub path: String,
    pub body: Option<Vec<u8>>,
}

pub fn plan(health_check: &HealthCheck, chats: bool) -> Vec<ProbeRequest> {
    let mut requests = vec![ProbeRequest {
        kind: ProbeKind::Models {
            path: health_check.path.clone(),
        },
        method: "GET",
        path: health_check.path.clone(),
        body: None,
    }];
    let models = if chats {
        health_check.model_probes.as_slice()
    } else {
        &[]
    };
    for model in models {
        requests.push(ProbeRequest {
            kind: ProbeKind::Chat {
                model: model.clone(),
            },
            method: "POST",
            path: "/v1/chat/completions".to_string(),
            body: Some(chat_body(model, health_check.probe_max_tokens)),
        });
    }
    requests
}

/// `{"model": …, "messages": [{"role": "user", "content": "health-check"}], "max_tokens": …}`
#[derive(Serialize)]
struct ChatProbe<'a> {
    model: &'a str,
    messages: [Message; 1],
    max_tokens: u32,
}

#[derive(Serialize)]
struct Message {
    role: &'static str,
    content: &'static str,
}

fn chat_body(model: &str, max_tokens: u32) -> Vec<u8> {
    let probe = ChatProbe {
        model,
        messages: [Message {
            role: "user",
            content: "health-check",
        }],
        max_tokens,
    };
    // Strings and an integer: serializing cannot fail.
    serde_json::to_vec(&probe).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_then_one_chat_per_model() {
        let hc = HealthCheck {
            interval_ms: 1000,
            timeout_ms: 500,
            path: "/v1/models".to_string(),
            unhealthy_threshold: 2,
            healthy_threshold: 1,
            model_probes: vec!["gpt-4.1".to_string(), "deepseek-v3.2".to_string()],
            probe_max_tokens: 16,
            model_probe_interval_ms: 300_000,
        };
        let plan = plan(&hc, true);
        assert_eq!(super::plan(&hc, false).len(), 1, "the GET only");
        assert_eq!(plan.len(), 3);
        assert_eq!(
            (plan[0].method, plan[0].path.as_str()),
            ("GET", "/v1/models")
        );
        assert_eq!(plan[2].path, "/v1/chat/completions");
        let body: serde_json::Value =
            serde_json::from_slice(plan[1].body.as_ref().unwrap()).unwrap();
        assert_eq!(body["model"], "gpt-4.1");
        assert_eq!(body["max_tokens"], 16);
        assert_eq!(body["messages"][0]["content"], "health-check");
        assert_eq!(
            plan[2].body.as_deref(),
            Some(&br#"{"model":"deepseek-v3.2","messages":[{"role":"user","content":"health-check"}],"max_tokens":16}"#[..])
        );
    }
}
