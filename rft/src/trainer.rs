//! The GRPO core shared by offline and closed-loop RFT: sample G completions per prompt, attach scores and
//! group advantages, then run μ clipped policy-gradient updates against the stored (sampling-time) log-probs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use agent::{GenerationConfig, Pipeline, Prompt, Qwen2VL};
use episodes::store::{Completion, RlFields};
use episodes::Sample;
use serde::{Deserialize, Serialize};
use sft::adamw::{AdamW, AdamWConfig};
use sft::checkpoint::{save_model, CheckpointManager, OPTIMIZER_FILE, TRAINER_STATE_FILE};
use sft::schedule::{LrSchedule, LrSchedulerType};
use tch::{Device, Kind, Tensor};

use crate::config::RftConfig;
use crate::error::{Result, RftError};
use crate::loss::{aggregate, group_advantages, token_loss, GroupStats};
use crate::reward::{Reward, RewardTarget};

/// One prompt and its completions: the store record (its `rl` field holds the group once sampled) and the
/// tokenised prompt with its images.
#[derive(Debug, Clone)]
pub struct Group {
    pub sample: Sample,
    pub prompt: Prompt,
}

impl Group {
    pub fn completions(&self) -> &[Completion] {
        self.sample.rl.as_ref().map_or(&[], |rl| &rl.completions)
    }
}

/// What the trainer keeps across a resume besides weights and optimizer moments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Generation rounds finished.
    pub step: u64,
    /// Optimizer steps taken (`step · num_iterations`).
    pub optimizer_steps: u64,
    /// Rollout samples committed to the run's rollout store at this checkpoint.
    pub rollouts_committed: u64,
    /// The checkpoint training started from (the frozen reference).
    pub base_model: PathBuf,
    pub config: RftConfig,
}

/// One round's numbers (one line of `metrics.jsonl`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepLog {
    pub step: u64,
    pub learning_rate: f64,
    pub loss: f64,
    /// Mean of each reward component over the round's completions.
    pub rewards: BTreeMap<String, f64>,
    /// Mean total reward.
    pub reward: f64,
    /// Mean over groups of the reward std within the group.
    pub reward_std: f64,
    /// Fraction of groups whose rewards are all equal (no learning signal).
    pub frac_reward_zero_std: f64,
    /// Token-mean k3 KL to the reference (0 without one).
    pub kl: f64,
    /// Token fraction where the clip decided the term.
    pub clip_ratio: f64,
    pub completion_length: f64,
    pub grad_norm: f64,
    pub generate_s: f64,
    pub optimize_s: f64,
}

