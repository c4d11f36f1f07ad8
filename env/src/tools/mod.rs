//! Offline tools over the simulator and the task: VLN-Ego data generation, episode generation, evaluation,
//! rollout recording, and the input loading the CLI and the Python package share.

pub mod datagen;
pub mod episode_gen;
pub mod eval;
pub mod names;
pub mod rollout;
pub mod split_inputs;
