//! relayctl's own history, in a sidecar file next to the configuration
//! (`<config>.relayctl-state.json`): the plugin configuration refuses unknown fields, and
//! `rollback` right after `promote` needs to know which environment was active before.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Entries kept: the recent deployment log, not an archive.
const KEEP: usize = 100;

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub history: Vec<Entry>,
    /// The rollout in progress, or the last one (its `phase` says how it ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<crate::rollout_state::Rollout>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// RFC 3339 UTC time of the publish.
    pub at: String,
    /// `canary`, `promote` or `rollback`.
    pub kind: String,
    /// What was asked, e.g. `canary 10`.
    pub step: String,
    /// The `version` relayctl wrote into the plugin configuration.
    pub version: String,
    pub previous_version: Option<String>,
    pub active_before: String,
    pub active_after: String,
    /// Weights after the step, in percent.
    pub blue_weight: f64,
    pub green_weight: f64,
}

pub fn path_for(config: &Path) -> PathBuf {
    let mut name = config
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".relayctl-state.json");
    config.with_file_name(name)
}

impl State {
    /// The state next to `config`; a missing file is an empty history. A damaged one is
    /// reported and ignored (relayctl must still be able to roll back).
    pub fn load(config: &Path) -> (State, Option<String>) {
        let path = path_for(config);
        match std::fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (State::default(), None),
            Err(e) => (
                State::default(),
                Some(format!("cannot read {}: {e}; ignoring it", path.display())),
            ),
            Ok(text) => match serde_json::from_str(&text) {
                Ok(state) => (state, None),
                Err(e) => (
                    State::default(),
                    Some(format!(
                        "{} is not relayctl state ({e}); ignoring it",
                        path.display()
                    )),
                ),
            },
        }
    }

    pub fn save(&self, config: &Path) -> Result<(), String> {
        let mut text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        text.push('\n');
        crate::resource::write_atomic(&path_for(config), &text)
    }

    pub fn record(&mut self, entry: Entry) {
        self.history.push(entry);
        if self.history.len() > KEEP {
            let extra = self.history.len() - KEEP;
            self.history.drain(..extra);
        }
    }

    pub fn last(&self) -> Option<&Entry> {
        self.history.last()
    }

    /// The promote that `rollback` should undo: the last step, if it was a promote and the
    /// configuration still carries the version it published (nothing changed since).
    pub fn promote_to_undo(&self, current_version: Option<&str>) -> Option<&Entry> {
        self.last()
            .filter(|e| e.kind == "promote" && Some(e.version.as_str()) == current_version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, version: &str) -> Entry {
        Entry {
            at: "2026-11-25T12:00:00.000Z".into(),
            kind: kind.into(),
            step: kind.into(),
            version: version.into(),
            previous_version: None,
            active_before: "blue".into(),
            active_after: "green".into(),
            blue_weight: 0.0,
            green_weight: 100.0,
        }
    }

    #[test]
    fn sidecar_path_is_next_to_the_config() {
        assert_eq!(
            path_for(Path::new("/etc/ecds/bluegreen-relay.json")),
            PathBuf::from("/etc/ecds/bluegreen-relay.json.relayctl-state.json")
        );
    }

    #[test]
    fn undo_only_the_promote_still_in_force() {
        let mut state = State::default();
        assert!(state.promote_to_undo(Some("v1")).is_none());
        state.record(entry("promote", "v2"));
        assert!(state.promote_to_undo(Some("v2")).is_some());
        assert!(state.promote_to_undo(Some("edited-by-hand")).is_none());
        state.record(entry("canary", "v3"));
        assert!(state.promote_to_undo(Some("v3")).is_none());
    }

    #[test]
    fn history_is_bounded_and_round_trips() {
        let dir = std::env::temp_dir().join(format!("relayctl-state-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("bluegreen-relay.json");
        let mut state = State::default();
        for i in 0..(KEEP + 5) {
            state.record(entry("canary", &format!("v{i}")));
        }
        assert_eq!(state.history.len(), KEEP);
        assert_eq!(state.history[0].version, "v5");
        state.save(&config).unwrap();
        let (loaded, warning) = State::load(&config);
        assert_eq!(warning, None);
        assert_eq!(loaded, state);
        std::fs::write(path_for(&config), "{oops").unwrap();
        let (loaded, warning) = State::load(&config);
        assert_eq!(loaded, State::default());
        assert!(warning.unwrap().contains("ignoring it"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
