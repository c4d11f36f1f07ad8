//! gt files for any VLN-CE dataset (ours or the real R2R-CE / RxR-CE): the expert follower walks each
//! episode's `reference_path` from its start pose, and its actions and positions become the gt entry.
//! An episode the expert cannot finish (no path joins its start and goal, or the walk ends outside the goal
//! radius) gets no entry: a gt that does not reach the goal would teach stopping short and make nDTW
//! reward it. The report says which and why.

use episodes::{Episode, GroundTruth, GtEntry};
use rayon::prelude::*;

use crate::error::EnvError;
use crate::error::Result;
use crate::nav::{ExpertPath, FollowerConfig, ShortestPathFollower};
use crate::task::{episode_scene, start_state, SceneLibrary};

/// How gt making went.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GtReport {
    pub episodes: usize,
    /// Entries written.
    pub written: usize,
    /// Episodes without an entry because their expert ended farther than the follower's goal radius from
    /// the goal, with that distance (metres).
    pub not_reached: Vec<(String, f32)>,
    /// Episodes without an entry, with the reason (unloadable scene, goal off the navigable surface, no
    /// path between start and goal: the reasons eval gives for `not_run`).
    pub failed: Vec<(String, String)>,
}

/// The gt entry of an expert trajectory (positions widened to the file's f64).
pub fn gt_entry(expert: &ExpertPath) -> GtEntry {
    GtEntry {
        locations: expert.locations.iter().map(|p| p.map(f64::from)).collect(),
        actions: expert.actions.clone(),
        forward_steps: expert.forward_steps as u64,
        extra: Default::default(),
    }
}

/// Rolls the expert over every episode (in parallel; the result does not depend on the thread count).
pub fn make_gt(
    library: &SceneLibrary,
    episodes: &[Episode],
    follower: FollowerConfig,
) -> (GroundTruth, GtReport) {
    let expert = |e: &Episode| -> Result<ExpertPath> {
        // The same check eval makes before running an episode, so both say the same about it.
        let (scene, _) = episode_scene(library, e)
            .map_err(|err| EnvError::Invalid(format!("{err} (scene {})", e.scene_id)))?;
        let mut f = ShortestPathFollower::new(
            scene.pathfinder.clone(),
            scene.collider.clone(),
            *library.agent(),
            follower,
        )?;
        let mut reference: Vec<[f32; 3]> = e
            .reference_path
            .iter()
            .map(|p| p.map(|v| v as f32))
            .collect();
        // The goal is what the episode is scored against; R2R's last waypoint is the goal anyway.
        if let Some(goal) = e.goals.first() {
            match reference.last_mut() {
                Some(last) => *last = goal.position.map(|v| v as f32),
                None => reference.push(goal.position.map(|v| v as f32)),
            }
        }
        f.rollout(start_state(e), &reference)
    };
    let results: Vec<Result<ExpertPath>> = episodes.par_iter().map(expert).collect();
    let mut gt = GroundTruth::default();
    let mut report = GtReport {
        episodes: episodes.len(),
        ..GtReport::default()
    };
    for (e, r) in episodes.iter().zip(results) {
        let id = e.episode_id.key();
        match r {
            Ok(path) if !path.reached => report.not_reached.push((id, path.final_distance)),
            Ok(path) => {
                gt.entries.insert(id, gt_entry(&path));
                report.written += 1;
            }
            Err(err) => report.failed.push((id, err.to_string())),
        }
    }
    (gt, report)
}
