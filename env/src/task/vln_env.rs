//! The VLN-CE task environment: replays an episode from its start pose, applies discrete actions to the
//! agent body, renders what the agent sees, scores the episode with the VLN-CE measures and shapes a reward.

use std::sync::Arc;

use episodes::{Action, Episode};
use image::RgbImage;
use serde::{Deserialize, Serialize};

use super::dataset::TaskDataset;
use super::gym::{Env, Step};
use super::observation::{DepthImage, Observation, Sensors};
use super::reward::{RewardConfig, RewardParts};
use super::scenes::{LoadedScene, SceneLibrary};
use crate::body::{AgentConfig, AgentState, Body};
use crate::error::{EnvError, Result};
use crate::measures::{EpisodeMetrics, MeasureReset, MeasureStep, VlnMeasures};
use crate::nav::DistanceField;
use crate::render::{CameraPose, RenderConfig, Renderer, SceneRenderData, DEFAULT_SENSOR_HEIGHT};

/// VLN-CE's episode step cap (STOP counts as a step).
pub const DEFAULT_MAX_STEPS: u32 = 500;
/// VLN-CE's success distance (metres).
pub const DEFAULT_SUCCESS_DISTANCE: f32 = 3.0;

/// Task settings (VLN-CE's `TASK_CONFIG` for R2R-CE by default).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VlnEnvConfig {
    /// Actions after which the episode is truncated.
    pub max_steps: u32,
    /// STOP strictly within this geodesic distance of the goal is a success.
    pub success_distance: f32,
    pub sensors: Sensors,
    /// Image size and field of view of the RGB / depth sensors (R2R-CE: 224x224, HFOV 90).
    pub width: u32,
    pub height: u32,
    pub hfov_deg: f32,
    /// Sensor height above the feet (R2R-CE: 1.25 m).
    pub sensor_height: f32,
    /// LOOK_UP / LOOK_DOWN tilt (RxR-CE v1 action space: 30 degrees), clamped to +-90 degrees in total.
    pub look_angle_deg: f32,
    pub reward: RewardConfig,
}

impl Default for VlnEnvConfig {
    fn default() -> Self {
        VlnEnvConfig {
            max_steps: DEFAULT_MAX_STEPS,
            success_distance: DEFAULT_SUCCESS_DISTANCE,
            sensors: Sensors::RGB,
            width: 224,
            height: 224,
            hfov_deg: 90.0,
            sensor_height: DEFAULT_SENSOR_HEIGHT,
            look_angle_deg: 30.0,
            reward: RewardConfig::default(),
        }
    }
}

impl VlnEnvConfig {
    pub fn validate(&self) -> Result<()> {
        if self.max_steps == 0 {
            return Err(EnvError::Invalid(
                "task config: max_steps must be at least 1".into(),
            ));
        }
        if !(self.success_distance.is_finite() && self.success_distance > 0.0) {
            return Err(EnvError::Invalid(format!(
                "task config: success_distance {} must be a positive distance",
                self.success_distance
            )));
        }
        if !self.sensor_height.is_finite() || !self.look_angle_deg.is_finite() {
            return Err(EnvError::Invalid(
                "task config: sensor_height and look_angle_deg must be finite".into(),
            ));
        }
        self.render_config().validate()
    }

    fn render_config(&self) -> RenderConfig {
        RenderConfig::new(self.width, self.height, self.hfov_deg).with_depth(self.sensors.depth)
    }
}

/// Which episode [`VlnEnv::reset`] starts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ResetOptions {
    /// The next episode in dataset order after the previous reset (wrapping around).
    #[default]
    Next,
    /// The episode at this index of the dataset.
    Index(usize),
    /// The episode with this id.
    Id(String),
}

/// What a reset reports besides the observation: the episode and the scene it runs in.
#[derive(Debug, Clone)]
pub struct ResetInfo {
    pub episode_index: usize,
    pub episode: Arc<Episode>,
    pub scene: Arc<LoadedScene>,
    pub agent: AgentConfig,
    /// The start pose after dropping the agent onto the floor.
    pub start: AgentState,
    /// The seed given to `reset`, if any.
    pub seed: Option<u64>,
    /// Geodesic distance from the start to the goal (d0 of SPL).
    pub distance_to_goal: f32,
}

/// What a step reports besides observation and reward.
#[derive(Debug, Clone)]
pub struct StepInfo {
    pub episode_id: String,
    pub action: Action,
    /// Geodesic distance from the new position to the goal.
    pub distance_to_goal: f32,
    pub collided: bool,
    pub reward: RewardParts,
    /// The VLN-CE measures so far (final once the step ends the episode).
    pub metrics: EpisodeMetrics,
}

pub type StepResult = Step<Observation, StepInfo>;

