//! VLN-Ego data generation (VLN-R1 §1–2): replay each episode's gt actions in the task environment, save the
//! frame seen before every action, and turn each step into a training sample.
//!
//! Output directory layout (it is also the root of the sample store, so frame paths are relative to both the
//! store and the sharegpt JSON):
//! - `datagen.json`: the settings the directory was made with; a rerun with other settings is refused.
//! - `frames/<episode_id>/step_NNNN.jpg` + `trajectory.json` (instruction, actions, frame list or the reason
//!   the trajectory was skipped). A directory appears whole (temp directory + rename) or not at all.
//!   With `--perturbed-runs K`, each episode also gets K perturbed expert runs in `frames/<episode_id>@p<k>/`
//!   ([`perturbed`]), whose samples follow the gt replay's in the store.
//! - `manifest.json`, `shard-*.jsonl`, `shard-*.idx`: the sample store ([`episodes::store`]). Shards end on
//!   trajectory boundaries, so a trajectory's samples are committed all together or not at all.
//! - `vln_ego.json` + `dataset_info.json`: LLaMA-Factory sharegpt, rewritten from the store at the end.
//! - `stats.json`: samples, action and history-length histograms, skipped trajectories and why.
//!
//! Resume: trajectories whose directory is finished are not rendered again, and trajectories whose samples
//! are in the store are not appended again. Samples are committed in dataset order, so a killed and resumed
//! run ends with the same store content as one uninterrupted run.

pub mod perturbed;
mod samples;
pub mod shards;
mod sharegpt;
mod trajectory;

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use episodes::split::{self, FileKind, Role};
use episodes::{Action, GroundTruth, MemorySampler, PromptConfig, SampleStore, SampleStoreWriter};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::body::AgentConfig;
use crate::error::{EnvError, Result};
use crate::task::{SceneLibrary, Sensors, TaskDataset, VlnEnv, VlnEnvConfig};

pub use perturbed::{load_finished_perturbed, make_perturbed_trajectory, Perturbation};
pub use samples::trajectory_samples;
pub use sharegpt::{
    sharegpt_record, write_sharegpt, ShareGptRecord, Turn, DATASET_INFO_FILE, DATASET_NAME,
    SHAREGPT_FILE,
};
pub use trajectory::{
    frame_path, is_safe_id, key_of_frame, load_finished, make_trajectory, trajectory_key,
    FrameSettings, SkipReason, Trajectory, FRAMES_DIR, TRAJECTORY_FILE,
};

/// The settings file of an output directory.
pub const SETTINGS_FILE: &str = "datagen.json";
/// The statistics file of an output directory.
pub const STATS_FILE: &str = "stats.json";
/// Samples per shard (shards close at the first trajectory boundary past this).
pub const DEFAULT_SHARD_SAMPLES: usize = episodes::store::DEFAULT_SHARD_SIZE;

/// What to generate. Defaults: N = 6 future actions, 640x480 frames at HFOV 90 (the released VLN-Ego
/// generator), long-short memory `8,1,4,16`, JPEG quality 90.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DatagenConfig {
    /// N: target actions per sample (`--future`).
    pub num_actions: usize,
    pub width: u32,
    pub height: u32,
    pub hfov_deg: f32,
    #[serde(with = "sampler_text")]
    pub memory: MemorySampler,
    pub jpeg_quality: u8,
    /// Step cap of the replay; gt trajectories longer than this are skipped.
    pub max_steps: u32,
    pub success_distance: f32,
    /// Perturbed expert runs per episode (none by default; absent from the settings file when off, so
    /// directories made before it existed still resume).
    #[serde(default, skip_serializing_if = "Perturbation::is_off")]
    pub perturb: Perturbation,
    /// The expert's STOP radius (metres, below the success distance): gt replays are cut at the first state
    /// of their final stretch within it, and perturbed runs stop within it. None: the gt actions as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_radius: Option<f32>,
}

