//! `VlmPolicy`: the VLN-R1 agent as an `env` [`Policy`].
//!
//! Per environment slot it keeps the episode's frames. When a slot has no queued actions it builds the VLN-R1
//! prompt (the text comes from `episodes::prompt`, the same builder data generation uses, with the
//! simulator's step length and turn angle from the reset), shows the history frames chosen by the memory
//! sampler plus the current frame, generates an answer (greedy unless configured otherwise; every slot that
//! needs a plan in one call is generated in one batch), parses N actions with `episodes::answer`, queues the
//! first `execute` of them and re-plans once the queue is empty.
//!
//! Decoding is constrained to valid answers by default ([`Decoding::Constrained`]): the model picks each
//! option's letter and the rest of the option follows, so every answer parses. [`Decoding::Free`] decodes
//! the model's text as it is, as the VLN-R1 paper's evaluation did.
//!
//! A completion that does not parse as exactly N options falls back: its leading items that are valid
//! options are kept (a model that wrote 5 good actions and then garbage still gets its plan executed), and
//! when not even the first item parses the slot takes [`VlmPolicyConfig::fallback`] (STOP by default: an
//! unreadable plan ends the episode rather than letting a broken model wander like the `forward` baseline).
//! Both cases are counted in [`PolicyStats`].

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;

use env::policy::{Policy, PolicyInput};
use env::task::{ResetInfo, Sensors};
use env::EnvError;
use episodes::answer::{parse_answer, parse_options, AnswerError};
use episodes::{format_answer, Action, MemorySampler, PromptConfig};
use image::RgbImage;
use tch::{Device, Kind, Tensor};

use crate::chat::{navigation_chat, render_chat};
use crate::constrain::AnswerConstraint;
use crate::error::{AgentError, Result};
use crate::generate::{GenerateOptions, GenerationConfig};
use crate::image_processor::PatchGrid;
use crate::pipeline::Pipeline;
use crate::processor::{ImageInput, Prompt};
use crate::text::PrefixKv;

/// How answers are decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Decoding {
    /// Only token sequences that spell exactly N options (see [`crate::constrain`]).
    #[default]
    Constrained,
    /// Whatever the model writes; unparsable answers take the fallback below.
    Free,
}

impl std::str::FromStr for Decoding {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "constrained" => Ok(Decoding::Constrained),
            "free" => Ok(Decoding::Free),
            _ => Err(format!("decoding must be constrained or free, got {s:?}")),
        }
    }
}

impl std::fmt::Display for Decoding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Decoding::Constrained => "constrained",
            Decoding::Free => "free",
        })
    }
}

/// How the policy prompts, decodes and executes.
#[derive(Debug, Clone, PartialEq)]
pub struct VlmPolicyConfig {
    /// Which earlier frames the prompt shows (must match the training data's sampler).
    pub memory: MemorySampler,
    /// N, the number of actions the prompt asks for (6 in the paper).
    pub num_actions: usize,
    /// How many of the N predicted actions run before re-planning (1..=N; the paper does not say, 1 here).
    pub execute: usize,
    /// Decoding; `max_new_tokens` 0 means "the longest valid answer plus a margin" (computed at load).
    pub generation: GenerationConfig,
    pub decoding: Decoding,
    /// Added to the logit of STOP's option letter at every option (constrained decoding only): post-hoc logit
    /// adjustment for STOP's rarity in the training labels (see [`crate::constrain`]). 0 decodes as trained.
    pub stop_bias: f32,
    /// The action taken when not even the first answer item parses.
    pub fallback: Action,
    /// Each frame goes through the vision tower once per episode; its embedding is reused while it stays in
    /// the history. false re-encodes every shown frame at every decision (the old path, same logits; kept
    /// for `vln-r1 bench model --mode eval`).
    pub reuse_vision: bool,
    /// Jump-forward through the answer's forced tokens (see [`crate::GenerateOptions::jump_forward`]).
    pub jump_forward: bool,
    /// The prompt's text before the first frame (system turn, instruction) runs through the model once per
    /// episode; each decision's prefill reuses its keys and values (see [`crate::prefix`]).
    pub prefix_cache: bool,
}

