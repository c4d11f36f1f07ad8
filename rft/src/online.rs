//! Closed-loop GRPO: the policy drives vectorised environments, and at every decision point its G
//! completions are scored from the same simulator state, either
//! - [`OnlineReward::ExpertTdr`]: TDR against the expert follower's next N actions from that (on-policy)
//!   state, or
//! - [`OnlineReward::Progress`]: each completion's actions executed on a copy of the agent's body from that
//!   state, scored by geodesic progress towards the goal (per metre of the N-step budget) plus success for a
//!   STOP within the success distance.
//!
//! Actor / learner: a collector thread owns the environments and an actor copy of the policy; it sends
//! scored groups through a bounded crossbeam channel (the rollout buffer) to the learner, which optimises,
//! appends every group to the run's rollout store, and sends the new weights back. The actor's sampling
//! log-probs are the stored old log-probs, so a group sampled one update behind is still corrected by the
//! importance ratio (and clipped). The environments step on their own worker threads (`VecEnv`).
//!
//! The executed action is the first `execute` actions of completion 0 (a sample of the current policy);
//! when it does not even start with a valid option, the expert's action is taken instead, so collection
//! keeps visiting useful states while a young policy still writes garbage (counted in `fallback_rate`).

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use agent::{navigation_chat, NavigationSettings, Pipeline};
use crossbeam_channel::{bounded, unbounded, Receiver, Sender};
use env::body::{AgentState, Body};
use env::nav::{Expert, FollowerConfig};
use env::task::{ResetOptions, SceneLibrary, TaskDataset, VlnEnvConfig};
use env::vec_env::VecEnv;
use episodes::answer::parse_options;
use episodes::store::SampleStoreWriter;
use episodes::{Action, MemorySampler, PromptConfig, Sample};
use image::RgbImage;
use tch::{Device, Kind, Tensor};

use crate::config::{GroupMode, OnlineReward, RftConfig};
use crate::error::{Result, RftError};
use crate::offline::{
    append_log, epoch_order, truncate_log, FINAL_MODEL_DIR, LOG_FILE, ROLLOUTS_DIR,
};
use crate::reward::{FormatReward, Reward, RewardTarget, TimeDecayedReward};
use crate::trainer::{assign_advantages, mix_seed, Group, GrpoTrainer, StepLog};

/// Where a closed-loop run plays and writes.
pub struct OnlineRun {
    pub library: Arc<SceneLibrary>,
    pub dataset: Arc<TaskDataset>,
    pub env: VlnEnvConfig,
    pub model: PathBuf,
    pub out: PathBuf,
    pub config: RftConfig,
    pub device: Device,
    pub kind: Kind,
}

/// Where executing a plan from a state ends: the geodesic distance to the goal before and after, and whether
/// the plan executed a STOP (the distance after is then where the agent stopped).
struct PlanEnd {
    start_distance: f32,
    end_distance: f32,
    stopped: bool,
}

/// Executes at most `limit` of `actions` on a copy of the body at `state`, up to and including the first STOP.
fn execute_plan(
    labeler: &Expert,
    state: AgentState,
    actions: &[Action],
    limit: usize,
) -> Result<PlanEnd> {
    let scene = labeler.scene();
    let mut body = Body::new(scene.collider.clone(), *labeler.agent(), state)?;
    // The same distance field the environment's distance-to-goal measure uses.
    let field = scene.pathfinder.distance_field(labeler.goal())?;
    let start_distance = field.distance(body.position());
    let mut stopped = false;
    for &a in actions.iter().take(limit) {
        if a == Action::Stop {
            stopped = true;
            break;
        }
        body.step(a);
    }
    Ok(PlanEnd {
        start_distance,
        end_distance: field.distance(body.position()),
        stopped,
    })
}

/// Geodesic progress and success of executing `actions` on a copy of the body at `state`.
pub struct ProgressScore {
    pub progress: f32,
    pub success: f32,
}