impl Default for DatagenConfig {
    fn default() -> Self {
        DatagenConfig {
            num_actions: 6,
            width: 640,
            height: 480,
            hfov_deg: 90.0,
            memory: MemorySampler::LONG_SHORT,
            jpeg_quality: 90,
            max_steps: crate::task::DEFAULT_MAX_STEPS,
            success_distance: crate::task::DEFAULT_SUCCESS_DISTANCE,
            perturb: Perturbation::default(),
            stop_radius: None,
        }
    }
}

mod sampler_text {
    use episodes::MemorySampler;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(m: &MemorySampler, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(m)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<MemorySampler, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl DatagenConfig {
    /// The prompt settings of the samples: the simulator's step and turn angle, never a constant.
    pub fn prompt(&self, agent: &AgentConfig) -> PromptConfig {
        PromptConfig {
            forward_step_m: f64::from(agent.forward_step),
            turn_angle_deg: f64::from(agent.turn_angle_deg),
            num_actions: self.num_actions,
        }
    }

    pub fn validate(&self) -> Result<()> {
        self.memory.validate()?;
        self.perturb.validate()?;
        if let Some(r) = self.stop_radius {
            if !(r > 0.0 && r < self.success_distance) {
                return Err(EnvError::Invalid(format!(
                    "datagen: --stop-radius {r} must be in (0, {}) (the success distance)",
                    self.success_distance
                )));
            }
        }
        if self.num_actions == 0 {
            return Err(EnvError::Invalid(
                "datagen: --future must be at least 1".into(),
            ));
        }
        if !(1..=100).contains(&self.jpeg_quality) {
            return Err(EnvError::Invalid(format!(
                "datagen: JPEG quality {} must be in 1..=100",
                self.jpeg_quality
            )));
        }
        self.env_config().validate()
    }

    /// The task environment that replays the trajectories (RGB only, the configured frame size).
    pub fn env_config(&self) -> VlnEnvConfig {
        VlnEnvConfig {
            max_steps: self.max_steps,
            success_distance: self.success_distance,
            sensors: Sensors::RGB,
            width: self.width,
            height: self.height,
            hfov_deg: self.hfov_deg,
            ..VlnEnvConfig::default()
        }
    }
}

/// `datagen.json`: what decides the bytes of the output. The dataset path is recorded but not compared
/// (the same data may be reached by another path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Settings {
    format: String,
    version: u32,
    split: String,
    config: DatagenConfig,
    agent: AgentConfig,
    prompt: PromptConfig,
    #[serde(default)]
    dataset: String,
}

const SETTINGS_FORMAT: &str = "vln-r1-datagen";

impl Settings {
    fn of(input: &DatagenInput, config: &DatagenConfig) -> Settings {
        let agent = *input.library.agent();
        Settings {
            format: SETTINGS_FORMAT.into(),
            version: 1,
            split: input.split.clone(),
            config: *config,
            agent,
            prompt: config.prompt(&agent),
            dataset: input.dataset_dir.clone(),
        }
    }

