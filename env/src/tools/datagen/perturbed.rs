//! Perturbed expert runs (DAgger-style data): the expert drives the episode, but at random moments a burst of
//! one random action (a few steps forward, or a few turns) is taken instead, and every frame is labelled with
//! the expert's next N actions from the state actually reached. A policy trained only on the expert's own
//! path never sees a view off that path (facing a wall, past a turn) and has no label for how to recover
//! from it; these runs supply both, as DART/DAgger do, without a trained policy in the loop.

use std::path::Path;

use episodes::Action;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::trajectory::{
    check_frames, check_instruction, commit, frame_path, is_safe_id, reset_to, temp_dir,
    trajectory_dir, trajectory_key, write_jpeg, FrameSettings, SkipReason, Trajectory,
    TRAJECTORY_FILE,
};
use crate::error::{EnvError, Result};
use crate::nav::{Expert, FollowerConfig};
use crate::task::{Env, VlnEnv};

/// How many perturbed runs per episode and how they are perturbed. `runs` 0 (the default) makes none.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Perturbation {
    /// Perturbed runs per episode, besides the gt replay.
    pub runs: u32,
    /// Chance per expert step that a burst starts.
    pub rate: f32,
    /// Longest burst (steps); each burst's length is uniform in 1..=max_burst.
    pub max_burst: u32,
    pub seed: u64,
}

impl Default for Perturbation {
    fn default() -> Self {
        Perturbation {
            runs: 0,
            rate: 0.1,
            max_burst: 4,
            seed: 0,
        }
    }
}

impl Perturbation {
    pub fn is_off(&self) -> bool {
        self.runs == 0
    }

