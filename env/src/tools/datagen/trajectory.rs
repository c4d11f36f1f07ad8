//! One trajectory of VLN-Ego data: the gt actions replayed in the task environment, the frame seen before
//! every action saved as JPEG, and a record (`trajectory.json`) of what was saved.
//!
//! A trajectory's files are written into `frames/.tmp-<id>/` and the directory is renamed to `frames/<id>/`
//! only once everything is in it, so a killed run leaves either a whole trajectory or a temp directory that
//! the next run deletes. Finished trajectories are never rendered again.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use episodes::{Action, ActionOptions};
use image::codecs::jpeg::JpegEncoder;
use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::{EnvError, Result};
use crate::task::{Env, ResetOptions, VlnEnv};

/// Directory (under the output root) holding one subdirectory per trajectory.
pub const FRAMES_DIR: &str = "frames";
/// The record file inside a trajectory's directory.
pub const TRAJECTORY_FILE: &str = "trajectory.json";

/// Why a trajectory gave no samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SkipReason {
    /// The gt file has no entry for the episode.
    NoGt,
    /// The gt file's entry for the episode breaks a rule and was left out at load.
    BadGt { detail: String },
    /// The id cannot name a directory (frames live in `frames/<id>/`).
    BadEpisodeId,
    /// The gt actions are not a VLN-R1 trajectory (empty, not ending in STOP, STOP early, LOOK actions,
    /// longer than the step cap).
    BadActions { detail: String },
    /// The instruction cannot go into the prompt (empty, or holding the image placeholder).
    BadInstruction { detail: String },
    /// The environment could not load the episode (scene missing, start off the navmesh...).
    ResetFailed { detail: String },
    /// The expert of a perturbed run found no way on (its goal is off the surface).
    ExpertFailed { detail: String },
    /// Replaying the gt actions in this simulator ends too far from the goal.
    MissedGoal {
        distance_to_goal: f32,
        success_distance: f32,
    },
}

impl SkipReason {
    /// Short name for histograms.
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::NoGt => "no_gt",
            SkipReason::BadGt { .. } => "bad_gt",
            SkipReason::BadEpisodeId => "bad_episode_id",
            SkipReason::BadActions { .. } => "bad_actions",
            SkipReason::BadInstruction { .. } => "bad_instruction",
            SkipReason::ResetFailed { .. } => "reset_failed",
            SkipReason::ExpertFailed { .. } => "expert_failed",
            SkipReason::MissedGoal { .. } => "missed_goal",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::NoGt => f.write_str("no gt actions for the episode"),
            SkipReason::BadGt { detail } => write!(f, "gt entry left out: {detail}"),
            SkipReason::BadEpisodeId => write!(
                f,
                "episode id is not usable as a directory name (letters, digits, '_', '-', '.', not \
                 starting with '.', at most {} bytes)",
                crate::tools::names::MAX_ID_NAME_LEN
            ),
            SkipReason::BadActions { detail } => write!(f, "gt actions: {detail}"),
            SkipReason::BadInstruction { detail } => write!(f, "instruction: {detail}"),
            SkipReason::ResetFailed { detail } => write!(f, "reset failed: {detail}"),
            SkipReason::ExpertFailed { detail } => write!(f, "expert: {detail}"),
            SkipReason::MissedGoal {
                distance_to_goal,
                success_distance,
            } => write!(
                f,
                "replayed gt actions stop {distance_to_goal:.2} m from the goal (success needs < {success_distance} m)"
            ),
        }
    }
}

/// What `frames/<id>/trajectory.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    pub episode_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trajectory_id: Option<String>,
    pub scene_id: String,
    pub instruction: String,
    /// The actions taken (the gt actions, or those of a perturbed run); frame `i` was seen before action `i`.
    pub actions: Vec<Action>,
    /// Perturbed runs only: the run number (1, 2, ...) of this episode's perturbed runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbed_run: Option<u32>,
    /// Perturbed runs only: the expert's next N actions from the state of each frame (the sample targets,
    /// which differ from the actions taken where the run was perturbed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<Vec<Vec<Action>>>,
    /// One JPEG per action, relative to the output root (empty when skipped).
    pub frames: Vec<String>,
    /// Geodesic distance to the goal after the replay (absent when the replay did not run to the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_distance: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<SkipReason>,
}

impl Trajectory {
    /// The record of dataset episode `index` before anything is played: no actions, frames or targets yet
    /// (a perturbed run gets an empty target list to fill).
    pub(super) fn start(
        env: &VlnEnv,
        index: usize,
        perturbed_run: Option<u32>,
    ) -> Result<Trajectory> {
        let episode = env.dataset().episode(index).ok_or_else(|| {
            EnvError::Invalid(format!("datagen: episode index {index} out of range"))
        })?;
        Ok(Trajectory {
            episode_id: episode.episode_id.key(),
            trajectory_id: episode.trajectory_id.as_ref().map(|i| i.key()),
            scene_id: episode.scene_id.clone(),
            instruction: episode.instruction.instruction_text.trim().to_owned(),
            actions: Vec::new(),
            perturbed_run,
            targets: perturbed_run.map(|_| Vec::new()),
            frames: Vec::new(),
            final_distance: None,
            skipped: None,
        })
    }
}

