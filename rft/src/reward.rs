//! Rewards of a completion against its target: each a small named type, so logs show every component.
//!
//! - [`TimeDecayedReward`] (VLN-R1 §4): `Σ_k γ^k·1[a_k = a*_k] / Σ_k γ^k` over the N expert actions, in [0, 1].
//!   Early actions weigh more because only a prefix of the prediction is executed before re-planning.
//! - [`FormatReward`]: 1 when the text parses to exactly N valid options, else 0.
//!
//! Edge cases (decided here, tested below): an answer with an item that is not an option scores 0 TDR (we do
//! not guess what free text meant); too few actions score the missing positions as wrong; actions past N are
//! ignored by TDR (the format reward is what punishes the wrong count).

use episodes::answer::parse_options;
use episodes::{Action, ActionOptions};

use crate::error::{Result, RftError};

/// What a completion is scored against: the expert's next N actions and the option texts of the prompt.
#[derive(Debug, Clone, Copy)]
pub struct RewardTarget<'a> {
    pub expert: &'a [Action],
    pub options: &'a ActionOptions,
}

/// A reward component: (completion text, target) -> score, with the name logs and the store use.
pub trait Reward: Send + Sync {
    fn name(&self) -> &'static str;
    fn score(&self, completion: &str, target: &RewardTarget<'_>) -> f32;
}

/// VLN-R1's time-decayed reward, normalised to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeDecayedReward {
    pub gamma: f32,
}

impl TimeDecayedReward {
    /// `gamma` in (0, 1]; 1 is plain per-position accuracy.
    pub fn new(gamma: f32) -> Result<Self> {
        if !(gamma > 0.0 && gamma <= 1.0) {
            return Err(RftError::Input(format!(
                "tdr gamma must be in (0, 1], got {gamma}"
            )));
        }
        Ok(TimeDecayedReward { gamma })
    }

    /// The score of parsed `actions` against `expert` (the part that needs no text).
    pub fn score_actions(&self, actions: &[Action], expert: &[Action]) -> f32 {
        let mut weight = 1.0f64;
        let (mut hit, mut total) = (0.0f64, 0.0f64);
        for (k, want) in expert.iter().enumerate() {
            if actions.get(k) == Some(want) {
                hit += weight;
            }
            total += weight;
            weight *= f64::from(self.gamma);
        }
        if total == 0.0 {
            0.0
        } else {
            (hit / total) as f32
        }
    }
}

impl Reward for TimeDecayedReward {
    fn name(&self) -> &'static str {
        "tdr"
    }
    fn score(&self, completion: &str, target: &RewardTarget<'_>) -> f32 {
        match parse_options(completion, target.options) {
            Ok(actions) => self.score_actions(&actions, target.expert),
            Err(_) => 0.0,
        }
    }
}

/// 1 when the completion parses to exactly N valid options.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FormatReward;

impl Reward for FormatReward {
    fn name(&self) -> &'static str {
        "format"
    }
    fn score(&self, completion: &str, target: &RewardTarget<'_>) -> f32 {
        match parse_options(completion, target.options) {
            Ok(actions) if actions.len() == target.expert.len() => 1.0,
            _ => 0.0,
        }
    }
}

/// Scores of every component, by name, in the order given.
pub fn score_all(
    rewards: &[Box<dyn Reward>],
    completion: &str,
    target: &RewardTarget<'_>,
) -> Vec<(&'static str, f32)> {
    rewards
        .iter()
        .map(|r| (r.name(), r.score(completion, target)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use episodes::PromptConfig;
    use Action::*;

    const F: &str = "A. Move forward 25 cm";
    const L: &str = "B. Turn left 15 degrees";
    const R: &str = "C. Turn right 15 degrees";
    const S: &str = "D. Stop";

    fn score(r: &dyn Reward, text: &str, expert: &[Action]) -> f32 {
        let options = PromptConfig::R2R.options();
        r.score(
            text,
            &RewardTarget {
                expert,
                options: &options,
            },
        )
    }

    #[test]
    fn tdr_weighs_early_actions_more() {
        let tdr = TimeDecayedReward::new(0.5).unwrap();
        let expert = [MoveForward, TurnLeft, Stop];
        // Weights 1, 0.5, 0.25; total 1.75.
        let all = format!("{F}, {L}, {S}");
        assert!((score(&tdr, &all, &expert) - 1.0).abs() < 1e-6);
        let first_wrong = format!("{R}, {L}, {S}");
        assert!((score(&tdr, &first_wrong, &expert) - 0.75 / 1.75).abs() < 1e-6);
        let last_wrong = format!("{F}, {L}, {F}");
        assert!((score(&tdr, &last_wrong, &expert) - 1.5 / 1.75).abs() < 1e-6);
        // gamma 1: plain accuracy.
        let flat = TimeDecayedReward::new(1.0).unwrap();
        assert!((score(&flat, &first_wrong, &expert) - 2.0 / 3.0).abs() < 1e-6);
    }

    #[test]
    fn tdr_and_format_edge_cases() {
        let tdr = TimeDecayedReward::new(0.5).unwrap();
        let expert = [MoveForward, TurnLeft, Stop];
        // Too few: the missing position is wrong; format fails.
        let short = format!("{F}, {L}");
        assert!((score(&tdr, &short, &expert) - 1.5 / 1.75).abs() < 1e-6);
        assert_eq!(score(&FormatReward, &short, &expert), 0.0);
        // Too many: extra actions ignored by TDR; format fails.
        let long = format!("{F}, {L}, {S}, {S}");
        assert!((score(&tdr, &long, &expert) - 1.0).abs() < 1e-6);
        assert_eq!(score(&FormatReward, &long, &expert), 0.0);
        // Unknown text anywhere: 0 and 0.
        for bad in [
            "go forward".to_string(),
            format!("{F}, turn around, {S}"),
            String::new(),
            format!("{F}, B. Turn left 30 degrees, {S}"),
            format!("{F},, {S}"),
        ] {
            assert_eq!(score(&tdr, &bad, &expert), 0.0, "{bad:?}");
            assert_eq!(score(&FormatReward, &bad, &expert), 0.0, "{bad:?}");
        }
        // Exactly N valid options (case and spacing tolerated) is well formed, even if wrong.
        let wrong = "c. turn right 15 degrees ,  d. stop, d. STOP";
        assert_eq!(score(&FormatReward, wrong, &expert), 1.0);
        assert!((score(&tdr, wrong, &expert) - 0.25 / 1.75).abs() < 1e-6);
    }

    #[test]
    fn gamma_outside_unit_interval_is_refused() {
        for g in [0.0, -0.5, 1.5, f32::NAN] {
            assert!(TimeDecayedReward::new(g).is_err(), "{g}");
        }
    }
}
