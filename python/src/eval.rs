//! Eval spread over workers (the Ray driver in `vln_r1.ray`): the driver owns the output directory of
//! `vln-r1 eval` (`eval.json`, `results.jsonl`, `metrics.json`: `env::eval`'s files, resumable, one line per
//! episode); workers play their share of episodes with `env::eval::evaluate`, the function the CLI runs, and
//! hand back the result lines.

use std::path::PathBuf;
use std::sync::Arc;

use env::eval::{evaluate, summarize, EpisodeResult, EvalDir, EvalSpec, ResultsLog};
use env::policy::{Policy, PolicyInput, PolicySpec};
use env::task::{ResetInfo, SceneLibrary, Sensors, TaskDataset, VlnEnvConfig};
use env::vec_env::VecEnv;
use env::EnvError;
use episodes::Action;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::errors::{to_py, value_error};
use crate::obs::{depth_array, rgb_array};
use crate::options::{env_config, DataOptions};

/// A built-in policy by its command-line name (`expert` is the CLI's `oracle`); `None` for any other name,
/// which a Python policy carries.
fn builtin(name: &str) -> PyResult<Option<PolicySpec>> {
    let name = if name == "expert" { "oracle" } else { name };
    match name.parse::<PolicySpec>().map_err(to_py)? {
        PolicySpec::External { .. } => Ok(None),
        spec => Ok(Some(spec)),
    }
}

/// The name a policy writes into `eval.json` / `metrics.json` (the CLI's `policy.name()`).
fn policy_name(name: &str) -> PyResult<String> {
    Ok(match builtin(name)? {
        Some(spec) => spec.build().map_err(to_py)?.name(),
        None => name.to_owned(),
    })
}

#[pyclass(module = "vln_r1._native")]
pub struct EvalRun {
    dataset: Arc<TaskDataset>,
    selection: Vec<usize>,
    dir: EvalDir,
    spec: EvalSpec,
    log: ResultsLog,
}

#[pymethods]
impl EvalRun {
    /// Opens (or resumes) the eval directory `out` for `policy` on the first `episodes` of `split`.
    #[new]
    #[pyo3(signature = (out, policy, dataset, split, scenes, agent, seed, max_steps, episodes))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        out: PathBuf,
        policy: &str,
        dataset: Option<PathBuf>,
        split: String,
        scenes: Option<PathBuf>,
        agent: &str,
        seed: u64,
        max_steps: u32,
        episodes: Option<usize>,
    ) -> PyResult<Self> {
        let config = VlnEnvConfig {
            max_steps,
            ..VlnEnvConfig::default()
        };
        config.validate().map_err(to_py)?;
        let loaded = DataOptions::new(dataset, split.clone(), scenes, agent)?.load(py)?;
        let selection =
            env::split_inputs::first_episodes(&loaded, &split, episodes).map_err(to_py)?;
        let spec = EvalSpec {
            policy: policy_name(policy)?,
            dataset: loaded.dataset_dir.display().to_string(),
            split,
            seed,
            max_steps,
            success_distance: config.success_distance,
        };
        let dir = EvalDir::new(out);
        dir.check_or_write_spec(&spec).map_err(to_py)?;
        let log = ResultsLog::open(&dir.results_path()).map_err(to_py)?;
        Ok(EvalRun {
            dataset: loaded.dataset,
            selection,
            dir,
            spec,
            log,
        })
    }

    /// The policy name stored in `eval.json`.
    fn policy(&self) -> String {
        self.spec.policy.clone()
    }

    /// Ids of the selected episodes with no result yet, in dataset order.
    fn todo(&self) -> Vec<String> {
        self.selection
            .iter()
            .filter_map(|&i| self.dataset.episode(i))
            .map(|e| e.episode_id.key())
            .filter(|id| self.log.get(id).is_none())
            .collect()
    }

    /// Number of selected episodes.
    fn selected(&self) -> usize {
        self.selection.len()
    }

    /// Appends result lines from a worker (JSON, as `results.jsonl` holds them); a result already in the log
    /// is skipped, so no episode is counted twice. Returns how many were appended.
    fn append(&mut self, lines: Vec<String>) -> PyResult<usize> {
        let mut appended = 0;
        for line in lines {
            let r: EpisodeResult = serde_json::from_str(&line)
                .map_err(|e| value_error(format!("worker result {line:?}: {e}")))?;
            match self.dataset.index_of(&r.episode_id) {
                Some(i) if self.selection.contains(&i) => {}
                _ => {
                    return Err(value_error(format!(
                        "worker result for episode {}: not one of the selected episodes",
                        r.episode_id
                    )))
                }
            }
            if self.log.get(&r.episode_id).is_none() {
                self.log.append(&r).map_err(to_py)?;
                appended += 1;
            }
        }
        Ok(appended)
    }

    /// Writes `metrics.json` (every selected episode must have its result) and returns its text.
    fn finish(&self) -> PyResult<String> {
        let summary = summarize(&self.dataset, &self.selection, &self.log).map_err(to_py)?;
        self.dir
            .write_metrics(&self.spec, &summary)
            .map_err(to_py)?;
        let path = self.dir.metrics_path();
        std::fs::read_to_string(&path).map_err(|e| to_py(EnvError::Io { path, source: e }))
    }
}

