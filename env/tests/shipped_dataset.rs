//! The shipped dataset (`habitat_assets/data/R2R_VLNCE_shipped`) matches the shipped scenes and the current
//! simulator: its splits load, its scene ids resolve, and the first val_unseen episodes replay their gt
//! actions onto their gt locations (to within a centimetre) and are solved by the oracle. A failure here means the scenes, the agent
//! physics or the expert changed: regenerate the dataset (see `env::episode_gen`).

use std::collections::HashSet;
use std::sync::Arc;

use env::episode_gen::{make_gt, shipped_dataset_dir};
use env::nav::{FollowerConfig, NavParams};
use env::policy::{OraclePolicy, Policy, ReplayPolicy};
use env::rollout::{run_episodes, EpisodeObserver, EpisodeOutcome};
use env::task::{
    resolve_scene_path, Env, ResetOptions, SceneLibrary, Sensors, TaskDataset, VlnEnv, VlnEnvConfig,
};
use env::vec_env::VecEnv;
use episodes::split::{split_file, FileKind};
use episodes::{Action, EpisodeDataset, EpisodeFilter, GroundTruth};

const EPISODES: usize = 3;

fn load(split: &str) -> TaskDataset {
    TaskDataset::load_split(&shipped_dataset_dir(), split, &EpisodeFilter::default()).unwrap()
}

#[test]
fn splits_load_and_reference_shipped_scenes() {
    let scenes = habitat_assets::shipped::scenes_dir();
    let splits = habitat_assets::shipped::splits().unwrap();
    let mut seen_scenes = HashSet::new();
    for (name, min) in [("train", 100), ("val_seen", 50), ("val_unseen", 100)] {
        let d = load(name);
        assert!(d.len() >= min, "{name}: {} episodes", d.len());
        assert_eq!(d.gt_count(), d.len(), "{name}: every episode has gt");
        for e in d.episodes() {
            resolve_scene_path(&scenes, &e.scene_id).unwrap();
            let scan = e.scene_name().to_owned();
            let held_out = splits.val_unseen.contains(&scan);
            assert_eq!(
                held_out,
                name == "val_unseen",
                "episode {} of {name} is in {scan}",
                e.episode_id
            );
            if name == "train" {
                seen_scenes.insert(scan);
            }
        }
    }
    assert_eq!(
        seen_scenes.len(),
        splits.train.len(),
        "every training house has train episodes"
    );
}

struct Outcomes(Vec<EpisodeOutcome>);

impl EpisodeObserver for Outcomes {
    fn on_episode(&mut self, _: usize, outcome: &EpisodeOutcome) -> env::Result<()> {
        self.0.push(outcome.clone());
        Ok(())
    }
}

#[test]
fn first_val_unseen_episodes_replay_their_gt_and_the_oracle_solves_them() {
    let dataset = Arc::new(load("val_unseen"));
    // A private copy of the scenes involved, so the navmesh cache is written there, not into the source tree.
    let dir = tempfile::tempdir().unwrap();
    let scenes = habitat_assets::shipped::scenes_dir();
    for e in &dataset.episodes()[..EPISODES] {
        let src = resolve_scene_path(&scenes, &e.scene_id).unwrap();
        for file in [src.clone(), habitat_assets::SceneMeta::path_for(&src)] {
            std::fs::copy(&file, dir.path().join(file.file_name().unwrap())).unwrap();
        }
    }
    let library = Arc::new(
        SceneLibrary::new(
            dir.path(),
            env::body::AgentConfig::r2r(),
            NavParams::default(),
        )
        .unwrap(),
    );
    let gt = GroundTruth::load(&split_file(
        &shipped_dataset_dir(),
        "val_unseen",
        None,
        FileKind::Gt,
    ))
    .unwrap();
    let config = VlnEnvConfig {
        sensors: Sensors::NONE,
        ..VlnEnvConfig::default()
    };
    let mut env = VlnEnv::new(library.clone(), dataset.clone(), config).unwrap();
    for i in 0..EPISODES {
        let (obs, _) = env.reset(None, &ResetOptions::Index(i)).unwrap();
        let entry = gt.get(&obs.episode_id).unwrap();
        let mut locations = vec![obs.state.position.map(f64::from)];
        let mut last = None;
        for &a in &entry.actions {
            let s = env.step(a).unwrap();
            let p = s.observation.state.position.map(f64::from);
            if locations.last() != Some(&p) {
                locations.push(p);
            }
            last = Some(s.info.metrics);
        }
        // Within a few millimetres: exact when made, and robust to round-off changes in the collision code.
        assert_eq!(
            locations.len(),
            entry.locations.len(),
            "episode {}",
            obs.episode_id
        );
        let worst = locations
            .iter()
            .zip(&entry.locations)
            .map(|(a, b)| (0..3).map(|k| (a[k] - b[k]).abs()).fold(0.0, f64::max))
            .fold(0.0, f64::max);
        assert!(
            worst < 0.01,
            "episode {}: replay is {worst} m off the gt locations",
            obs.episode_id
        );
        assert_eq!(last.unwrap().sr, 1.0);
    }
    let mut oracle = OraclePolicy::default();
    let mut envs = VecEnv::with_envs(
        2,
        library,
        dataset,
        VlnEnvConfig {
            sensors: oracle.sensors(),
            ..config
        },
    )
    .unwrap();
    let mut outcomes = Outcomes(Vec::new());
    run_episodes(
        &mut envs,
        &mut oracle,
        &(0..EPISODES).collect::<Vec<_>>(),
        0,
        &mut outcomes,
    )
    .unwrap();
    assert_eq!(outcomes.0.len(), EPISODES);
    assert!(
        outcomes.0.iter().all(|o| o.stopped && o.metrics.sr == 1.0),
        "{:?}",
        outcomes.0
    );
}

