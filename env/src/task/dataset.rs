//! The episodes an environment replays, with their gt locations (for nDTW) when a gt file exists.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use episodes::split::{self, EpisodeFilter, FileKind, Role};
use episodes::{Episode, EpisodeDataset, GroundTruth};

use crate::error::{EnvError, Result};

/// A split's episodes, shared read-only by every environment of a run.
#[derive(Debug, Clone, Default)]
pub struct TaskDataset {
    episodes: Vec<Arc<Episode>>,
    index: HashMap<String, usize>,
    gt_locations: HashMap<String, Arc<[[f32; 3]]>>,
    /// gt entries left out because they break a rule, by episode id: why (naming file and field).
    gt_problems: BTreeMap<String, String>,
}

impl TaskDataset {
    /// Episodes in file order; `gt` supplies the reference locations of nDTW (entries of other episodes are
    /// ignored). Episode ids must be unique (they are once loaded through `EpisodeDataset`).
    pub fn new(dataset: EpisodeDataset, gt: Option<&GroundTruth>) -> Result<Self> {
        let mut index = HashMap::with_capacity(dataset.episodes.len());
        let mut gt_locations = HashMap::new();
        let mut episodes = Vec::with_capacity(dataset.episodes.len());
        for (i, e) in dataset.episodes.into_iter().enumerate() {
            let key = e.episode_id.key();
            if index.insert(key.clone(), i).is_some() {
                return Err(EnvError::Invalid(format!(
                    "episode {key}: duplicate episode id in the task dataset"
                )));
            }
            if let Some(entry) = gt.and_then(|g| g.get(&key)) {
                let locations: Vec<[f32; 3]> = entry
                    .locations
                    .iter()
                    .map(|p| p.map(|v| v as f32))
                    .collect();
                gt_locations.insert(key, locations.into());
            }
            episodes.push(Arc::new(e));
        }
        Ok(TaskDataset {
            episodes,
            index,
            gt_locations,
            gt_problems: BTreeMap::new(),
        })
    }

    /// Loads a split of a VLN-CE dataset directory (R2R-CE or RxR-CE layout, see `episodes::split`) and the
    /// matching gt files when present.
    pub fn load_split(root: &Path, split_name: &str, filter: &EpisodeFilter) -> Result<Self> {
        let dataset = split::load_split(root, split_name, filter)?;
        let mut gt = GroundTruth::default();
        let mut problems = BTreeMap::new();
        let roles: Vec<Option<Role>> = std::iter::once(None).chain(Role::ALL.map(Some)).collect();
        for role in roles {
            if let Some(path) = split::find_split_file(root, split_name, role, FileKind::Gt) {
                // A gt entry that breaks a rule is left out (and reported), not the end of the split.
                let (file, bad) = GroundTruth::load_skipping_invalid(&path)?;
                gt.entries.extend(file.entries);
                problems.extend(bad.into_iter().map(|(id, e)| (id, e.to_string())));
            }
        }
        let mut task = TaskDataset::new(dataset, Some(&gt))?;
        task.gt_problems = problems;
        Ok(task)
    }

    /// The gt entries [`load_split`](Self::load_split) left out because they break a rule, by episode id:
    /// why, naming the file and field. Their episodes run without gt (datagen skips them as `bad_gt`).
    pub fn gt_problems(&self) -> &BTreeMap<String, String> {
        &self.gt_problems
    }

    pub fn len(&self) -> usize {
        self.episodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.episodes.is_empty()
    }

    pub fn episode(&self, index: usize) -> Option<&Arc<Episode>> {
        self.episodes.get(index)
    }

    pub fn episodes(&self) -> &[Arc<Episode>] {
        &self.episodes
    }

    /// The index of an episode by its id (Habitat string form).
    pub fn index_of(&self, episode_id: &str) -> Option<usize> {
        self.index.get(episode_id).copied()
    }

    /// The gt `locations` of an episode, when the gt file has it.
    pub fn gt_locations(&self, episode_id: &str) -> Option<&Arc<[[f32; 3]]>> {
        self.gt_locations.get(episode_id)
    }

    /// How many episodes have gt locations.
    pub fn gt_count(&self) -> usize {
        self.gt_locations.len()
    }
}
