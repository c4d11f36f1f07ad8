//! The Gymnasium environment interface: `reset(seed, options) -> (observation, info)` and
//! `step(action) -> (observation, reward, terminated, truncated, info)`.
//!
//! Why our own trait instead of the `gymnasium-rs` crate (0.1.1), which has this shape: that crate is
//! unfinished and pulls pyo3 and numpy into the build, and `env` must build and test without Python. The
//! trait below mirrors its (and Python Gymnasium's) method shapes so that code written against either
//! reads the same.

use crate::error::Result;

/// The result of one [`Env::step`], Gymnasium's 5-tuple as a struct.
#[derive(Debug, Clone)]
pub struct Step<O, I> {
    pub observation: O,
    pub reward: f32,
    /// The episode ended inside the task (VLN: the agent called STOP).
    pub terminated: bool,
    /// The episode was cut off from outside the task (VLN: the step cap).
    pub truncated: bool,
    pub info: I,
}

impl<O, I> Step<O, I> {
    /// `terminated || truncated`: the environment must be reset before the next step.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

/// A Gymnasium-style environment.
pub trait Env {
    type Action;
    type Observation;
    type ResetOptions;
    /// Gymnasium has one untyped `info` dict; typed, what a reset and a step report differ.
    type ResetInfo;
    type StepInfo;

    /// Starts an episode. `seed` seeds the environment's randomness for this and later episodes (Gymnasium
    /// semantics); `options` selects environment-specific things (for VLN: which episode).
    fn reset(
        &mut self,
        seed: Option<u64>,
        options: &Self::ResetOptions,
    ) -> Result<(Self::Observation, Self::ResetInfo)>;

    /// Applies one action. Stepping an environment whose episode is over is an error.
    fn step(&mut self, action: Self::Action) -> Result<Step<Self::Observation, Self::StepInfo>>;
}
