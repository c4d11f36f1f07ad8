//! `NativeVecEnv`: N environments on N worker threads (`env::vec_env::VecEnv`), stepped in one call with
//! the GIL released, behind `vln_r1.VlnCeVectorEnv`. Gymnasium's NEXT_STEP autoreset is decided in Python
//! (which slots ended, which episode comes next); here a step resets those slots and steps the others.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use env::task::{Observation, ResetOptions, TaskDataset, VlnEnvConfig};
use env::vec_env::VecEnv;
use episodes::Action;
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;

use crate::errors::{to_py, value_error};
use crate::obs::{depth_batch, metrics_dict, rgb_batch};
use crate::options::{env_config, DataOptions};
use crate::single::{action_of, episode_list};

/// What one slot reports after a reset or a step.
struct SlotOut {
    observation: Observation,
    reward: f32,
    terminated: bool,
    truncated: bool,
    distance: f32,
    metrics: Option<env::measures::EpisodeMetrics>,
}

#[pyclass(module = "vln_r1._native")]
pub struct NativeVecEnv {
    envs: VecEnv,
    dataset: Arc<TaskDataset>,
    config: VlnEnvConfig,
}

/// The batch a reset or step returns: `(rgb, depth, instructions, rewards, terminated, truncated,
/// episode_ids, distances, metrics)`, arrays shaped `(n, ...)`.
type Batch = (
    PyObject,
    PyObject,
    Vec<String>,
    Py<PyArray1<f32>>,
    Py<PyArray1<bool>>,
    Py<PyArray1<bool>>,
    Vec<String>,
    Py<PyArray1<f32>>,
    Vec<Option<PyObject>>,
);

impl NativeVecEnv {
    fn requests(
        &self,
        resets: &[(usize, usize)],
    ) -> PyResult<Vec<(usize, Option<u64>, ResetOptions)>> {
        let n = self.envs.num_envs();
        resets
            .iter()
            .map(|&(slot, index)| {
                if slot >= n || index >= self.dataset.len() {
                    return Err(value_error(format!(
                        "reset: slot {slot} / episode index {index} out of range ({n} envs, {} episodes)",
                        self.dataset.len()
                    )));
                }
                Ok((slot, None, ResetOptions::Index(index)))
            })
            .collect()
    }

    /// Resets the `resets` slots and steps every other slot with its action; outputs in slot order.
    fn advance(
        &mut self,
        actions: &[Action],
        resets: Vec<(usize, Option<u64>, ResetOptions)>,
    ) -> env::Result<Vec<SlotOut>> {
        let n = self.envs.num_envs();
        let mut out: Vec<Option<SlotOut>> = (0..n).map(|_| None).collect();
        let reset_slots: Vec<usize> = resets.iter().map(|r| r.0).collect();
        if !resets.is_empty() {
            for (&slot, (observation, info)) in reset_slots.iter().zip(self.envs.reset(resets)?) {
                out[slot] = Some(SlotOut {
                    observation,
                    reward: 0.0,
                    terminated: false,
                    truncated: false,
                    distance: info.distance_to_goal,
                    metrics: None,
                });
            }
        }
        let steps: Vec<(usize, Action)> = (0..n)
            .filter(|s| !reset_slots.contains(s))
            .map(|s| (s, actions[s]))
            .collect();
        if !steps.is_empty() {
            for (&(slot, _), r) in steps.iter().zip(self.envs.step(&steps)?) {
                let done = r.done();
                out[slot] = Some(SlotOut {
                    reward: r.reward,
                    terminated: r.terminated,
                    truncated: r.truncated,
                    distance: r.info.distance_to_goal,
                    metrics: done.then_some(r.info.metrics),
                    observation: r.observation,
                });
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(slot, o)| {
                o.ok_or_else(|| {
                    env::EnvError::Invalid(format!(
                        "vec env: slot {slot} was neither reset nor stepped"
                    ))
                })
            })
            .collect()
    }

    fn batch(&self, py: Python<'_>, outs: Vec<SlotOut>) -> PyResult<Batch> {
        let (h, w) = (self.config.height, self.config.width);
        let mut observations = Vec::with_capacity(outs.len());
        let mut rewards = Vec::with_capacity(outs.len());
        let mut terminated = Vec::with_capacity(outs.len());
        let mut truncated = Vec::with_capacity(outs.len());
        let mut distances = Vec::with_capacity(outs.len());
        let mut metrics = Vec::with_capacity(outs.len());
        for o in outs {
            rewards.push(o.reward);
            terminated.push(o.terminated);
            truncated.push(o.truncated);
            distances.push(o.distance);
            metrics.push(match &o.metrics {
                Some(m) => Some(metrics_dict(py, m)?.into_any().unbind()),
                None => None,
            });
            observations.push(o.observation);
        }
        let rgb = rgb_batch(py, &observations, h, w)?;
        let depth = depth_batch(py, &observations, h, w)?.unwrap_or_else(|| py.None());
        let instructions = observations
            .iter()
            .map(|o| o.instruction.to_string())
            .collect();
        let ids = observations.iter().map(|o| o.episode_id.clone()).collect();
        Ok((
            rgb,
            depth,
            instructions,
            rewards.into_pyarray(py).unbind(),
            terminated.into_pyarray(py).unbind(),
            truncated.into_pyarray(py).unbind(),
            ids,
            distances.into_pyarray(py).unbind(),
            metrics,
        ))
    }
}

#[pymethods]
impl NativeVecEnv {
    #[new]
    #[pyo3(signature = (num_envs, dataset, split, scenes, agent, width, height, hfov, depth, max_steps))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        num_envs: usize,
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
        if num_envs == 0 {
            return Err(value_error("num_envs must be at least 1"));
        }
        let config = env_config(width, height, hfov, depth, max_steps)?;
        let loaded = DataOptions::new(dataset, split, scenes, agent)?.load(py)?;
        let dataset = loaded.dataset.clone();
        let envs = py
            .allow_threads(|| VecEnv::with_envs(num_envs, loaded.library, loaded.dataset, config))
            .map_err(to_py)?;
        Ok(NativeVecEnv {
            envs,
            dataset,
            config,
        })
    }

