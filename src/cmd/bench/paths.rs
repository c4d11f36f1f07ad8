//! `vln-r1 bench model --mode eval|grpo`: the model paths with their shared work (frame features reused per
//! episode, jump-forward, one prefill per GRPO group, …) against the old repeated path, both in this process
//! on the same inputs, reported as a ratio.

use std::time::Instant;

use agent::{navigation_chat, Pipeline, Preset, VlmPolicy, VlmPolicyConfig};
use anyhow::Context;
use env::eval::{evaluate, ResultsLog};
use env::task::{Sensors, VlnEnvConfig};
use env::vec_env::VecEnv;
use episodes::{Action, MemorySampler, PromptConfig, Sample};
use rft::{Group, GrpoTrainer, LossType, RftConfig};
use tch::{Device, Kind};

use crate::cmd::args::SceneReadArgs;
use crate::cmd::task::{load_split, AgentKind};

/// The demo's closed-loop settings by default (60 envs, 112x112, long-short:4,1,4,4, execute 6).
pub struct EvalBench {
    pub preset: Preset,
    pub episodes: usize,
    pub envs: usize,
    pub max_steps: u32,
    pub size: u32,
    pub memory: MemorySampler,
    pub execute: usize,
    pub repeats: usize,
}

/// Steps/s of `vln-r1 eval --policy model:DIR` on the first episodes of val_unseen, old path vs new.
pub fn eval(b: EvalBench) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir().context("creating a temp dir")?;
    let ckpt = tmp.path().join("ckpt");
    agent::init::init_checkpoint(b.preset, 0, &ckpt, Some(Kind::Float))?;
    let split = load_split(
        None,
        None,
        "val_unseen",
        AgentKind::R2r,
        &SceneReadArgs::default(),
    )?;
    let selection: Vec<usize> = (0..b.episodes.min(split.dataset.len())).collect();
    let config = VlnEnvConfig {
        max_steps: b.max_steps,
        sensors: Sensors::RGB,
        width: b.size,
        height: b.size,
        ..VlnEnvConfig::default()
    };
    println!(
        "eval: preset {:?}, {} val_unseen episodes, {} envs, {}x{} frames, memory {}, execute {}, step cap {}, \
         {} torch threads; a random model with STOP's letter biased away (-1e4) so episodes run to the cap, \
         as the demo's trained model does; best of {}",
        b.preset,
        selection.len(),
        b.envs,
        b.size,
        b.size,
        b.memory,
        b.execute,
        b.max_steps,
        tch::get_num_threads(),
        b.repeats
    );
    let mut best = [f64::INFINITY; 2];
    let mut steps = [0.0; 2];
    for run in 0..b.repeats * 2 {
        let new = run % 2 == 1;
        let policy_config = VlmPolicyConfig {
            memory: b.memory,
            num_actions: 6,
            execute: b.execute,
            stop_bias: -1e4,
            reuse_vision: new,
            jump_forward: new,
            prefix_cache: new,
            ..VlmPolicyConfig::default()
        };
        let mut policy = VlmPolicy::load(&ckpt, Device::Cpu, None, policy_config)?;
        let log_path = tmp.path().join(format!("results-{run}.jsonl"));
        let mut log = ResultsLog::open(&log_path)?;
        let mut envs = VecEnv::with_envs(
            b.envs.clamp(1, selection.len().max(1)),
            split.library.clone(),
            split.dataset.clone(),
            config,
        )?;
        let mut total = 0.0;
        let started = Instant::now();
        evaluate(
            &mut envs,
            &mut policy,
            &split.library,
            &split.dataset,
            &selection,
            0,
            &mut log,
            &mut |r| total += r.metrics.steps,
        )?;
        let secs = started.elapsed().as_secs_f64();
        let k = usize::from(new);
        best[k] = best[k].min(secs);
        steps[k] = total;
    }
    for (k, name) in [
        "old path (frames re-encoded, one decode step per token)",
        "new path (frame features reused, jump-forward, prompt prefix cached)",
    ]
    .iter()
    .enumerate()
    {
        println!(
            "{name}: {:.0} steps in {:.2} s, {:.0} steps/s",
            steps[k],
            best[k],
            steps[k] / best[k]
        );
    }
    if steps[0] != steps[1] {
        println!(
            "warning: the two paths walked different step counts ({} vs {})",
            steps[0], steps[1]
        );
    }
    println!(
        "ratio new / old: {:.2}x steps/s",
        (steps[1] / best[1]) / (steps[0] / best[0])
    );
    Ok(())
}