/// Executes the actions up to and including the first STOP. `progress` is the geodesic distance gained,
/// divided by what N forward steps could gain, clamped to [-1, 1] (0 when neither end is on the surface); `success` is 1 when a STOP is executed
/// within `success_distance` of the goal.
pub fn progress_score(
    labeler: &Expert,
    state: AgentState,
    actions: &[Action],
    n: usize,
    success_distance: f32,
) -> Result<ProgressScore> {
    let end = execute_plan(labeler, state, actions, n)?;
    let success = if end.stopped && end.end_distance < success_distance {
        1.0
    } else {
        0.0
    };
    let budget = labeler.agent().forward_step * n as f32;
    // Off the surface on both ends (inf - inf) carries no signal; one end off clamps to ±1.
    let progress = ((end.start_distance - end.end_distance) / budget.max(1e-6)).clamp(-1.0, 1.0);
    let progress = if progress.is_nan() { 0.0 } else { progress };
    Ok(ProgressScore { progress, success })
}

/// The outcome reward of executing the first `execute` actions from `state`: when they contain a STOP, the
/// distance-weighted (soft) success of stopping there, `1 - min(d_goal / success_distance, 1)`, less
/// `stop_cost`; 0 when they do not stop. A STOP far from the goal therefore scores below walking on, and a
/// STOP at the goal scores `1 - stop_cost` above it (ActiveVLN's soft success, with a price on stopping).
pub fn outcome_score(
    labeler: &Expert,
    state: AgentState,
    actions: &[Action],
    execute: usize,
    success_distance: f32,
    stop_cost: f32,
) -> Result<f32> {
    let end = execute_plan(labeler, state, actions, execute)?;
    if !end.stopped {
        return Ok(0.0);
    }
    let soft = 1.0 - (end.end_distance / success_distance).min(1.0);
    // A STOP off the surface (infinite distance) is as far as it gets.
    let soft = if soft.is_nan() { 0.0 } else { soft };
    Ok(soft - stop_cost)
}

/// Every weighted reward term of one completion; a term whose weight is 0 is neither computed nor stored.
fn score_completion(
    cfg: &RftConfig,
    slot: &Slot,
    text: &str,
    target: &RewardTarget<'_>,
    success_distance: f32,
) -> Result<Vec<(&'static str, f32)>> {
    let w = &cfg.online.weights;
    let n = target.expert.len();
    let actions = parse_options(text, target.options).unwrap_or_default();
    let mut terms = Vec::new();
    let mut add = |name: &'static str, weight: f32, value: f32| {
        if weight != 0.0 {
            terms.push((name, weight * value));
        }
    };
    add("format", w.format, FormatReward.score(text, target));
    match cfg.online.reward {
        OnlineReward::ExpertTdr => {
            let tdr = TimeDecayedReward::new(cfg.gamma)?;
            add("tdr", w.tdr, tdr.score(text, target));
        }
        OnlineReward::Progress => {
            let p = progress_score(&slot.labeler, slot.state, &actions, n, success_distance)?;
            add("progress", w.progress, p.progress);
            add("success", w.success, p.success);
        }
    }
    if w.outcome != 0.0 {
        let o = outcome_score(
            &slot.labeler,
            slot.state,
            &actions,
            cfg.online.execute,
            success_distance,
            cfg.online.stop_cost,
        )?;
        add("outcome", w.outcome, o);
    }
    Ok(terms)
}

/// Per-slot episode state in the collector.
struct Slot {
    labeler: Expert,
    scene_id: String,
    prompt: PromptConfig,
    instruction: String,
    episode_id: String,
    /// Frame paths (relative to the rollout store) and the frames themselves, one per step so far.
    frame_paths: Vec<String>,
    frames: Vec<Arc<RgbImage>>,
    state: AgentState,
    queue: VecDeque<Action>,
    /// Unique per played episode, so replays of an episode do not overwrite each other's frames.
    run_index: u64,
}