    fn same_output(&self, other: &Settings) -> bool {
        Settings {
            dataset: String::new(),
            ..self.clone()
        } == Settings {
            dataset: String::new(),
            ..other.clone()
        }
    }
}

/// A split with its gt actions.
pub struct DatagenInput {
    pub library: Arc<SceneLibrary>,
    pub dataset: Arc<TaskDataset>,
    /// gt actions by episode id.
    pub actions: BTreeMap<String, Vec<Action>>,
    pub dataset_dir: String,
    pub split: String,
}

/// Loads the gt actions of a split (every role file of RxR-CE too) from a dataset directory, without the
/// entries that break a rule (see [`TaskDataset::gt_problems`](crate::task::TaskDataset::gt_problems)).
pub fn load_gt_actions(root: &Path, split_name: &str) -> Result<BTreeMap<String, Vec<Action>>> {
    let mut out = BTreeMap::new();
    let roles: Vec<Option<Role>> = std::iter::once(None).chain(Role::ALL.map(Some)).collect();
    for role in roles {
        if let Some(path) = split::find_split_file(root, split_name, role, FileKind::Gt) {
            // Entries that break a rule are left out; `TaskDataset::gt_problems` says why.
            let (gt, _) = GroundTruth::load_skipping_invalid(&path)?;
            out.extend(gt.entries.into_iter().map(|(k, v)| (k, v.actions)));
        }
    }
    Ok(out)
}

/// Progress reports from [`generate`] (called from worker threads).
#[derive(Debug, Clone, Copy)]
pub enum DatagenEvent {
    /// `total` trajectories to go through, `resumed` of them finished by an earlier run.
    Started { total: usize, resumed: usize },
    /// One trajectory rendered (or found finished), with the samples it gave.
    Trajectory { samples: usize, frames: usize },
}

/// One skipped trajectory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    pub episode_id: String,
    pub reason: String,
}

/// `stats.json`, over the whole store at the end of a run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DatagenStats {
    pub samples: u64,
    /// Trajectories with samples in the store.
    pub trajectories: u64,
    /// Frames those trajectories saved (one per action).
    pub frames: u64,
    /// First target action of each sample (= the gt action taken at the frame, or the expert's action at a
    /// perturbed run's frame), by Habitat name.
    pub action_histogram: BTreeMap<String, u64>,
    /// Every target slot of every sample, STOP padding included.
    pub target_histogram: BTreeMap<String, u64>,
    /// Number of history frames -> samples.
    pub history_length_histogram: BTreeMap<usize, u64>,
    pub skipped: u64,
    pub skipped_by_reason: BTreeMap<String, u64>,
    pub skipped_trajectories: Vec<Skipped>,
    /// Trajectories rendered by this run (the rest were found finished).
    pub rendered_this_run: u64,
    /// Samples appended by this run.
    pub appended_this_run: u64,
}

/// Generates (or continues) the VLN-Ego data of `selection` (dataset indices, in the order samples are
/// committed) into `out`.
pub fn generate(
    input: &DatagenInput,
    selection: &[usize],
    out: &Path,
    config: &DatagenConfig,
    shard_samples: usize,
    progress: &(dyn Fn(DatagenEvent) + Sync),
) -> Result<DatagenStats> {
    config.validate()?;
    let prompt = config.prompt(input.library.agent());
    prompt.validate()?;
    std::fs::create_dir_all(out).map_err(|e| EnvError::Io {
        path: out.to_owned(),
        source: e,
    })?;
    check_settings(out, &Settings::of(input, config))?;
    remove_temp_dirs(out)?;
    let maker = TrajectoryMaker::new(input, out, config, &prompt);
    let jobs = jobs(selection, config.perturb.runs)?;
    let mut committer = Committer::open(out, shard_samples)?;
    let resumed = jobs
        .iter()
        .map(|job| Ok(committer.has(&trajectory_key(&maker.episode_id(job.index)?, job.run))))
        .collect::<Result<Vec<bool>>>()?
        .into_iter()
        .filter(|c| *c)
        .count();
    progress(DatagenEvent::Started {
        total: jobs.len(),
        resumed,
    });
    // One environment up front, so a configuration it refuses is reported with its own error; the workers'
    // environments below are built the same way.
    maker.env()?;
    // Chunks keep every core busy while samples are still committed in selection order.
    let chunk = (rayon::current_num_threads() * 4).max(8);
    for part in jobs.chunks(chunk) {
        let made: Vec<Result<(Trajectory, bool)>> = part
            .par_iter()
            .map_init(|| maker.env(), |env, job| maker.make(env, job))
            .collect();
        for result in made {
            let (t, rendered) = result?;
            committer.commit(&t, rendered, &prompt, &config.memory, progress)?;
        }
    }
    let mut stats = committer.finish()?;
    let store = SampleStore::open(out)?;
    summarise_store(&store, &mut stats)?;
    write_sharegpt(&store, out)?;
    episodes::file::write_json(&out.join(STATS_FILE), &stats)?;
    Ok(stats)
}

