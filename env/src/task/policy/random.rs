//! `random`: VLN-CE's random baseline (`RandomAgent` in VLN-CE's non-learning agents), which samples every
//! action independently from the oracle action distribution of the R2R-CE training set:
//! STOP 0.02, MOVE_FORWARD 0.68, TURN_LEFT 0.15, TURN_RIGHT 0.15. We use exactly that by default (not a
//! uniform choice over FORWARD / LEFT / RIGHT) so the row is comparable with the papers' random rows; other
//! probabilities can be given (`random:p_stop,p_forward,p_left,p_right`).
//!
//! Each slot's generator is re-seeded from the per-episode seed at reset, so an episode's actions do not
//! depend on which environment or thread ran it.

use std::collections::HashMap;

use episodes::Action;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{Policy, PolicyInput};
use crate::error::{EnvError, Result};
use crate::task::{ResetInfo, Sensors};

/// VLN-CE's `RandomAgent` probabilities of STOP, MOVE_FORWARD, TURN_LEFT, TURN_RIGHT.
pub const VLNCE_RANDOM_PROBS: [f64; 4] = [0.02, 0.68, 0.15, 0.15];

const ACTIONS: [Action; 4] = [
    Action::Stop,
    Action::MoveForward,
    Action::TurnLeft,
    Action::TurnRight,
];

#[derive(Debug, Clone)]
pub struct RandomPolicy {
    /// Cumulative probabilities of `ACTIONS`.
    cumulative: [f64; 4],
    probs: [f64; 4],
    rngs: HashMap<usize, ChaCha8Rng>,
}

impl RandomPolicy {
    /// Probabilities of STOP, MOVE_FORWARD, TURN_LEFT, TURN_RIGHT: non-negative, summing to 1 (within 1e-6).
    pub fn new(probs: [f64; 4]) -> Result<Self> {
        let sum: f64 = probs.iter().sum();
        if probs.iter().any(|p| !p.is_finite() || *p < 0.0) || (sum - 1.0).abs() > 1e-6 {
            return Err(EnvError::Invalid(format!(
                "random policy: probabilities {probs:?} must be non-negative and sum to 1 (sum {sum})"
            )));
        }
        let mut cumulative = [0.0; 4];
        let mut acc = 0.0;
        for (c, p) in cumulative.iter_mut().zip(probs) {
            acc += p / sum;
            *c = acc;
        }
        Ok(RandomPolicy {
            cumulative,
            probs,
            rngs: HashMap::new(),
        })
    }

    /// VLN-CE's random baseline.
    pub fn vlnce() -> Self {
        RandomPolicy::new(VLNCE_RANDOM_PROBS).expect("VLN-CE probabilities are valid")
    }

    pub fn probs(&self) -> [f64; 4] {
        self.probs
    }
}

impl Policy for RandomPolicy {
    fn name(&self) -> String {
        if self.probs == VLNCE_RANDOM_PROBS {
            "random".into()
        } else {
            let p: Vec<String> = self.probs.iter().map(|p| p.to_string()).collect();
            format!("random:{}", p.join(","))
        }
    }
    fn sensors(&self) -> Sensors {
        Sensors::NONE
    }
    fn reset(&mut self, slot: usize, start: &ResetInfo) -> Result<()> {
        self.rngs
            .insert(slot, ChaCha8Rng::seed_from_u64(start.seed.unwrap_or(0)));
        Ok(())
    }
    fn act(&mut self, batch: &[PolicyInput<'_>]) -> Result<Vec<Action>> {
        batch
            .iter()
            .map(|input| {
                let rng = self.rngs.get_mut(&input.slot).ok_or_else(|| {
                    EnvError::Invalid(format!(
                        "random policy: slot {} was never reset",
                        input.slot
                    ))
                })?;
                let u: f64 = rng.random();
                // Round-off can leave the last cumulative value just below 1: fall back to the last action that
                // has any probability.
                let k = self
                    .cumulative
                    .iter()
                    .position(|&c| u < c)
                    .unwrap_or_else(|| {
                        self.probs
                            .iter()
                            .rposition(|&p| p > 0.0)
                            .expect("probabilities sum to 1")
                    });
                Ok(ACTIONS[k])
            })
            .collect()
    }
}