/// Frame settings that decide the bytes of a trajectory's files.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameSettings {
    pub jpeg_quality: u8,
    pub success_distance: f32,
    pub max_steps: u32,
    /// When set, the expert stops as soon as it is (and stays) within this geodesic distance of the goal:
    /// gt replays are cut there with a STOP, and perturbed runs' expert uses it as its goal radius.
    pub stop_radius: Option<f32>,
}

pub use crate::tools::names::is_safe_id;

/// `frames/<key>/step_NNNN.jpg`, relative to the output root (the sample store root).
pub fn frame_path(key: &str, step: usize) -> String {
    format!("{FRAMES_DIR}/{key}/step_{step:04}.jpg")
}

/// The directory name of a trajectory: the episode id for the gt replay, `<id>@p<run>` for a perturbed run
/// ('@' is not allowed in ids, so the two never collide).
pub fn trajectory_key(episode_id: &str, perturbed_run: Option<u32>) -> String {
    match perturbed_run {
        None => episode_id.to_owned(),
        Some(run) => format!("{episode_id}@p{run}"),
    }
}

/// The trajectory key of a sample's frame path (`frames/<key>/step_NNNN.jpg`).
pub fn key_of_frame(frame: &str) -> Option<&str> {
    let rest = frame.strip_prefix(FRAMES_DIR)?.strip_prefix('/')?;
    rest.split_once('/').map(|(key, _)| key)
}

pub(super) fn trajectory_dir(root: &Path, key: &str) -> PathBuf {
    root.join(FRAMES_DIR).join(key)
}

