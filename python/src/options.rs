//! Keyword options shared by the environment classes: which data, which body, which sensors.

use std::path::PathBuf;

use env::body::AgentConfig;
use env::split_inputs::{load_split, LoadedSplit};
use env::task::{Sensors, VlnEnvConfig};
use pyo3::prelude::*;

use crate::errors::{require_exists, to_py, value_error};

/// `agent="r2r"` or `"rxr"`.
pub fn agent_config(agent: &str) -> PyResult<AgentConfig> {
    match agent {
        "r2r" => Ok(AgentConfig::r2r()),
        "rxr" => Ok(AgentConfig::rxr()),
        other => Err(value_error(format!(
            "agent {other:?}: expected \"r2r\" (1.5 m x 0.1 m, 15 degree turns) or \"rxr\" (0.88 m x 0.18 m, 30 degree turns)"
        ))),
    }
}

/// Where the episodes and scenes come from (None: the shipped world).
#[derive(Debug, Clone)]
pub struct DataOptions {
    pub dataset: Option<PathBuf>,
    pub split: String,
    pub scenes: Option<PathBuf>,
    pub agent: AgentConfig,
}

impl DataOptions {
    pub fn new(
        dataset: Option<PathBuf>,
        split: String,
        scenes: Option<PathBuf>,
        agent: &str,
    ) -> PyResult<Self> {
        if let Some(d) = &dataset {
            require_exists("dataset directory", d)?;
        }
        if let Some(s) = &scenes {
            require_exists("scenes directory", s)?;
        }
        Ok(DataOptions {
            dataset,
            split,
            scenes,
            agent: agent_config(agent)?,
        })
    }

    /// Loads the split and its scene library (`env::split_inputs`, as the CLI does), without the GIL.
    pub fn load(&self, py: Python<'_>) -> PyResult<LoadedSplit> {
        py.allow_threads(|| {
            load_split(
                self.dataset.as_deref(),
                self.scenes.as_deref(),
                &self.split,
                self.agent,
            )
        })
        .map_err(to_py)
    }
}

/// The task config of `VlnCeEnv(width=, height=, hfov=, depth=, max_steps=)`.
pub fn env_config(
    width: u32,
    height: u32,
    hfov: f32,
    depth: bool,
    max_steps: u32,
) -> PyResult<VlnEnvConfig> {
    let config = VlnEnvConfig {
        max_steps,
        sensors: if depth { Sensors::RGBD } else { Sensors::RGB },
        width,
        height,
        hfov_deg: hfov,
        ..VlnEnvConfig::default()
    };
    config.validate().map_err(to_py)?;
    Ok(config)
}