enum ToLearner {
    Group(Box<Group>, CollectStats),
    Failed(RftError),
}

/// Collector counters sent with each group.
#[derive(Debug, Clone, Copy, Default)]
struct CollectStats {
    fallback: bool,
    /// Episodes that ended since the previous group was sent, and how many of them succeeded.
    episodes: u32,
    successes: u32,
}

/// Runs (or resumes) closed-loop GRPO for `config.max_steps` rounds, with the groups `online.groups` names.
pub fn run_online(run: &OnlineRun, on_step: impl FnMut(&StepLog)) -> Result<Vec<StepLog>> {
    match run.config.online.groups {
        GroupMode::Decision => run_decision_groups(run, on_step),
        GroupMode::Episode => crate::episode_groups::run_episode_groups(run, on_step),
    }
}

/// Per-decision groups (see the module docs).
/// What every closed-loop run opens first: the trainer (resumed from the newest checkpoint under `out`), the
/// rollout buffer (one shard per checkpoint interval: it commits only at checkpoints) and the round log.
pub(crate) struct RunStart {
    pub trainer: GrpoTrainer,
    pub rollouts: SampleStoreWriter,
    pub rollout_root: PathBuf,
    pub log_path: PathBuf,
    /// Rounds of the whole run.
    pub total: u64,
}

/// Checks the config and opens (or resumes) the run under `run.out`.
pub(crate) fn start_run(run: &OnlineRun) -> Result<RunStart> {
    let cfg = &run.config;
    cfg.validate(Path::new("--config"))?;
    if cfg.max_steps == 0 {
        return Err(RftError::config(
            "--config",
            "max_steps",
            "closed-loop RFT needs max_steps > 0 (there is no epoch over a store)",
        ));
    }
    let total = cfg.max_steps as u64;
    std::fs::create_dir_all(&run.out).map_err(|e| RftError::io(&run.out, e))?;
    let trainer = GrpoTrainer::new(
        &run.model,
        &run.out,
        cfg.clone(),
        total,
        run.device,
        run.kind,
    )?;
    let rollout_root = run.out.join(ROLLOUTS_DIR);
    let rollouts = SampleStoreWriter::with_shard_size(&rollout_root, usize::MAX)?;
    let log_path = run.out.join(LOG_FILE);
    truncate_log(&log_path, trainer.state.step)?;
    Ok(RunStart {
        trainer,
        rollouts,
        rollout_root,
        log_path,
        total,
    })
}

impl RunStart {
    /// Whether the round just finished ends with a checkpoint: every `save_steps` rounds, and the last.
    pub(crate) fn checkpoint_due(&self, cfg: &RftConfig) -> bool {
        let step = self.trainer.state.step;
        step == self.total || (cfg.save_steps > 0 && step.is_multiple_of(cfg.save_steps as u64))
    }
}