/// Seeds that depend only on (run seed, round, group): the same run samples the same completions after a
/// resume. SplitMix64 finaliser.
pub fn mix_seed(seed: u64, step: u64, group: u64) -> u64 {
    let mut z = seed
        .wrapping_add(step.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(group.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The policy, its optimizer, the frozen reference and the run's checkpoints.
pub struct GrpoTrainer {
    pub policy: Pipeline,
    reference: Option<Qwen2VL>,
    optimizer: AdamW,
    schedule: LrSchedule,
    pub config: RftConfig,
    pub state: TrainerState,
    checkpoints: CheckpointManager,
}

impl GrpoTrainer {
    /// Loads the policy from the newest checkpoint under `out` when there is one (resume), else from `model`;
    /// the reference (β > 0) always from `model`. `total_steps` sizes the learning-rate schedule.
    pub fn new(
        model: &Path,
        out: &Path,
        config: RftConfig,
        total_steps: u64,
        device: Device,
        kind: Kind,
    ) -> Result<GrpoTrainer> {
        let checkpoints = CheckpointManager::new(out, config.save_total_limit);
        checkpoints.clean_partial()?;
        let latest = checkpoints.latest()?;
        let (policy_dir, state) = match &latest {
            Some((_, dir)) => {
                let path = dir.join(TRAINER_STATE_FILE);
                let text = std::fs::read_to_string(&path).map_err(|e| RftError::io(&path, e))?;
                let state: TrainerState =
                    serde_json::from_str(&text).map_err(|e| RftError::Json { path, source: e })?;
                if !same_training(&state.config, &config) {
                    return Err(RftError::Checkpoint {
                        path: dir.clone(),
                        message: "was written with a different config; resume with the same \
                                  --config or use a new --out"
                            .into(),
                    });
                }
                let state = TrainerState {
                    config: config.clone(),
                    ..state
                };
                (dir.clone(), state)
            }
            None => (
                model.to_owned(),
                TrainerState {
                    step: 0,
                    optimizer_steps: 0,
                    rollouts_committed: 0,
                    base_model: model.to_owned(),
                    config: config.clone(),
                },
            ),
        };
        let policy = Pipeline::load(&policy_dir, device, kind)?;
        let reference = if config.beta > 0.0 {
            let r = Qwen2VL::load(&state.base_model, device, kind)?;
            for (_, mut t) in r.vs.variables() {
                let _ = t.requires_grad_(false);
            }
            Some(r)
        } else {
            None
        };
        let mut optimizer = AdamW::new(
            policy.model.vs.variables().into_iter().collect(),
            AdamWConfig {
                weight_decay: config.weight_decay,
                ..AdamWConfig::default()
            },
        )?;
        if let Some((_, dir)) = &latest {
            optimizer.load(&dir.join(OPTIMIZER_FILE))?;
        }
        let schedule = LrSchedule::with_warmup_ratio(
            LrSchedulerType::Constant,
            config.learning_rate,
            config.warmup_ratio,
            total_steps * config.num_iterations as u64,
        );
        Ok(GrpoTrainer {
            policy,
            reference,
            optimizer,
            schedule,
            config,
            state,
            checkpoints,
        })
    }

    /// Samples G completions for every group (one batch of G per prompt), with seeds from (seed, round,
    /// group). Replaces the groups' `rl` fields with unscored completions.
    pub fn generate(&self, groups: &mut [Group]) -> Result<()> {
        let g = self.config.num_generations;
        for (k, group) in groups.iter_mut().enumerate() {
            let batch = self.policy.collate(&vec![group.prompt.clone(); g])?;
            let cfg = GenerationConfig {
                max_new_tokens: self.config.max_completion_length,
                do_sample: true,
                temperature: self.config.temperature,
                top_p: self.config.top_p,
                top_k: self.config.top_k,
                stop_token_ids: Vec::new(),
                seed: mix_seed(self.config.seed, self.state.step, k as u64),
            };
            let out = self.policy.generate_batch(&batch, &cfg)?;
            let completions = out
                .into_iter()
                .map(|o| Completion {
                    text: o.text,
                    token_ids: o.generation.token_ids.iter().map(|&t| t as u32).collect(),
                    logprobs: o.generation.logprobs,
                    rewards: BTreeMap::new(),
                    advantage: None,
                })
                .collect();
            group.sample.rl = Some(RlFields { completions });
        }
        Ok(())
    }

    /// Scores every completion against its sample's target with `rewards`, then sets group advantages.
    pub fn score(&self, groups: &mut [Group], rewards: &[Box<dyn Reward>]) {
        for group in groups.iter_mut() {
            let options = group.sample.prompt.options();
            let expert = group.sample.target.clone();
            let target = RewardTarget {
                expert: &expert,
                options: &options,
            };
            if let Some(rl) = group.sample.rl.as_mut() {
                for c in &mut rl.completions {
                    for r in rewards {
                        c.rewards
                            .insert(r.name().to_owned(), r.score(&c.text, &target));
                    }
                }
            }
        }
        assign_advantages(groups);
    }

    /// μ optimizer steps on the scored groups; returns the round's log (generation time left 0).
    pub fn optimize(&mut self, groups: &[Group]) -> Result<StepLog> {
        let started = Instant::now();
        let mut log = round_reward_stats(groups);
        log.step = self.state.step + 1;
        let pairs: Vec<(usize, usize)> = groups
            .iter()
            .enumerate()
            .flat_map(|(gi, g)| {
                g.completions()
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| !c.token_ids.is_empty())
                    .map(move |(ci, _)| (gi, ci))
            })
            .collect();
        let total_tokens: usize = pairs
            .iter()
            .map(|&(gi, ci)| groups[gi].completions()[ci].token_ids.len())
            .sum();
        let (mut loss_sum, mut kl_sum, mut clip_sum) = (0.0, 0.0, 0.0);
        let mut grad_norm = 0.0;
        let clip = self.config.clip();
        let device = self.policy.model.device();
        for _ in 0..self.config.num_iterations {
            self.optimizer.zero_grad();
            let (mut it_loss, mut it_kl, mut it_clip) = (0.0, 0.0, 0.0);
            for chunk in pairs.chunks(self.config.micro_batch_size) {
                let prompts: Vec<Prompt> = chunk
                    .iter()
                    .map(|&(gi, _)| groups[gi].prompt.clone())
                    .collect();
                let comps: Vec<&Completion> = chunk
                    .iter()
                    .map(|&(gi, ci)| &groups[gi].completions()[ci])
                    .collect();
                let ids: Vec<Vec<i64>> = comps
                    .iter()
                    .map(|c| c.token_ids.iter().map(|&t| i64::from(t)).collect())
                    .collect();
                let (batch, mask) = self.policy.collate_with_completions(&prompts, &ids)?;
                let s = batch.seq_len() as usize;
                let old = right_aligned(&comps, s, device, |c| &c.logprobs)?;
                let adv: Vec<f32> = comps.iter().map(|c| c.advantage.unwrap_or(0.0)).collect();
                let adv = Tensor::from_slice(&adv).to_device(device);
                let logp =
                    self.policy
                        .model
                        .forward_logprobs(&batch, &mask, self.config.temperature)?;
                let reference = match &self.reference {
                    Some(r) => Some(tch::no_grad(|| {
                        r.forward_logprobs(&batch, &mask, self.config.temperature)
                    })?),
                    None => None,
                };
                let tl = token_loss(&logp, &old, reference.as_ref(), &adv, clip);
                let loss = aggregate(
                    &tl.loss,
                    &mask,
                    self.config.loss_type,
                    pairs.len(),
                    total_tokens as f64,
                );
                loss.backward();
                it_loss += loss.double_value(&[]);
                it_kl += (&tl.kl * &mask).sum(Kind::Float).double_value(&[]);
                it_clip += (&tl.clipped * &mask).sum(Kind::Float).double_value(&[]);
            }
            grad_norm = self.optimizer.clip_grad_norm(self.config.max_grad_norm);
            let lr = self.schedule.lr(self.state.optimizer_steps);
            self.optimizer.step(lr);
            self.state.optimizer_steps += 1;
            log.learning_rate = lr;
            loss_sum += it_loss;
            kl_sum += it_kl;
            clip_sum += it_clip;
        }
        let mu = self.config.num_iterations as f64;
        let tokens = (total_tokens as f64).max(1.0);
        log.loss = loss_sum / mu;
        log.kl = kl_sum / mu / tokens;
        log.clip_ratio = clip_sum / mu / tokens;
        log.grad_norm = grad_norm;
        log.optimize_s = started.elapsed().as_secs_f64();
        self.state.step += 1;
        Ok(log)
    }

    /// Writes `checkpoint-{step}` (weights, optimizer, state) atomically and prunes old ones.
    pub fn save_checkpoint(&self, rollouts_committed: u64) -> Result<PathBuf> {
        let mut state = self.state.clone();
        state.rollouts_committed = rollouts_committed;
        let json = serde_json::to_string_pretty(&state).expect("state serialises");
        let dir = self.checkpoints.save(state.step, |dir| {
            save_model(&self.policy.model, &state.base_model, dir)?;
            self.optimizer.save(&dir.join(OPTIMIZER_FILE))?;
            agent::checkpoint::write_atomic(&dir.join(TRAINER_STATE_FILE), json.as_bytes())?;
            Ok(())
        })?;
        Ok(dir)
    }

    /// Writes the final policy to `dir` (atomically, as a loadable checkpoint directory).
    pub fn save_final(&self, dir: &Path) -> Result<()> {
        sft::checkpoint::publish_dir(dir, |tmp| {
            save_model(&self.policy.model, &self.state.base_model, tmp)
        })?;
        Ok(())
    }
}

/// Configs that train alike: only the run length and checkpoint cadence may change on resume (extending a
/// finished run by more rounds is a resume too).
fn same_training(a: &RftConfig, b: &RftConfig) -> bool {
    let strip = |c: &RftConfig| RftConfig {
        max_steps: 0,
        epochs: 0,
        save_steps: 0,
        save_total_limit: 0,
        ..c.clone()
    };
    strip(a) == strip(b)
}

/// `[B, S]` tensor with each row's per-token values at its last positions (completions end the rows).
fn right_aligned(
    comps: &[&Completion],
    s: usize,
    device: Device,
    values: impl Fn(&Completion) -> &Vec<f32>,
) -> Result<Tensor> {
    let mut flat = vec![0f32; comps.len() * s];
    for (b, c) in comps.iter().enumerate() {
        let v = values(c);
        if v.len() != c.token_ids.len() || v.len() > s {
            return Err(RftError::Input(format!(
                "completion {:?}: {} tokens but {} log-probs",
                c.text,
                c.token_ids.len(),
                v.len()
            )));
        }
        flat[b * s + s - v.len()..(b + 1) * s].copy_from_slice(v);
    }
    Ok(Tensor::from_slice(&flat)
        .view([comps.len() as i64, s as i64])
        .to_device(device))
}

/// Sets each completion's advantage from the total rewards of its group.
pub fn assign_advantages(groups: &mut [Group]) {
    for group in groups.iter_mut() {
        if let Some(rl) = group.sample.rl.as_mut() {
            let rewards: Vec<f32> = rl.completions.iter().map(Completion::reward).collect();
            let adv = group_advantages(&rewards, rewards.len());
            for (c, a) in rl.completions.iter_mut().zip(adv) {
                c.advantage = Some(a);
            }
        }
    }
}

/// Reward means per component, within-group std and zero-variance fraction, completion length.
pub fn round_reward_stats(groups: &[Group]) -> StepLog {
    let mut log = StepLog::default();
    let (mut n, mut len, mut std_sum, mut zero) = (0usize, 0usize, 0.0, 0usize);
    for g in groups {
        let comps = g.completions();
        let rewards: Vec<f32> = comps.iter().map(Completion::reward).collect();
        let stats = GroupStats::of(&rewards);
        std_sum += stats.std;
        if stats.std == 0.0 {
            zero += 1;
        }
        for c in comps {
            for (name, v) in &c.rewards {
                *log.rewards.entry(name.clone()).or_default() += f64::from(*v);
            }
            log.reward += f64::from(c.reward());
            len += c.token_ids.len();
            n += 1;
        }
    }
    let nf = n.max(1) as f64;
    for v in log.rewards.values_mut() {
        *v /= nf;
    }
    log.reward /= nf;
    log.completion_length = len as f64 / nf;
    let gn = groups.len().max(1) as f64;
    log.reward_std = std_sum / gn;
    log.frac_reward_zero_std = zero as f64 / gn;
    log
}
