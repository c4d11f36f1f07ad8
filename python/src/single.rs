//! `NativeEnv`: one VLN-CE environment (`env::task::VlnEnv`) and the expert of its episode, behind
//! `vln_r1.VlnCeEnv`.

use std::path::PathBuf;

use env::nav::{Expert, FollowerConfig};
use env::task::{Env, Observation, ResetOptions, VlnEnv};
use episodes::Action;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{to_py, value_error};
use crate::obs::{depth_array, metrics_dict, rgb_array};
use crate::options::{env_config, DataOptions};

/// A Habitat action id (0 STOP, 1 FORWARD, 2 LEFT, 3 RIGHT) as an action.
pub fn action_of(id: i64) -> PyResult<Action> {
    match Action::from_id(id) {
        Some(a) if id <= 3 => Ok(a),
        _ => Err(value_error(format!(
            "action {id}: expected a Habitat action id 0 (STOP), 1 (MOVE_FORWARD), 2 (TURN_LEFT) or 3 (TURN_RIGHT)"
        ))),
    }
}

/// `(episode_id, instruction)` of every episode of a dataset, in order.
pub fn episode_list(dataset: &env::task::TaskDataset) -> Vec<(String, String)> {
    dataset
        .episodes()
        .iter()
        .map(|e| (e.episode_id.key(), e.instruction.instruction_text.clone()))
        .collect()
}

/// `(rgb, depth or None, instruction)` of an observation.
pub fn observation_parts(py: Python<'_>, o: Observation) -> PyResult<(PyObject, PyObject, String)> {
    let rgb = match o.rgb {
        Some(f) => rgb_array(py, f)?,
        None => py.None(),
    };
    let depth = match o.depth {
        Some(f) => depth_array(py, f)?,
        None => py.None(),
    };
    Ok((rgb, depth, o.instruction.to_string()))
}

#[pyclass(module = "vln_r1._native")]
pub struct NativeEnv {
    env: VlnEnv,
    expert: Option<Expert>,
    /// The expert's answer for the current step, so that asking twice does not advance its plan.
    expert_answer: Option<(u32, Action)>,
    steps: u32,
}

#[pymethods]
impl NativeEnv {
    #[new]
    #[pyo3(signature = (dataset, split, scenes, agent, width, height, hfov, depth, max_steps))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        dataset: Option<PathBuf>,
        split: String,
        scenes: Option<PathBuf>,
        agent: &str,
        width: u32,
        height: u32,
        hfov: f32,
        depth: bool,
        max_steps: u32,
    ) -> PyResult<Self> {
        let config = env_config(width, height, hfov, depth, max_steps)?;
        let loaded = DataOptions::new(dataset, split, scenes, agent)?.load(py)?;
        let env = VlnEnv::new(loaded.library, loaded.dataset, config).map_err(to_py)?;
        Ok(NativeEnv {
            env,
            expert: None,
            expert_answer: None,
            steps: 0,
        })
    }

    /// `(episode_id, instruction)` of every episode, in dataset order.
    fn episodes(&self) -> Vec<(String, String)> {
        episode_list(self.env.dataset())
    }

    /// The dataset directory the episodes were loaded from is not kept; the scene directory is.
    fn scenes_dir(&self) -> PathBuf {
        self.env.library().scenes_dir().to_path_buf()
    }

    /// Starts episode `index` (dataset order): `(rgb, depth, instruction, info)`.
    fn reset(
        &mut self,
        py: Python<'_>,
        index: usize,
    ) -> PyResult<(PyObject, PyObject, String, PyObject)> {
        let (obs, info) = py
            .allow_threads(|| self.env.reset(None, &ResetOptions::Index(index)))
            .map_err(to_py)?;
        self.expert = Some(Expert::new(&info, FollowerConfig::default()).map_err(to_py)?);
        self.expert_answer = None;
        self.steps = 0;
        let d = PyDict::new(py);
        d.set_item("episode_id", info.episode.episode_id.key())?;
        d.set_item("instruction", obs.instruction.to_string())?;
        d.set_item("distance_to_goal", info.distance_to_goal)?;
        d.set_item("scene_id", info.episode.scene_id.clone())?;
        let (rgb, depth, instruction) = observation_parts(py, obs)?;
        Ok((rgb, depth, instruction, d.into_any().unbind()))
    }

    /// One action: `(rgb, depth, instruction, reward, terminated, truncated, info)`.
    #[allow(clippy::type_complexity)]
    fn step(
        &mut self,
        py: Python<'_>,
        action: i64,
    ) -> PyResult<(PyObject, PyObject, String, f32, bool, bool, PyObject)> {
        let action = action_of(action)?;
        let step = py.allow_threads(|| self.env.step(action)).map_err(to_py)?;
        self.steps += 1;
        let d = PyDict::new(py);
        d.set_item("episode_id", step.info.episode_id.clone())?;
        d.set_item("instruction", step.observation.instruction.to_string())?;
        d.set_item("distance_to_goal", step.info.distance_to_goal)?;
        d.set_item("collided", step.info.collided)?;
        if step.done() {
            d.set_item("metrics", metrics_dict(py, &step.info.metrics)?)?;
        }
        let (terminated, truncated, reward) = (step.terminated, step.truncated, step.reward);
        let (rgb, depth, instruction) = observation_parts(py, step.observation)?;
        Ok((
            rgb,
            depth,
            instruction,
            reward,
            terminated,
            truncated,
            d.into_any().unbind(),
        ))
    }

    /// The expert follower's next action from the agent's current pose (a Habitat action id).
    fn expert_action(&mut self, py: Python<'_>) -> PyResult<i64> {
        if let Some((step, a)) = self.expert_answer {
            if step == self.steps {
                return Ok(i64::from(a.id()));
            }
        }
        let state = self
            .env
            .agent_state()
            .ok_or_else(|| value_error("expert_action: reset the environment first"))?;
        let expert = self
            .expert
            .as_mut()
            .ok_or_else(|| value_error("expert_action: reset the environment first"))?;
        let action = py.allow_threads(|| expert.act(state)).map_err(to_py)?;
        self.expert_answer = Some((self.steps, action));
        Ok(i64::from(action.id()))
    }
}
