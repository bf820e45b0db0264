//! What an environment says it serves: the model ids of its `/v1/models` answer, recorded by
//! the prober (bounded: 1,000 ids of at most 128 bytes) so that the status endpoint and
//! `relayctl validate` can name the models the candidate lacks before any user asks for one.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

/// Most ids kept per environment; more are recorded as `truncated`.
pub const MAX_IDS: usize = 1000;
/// Longest id kept; a longer one is skipped and makes the list `truncated`.
pub const MAX_ID_BYTES: usize = 128;

/// One environment's model list, as its last `/v1/models` answer gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Catalog {
    /// When it was read, Unix ms (0: never).
    pub at_ms: u64,
    /// Sorted, without repeats.
    pub ids: Vec<String>,
    pub truncated: bool,
    /// Why the answer was not a model list (`None` when it was one).
    pub not_a_list: Option<String>,
}

#[derive(Deserialize)]
struct List<'a> {
    #[serde(borrow)]
    data: Vec<Entry<'a>>,
    #[serde(default)]
    #[allow(dead_code)]
    object: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
}

/// Reads a `/v1/models` answer: OpenAI's `{"object": "list", "data": [{"id": ...}, ...]}`.
pub fn read(body: &[u8], content_type: Option<&[u8]>, at_ms: u64) -> Catalog {
    let html = content_type.is_some_and(|value| {
        value
            .get(..9)
            .is_some_and(|head| head.eq_ignore_ascii_case(b"text/html"))
    });
    if html || body.trim_ascii_start().first() == Some(&b'<') {
        return not_a_list(at_ms, "an HTML page, not an OpenAI model list");
    }
    if body.trim_ascii().is_empty() {
        return not_a_list(at_ms, "an empty body, not an OpenAI model list");
    }
    let list: List = match serde_json::from_slice(body) {
        Ok(list) => list,
        Err(err) if err.is_data() => {
            return not_a_list(at_ms, "JSON without a `data` list of models with ids")
        }
        Err(_) => return not_a_list(at_ms, "not JSON, not an OpenAI model list"),
    };
    let mut catalog = Catalog {
        at_ms,
        ..Catalog::default()
    };
    for entry in list.data {
        if entry.id.len() > MAX_ID_BYTES || catalog.ids.len() >= MAX_IDS {
            catalog.truncated = true;
            continue;
        }
        catalog.ids.push(entry.id.into_owned());
    }
    catalog.ids.sort_unstable();
    catalog.ids.dedup();
    catalog
}

fn not_a_list(at_ms: u64, why: &str) -> Catalog {
    Catalog {
        at_ms,
        not_a_list: Some(why.to_string()),
        ..Catalog::default()
    }
}

impl Catalog {
    /// The ids `active` lists that this catalog does not (empty unless both are real lists).
    pub fn missing_from<'a>(&self, active: &'a Catalog) -> Vec<&'a str> {
        if self.not_a_list.is_some() || active.not_a_list.is_some() || self.at_ms == 0 {
            return Vec::new();
        }
        active
            .ids
            .iter()
            .filter(|id| self.ids.binary_search(id).is_err())
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = r#"{"object":"list","data":[
        {"id":"gpt-4.1","object":"model","created":1,"owned_by":"x"},
        {"id":"deepseek-v3.2","object":"model"},{"id":"gpt-4.1"}]}"#;

    #[test]
    fn reads_the_openai_list() {
        let catalog = read(LIST.as_bytes(), Some(b"application/json"), 5);
        assert_eq!(catalog.ids, ["deepseek-v3.2", "gpt-4.1"]);
        assert!(!catalog.truncated);
        assert_eq!(catalog.not_a_list, None);
        crate::record::check_codec(&catalog);
    }

    #[test]
    fn other_answers_are_reported_as_not_a_list() {
        for (body, content_type, says) in [
            (
                "<html><body>hi</body></html>",
                Some("text/html; charset=utf-8"),
                "HTML",
            ),
            ("  <!doctype html>", None, "HTML"),
            ("", Some("application/json"), "empty"),
            (r#"{"models": ["a"]}"#, None, "without a `data` list"),
            (
                r#"{"data": [{"name": "a"}]}"#,
                None,
                "without a `data` list",
            ),
            ("[1, 2]", None, "without a `data` list"),
            ("{oops", None, "not JSON"),
        ] {
            let catalog = read(body.as_bytes(), content_type.map(str::as_bytes), 1);
            let why = catalog.not_a_list.unwrap_or_default();
            assert!(why.contains(says), "{body:?}: {why}");
            assert!(catalog.ids.is_empty());
        }
    }

    #[test]
    fn lists_are_bounded() {
        let mut data: Vec<String> = (0..1200)
            .map(|i| format!(r#"{{"id":"m-{i:04}"}}"#))
            .collect();
        data.push(format!(r#"{{"id":"{}"}}"#, "x".repeat(129)));
        let body = format!(r#"{{"object":"list","data":[{}]}}"#, data.join(","));
        let catalog = read(body.as_bytes(), None, 1);
        assert_eq!(catalog.ids.len(), MAX_IDS);
        assert!(catalog.truncated);
    }

    #[test]
    fn missing_models_are_what_the_active_lists_and_the_candidate_does_not() {
        let active = read(LIST.as_bytes(), None, 1);
        let candidate = read(br#"{"data":[{"id":"gpt-4.1"}]}"#, None, 2);
        assert_eq!(candidate.missing_from(&active), ["deepseek-v3.2"]);
        assert!(active.missing_from(&candidate).is_empty());
        let html = read(b"<html>", None, 3);
        assert!(
            html.missing_from(&active).is_empty(),
            "not a list: reported as such"
        );
        assert!(
            Catalog::default().missing_from(&active).is_empty(),
            "never read"
        );
    }
}
