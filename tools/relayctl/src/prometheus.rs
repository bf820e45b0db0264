//! The fleet as Prometheus sees it: instant queries over the HTTP API, each series with its
//! labels, the sample's time and value. The selector (`{job="bluegreen"}`) picks the replicas.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

pub struct Prometheus {
    base: String,
    /// The selector's matchers without braces, e.g. `job="bluegreen"`.
    matchers: String,
    agent: ureq::Agent,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: BTreeMap<String, String>,
    /// Unix seconds.
    pub at: f64,
    pub value: f64,
}

impl Sample {
    /// The replica a series comes from (`instance`, else every label).
    pub fn replica(&self) -> String {
        self.labels
            .get("instance")
            .cloned()
            .unwrap_or_else(|| format!("{:?}", self.labels))
    }
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    data: Option<Data>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

/// `{job="bluegreen"}` -> `job="bluegreen"`; refused unless it is one braced matcher list.
pub fn parse_selector(text: &str) -> Result<String, String> {
    let inner = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .ok_or_else(|| {
            format!("--prometheus-selector must be a label selector like {{job=\"bluegreen\"}} (got {text:?})")
        })?;
    Ok(inner.trim().trim_end_matches(',').to_string())
}

impl Prometheus {
    pub fn new(base: &str, selector: &str, timeout: Duration) -> Result<Prometheus, String> {
        let per_request = timeout.clamp(Duration::from_millis(200), Duration::from_secs(10));
        Ok(Prometheus {
            base: base.trim_end_matches('/').to_string(),
            matchers: parse_selector(selector)?,
            agent: ureq::AgentBuilder::new()
                .timeout_connect(per_request)
                .timeout(per_request)
                .build(),
        })
    }

    /// The selector with `extra` matchers added: `{job="bluegreen",bluegreen_env="green"}`.
    pub fn selector(&self, extra: &str) -> String {
        match (self.matchers.is_empty(), extra.is_empty()) {
            (true, _) => format!("{{{extra}}}"),
            (false, true) => format!("{{{}}}", self.matchers),
            (false, false) => format!("{{{},{extra}}}", self.matchers),
        }
    }

    /// An instant query; `Err` says why Prometheus could not answer.
    pub fn query(&self, promql: &str) -> Result<Vec<Sample>, String> {
        let url = format!("{}/api/v1/query", self.base);
        let resp = match self.agent.get(&url).query("query", promql).call() {
            Ok(resp) => resp,
            Err(ureq::Error::Status(code, resp)) => {
                let body = resp.into_string().unwrap_or_default();
                let why = serde_json::from_str::<Answer>(&body)
                    .ok()
                    .and_then(|a| a.error)
                    .unwrap_or(body);
                return Err(format!("Prometheus answered {code} to {promql}: {why}"));
            }
            Err(e) => return Err(format!("cannot reach Prometheus at {}: {e}", self.base)),
        };
        let body = resp
            .into_string()
            .map_err(|e| format!("cannot read Prometheus' answer: {e}"))?;
        parse_answer(&body).map_err(|e| format!("{e} (query {promql})"))
    }

    /// The sum of an instant vector, or None when it has no series (nothing scraped yet).
    pub fn scalar(&self, promql: &str) -> Result<Option<f64>, String> {
        let samples = self.query(promql)?;
        Ok((!samples.is_empty()).then(|| samples.iter().map(|s| s.value).sum()))
    }
}

fn parse_answer(body: &str) -> Result<Vec<Sample>, String> {
    let answer: Answer = serde_json::from_str(body)
        .map_err(|e| format!("Prometheus' answer is not its API's JSON: {e}"))?;
    if answer.status != "success" {
        return Err(format!(
            "Prometheus failed the query: {}",
            answer.error.unwrap_or_default()
        ));
    }
    let data = answer.data.ok_or("Prometheus' answer has no data")?;
    if data.result_type != "vector" {
        return Err(format!("want an instant vector, got {}", data.result_type));
    }
    data.result
        .into_iter()
        .map(|s| {
            let value = match s.value.1.as_str() {
                "NaN" => f64::NAN,
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                text => text
                    .parse()
                    .map_err(|_| format!("not a number in Prometheus' answer: {text:?}"))?,
            };
            Ok(Sample {
                labels: s.metric,
                at: s.value.0,
                value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_merge_matchers() {
        let p = Prometheus::new(
            "http://p:9090/",
            "{job=\"bluegreen\"}",
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(p.base, "http://p:9090");
        assert_eq!(
            p.selector("bluegreen_env=\"green\""),
            "{job=\"bluegreen\",bluegreen_env=\"green\"}"
        );
        assert_eq!(p.selector(""), "{job=\"bluegreen\"}");
        assert!(parse_selector("job=bluegreen").is_err());
        assert_eq!(parse_selector("{}"), Ok(String::new()));
    }

    #[test]
    fn answers_become_samples() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"instance":"127.0.0.1:9901"},"value":[1764072000.5,"12"]},
            {"metric":{},"value":[1764072000.5,"NaN"]}]}}"#;
        let samples = parse_answer(body).unwrap();
        assert_eq!(samples[0].replica(), "127.0.0.1:9901");
        assert_eq!(samples[0].value, 12.0);
        assert!(samples[1].value.is_nan());
        let failed = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert!(parse_answer(failed).unwrap_err().contains("parse error"));
    }
}
