//! `vln_r1.datagen(...)`: VLN-Ego data with the options of `vln-r1 datagen`, by the same library calls
//! (`env::split_inputs::datagen_input`, `env::datagen::generate`); plus the pieces the Ray driver spreads
//! over workers (`env::datagen::shards`).

use std::path::{Path, PathBuf};

use env::datagen::shards::{collect, install, pending, prepare, TrajectoryFiles};
use env::datagen::{generate, DatagenConfig, DatagenInput, Perturbation, DEFAULT_SHARD_SAMPLES};
use episodes::MemorySampler;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::errors::{to_py, value_error};
use crate::options::DataOptions;

/// A split loaded for datagen with its settings: the CLI's `vln-r1 datagen` options, minus `--out`.
#[pyclass(module = "vln_r1._native")]
pub struct DatagenJob {
    input: DatagenInput,
    selection: Vec<usize>,
    config: DatagenConfig,
    shard_samples: usize,
}

/// `(trajectory key, [(file name, bytes)])`, as workers hand trajectory directories to the driver.
type Shipped = Vec<(String, Vec<(String, Py<PyBytes>)>)>;
/// The same, as the driver receives it.
type Received<'py> = Vec<(String, Vec<(String, Bound<'py, PyBytes>)>)>;

impl DatagenJob {
    fn indices(&self, ids: &[String]) -> PyResult<Vec<usize>> {
        ids.iter()
            .map(|id| {
                self.input
                    .dataset
                    .index_of(id)
                    .ok_or_else(|| value_error(format!("no episode with id {id:?} in the split")))
            })
            .collect()
    }

    fn run_generate(&self, py: Python<'_>, selection: &[usize], out: &Path) -> PyResult<String> {
        let stats = py
            .allow_threads(|| {
                generate(
                    &self.input,
                    selection,
                    out,
                    &self.config,
                    self.shard_samples,
                    &|_| {},
                )
            })
            .map_err(to_py)?;
        if stats.samples == 0 {
            return Err(value_error(
                "no samples: every trajectory was skipped (stats.json lists the reasons)",
            ));
        }
        serde_json::to_string(&stats).map_err(|e| value_error(e.to_string()))
    }
}

#[pymethods]
impl DatagenJob {
    #[new]
    #[pyo3(signature = (dataset=None, split="train".to_owned(), future=6, width=640, height=480, hfov=90.0,
        memory="long-short", jpeg_quality=90, scenes=None, agent="r2r", episodes=None,
        shard_samples=DEFAULT_SHARD_SAMPLES, max_steps=env::task::DEFAULT_MAX_STEPS, perturbed_runs=0,
        perturb_rate=0.1, perturb_burst=4, perturb_seed=0, stop_radius=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        dataset: Option<PathBuf>,
        split: String,
        future: usize,
        width: u32,
        height: u32,
        hfov: f32,
        memory: &str,
        jpeg_quality: u8,
        scenes: Option<PathBuf>,
        agent: &str,
        episodes: Option<usize>,
        shard_samples: usize,
        max_steps: u32,
        perturbed_runs: u32,
        perturb_rate: f32,
        perturb_burst: u32,
        perturb_seed: u64,
        stop_radius: Option<f32>,
    ) -> PyResult<Self> {
        let memory: MemorySampler = memory.parse().map_err(to_py)?;
        let config = DatagenConfig {
            num_actions: future,
            width,
            height,
            hfov_deg: hfov,
            memory,
            jpeg_quality,
            max_steps,
            perturb: Perturbation {
                runs: perturbed_runs,
                rate: perturb_rate,
                max_burst: perturb_burst,
                seed: perturb_seed,
            },
            stop_radius,
            ..DatagenConfig::default()
        };
        config.validate().map_err(to_py)?;
        let options = DataOptions::new(dataset, split.clone(), scenes, agent)?;
        let loaded = options.load(py)?;
        let (input, selection) =
            env::split_inputs::datagen_input(loaded, &split, episodes).map_err(to_py)?;
        Ok(DatagenJob {
            input,
            selection,
            config,
            shard_samples,
        })
    }

    /// The whole run into `out` (what `vln-r1 datagen --out OUT` does); returns `stats.json`'s text.
    fn generate(&self, py: Python<'_>, out: PathBuf) -> PyResult<String> {
        self.run_generate(py, &self.selection, &out)
    }

    /// Driver: checks `out`'s settings and lists the selected episodes still to render.
    fn pending(&self, py: Python<'_>, out: PathBuf) -> PyResult<Vec<String>> {
        let todo = py
            .allow_threads(|| {
                prepare(&self.input, &out, &self.config)?;
                pending(&self.input, &self.selection, &out, &self.config)
            })
            .map_err(to_py)?;
        Ok(todo
            .into_iter()
            .filter_map(|i| self.input.dataset.episode(i))
            .map(|e| e.episode_id.key())
            .collect())
    }

    /// Worker: renders the trajectories of `episode_ids` into a scratch directory and returns their files.
    fn render(&self, py: Python<'_>, episode_ids: Vec<String>) -> PyResult<Shipped> {
        let selection = self.indices(&episode_ids)?;
        let scratch =
            tempfile::tempdir().map_err(|e| value_error(format!("scratch directory: {e}")))?;
        let trajectories = py
            .allow_threads(|| {
                generate(
                    &self.input,
                    &selection,
                    scratch.path(),
                    &self.config,
                    usize::MAX,
                    &|_| {},
                )?;
                collect(scratch.path())
            })
            .map_err(to_py)?;
        Ok(trajectories
            .into_iter()
            .map(|t| {
                let files = t
                    .files
                    .into_iter()
                    .map(|(name, bytes)| (name, PyBytes::new(py, &bytes).unbind()))
                    .collect();
                (t.key, files)
            })
            .collect())
    }

    /// Driver: installs trajectory directories from a worker into `out`; returns how many were new.
    fn install(&self, py: Python<'_>, out: PathBuf, trajectories: Received<'_>) -> PyResult<usize> {
        let owned: Vec<TrajectoryFiles> = trajectories
            .into_iter()
            .map(|(key, files)| TrajectoryFiles {
                key,
                files: files
                    .into_iter()
                    .map(|(n, b)| (n, b.as_bytes().to_vec()))
                    .collect(),
            })
            .collect();
        py.allow_threads(|| -> env::Result<usize> {
            let mut new = 0;
            for t in &owned {
                new += usize::from(install(&out, t)?);
            }
            Ok(new)
        })
        .map_err(to_py)
    }
}