/// The episode being played.
struct Running {
    index: usize,
    episode_id: String,
    instruction: Arc<str>,
    render: Option<Arc<SceneRenderData>>,
    body: Body,
    goal: Arc<DistanceField>,
    measures: VlnMeasures,
    distance: f32,
    steps: u32,
    /// Camera tilt in LOOK_UP / LOOK_DOWN steps.
    look: i32,
    done: bool,
}

/// One VLN environment. Not thread-safe by itself (a renderer and a body); run several with `VecEnv`.
pub struct VlnEnv {
    library: Arc<SceneLibrary>,
    dataset: Arc<TaskDataset>,
    config: VlnEnvConfig,
    renderer: Option<Renderer>,
    running: Option<Running>,
    cursor: usize,
}

impl std::fmt::Debug for VlnEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VlnEnv")
            .field("episodes", &self.dataset.len())
            .field("config", &self.config)
            .field("episode", &self.running.as_ref().map(|r| &r.episode_id))
            .finish()
    }
}

impl VlnEnv {
    pub fn new(
        library: Arc<SceneLibrary>,
        dataset: Arc<TaskDataset>,
        config: VlnEnvConfig,
    ) -> Result<Self> {
        config.validate()?;
        let renderer = if config.sensors.any() {
            Some(Renderer::new(config.render_config())?)
        } else {
            None
        };
        Ok(VlnEnv {
            library,
            dataset,
            config,
            renderer,
            running: None,
            cursor: 0,
        })
    }

    pub fn config(&self) -> &VlnEnvConfig {
        &self.config
    }

    pub fn dataset(&self) -> &Arc<TaskDataset> {
        &self.dataset
    }

    pub fn library(&self) -> &Arc<SceneLibrary> {
        &self.library
    }

    /// The agent's pose, while an episode is loaded.
    pub fn agent_state(&self) -> Option<AgentState> {
        self.running.as_ref().map(|r| r.body.state())
    }

    /// The measures of the current (or just finished) episode.
    pub fn metrics(&self) -> Option<EpisodeMetrics> {
        self.running.as_ref().map(|r| r.measures.metrics())
    }

    /// Index (in the dataset) of the loaded episode.
    pub fn episode_index(&self) -> Option<usize> {
        self.running.as_ref().map(|r| r.index)
    }

    /// True when the loaded episode has ended (or none is loaded).
    pub fn is_done(&self) -> bool {
        self.running.as_ref().is_none_or(|r| r.done)
    }

    fn pick(&mut self, options: &ResetOptions) -> Result<usize> {
        let n = self.dataset.len();
        if n == 0 {
            return Err(EnvError::Invalid(
                "reset: the task dataset has no episodes".into(),
            ));
        }
        let index = match options {
            ResetOptions::Next => {
                let i = self.cursor % n;
                self.cursor = i + 1;
                i
            }
            ResetOptions::Index(i) if *i < n => *i,
            ResetOptions::Index(i) => {
                return Err(EnvError::Invalid(format!(
                    "reset: episode index {i} is out of range (dataset has {n})"
                )))
            }
            ResetOptions::Id(id) => self.dataset.index_of(id).ok_or_else(|| {
                EnvError::Invalid(format!(
                    "reset: no episode with id {id:?} in the task dataset"
                ))
            })?,
        };
        Ok(index)
    }

    fn observe(&mut self) -> Observation {
        let r = self
            .running
            .as_ref()
            .expect("observe only while an episode is loaded");
        let state = r.body.state();
        let (mut rgb, mut depth) = (None, None);
        if let (Some(renderer), Some(scene)) = (self.renderer.as_mut(), r.render.as_ref()) {
            let pitch = (r.look as f32 * self.config.look_angle_deg)
                .clamp(-90.0, 90.0)
                .to_radians();
            let mut pose = CameraPose::from_agent(
                state.position,
                r.body.heading() as f32,
                self.config.sensor_height,
            );
            pose.pitch = pitch;
            let frame = renderer.render(scene, &pose);
            if self.config.sensors.rgb {
                rgb = Some(Arc::new(
                    RgbImage::from_raw(frame.width(), frame.height(), frame.rgb().to_vec())
                        .expect("frame size"),
                ));
            }
            if let Some(d) = frame.depth() {
                depth = Some(Arc::new(
                    DepthImage::from_raw(frame.width(), frame.height(), d.to_vec())
                        .expect("frame size"),
                ));
            }
        }
        Observation {
            episode_id: r.episode_id.clone(),
            instruction: r.instruction.clone(),
            step: r.steps,
            rgb,
            depth,
            state,
        }
    }
}

/// An episode's start pose in the simulator's precision.
pub fn start_state(episode: &Episode) -> AgentState {
    AgentState {
        position: episode.start_position.map(|v| v as f32),
        rotation: episode.start_rotation.map(|v| v as f32),
    }
}

