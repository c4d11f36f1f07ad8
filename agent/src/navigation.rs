//! What a navigation checkpoint was trained with: `navigation.json` beside its weights (memory sampler, N,
//! frame size and field of view, agent, the expert's stop radius). `--policy model:DIR` runs a checkpoint with
//! these, so an eval repeats none of them, and a flag that contradicts them is refused.
//!
//! SFT writes it from its sample store's `datagen.json`; every later stage (SFT from that model, offline and
//! closed-loop RFT) copies it from the model it started from (see `sft::checkpoint::save_model`).

use std::path::Path;

use env::body::AgentConfig;
use episodes::MemorySampler;
use serde::{Deserialize, Serialize};

use crate::checkpoint::write_atomic;
use crate::error::{AgentError, Result};

/// File name inside a checkpoint directory.
pub const NAVIGATION_FILE: &str = "navigation.json";

/// The committed navigator, `agent/checkpoints/tiny-nav` (trained by `scripts/train_navigator.sh`), where the
/// demo starts by default.
pub fn shipped_navigator_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints/tiny-nav")
}

/// Largest `num_actions` a checkpoint may predict per answer. VLN-R1 predicts 6; each action is a line of the
/// answer the model generates, so a larger N only makes every decision slower (100,000 takes minutes).
pub const MAX_NUM_ACTIONS: usize = 32;

/// The observation and action settings a navigation checkpoint expects.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NavigationSettings {
    /// History frames shown (the data's `datagen --memory`).
    pub memory: MemorySampler,
    /// N, the actions each answer predicts (`datagen --future`).
    pub num_actions: usize,
    /// RGB frame size and horizontal field of view of the training frames.
    pub width: u32,
    pub height: u32,
    pub hfov_deg: f32,
    /// The body and action space the actions were labelled with.
    pub agent: AgentConfig,
    /// The expert's STOP radius of the labels (`datagen --stop-radius`); None: the gt actions as they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_radius: Option<f32>,
    /// Predicted actions run per decision as the model was last trained (closed-loop RFT's
    /// `online.execute`); None: not trained closed-loop, so a run chooses (`eval --execute`, default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execute: Option<usize>,
    /// The STOP logit adjustment chosen for these weights on val_seen (`eval --stop-bias`'s default; the flag
    /// overrides it). A calibration of one set of weights: every training stage drops it (`retrained`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_bias: Option<f32>,
}

impl NavigationSettings {
    /// The settings of checkpoint `dir`; None when it has no `navigation.json` (a model not trained here).
    pub fn read(dir: &Path) -> Result<Option<NavigationSettings>> {
        let path = dir.join(NAVIGATION_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(AgentError::io(&path, e)),
        };
        let settings: NavigationSettings = serde_json::from_str(&text)
            .map_err(|e| AgentError::Input(format!("{}: {e}", path.display())))?;
        settings
            .validate()
            .map_err(|m| AgentError::Input(format!("{}: {m}", path.display())))?;
        Ok(Some(settings))
    }