/// One trajectory to make: an episode's gt replay (`run` None) or one of its perturbed expert runs.
struct Job {
    index: usize,
    run: Option<u32>,
}

/// Each selected episode's gt replay, then its perturbed runs; an episode selected twice is an error.
fn jobs(selection: &[usize], runs: u32) -> Result<Vec<Job>> {
    let mut seen = HashSet::with_capacity(selection.len());
    if let Some(dup) = selection.iter().find(|&&i| !seen.insert(i)) {
        return Err(EnvError::Invalid(format!(
            "datagen: episode index {dup} is selected twice"
        )));
    }
    Ok(selection
        .iter()
        .flat_map(|&index| {
            std::iter::once(Job { index, run: None }).chain((1..=runs).map(move |r| Job {
                index,
                run: Some(r),
            }))
        })
        .collect())
}

/// Renders (or reads back, when an earlier run finished it) one trajectory in a worker's environment.
struct TrajectoryMaker<'a> {
    input: &'a DatagenInput,
    out: &'a Path,
    config: &'a DatagenConfig,
    options: episodes::prompt::ActionOptions,
    settings: FrameSettings,
}

impl<'a> TrajectoryMaker<'a> {
    fn new(
        input: &'a DatagenInput,
        out: &'a Path,
        config: &'a DatagenConfig,
        prompt: &PromptConfig,
    ) -> TrajectoryMaker<'a> {
        TrajectoryMaker {
            input,
            out,
            config,
            options: prompt.options(),
            settings: FrameSettings {
                jpeg_quality: config.jpeg_quality,
                success_distance: config.success_distance,
                max_steps: config.max_steps,
                stop_radius: config.stop_radius,
            },
        }
    }

    fn env(&self) -> Result<VlnEnv> {
        let (library, dataset) = (self.input.library.clone(), self.input.dataset.clone());
        VlnEnv::new(library, dataset, self.config.env_config())
    }

    fn episode_id(&self, index: usize) -> Result<String> {
        let dataset = &self.input.dataset;
        dataset
            .episode(index)
            .map(|e| e.episode_id.key())
            .ok_or_else(|| {
                EnvError::Invalid(format!(
                    "datagen: episode index {index} out of range (split has {})",
                    dataset.len()
                ))
            })
    }

    /// The trajectory and whether this call rendered it.
    fn make(&self, env: &mut Result<VlnEnv>, job: &Job) -> Result<(Trajectory, bool)> {
        let id = self.episode_id(job.index)?;
        let (out, settings) = (self.out, &self.settings);
        if let Some(run) = job.run {
            if let Some(t) = load_finished_perturbed(out, &id, run)? {
                return Ok((t, false));
            }
            let env = env.as_mut().map_err(|e| EnvError::Invalid(e.to_string()))?;
            let (perturb, n) = (&self.config.perturb, self.config.num_actions);
            let t = make_perturbed_trajectory(env, out, job.index, run, perturb, n, settings)?;
            return Ok((t, true));
        }
        let actions = self.input.actions.get(&id).map(Vec::as_slice);
        if let Some(a) = actions {
            if let Some(t) = load_finished(out, &id, a)? {
                return Ok((t, false));
            }
        }
        let env = env.as_mut().map_err(|e| EnvError::Invalid(e.to_string()))?;
        let mut t = make_trajectory(env, out, job.index, actions, &self.options, settings)?;
        if t.skipped == Some(SkipReason::NoGt) {
            // No gt because its entry broke a rule at load: say which.
            if let Some(why) = self.input.dataset.gt_problems().get(&id) {
                t.skipped = Some(SkipReason::BadGt {
                    detail: why.clone(),
                });
            }
        }
        Ok((t, true))
    }
}

