//! R2R-CE-format episodes for the procedural houses, so that the whole pipeline runs without Matterport3D.
//!
//! Splits follow VLN-CE: `train` and `val_seen` in the training houses (new routes for `val_seen`), and
//! `val_unseen` in the held-out houses (`splits.json` of the scenes directory). Each episode has a start
//! and a goal in different rooms at an R2R-like geodesic distance, a random start heading, a sparse
//! reference path (waypoints ~2.5 m apart along the geodesic path), the expert's gt trajectory, and an
//! English instruction generated from the house's metadata ([`instruction`]). `instruction_tokens` and the
//! `instruction_vocab` (built from train, as R2R-CE's) are filled in ([`vocab`]).
//!
//! Everything is deterministic in the seed: each scene draws from its own generator (seeded from the run
//! seed and the scene name), so the output does not depend on the number of threads.
//!
//! The shipped dataset lives in `habitat_assets/data/R2R_VLNCE_shipped/` ([`shipped_dataset_dir`]) and is
//! regenerated with `vln-r1 episodes generate --scenes habitat_assets/scenes --out
//! habitat_assets/data/R2R_VLNCE_shipped` (defaults: seed 0, 20 / 10 / 50 episodes per scene).

pub mod gt;
pub mod instruction;
pub mod routes;
pub mod sample;
pub mod vocab;

use std::path::{Path, PathBuf};

use episodes::split::{split_file, FileKind};
use episodes::{
    Episode, EpisodeDataset, EpisodeInfo, Goal, GroundTruth, Id, Instruction,
    DEFAULT_SUCCESS_DISTANCE,
};
use habitat_assets::shipped::Splits;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

pub use gt::{gt_entry, make_gt, GtReport};
pub use instruction::{generate_instruction, realize, route_facts, RouteEvent, RouteFacts, Turn};
pub use routes::{AvoidedRoutes, TakenRoutes};
pub use sample::{resample_path, sample_episodes, SampleConfig, SampledEpisode};
pub use vocab::{tokenize, Vocab, MAX_INSTRUCTION_TOKENS};

use crate::error::{EnvError, Result};
use crate::rollout::episode_seed;
use crate::task::SceneLibrary;

/// The generated splits, in this order.
pub const SPLITS: [&str; 3] = ["train", "val_seen", "val_unseen"];

/// The shipped dataset: `habitat_assets/data/R2R_VLNCE_shipped` (scene ids relative to
/// `habitat_assets::shipped::scenes_dir()`).
pub fn shipped_dataset_dir() -> PathBuf {
    let scenes = habitat_assets::shipped::scenes_dir();
    scenes
        .parent()
        .map_or_else(|| PathBuf::from("data"), |p| p.join("data"))
        .join("R2R_VLNCE_shipped")
}

/// How many episodes and how they look.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GenerateConfig {
    pub seed: u64,
    /// Episodes per training house in `train`.
    pub train_per_scene: usize,
    /// Episodes per training house in `val_seen`.
    pub val_seen_per_scene: usize,
    /// Episodes per held-out house in `val_unseen`.
    pub val_unseen_per_scene: usize,
    pub sample: SampleConfig,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            seed: 0,
            train_per_scene: 20,
            val_seen_per_scene: 10,
            val_unseen_per_scene: 50,
            sample: SampleConfig::default(),
        }
    }
}

/// One generated split.
#[derive(Debug, Clone)]
pub struct GeneratedSplit {
    pub name: String,
    pub dataset: EpisodeDataset,
    pub gt: GroundTruth,
}

/// The `scene_id` of a scene name: its file name relative to the scenes directory.
fn scene_id(library: &SceneLibrary, name: &str) -> Result<String> {
    let id = format!("{name}.glb");
    crate::task::resolve_scene_path(library.scenes_dir(), &id)?;
    Ok(id)
}

/// A house's sampled episodes: its scene id, then train (or val_unseen) and val_seen episodes.
type SceneEpisodes = (String, Vec<SampledEpisode>, Vec<SampledEpisode>);

/// Generates the three splits over the houses of `splits` (names of scenes in the library's directory).
pub fn generate(
    library: &SceneLibrary,
    splits: &Splits,
    config: &GenerateConfig,
) -> Result<Vec<GeneratedSplit>> {
    generate_avoiding(library, splits, config, &AvoidedRoutes::default())
}