fn run_decision_groups(run: &OnlineRun, mut on_step: impl FnMut(&StepLog)) -> Result<Vec<StepLog>> {
    let cfg = &run.config;
    let mut start = start_run(run)?;
    let total = start.total;

    let (group_tx, group_rx) = bounded::<ToLearner>(cfg.online.buffer);
    let (weights_tx, weights_rx) = unbounded::<Vec<(String, Tensor)>>();
    let actor_dir = start.trainer.policy.dir.clone();
    let collector = spawn_collector(Collector {
        library: run.library.clone(),
        dataset: run.dataset.clone(),
        env: run.env,
        actor_dir,
        device: run.device,
        kind: run.kind,
        config: cfg.clone(),
        start_round: start.trainer.state.step,
        root: start.rollout_root.clone(),
        groups: group_tx,
        weights: weights_rx,
    })?;

    let mut logs = Vec::new();
    let result = (|| -> Result<()> {
        while start.trainer.state.step < total {
            let started = Instant::now();
            let mut groups = Vec::with_capacity(cfg.prompts_per_step);
            let (mut fallbacks, mut episodes, mut successes) = (0usize, 0usize, 0usize);
            while groups.len() < cfg.prompts_per_step {
                match group_rx.recv() {
                    Ok(ToLearner::Group(g, stats)) => {
                        fallbacks += usize::from(stats.fallback);
                        episodes += stats.episodes as usize;
                        successes += stats.successes as usize;
                        groups.push(*g);
                    }
                    Ok(ToLearner::Failed(e)) => return Err(e),
                    Err(_) => return Err(RftError::Input("the rollout collector stopped".into())),
                }
            }
            assign_advantages(&mut groups);
            let generate_s = started.elapsed().as_secs_f64();
            for g in &groups {
                start.rollouts.append(&g.sample)?;
            }
            let mut log = start.trainer.optimize(&groups)?;
            log.generate_s = generate_s;
            log.rewards.insert(
                "fallback_rate".into(),
                fallbacks as f64 / groups.len() as f64,
            );
            if episodes > 0 {
                log.rewards
                    .insert("episode_success".into(), successes as f64 / episodes as f64);
            }
            let weights = tch::no_grad(|| {
                start
                    .trainer
                    .policy
                    .model
                    .vs
                    .variables()
                    .into_iter()
                    .map(|(n, t)| (n, t.detach().copy()))
                    .collect()
            });
            let _ = weights_tx.send(weights);
            append_log(&start.log_path, &log)?;
            on_step(&log);
            if start.checkpoint_due(cfg) {
                let dir = start.trainer.save_checkpoint(start.rollouts.len())?;
                NavigationSettings::record_execute(&dir, cfg.online.execute)?;
                start.rollouts.flush()?;
            }
            logs.push(log);
        }
        Ok(())
    })();
    // Closing the buffer stops the collector at its next send.
    drop(group_rx);
    drop(weights_tx);
    let joined = collector.join();
    result?;
    if joined.is_err() {
        return Err(RftError::Input("the rollout collector panicked".into()));
    }
    let final_dir = run.out.join(FINAL_MODEL_DIR);
    start.trainer.save_final(&final_dir)?;
    // The model was trained deciding every `execute` actions: `--policy model:DIR` runs it so.
    NavigationSettings::record_execute(&final_dir, run.config.online.execute)?;
    Ok(logs)
}

struct Collector {
    library: Arc<SceneLibrary>,
    dataset: Arc<TaskDataset>,
    env: VlnEnvConfig,
    actor_dir: PathBuf,
    device: Device,
    kind: Kind,
    config: RftConfig,
    start_round: u64,
    root: PathBuf,
    groups: Sender<ToLearner>,
    weights: Receiver<Vec<(String, Tensor)>>,
}

fn spawn_collector(c: Collector) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("rft-collector".into())
        .spawn(move || {
            let tx = c.groups.clone();
            if let Err(e) = collect(c) {
                let _ = tx.send(ToLearner::Failed(e));
            }
        })
        .map_err(|e| RftError::Input(format!("cannot start the rollout collector: {e}")))
}

/// The collector loop: until the learner hangs up.
fn collect(c: Collector) -> Result<()> {
    let mut actor = Actor::start(&c)?;
    loop {
        // Newest weights first: the actor samples with the freshest policy it has.
        let mut latest = None;
        while let Ok(w) = c.weights.try_recv() {
            latest = Some(w);
        }
        if let Some(w) = latest {
            load_weights(&actor.pipeline, &w)?;
        }
        let (actions, mut outgoing) = actor.decide()?;
        let ended = actor.step(actions)?;
        // Episode ends ride on the next group sent (a round's log counts them).
        if let Some((_, stats)) = outgoing.first_mut() {
            (stats.episodes, stats.successes) = ended;
        }
        for (g, stats) in outgoing {
            if c.groups.send(ToLearner::Group(Box::new(g), stats)).is_err() {
                return Ok(());
            }
        }
    }
}

