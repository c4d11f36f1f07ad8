//! One record of the sample store.

use std::collections::BTreeMap;
use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::answer::format_answer;
use crate::error::{EpisodeError, Result};
use crate::prompt::{Prompt, PromptConfig};

/// One decision step of one trajectory: what the model is shown and what it should answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub episode_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trajectory_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scene_id: Option<String>,
    /// Index `i` of the current frame / action in the trajectory.
    pub step: u32,
    pub instruction: String,
    /// History frames chosen by the memory sampler, oldest first; paths relative to the store root.
    pub history_frames: Vec<String>,
    /// The frame seen before action `step`; relative to the store root.
    pub current_frame: String,
    /// Step length, turn angle and N as the prompt states them (the simulator's values).
    pub prompt: PromptConfig,
    /// The N expert actions starting with action `step` (see [`crate::target_actions`]).
    pub target: Vec<Action>,
    /// Sampled completions and their scores (RFT only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rl: Option<RlFields>,
}

/// The group of completions GRPO sampled for this prompt.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RlFields {
    pub completions: Vec<Completion>,
}

/// One sampled completion with its scores.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Completion {
    pub text: String,
    /// Tokens of `text` as sampled (log-probs refer to these, so re-tokenising is never needed).
    #[serde(default)]
    pub token_ids: Vec<u32>,
    /// Per-token log-probabilities under the sampling policy (at the sampling temperature).
    #[serde(default)]
    pub logprobs: Vec<f32>,
    /// Reward per component, by name (`format`, `tdr`, `progress`...).
    #[serde(default)]
    pub rewards: BTreeMap<String, f32>,
    /// Group-normalised advantage, once computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advantage: Option<f32>,
}

impl Completion {
    /// Sum of the reward components.
    pub fn reward(&self) -> f32 {
        self.rewards.values().sum()
    }
}

impl Sample {
    /// The frames in `<image>` order: history, then current.
    pub fn frames(&self) -> impl Iterator<Item = &str> {
        self.history_frames
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(self.current_frame.as_str()))
    }

    /// The prompt text this sample stands for.
    pub fn build_prompt(&self) -> Result<Prompt> {
        Prompt::build(&self.prompt, &self.instruction, self.history_frames.len())
    }

    /// The expert answer text (the SFT label).
    pub fn answer(&self) -> Result<String> {
        Ok(format_answer(&self.target, &self.prompt.options())?)
    }

    /// What a store refuses to hold: unsafe frame paths, a target that does not match N, unusable prompt
    /// settings, non-finite scores. Returns `(field, message)`.
    pub fn check(&self) -> std::result::Result<(), (String, String)> {
        let fail = |f: &str, m: String| Err((f.to_owned(), m));
        if self.episode_id.is_empty() {
            return fail("episode_id", "is empty".into());
        }
        if self.instruction.trim().is_empty() {
            return fail("instruction", "is empty".into());
        }
        if let Err(e) = self.prompt.validate() {
            return fail("prompt", e.to_string());
        }
        for (k, f) in self.history_frames.iter().enumerate() {
            check_frame_path(f).or_else(|m| fail(&format!("history_frames[{k}]"), m))?;
        }
        check_frame_path(&self.current_frame).or_else(|m| fail("current_frame", m))?;
        if self.target.len() != self.prompt.num_actions {
            return fail(
                "target",
                format!(
                    "has {} actions, the prompt asks for {}",
                    self.target.len(),
                    self.prompt.num_actions
                ),
            );
        }
        if let Some(a) = self
            .target
            .iter()
            .find(|a| self.prompt.options().text(**a).is_none())
        {
            return fail("target", format!("{a} is not an answer option"));
        }
        for (k, c) in self
            .rl
            .iter()
            .flat_map(|rl| rl.completions.iter())
            .enumerate()
        {
            let field = format!("rl.completions[{k}]");
            if !c.token_ids.is_empty()
                && !c.logprobs.is_empty()
                && c.token_ids.len() != c.logprobs.len()
            {
                return fail(
                    &field,
                    format!(
                        "{} token ids but {} log-probs",
                        c.token_ids.len(),
                        c.logprobs.len()
                    ),
                );
            }
            if c.logprobs.iter().any(|x| x.is_nan() || *x > 0.0) {
                return fail(
                    &format!("{field}.logprobs"),
                    "must be <= 0 and not NaN".into(),
                );
            }
            if let Some((name, v)) = c.rewards.iter().find(|(_, v)| !v.is_finite()) {
                return fail(
                    &format!("{field}.rewards.{name}"),
                    format!("must be finite, got {v}"),
                );
            }
            if let Some(a) = c.advantage.filter(|a| !a.is_finite()) {
                return fail(
                    &format!("{field}.advantage"),
                    format!("must be finite, got {a}"),
                );
            }
        }
        Ok(())
    }

    pub(crate) fn check_at(&self, path: &Path, record: impl FnOnce() -> String) -> Result<()> {
        self.check()
            .map_err(|(field, message)| EpisodeError::Record {
                path: path.to_owned(),
                record: record(),
                field,
                message,
            })
    }
}

/// Frame paths must stay inside the store: relative, no `..`, not empty.
fn check_frame_path(p: &str) -> std::result::Result<(), String> {
    if p.is_empty() {
        return Err("is empty".into());
    }
    let path = Path::new(p);
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "{p:?} must be a relative path inside the store (no '..', not absolute)"
        ));
    }
    Ok(())
}
