//! `oracle`: the expert in closed loop ([`Expert`]: each `reference_path` waypoint in turn, then the goal,
//! STOP within the follower's goal radius): the same decisions that make the gt files, taken from the
//! agent's actual pose at every step.
//!
//! The expert plans on a mirror of the agent's body (same collider, same start pose, same actions); the
//! simulator is deterministic, so the mirror matches the environment. If it ever does not (a pose changed
//! behind the policy's back), the mirror is re-placed at the observed pose and the plan restarts.

use std::collections::HashMap;

use episodes::Action;

use super::{Policy, PolicyInput};
use crate::error::{EnvError, Result};
use crate::nav::expert::Expert;
use crate::nav::FollowerConfig;
use crate::task::{ResetInfo, Sensors};

/// The closed-loop expert.
pub struct OraclePolicy {
    config: FollowerConfig,
    slots: HashMap<usize, Expert>,
}

impl std::fmt::Debug for OraclePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OraclePolicy")
            .field("config", &self.config)
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl OraclePolicy {
    pub fn new(config: FollowerConfig) -> Self {
        OraclePolicy {
            config,
            slots: HashMap::new(),
        }
    }
}

impl Default for OraclePolicy {
    fn default() -> Self {
        OraclePolicy::new(FollowerConfig::default())
    }
}

impl Policy for OraclePolicy {
    fn name(&self) -> String {
        "oracle".into()
    }
    fn sensors(&self) -> Sensors {
        Sensors::NONE
    }
    fn reset(&mut self, slot: usize, start: &ResetInfo) -> Result<()> {
        self.slots.insert(slot, Expert::new(start, self.config)?);
        Ok(())
    }
    fn act(&mut self, batch: &[PolicyInput<'_>]) -> Result<Vec<Action>> {
        batch
            .iter()
            .map(|input| {
                let slot = self.slots.get_mut(&input.slot).ok_or_else(|| {
                    EnvError::Invalid(format!(
                        "oracle policy: slot {} was never reset",
                        input.slot
                    ))
                })?;
                slot.act(input.observation.state)
            })
            .collect()
    }
}