/// [`generate`], drawing no route that `avoid` holds (e.g. an extra train split clear of the shipped val_seen).
pub fn generate_avoiding(
    library: &SceneLibrary,
    splits: &Splits,
    config: &GenerateConfig,
    avoid: &AvoidedRoutes,
) -> Result<Vec<GeneratedSplit>> {
    // One job per house: train houses give (train, val_seen), held-out houses give val_unseen.
    let jobs: Vec<(&str, bool)> = splits
        .train
        .iter()
        .map(|n| (n.as_str(), true))
        .chain(splits.val_unseen.iter().map(|n| (n.as_str(), false)))
        .collect();
    let per_scene: Vec<Result<SceneEpisodes>> = jobs
        .par_iter()
        .map(|&(name, seen)| {
            let id = scene_id(library, name)?;
            let scene = library.get(&id)?;
            let mut rng = ChaCha8Rng::seed_from_u64(episode_seed(config.seed, name));
            let mut taken = avoid.taken_in(&id);
            let wanted = if seen {
                config.train_per_scene
            } else {
                config.val_unseen_per_scene
            };
            let first = sample_episodes(&scene, wanted, &config.sample, &mut rng, &mut taken)?;
            let second = if seen {
                sample_episodes(
                    &scene,
                    config.val_seen_per_scene,
                    &config.sample,
                    &mut rng,
                    &mut taken,
                )?
            } else {
                Vec::new()
            };
            Ok((id, first, second))
        })
        .collect();
    let per_scene = per_scene.into_iter().collect::<Result<Vec<_>>>()?;

    let mut train = Vec::new();
    let mut val_seen = Vec::new();
    let mut val_unseen = Vec::new();
    for ((id, first, second), &(_, seen)) in per_scene.into_iter().zip(&jobs) {
        if seen {
            train.extend(first.into_iter().map(|e| (id.clone(), e)));
            val_seen.extend(second.into_iter().map(|e| (id.clone(), e)));
        } else {
            val_unseen.extend(first.into_iter().map(|e| (id.clone(), e)));
        }
    }
    let vocab = Vocab::build(train.iter().map(|(_, e)| e.instruction.as_str()));
    let mut next_id = 1i64;
    let mut out = Vec::new();
    for (name, sampled) in SPLITS.into_iter().zip([train, val_seen, val_unseen]) {
        let mut episodes = Vec::with_capacity(sampled.len());
        let mut gt = GroundTruth::default();
        for (scene_id, s) in sampled {
            let id = next_id;
            next_id += 1;
            gt.entries.insert(id.to_string(), gt_entry(&s.expert));
            episodes.push(episode(id, scene_id, &s, &vocab));
        }
        let mut dataset = EpisodeDataset::new(episodes);
        dataset.instruction_vocab = Some(vocab.to_instruction_vocab());
        out.push(GeneratedSplit {
            name: name.to_owned(),
            dataset,
            gt,
        });
    }
    Ok(out)
}

fn episode(id: i64, scene_id: String, s: &SampledEpisode, vocab: &Vocab) -> Episode {
    Episode {
        episode_id: Id::Int(id),
        trajectory_id: Some(Id::Int(id)),
        scene_id,
        start_position: s.start_position,
        start_rotation: s.start_rotation,
        info: Some(EpisodeInfo {
            geodesic_distance: Some(s.geodesic_distance),
            ..EpisodeInfo::default()
        }),
        goals: vec![Goal::new(s.goal, DEFAULT_SUCCESS_DISTANCE)],
        reference_path: s.reference_path.clone(),
        instruction: Instruction {
            instruction_tokens: Some(vocab.encode(&s.instruction)),
            ..Instruction::from_text(s.instruction.clone())
        },
        extra: Default::default(),
    }
}

/// Writes `{out}/{split}/{split}.json.gz` and `{out}/{split}/{split}_gt.json.gz` for every split (atomic).
pub fn write_dataset(out: &Path, splits: &[GeneratedSplit]) -> Result<()> {
    for s in splits {
        if s.dataset.is_empty() {
            return Err(EnvError::Invalid(format!(
                "split {}: no episodes were generated",
                s.name
            )));
        }
        s.dataset
            .save(&split_file(out, &s.name, None, FileKind::Episodes))?;
        s.gt.save(&split_file(out, &s.name, None, FileKind::Gt))?;
    }
    Ok(())
}
