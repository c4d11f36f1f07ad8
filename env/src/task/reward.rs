//! Reward shaping for reinforcement learning in the VLN task (habitat-lab's PointNav shaping applied to the
//! geodesic distance to the VLN goal): progress in geodesic distance, a success bonus on a successful STOP,
//! and a per-step cost. Each part is reported by name so that logs show what the total is made of.

use serde::{Deserialize, Serialize};

/// Weights of the reward parts. `Default` is habitat-lab's PointNav shaping.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RewardConfig {
    /// Reward per metre of geodesic distance to the goal removed by a step (negative when moving away).
    pub progress_weight: f32,
    /// Added when the agent calls STOP within the success distance.
    pub success_reward: f32,
    /// Added on every step (a cost: negative).
    pub step_reward: f32,
}

impl Default for RewardConfig {
    fn default() -> Self {
        RewardConfig {
            progress_weight: 1.0,
            success_reward: 2.5,
            step_reward: -0.01,
        }
    }
}

/// One step's reward split into its named parts.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct RewardParts {
    pub progress: f32,
    pub success: f32,
    pub step: f32,
}

impl RewardParts {
    pub fn total(&self) -> f32 {
        self.progress + self.success + self.step
    }

    /// `(name, value)` of each part, for logs.
    pub fn named(&self) -> [(&'static str, f32); 3] {
        [
            ("progress", self.progress),
            ("success", self.success),
            ("step", self.step),
        ]
    }
}

impl RewardConfig {
    /// The reward of a step from geodesic distance `before` to `after`; `success` when the step was a STOP
    /// within the success distance. An unreachable distance on either side gives no progress term (there is
    /// no meaningful difference of infinities).
    pub fn reward(&self, before: f32, after: f32, success: bool) -> RewardParts {
        let progress = if before.is_finite() && after.is_finite() {
            (before - after) * self.progress_weight
        } else {
            0.0
        };
        RewardParts {
            progress,
            success: if success { self.success_reward } else { 0.0 },
            step: self.step_reward,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_add_up_and_have_signs() {
        let r = RewardConfig::default();
        let toward = r.reward(5.0, 4.75, false);
        assert_eq!(
            (toward.progress, toward.success, toward.step),
            (0.25, 0.0, -0.01)
        );
        assert!((toward.total() - 0.24).abs() < 1e-6);
        assert!(r.reward(4.75, 5.0, false).progress < 0.0);
        assert_eq!(r.reward(1.0, 1.0, true).total(), 2.5 - 0.01);
        assert_eq!(r.reward(f32::INFINITY, 3.0, false).progress, 0.0);
        assert_eq!(r.reward(1.0, 1.0, false).named()[2], ("step", -0.01));
    }
}
