//! Closed-loop GRPO over whole episodes (ActiveVLN's design): a group is G trajectories of the same episode
//! from the same start, each played by the policy exactly as eval plays it (the checkpoint's memory sampler,
//! N, `execute` and STOP bias, constrained decoding), sampling at `temperature`, until STOP or the step cap.
//! Each trajectory is scored once by how it ended (soft success where it stopped, nDTW to the reference, the
//! share of answers that parsed); its group-normalised advantage applies to every decision it made.
//!
//! Per-decision groups ([`crate::online`]) score each completion on its own next actions, where a turn is
//! riskless, so a walking navigator learns to turn in place; here the objective sees only where episodes end.
//!
//! A round: deal `prompts_per_step` episodes, run `num_generations` trajectories of each in one vectorised
//! batch, append every decision to the run's rollout store (frames, prompt, completion with log-probs,
//! the trajectory's rewards and advantage, and the expert's next N actions from the state the policy was in:
//! the buffer that SFT and offline GRPO read), then one GRPO update on a seeded subsample of
//! `decisions_per_trajectory` decisions of each trajectory. Sampling is reseeded from (seed, round) every
//! round, so a resumed run plays what an uninterrupted one would.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use agent::{Decision, NavigationSettings, Pipeline, VlmPolicy, VlmPolicyConfig};
use env::body::AgentState;
use env::measures::EpisodeMetrics;
use env::nav::{Expert, FollowerConfig};
use env::policy::{Policy, PolicyInput};
use env::task::{Observation, ResetOptions};
use env::vec_env::VecEnv;
use episodes::store::{Completion, RlFields, SampleStoreWriter};
use episodes::{MemorySampler, PromptConfig, Sample};
use image::RgbImage;
use rand::seq::index::sample as sample_indices;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::Tensor;

use crate::config::{RewardWeights, RftConfig};
use crate::error::{Result, RftError};
use crate::loss::{group_advantages, GroupStats};
use crate::offline::{append_log, epoch_order, FINAL_MODEL_DIR};
use crate::online::{decision_prompt, load_weights, start_run, OnlineRun};
use crate::replay::SftReplay;
use crate::trainer::{mix_seed, Group, StepLog};

/// One played episode: what the policy saw and where it was at every step, the answers it generated, and how
/// the episode ended.
pub struct Trajectory {
    pub episode_index: usize,
    pub episode_id: String,
    pub scene_id: String,
    pub instruction: String,
    pub prompt: PromptConfig,
    labeler: Expert,
    /// One frame and state per observation (index = step).
    frames: Vec<Arc<RgbImage>>,
    states: Vec<AgentState>,
    start_distance: f32,
    pub decisions: Vec<LabelledDecision>,
    pub end: Option<TrajectoryEnd>,
}

/// A decision with the expert's next N actions from the state it was made in, and whether the expert took
/// over before its plan ran out (β-mixed DAgger): such a plan did not make the trajectory, so the GRPO term
/// leaves it out, while its label still trains the SFT term.
pub struct LabelledDecision {
    pub decision: Decision,
    pub target: Vec<episodes::Action>,
    pub overridden: bool,
}

/// How a trajectory ended.
#[derive(Debug, Clone, Copy)]
pub struct TrajectoryEnd {
    /// The policy called STOP (otherwise the step cap ended it).
    pub stopped: bool,
    /// Geodesic distance from the start to the goal.
    pub start_distance: f32,
    pub metrics: EpisodeMetrics,
}

