//! Running a policy over episodes: the episode runner that deals episodes to the slots of a [`VecEnv`]
//! (every listed episode exactly once), and a recorder that writes each episode's trajectory (JSONL),
//! top-down map (PNG) and egocentric video (GIF).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use episodes::Action;
use image::codecs::gif::{GifEncoder, Repeat};
use image::{Delay, RgbaImage};
use serde::{Deserialize, Serialize};

use crate::error::{EnvError, Result};
use crate::measures::EpisodeMetrics;
use crate::policy::{Policy, PolicyInput};
use crate::render::{floor_levels, TopDownMap};
use crate::task::{Observation, ResetInfo, ResetOptions, StepResult};
use crate::tools::names::file_name_for_id;
use crate::vec_env::VecEnv;

/// The seed of one episode, from the run's seed and the episode id only (FNV-1a of the id, mixed with
/// SplitMix64), so an episode samples the same actions whichever slot or thread plays it and whatever else
/// runs in the same eval. Hand-written because it must never change across versions of a hashing crate.
pub fn episode_seed(seed: u64, episode_id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in episode_id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    let mut z = seed ^ h.rotate_left(29);
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A finished episode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeOutcome {
    pub episode_index: usize,
    pub episode_id: String,
    pub scene_id: String,
    /// The agent called STOP (otherwise the step cap ended the episode).
    pub stopped: bool,
    pub metrics: EpisodeMetrics,
}

/// Hooks the runner calls as episodes progress (recording, progress bars, result logs).
pub trait EpisodeObserver {
    fn on_reset(
        &mut self,
        _slot: usize,
        _observation: &Observation,
        _info: &ResetInfo,
    ) -> Result<()> {
        Ok(())
    }
    fn on_step(&mut self, _slot: usize, _step: &StepResult) -> Result<()> {
        Ok(())
    }
    fn on_episode(&mut self, slot: usize, outcome: &EpisodeOutcome) -> Result<()>;
}

struct Active {
    observation: Observation,
    episode_index: usize,
    scene_id: String,
}

/// Plays every episode of `episodes` (dataset indices, no repeats) exactly once with `policy`, dealing the
/// next one to whichever slot finishes. Episode `e` is reset with seed `episode_seed(seed, id of e)`.
pub fn run_episodes(
    envs: &mut VecEnv,
    policy: &mut dyn Policy,
    episodes: &[usize],
    seed: u64,
    observer: &mut dyn EpisodeObserver,
) -> Result<()> {
    let mut unique = HashSet::with_capacity(episodes.len());
    if let Some(dup) = episodes.iter().find(|e| !unique.insert(**e)) {
        return Err(EnvError::Invalid(format!(
            "run_episodes: episode index {dup} is listed twice"
        )));
    }
    let mut queue = episodes.iter().copied();
    let mut active: Vec<Option<Active>> = (0..envs.num_envs()).map(|_| None).collect();
    let first: Vec<(usize, usize)> = (0..envs.num_envs())
        .filter_map(|slot| queue.next().map(|e| (slot, e)))
        .collect();
    start(envs, policy, &mut active, first, seed, observer)?;
    loop {
        let slots: Vec<usize> = (0..active.len()).filter(|&s| active[s].is_some()).collect();
        if slots.is_empty() {
            return Ok(());
        }
        let inputs: Vec<PolicyInput<'_>> = slots
            .iter()
            .map(|&slot| PolicyInput {
                slot,
                observation: &active[slot].as_ref().expect("active").observation,
            })
            .collect();
        let actions = policy.act(&inputs)?;
        if actions.len() != inputs.len() {
            return Err(EnvError::Invalid(format!(
                "policy {}: returned {} actions for {} observations",
                policy.name(),
                actions.len(),
                inputs.len()
            )));
        }
        let requests: Vec<(usize, Action)> = slots.iter().copied().zip(actions).collect();
        let results = envs.step(&requests)?;
        let mut next = Vec::new();
        for (&slot, result) in slots.iter().zip(results) {
            observer.on_step(slot, &result)?;
            if result.done() {
                let a = active[slot].take().expect("active");
                let outcome = EpisodeOutcome {
                    episode_index: a.episode_index,
                    episode_id: result.info.episode_id.clone(),
                    scene_id: a.scene_id,
                    stopped: result.terminated,
                    metrics: result.info.metrics,
                };
                observer.on_episode(slot, &outcome)?;
                if let Some(e) = queue.next() {
                    next.push((slot, e));
                }
            } else {
                active[slot].as_mut().expect("active").observation = result.observation;
            }
        }
        start(envs, policy, &mut active, next, seed, observer)?;
    }
}

/// Resets `slots` to their episodes and tells the policy and the observer.
fn start(
    envs: &mut VecEnv,
    policy: &mut dyn Policy,
    active: &mut [Option<Active>],
    deal: Vec<(usize, usize)>,
    seed: u64,
    observer: &mut dyn EpisodeObserver,
) -> Result<()> {
    if deal.is_empty() {
        return Ok(());
    }
    let requests: Vec<(usize, Option<u64>, ResetOptions)> = deal
        .iter()
        .map(|&(slot, e)| (slot, None, ResetOptions::Index(e)))
        .collect();
    // The simulator samples nothing; the per-episode seed (derived from the id the reply carries) is for the
    // policy, handed over in the reset info.
    let replies = envs.reset(requests)?;
    for (&(slot, episode_index), (observation, mut info)) in deal.iter().zip(replies) {
        info.seed = Some(episode_seed(seed, &observation.episode_id));
        policy.reset(slot, &info)?;
        observer.on_reset(slot, &observation, &info)?;
        active[slot] = Some(Active {
            observation,
            episode_index,
            scene_id: info.episode.scene_id.clone(),
        });
    }
    Ok(())
}

/// One line of a trajectory file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TrajectoryRecord {
    /// The episode and the start pose.
    Start {
        episode_id: String,
        scene_id: String,
        instruction: String,
        position: [f32; 3],
        heading: f64,
        goal: [f32; 3],
        reference_path: Vec<[f32; 3]>,
        distance_to_goal: f32,
    },
    /// After action number `step` (1-based).
    Step {
        step: u32,
        action: Action,
        position: [f32; 3],
        heading: f64,
        distance_to_goal: f32,
        collided: bool,
        reward: f32,
    },
    /// The final measures.
    End {
        stopped: bool,
        metrics: EpisodeMetrics,
    },
}