    /// Writes `dir/navigation.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(NAVIGATION_FILE);
        self.validate()
            .map_err(|m| AgentError::Input(format!("{}: {m}", path.display())))?;
        let json = serde_json::to_string_pretty(self).expect("settings serialise");
        write_atomic(&path, json.as_bytes())
    }

    /// Records in checkpoint `dir` (if it has settings) that it was trained running `execute` actions per
    /// decision.
    pub fn record_execute(dir: &Path, execute: usize) -> Result<()> {
        match NavigationSettings::read(dir)? {
            Some(n) => NavigationSettings {
                execute: Some(execute),
                ..n.retrained()
            }
            .write(dir),
            None => Ok(()),
        }
    }

    /// The settings for new weights trained from these: the observations and actions stay, the STOP
    /// calibration of the old weights does not.
    pub fn retrained(self) -> NavigationSettings {
        NavigationSettings {
            stop_bias: None,
            ..self
        }
    }

    fn validate(&self) -> std::result::Result<(), String> {
        if self.num_actions == 0 || self.num_actions > MAX_NUM_ACTIONS {
            return Err(format!(
                "num_actions must be in 1..={MAX_NUM_ACTIONS}, got {}",
                self.num_actions
            ));
        }
        if let Some(e) = self.execute {
            if e == 0 || e > self.num_actions {
                return Err(format!(
                    "execute must be in 1..={}, got {e}",
                    self.num_actions
                ));
            }
        }
        if let Some(b) = self.stop_bias {
            if !b.is_finite() {
                return Err(format!("stop_bias must be a finite number, got {b}"));
            }
        }
        if self.width == 0 || self.height == 0 {
            return Err(format!(
                "width and height must be positive, got {}x{}",
                self.width, self.height
            ));
        }
        if !(self.hfov_deg > 0.0 && self.hfov_deg < 180.0) {
            return Err(format!(
                "hfov_deg must be in (0, 180), got {}",
                self.hfov_deg
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> NavigationSettings {
        NavigationSettings {
            memory: "long-short:1,1,1,1".parse().unwrap(),
            num_actions: 6,
            width: 112,
            height: 112,
            hfov_deg: 90.0,
            agent: AgentConfig::r2r(),
            stop_radius: Some(1.5),
            execute: None,
            stop_bias: None,
        }
    }

    #[test]
    fn execute_is_recorded_in_an_existing_file_only_and_drops_the_stop_bias() {
        let dir = tempfile::tempdir().unwrap();
        NavigationSettings::record_execute(dir.path(), 6).unwrap();
        assert_eq!(NavigationSettings::read(dir.path()).unwrap(), None);
        // Closed-loop training wrote new weights: the old weights' STOP calibration does not apply to them.
        let calibrated = NavigationSettings {
            stop_bias: Some(1.5),
            ..settings()
        };
        calibrated.write(dir.path()).unwrap();
        assert_eq!(
            NavigationSettings::read(dir.path()).unwrap(),
            Some(calibrated)
        );
        NavigationSettings::record_execute(dir.path(), 6).unwrap();
        let read = NavigationSettings::read(dir.path()).unwrap().unwrap();
        assert_eq!(read.execute, Some(6));
        assert_eq!(
            NavigationSettings {
                execute: None,
                ..read
            },
            settings()
        );
        NavigationSettings::record_execute(dir.path(), 7).unwrap_err();
    }

    #[test]
    fn round_trip_and_absent_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(NavigationSettings::read(dir.path()).unwrap(), None);
        settings().write(dir.path()).unwrap();
        assert_eq!(
            NavigationSettings::read(dir.path()).unwrap(),
            Some(settings())
        );
    }

    #[test]
    fn bad_files_name_the_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(NAVIGATION_FILE);
        let mut bad = serde_json::to_value(settings()).unwrap();
        bad["width"] = 0.into();
        std::fs::write(&path, bad.to_string()).unwrap();
        let err = NavigationSettings::read(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("navigation.json") && err.contains("width"),
            "{err}"
        );
        bad["width"] = 112.into();
        bad["memory"] = "sometimes".into();
        std::fs::write(&path, bad.to_string()).unwrap();
        let err = NavigationSettings::read(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("navigation.json") && err.contains("memory"),
            "{err}"
        );
    }

    #[test]
    fn num_actions_past_the_cap_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut bad = serde_json::to_value(settings()).unwrap();
        bad["num_actions"] = 100_000.into();
        std::fs::write(dir.path().join(NAVIGATION_FILE), bad.to_string()).unwrap();
        let err = NavigationSettings::read(dir.path())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("navigation.json") && err.contains("num_actions"),
            "{err}"
        );
        let most = NavigationSettings {
            num_actions: MAX_NUM_ACTIONS,
            ..settings()
        };
        most.write(dir.path()).unwrap();
    }
}
