//! Scenes and episode files: geodesic distances and the loading / validation of VLN-CE files, by the same
//! library calls as `vln-r1 nav geodesic` and `vln-r1 episodes validate`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use env::nav::{NavParams, PathFinder};
use episodes::split::{self, DataFile, FileKind};
use episodes::{EpisodeDataset, GroundTruth};
use pyo3::prelude::*;

use crate::errors::{require_exists, to_py};
use crate::options::agent_config;

/// Path finders by (scene file, agent), so repeated queries on one scene build its surface once.
type FinderCache = Mutex<HashMap<(PathBuf, String), Arc<PathFinder>>>;

fn finders() -> &'static FinderCache {
    static CACHE: OnceLock<FinderCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Geodesic distance in metres between two world points of a scene file (`inf` when no path joins them).
#[pyfunction]
#[pyo3(signature = (scene, a, b, agent="r2r"))]
pub fn geodesic_distance(
    py: Python<'_>,
    scene: PathBuf,
    a: [f32; 3],
    b: [f32; 3],
    agent: &str,
) -> PyResult<f32> {
    require_exists("scene", &scene)?;
    let config = agent_config(agent)?;
    let key = (scene.clone(), agent.to_owned());
    let cached = finders()
        .lock()
        .map_err(|_| crate::errors::value_error("path finder cache poisoned"))?
        .get(&key)
        .cloned();
    let pf = match cached {
        Some(pf) => pf,
        None => {
            let pf = py
                .allow_threads(|| -> env::Result<PathFinder> {
                    let loaded = habitat_assets::load_scene(&scene)?;
                    Ok(
                        PathFinder::load_or_build(&scene, &loaded, &config, &NavParams::default())?
                            .0,
                    )
                })
                .map_err(to_py)?;
            let pf = Arc::new(pf);
            if let Ok(mut cache) = finders().lock() {
                cache.insert(key, pf.clone());
            }
            pf
        }
    };
    py.allow_threads(|| pf.geodesic_distance(a, b))
        .map_err(to_py)
}

/// The episodes of one VLN-CE episode file (`.json` or `.json.gz`), validated, as JSON text.
#[pyfunction]
pub fn load_episodes(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    require_exists("episode file", &path)?;
    let d = py
        .allow_threads(|| EpisodeDataset::load(&path))
        .map_err(to_py)?;
    serde_json::to_string(&d.episodes).map_err(|e| crate::errors::value_error(e.to_string()))
}

/// The entries of one gt file, validated, as JSON text.
#[pyfunction]
pub fn load_gt(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    require_exists("gt file", &path)?;
    let gt = py
        .allow_threads(|| GroundTruth::load(&path))
        .map_err(to_py)?;
    serde_json::to_string(&gt.entries).map_err(|e| crate::errors::value_error(e.to_string()))
}

/// Validates a VLN-CE file, or every file of a dataset directory (one `split`, or all): `(path, kind,
/// records)` per file; the first invalid file raises with the file, record and field.
#[pyfunction]
#[pyo3(signature = (path, split=None))]
pub fn validate_episodes(
    py: Python<'_>,
    path: PathBuf,
    split: Option<String>,
) -> PyResult<Vec<(String, String, usize)>> {
    require_exists("dataset path", &path)?;
    py.allow_threads(
        || -> Result<Vec<(String, String, usize)>, episodes::EpisodeError> {
            let files = if path.is_file() {
                vec![DataFile {
                    split: String::new(),
                    role: None,
                    kind: split::kind_of_file(&path),
                    path: path.clone(),
                }]
            } else {
                split::discover(&path, split.as_deref())?
            };
            files
                .into_iter()
                .map(|f| {
                    let (kind, n) = match f.kind {
                        FileKind::Episodes => ("episodes", EpisodeDataset::load(&f.path)?.len()),
                        FileKind::Gt => ("gt", GroundTruth::load(&f.path)?.len()),
                    };
                    Ok((f.path.display().to_string(), kind.to_owned(), n))
                })
                .collect()
        },
    )
    .map_err(to_py)
}