/// Appends trajectories' samples to the store in selection order, skipping those an earlier run committed,
/// and flushes a shard every `shard_samples`.
struct Committer {
    writer: SampleStoreWriter,
    /// Trajectories in the store, by key (the directory of their frames).
    committed: HashSet<String>,
    shard_samples: usize,
    buffered: usize,
    stats: DatagenStats,
}

impl Committer {
    fn open(out: &Path, shard_samples: usize) -> Result<Committer> {
        let mut committed = HashSet::new();
        if out.join(episodes::store::MANIFEST_FILE).is_file() {
            for s in SampleStore::open(out)?.iter() {
                let s = s?;
                let key = key_of_frame(&s.current_frame).unwrap_or(&s.episode_id);
                committed.insert(key.to_owned());
            }
        }
        Ok(Committer {
            writer: SampleStoreWriter::with_shard_size(out, usize::MAX)?,
            committed,
            shard_samples: shard_samples.max(1),
            buffered: 0,
            stats: DatagenStats::default(),
        })
    }

    fn has(&self, key: &str) -> bool {
        self.committed.contains(key)
    }

    fn commit(
        &mut self,
        t: &Trajectory,
        rendered: bool,
        prompt: &PromptConfig,
        memory: &MemorySampler,
        progress: &(dyn Fn(DatagenEvent) + Sync),
    ) -> Result<()> {
        self.stats.rendered_this_run += u64::from(rendered);
        let key = trajectory_key(&t.episode_id, t.perturbed_run);
        if let Some(reason) = &t.skipped {
            *self
                .stats
                .skipped_by_reason
                .entry(reason.kind().to_owned())
                .or_default() += 1;
            self.stats.skipped_trajectories.push(Skipped {
                episode_id: key,
                reason: reason.to_string(),
            });
            progress(DatagenEvent::Trajectory {
                samples: 0,
                frames: 0,
            });
            return Ok(());
        }
        let samples = if self.committed.contains(&key) {
            Vec::new()
        } else {
            trajectory_samples(t, prompt, memory)
        };
        for s in &samples {
            self.writer.append(s)?;
        }
        self.committed.insert(key);
        self.buffered += samples.len();
        self.stats.appended_this_run += samples.len() as u64;
        if self.buffered >= self.shard_samples {
            self.writer.flush()?;
            self.buffered = 0;
        }
        progress(DatagenEvent::Trajectory {
            samples: samples.len(),
            frames: if rendered { t.frames.len() } else { 0 },
        });
        Ok(())
    }

    /// Closes the store; the run's counts (the store-wide ones are filled by [`summarise_store`]).
    fn finish(self) -> Result<DatagenStats> {
        self.writer.finish()?;
        let mut stats = self.stats;
        stats.skipped = stats.skipped_trajectories.len() as u64;
        Ok(stats)
    }
}

/// Fills the store-wide counts of `stats`.
fn summarise_store(store: &SampleStore, stats: &mut DatagenStats) -> Result<()> {
    let mut trajectories_seen = HashSet::new();
    for s in store.iter() {
        let s = s?;
        stats.samples += 1;
        let key = key_of_frame(&s.current_frame).unwrap_or(&s.episode_id);
        if !trajectories_seen.contains(key) {
            trajectories_seen.insert(key.to_owned());
            stats.trajectories += 1;
        }
        // A trajectory has one sample per action, hence one frame per sample.
        stats.frames += 1;
        if let Some(first) = s.target.first() {
            *stats
                .action_histogram
                .entry(first.name().to_owned())
                .or_default() += 1;
        }
        for a in &s.target {
            *stats
                .target_histogram
                .entry(a.name().to_owned())
                .or_default() += 1;
        }
        *stats
            .history_length_histogram
            .entry(s.history_frames.len())
            .or_default() += 1;
    }
    Ok(())
}

