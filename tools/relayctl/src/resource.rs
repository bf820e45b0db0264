//! The ECDS resource file: a DiscoveryResponse whose first resource is the filter's
//! `TypedExtensionConfig`; the plugin JSON is the string at `configuration.value`.
//! relayctl edits only that string and writes the whole resource back atomically.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Where the plugin JSON lives inside the resource.
const PLUGIN_POINTER: &str = "/resources/0/typed_config/config/configuration/value";
const HOST_ENV_KEYS_POINTER: &str =
    "/resources/0/typed_config/config/vm_config/environment_variables/host_env_keys";

/// A parsed ECDS resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    document: Value,
}

impl Resource {
    pub fn parse(text: &str) -> Result<Resource, String> {
        let document: Value = serde_json::from_str(text)
            .map_err(|e| format!("not a JSON ECDS resource: {}", without_position(&e)))?;
        let resource = Resource { document };
        resource.plugin_json()?;
        Ok(resource)
    }

    /// The plugin configuration, as the JSON text Envoy hands the filter.
    pub fn plugin_json(&self) -> Result<&str, String> {
        self.document
            .pointer(PLUGIN_POINTER)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                "no plugin configuration at resources[0].typed_config.config.configuration.value \
                 (expected the ECDS resource of envoy/templates/ecds-resource.json)"
                    .to_string()
            })
    }

    /// The same resource with another plugin configuration; everything else is untouched.
    pub fn with_plugin_json(&self, plugin_json: &str) -> Resource {
        let mut document = self.document.clone();
        if let Some(slot) = document.pointer_mut(PLUGIN_POINTER) {
            *slot = Value::from(plugin_json);
        }
        Resource { document }
    }

    /// The variables Envoy hands the wasm VM (`vm_config.environment_variables.host_env_keys`).
    pub fn host_env_keys(&self) -> Vec<String> {
        self.document
            .pointer(HOST_ENV_KEYS_POINTER)
            .and_then(Value::as_array)
            .map(|keys| {
                keys.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.document).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// A configuration file as `validate` takes it: an ECDS resource, or a bare plugin JSON.
pub enum ConfigSource {
    Resource(Resource),
    Plugin(String),
}

impl ConfigSource {
    pub fn parse(text: &str) -> Result<ConfigSource, String> {
        let looks_like_resource = serde_json::from_str::<Value>(text)
            .map(|v| v.get("resources").is_some())
            .unwrap_or(false);
        if looks_like_resource {
            Resource::parse(text).map(ConfigSource::Resource)
        } else {
            Ok(ConfigSource::Plugin(text.to_string()))
        }
    }

    pub fn plugin_json(&self) -> Result<&str, String> {
        match self {
            ConfigSource::Resource(resource) => resource.plugin_json(),
            ConfigSource::Plugin(text) => Ok(text),
        }
    }

    /// `None` for a bare plugin JSON: which variables Envoy passes is then unknown.
    pub fn host_env_keys(&self) -> Option<Vec<String>> {
        match self {
            ConfigSource::Resource(resource) => Some(resource.host_env_keys()),
            ConfigSource::Plugin(_) => None,
        }
    }
}

pub fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

pub fn load(path: &Path) -> Result<Resource, String> {
    Resource::parse(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `text` to a temp file in `path`'s directory, fsyncs it, renames it over `path`
/// and fsyncs the directory: a watcher sees the old file or the new one, never a partial one.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), String> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| format!("{} is not a file path", path.display()))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    // A dot name: not the resource's name, so Envoy's watcher ignores it until the rename.
    let temp = dir.join(format!(
        ".{name}.relayctl-{}-{nanos}.tmp",
        std::process::id()
    ));
    let result = write_and_rename(path, &temp, &dir, text);
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

fn write_and_rename(path: &Path, temp: &Path, dir: &Path, text: &str) -> Result<(), String> {
    let fail =
        |what: &str, p: &Path, e: std::io::Error| format!("cannot {what} {}: {e}", p.display());
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(|e| fail("create", temp, e))?;
    if let Ok(meta) = fs::metadata(path) {
        let _ = fs::set_permissions(temp, meta.permissions());
    }
    file.write_all(text.as_bytes())
        .map_err(|e| fail("write", temp, e))?;
    file.sync_all().map_err(|e| fail("fsync", temp, e))?;
    drop(file);
    fs::rename(temp, path).map_err(|e| fail("rename over", path, e))?;
    if let Ok(dir_handle) = File::open(dir) {
        let _ = dir_handle.sync_all();
    }
    Ok(())
}

fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(at) => format!("{} (line {}, column {})", &text[..at], e.line(), e.column()),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const RESOURCE: &str = r#"{
      "version_info": "7",
      "resources": [{
        "@type": "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig",
        "name": "bluegreen-relay",
        "typed_config": {
          "@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm",
          "config": {
            "name": "bluegreen-relay",
            "root_id": "bluegreen-relay",
            "configuration": {
              "@type": "type.googleapis.com/google.protobuf.StringValue",
              "value": "{\"environments\":{}}"
            },
            "vm_config": {
              "vm_id": "bluegreen-relay",
              "runtime": "envoy.wasm.runtime.v8",
              "code": {"local": {"filename": "/x/bluegreen_relay.wasm"}},
              "environment_variables": {"host_env_keys": ["HOLYSHEEP_API_KEY_BLUE", "HOLYSHEEP_API_KEY_GREEN"]}
            },
            "failure_policy": "FAIL_RELOAD",
            "reload_config": {"backoff": {"base_interval": "0.05s"}}
          }
        }
      }]
    }"#;

    #[test]
    fn replaces_only_the_plugin_json() {
        let resource = Resource::parse(RESOURCE).unwrap();
        assert_eq!(resource.plugin_json().unwrap(), r#"{"environments":{}}"#);
        assert_eq!(
            resource.host_env_keys(),
            ["HOLYSHEEP_API_KEY_BLUE", "HOLYSHEEP_API_KEY_GREEN"]
        );
        let edited = resource.with_plugin_json(r#"{"version":"v2"}"#);
        assert_eq!(edited.plugin_json().unwrap(), r#"{"version":"v2"}"#);
        // Everything else is the same document.
        let mut before: Value = serde_json::from_str(RESOURCE).unwrap();
        let mut after: Value = serde_json::from_str(&edited.to_text()).unwrap();
        *before.pointer_mut(PLUGIN_POINTER).unwrap() = Value::Null;
        *after.pointer_mut(PLUGIN_POINTER).unwrap() = Value::Null;
        assert_eq!(before, after);
    }

    #[test]
    fn refuses_other_documents() {
        assert!(Resource::parse("{")
            .unwrap_err()
            .contains("not a JSON ECDS resource"));
        let err = Resource::parse(r#"{"resources": []}"#).unwrap_err();
        assert!(err.contains("configuration.value"), "{err}");
        assert!(matches!(
            ConfigSource::parse(r#"{"environments": {}}"#),
            Ok(ConfigSource::Plugin(_))
        ));
        assert!(matches!(
            ConfigSource::parse(RESOURCE),
            Ok(ConfigSource::Resource(_))
        ));
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("relayctl-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bluegreen-relay.json");
        fs::write(&path, "old").unwrap();
        write_atomic(&path, "new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