/// A Python policy: `policy(observations) -> actions`, with an optional `policy.reset(slot, episode_id,
/// seed)` at every episode start. Each observation is a dict with `slot`, `episode_id`, `instruction`,
/// `step`, `rgb` (and `depth` when the worker renders it).
struct PyPolicy {
    object: Py<PyAny>,
    name: String,
    sensors: Sensors,
}

impl PyPolicy {
    fn fail(&self, e: PyErr) -> EnvError {
        EnvError::Invalid(format!("policy {}: {e}", self.name))
    }

    fn observations<'py>(
        &self,
        py: Python<'py>,
        batch: &[PolicyInput<'_>],
    ) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for input in batch {
            let o = input.observation;
            let d = PyDict::new(py);
            d.set_item("slot", input.slot)?;
            d.set_item("episode_id", o.episode_id.as_str())?;
            d.set_item("instruction", PyString::new(py, &o.instruction))?;
            d.set_item("step", o.step)?;
            if let Some(f) = &o.rgb {
                d.set_item("rgb", rgb_array(py, f.clone())?)?;
            }
            if let Some(f) = &o.depth {
                d.set_item("depth", depth_array(py, f.clone())?)?;
            }
            list.append(d)?;
        }
        Ok(list)
    }
}

impl Policy for PyPolicy {
    fn name(&self) -> String {
        self.name.clone()
    }
    fn sensors(&self) -> Sensors {
        self.sensors
    }
    fn reset(&mut self, slot: usize, start: &ResetInfo) -> env::Result<()> {
        Python::with_gil(|py| {
            let object = self.object.bind(py);
            if object.hasattr("reset")? {
                object.call_method1("reset", (slot, start.episode.episode_id.key(), start.seed))?;
            }
            Ok(())
        })
        .map_err(|e| self.fail(e))
    }
    fn act(&mut self, batch: &[PolicyInput<'_>]) -> env::Result<Vec<Action>> {
        let ids: Vec<i64> = Python::with_gil(|py| {
            let observations = self.observations(py, batch)?;
            self.object.bind(py).call1((observations,))?.extract()
        })
        .map_err(|e| self.fail(e))?;
        ids.into_iter()
            .map(|id| {
                Action::from_id(id).filter(|_| id <= 3).ok_or_else(|| {
                    EnvError::Invalid(format!(
                        "policy {}: action {id} is not a Habitat action id 0..=3",
                        self.name
                    ))
                })
            })
            .collect()
    }
}

#[pyclass(module = "vln_r1._native")]
pub struct EvalWorker {
    library: Arc<SceneLibrary>,
    dataset: Arc<TaskDataset>,
    config: VlnEnvConfig,
    envs: usize,
}

#[pymethods]
impl EvalWorker {
    #[new]
    #[pyo3(signature = (dataset, split, scenes, agent, width, height, hfov, depth, max_steps, envs))]
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
        envs: usize,
    ) -> PyResult<Self> {
        let config = env_config(width, height, hfov, depth, max_steps)?;
        let loaded = DataOptions::new(dataset, split, scenes, agent)?.load(py)?;
        Ok(EvalWorker {
            library: loaded.library,
            dataset: loaded.dataset,
            config,
            envs: envs.max(1),
        })
    }

    /// Plays `episode_ids` with `policy` (a built-in name such as `"expert"` / `"random"`, or a Python
    /// policy named `name`) and returns their result lines.
    #[pyo3(signature = (episode_ids, seed, policy, name=None))]
    fn run(
        &self,
        py: Python<'_>,
        episode_ids: Vec<String>,
        seed: u64,
        policy: Py<PyAny>,
        name: Option<String>,
    ) -> PyResult<Vec<String>> {
        let mut policy: Box<dyn Policy> = match policy.bind(py).downcast::<PyString>() {
            Ok(s) => {
                let s: String = s.extract()?;
                let s = s.as_str();
                builtin(s)?
                    .ok_or_else(|| value_error(format!("policy {s:?}: not a built-in policy (expert, random, forward, oracle, replay:FILE); pass a factory")))?
                    .build()
                    .map_err(to_py)?
            }
            Err(_) => Box::new(PyPolicy {
                object: policy,
                name: name.unwrap_or_else(|| "python".into()),
                sensors: self.config.sensors,
            }),
        };
        let selection = episode_ids
            .iter()
            .map(|id| {
                self.dataset
                    .index_of(id)
                    .ok_or_else(|| value_error(format!("no episode with id {id:?} in the split")))
            })
            .collect::<PyResult<Vec<usize>>>()?;
        let config = VlnEnvConfig {
            sensors: policy.sensors(),
            ..self.config
        };
        let scratch =
            tempfile::tempdir().map_err(|e| value_error(format!("scratch directory: {e}")))?;
        let (library, dataset, envs) = (
            self.library.clone(),
            self.dataset.clone(),
            self.envs.min(selection.len().max(1)),
        );
        let mut lines = Vec::new();
        py.allow_threads(|| -> env::Result<()> {
            let mut vec_env = VecEnv::with_envs(envs, library.clone(), dataset.clone(), config)?;
            let mut log = ResultsLog::open(&scratch.path().join("results.jsonl"))?;
            let mut on_result = |r: &EpisodeResult| {
                lines.push(serde_json::to_string(r).expect("a result serialises"));
            };
            evaluate(
                &mut vec_env,
                policy.as_mut(),
                &library,
                &dataset,
                &selection,
                seed,
                &mut log,
                &mut on_result,
            )?;
            Ok(())
        })
        .map_err(to_py)?;
        Ok(lines)
    }
}