impl Default for VlmPolicyConfig {
    fn default() -> Self {
        VlmPolicyConfig {
            memory: MemorySampler::UNIFORM,
            num_actions: PromptConfig::R2R.num_actions,
            execute: 1,
            generation: GenerationConfig {
                max_new_tokens: 0,
                ..GenerationConfig::default()
            },
            fallback: Action::Stop,
            decoding: Decoding::Constrained,
            stop_bias: 0.0,
            reuse_vision: true,
            jump_forward: true,
            prefix_cache: true,
        }
    }
}

/// One generated answer, kept when the policy records (see [`VlmPolicy::set_recording`]): what closed-loop
/// RFT needs to train on the decision it made.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub slot: usize,
    /// Index of the slot's current frame when it decided (its step in the episode).
    pub frame: usize,
    pub text: String,
    pub token_ids: Vec<i64>,
    /// The model's own log-probs of `token_ids` (unconstrained, unbiased: what a training forward scores).
    pub logprobs: Vec<f32>,
}

/// Counters over the policy's lifetime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyStats {
    /// Model calls (one per slot that needed a plan).
    pub plans: u64,
    /// Answers that were not exactly N valid options.
    pub parse_errors: u64,
    /// Of those, answers with no valid leading option at all (the fallback action was used).
    pub fallbacks: u64,
}

impl PolicyStats {
    /// E.g. `120 answers, 30 (25.0%) not exactly 6 valid options, 12 of them without one valid option (ran STOP)`.
    pub fn summary(&self, num_actions: usize, fallback: Action) -> String {
        let pct = 100.0 * self.parse_errors as f64 / self.plans.max(1) as f64;
        format!(
            "{} answers, {} ({pct:.1}%) not exactly {num_actions} valid options, {} of them without one valid \
             option (ran {fallback})",
            self.plans, self.parse_errors, self.fallbacks
        )
    }
}

struct Slot {
    instruction: String,
    prompt: PromptConfig,
    frames: Vec<Arc<RgbImage>>,
    /// Vision-tower output of `frames[i]` once it was first shown (with `reuse_vision`).
    encoded: Vec<Option<EncodedFrame>>,
    /// Keys and values of the episode's prompt prefix (with `prefix_cache`).
    prefix: Option<PrefixKv>,
    queue: VecDeque<Action>,
}

/// One frame's vision tokens: its grid (no pixel rows kept) and merged embeddings `[tokens, hidden]`.
struct EncodedFrame {
    grid: PatchGrid,
    features: Tensor,
}

/// The VLM navigation policy. See the module docs.
pub struct VlmPolicy {
    pipeline: Pipeline,
    config: VlmPolicyConfig,
    name: String,
    slots: Vec<Option<Slot>>,
    stats: PolicyStats,
    /// Decisions generated so far; offsets the sampling seed so sampled runs stay reproducible.
    calls: u64,
    /// Answer constraints built so far, one per prompt configuration seen (scenes may differ in turn angle).
    constraints: Vec<(PromptConfig, AnswerConstraint)>,
    last_error: Option<String>,
    /// `Some` while recording: the decisions made since the last [`VlmPolicy::take_decisions`].
    recorded: Option<Vec<Decision>>,
}

impl VlmPolicy {
    /// Loads a checkpoint directory (f32 on CPU, bf16 on CUDA unless `kind` says otherwise).
    pub fn load(
        dir: &Path,
        device: Device,
        kind: Option<Kind>,
        config: VlmPolicyConfig,
    ) -> Result<VlmPolicy> {
        let kind = kind.unwrap_or(if device.is_cuda() {
            Kind::BFloat16
        } else {
            Kind::Float
        });
        let pipeline = Pipeline::load(dir, device, kind)?;
        Self::new(pipeline, config, format!("model:{}", dir.display()))
    }

