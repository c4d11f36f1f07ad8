//! The GRPO core shared by offline and closed-loop RFT: sample G completions per prompt, attach scores and
//! group advantages, then run μ clipped policy-gradient updates against the stored (sampling-time) log-probs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use agent::{Batch, GenerationConfig, ImageInput, Pipeline, Prompt, Qwen2VL};
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
    /// Mean answer-token NLL of the SFT term on the groups' expert targets (0 when `sft_coef` is 0).
    #[serde(default)]
    pub sft_loss: f64,
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
    /// Share the repeated work of a round: one prefill per prompt for its G completions (all groups in one
    /// batch), each prompt's vision tower once per micro-batch, the reference log-probs once per round, and
    /// no forward for zero-advantage completions when β = 0 (their loss and gradient are exactly 0). false
    /// runs the old path (a prefill per completion, everything per row and iteration), kept so
    /// `vln-r1 bench model --mode grpo` measures both in one process.
    pub shared_work: bool,
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
            shared_work: true,
        })
    }

    fn generation_config(&self, seed: u64) -> GenerationConfig {
        GenerationConfig {
            max_new_tokens: self.config.max_completion_length,
            do_sample: true,
            temperature: self.config.temperature,
            top_p: self.config.top_p,
            top_k: self.config.top_k,
            stop_token_ids: Vec::new(),
            seed,
        }
    }

    /// Samples G completions for every group, with seeds from (seed, round, group). Replaces the groups'
    /// `rl` fields with unscored completions. With `shared_work`, all prompts are prefilled once in one batch
    /// and each prompt's cache is repeated G times (same completions as G prefills: each group keeps its
    /// own seed stream).
    pub fn generate(&self, groups: &mut [Group]) -> Result<()> {
        let g = self.config.num_generations;
        let seeds: Vec<u64> = (0..groups.len())
            .map(|k| mix_seed(self.config.seed, self.state.step, k as u64))
            .collect();
        let outputs = if self.shared_work {
            let prompts: Vec<Prompt> = groups.iter().map(|gr| gr.prompt.clone()).collect();
            let cfg = self.generation_config(0);
            self.policy.generate_groups(&prompts, g, &cfg, &seeds)?
        } else {
            let mut all = Vec::with_capacity(groups.len());
            for (group, &seed) in groups.iter().zip(&seeds) {
                let batch = self.policy.collate(&vec![group.prompt.clone(); g])?;
                all.push(
                    self.policy
                        .generate_batch(&batch, &self.generation_config(seed))?,
                );
            }
            all
        };
        for (group, out) in groups.iter_mut().zip(outputs) {
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
        self.optimize_with(groups, groups)
    }

    /// [`GrpoTrainer::optimize`] with the SFT term on `sft_groups`' expert targets instead of the GRPO
    /// groups' (a replay of the aggregated buffer, see [`crate::replay`]).
    pub fn optimize_with(&mut self, groups: &[Group], sft_groups: &[Group]) -> Result<StepLog> {
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
        // Without a KL term a zero-advantage completion's loss is exactly 0 (ρ·0), so is its gradient; with
        // `pg_coef` 0 every completion's is.
        let forwarded: Vec<(usize, usize)> = if self.config.pg_coef == 0.0 {
            Vec::new()
        } else if self.shared_work && self.reference.is_none() {
            pairs
                .iter()
                .copied()
                .filter(|&(gi, ci)| groups[gi].completions()[ci].advantage.unwrap_or(0.0) != 0.0)
                .collect()
        } else {
            pairs.clone()
        };
        let chunks: Vec<&[(usize, usize)]> =
            forwarded.chunks(self.config.micro_batch_size).collect();
        // The reference is frozen: its log-probs are the same in every iteration.
        let mut reference_lp: Vec<Option<Tensor>> = Vec::with_capacity(chunks.len());
        if self.shared_work {
            for chunk in &chunks {
                let inputs = self.chunk_inputs(groups, chunk)?;
                reference_lp.push(self.reference_logprobs(groups, &inputs)?);
            }
        }
        let (mut loss_sum, mut kl_sum, mut clip_sum, mut sft_sum) = (0.0, 0.0, 0.0, 0.0);
        let mut grad_norm = 0.0;
        let clip = self.config.clip();
        for _ in 0..self.config.num_iterations {
            self.optimizer.zero_grad();
            let (mut it_loss, mut it_kl, mut it_clip) = (0.0, 0.0, 0.0);
            for (k, chunk) in chunks.iter().enumerate() {
                let inputs = self.chunk_inputs(groups, chunk)?;
                let logp = logprobs(&self.policy.model, groups, &inputs, self.config.temperature)?;
                let reference = match reference_lp.get(k) {
                    Some(r) => r.as_ref().map(Tensor::shallow_clone),
                    None => self.reference_logprobs(groups, &inputs)?,
                };
                let tl = token_loss(&logp, &inputs.old, reference.as_ref(), &inputs.adv, clip);
                let loss = aggregate(
                    &tl.loss,
                    &inputs.mask,
                    self.config.loss_type,
                    pairs.len(),
                    total_tokens as f64,
                ) * self.config.pg_coef;
                loss.backward();
                it_loss += loss.double_value(&[]);
                it_kl += (&tl.kl * &inputs.mask).sum(Kind::Float).double_value(&[]);
                it_clip += (&tl.clipped * &inputs.mask)
                    .sum(Kind::Float)
                    .double_value(&[]);
            }
            if self.config.sft_coef > 0.0 {
                sft_sum += crate::sft_term::backward_sft_term(
                    &self.policy,
                    sft_groups,
                    self.config.sft_coef,
                    self.config.micro_batch_size,
                )?;
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
        log.sft_loss = sft_sum / mu;
        log.optimize_s = started.elapsed().as_secs_f64();
        self.state.step += 1;
        Ok(log)
    }

    /// A micro-batch's training inputs. Old path: prompt + completion rows with pixels (left-aligned values).
    /// Shared work: the chunk's distinct prompts once (their images as features) and the completions as
    /// right-padded rows continuing them (left-aligned values).
    fn chunk_inputs(&self, groups: &[Group], chunk: &[(usize, usize)]) -> Result<ChunkInputs> {
        let device = self.policy.model.device();
        let comps: Vec<&Completion> = chunk
            .iter()
            .map(|&(gi, ci)| &groups[gi].completions()[ci])
            .collect();
        let ids: Vec<Vec<i64>> = comps
            .iter()
            .map(|c| c.token_ids.iter().map(|&t| i64::from(t)).collect())
            .collect();
        let adv: Vec<f32> = comps.iter().map(|c| c.advantage.unwrap_or(0.0)).collect();
        let adv = Tensor::from_slice(&adv).to_device(device);
        if !self.shared_work {
            let prompts: Vec<Prompt> = chunk
                .iter()
                .map(|&(gi, _)| groups[gi].prompt.clone())
                .collect();
            let (batch, mask) = self.policy.collate_with_completions(&prompts, &ids)?;
            let s = batch.seq_len() as usize;
            let old = right_aligned(&comps, s, device, |c| &c.logprobs)?;
            return Ok(ChunkInputs {
                batch,
                shared: None,
                mask,
                old,
                adv,
            });
        }
        let mut batch_groups: Vec<usize> = Vec::new();
        let prompt_of: Vec<i64> = chunk
            .iter()
            .map(|&(gi, _)| {
                let p = batch_groups
                    .iter()
                    .position(|&g| g == gi)
                    .unwrap_or_else(|| {
                        batch_groups.push(gi);
                        batch_groups.len() - 1
                    });
                p as i64
            })
            .collect();
        let prompts: Vec<Prompt> = batch_groups
            .iter()
            .map(|&g| groups[g].prompt.clone())
            .collect();
        let batch = self.policy.collate_for(&prompts, ImageInput::Features)?;
        let (r, l) = (ids.len(), ids.iter().map(Vec::len).max().unwrap_or(0));
        let pad = self.policy.pad_token_id();
        let (mut tokens, mut mask, mut old) =
            (vec![pad; r * l], vec![0f32; r * l], vec![0f32; r * l]);
        for (k, (t, c)) in ids.iter().zip(&comps).enumerate() {
            if c.logprobs.len() != t.len() {
                return Err(RftError::Input(format!(
                    "completion {:?}: {} tokens but {} log-probs",
                    c.text,
                    t.len(),
                    c.logprobs.len()
                )));
            }
            tokens[k * l..k * l + t.len()].copy_from_slice(t);
            mask[k * l..k * l + t.len()]
                .iter_mut()
                .for_each(|m| *m = 1.0);
            old[k * l..k * l + t.len()].copy_from_slice(&c.logprobs);
        }
        let shape = [r as i64, l as i64];
        let tensor = |v: &[f32]| Tensor::from_slice(v).view(shape).to_device(device);
        Ok(ChunkInputs {
            batch,
            shared: Some(SharedPrompts {
                groups: batch_groups,
                prompt_of,
                completions: Tensor::from_slice(&tokens).view(shape).to_device(device),
            }),
            mask: tensor(&mask),
            old: tensor(&old),
            adv,
        })
    }

    /// The frozen reference's log-probs of a micro-batch (None without a reference, β = 0).
    fn reference_logprobs(&self, groups: &[Group], inputs: &ChunkInputs) -> Result<Option<Tensor>> {
        let Some(r) = &self.reference else {
            return Ok(None);
        };
        let t = self.config.temperature;
        Ok(Some(tch::no_grad(|| logprobs(r, groups, inputs, t))?))
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

/// One micro-batch's training inputs (see [`GrpoTrainer::chunk_inputs`]); `mask`, `old` `[B, S]`, `adv` `[B]`.
struct ChunkInputs {
    batch: Batch,
    /// With shared work: which prompts `batch` holds and the completions that continue them.
    shared: Option<SharedPrompts>,
    mask: Tensor,
    old: Tensor,
    adv: Tensor,
}

struct SharedPrompts {
    /// The group of each prompt row of the batch.
    groups: Vec<usize>,
    /// The prompt row each completion continues.
    prompt_of: Vec<i64>,
    /// `[R, L]` completion tokens, right-padded.
    completions: Tensor,
}

/// Log-probs of a micro-batch's completion tokens under `model`, laid out as its mask.
fn logprobs(model: &Qwen2VL, groups: &[Group], inputs: &ChunkInputs, t: f64) -> Result<Tensor> {
    Ok(match &inputs.shared {
        Some(sp) => {
            let features = encode_groups(model, groups, &sp.groups)?;
            model.completion_logprobs(
                &inputs.batch,
                features.as_ref(),
                &sp.prompt_of,
                &sp.completions,
                &inputs.mask,
                t,
            )?
        }
        None => model.forward_logprobs(&inputs.batch, &inputs.mask, t)?,
    })
}

/// The vision tower's features of the images of `batch_groups`' prompts, in order, in one call. None when
/// they have no images.
fn encode_groups(
    model: &Qwen2VL,
    groups: &[Group],
    batch_groups: &[usize],
) -> Result<Option<Tensor>> {
    let images: Vec<&agent::PatchGrid> = batch_groups
        .iter()
        .flat_map(|&g| groups[g].prompt.images.iter())
        .collect();
    if images.is_empty() {
        return Ok(None);
    }
    Ok(Some(model.encode_images(&images)?))
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
