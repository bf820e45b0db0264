//! `relayctl render --istio`: the plugin configuration as an Istio `WasmPlugin` manifest.
//! Key values are never rendered: an inline `api_key` becomes an `api_key_env` that the
//! proxy gets from a Secret.

use bluegreen_relay::environment::Environment;
use serde_json::Value;

pub const DEFAULT_WASM_URL: &str = "oci://ghcr.io/example/bluegreen-relay:0.1.0";

pub struct Rendered {
    pub manifest: String,
    /// Said on stderr: what had to change so that no key is printed.
    pub warnings: Vec<String>,
}

/// A YAML scalar for `value`, quoted only when YAML needs it.
fn scalar(value: &str) -> String {
    serde_yaml::to_string(value)
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| Value::from(value).to_string())
}

/// The variable an inline key moves to: `HOLYSHEEP_API_KEY_<ENV>` unless the other
/// environment already uses that name.
fn key_variable(plugin: &Value, env: Environment) -> String {
    let upper = env.as_str().to_ascii_uppercase();
    let preferred = format!("HOLYSHEEP_API_KEY_{upper}");
    let other = &plugin["environments"][env.other().as_str()]["api_key_env"];
    if other.as_str() == Some(preferred.as_str()) {
        format!("BLUEGREEN_RELAY_API_KEY_{upper}")
    } else {
        preferred
    }
}