    pub fn new(pipeline: Pipeline, mut config: VlmPolicyConfig, name: String) -> Result<VlmPolicy> {
        config
            .memory
            .validate()
            .map_err(|e| AgentError::Input(format!("VlmPolicy memory sampler: {e}")))?;
        if config.num_actions == 0 || config.execute == 0 || config.execute > config.num_actions {
            return Err(AgentError::Input(format!(
                "VlmPolicy: execute must be in 1..=num_actions, got execute {} of {}",
                config.execute, config.num_actions
            )));
        }
        if config.stop_bias != 0.0 && config.decoding != Decoding::Constrained {
            return Err(AgentError::Input(format!(
                "VlmPolicy: a stop bias ({}) needs constrained decoding (it biases the option letter)",
                config.stop_bias
            )));
        }
        if PromptConfig::R2R.options().text(config.fallback).is_none() {
            return Err(AgentError::Input(format!(
                "VlmPolicy: fallback {} is not an answer option",
                config.fallback
            )));
        }
        if config.generation.max_new_tokens == 0 {
            // The longest answer: N right turns at a three-digit angle, plus the stop token and a margin.
            let opts = episodes::prompt::ActionOptions::new(0.25, 157.5);
            let longest = format_answer(&vec![Action::TurnRight; config.num_actions], &opts)
                .map_err(|e| AgentError::Input(e.to_string()))?;
            let n = pipeline.processor.tokenizer.encode(&longest)?.len();
            config.generation.max_new_tokens = n + n / 4 + 4;
        }
        Ok(VlmPolicy {
            pipeline,
            config,
            name,
            slots: Vec::new(),
            stats: PolicyStats::default(),
            calls: 0,
            constraints: Vec::new(),
            last_error: None,
            recorded: None,
        })
    }

    pub fn config(&self) -> &VlmPolicyConfig {
        &self.config
    }

    pub fn stats(&self) -> PolicyStats {
        self.stats
    }

    /// The last unparsable completion and why, for logs.
    pub fn last_parse_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Keeps every generated answer (with its tokens and log-probs) until taken, or stops keeping them.
    pub fn set_recording(&mut self, on: bool) {
        self.recorded = on.then(Vec::new);
    }