/// The collector's policy and environments: one slot per env, each playing an episode dealt in a seeded
/// order, with the actions of its last decision still to execute.
struct Actor<'a> {
    c: &'a Collector,
    pipeline: Pipeline,
    memory: MemorySampler,
    envs: VecEnv,
    slots: Vec<Slot>,
    /// Episodes dealt so far (a resumed run starts further along so it does not replay the same ones).
    dealt: u64,
    /// Decisions made: each one's sampling seed stream.
    decision: u64,
    /// Episodes played: frame directories are named by this counter (a resumed run starts a fresh range, so it
    /// never overwrites frames that committed rollouts point to).
    played: u64,
    /// Episodes ended and successes since the last group sent.
    ended: (u32, u32),
    expert: FollowerConfig,
}

/// N, the actions each answer predicts.
const NUM_ACTIONS: usize = PromptConfig::R2R.num_actions;

impl<'a> Actor<'a> {
    fn start(c: &'a Collector) -> Result<Actor<'a>> {
        let cfg = &c.config;
        let memory: MemorySampler = cfg
            .online
            .memory
            .parse()
            // Validated with the config; the sampler's own message if it still fails.
            .map_err(|e: episodes::EpisodeError| {
                RftError::config("--config", "online.memory", e.to_string())
            })?;
        let num_envs = cfg.online.num_envs;
        let mut actor = Actor {
            c,
            pipeline: Pipeline::load(&c.actor_dir, c.device, c.kind)?,
            memory,
            envs: VecEnv::with_envs(num_envs, c.library.clone(), c.dataset.clone(), c.env)?,
            slots: Vec::with_capacity(num_envs),
            dealt: c.start_round * cfg.prompts_per_step as u64,
            decision: c.start_round << 20,
            played: c.start_round << 32,
            ended: (0, 0),
            expert: FollowerConfig::stopping_within(cfg.online.stop_radius),
        };
        for slot in 0..num_envs {
            let s = actor.new_episode(slot)?;
            actor.slots.push(s);
        }
        Ok(actor)
    }

    /// Resets env `slot` to the next dealt episode.
    fn new_episode(&mut self, slot: usize) -> Result<Slot> {
        let len = self.c.dataset.len() as u64;
        let order = epoch_order(len, self.c.config.seed, self.dealt / len);
        let index = order[(self.dealt % len) as usize] as usize;
        self.dealt += 1;
        let request = (slot, Some(index as u64), ResetOptions::Index(index));
        let (obs, info) = self
            .envs
            .reset(vec![request])?
            .pop()
            .expect("one reply per request");
        let mut s = Slot {
            labeler: Expert::new(&info, self.expert)?,
            scene_id: info.episode.scene_id.clone(),
            prompt: PromptConfig {
                forward_step_m: f64::from(info.agent.forward_step),
                turn_angle_deg: f64::from(info.agent.turn_angle_deg),
                num_actions: NUM_ACTIONS,
            },
            instruction: info.episode.instruction.instruction_text.clone(),
            episode_id: info.episode.episode_id.key(),
            frame_paths: Vec::new(),
            frames: Vec::new(),
            state: obs.state,
            queue: VecDeque::new(),
            run_index: self.played,
        };
        self.played += 1;
        push_frame(&self.c.root, &mut s, &obs.rgb)?;
        Ok(s)
    }

    /// Every slot's next action: queued ones step on, the others decide, all in one batched generation
    /// (scored completions; the first sampled answer is executed, the expert's action if it does not parse).
    #[allow(clippy::type_complexity)]
    fn decide(&mut self) -> Result<(Vec<(usize, Action)>, Vec<(Group, CollectStats)>)> {
        let cfg = &self.c.config;
        let mut actions = Vec::with_capacity(self.slots.len());
        let mut deciding = Vec::new();
        for (slot_index, s) in self.slots.iter_mut().enumerate() {
            match s.queue.pop_front() {
                Some(a) => actions.push((slot_index, a)),
                None => {
                    self.decision += 1;
                    let group = decision_group(&self.pipeline, &self.memory, s, NUM_ACTIONS)?;
                    deciding.push((slot_index, group, self.decision));
                }
            }
        }
        let mut groups: Vec<Group> = deciding.iter().map(|(_, g, _)| g.clone()).collect();
        let seeds: Vec<u64> = deciding
            .iter()
            .map(|&(_, _, d)| mix_seed(cfg.seed, d, 0))
            .collect();
        sample_groups(&self.pipeline, cfg, &mut groups, &seeds)?;
        let mut outgoing = Vec::with_capacity(groups.len());
        for ((slot_index, _, _), mut group) in deciding.into_iter().zip(groups) {
            let s = &mut self.slots[slot_index];
            let fallback = score_and_plan(self.c, s, &mut group)?;
            let a = s.queue.pop_front().expect("a plan has at least one action");
            actions.push((slot_index, a));
            let stats = CollectStats {
                fallback,
                ..CollectStats::default()
            };
            outgoing.push((group, stats));
        }
        actions.sort_by_key(|&(slot_index, _)| slot_index);
        Ok((actions, outgoing))
    }
    /// Steps every env; an ended episode's slot gets the next one. Returns the episodes ended and successes
    /// since the last call.
    fn step(&mut self, actions: Vec<(usize, Action)>) -> Result<(u32, u32)> {
        let results = self.envs.step(&actions)?;
        for (&(slot_index, _), r) in actions.iter().zip(results) {
            self.slots[slot_index].state = r.observation.state;
            if r.done() {
                self.ended.0 += 1;
                self.ended.1 += u32::from(r.info.metrics.sr > 0.5);
                self.slots[slot_index] = self.new_episode(slot_index)?;
            } else {
                push_frame(
                    &self.c.root,
                    &mut self.slots[slot_index],
                    &r.observation.rgb,
                )?;
            }
        }
        Ok(std::mem::take(&mut self.ended))
    }
}

/// Scores each completion of a slot's decision and queues the executed plan; true when the first answer did
/// not parse and the expert's action stands in.
fn score_and_plan(c: &Collector, s: &mut Slot, group: &mut Group) -> Result<bool> {
    let cfg = &c.config;
    let expert = group.sample.target.clone();
    let options = s.prompt.options();
    let target = RewardTarget {
        expert: &expert,
        options: &options,
    };
    let rl = group.sample.rl.as_mut().expect("sampled above");
    for comp in &mut rl.completions {
        let terms = score_completion(cfg, s, &comp.text, &target, c.env.success_distance)?;
        for (name, v) in terms {
            comp.rewards.insert(name.into(), v);
        }
    }
    let chosen = parse_options(&rl.completions[0].text, &options).ok();
    let fallback = chosen.is_none();
    let plan: Vec<Action> = match chosen {
        Some(a) => a.into_iter().take(cfg.online.execute).collect(),
        None => vec![expert[0]],
    };
    s.queue.extend(plan);
    Ok(fallback)
}

/// The record and tokenised prompt of a slot's decision at its current state, with the expert's next N
/// actions from that state as the target (the buffer's label for both the SFT and the GRPO term).
fn decision_group(
    actor: &Pipeline,
    memory: &MemorySampler,
    s: &mut Slot,
    n: usize,
) -> Result<Group> {
    let expert = s.labeler.labels(s.state, n)?;
    let step = s.frames.len() - 1;
    let history = memory.history(step);
    let prompt = decision_prompt(actor, memory, &s.prompt, &s.instruction, &s.frames, step)?;
    let sample = Sample {
        episode_id: s.episode_id.clone(),
        trajectory_id: Some(format!("online-{}", s.run_index)),
        scene_id: Some(s.scene_id.clone()),
        step: step as u32,
        instruction: s.instruction.clone(),
        history_frames: history.iter().map(|&k| s.frame_paths[k].clone()).collect(),
        current_frame: s.frame_paths[step].clone(),
        prompt: s.prompt,
        target: expert,
        rl: None,
    };
    Ok(Group { sample, prompt })
}

/// The tokenised prompt of a decision at frame `step` of an episode: the memory sampler's history frames, then
/// that frame.
pub(crate) fn decision_prompt(
    pipeline: &Pipeline,
    memory: &MemorySampler,
    prompt: &PromptConfig,
    instruction: &str,
    frames: &[Arc<RgbImage>],
    step: usize,
) -> Result<agent::Prompt> {
    let chat = navigation_chat(
        prompt,
        instruction,
        memory
            .history(step)
            .iter()
            .map(|&k| (*frames[k]).clone())
            .collect(),
        (*frames[step]).clone(),
    )?;
    Ok(pipeline.processor.process_chat(&chat, true)?)
}

/// G completions for each group with the actor, all groups in one batched generation (one prefill per
/// prompt); group k draws from `seeds[k]` only, so it samples what a call for it alone would.
fn sample_groups(
    actor: &Pipeline,
    cfg: &RftConfig,
    groups: &mut [Group],
    seeds: &[u64],
) -> Result<()> {
    if groups.is_empty() {
        return Ok(());
    }
    let gen = agent::GenerationConfig {
        max_new_tokens: cfg.max_completion_length,
        do_sample: true,
        temperature: cfg.temperature,
        top_p: cfg.top_p,
        top_k: cfg.top_k,
        stop_token_ids: Vec::new(),
        seed: 0,
    };
    let prompts: Vec<agent::Prompt> = groups.iter().map(|g| g.prompt.clone()).collect();
    let sampled = actor.generate_groups(&prompts, cfg.num_generations, &gen, seeds)?;
    for (group, outputs) in groups.iter_mut().zip(sampled) {
        let completions = outputs
            .into_iter()
            .map(|o| episodes::store::Completion {
                text: o.text,
                token_ids: o.generation.token_ids.iter().map(|&t| t as u32).collect(),
                logprobs: o.generation.logprobs,
                ..Default::default()
            })
            .collect();
        group.sample.rl = Some(episodes::store::RlFields { completions });
    }
    Ok(())
}

/// Copies the learner's weights into the actor.
pub(crate) fn load_weights(actor: &Pipeline, weights: &[(String, Tensor)]) -> Result<()> {
    let vars = actor.model.vs.variables();
    tch::no_grad(|| {
        for (name, w) in weights {
            let mut v = vars
                .get(name)
                .ok_or_else(|| RftError::Input(format!("actor has no parameter {name}")))?
                .shallow_clone();
            v.f_copy_(w)?;
        }
        Ok(())
    })
}

/// Writes the slot's newest frame as JPEG under the rollout store and remembers it.
fn push_frame(root: &Path, slot: &mut Slot, rgb: &Option<Arc<RgbImage>>) -> Result<()> {
    let rgb = rgb.clone().ok_or_else(|| {
        RftError::Input(format!(
            "episode {}: the environment renders no RGB frame",
            slot.episode_id
        ))
    })?;
    let rel = format!(
        "frames/online-{:012x}/{:04}.jpg",
        slot.run_index,
        slot.frames.len()
    );
    let path = root.join(&rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| RftError::io(parent, e))?;
    }
    let tmp = path.with_extension("jpg.tmp");
    rgb.save_with_format(&tmp, image::ImageFormat::Jpeg)
        .map_err(|e| RftError::Input(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path).map_err(|e| RftError::io(&path, e))?;
    slot.frame_paths.push(rel);
    slot.frames.push(rgb);
    Ok(())
}