    pub fn validate(&self) -> Result<()> {
        if self.is_off() {
            return Ok(());
        }
        if !(self.rate > 0.0 && self.rate < 1.0) {
            return Err(EnvError::Invalid(format!(
                "datagen: --perturb-rate {} must be in (0, 1)",
                self.rate
            )));
        }
        if self.max_burst == 0 {
            return Err(EnvError::Invalid(
                "datagen: --perturb-burst must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// The random stream of one run: depends on the seed, the episode and the run number only, so a run is
    /// the same whichever thread makes it and whether or not the job was resumed.
    fn rng(&self, episode_id: &str, run: u32) -> ChaCha8Rng {
        let mut h = self.seed ^ 0x9e37_79b9_7f4a_7c15;
        for b in episode_id.bytes().chain(run.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        ChaCha8Rng::seed_from_u64(h)
    }
}

/// The finished perturbed run `run` of `episode_id` under `root`, if an earlier job completed it (the
/// output directory's settings, perturbation included, were checked to be the same).
pub fn load_finished_perturbed(
    root: &Path,
    episode_id: &str,
    run: u32,
) -> Result<Option<Trajectory>> {
    if !is_safe_id(episode_id) {
        return Ok(None);
    }
    let path = trajectory_dir(root, &trajectory_key(episode_id, Some(run))).join(TRAJECTORY_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let t: Trajectory = episodes::file::read_json(&path)?;
    if t.episode_id != episode_id || t.perturbed_run != Some(run) {
        return Err(EnvError::Invalid(format!(
            "{}: holds run {:?} of episode {}, not perturbed run {run} of episode {episode_id}",
            path.display(),
            t.perturbed_run,
            t.episode_id
        )));
    }
    if t.skipped.is_none() && t.targets.is_none() {
        return Err(EnvError::Invalid(format!(
            "{}: field `targets` is missing from a perturbed run",
            path.display()
        )));
    }
    check_frames(root, &path, &t)?;
    Ok(Some(t))
}

/// Plays perturbed run `run` of dataset episode `index` in `env`, writes its frames and record under
/// `root` (atomically, as the gt replays), and returns the record. A run that does not end with the
/// expert's STOP within the success distance and the step cap is skipped.
pub fn make_perturbed_trajectory(
    env: &mut VlnEnv,
    root: &Path,
    index: usize,
    run: u32,
    perturbation: &Perturbation,
    num_actions: usize,
    settings: &FrameSettings,
) -> Result<Trajectory> {
    let mut t = Trajectory::start(env, index, Some(run))?;
    let episode_id = t.episode_id.clone();
    if !is_safe_id(&episode_id) {
        t.skipped = Some(SkipReason::BadEpisodeId);
        return Ok(t);
    }
    let key = trajectory_key(&episode_id, Some(run));
    let tmp = temp_dir(root, &key)?;
    t.skipped = match check_instruction(&t.instruction) {
        Some(detail) => Some(SkipReason::BadInstruction { detail }),
        None => play(
            env,
            index,
            run,
            perturbation,
            num_actions,
            settings,
            &tmp,
            &key,
            &mut t,
        )?,
    };
    commit(root, &tmp, &key, &mut t)?;
    Ok(t)
}

/// The burst actions: forward into whatever is ahead, or a turn either way (never STOP).
const BURST_ACTIONS: [Action; 3] = [Action::MoveForward, Action::TurnLeft, Action::TurnRight];

#[allow(clippy::too_many_arguments)]
fn play(
    env: &mut VlnEnv,
    index: usize,
    run: u32,
    perturbation: &Perturbation,
    num_actions: usize,
    settings: &FrameSettings,
    dir: &Path,
    key: &str,
    t: &mut Trajectory,
) -> Result<Option<SkipReason>> {
    let (mut observation, info) = match reset_to(env, index) {
        Ok(reset) => reset,
        Err(reason) => return Ok(Some(reason)),
    };
    let follower = FollowerConfig::stopping_within(settings.stop_radius);
    let mut expert = match Expert::new(&info, follower) {
        Ok(e) => e,
        Err(e) => {
            return Ok(Some(SkipReason::ExpertFailed {
                detail: e.to_string(),
            }))
        }
    };
    let n = num_actions.max(1);
    let mut rng = perturbation.rng(&t.episode_id, run);
    let mut burst: Option<(Action, u32)> = None;
    let targets = t.targets.get_or_insert_with(Vec::new);
    for i in 0..settings.max_steps as usize {
        let rgb = observation.rgb.as_ref().ok_or_else(|| {
            EnvError::Invalid("datagen: the environment renders no RGB frames".into())
        })?;
        write_jpeg(
            &dir.join(format!("step_{i:04}.jpg")),
            rgb,
            settings.jpeg_quality,
        )?;
        t.frames.push(frame_path(key, i));
        let labels = match expert.labels(observation.state, n) {
            Ok(l) => l,
            Err(e) => {
                return Ok(Some(SkipReason::ExpertFailed {
                    detail: e.to_string(),
                }))
            }
        };
        let action = match burst {
            Some((a, left)) => {
                burst = (left > 1).then_some((a, left - 1));
                a
            }
            None if labels[0] != Action::Stop && rng.random::<f32>() < perturbation.rate => {
                let a = BURST_ACTIONS[rng.random_range(0..BURST_ACTIONS.len())];
                let len = rng.random_range(1..=perturbation.max_burst);
                burst = (len > 1).then_some((a, len - 1));
                a
            }
            None => labels[0],
        };
        targets.push(labels);
        t.actions.push(action);
        let step = env.step(action)?;
        if step.done() {
            let d = step.info.distance_to_goal;
            t.final_distance = Some(d);
            if action != Action::Stop || d.is_nan() || d >= settings.success_distance {
                return Ok(Some(SkipReason::MissedGoal {
                    distance_to_goal: d,
                    success_distance: settings.success_distance,
                }));
            }
            return Ok(None);
        }
        observation = step.observation;
    }
    Ok(Some(SkipReason::BadActions {
        detail: format!(
            "the perturbed run did not stop within {} steps",
            settings.max_steps
        ),
    }))
}