    /// The decisions recorded since the last call (empty when not recording).
    pub fn take_decisions(&mut self) -> Vec<Decision> {
        self.recorded
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Restarts the sampling stream at `seed`: what a sampling policy draws from here on depends only on this
    /// seed and the inputs (closed-loop RFT reseeds every round, so a resumed run samples the same).
    pub fn reseed(&mut self, seed: u64) {
        self.config.generation.seed = seed;
        self.calls = 0;
    }

    /// Drops the actions still queued for `slot`, so its next [`Policy::act`] plans from the state it is in
    /// (an action taken for it by someone else, the expert in β-mixed DAgger, made the old plan stale).
    pub fn clear_queue(&mut self, slot: usize) {
        if let Some(Some(s)) = self.slots.get_mut(slot) {
            s.queue.clear();
        }
    }

    /// Actions queued for `slot` (those predicted but not yet returned).
    pub fn queued(&self, slot: usize) -> Vec<Action> {
        self.slots
            .get(slot)
            .and_then(Option::as_ref)
            .map(|s| s.queue.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The frames a slot's next prompt shows: the memory sampler's history, then the current frame.
    fn shown(&self, slot: &Slot) -> Vec<usize> {
        let current = slot.frames.len() - 1;
        let mut shown = self.config.memory.history(current);
        shown.push(current);
        shown
    }

    /// Prompts of `slots` with their pixels (every shown frame preprocessed and, in the forward, encoded).
    fn prompts_with_pixels(&self, slots: &[usize]) -> Result<Vec<Prompt>> {
        let mut chats = Vec::with_capacity(slots.len());
        for &s in slots {
            let slot = self.slots[s].as_ref().expect("planned slots are reset");
            let mut frames: Vec<RgbImage> = self
                .shown(slot)
                .into_iter()
                .map(|i| (*slot.frames[i]).clone())
                .collect();
            let current = frames.pop().expect("the current frame");
            chats.push(navigation_chat(
                &slot.prompt,
                &slot.instruction,
                frames,
                current,
            )?);
        }
        self.pipeline.prompts(&chats)
    }

    /// Prompts of `slots` without pixels and the image features they stand for: frames not encoded yet in
    /// their episode go through the vision tower (all in one call), the rest are reused.
    fn prompts_with_features(&mut self, slots: &[usize]) -> Result<(Vec<Prompt>, Tensor)> {
        let mut missing: Vec<(usize, usize)> = Vec::new();
        for &s in slots {
            let slot = self.slots[s].as_ref().expect("planned slots are reset");
            for i in self.shown(slot) {
                if slot.encoded.get(i).is_none_or(Option::is_none) && !missing.contains(&(s, i)) {
                    missing.push((s, i));
                }
            }
        }
        if !missing.is_empty() {
            let grids = missing
                .iter()
                .map(|&(s, i)| {
                    let frame = &self.slots[s].as_ref().expect("reset").frames[i];
                    self.pipeline.processor.image.preprocess_image(frame)
                })
                .collect::<Result<Vec<_>>>()?;
            let features = tch::no_grad(|| {
                self.pipeline
                    .encode_images(&grids.iter().collect::<Vec<_>>())
            })?;
            let merge = self.pipeline.model.config.vision.spatial_merge_size.pow(2);
            let mut start = 0;
            for ((s, i), g) in missing.into_iter().zip(grids) {
                let n = g.num_patches() / merge;
                let slot = self.slots[s].as_mut().expect("reset");
                if slot.encoded.len() <= i {
                    slot.encoded.resize_with(i + 1, || None);
                }
                slot.encoded[i] = Some(EncodedFrame {
                    grid: PatchGrid {
                        rows: Vec::new(),
                        grid_thw: g.grid_thw,
                    },
                    features: features.narrow(0, start, n).copy(),
                });
                start += n;
            }
        }
        let mut prompts = Vec::with_capacity(slots.len());
        let mut parts = Vec::new();
        for &s in slots {
            let slot = self.slots[s].as_ref().expect("reset");
            let shown = self.shown(slot);
            let encoded: Vec<&EncodedFrame> = shown
                .iter()
                .map(|&i| slot.encoded[i].as_ref().expect("encoded above"))
                .collect();
            // The chat only renders the prompt text here; the frames' pixels are not read.
            let mut frames: Vec<RgbImage> =
                shown.iter().map(|&i| (*slot.frames[i]).clone()).collect();
            let current = frames.pop().expect("the current frame");
            let chat = navigation_chat(&slot.prompt, &slot.instruction, frames, current)?;
            let (text, _) = render_chat(&chat, true);
            let grids = encoded.iter().map(|e| e.grid.clone()).collect();
            prompts.push(self.pipeline.processor.process_text_with_grids(
                &text,
                grids,
                Vec::new(),
            )?);
            parts.extend(encoded.iter().map(|e| e.features.shallow_clone()));
        }
        Ok((prompts, Tensor::cat(&parts, 0)))
    }

    fn constraints_for(&mut self, slots: &[usize]) -> Result<Vec<usize>> {
        let mut which = Vec::with_capacity(slots.len());
        for &s in slots {
            let prompt = self.slots[s].as_ref().expect("reset").prompt;
            let i = match self.constraints.iter().position(|(p, _)| *p == prompt) {
                Some(i) => i,
                None => {
                    let c = self
                        .pipeline
                        .answer_constraint(&prompt)?
                        .with_action_bias(Action::Stop, self.config.stop_bias)?;
                    self.constraints.push((prompt, c));
                    self.constraints.len() - 1
                }
            };
            which.push(i);
        }
        Ok(which)
    }

    fn plan(&mut self, slots: &[usize]) -> Result<()> {
        let (prompts, features) = if self.config.reuse_vision {
            let (p, f) = self.prompts_with_features(slots)?;
            (p, Some(f))
        } else {
            (self.prompts_with_pixels(slots)?, None)
        };
        let images = if features.is_some() {
            ImageInput::Features
        } else {
            ImageInput::Pixels
        };
        if self.config.prefix_cache {
            self.update_prefixes(slots, &prompts)?;
        }
        let batch = self.pipeline.collate_for(&prompts, images)?;
        let mut gen = self.config.generation.clone();
        gen.seed = gen.seed.wrapping_add(self.calls);
        self.calls += 1;
        let which = match self.config.decoding {
            Decoding::Free => Vec::new(),
            Decoding::Constrained => self.constraints_for(slots)?,
        };
        let constraints: Vec<&AnswerConstraint> =
            which.iter().map(|&i| &self.constraints[i].1).collect();
        let prefixes: Vec<&PrefixKv> = slots
            .iter()
            .filter_map(|&s| self.slots[s].as_ref().and_then(|x| x.prefix.as_ref()))
            .collect();
        let opts = GenerateOptions {
            constraints: &constraints,
            image_features: features.as_ref(),
            jump_forward: self.config.jump_forward,
            prefixes: (self.config.prefix_cache && prefixes.len() == slots.len())
                .then_some(prefixes.as_slice()),
            ..GenerateOptions::default()
        };
        let outputs = tch::no_grad(|| self.pipeline.generate_batch_with(&batch, &gen, &opts))?;
        for (&s, out) in slots.iter().zip(outputs) {
            if let Some(recorded) = self.recorded.as_mut() {
                recorded.push(Decision {
                    slot: s,
                    frame: self.slots[s].as_ref().expect("reset").frames.len() - 1,
                    text: out.text.clone(),
                    token_ids: out.generation.token_ids.clone(),
                    logprobs: out.generation.logprobs.clone(),
                });
            }
            let prompt = self.slots[s].as_ref().expect("reset").prompt;
            let (queue, outcome) = plan_queue(
                &out.text,
                &prompt,
                self.config.execute,
                self.config.fallback,
            );
            self.stats.plans += 1;
            if let Some(err) = outcome {
                self.stats.parse_errors += 1;
                if !err.1 {
                    self.stats.fallbacks += 1;
                }
                self.last_error = Some(format!("{}: {:?}", err.0, out.text));
            }
            self.slots[s].as_mut().expect("reset").queue = queue;
        }
        Ok(())
    }

    /// Makes each slot's cached prefix the tokens of its prompt before the first frame, computing those
    /// that are missing or stale (a new episode) in one batch.
    fn update_prefixes(&mut self, slots: &[usize], prompts: &[Prompt]) -> Result<()> {
        let vision_start = self.pipeline.model.config.vision_start_token_id;
        let mut missing = Vec::new();
        let mut rows = Vec::new();
        for (&s, prompt) in slots.iter().zip(prompts) {
            let cut = prompt
                .input_ids
                .iter()
                .position(|&t| t == vision_start)
                .unwrap_or(prompt.input_ids.len().saturating_sub(1));
            let head = &prompt.input_ids[..cut];
            let slot = self.slots[s].as_mut().expect("reset");
            if head.is_empty() {
                // Nothing before the first frame: this decision prefills in full.
                slot.prefix = None;
                continue;
            }
            if slot.prefix.as_ref().is_some_and(|p| p.tokens == head) {
                continue;
            }
            missing.push(s);
            rows.push(head.to_vec());
        }
        if missing.is_empty() {
            return Ok(());
        }
        let computed = self.pipeline.model.prefix_kv(&rows)?;
        for (s, prefix) in missing.into_iter().zip(computed) {
            self.slots[s].as_mut().expect("reset").prefix = Some(prefix);
        }
        Ok(())
    }

    fn policy_error(&self, e: impl std::error::Error + Send + Sync + 'static) -> EnvError {
        EnvError::Policy {
            policy: self.name.clone(),
            source: Box::new(e),
        }
    }
}

/// The actions to queue for a completion: the first `execute` of its N actions when it parses; otherwise
/// its valid leading items (at most `execute`), or `[fallback]` when there are none. The second value is
/// `None` for a clean parse, else the parse error and whether any leading item was usable.
pub fn plan_queue(
    text: &str,
    prompt: &PromptConfig,
    execute: usize,
    fallback: Action,
) -> (VecDeque<Action>, Option<(AnswerError, bool)>) {
    let options = prompt.options();
    match parse_answer(text, &options, prompt.num_actions) {
        Ok(actions) => (actions.into_iter().take(execute).collect(), None),
        Err(err) => {
            let prefix: VecDeque<Action> = text
                .split(',')
                .map_while(|item| parse_options(item, &options).ok())
                .flatten()
                .take(execute.min(prompt.num_actions))
                .collect();
            if prefix.is_empty() {
                (VecDeque::from([fallback]), Some((err, false)))
            } else {
                (prefix, Some((err, true)))
            }
        }
    }
}

impl Policy for VlmPolicy {
    fn name(&self) -> String {
        // The bias changes the decisions, so it is part of the name that eval's resume check compares.
        if self.config.stop_bias != 0.0 {
            format!("{} stop_bias={}", self.name, self.config.stop_bias)
        } else {
            self.name.clone()
        }
    }

    fn sensors(&self) -> Sensors {
        Sensors::RGB
    }

    fn reset(&mut self, slot: usize, start: &ResetInfo) -> env::Result<()> {
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || None);
        }
        // The prompt states the simulator's own step and turn (never a hard-coded 30 degrees).
        let prompt = PromptConfig {
            forward_step_m: start.agent.forward_step as f64,
            turn_angle_deg: start.agent.turn_angle_deg as f64,
            num_actions: self.config.num_actions,
        };
        prompt.validate()?;
        self.slots[slot] = Some(Slot {
            instruction: start.episode.instruction.instruction_text.clone(),
            prompt,
            frames: Vec::new(),
            encoded: Vec::new(),
            prefix: None,
            queue: VecDeque::new(),
        });
        Ok(())
    }

    fn act(&mut self, batch: &[PolicyInput<'_>]) -> env::Result<Vec<Action>> {
        let mut need_plan = Vec::new();
        for input in batch {
            let Some(Some(slot)) = self.slots.get_mut(input.slot) else {
                return Err(EnvError::Invalid(format!(
                    "policy {}: act on slot {} before reset",
                    self.name, input.slot
                )));
            };
            let rgb = input.observation.rgb.clone().ok_or_else(|| {
                EnvError::Invalid(format!(
                    "policy {}: slot {} observation has no RGB frame (the RGB sensor is off)",
                    self.name, input.slot
                ))
            })?;
            slot.frames.push(rgb);
            if slot.queue.is_empty() && !need_plan.contains(&input.slot) {
                need_plan.push(input.slot);
            }
        }
        if !need_plan.is_empty() {
            self.plan(&need_plan).map_err(|e| self.policy_error(e))?;
        }
        batch
            .iter()
            .map(|input| {
                let slot = self.slots[input.slot].as_mut().expect("checked above");
                Ok(slot.queue.pop_front().unwrap_or(self.config.fallback))
            })
            .collect()
    }

    fn report(&self) -> Option<String> {
        // Nothing to say when no episode ran in this process (a resumed eval that was already complete).
        if self.stats.plans == 0 {
            return None;
        }
        let mut line = self
            .stats
            .summary(self.config.num_actions, self.config.fallback);
        if let Some(e) = &self.last_error {
            line.push_str(&format!("; last: {e}"));
        }
        Some(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;

    #[test]
    fn a_parsed_answer_queues_the_first_k_actions() {
        let p = PromptConfig::R2R; // N = 6, 15 degree turns
        let text = "A. Move forward 25 cm, B. Turn left 15 degrees, A. Move forward 25 cm, \
                    C. Turn right 15 degrees, D. Stop, D. Stop";
        let (q, err) = plan_queue(text, &p, 3, Stop);
        assert_eq!(Vec::from(q), [MoveForward, TurnLeft, MoveForward]);
        assert!(err.is_none());
        let (q, _) = plan_queue(text, &p, 1, Stop);
        assert_eq!(Vec::from(q), [MoveForward]);
    }

    #[test]
    fn bad_answers_keep_their_valid_prefix_or_fall_back() {
        let p = PromptConfig::R2R;
        // Two good items, then a wrong angle: the two run, the error is reported as usable.
        let (q, err) = plan_queue(
            "B. Turn left 15 degrees, A. Move forward 25 cm, C. Turn right 30 degrees",
            &p,
            6,
            Stop,
        );
        assert_eq!(Vec::from(q), [TurnLeft, MoveForward]);
        let (e, usable) = err.unwrap();
        assert!(usable && matches!(e, AnswerError::WrongAngle { .. }), "{e}");
        // Too few items: fine for a prefix of k = 1, still counted as a parse error.
        let (q, err) = plan_queue("D. Stop", &p, 1, MoveForward);
        assert_eq!(Vec::from(q), [Stop]);
        assert!(matches!(err, Some((AnswerError::WrongCount { .. }, true))));
        // Nothing usable: the fallback.
        let (q, err) = plan_queue("go to the kitchen", &p, 3, Stop);
        assert_eq!(Vec::from(q), [Stop]);
        assert!(matches!(err, Some((_, false))));
    }

    #[test]
    fn the_report_counts_unparsed_answers() {
        let stats = PolicyStats {
            plans: 40,
            parse_errors: 10,
            fallbacks: 4,
        };
        assert_eq!(
            stats.summary(6, Stop),
            "40 answers, 10 (25.0%) not exactly 6 valid options, 4 of them without one valid option (ran STOP)"
        );
    }
}