/// Deletes the half-written trajectory directories a killed run left (one writer per directory at a time).
fn remove_temp_dirs(out: &Path) -> Result<()> {
    let frames = out.join(FRAMES_DIR);
    let Ok(entries) = std::fs::read_dir(&frames) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry
            .map_err(|e| EnvError::Io {
                path: frames.clone(),
                source: e,
            })?
            .path();
        let is_temp = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with(".tmp-"));
        if is_temp && path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(|e| EnvError::Io {
                path: path.clone(),
                source: e,
            })?;
        }
    }
    Ok(())
}

/// What a datagen output directory was made with: its `datagen.json`'s generation settings and agent; None
/// when `dir` has no such file (a store written by something else, such as RFT's rollouts).
pub fn read_settings(dir: &Path) -> Result<Option<(DatagenConfig, AgentConfig)>> {
    let path = dir.join(SETTINGS_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let s: Settings = episodes::file::read_json(&path)?;
    Ok(Some((s.config, s.agent)))
}

fn check_settings(out: &Path, want: &Settings) -> Result<()> {
    let path = out.join(SETTINGS_FILE);
    if path.is_file() {
        let have: Settings = episodes::file::read_json(&path)?;
        if !have.same_output(want) {
            return Err(EnvError::Invalid(format!(
                "{}: this directory was generated with other settings ({}); use a new --out or the same \
                 settings (now: {})",
                path.display(),
                serde_json::to_string(&have).unwrap_or_default(),
                serde_json::to_string(want).unwrap_or_default()
            )));
        }
        return Ok(());
    }
    if out.join(episodes::store::MANIFEST_FILE).is_file() {
        return Err(EnvError::Invalid(format!(
            "{}: holds a sample store but no {SETTINGS_FILE}; not a datagen output directory",
            out.display()
        )));
    }
    episodes::file::write_json(&path, want)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_states_the_simulators_step_and_angle() {
        let c = DatagenConfig {
            num_actions: 4,
            ..DatagenConfig::default()
        };
        let r2r = c.prompt(&AgentConfig::r2r());
        assert_eq!(r2r.turn_angle_deg, 15.0);
        assert_eq!(r2r.num_actions, 4);
        let rxr = c.prompt(&AgentConfig::rxr()).options();
        assert_eq!(rxr.text(Action::TurnLeft), Some("B. Turn left 30 degrees"));
        let odd = AgentConfig {
            turn_angle_deg: 20,
            forward_step: 0.5,
            ..AgentConfig::r2r()
        };
        let o = c.prompt(&odd).options();
        assert_eq!(o.text(Action::TurnRight), Some("C. Turn right 20 degrees"));
        assert_eq!(o.text(Action::MoveForward), Some("A. Move forward 50 cm"));
    }

    #[test]
    fn settings_round_trip_and_ignore_the_dataset_path() {
        let s = Settings {
            format: SETTINGS_FORMAT.into(),
            version: 1,
            split: "train".into(),
            config: DatagenConfig::default(),
            agent: AgentConfig::r2r(),
            prompt: PromptConfig::R2R,
            dataset: "/a".into(),
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(
            text.contains("\"memory\":\"long-short:8,1,4,16\""),
            "{text}"
        );
        let back: Settings = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        let moved = Settings {
            dataset: "/b".into(),
            ..s.clone()
        };
        assert!(s.same_output(&moved));
        let other = Settings {
            config: DatagenConfig {
                width: 224,
                ..DatagenConfig::default()
            },
            ..s.clone()
        };
        assert!(!s.same_output(&other));
    }

    #[test]
    fn bad_configs_are_refused() {
        for bad in [
            DatagenConfig {
                num_actions: 0,
                ..DatagenConfig::default()
            },
            DatagenConfig {
                jpeg_quality: 0,
                ..DatagenConfig::default()
            },
            DatagenConfig {
                width: 0,
                ..DatagenConfig::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert!(DatagenConfig::default().validate().is_ok());
    }
}