    fn num_envs(&self) -> usize {
        self.envs.num_envs()
    }

    fn episodes(&self) -> Vec<(String, String)> {
        episode_list(&self.dataset)
    }

    /// Resets every slot: `indices[slot]` is the episode (dataset index) it starts.
    fn reset(&mut self, py: Python<'_>, indices: Vec<usize>) -> PyResult<Batch> {
        if indices.len() != self.envs.num_envs() {
            return Err(value_error(format!(
                "reset: {} episode indices for {} envs",
                indices.len(),
                self.envs.num_envs()
            )));
        }
        let resets: Vec<(usize, usize)> = indices.into_iter().enumerate().collect();
        let requests = self.requests(&resets)?;
        let outs = py
            .allow_threads(|| self.advance(&[], requests))
            .map_err(to_py)?;
        self.batch(py, outs)
    }

    /// Resets the slots of `resets` (`(slot, episode index)`), steps every other slot with `actions[slot]`.
    fn step(
        &mut self,
        py: Python<'_>,
        actions: Vec<i64>,
        resets: Vec<(usize, usize)>,
    ) -> PyResult<Batch> {
        let n = self.envs.num_envs();
        if actions.len() != n {
            return Err(value_error(format!(
                "step: {} actions for {n} envs",
                actions.len()
            )));
        }
        let actions = actions
            .into_iter()
            .map(action_of)
            .collect::<PyResult<Vec<_>>>()?;
        let requests = self.requests(&resets)?;
        let outs = py
            .allow_threads(|| self.advance(&actions, requests))
            .map_err(to_py)?;
        self.batch(py, outs)
    }

    /// The same NEXT_STEP loop with no Python in it, for the overhead benchmark: `actions[t][slot]`, and the
    /// episode indices that the initial reset and each autoreset take, in the order they are needed.
    /// Returns `(env steps, seconds)`.
    fn rust_loop(
        &mut self,
        py: Python<'_>,
        actions: Vec<Vec<i64>>,
        episodes: Vec<usize>,
    ) -> PyResult<(usize, f64)> {
        let n = self.envs.num_envs();
        let actions = actions
            .into_iter()
            .map(|row| row.into_iter().map(action_of).collect::<PyResult<Vec<_>>>())
            .collect::<PyResult<Vec<_>>>()?;
        if actions.iter().any(|r| r.len() != n) {
            return Err(value_error(format!(
                "rust_loop: every row needs {n} actions"
            )));
        }
        let mut next = episodes.into_iter();
        let mut take = move || {
            next.next()
                .ok_or_else(|| value_error("rust_loop: ran out of episode indices"))
        };
        let first: Vec<(usize, usize)> =
            (0..n).map(|s| Ok((s, take()?))).collect::<PyResult<_>>()?;
        let first = self.requests(&first)?;
        let start = Instant::now();
        py.allow_threads(|| self.advance(&[], first))
            .map_err(to_py)?;
        let mut steps = 0usize;
        let mut ended = vec![false; n];
        for row in &actions {
            let mut resets = Vec::new();
            for (slot, e) in ended.iter().enumerate() {
                if *e {
                    resets.push((slot, take()?));
                }
            }
            let requests = self.requests(&resets)?;
            let outs = py
                .allow_threads(|| self.advance(row, requests))
                .map_err(to_py)?;
            for (e, o) in ended.iter_mut().zip(&outs) {
                *e = o.terminated || o.truncated;
            }
            steps += n;
        }
        Ok((steps, start.elapsed().as_secs_f64()))
    }
}
