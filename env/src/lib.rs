//! The VLN-CE simulator and task. Never depends on libtorch.

pub mod body;
pub mod datagen;
pub mod episode_gen;
pub mod error;
pub mod eval;
pub mod measures;
pub mod nav;
pub mod policy;
pub mod render;
pub mod rollout;
pub mod split_inputs;
pub mod task;
pub mod vec_env;

pub use error::{EnvError, Result};
