//! GRPO settings, read from a JSON file (`--config FILE`); every field has a default, unknown keys are refused.
//! Names follow TRL's `GRPOConfig` where one exists (`num_generations`, `beta`, `epsilon`, `loss_type`).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Result, RftError};
use crate::loss::{ClipConfig, LossType};

/// How closed-loop GRPO scores a decision's G completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnlineReward {
    /// TDR against the expert follower's next N actions from the agent's current (on-policy) state.
    ExpertTdr,
    /// Execute each completion's actions on a copy of the agent's body from the current state and score the
    /// geodesic progress towards the goal (plus success for a STOP within the success distance).
    Progress,
}

/// What one closed-loop GRPO group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupMode {
    /// G completions sampled from one state, each scored on its own N actions (TDR, progress, outcome); the
    /// first is executed. Turning is riskless under these scores, so from a walking navigator this mode
    /// learns to turn in place (measured; see `docs/training.md`).
    #[default]
    Decision,
    /// G whole episodes from the same start, each run by the policy as eval runs it (the checkpoint's memory,
    /// N, `execute` and STOP bias, sampled at `temperature`) until STOP or the step cap, each scored once by
    /// how it ended; its group-normalised advantage applies to every decision it made.
    Episode,
}

impl std::str::FromStr for GroupMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "decision" => Ok(GroupMode::Decision),
            "episode" => Ok(GroupMode::Episode),
            _ => Err(format!("groups must be episode or decision, got {s:?}")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RftConfig {
    /// G, completions per prompt.
    pub num_generations: usize,
    /// Prompts (groups) per generation round; each round is `num_iterations` optimizer steps.
    pub prompts_per_step: usize,
    /// Sequences per forward/backward pass (gradients accumulate over the round).
    pub micro_batch_size: usize,
    /// μ: optimizer steps on one round of completions (the ratio departs from 1 after the first).
    pub num_iterations: usize,
    pub temperature: f64,
    pub top_p: f64,
    pub top_k: usize,
    pub max_completion_length: usize,
    /// γ of the time-decayed reward (unpublished in VLN-R1).
    pub gamma: f32,
    /// KL coefficient; 0 loads no reference model.
    pub beta: f64,
    pub epsilon: f64,
    /// ε_high; `None` means `epsilon`.
    pub epsilon_high: Option<f64>,
    pub loss_type: LossType,
    pub learning_rate: f64,
    pub weight_decay: f64,
    pub warmup_ratio: f64,
    pub max_grad_norm: f64,
    /// Passes over the store (offline); ignored when `max_steps` > 0.
    pub epochs: usize,
    /// Generation rounds to run; 0: `epochs` over the store (offline). Required online.
    pub max_steps: usize,
    pub save_steps: usize,
    pub save_total_limit: usize,
    pub seed: u64,
    /// Weight of the SFT term (answer-token cross-entropy on each group's expert target, the buffer's DAgger
    /// labels) added to the GRPO loss; 0 trains GRPO alone.
    pub sft_coef: f64,
    /// Weight of the GRPO term; 0 with `sft_coef` > 0 trains the SFT term alone (online: DAgger on the
    /// policy's own states, the groups still sampled and stored for a later GRPO stage).
    pub pg_coef: f64,
    pub online: OnlineConfig,
}

/// Weight of each closed-loop reward term in a completion's total. A term with weight 0 is not computed; the
/// store and the logs hold each term already weighted, so a completion's reward is the sum of its terms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RewardWeights {
    /// 1 when the answer parses to exactly N options.
    pub format: f32,
    /// TDR against the expert's next N actions (`expert_tdr`).
    pub tdr: f32,
    /// Geodesic progress of the N actions (`progress`); episode groups: the share of the start's distance to
    /// the goal that the trajectory closed.
    pub progress: f32,
    /// 1 for a STOP within the success distance among the N actions (`progress`); episode groups: the soft
    /// success `1 - min(d_goal / success distance, 1)` where the trajectory stopped.
    pub success: f32,
    /// Soft success of a STOP among the executed actions: `1 - min(d_goal / success distance, 1) - stop_cost`;
    /// 0 when the executed actions do not stop (either reward mode).
    pub outcome: f32,
    /// Episode groups: nDTW of the whole trajectory to the reference path (0 to 1).
    #[serde(default)]
    pub ndtw: f32,
}