pub struct GrpoBench {
    pub preset: Preset,
    pub prompts: usize,
    pub completions: usize,
    pub history: usize,
    pub size: u32,
    pub beta: f64,
    pub max_completion_length: usize,
    pub repeats: usize,
}

fn frame(i: u32, size: u32) -> image::RgbImage {
    image::RgbImage::from_fn(size, size, |x, y| {
        image::Rgb([
            (x * 3 + i * 40) as u8,
            (y * 5) as u8,
            ((x + y + i * 17) % 256) as u8,
        ])
    })
}

/// Groups of navigation prompts with `history` frames each (the demo's offline RFT inputs).
fn groups(pipe: &Pipeline, b: &GrpoBench) -> anyhow::Result<Vec<Group>> {
    let prompt = PromptConfig::R2R;
    (0..b.prompts)
        .map(|p| {
            let k = p as u32 * 10;
            let chat = navigation_chat(
                &prompt,
                "Walk past the couch, turn left into the kitchen and stop next to the fridge.",
                (0..b.history as u32)
                    .map(|i| frame(k + i, b.size))
                    .collect(),
                frame(k + 9, b.size),
            )?;
            let sample = Sample {
                episode_id: format!("bench{p}"),
                trajectory_id: None,
                scene_id: None,
                step: p as u32,
                instruction: String::new(),
                history_frames: Vec::new(),
                current_frame: String::new(),
                prompt,
                target: vec![Action::MoveForward; prompt.num_actions],
                rl: None,
            };
            Ok(Group {
                sample,
                prompt: pipe.processor.process_chat(&chat, true)?,
            })
        })
        .collect()
}

/// Seconds of one GRPO round (generate, score, optimize), old path vs new, from the same checkpoint.
pub fn grpo(b: GrpoBench) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir().context("creating a temp dir")?;
    let ckpt = tmp.path().join("ckpt");
    agent::init::init_checkpoint(b.preset, 0, &ckpt, Some(Kind::Float))?;
    // The demo's offline RFT settings (scripts/rft_offline_tiny.json) with G and the prompts from the flags.
    let config = RftConfig {
        num_generations: b.completions,
        prompts_per_step: b.prompts,
        micro_batch_size: 16,
        max_completion_length: b.max_completion_length,
        learning_rate: 1e-4,
        beta: b.beta,
        loss_type: LossType::Grpo,
        ..RftConfig::default()
    };
    let rewards = rft::offline::default_rewards(&config)?;
    println!(
        "grpo: preset {:?}, {} prompts x {} completions ({} history frames of {}x{}), max {} new tokens, beta {}, \
         {} torch threads, best of {}",
        b.preset,
        b.prompts,
        b.completions,
        b.history,
        b.size,
        b.size,
        b.max_completion_length,
        b.beta,
        tch::get_num_threads(),
        b.repeats
    );
    let mut trainers = Vec::new();
    for k in 0..2 {
        let mut t = GrpoTrainer::new(
            &ckpt,
            &tmp.path().join(format!("out{k}")),
            config.clone(),
            (b.repeats + 1) as u64,
            Device::Cpu,
            Kind::Float,
        )?;
        t.shared_work = k == 1;
        trainers.push(t);
    }
    let mut best = [[f64::INFINITY; 2]; 2];
    let mut tokens = [0usize; 2];
    for _ in 0..b.repeats {
        for (k, t) in trainers.iter_mut().enumerate() {
            let mut g = groups(&t.policy, &b)?;
            let started = Instant::now();
            t.generate(&mut g)?;
            t.score(&mut g, &rewards);
            let gen = started.elapsed().as_secs_f64();
            t.optimize(&g)?;
            let total = started.elapsed().as_secs_f64();
            best[k][0] = best[k][0].min(gen);
            best[k][1] = best[k][1].min(total);
            tokens[k] = g
                .iter()
                .flat_map(|g| g.completions())
                .map(|c| c.token_ids.len())
                .sum();
        }
    }
    for (k, name) in [
        "old path (G prefills per prompt, vision per row)",
        "new path (one prefill per group, vision once per group)",
    ]
    .iter()
    .enumerate()
    {
        println!(
            "{name}: round {:.3} s (generate {:.3} s, optimize {:.3} s), {} completion tokens",
            best[k][1],
            best[k][0],
            best[k][1] - best[k][0],
            tokens[k]
        );
    }
    println!(
        "ratio old / new: {:.2}x less time per round (generate {:.2}x, optimize {:.2}x)",
        best[0][1] / best[1][1],
        best[0][0] / best[1][0],
        (best[0][1] - best[0][0]) / (best[1][1] - best[1][0])
    );
    Ok(())
}
