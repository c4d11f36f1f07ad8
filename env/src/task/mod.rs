//! The VLN-CE task: an environment that replays episodes with a Gymnasium-style API.
//!
//! - [`SceneLibrary`]: scenes (collision mesh, path finder, render data, metadata) loaded once per scene and
//!   shared by every environment through `Arc`s.
//! - [`TaskDataset`]: a split's episodes and gt locations.
//! - [`VlnEnv`]: reset to an episode's start pose, step with actions, end on STOP or at the step cap;
//!   observations are the RGB (and depth) frame plus the instruction; metrics from [`crate::measures`];
//!   shaped reward from [`RewardConfig`].

mod dataset;
pub mod gym;
pub mod measures;
mod observation;
pub mod policy;
mod reward;
mod scenes;
pub mod vec_env;
mod vln_env;

pub use dataset::TaskDataset;
pub use gym::{Env, Step};
pub use observation::{DepthImage, Observation, Sensors};
pub use reward::{RewardConfig, RewardParts};
pub use scenes::{render_lighting, resolve_scene_path, LoadedScene, SceneLibrary};
pub use vln_env::{
    episode_scene, start_state, ResetInfo, ResetOptions, StepInfo, StepResult, VlnEnv,
    VlnEnvConfig, DEFAULT_MAX_STEPS, DEFAULT_SUCCESS_DISTANCE,
};