/// The weighted reward terms of a finished trajectory; a term whose weight is 0 is left out.
/// - `success`: soft success `1 − min(d_goal / success_distance, 1)` where the policy stopped, 0 when the
///   step cap ended the episode (a success needs a STOP, as in VLN-CE);
/// - `progress`: the share of the start's geodesic distance to the goal that the trajectory closed,
///   `(d_start − d_goal) / d_start` in [−1, 1] (dense where success is rare: walking the route counts);
/// - `ndtw`: nDTW of the path to the reference (0 when the episode has none);
/// - `format`: the share of its answers that parsed as exactly N options.
pub fn trajectory_terms(
    w: &RewardWeights,
    end: &TrajectoryEnd,
    parsed_share: f32,
    success_distance: f32,
) -> Vec<(&'static str, f32)> {
    let finite = |v: f64| if v.is_finite() { v as f32 } else { 0.0 };
    let soft = if end.stopped {
        1.0 - (finite(end.metrics.ne.max(0.0)) / success_distance).min(1.0)
    } else {
        0.0
    };
    // An infinite NE (stopped off the surface) is as far as it gets.
    let soft = if end.metrics.ne.is_finite() {
        soft
    } else {
        0.0
    };
    let progress = if end.metrics.ne.is_finite() && end.start_distance > 0.0 {
        ((end.start_distance - end.metrics.ne as f32) / end.start_distance).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    [
        ("success", w.success, soft),
        ("progress", w.progress, progress),
        ("ndtw", w.ndtw, finite(end.metrics.ndtw).clamp(0.0, 1.0)),
        ("format", w.format, parsed_share),
    ]
    .into_iter()
    .filter(|&(_, weight, _)| weight != 0.0)
    .map(|(name, weight, v)| (name, weight * v))
    .collect()
}

/// The policy settings a run plays with: the checkpoint's `navigation.json` where it has one, the config
/// otherwise; a config that contradicts the checkpoint is refused, naming both.
pub fn policy_config(model: &Path, cfg: &RftConfig) -> Result<VlmPolicyConfig> {
    let memory: MemorySampler =
        cfg.online
            .memory
            .parse()
            .map_err(|e: episodes::EpisodeError| {
                RftError::config("--config", "online.memory", e.to_string())
            })?;
    let nav = NavigationSettings::read(model)?;
    let contradiction = |field: &str, ours: String, theirs: String| {
        RftError::config(
            "--config",
            field,
            format!(
                "{ours} contradicts {theirs} in {}/{}, what the checkpoint was trained with",
                model.display(),
                agent::navigation::NAVIGATION_FILE
            ),
        )
    };
    let (num_actions, stop_bias) = match &nav {
        Some(n) => {
            if n.memory != memory {
                return Err(contradiction(
                    "online.memory",
                    memory.to_string(),
                    n.memory.to_string(),
                ));
            }
            if let Some(e) = n.execute.filter(|&e| e != cfg.online.execute) {
                return Err(contradiction(
                    "online.execute",
                    cfg.online.execute.to_string(),
                    format!("execute {e}"),
                ));
            }
            if let (Some(a), Some(b)) = (cfg.online.stop_radius, n.stop_radius) {
                if a != b {
                    return Err(contradiction(
                        "online.stop_radius",
                        a.to_string(),
                        format!("stop_radius {b}"),
                    ));
                }
            }
            (n.num_actions, n.stop_bias.unwrap_or(0.0))
        }
        None => (PromptConfig::R2R.num_actions, 0.0),
    };
    if cfg.online.execute > num_actions {
        return Err(RftError::config(
            "--config",
            "online.execute",
            format!("must be in 1..={num_actions} (N of the checkpoint)"),
        ));
    }
    let mut config = VlmPolicyConfig {
        memory,
        num_actions,
        execute: cfg.online.execute,
        stop_bias,
        ..VlmPolicyConfig::default()
    };
    config.generation.do_sample = true;
    config.generation.temperature = cfg.temperature;
    config.generation.top_p = cfg.top_p;
    config.generation.top_k = cfg.top_k;
    Ok(config)
}

/// The episodes of round `round`: `count` indices in a seeded order of the dataset, epoch after epoch.
fn deal(len: usize, seed: u64, round: u64, count: usize) -> Vec<usize> {
    let len = len as u64;
    (0..count as u64)
        .map(|k| {
            let dealt = round * count as u64 + k;
            epoch_order(len, seed, dealt / len)[(dealt % len) as usize] as usize
        })
        .collect()
}

/// Plays `episodes[p]` `g` times each, all trajectories in one batch (slot `p·g + m` is member m of group
/// p), until every one has ended. Every decision is labelled by the expert from the state it was made in; with
/// `mix.beta` > 0 each step takes the expert's action instead of the policy's with that probability (VLN-CE's
/// β-mixed DAgger), and the policy re-plans from where that leaves it. The policy must be recording.
pub fn play_groups(
    envs: &mut VecEnv,
    policy: &mut VlmPolicy,
    episodes: &[usize],
    g: usize,
    expert: FollowerConfig,
    mix: &mut ExpertMix,
) -> Result<Vec<Trajectory>> {
    let requests: Vec<(usize, Option<u64>, ResetOptions)> = episodes
        .iter()
        .flat_map(|&e| std::iter::repeat_n(e, g))
        .enumerate()
        .map(|(slot, e)| (slot, None, ResetOptions::Index(e)))
        .collect();
    let mut trajectories = Vec::with_capacity(requests.len());
    let mut observations: Vec<Option<Observation>> = Vec::with_capacity(requests.len());
    for (slot, (obs, info)) in envs.reset(requests)?.into_iter().enumerate() {
        policy.reset(slot, &info)?;
        let rgb = frame_of(&obs)?;
        trajectories.push(Trajectory {
            episode_index: info.episode_index,
            episode_id: info.episode.episode_id.key(),
            scene_id: info.episode.scene_id.clone(),
            instruction: info.episode.instruction.instruction_text.clone(),
            prompt: PromptConfig {
                forward_step_m: f64::from(info.agent.forward_step),
                turn_angle_deg: f64::from(info.agent.turn_angle_deg),
                num_actions: policy.config().num_actions,
            },
            labeler: Expert::new(&info, expert)?,
            frames: vec![rgb],
            states: vec![obs.state],
            start_distance: info.distance_to_goal,
            decisions: Vec::new(),
            end: None,
        });
        observations.push(Some(obs));
    }
    loop {
        let active: Vec<usize> = (0..observations.len())
            .filter(|&s| observations[s].is_some())
            .collect();
        if active.is_empty() {
            break;
        }
        let inputs: Vec<PolicyInput<'_>> = active
            .iter()
            .map(|&slot| PolicyInput {
                slot,
                observation: observations[slot].as_ref().expect("active"),
            })
            .collect();
        let mut actions = policy.act(&inputs)?;
        label_decisions(policy, &mut trajectories)?;
        for (&slot, action) in active.iter().zip(actions.iter_mut()) {
            if mix.take_expert() {
                *action = expert_action(&mut trajectories[slot])?;
                policy.clear_queue(slot);
            }
        }
        let requests: Vec<(usize, episodes::Action)> =
            active.iter().copied().zip(actions).collect();
        for (&slot, r) in active.iter().zip(envs.step(&requests)?) {
            let t = &mut trajectories[slot];
            if r.done() {
                t.end = Some(TrajectoryEnd {
                    stopped: r.terminated,
                    start_distance: t.start_distance,
                    metrics: r.info.metrics,
                });
                observations[slot] = None;
            } else {
                t.frames.push(frame_of(&r.observation)?);
                t.states.push(r.observation.state);
                observations[slot] = Some(r.observation);
            }
        }
    }
    Ok(trajectories)
}

/// Who acts at each step of a round: the expert with probability `beta` (seeded), the policy otherwise.
pub struct ExpertMix {
    pub beta: f32,
    rng: ChaCha8Rng,
}

impl ExpertMix {
    pub fn new(beta: f32, seed: u64) -> ExpertMix {
        ExpertMix {
            beta,
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    fn take_expert(&mut self) -> bool {
        self.beta > 0.0 && self.rng.random::<f32>() < self.beta
    }
}

/// Attaches the decisions the policy just made to their trajectories, each with the expert's labels from the
/// state it was made in (the follower is persistent, so it is asked in step order).
fn label_decisions(policy: &mut VlmPolicy, trajectories: &mut [Trajectory]) -> Result<()> {
    for d in policy.take_decisions() {
        let t = &mut trajectories[d.slot];
        let state = *t.states.get(d.frame).ok_or_else(|| {
            RftError::Input(format!(
                "episode {}: a decision at step {} past the {} states seen",
                t.episode_id,
                d.frame,
                t.states.len()
            ))
        })?;
        let target = t.labeler.labels(state, t.prompt.num_actions)?;
        t.decisions.push(LabelledDecision {
            decision: d,
            target,
            overridden: false,
        });
    }
    Ok(())
}

/// The expert's action from the trajectory's current state; the plan being executed is cut short.
fn expert_action(t: &mut Trajectory) -> Result<episodes::Action> {
    let step = t.states.len() - 1;
    if let Some(last) = t.decisions.last_mut() {
        last.overridden = true;
        // Decided at this very step: its label is the expert's action here.
        if last.decision.frame == step {
            return Ok(last.target[0]);
        }
    }
    Ok(t.labeler.act(t.states[step])?)
}

fn frame_of(obs: &Observation) -> Result<Arc<RgbImage>> {
    obs.rgb.clone().ok_or_else(|| {
        RftError::Input(format!(
            "episode {}: the environment renders no RGB frame",
            obs.episode_id
        ))
    })
}

/// A scored trajectory: its weighted reward terms and its group-normalised advantage.
struct Scored {
    terms: Vec<(&'static str, f32)>,
    advantage: f32,
}

/// Scores every trajectory and normalises the totals within each group of `g`.
fn score(
    trajectories: &[Trajectory],
    g: usize,
    cfg: &RftConfig,
    success_distance: f32,
) -> Result<Vec<Scored>> {
    let mut terms = Vec::with_capacity(trajectories.len());
    for t in trajectories {
        let end = t.end.as_ref().ok_or_else(|| {
            RftError::Input(format!(
                "episode {}: the trajectory did not end",
                t.episode_id
            ))
        })?;
        let options = t.prompt.options();
        let parsed = t
            .decisions
            .iter()
            .filter(|d| {
                episodes::answer::parse_answer(&d.decision.text, &options, t.prompt.num_actions)
                    .is_ok()
            })
            .count();
        let share = parsed as f32 / t.decisions.len().max(1) as f32;
        terms.push(trajectory_terms(
            &cfg.online.weights,
            end,
            share,
            success_distance,
        ));
    }
    let totals: Vec<f32> = terms
        .iter()
        .map(|t| t.iter().map(|(_, v)| v).sum())
        .collect();
    let advantages = group_advantages(&totals, g);
    Ok(terms
        .into_iter()
        .zip(advantages)
        .map(|(terms, advantage)| Scored { terms, advantage })
        .collect())
}

/// The store record of decision `d` of `t` (the expert's next N actions from that state as its target, the
/// trajectory's rewards and advantage on its one completion), with its frames written under `root`.
fn decision_record(
    root: &Path,
    run_index: u64,
    memory: &MemorySampler,
    t: &Trajectory,
    labelled: &LabelledDecision,
    scored: &Scored,
) -> Result<Sample> {
    let d = &labelled.decision;
    let history = memory.history(d.frame);
    let mut paths = Vec::with_capacity(history.len() + 1);
    for &k in history.iter().chain(std::iter::once(&d.frame)) {
        paths.push(write_frame(root, run_index, k, &t.frames[k])?);
    }
    let current = paths.pop().expect("the current frame");
    let completion = Completion {
        text: d.text.clone(),
        token_ids: d.token_ids.iter().map(|&id| id as u32).collect(),
        logprobs: d.logprobs.clone(),
        rewards: scored
            .terms
            .iter()
            .map(|&(n, v)| (n.to_owned(), v))
            .collect(),
        advantage: Some(scored.advantage),
    };
    Ok(Sample {
        episode_id: t.episode_id.clone(),
        trajectory_id: Some(format!("episode-{run_index:012x}")),
        scene_id: Some(t.scene_id.clone()),
        step: d.frame as u32,
        instruction: t.instruction.clone(),
        history_frames: paths,
        current_frame: current,
        prompt: t.prompt,
        target: labelled.target.clone(),
        rl: Some(RlFields {
            completions: vec![completion],
        }),
    })
}

/// Writes frame `k` of trajectory `run_index` as JPEG (once) and returns its path relative to the store.
fn write_frame(root: &Path, run_index: u64, k: usize, rgb: &RgbImage) -> Result<String> {
    let rel = format!("frames/episode-{run_index:012x}/{k:04}.jpg");
    let path = root.join(&rel);
    if path.exists() {
        return Ok(rel);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| RftError::io(parent, e))?;
    }
    let tmp = path.with_extension("jpg.tmp");
    rgb.save_with_format(&tmp, image::ImageFormat::Jpeg)
        .map_err(|e| RftError::Input(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path).map_err(|e| RftError::io(&path, e))?;
    Ok(rel)
}

/// The training group of a stored decision: its record and the tokenised prompt with its frames.
fn training_group(
    pipeline: &Pipeline,
    t: &Trajectory,
    sample: Sample,
    memory: &MemorySampler,
) -> Result<Group> {
    let step = sample.step as usize;
    let prompt = decision_prompt(pipeline, memory, &t.prompt, &t.instruction, &t.frames, step)?;
    Ok(Group { sample, prompt })
}

/// Runs (or resumes) episode-group GRPO for `config.max_steps` rounds.
pub fn run_episode_groups(
    run: &OnlineRun,
    mut on_step: impl FnMut(&StepLog),
) -> Result<Vec<StepLog>> {
    let cfg = &run.config;
    let policy_cfg = policy_config(&run.model, cfg)?;
    let mut start = start_run(run)?;
    let (p, g) = (cfg.prompts_per_step, cfg.num_generations);
    let actor = Pipeline::load(&start.trainer.policy.dir, run.device, run.kind)?;
    let mut policy = VlmPolicy::new(actor, policy_cfg.clone(), "rft-actor".into())?;
    policy.set_recording(true);
    let mut envs = VecEnv::with_envs(p * g, run.library.clone(), run.dataset.clone(), run.env)?;
    let expert = FollowerConfig::stopping_within(cfg.online.stop_radius);
    let mut replay = SftReplay::open(
        cfg.online.sft_replay,
        cfg.online.sft_data.as_deref(),
        cfg.online.sft_data_share,
        cfg.online.next_action_balance,
        &start.rollout_root,
    )?;
    let mut logs = Vec::new();
    while start.trainer.state.step < start.total {
        let round = start.trainer.state.step;
        let started = Instant::now();
        policy.reseed(mix_seed(cfg.seed, round, 0));
        let episodes = deal(run.dataset.len(), cfg.seed, round, p);
        let mut mix = ExpertMix::new(
            cfg.online.expert_mix_at(round),
            mix_seed(cfg.seed, round, 2),
        );
        let trajectories = play_groups(&mut envs, &mut policy, &episodes, g, expert, &mut mix)?;
        let scored = score(&trajectories, g, cfg, run.env.success_distance)?;
        let groups = record_round(
            &start.trainer.policy,
            &mut start.rollouts,
            &policy_cfg.memory,
            &trajectories,
            &scored,
            round,
            cfg,
        )?;
        let sft_groups = match cfg.online.sft_replay {
            n if n > 0 && cfg.sft_coef > 0.0 => {
                let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(cfg.seed, round, 3));
                replay.draw(&mut rng, &start.trainer)?
            }
            _ => None,
        };
        let generate_s = started.elapsed().as_secs_f64();
        let mut log = start
            .trainer
            .optimize_with(&groups, sft_groups.as_deref().unwrap_or(&groups))?;
        log.generate_s = generate_s;
        round_stats(&mut log, &trajectories, &scored, g);
        log.rewards.insert("expert_mix".into(), f64::from(mix.beta));
        let learned: Vec<(String, Tensor)> = start
            .trainer
            .policy
            .model
            .vs
            .variables()
            .into_iter()
            .collect();
        load_weights(policy.pipeline(), &learned)?;
        append_log(&start.log_path, &log)?;
        on_step(&log);
        if start.checkpoint_due(cfg) {
            let dir = start.trainer.save_checkpoint(start.rollouts.len())?;
            record_settings(&dir, cfg, &policy_cfg)?;
            start.rollouts.flush()?;
            if cfg.online.sft_replay > 0 {
                replay.refresh(&start.rollout_root)?;
            }
        }
        logs.push(log);
    }
    let final_dir = run.out.join(FINAL_MODEL_DIR);
    start.trainer.save_final(&final_dir)?;
    record_settings(&final_dir, cfg, &policy_cfg)?;
    Ok(logs)
}

/// Appends every decision of the round to the buffer and returns the training groups: a seeded subsample of
/// `decisions_per_trajectory` decisions of each trajectory whose advantage is not 0.
fn record_round(
    learner: &Pipeline,
    rollouts: &mut SampleStoreWriter,
    memory: &MemorySampler,
    trajectories: &[Trajectory],
    scored: &[Scored],
    round: u64,
    cfg: &RftConfig,
) -> Result<Vec<Group>> {
    let per = cfg.online.decisions_per_trajectory;
    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(cfg.seed, round, 1));
    let mut groups = Vec::new();
    let n = trajectories.len() as u64;
    for (k, (t, s)) in trajectories.iter().zip(scored).enumerate() {
        let run_index = round * n + k as u64;
        let decisions = &t.decisions;
        let chosen: BTreeSet<usize> = if decisions.len() <= per {
            (0..decisions.len()).collect()
        } else {
            sample_indices(&mut rng, decisions.len(), per)
                .into_iter()
                .collect()
        };
        for (i, d) in decisions.iter().enumerate() {
            let sample = decision_record(rollouts.root(), run_index, memory, t, d, s)?;
            rollouts.append(&sample)?;
            let signal =
                (s.advantage != 0.0 && !d.overridden) || cfg.beta > 0.0 || cfg.sft_coef > 0.0;
            if chosen.contains(&i) && signal {
                groups.push(training_group(learner, t, sample, memory)?);
            }
        }
    }
    Ok(groups)
}

/// The round's numbers at the trajectory level: each reward term's mean, the mean within-group std of the
/// totals, the share of groups with no signal, and how the episodes went (success, path length, steps).
fn round_stats(log: &mut StepLog, trajectories: &[Trajectory], scored: &[Scored], g: usize) {
    let n = scored.len().max(1) as f64;
    log.rewards.clear();
    for s in scored {
        for &(name, v) in &s.terms {
            *log.rewards.entry(name.into()).or_default() += f64::from(v);
        }
    }
    log.rewards.values_mut().for_each(|v| *v /= n);
    let totals: Vec<f32> = scored
        .iter()
        .map(|s| s.terms.iter().map(|(_, v)| v).sum())
        .collect();
    log.reward = totals.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let stats: Vec<GroupStats> = totals.chunks(g.max(1)).map(GroupStats::of).collect();
    let gn = stats.len().max(1) as f64;
    log.reward_std = stats.iter().map(|s| s.std).sum::<f64>() / gn;
    log.frac_reward_zero_std = stats.iter().filter(|s| s.std == 0.0).count() as f64 / gn;
    let ends: Vec<&TrajectoryEnd> = trajectories.iter().filter_map(|t| t.end.as_ref()).collect();
    let mean = |f: &dyn Fn(&TrajectoryEnd) -> f64| ends.iter().map(|e| f(e)).sum::<f64>() / n;
    log.rewards
        .insert("episode_success".into(), mean(&|e| e.metrics.sr));
    log.rewards
        .insert("episode_tl".into(), mean(&|e| e.metrics.tl));
    log.rewards
        .insert("episode_steps".into(), mean(&|e| e.metrics.steps));
}

/// The written checkpoint runs as the policy that was trained: the `execute` and the STOP bias it played
/// with (the bias is part of the policy whose episodes were rewarded).
fn record_settings(dir: &Path, cfg: &RftConfig, played: &VlmPolicyConfig) -> Result<()> {
    if let Some(n) = NavigationSettings::read(dir)? {
        NavigationSettings {
            execute: Some(cfg.online.execute),
            stop_bias: (played.stop_bias != 0.0).then_some(played.stop_bias),
            ..n
        }
        .write(dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(stopped: bool, ne: f64, ndtw: f64) -> TrajectoryEnd {
        TrajectoryEnd {
            stopped,
            start_distance: 8.0,
            metrics: EpisodeMetrics {
                ne,
                ndtw,
                ..EpisodeMetrics::default()
            },
        }
    }

    #[test]
    fn a_trajectory_scores_where_it_stopped() {
        let w = RewardWeights {
            success: 1.0,
            ndtw: 0.5,
            format: 0.0,
            progress: 0.0,
            ..RewardWeights::default()
        };
        let total = |e: TrajectoryEnd| -> f32 {
            trajectory_terms(&w, &e, 1.0, 3.0).iter().map(|t| t.1).sum()
        };
        // At the goal: full soft success; 1.5 m away: half; beyond 3 m or never stopped: none.
        assert!((total(end(true, 0.0, 0.0)) - 1.0).abs() < 1e-6);
        assert!((total(end(true, 1.5, 0.0)) - 0.5).abs() < 1e-6);
        assert_eq!(total(end(true, 4.0, 0.0)), 0.0);
        assert_eq!(total(end(false, 0.0, 0.0)), 0.0);
        // nDTW is weighted and counts whether or not it stopped; a NaN metric scores 0.
        assert!((total(end(false, 0.0, 0.8)) - 0.4).abs() < 1e-6);
        assert_eq!(total(end(true, f64::NAN, f64::NAN)), 0.0);
        assert_eq!(total(end(true, f64::INFINITY, 0.0)), 0.0);
        // Progress: the share of the 8 m start distance closed, negative when it ended farther away.
        let p = RewardWeights {
            progress: 1.0,
            ..RewardWeights::default()
        };
        let progress = |ne: f64| trajectory_terms(&p, &end(false, ne, 0.0), 1.0, 3.0)[1];
        assert_eq!(progress(2.0), ("progress", 0.75));
        assert_eq!(progress(12.0), ("progress", -0.5));
        assert_eq!(progress(f64::INFINITY), ("progress", 0.0));
        // A zero weight leaves its term out.
        let names: Vec<&str> = trajectory_terms(&w, &end(true, 0.0, 0.5), 1.0, 3.0)
            .iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(names, ["success", "ndtw"]);
    }

    #[test]
    fn rounds_deal_every_episode_once_per_epoch() {
        let dealt: Vec<usize> = (0..5).flat_map(|r| deal(10, 7, r, 2)).collect();
        let mut sorted = dealt.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(deal(10, 7, 3, 2), dealt[6..8]);
    }
}