/// The finished trajectory of `episode_id` under `root`, when a previous run completed it for the same
/// actions; `None` means it must be (re)made.
pub fn load_finished(
    root: &Path,
    episode_id: &str,
    actions: &[Action],
) -> Result<Option<Trajectory>> {
    if !is_safe_id(episode_id) {
        return Ok(None);
    }
    let path = trajectory_dir(root, episode_id).join(TRAJECTORY_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let t: Trajectory = episodes::file::read_json(&path)?;
    if t.episode_id != episode_id || !(t.actions == actions || is_cut_of(&t.actions, actions)) {
        return Err(EnvError::Invalid(format!(
            "{}: holds episode {} with {} actions, but the gt file has {} actions for episode {episode_id}; \
             this output directory was made from other data",
            path.display(),
            t.episode_id,
            t.actions.len(),
            actions.len()
        )));
    }
    check_frames(root, &path, &t)?;
    Ok(Some(t))
}

/// `recorded` is `gt` cut short by the stop radius: a proper prefix of it followed by STOP.
fn is_cut_of(recorded: &[Action], gt: &[Action]) -> bool {
    match recorded.split_last() {
        Some((Action::Stop, head)) => head.len() < gt.len() && gt.starts_with(head),
        _ => false,
    }
}

/// A finished, not skipped record has one frame per action, all on disk (and one target list per frame
/// for a perturbed run).
pub(super) fn check_frames(root: &Path, path: &Path, t: &Trajectory) -> Result<()> {
    if t.skipped.is_some() {
        return Ok(());
    }
    if t.frames.len() != t.actions.len() {
        return Err(EnvError::Invalid(format!(
            "{}: {} frames for {} actions",
            path.display(),
            t.frames.len(),
            t.actions.len()
        )));
    }
    if let Some(targets) = &t.targets {
        if targets.len() != t.frames.len() {
            return Err(EnvError::Invalid(format!(
                "{}: field `targets`: {} target lists for {} frames",
                path.display(),
                targets.len(),
                t.frames.len()
            )));
        }
    }
    if let Some(missing) = t.frames.iter().find(|f| !root.join(f).is_file()) {
        return Err(EnvError::Invalid(format!(
            "{}: frame {missing} is missing",
            path.display()
        )));
    }
    Ok(())
}

/// Checks that gt actions form a VLN-R1 trajectory: non-empty, only the four options, one STOP at the end,
/// within the step cap.
fn check_actions(actions: &[Action], options: &ActionOptions, max_steps: u32) -> Option<String> {
    let Some(last) = actions.last() else {
        return Some("no actions".into());
    };
    if *last != Action::Stop {
        return Some(format!("the last action is {last}, not STOP"));
    }
    if let Some(k) = actions[..actions.len() - 1]
        .iter()
        .position(|a| *a == Action::Stop)
    {
        return Some(format!(
            "STOP at step {k} of {} ends the episode early",
            actions.len()
        ));
    }
    if let Some(a) = actions.iter().find(|a| options.text(**a).is_none()) {
        return Some(format!("{a} is not a VLN-R1 action"));
    }
    if actions.len() > max_steps as usize {
        return Some(format!(
            "{} actions exceed the step cap of {max_steps}",
            actions.len()
        ));
    }
    None
}

/// The prompt builder refuses these; finding them here skips one trajectory instead of failing the run.
pub(super) fn check_instruction(instruction: &str) -> Option<String> {
    if instruction.is_empty() {
        Some("is empty".into())
    } else if instruction.contains(episodes::prompt::IMAGE_PLACEHOLDER) {
        Some(format!(
            "contains the image placeholder {}",
            episodes::prompt::IMAGE_PLACEHOLDER
        ))
    } else {
        None
    }
}

/// Replays `actions` from the start of dataset episode `index` in `env` (an RGB environment with the frame
/// size wanted), writes the frames and the record under `root`, and returns the record. Problems of the
/// episode itself give a skipped record; I/O problems are errors.
pub fn make_trajectory(
    env: &mut VlnEnv,
    root: &Path,
    index: usize,
    actions: Option<&[Action]>,
    options: &ActionOptions,
    settings: &FrameSettings,
) -> Result<Trajectory> {
    let mut t = Trajectory::start(env, index, None)?;
    t.actions = actions.map(<[Action]>::to_vec).unwrap_or_default();
    let episode_id = t.episode_id.clone();
    let skip = match actions {
        None => Some(SkipReason::NoGt),
        Some(_) if !is_safe_id(&episode_id) => Some(SkipReason::BadEpisodeId),
        Some(a) => check_actions(a, options, settings.max_steps)
            .map(|detail| SkipReason::BadActions { detail })
            .or_else(|| {
                check_instruction(&t.instruction)
                    .map(|detail| SkipReason::BadInstruction { detail })
            }),
    };
    // Without gt or a usable id there is no directory to remember the skip in; it is cheap to find again.
    if matches!(skip, Some(SkipReason::NoGt | SkipReason::BadEpisodeId)) {
        t.skipped = skip;
        return Ok(t);
    }
    let tmp = temp_dir(root, &episode_id)?;
    t.skipped = match skip {
        Some(s) => Some(s),
        None => {
            let actions = t.actions.clone();
            replay(env, index, &actions, &tmp, &episode_id, settings, &mut t)?
        }
    };
    commit(root, &tmp, &episode_id, &mut t)?;
    Ok(t)
}

/// A fresh `frames/.tmp-<key>/` for a trajectory being made (a leftover of a killed run is deleted).
pub(super) fn temp_dir(root: &Path, key: &str) -> Result<PathBuf> {
    let tmp = root.join(FRAMES_DIR).join(format!(".tmp-{key}"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    Ok(tmp)
}

/// Writes the record into the temp directory and renames it to `frames/<key>/`. A skipped trajectory
/// keeps only its record: frames of a bad run must not be trained on.
pub(super) fn commit(root: &Path, tmp: &Path, key: &str, t: &mut Trajectory) -> Result<()> {
    if t.skipped.is_some() {
        t.frames.clear();
        if let Some(targets) = &mut t.targets {
            targets.clear();
        }
        for entry in fs::read_dir(tmp).map_err(|e| io_err(tmp, e))? {
            let p = entry.map_err(|e| io_err(tmp, e))?.path();
            fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
        }
    }
    episodes::file::write_json(&tmp.join(TRAJECTORY_FILE), &*t)?;
    let done = trajectory_dir(root, key);
    if done.exists() {
        // Only reachable when a record went missing by hand; the directory is redone as a whole.
        fs::remove_dir_all(&done).map_err(|e| io_err(&done, e))?;
    }
    fs::rename(tmp, &done).map_err(|e| io_err(&done, e))
}

/// Resets `env` to episode `index`; a refused reset is the trajectory's skip reason, not an error.
pub(super) fn reset_to(
    env: &mut VlnEnv,
    index: usize,
) -> std::result::Result<(<VlnEnv as Env>::Observation, <VlnEnv as Env>::ResetInfo), SkipReason> {
    env.reset(None, &ResetOptions::Index(index))
        .map_err(|e| SkipReason::ResetFailed {
            detail: e.to_string(),
        })
}

/// Steps through the actions, saving the frame before each, then applies the stop radius (if any). Returns
/// the skip reason, if any.
fn replay(
    env: &mut VlnEnv,
    index: usize,
    actions: &[Action],
    dir: &Path,
    episode_id: &str,
    settings: &FrameSettings,
    t: &mut Trajectory,
) -> Result<Option<SkipReason>> {
    let (mut observation, info) = match reset_to(env, index) {
        Ok(reset) => reset,
        Err(reason) => return Ok(Some(reason)),
    };
    // Geodesic distance to the goal of the state before each action.
    let mut distances = vec![info.distance_to_goal];
    for (i, &action) in actions.iter().enumerate() {
        let rgb = observation.rgb.as_ref().ok_or_else(|| {
            EnvError::Invalid("datagen: the environment renders no RGB frames".into())
        })?;
        let rel = frame_path(episode_id, i);
        let file = dir.join(format!("step_{i:04}.jpg"));
        write_jpeg(&file, rgb, settings.jpeg_quality)?;
        t.frames.push(rel);
        let step = env.step(action)?;
        if step.done() != (i + 1 == actions.len()) {
            // Checked actions end with their only STOP within the cap, so this is a simulator surprise.
            return Ok(Some(SkipReason::BadActions {
                detail: format!("the episode ended at step {} of {}", i + 1, actions.len()),
            }));
        }
        if step.done() {
            let d = step.info.distance_to_goal;
            t.final_distance = Some(d);
            if d.is_nan() || d >= settings.success_distance {
                return Ok(Some(SkipReason::MissedGoal {
                    distance_to_goal: d,
                    success_distance: settings.success_distance,
                }));
            }
        } else {
            distances.push(step.info.distance_to_goal);
        }
        observation = step.observation;
    }
    if let Some(cut) = settings.stop_radius.and_then(|r| stop_index(&distances, r)) {
        for i in cut + 1..t.frames.len() {
            let file = dir.join(format!("step_{i:04}.jpg"));
            fs::remove_file(&file).map_err(|e| io_err(&file, e))?;
        }
        t.frames.truncate(cut + 1);
        t.actions = actions[..cut]
            .iter()
            .copied()
            .chain(std::iter::once(Action::Stop))
            .collect();
        t.final_distance = Some(distances[cut]);
    }
    Ok(None)
}

/// Where a trajectory with these state distances is cut by the stop radius: the first state of the final
/// stretch that stays within `radius` of the goal (a path that passes near the goal and comes back later
/// is cut only on its way back), or None when that is the last state already (or none is within).
///
/// The gt actions walk to within 0.25 m of the goal, but an episode succeeds anywhere within the success
/// distance. Labels that say FORWARD until the exact goal ask the model to tell apart views 0.5 m and 2 m
/// from a goal it usually sees from the side at the end; stopping once well within the success distance
/// makes STOP the answer to "the goal's surroundings are close ahead", which is what a policy can see.
fn stop_index(distances: &[f32], radius: f32) -> Option<usize> {
    let mut cut = None;
    for (i, d) in distances.iter().enumerate().rev() {
        if *d <= radius {
            cut = Some(i);
        } else {
            break;
        }
    }
    cut.filter(|&i| i + 1 < distances.len())
}

pub(super) fn write_jpeg(path: &Path, rgb: &RgbImage, quality: u8) -> Result<()> {
    let file = fs::File::create(path).map_err(|e| io_err(path, e))?;
    let mut w = BufWriter::new(file);
    JpegEncoder::new_with_quality(&mut w, quality)
        .encode_image(rgb)
        .map_err(|source| EnvError::Image {
            path: path.to_owned(),
            source,
        })?;
    std::io::Write::flush(&mut w).map_err(|e| io_err(path, e))
}

pub(super) fn io_err(path: &Path, source: std::io::Error) -> EnvError {
    EnvError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use episodes::Action::*;

    #[test]
    fn gt_actions_and_instructions_are_checked_before_any_rendering() {
        let o = episodes::PromptConfig::R2R.options();
        assert_eq!(check_actions(&[MoveForward, TurnLeft, Stop], &o, 500), None);
        assert!(check_actions(&[], &o, 500).unwrap().contains("no actions"));
        assert!(check_actions(&[MoveForward], &o, 500)
            .unwrap()
            .contains("not STOP"));
        assert!(check_actions(&[Stop, MoveForward, Stop], &o, 500)
            .unwrap()
            .contains("STOP at step 0"));
        assert!(check_actions(&[LookUp, Stop], &o, 500)
            .unwrap()
            .contains("LOOK_UP"));
        assert!(check_actions(&[MoveForward, MoveForward, Stop], &o, 2)
            .unwrap()
            .contains("step cap of 2"));
        assert_eq!(check_instruction("Walk ahead."), None);
        assert!(check_instruction("").is_some());
        assert!(check_instruction("look at <image>").is_some());
    }

    #[test]
    fn frame_paths_name_the_key_and_step() {
        assert_eq!(frame_path("12", 7), "frames/12/step_0007.jpg");
    }
}
