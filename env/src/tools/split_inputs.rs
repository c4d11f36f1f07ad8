//! Loading what a run over a split needs (the split, its scenes, and for datagen its gt actions), shared by
//! the CLI (`eval`, `rollout`, `datagen`, `rft --online`) and the Python package, so both resolve their
//! inputs and reject bad ones the same way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use episodes::EpisodeFilter;

use crate::body::AgentConfig;
use crate::datagen::{load_gt_actions, DatagenInput};
use crate::error::{EnvError, Result};
use crate::nav::NavParams;
use crate::task::{SceneLibrary, TaskDataset};

/// A split of a VLN-CE dataset and the scenes its episodes run in.
pub struct LoadedSplit {
    pub dataset_dir: PathBuf,
    pub library: Arc<SceneLibrary>,
    pub dataset: Arc<TaskDataset>,
}

/// Loads `split` of `dataset` (default: the shipped dataset) with its scenes under `scenes` (default: the
/// shipped houses) for an agent body.
pub fn load_split(
    dataset: Option<&Path>,
    scenes: Option<&Path>,
    split: &str,
    agent: AgentConfig,
) -> Result<LoadedSplit> {
    load_split_reading(dataset, scenes, split, agent, None)
}

/// [`load_split`] with the scene files' axis convention forced (`--scene-up`); None: habitat's rule (up +Z,
/// or what a scene dataset config at the root of the scenes says).
pub fn load_split_reading(
    dataset: Option<&Path>,
    scenes: Option<&Path>,
    split: &str,
    agent: AgentConfig,
    scene_up: Option<habitat_assets::SceneUp>,
) -> Result<LoadedSplit> {
    let dataset_dir =
        dataset.map_or_else(crate::episode_gen::shipped_dataset_dir, Path::to_path_buf);
    let scenes = scenes.map_or_else(habitat_assets::shipped::scenes_dir, Path::to_path_buf);
    let dataset = TaskDataset::load_split(&dataset_dir, split, &EpisodeFilter::default())?;
    let library = SceneLibrary::new(&scenes, agent, NavParams::default())?.with_scene_up(scene_up);
    Ok(LoadedSplit {
        dataset_dir,
        library: Arc::new(library),
        dataset: Arc::new(dataset),
    })
}

/// The first `limit` episode indices of a split (all when `None`); an error when that leaves none.
pub fn first_episodes(
    loaded: &LoadedSplit,
    split: &str,
    limit: Option<usize>,
) -> Result<Vec<usize>> {
    let n = limit.map_or(loaded.dataset.len(), |k| k.min(loaded.dataset.len()));
    if n == 0 {
        return Err(EnvError::Invalid(format!(
            "split {split} of {} has no episodes to run",
            loaded.dataset_dir.display()
        )));
    }
    Ok((0..n).collect())
}

/// A loaded split with its gt actions (what datagen replays), and the first `limit` episodes.
pub fn datagen_input(
    loaded: LoadedSplit,
    split: &str,
    limit: Option<usize>,
) -> Result<(DatagenInput, Vec<usize>)> {
    let actions = load_gt_actions(&loaded.dataset_dir, split)?;
    if actions.is_empty() {
        return Err(EnvError::Invalid(format!(
            "split {split} of {} has no gt file ({split}_gt.json.gz): datagen replays gt actions",
            loaded.dataset_dir.display()
        )));
    }
    let selection = first_episodes(&loaded, split, limit)?;
    Ok((
        DatagenInput {
            library: loaded.library,
            dataset: loaded.dataset,
            actions,
            dataset_dir: loaded.dataset_dir.display().to_string(),
            split: split.to_owned(),
        },
        selection,
    ))
}