/// Every episode of every split: playing its gt actions in the current simulator ends within the success
/// distance (a stale dataset shows up here as missed goals or unreachable starts, not as silently wrong labels
/// in datagen and nDTW).
/// The shipped scenes in a library of their own (a temp copy, so navmesh caches land there).
fn scratch_library() -> (tempfile::TempDir, SceneLibrary) {
    let dir = tempfile::tempdir().unwrap();
    let scenes = habitat_assets::shipped::scenes_dir();
    for entry in std::fs::read_dir(&scenes).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".glb") || name.ends_with(".meta.json") {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    let library = SceneLibrary::new(
        dir.path(),
        env::body::AgentConfig::r2r(),
        NavParams::default(),
    )
    .unwrap();
    (dir, library)
}

/// Single turns between two forward moves (F T F): the expert re-aiming by one turn step.
fn single_corrections(actions: &[Action]) -> usize {
    actions
        .windows(3)
        .filter(|w| {
            w[0] == Action::MoveForward
                && matches!(w[1], Action::TurnLeft | Action::TurnRight)
                && w[2] == Action::MoveForward
        })
        .count()
}

/// The shipped gt is what the default expert makes now, and it walks straight: re-aiming at every step
/// (heading slack 0, the expert of earlier datasets) fills trajectories with single 15-degree corrections
/// (FRFLFR...), labels that no frame can predict.
#[test]
fn the_shipped_gt_is_the_default_expert_and_does_not_zigzag() {
    let (_dir, library) = scratch_library();
    let file = split_file(&shipped_dataset_dir(), "train", None, FileKind::Episodes);
    let episodes = EpisodeDataset::load(&file).unwrap().episodes[..24].to_vec();
    let shipped = GroundTruth::load(&split_file(
        &shipped_dataset_dir(),
        "train",
        None,
        FileKind::Gt,
    ))
    .unwrap();
    let (now, report) = make_gt(&library, &episodes, FollowerConfig::default());
    assert_eq!(report.written, episodes.len());
    let zig_config = FollowerConfig {
        heading_slack: 0.0,
        ..FollowerConfig::default()
    };
    let (zig, _) = make_gt(&library, &episodes, zig_config);
    let (mut straight_fixes, mut zig_fixes) = (0, 0);
    for e in &episodes {
        let id = e.episode_id.to_string();
        let actions = &now.entries[&id].actions;
        assert_eq!(actions, &shipped.entries[&id].actions, "episode {id}");
        straight_fixes += single_corrections(actions);
        zig_fixes += single_corrections(&zig.entries[&id].actions);
    }
    assert!(
        zig_fixes > 5 * straight_fixes.max(1),
        "single corrections: slack 0 {zig_fixes}, default {straight_fixes}"
    );
}

#[test]
fn every_gt_trajectory_replays_to_its_goal() {
    let (_dir, library) = scratch_library();
    let library = Arc::new(library);
    for split in ["train", "val_seen", "val_unseen"] {
        let dataset = Arc::new(load(split));
        let gt = GroundTruth::load(&split_file(
            &shipped_dataset_dir(),
            split,
            None,
            FileKind::Gt,
        ))
        .unwrap();
        let actions = gt
            .entries
            .iter()
            .map(|(id, e)| (id.to_owned(), e.actions.clone()))
            .collect();
        let mut replay = ReplayPolicy::new(format!("{split}_gt").into(), actions);
        let config = VlnEnvConfig {
            sensors: Sensors::NONE,
            ..VlnEnvConfig::default()
        };
        let mut envs = VecEnv::with_envs(2, library.clone(), dataset.clone(), config).unwrap();
        let mut outcomes = Outcomes(Vec::new());
        let all: Vec<usize> = (0..dataset.len()).collect();
        run_episodes(&mut envs, &mut replay, &all, 0, &mut outcomes).unwrap();
        assert_eq!(outcomes.0.len(), dataset.len(), "{split}");
        let missed: Vec<String> = outcomes
            .0
            .iter()
            .filter(|o| !(o.stopped && o.metrics.sr == 1.0))
            .map(|o| format!("{} (NE {:.2} m)", o.episode_id, o.metrics.ne))
            .collect();
        assert!(
            missed.is_empty(),
            "{split}: {} gt trajectories miss their goal: {missed:?}",
            missed.len()
        );
    }
}