/// Writes `<dir>/<episode_id>/trajectory.jsonl`, `map.png` (top-down map with the agent's path, the
/// reference path and the goal) and `video.gif` (the egocentric frames, when the observations carry RGB).
pub struct TrajectoryRecorder {
    dir: PathBuf,
    /// Metres per map pixel.
    map_resolution: f32,
    /// GIF frame duration in milliseconds.
    frame_ms: u32,
    slots: Vec<Option<Recording>>,
    written: Vec<PathBuf>,
}

struct Recording {
    dir: PathBuf,
    info: ResetInfo,
    lines: Vec<TrajectoryRecord>,
    path: Vec<[f32; 3]>,
    gif: Option<(GifEncoder<SharedBuffer>, SharedBuffer)>,
}

/// An in-memory GIF sink the recorder can read after the encoder is dropped (the `image` GIF encoder writes
/// the trailer on drop and never hands its writer back).
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("gif buffer lock")
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl TrajectoryRecorder {
    pub fn new(dir: impl Into<PathBuf>, num_envs: usize) -> Self {
        TrajectoryRecorder {
            dir: dir.into(),
            map_resolution: 0.03,
            frame_ms: 200,
            slots: (0..num_envs).map(|_| None).collect(),
            written: Vec::new(),
        }
    }

    /// The episode directories written so far.
    pub fn written(&self) -> &[PathBuf] {
        &self.written
    }

    fn add_frame(rec: &mut Recording, observation: &Observation, frame_ms: u32) -> Result<()> {
        let (Some((encoder, _)), Some(rgb)) = (rec.gif.as_mut(), observation.rgb.as_ref()) else {
            return Ok(());
        };
        let rgba = RgbaImage::from_fn(rgb.width(), rgb.height(), |x, y| {
            let p = rgb.get_pixel(x, y).0;
            image::Rgba([p[0], p[1], p[2], 255])
        });
        let frame = image::Frame::from_parts(rgba, 0, 0, Delay::from_numer_denom_ms(frame_ms, 1));
        encoder
            .encode_frame(frame)
            .map_err(|source| EnvError::Image {
                path: rec.dir.join("video.gif"),
                source,
            })
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> EnvError + '_ {
    move |source| EnvError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl EpisodeObserver for TrajectoryRecorder {
    fn on_reset(&mut self, slot: usize, observation: &Observation, info: &ResetInfo) -> Result<()> {
        let dir = self.dir.join(file_name_for_id(&observation.episode_id));
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let episode = &info.episode;
        let gif = if observation.rgb.is_some() {
            let buffer = SharedBuffer::default();
            let mut encoder = GifEncoder::new_with_speed(buffer.clone(), 10);
            encoder
                .set_repeat(Repeat::Infinite)
                .map_err(|source| EnvError::Image {
                    path: dir.join("video.gif"),
                    source,
                })?;
            Some((encoder, buffer))
        } else {
            None
        };
        let goal = episode
            .goals
            .first()
            .map_or(info.start.position, |g| g.position.map(|v| v as f32));
        let mut rec = Recording {
            dir,
            info: info.clone(),
            lines: vec![TrajectoryRecord::Start {
                episode_id: observation.episode_id.clone(),
                scene_id: episode.scene_id.clone(),
                instruction: episode.instruction.instruction_text.clone(),
                position: info.start.position,
                heading: info.start.heading(),
                goal,
                reference_path: episode
                    .reference_path
                    .iter()
                    .map(|p| p.map(|v| v as f32))
                    .collect(),
                distance_to_goal: info.distance_to_goal,
            }],
            path: vec![info.start.position],
            gif,
        };
        Self::add_frame(&mut rec, observation, self.frame_ms)?;
        self.slots[slot] = Some(rec);
        Ok(())
    }

    fn on_step(&mut self, slot: usize, step: &StepResult) -> Result<()> {
        let frame_ms = self.frame_ms;
        let rec = self.slots[slot]
            .as_mut()
            .ok_or_else(|| EnvError::Invalid(format!("recorder: slot {slot} not reset")))?;
        let state = step.observation.state;
        rec.lines.push(TrajectoryRecord::Step {
            step: step.observation.step,
            action: step.info.action,
            position: state.position,
            heading: state.heading(),
            distance_to_goal: step.info.distance_to_goal,
            collided: step.info.collided,
            reward: step.reward,
        });
        if rec.path.last() != Some(&state.position) {
            rec.path.push(state.position);
        }
        Self::add_frame(rec, &step.observation, frame_ms)
    }

    fn on_episode(&mut self, slot: usize, outcome: &EpisodeOutcome) -> Result<()> {
        let mut rec = self.slots[slot]
            .take()
            .ok_or_else(|| EnvError::Invalid(format!("recorder: slot {slot} not reset")))?;
        rec.lines.push(TrajectoryRecord::End {
            stopped: outcome.stopped,
            metrics: outcome.metrics,
        });
        let jsonl = rec.dir.join("trajectory.jsonl");
        episodes::file::write_atomic(&jsonl, |w| {
            for line in &rec.lines {
                serde_json::to_writer(&mut *w, line).map_err(std::io::Error::other)?;
                w.write_all(b"\n")?;
            }
            Ok(())
        })?;
        write_map(&rec, self.map_resolution)?;
        if let Some((encoder, buffer)) = rec.gif.take() {
            drop(encoder);
            let bytes = std::mem::take(&mut *buffer.0.lock().expect("gif buffer lock"));
            episodes::file::write_atomic(&rec.dir.join("video.gif"), |w| w.write_all(&bytes))?;
        }
        self.written.push(rec.dir);
        Ok(())
    }
}

/// The top-down map of the start's storey with the reference path (green), the agent's path (red), the goal
/// and its success radius (blue) and the final pose (yellow).
fn write_map(rec: &Recording, resolution: f32) -> Result<()> {
    let scene = &rec.info.scene;
    let start_y = rec.info.start.position[1];
    let floor = floor_levels(scene.scene())
        .into_iter()
        .min_by(|a, b| (a - start_y).abs().total_cmp(&(b - start_y).abs()))
        .unwrap_or(start_y);
    let mut map = TopDownMap::for_level(&scene.render_data(), floor, resolution)?;
    let pathfinder = scene.pathfinder.clone();
    map.draw_navigable(&|x, z| pathfinder.is_navigable([x, start_y, z]));
    let episode = &rec.info.episode;
    let reference: Vec<[f32; 3]> = episode
        .reference_path
        .iter()
        .map(|p| p.map(|v| v as f32))
        .collect();
    map.draw_path(&reference, [40, 200, 70], 3.0);
    map.draw_path(&rec.path, [230, 50, 50], 2.0);
    if let Some(goal) = episode.goals.first() {
        let g = goal.position.map(|v| v as f32);
        map.draw_goal(g, goal.success_radius() as f32, [60, 110, 255]);
        map.draw_goal(g, 0.15, [60, 110, 255]);
    }
    if let Some(TrajectoryRecord::Step {
        position, heading, ..
    }) = rec
        .lines
        .iter()
        .rev()
        .find(|l| matches!(l, TrajectoryRecord::Step { .. }))
    {
        map.draw_agent(*position, *heading as f32, [250, 220, 40]);
    }
    map.save_png(&rec.dir.join("map.png"))
}

/// Reads a trajectory file back.
pub fn read_trajectory(path: &Path) -> Result<Vec<TrajectoryRecord>> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .map_err(|e| EnvError::Invalid(format!("{}: line {}: {e}", path.display(), i + 1)))
        })
        .collect()
}
