//! Policies: observation history + instruction -> actions, over a batch of environments.
//!
//! A [`Policy`] is driven by the episode runner (`crate::rollout`): [`Policy::reset`] when an environment
//! slot starts an episode, then [`Policy::act`] with the observations of every slot that needs an action.
//! The policy keeps whatever history it wants per slot. A policy that predicts several actions at once (the
//! VLN-R1 agent predicts N and executes a prefix) queues them per slot and returns one per call, so the
//! environment still shows it every observation.
//!
//! Baselines: [`RandomPolicy`], [`ForwardPolicy`], [`OraclePolicy`], [`ReplayPolicy`]. [`PolicySpec`] parses
//! the command-line names; kinds this crate cannot build (a VLM `model:DIR`) parse as
//! [`PolicySpec::External`] for the binary to resolve.

mod forward;
mod oracle;
mod random;
mod replay;
mod spec;

use episodes::Action;

pub use forward::ForwardPolicy;
pub use oracle::OraclePolicy;
pub use random::{RandomPolicy, VLNCE_RANDOM_PROBS};
pub use replay::ReplayPolicy;
pub use spec::PolicySpec;

use crate::error::Result;
use crate::task::{Observation, ResetInfo, Sensors};

/// One environment's observation in a batch; `slot` identifies the environment across calls.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    pub slot: usize,
    pub observation: &'a Observation,
}

/// A batched navigation policy.
pub trait Policy: Send {
    /// A short name for logs and result files (`random`, `oracle`, `model:ckpt/step_100`).
    fn name(&self) -> String;

    /// The sensors the policy looks at. Environments skip rendering what no one needs.
    fn sensors(&self) -> Sensors {
        Sensors::RGB
    }

    /// Environment `slot` started the episode described by `start` (its `seed` is the per-episode seed for
    /// any sampling the policy does). Forget the slot's previous episode.
    fn reset(&mut self, slot: usize, start: &ResetInfo) -> Result<()>;

    /// One action per input, in order.
    fn act(&mut self, batch: &[PolicyInput<'_>]) -> Result<Vec<Action>>;

    /// A line on how the policy fared so far that the metrics do not show (a model policy: how many of its
    /// answers did not parse). Eval and rollout print it at the end.
    fn report(&self) -> Option<String> {
        None
    }
}

impl<P: Policy + ?Sized> Policy for Box<P> {
    fn name(&self) -> String {
        (**self).name()
    }
    fn sensors(&self) -> Sensors {
        (**self).sensors()
    }
    fn reset(&mut self, slot: usize, start: &ResetInfo) -> Result<()> {
        (**self).reset(slot, start)
    }
    fn act(&mut self, batch: &[PolicyInput<'_>]) -> Result<Vec<Action>> {
        (**self).act(batch)
    }
    fn report(&self) -> Option<String> {
        (**self).report()
    }
}