pub fn render(plugin: &Value, wasm_url: &str, source: &str) -> Result<Rendered, String> {
    let mut plugin = plugin.clone();
    let mut warnings = Vec::new();
    let mut notes = Vec::new();
    for env in Environment::ALL {
        let name = env.as_str();
        let variable = key_variable(&plugin, env);
        let Some(entry) = plugin["environments"][name].as_object_mut() else {
            return Err(format!(
                "environments.{name}: missing from the plugin configuration"
            ));
        };
        if entry.remove("api_key").is_some() {
            entry.insert("api_key_env".into(), Value::from(variable.clone()));
            warnings.push(format!(
                "warning: environments.{name}.api_key is an inline key: not rendered. Put it in a \
                 Secret and give it to the gateway's proxy as ${variable} (api_key_env)."
            ));
            notes.push(format!(
                "# environments.{name} had an inline api_key: it is NOT in this manifest. Put the key\n\
                 # in a Secret and set it as ${variable} on the gateway's istio-proxy container;\n\
                 # pluginConfig reads it with api_key_env."
            ));
        }
    }
    // Every variable the filter reads: the keys', then the tokens'.
    let mut variables: Vec<String> = Vec::new();
    let named = Environment::ALL
        .iter()
        .map(|env| &plugin["environments"][env.as_str()]["api_key_env"])
        .chain([&plugin["status_token_env"], &plugin["override_token_env"]]);
    for var in named.filter_map(Value::as_str) {
        if !variables.iter().any(|v| v == var) {
            variables.push(var.to_string());
        }
    }
    let config_yaml = serde_yaml::to_string(&plugin)
        .map_err(|e| format!("cannot render the plugin configuration as YAML: {e}"))?;
    let version = plugin["version"].as_str().unwrap_or("");

    let mut out = String::new();
    out.push_str(&format!(
        "# bluegreen-relay as an Istio WasmPlugin, rendered by relayctl from {source}.\n\
         # No key is in this manifest: the filter reads keys from the proxy's environment.\n\
         # Cluster names in pluginConfig must be the gateway's Envoy clusters\n\
         # (Istio names them outbound|PORT||HOST).\n"
    ));
    for note in &notes {
        out.push_str(note);
        out.push('\n');
    }
    out.push_str("apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: bluegreen-relay\n  namespace: istio-system\n");
    if !version.is_empty() {
        out.push_str(&format!(
            "  annotations:\n    bluegreen-relay/config-version: {}\n",
            scalar(version)
        ));
    }
    out.push_str("spec:\n  selector:\n    matchLabels:\n      istio: ingressgateway\n");
    out.push_str(&format!("  url: {}\n", scalar(wasm_url)));
    out.push_str(
        "  imagePullPolicy: IfNotPresent\n\
         \x20 type: HTTP\n\
         \x20 pluginName: bluegreen-relay\n\
         \x20 # After Istio's authentication and authorization filters, so only admitted requests get a\n\
         \x20 # key, and before the router, which must follow the cluster the filter picks (the same\n\
         \x20 # placement as envoy/istio/wasmplugin.yaml).\n\
         \x20 phase: STATS\n\
         \x20 # A VM that traps is replaced on the next request (Istio 1.25+; older: FAIL_CLOSE).\n\
         \x20 # Never FAIL_OPEN: a client-sent cluster header would pick the upstream, without a key.\n\
         \x20 failStrategy: FAIL_RELOAD\n\
         \x20 vmConfig:\n\
         \x20   # valueFrom: HOST hands the VM these variables of the istio-proxy container; set them\n\
         \x20   # there from a Secret (env[].valueFrom.secretKeyRef in the gateway's deployment).\n",
    );
    if variables.is_empty() {
        out.push_str("    env: []\n");
    } else {
        out.push_str("    env:\n");
        for var in &variables {
            out.push_str(&format!(
                "    - name: {}\n      valueFrom: HOST\n",
                scalar(var)
            ));
        }
    }
    out.push_str("  pluginConfig:\n");
    for line in config_yaml.lines() {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    Ok(Rendered {
        manifest: out,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plugin() -> Value {
        json!({
            "version": "relayctl-1-canary-10",
            "active": "blue",
            "affinity_headers": ["x-session-id"],
            "environments": {
                "blue": {"cluster": "outbound|443||blue.example", "weight": 90, "api_key_env": "HOLYSHEEP_API_KEY_BLUE"},
                "green": {"cluster": "outbound|443||green.example", "weight": 10, "api_key": "sk-inline-secret-123"},
            },
            "health_check": {"interval_ms": 5000, "model_probes": ["gpt-4.1"]},
        })
    }

    #[test]
    fn manifest_is_yaml_with_the_config_and_no_key() {
        let rendered = render(&plugin(), DEFAULT_WASM_URL, "test.json").unwrap();
        let text = &rendered.manifest;
        assert!(!text.contains("sk-inline-secret-123"), "{text}");
        let doc: serde_yaml::Value = serde_yaml::from_str(text).unwrap();
        let doc: Value = serde_json::to_value(doc).unwrap();
        assert_eq!(doc["apiVersion"], "extensions.istio.io/v1alpha1");
        assert_eq!(doc["kind"], "WasmPlugin");
        assert_eq!(
            doc["spec"]["selector"]["matchLabels"]["istio"],
            "ingressgateway"
        );
        assert_eq!(doc["spec"]["url"], DEFAULT_WASM_URL);
        assert_eq!(doc["spec"]["failStrategy"], "FAIL_RELOAD");
        assert_eq!(doc["spec"]["phase"], "STATS");
        assert_eq!(
            doc["spec"]["vmConfig"]["env"],
            json!([{"name": "HOLYSHEEP_API_KEY_BLUE", "valueFrom": "HOST"},
                   {"name": "HOLYSHEEP_API_KEY_GREEN", "valueFrom": "HOST"}])
        );
        let mut expected = plugin();
        expected["environments"]["green"] = json!({"cluster": "outbound|443||green.example",
            "weight": 10, "api_key_env": "HOLYSHEEP_API_KEY_GREEN"});
        assert_eq!(doc["spec"]["pluginConfig"], expected);
        assert_eq!(
            doc["metadata"]["annotations"]["bluegreen-relay/config-version"],
            "relayctl-1-canary-10"
        );
        assert_eq!(rendered.warnings.len(), 1);
        assert!(!rendered.warnings[0].contains("sk-inline"));
    }

    #[test]
    fn inline_key_variable_never_collides() {
        let mut p = plugin();
        p["environments"]["blue"]["api_key_env"] = json!("HOLYSHEEP_API_KEY_GREEN");
        let rendered = render(&p, "oci://x/y:1", "f").unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&rendered.manifest).unwrap();
        let doc: Value = serde_json::to_value(doc).unwrap();
        assert_eq!(
            doc["spec"]["pluginConfig"]["environments"]["green"]["api_key_env"],
            "BLUEGREEN_RELAY_API_KEY_GREEN"
        );
        assert_eq!(doc["spec"]["url"], "oci://x/y:1");
    }

    #[test]
    fn token_variables_are_handed_to_the_vm() {
        let mut p = plugin();
        p["override_header"] = json!("x-relay-env");
        p["override_token_env"] = json!("RELAY_OVERRIDE_TOKEN");
        p["status_token_env"] = json!("RELAY_STATUS_TOKEN");
        let rendered = render(&p, DEFAULT_WASM_URL, "f").unwrap();
        let doc: serde_yaml::Value = serde_yaml::from_str(&rendered.manifest).unwrap();
        let doc: Value = serde_json::to_value(doc).unwrap();
        let names: Vec<&str> = doc["spec"]["vmConfig"]["env"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|var| var["name"].as_str())
            .collect();
        assert_eq!(
            names,
            [
                "HOLYSHEEP_API_KEY_BLUE",
                "HOLYSHEEP_API_KEY_GREEN",
                "RELAY_STATUS_TOKEN",
                "RELAY_OVERRIDE_TOKEN"
            ]
        );
    }
}