/// The scene of `episode` and the distance field to its goal: what a reset needs from the data, and where an
/// episode that cannot be played fails (scene missing, no goal, goal not on the navigable surface, start not
/// joined to it). Eval asks this of every episode first, so that one bad episode is reported instead of
/// ending the run.
pub fn episode_scene(
    library: &SceneLibrary,
    episode: &Episode,
) -> Result<(Arc<LoadedScene>, Arc<DistanceField>)> {
    let scene = library.get(&episode.scene_id)?;
    let goal = episode
        .goals
        .first()
        .ok_or_else(|| EnvError::Invalid("no goal".into()))?;
    let field = scene
        .pathfinder
        .distance_field(goal.position.map(|v| v as f32))
        .map_err(|e| EnvError::Invalid(format!("goal: {e}")))?;
    // Geodesic measures (NE, SPL, success) are undefined from a start that no path joins to the goal. The
    // start is held to what the goal is: snapped to the nearest navigable point, which must be joined to
    // the goal. (The lenient `distance_from_nearest`, for a body pressed off the surface mid-episode, would
    // let a start in a small closed room through the wall: it would run, stop at once and score nDTW 1.)
    let start = start_state(episode).position;
    if !field.distance(start).is_finite() {
        return Err(EnvError::Invalid(format!(
            "start {start:?}: no navigable path to the goal {:?}",
            goal.position
        )));
    }
    Ok((scene, field))
}

impl Env for VlnEnv {
    type Action = Action;
    type Observation = Observation;
    type ResetOptions = ResetOptions;
    type ResetInfo = ResetInfo;
    type StepInfo = StepInfo;

    /// Loads the chosen episode. The simulator itself is deterministic (no actuation noise), so `seed` is only
    /// reported back in the info, for policies that sample.
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: &ResetOptions,
    ) -> Result<(Observation, ResetInfo)> {
        let index = self.pick(options)?;
        let episode = self
            .dataset
            .episode(index)
            .expect("picked index is in range")
            .clone();
        let episode_id = episode.episode_id.key();
        let context = |e: EnvError| {
            EnvError::Invalid(format!("episode {episode_id} ({}): {e}", episode.scene_id))
        };
        let (scene, goal_field) = episode_scene(&self.library, &episode).map_err(context)?;
        let agent = *self.library.agent();
        let body =
            Body::new(scene.collider.clone(), agent, start_state(&episode)).map_err(context)?;
        let distance = goal_field.distance_from_nearest(body.position());
        let mut measures = VlnMeasures::default();
        let reference: &[[f32; 3]] = self.dataset.gt_locations(&episode_id).map_or(&[], |l| l);
        measures.reset(&MeasureReset {
            start_position: body.position(),
            start_distance: distance,
            success_distance: self.config.success_distance,
            reference_locations: reference,
        });
        let start = body.state();
        self.running = Some(Running {
            index,
            episode_id,
            instruction: episode.instruction.instruction_text.as_str().into(),
            render: self.renderer.is_some().then(|| scene.render_data()),
            body,
            goal: goal_field,
            measures,
            distance,
            steps: 0,
            look: 0,
            done: false,
        });
        let obs = self.observe();
        Ok((
            obs,
            ResetInfo {
                episode_index: index,
                episode,
                scene,
                agent,
                start,
                seed,
                distance_to_goal: distance,
            },
        ))
    }

    fn step(&mut self, action: Action) -> Result<StepResult> {
        let max_steps = self.config.max_steps;
        let (success_distance, look_angle, reward_config) = (
            self.config.success_distance,
            self.config.look_angle_deg,
            self.config.reward,
        );
        let r = self
            .running
            .as_mut()
            .ok_or_else(|| EnvError::Invalid("step: reset the environment first".into()))?;
        if r.done {
            return Err(EnvError::Invalid(format!(
                "step: episode {} is over; reset the environment",
                r.episode_id
            )));
        }
        let outcome = r.body.step(action);
        let max_look = (90.0 / look_angle.max(1e-3)).floor() as i32;
        match action {
            Action::LookUp => r.look = (r.look + 1).min(max_look),
            Action::LookDown => r.look = (r.look - 1).max(-max_look),
            _ => {}
        }
        r.steps += 1;
        let before = r.distance;
        let position = r.body.position();
        r.distance = r.goal.distance_from_nearest(position);
        let success = action == Action::Stop && r.distance < success_distance;
        r.measures.update(&MeasureStep {
            action,
            position,
            distance_to_goal: r.distance,
            collided: outcome.collided,
        });
        let reward = reward_config.reward(before, r.distance, success);
        let terminated = action == Action::Stop;
        let truncated = !terminated && r.steps >= max_steps;
        r.done = terminated || truncated;
        let info = StepInfo {
            episode_id: r.episode_id.clone(),
            action,
            distance_to_goal: r.distance,
            collided: outcome.collided,
            reward,
            metrics: r.measures.metrics(),
        };
        let observation = self.observe();
        Ok(Step {
            observation,
            reward: reward.total(),
            terminated,
            truncated,
            info,
        })
    }
}