impl Default for RewardWeights {
    fn default() -> Self {
        RewardWeights {
            format: 1.0,
            tdr: 1.0,
            progress: 1.0,
            success: 1.0,
            outcome: 0.0,
            ndtw: 0.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineConfig {
    /// What a group is (`rft --online --groups` overrides it).
    pub groups: GroupMode,
    /// Decision groups: environments stepped together. Episode groups run `prompts_per_step` ×
    /// `num_generations` environments, one per trajectory of the round.
    pub num_envs: usize,
    pub reward: OnlineReward,
    /// Predicted actions executed per decision before the next (1..=N).
    pub execute: usize,
    /// Episode step cap during collection (VLN-CE: 500).
    pub max_episode_steps: u32,
    /// History frames shown: `uniform[:CAP]` or `long-short[:M,d1,d2,CAP]`; must match the SFT data's
    /// `datagen --memory` (default `long-short`).
    pub memory: String,
    /// Decisions buffered between the collector and the optimiser.
    pub buffer: usize,
    /// The expert's STOP radius for `expert_tdr` labels (metres); must be the `datagen --stop-radius` of the
    /// SFT data, or RFT would teach a different place to stop than SFT did. None: the follower's 0.25 m.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_radius: Option<f32>,
    pub weights: RewardWeights,
    /// Subtracted from the outcome reward of a STOP, so a STOP farther than `(1 - stop_cost)` times the success
    /// distance scores below walking on (which scores 0).
    pub stop_cost: f32,
    /// Episode groups: decisions of each trajectory the loss runs over (a seeded subsample, so a round's
    /// cost is bounded whatever the episodes' lengths; every decision is still stored in the buffer).
    pub decisions_per_trajectory: usize,
    /// Episode groups: β of round 0, the probability that a step takes the expert's action instead of the
    /// policy's (VLN-CE's β-mixed DAgger); 0 plays the policy alone.
    pub expert_mix: f32,
    /// The factor β shrinks by every round (VLN-CE's DAgger: 0.75 per data-collection iteration).
    pub expert_mix_decay: f32,
    /// Episode groups: records the SFT term (`sft_coef`) trains on per round, drawn from the run's whole
    /// committed buffer and `sft_data` (DAgger's aggregate, see [`crate::replay`]); 0 trains it on the round's
    /// own decisions.
    pub sft_replay: usize,
    /// An expert sample store (`datagen` output) mixed into the replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sft_data: Option<std::path::PathBuf>,
    /// Share of the replay drawn from `sft_data` once the buffer has records.
    pub sft_data_share: f32,
    /// Next-action balancing of the replay, as `vln-r1 sft --next-action-balance` (0: uniform).
    pub next_action_balance: f64,
}

impl OnlineConfig {
    /// β of round `round`: `expert_mix · expert_mix_decay^round`.
    pub fn expert_mix_at(&self, round: u64) -> f32 {
        self.expert_mix * self.expert_mix_decay.powf(round as f32)
    }
}

impl Default for OnlineConfig {
    fn default() -> Self {
        OnlineConfig {
            num_envs: 4,
            reward: OnlineReward::ExpertTdr,
            execute: 1,
            max_episode_steps: 500,
            memory: "long-short".into(),
            buffer: 8,
            stop_radius: None,
            weights: RewardWeights::default(),
            stop_cost: 0.25,
            groups: GroupMode::Decision,
            decisions_per_trajectory: 8,
            expert_mix: 0.0,
            expert_mix_decay: 1.0,
            sft_replay: 0,
            sft_data: None,
            sft_data_share: 0.5,
            next_action_balance: 0.5,
        }
    }
}

impl Default for RftConfig {
    /// VLN-R1 §4 where the paper says (G 8, β 0.04, ε 0.2, lr 1e-6, weight decay 0.01), TRL otherwise.
    fn default() -> Self {
        RftConfig {
            num_generations: 8,
            prompts_per_step: 4,
            micro_batch_size: 8,
            num_iterations: 1,
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            max_completion_length: 96,
            gamma: 0.8,
            beta: 0.04,
            epsilon: 0.2,
            epsilon_high: None,
            loss_type: LossType::Grpo,
            learning_rate: 1e-6,
            weight_decay: 0.01,
            warmup_ratio: 0.0,
            max_grad_norm: 1.0,
            epochs: 1,
            max_steps: 0,
            save_steps: 50,
            save_total_limit: 2,
            seed: 0,
            sft_coef: 0.0,
            pg_coef: 1.0,
            online: OnlineConfig::default(),
        }
    }
}

impl RftConfig {
    /// Reads a JSON config file; absent keys take their defaults.
    pub fn from_file(path: &Path) -> Result<RftConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| RftError::io(path, e))?;
        let cfg: RftConfig = serde_json::from_str(&text).map_err(|e| RftError::Json {
            path: path.to_owned(),
            source: e,
        })?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Checks ranges; `origin` names the file (or flag) the values came from.
    pub fn validate(&self, origin: &Path) -> Result<()> {
        let bad = |field: &str, m: String| Err(RftError::config(origin, field, m));
        let positive = [
            ("num_generations", self.num_generations),
            ("prompts_per_step", self.prompts_per_step),
            ("micro_batch_size", self.micro_batch_size),
            ("num_iterations", self.num_iterations),
            ("max_completion_length", self.max_completion_length),
            ("online.num_envs", self.online.num_envs),
            ("online.execute", self.online.execute),
            ("online.buffer", self.online.buffer),
            (
                "online.decisions_per_trajectory",
                self.online.decisions_per_trajectory,
            ),
        ];
        for (field, v) in positive {
            if v == 0 {
                return bad(field, "must be at least 1".into());
            }
        }
        if !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return bad(
                "temperature",
                format!("must be positive, got {}", self.temperature),
            );
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top_p", format!("must be in (0, 1], got {}", self.top_p));
        }
        if !(self.gamma > 0.0 && self.gamma <= 1.0) {
            return bad("gamma", format!("must be in (0, 1], got {}", self.gamma));
        }
        for (field, v) in [
            ("beta", self.beta),
            ("epsilon", self.epsilon),
            ("epsilon_high", self.epsilon_high.unwrap_or(self.epsilon)),
            ("learning_rate", self.learning_rate),
            ("weight_decay", self.weight_decay),
            ("max_grad_norm", self.max_grad_norm),
            ("sft_coef", self.sft_coef),
            ("pg_coef", self.pg_coef),
            ("online.stop_cost", f64::from(self.online.stop_cost)),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return bad(field, format!("must be a finite value >= 0, got {v}"));
            }
        }
        if self.pg_coef == 0.0 && self.sft_coef == 0.0 {
            return bad(
                "pg_coef",
                "is 0 and so is sft_coef: nothing would be trained".into(),
            );
        }
        if self.epsilon >= 1.0 {
            return bad("epsilon", format!("must be below 1, got {}", self.epsilon));
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return bad(
                "warmup_ratio",
                format!("must be in [0, 1], got {}", self.warmup_ratio),
            );
        }
        if self.max_steps == 0 && self.epochs == 0 {
            return bad("epochs", "must be at least 1 when max_steps is 0".into());
        }
        for (field, v) in [
            ("online.expert_mix", self.online.expert_mix),
            ("online.expert_mix_decay", self.online.expert_mix_decay),
            ("online.sft_data_share", self.online.sft_data_share),
            (
                "online.next_action_balance",
                self.online.next_action_balance as f32,
            ),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return bad(field, format!("must be a probability in [0, 1], got {v}"));
            }
        }
        if let Some(r) = self.online.stop_radius {
            if !(r > 0.0 && r.is_finite()) {
                return bad(
                    "online.stop_radius",
                    format!("must be a positive distance in metres, got {r}"),
                );
            }
        }
        let w = &self.online.weights;
        for (field, v) in [
            ("online.weights.format", w.format),
            ("online.weights.tdr", w.tdr),
            ("online.weights.progress", w.progress),
            ("online.weights.success", w.success),
            ("online.weights.outcome", w.outcome),
            ("online.weights.ndtw", w.ndtw),
        ] {
            if !v.is_finite() {
                return bad(field, format!("must be finite, got {v}"));
            }
        }
        if self
            .online
            .memory
            .parse::<episodes::MemorySampler>()
            .is_err()
        {
            return bad(
                "online.memory",
                format!("{:?} is not a memory sampler", self.online.memory),
            );
        }
        Ok(())
    }

    pub fn clip(&self) -> ClipConfig {
        ClipConfig {
            epsilon_low: self.epsilon,
            epsilon_high: self.epsilon_high.unwrap_or(self.epsilon),
            beta: self.beta,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_overrides_defaults_and_bad_values_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rft.json");
        std::fs::write(
            &path,
            r#"{"num_generations": 4, "loss_type": "dapo", "online": {"reward": "progress"}}"#,
        )
        .unwrap();
        let cfg = RftConfig::from_file(&path).unwrap();
        assert_eq!(cfg.num_generations, 4);
        assert_eq!(cfg.loss_type, LossType::Dapo);
        assert_eq!(cfg.online.reward, OnlineReward::Progress);
        assert_eq!(cfg.beta, 0.04);
        std::fs::write(&path, r#"{"gamma": 1.5}"#).unwrap();
        let err = RftConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("rft.json") && err.contains("gamma"), "{err}");
        std::fs::write(&path, r#"{"gama": 0.5}"#).unwrap();
        let err = RftConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("gama"), "{err}");
        std::fs::write(&path, r#"{"online": {"stop_radius": 1.5}}"#).unwrap();
        assert_eq!(
            RftConfig::from_file(&path).unwrap().online.stop_radius,
            Some(1.5)
        );
        std::fs::write(&path, r#"{"online": {"stop_radius": -1}}"#).unwrap();
        let err = RftConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("online.stop_radius"), "{err}");
        std::fs::write(
            &path,
            r#"{"sft_coef": 0.5, "online": {"weights": {"outcome": 2.0}, "stop_cost": 0.1}}"#,
        )
        .unwrap();
        let cfg = RftConfig::from_file(&path).unwrap();
        assert_eq!(cfg.sft_coef, 0.5);
        assert_eq!(cfg.online.weights.outcome, 2.0);
        assert_eq!(cfg.online.weights.tdr, 1.0);
        assert_eq!(cfg.online.stop_cost, 0.1);
        std::fs::write(&path, r#"{"sft_coef": -1}"#).unwrap();
        let err = RftConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("sft_coef"), "{err}");
        // Both terms off would train nothing: refused, naming the field.
        std::fs::write(&path, r#"{"pg_coef": 0, "sft_coef": 0}"#).unwrap();
        let err = RftConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("pg_coef") && err.contains("nothing"), "{err}");
        std::fs::write(&path, r#"{"online": {"weights": {"outcom": 1}}}"#).unwrap();
        let err = RftConfig::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("outcom"), "{err}");
    }
}
