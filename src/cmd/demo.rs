//! `vln-r1 demo`: the whole VLN-R1 loop on the shipped world, on a CPU, within a time budget. Each stage is
//! one of this binary's own subcommands, run in-process with the exact arguments the report prints, so that
//! every number in the report can be reproduced by hand; a stage whose result already exists is skipped
//! (the subcommands resume on their own too), so rerunning reuses what is done.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::{Deserialize, Serialize};

use rft::config::RewardWeights;
use rft::{GroupMode, OnlineConfig, RftConfig};

use super::demo_report::{write_report, StageRecord};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Output directory (data, checkpoints, evals, rollouts, report.md, report.json); rerunning resumes it.
    #[arg(long, default_value = "out/demo")]
    pub out: PathBuf,
    /// Time budget in minutes on a 2-core CPU: sizes training steps, RFT rounds and the eval subset
    /// (below 5: a smoke run of a few steps and episodes).
    #[arg(long, default_value_t = 30.0)]
    pub minutes: f64,
    /// Seed of every stage (model init, data order, sampling, episodes).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Device for the model stages: cpu, cuda, cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// libtorch intra-op threads for SFT and RFT (on a machine busy with other work, 1 avoids OpenMP
    /// spin-waiting).
    #[arg(long)]
    pub threads: Option<i32>,
    /// Start from a random init (datagen, SFT, offline GRPO) instead of the committed navigator.
    #[arg(long)]
    pub from_scratch: bool,
    /// The navigator checkpoint to start from (default: agent/checkpoints/tiny-nav).
    #[arg(long, conflicts_with = "from_scratch")]
    pub navigator: Option<PathBuf>,
}

/// Where the demo's model comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// A trained navigator checkpoint (its navigation.json says how it runs), then closed-loop GRPO from it
    /// through the one rollout buffer, as the paper starts RFT from a pretrained model.
    Navigator(PathBuf),
    /// A random init of the tiny preset: datagen, SFT, offline GRPO.
    Scratch,
}

/// What the demo runs, derived from `--minutes`, `--seed` and where it starts only (so a rerun with the same
/// flags reuses the directory, and other flags are refused rather than mixed in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub minutes: f64,
    pub seed: u64,
    #[serde(default = "Plan::scratch")]
    pub start: Start,
    /// Frames of data, RFT and eval: one size everywhere, so the model sees at test time what it trained on.
    pub width: u32,
    pub height: u32,
    pub hfov: f32,
    pub memory: String,
    /// N actions per answer; `execute` of them run before the model is asked again.
    pub future: usize,
    pub execute: usize,
    /// Train episodes replayed into the sample store (None: all).
    pub train_episodes: Option<usize>,
    pub sft_steps: u64,
    pub sft_batch: usize,
    pub sft_learning_rate: f64,
    pub rft_rounds: u64,
    pub rft_prompts_per_round: usize,
    pub rft_generations: usize,
    pub rft_learning_rate: f64,
    /// The first `eval_episodes` of val_unseen, for every row of the table.
    pub eval_episodes: usize,
    pub eval_max_steps: u32,
    pub rollout_episodes: usize,
}

/// SFT optimizer steps per budget minute: batch 8 at ~12 samples/s (112x112 frames, one core of the 2-core
/// machine of the README) is ~90 steps a minute, and SFT gets about 70% of the budget.
const SFT_STEPS_PER_MINUTE: f64 = 65.0;
/// Closed-loop GRPO rounds per budget minute from the navigator: a round (4 episodes x 4 trajectories, one
/// GRPO update) takes ~8 s on one core at 112x112 (measured), and the rounds get about half the budget (the two
/// model evals most of the rest).
const ONLINE_ROUNDS_PER_MINUTE: f64 = 3.0;

impl Plan {
    fn scratch() -> Start {
        Start::Scratch
    }

    pub fn new(minutes: f64, seed: u64, start: Start) -> anyhow::Result<Plan> {
        if !(minutes.is_finite() && minutes > 0.0) {
            bail!("--minutes must be a positive number, got {minutes}");
        }
        let smoke = minutes < 5.0;
        let base = Plan {
            minutes,
            seed,
            start: start.clone(),
            width: 112,
            height: 112,
            hfov: 90.0,
            memory: "long-short:4,1,4,4".to_owned(),
            future: 6,
            execute: 6,
            train_episodes: None,
            sft_steps: 0,
            sft_batch: 8,
            sft_learning_rate: 1e-3,
            rft_rounds: 0,
            rft_prompts_per_round: 4,
            rft_generations: 8,
            rft_learning_rate: 1e-4,
            eval_episodes: ((2.0 * minutes).round() as usize).clamp(5, 200),
            eval_max_steps: 500,
            rollout_episodes: 3,
        };
        let base = if smoke {
            // Every stage and artefact, in about a minute.
            Plan {
                eval_episodes: 2,
                eval_max_steps: 24,
                rollout_episodes: 1,
                rft_rounds: 2,
                rft_prompts_per_round: 2,
                rft_generations: 4,
                ..base
            }
        } else {
            base
        };
        Ok(match start {
            // The navigator's own settings (navigation.json) drive its evals and rounds; the round shape is
            // scripts/navigator_episode_round.json's, at a learning rate that stays near the navigator over the
            // demo's rounds (measured: 5e-5 drifts after ~30 rounds).
            Start::Navigator(_) => Plan {
                rft_rounds: if smoke {
                    base.rft_rounds
                } else {
                    (minutes * ONLINE_ROUNDS_PER_MINUTE).round() as u64
                },
                rft_prompts_per_round: if smoke { 2 } else { 4 },
                rft_generations: 4,
                rft_learning_rate: 2e-5,
                ..base
            },
            Start::Scratch if smoke => Plan {
                train_episodes: Some(6),
                sft_steps: 6,
                sft_batch: 4,
                ..base
            },
            // About 70% of the budget trains, a tenth goes to GRPO (a round of 4 prompts x 8 completions
            // takes ~6 s), the rest to the evals (~1 s per episode for each model row) and the rollouts.
            Start::Scratch => Plan {
                sft_steps: (minutes * SFT_STEPS_PER_MINUTE).round() as u64,
                rft_rounds: minutes.round().max(1.0) as u64,
                ..base
            },
        })
    }

    /// The navigator this plan starts from, if any.
    pub fn navigator(&self) -> Option<&Path> {
        match &self.start {
            Start::Navigator(dir) => Some(dir),
            Start::Scratch => None,
        }
    }
}

/// The demo's output layout.
struct Layout {
    root: PathBuf,
}

impl Layout {
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    fn s(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }
}

/// One stage: a subcommand line and the file whose existence means it is done.
struct Stage {
    name: &'static str,
    what: String,
    argv: Vec<String>,
    done_when: PathBuf,
}

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

/// A row of the results table: its label and the eval directory it reads.
pub struct Row {
    pub label: String,
    pub eval_dir: PathBuf,
}

/// What the stage lines share: the plan, the layout and the model stages' device and threads.
struct StageContext<'a> {
    plan: &'a Plan,
    out: &'a Layout,
    device: &'a str,
    threads: Vec<String>,
}

impl StageContext<'_> {
    fn frames(&self) -> Vec<String> {
        let p = self.plan;
        argv(&[
            "--width",
            &p.width.to_string(),
            "--height",
            &p.height.to_string(),
            "--hfov",
            &p.hfov.to_string(),
        ])
    }

    /// The `rft` line: `source` (a store, or the online split), from `model`, into `model/rft`.
    fn rft_line(&self, source: &[&str], model: &str) -> Vec<String> {
        let mut a = argv(&["rft"]);
        a.extend(argv(source));
        a.extend(argv(&[
            "--model",
            model,
            "--out",
            &self.out.s("model/rft"),
            "--config",
            &self.out.s("configs/rft.json"),
            "--device",
            self.device,
        ]));
        a.extend(self.threads.iter().cloned());
        a
    }

    /// An `eval` or `rollout` line: the first `n` val_unseen episodes, one env each. A navigator runs with the
    /// settings it records; a scratch model gets the plan's frames and VLM flags.
    fn task_line(&self, command: &str, policy: &str, n: usize, dir: &str) -> Vec<String> {
        let (n, p) = (n.to_string(), self.plan);
        let mut a = argv(&[
            command,
            "--split",
            "val_unseen",
            "--policy",
            policy,
            "--episodes",
            &n,
            "--envs",
            &n,
            "--seed",
            &p.seed.to_string(),
            "--max-steps",
            &p.eval_max_steps.to_string(),
            "--out",
            &self.out.s(dir),
        ]);
        if !policy.starts_with("model:") {
            return a;
        }
        a.extend(argv(&["--device", self.device]));
        if p.navigator().is_none() {
            a.extend(self.frames());
            a.extend(argv(&[
                "--memory",
                &p.memory,
                "--future",
                &p.future.to_string(),
                "--execute",
                &p.execute.to_string(),
            ]));
        }
        a
    }
}

/// Datagen, init, SFT and offline GRPO: the model the scratch demo evaluates.
fn scratch_training(c: &StageContext) -> Vec<Stage> {
    let (plan, out) = (c.plan, c.out);
    let mut datagen = argv(&["datagen", "--split", "train", "--out", &out.s("data")]);
    datagen.extend(c.frames());
    datagen.extend(argv(&[
        "--memory",
        &plan.memory,
        "--future",
        &plan.future.to_string(),
    ]));
    if let Some(n) = plan.train_episodes {
        datagen.extend(argv(&["--episodes", &n.to_string()]));
    }
    let seed = plan.seed.to_string();
    let mut sft = argv(&[
        "sft",
        "--data",
        &out.s("data"),
        "--model",
        &out.s("model/init"),
        "--out",
        &out.s("model/sft"),
        "--config",
        &out.s("configs/sft.json"),
    ]);
    sft.extend(c.threads.iter().cloned());
    let rft = c.rft_line(&["--data", &out.s("data")], &out.s("model/sft/final"));
    vec![
        Stage {
            name: "datagen",
            what: "replay the expert (gt) actions of the train split, render the frames and write the VLN-Ego sample store".into(),
            argv: datagen,
            done_when: out.path("data/stats.json"),
        },
        Stage {
            name: "init",
            what: "a randomly initialised Qwen2-VL checkpoint of the tiny preset (HF layout, own tokenizer)".into(),
            argv: argv(&["model", "init", "--preset", "tiny", "--seed", &seed, "--out", &out.s("model/init")]),
            done_when: out.path("model/init/config.json"),
        },
        Stage {
            name: "sft",
            what: format!(
                "supervised fine-tuning on the store: {} steps of batch {}, loss on the answer tokens only",
                plan.sft_steps, plan.sft_batch
            ),
            argv: sft,
            done_when: out.path("model/sft/final/config.json"),
        },
        Stage {
            name: "rft",
            what: format!(
                "offline GRPO from the SFT model: {} rounds of {} prompts x {} completions, time-decayed + format reward",
                plan.rft_rounds, plan.rft_prompts_per_round, plan.rft_generations
            ),
            argv: rft,
            done_when: out.path("model/rft/final/config.json"),
        },
    ]
}

/// Closed-loop GRPO from the navigator through the one rollout buffer (the SFT term on the expert's labels of
/// the states the policy reaches, next to GRPO on its sampled completions).
fn navigator_training(c: &StageContext, navigator: &Path) -> Vec<Stage> {
    let (plan, out) = (c.plan, c.out);
    let rft = c.rft_line(
        &["--online", "--split", "train"],
        &navigator.display().to_string(),
    );
    vec![Stage {
        name: "rft",
        what: format!(
            "closed-loop GRPO from the navigator on the train split over whole episodes: {} rounds of {} \
             episodes x {} trajectories, each rewarded by where it ended (soft success and progress to the goal)",
            plan.rft_rounds, plan.rft_prompts_per_round, plan.rft_generations
        ),
        argv: rft,
        done_when: out.path("model/rft/final/config.json"),
    }]
}

/// The evals of the table (baselines, then the model rows) and the rollouts.
fn evaluation(c: &StageContext) -> (Vec<Stage>, Vec<Row>) {
    let (plan, out) = (c.plan, c.out);
    let rft_model = format!("model:{}", out.s("model/rft/final"));
    let (models, first_dir) = match plan.navigator() {
        Some(dir) => (
            [
                ("navigator".to_owned(), format!("model:{}", dir.display())),
                (
                    "navigator + RFT (online GRPO)".to_owned(),
                    rft_model.clone(),
                ),
            ],
            "eval/navigator",
        ),
        None => (
            [
                (
                    "SFT".to_owned(),
                    format!("model:{}", out.s("model/sft/final")),
                ),
                ("SFT + RFT (offline GRPO)".to_owned(), rft_model.clone()),
            ],
            "eval/sft",
        ),
    };
    let [(first, first_policy), (second, second_policy)] = models;
    let mut stages = Vec::new();
    let mut rows = Vec::new();
    for (label, policy, dir) in [
        ("random".to_owned(), "random".to_owned(), "eval/random"),
        ("forward".to_owned(), "forward".to_owned(), "eval/forward"),
        (
            "oracle (expert follower)".to_owned(),
            "oracle".to_owned(),
            "eval/oracle",
        ),
        (first, first_policy, first_dir),
        (second, second_policy, "eval/rft"),
    ] {
        stages.push(Stage {
            name: "eval",
            what: format!(
                "{label} on the first {} val_unseen episodes (seed {}, step cap {})",
                plan.eval_episodes, plan.seed, plan.eval_max_steps
            ),
            argv: c.task_line("eval", &policy, plan.eval_episodes, dir),
            done_when: out.path(&format!("{dir}/metrics.json")),
        });
        rows.push(Row {
            label,
            eval_dir: out.path(dir),
        });
    }
    for (policy, dir, who) in [
        (rft_model, "rollouts/rft", "the RFT model"),
        (
            "oracle".to_owned(),
            "rollouts/oracle",
            "the expert follower",
        ),
    ] {
        stages.push(Stage {
            name: "rollout",
            what: format!(
                "{} on the first {} val_unseen episodes: trajectory, top-down map, egocentric GIF each",
                who, plan.rollout_episodes
            ),
            argv: c.task_line("rollout", &policy, plan.rollout_episodes, dir),
            done_when: out.path(&format!("{dir}/done.json")),
        });
    }
    (stages, rows)
}

fn stages(plan: &Plan, out: &Layout, device: &str, threads: Option<i32>) -> (Vec<Stage>, Vec<Row>) {
    let c = StageContext {
        plan,
        out,
        device,
        threads: threads.map_or(Vec::new(), |t| vec!["--threads".into(), t.to_string()]),
    };
    let mut list = match plan.navigator() {
        Some(dir) => navigator_training(&c, dir),
        None => scratch_training(&c),
    };
    let (evals, rows) = evaluation(&c);
    list.extend(evals);
    (list, rows)
}

/// Every subcommand line the demo would run for these flags (for checking them against the parser).
#[cfg(test)]
pub fn planned_commands(args: &DemoArgs) -> anyhow::Result<Vec<Vec<String>>> {
    let plan = Plan::new(args.minutes, args.seed, start_of(args))?;
    let out = Layout {
        root: args.out.clone(),
    };
    let (list, _) = stages(&plan, &out, &args.device, args.threads);
    Ok(list.into_iter().map(|s| s.argv).collect())
}

fn start_of(args: &DemoArgs) -> Start {
    if args.from_scratch {
        Start::Scratch
    } else {
        Start::Navigator(
            args.navigator
                .clone()
                .unwrap_or_else(agent::navigation::shipped_navigator_dir),
        )
    }
}

/// Writes `bytes` to `path` through a temp file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    episodes::file::write_atomic(path, |w| w.write_all(bytes))?;
    Ok(())
}

fn write_json(path: &Path, value: &serde_json::Value) -> anyhow::Result<()> {
    write_atomic(path, serde_json::to_string_pretty(value)?.as_bytes())
}

/// The stage configs the demo writes (Hugging Face / TRL names, as `--config` files take them).
fn write_configs(plan: &Plan, out: &Layout, device: &str) -> anyhow::Result<()> {
    let rft = match plan.navigator() {
        Some(dir) => online_config(plan, dir)?,
        None => {
            write_json(&out.path("configs/sft.json"), &sft_config(plan, device))?;
            offline_config(plan)
        }
    };
    let path = out.path("configs/rft.json");
    rft.validate(&path)?;
    write_json(&path, &serde_json::to_value(&rft)?)
}

fn sft_config(plan: &Plan, device: &str) -> serde_json::Value {
    serde_json::json!({
        "learning_rate": plan.sft_learning_rate,
        "lr_scheduler_type": "cosine",
        "warmup_ratio": 0.05,
        "max_steps": plan.sft_steps,
        "per_device_train_batch_size": plan.sft_batch,
        "gradient_accumulation_steps": 1,
        "max_grad_norm": 1.0,
        "weight_decay": 0.01,
        "seed": plan.seed,
        "device": device,
        "save_steps": (plan.sft_steps / 2).max(1),
        "save_total_limit": 2,
        "eval_steps": (plan.sft_steps / 2).max(1),
        "val_fraction": 0.05,
        "eval_samples": 32,
    })
}

fn offline_config(plan: &Plan) -> RftConfig {
    RftConfig {
        num_generations: plan.rft_generations,
        prompts_per_step: plan.rft_prompts_per_round,
        micro_batch_size: 16,
        max_completion_length: 64,
        learning_rate: plan.rft_learning_rate,
        beta: 0.04,
        max_steps: plan.rft_rounds as usize,
        save_steps: (plan.rft_rounds as usize / 2).max(1),
        seed: plan.seed,
        ..RftConfig::default()
    }
}

/// Closed-loop rounds from the navigator over whole episodes (scripts/navigator_episode_round.json's shape): its
/// history sampler, stop radius, `execute` and STOP bias, each trajectory rewarded by soft success (x2) and
/// progress to the goal where it ended, KL to the navigator.
fn online_config(plan: &Plan, navigator: &Path) -> anyhow::Result<RftConfig> {
    let Some(nav) = agent::NavigationSettings::read(navigator)? else {
        bail!(
            "{} is not a navigator checkpoint (no {}): train one with scripts/train_navigator.sh, pass \
             --navigator DIR, or run the demo --from-scratch",
            navigator.display(),
            agent::navigation::NAVIGATION_FILE
        );
    };
    Ok(RftConfig {
        beta: 0.04,
        temperature: 0.5,
        online: OnlineConfig {
            groups: GroupMode::Episode,
            execute: nav.execute.unwrap_or(plan.execute),
            memory: nav.memory.to_string(),
            stop_radius: nav.stop_radius,
            max_episode_steps: plan.eval_max_steps,
            weights: RewardWeights {
                format: 0.0,
                tdr: 0.0,
                progress: 1.0,
                success: 2.0,
                outcome: 0.0,
                ndtw: 0.0,
            },
            decisions_per_trajectory: 8,
            ..OnlineConfig::default()
        },
        ..offline_config(plan)
    })
}

/// Refuses to mix two plans in one directory.
fn check_or_write_plan(plan: &Plan, out: &Layout) -> anyhow::Result<()> {
    let path = out.path("plan.json");
    if path.is_file() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let stored: Plan = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a demo plan", path.display()))?;
        if stored != *plan {
            bail!(
                "{} holds a demo run with --minutes {} --seed {} ({}); rerun with those flags to resume it, or use another --out",
                out.root.display(),
                stored.minutes,
                stored.seed,
                match &stored.start {
                    Start::Navigator(dir) => format!("from the navigator {}", dir.display()),
                    Start::Scratch => "--from-scratch".to_owned(),
                }
            );
        }
        return Ok(());
    }
    write_json(&path, &serde_json::to_value(plan)?)
}

/// Runs one subcommand line in-process (main's dispatcher).
pub type RunCommand<'a> = &'a dyn Fn(&[String]) -> anyhow::Result<()>;

pub fn run(args: DemoArgs, run_command: RunCommand) -> anyhow::Result<()> {
    let plan = Plan::new(args.minutes, args.seed, start_of(&args))?;
    let out = Layout {
        root: args.out.clone(),
    };
    std::fs::create_dir_all(&out.root)
        .with_context(|| format!("creating {}", out.root.display()))?;
    check_or_write_plan(&plan, &out)?;
    write_configs(&plan, &out, &args.device)?;
    let (stages, rows) = stages(&plan, &out, &args.device, args.threads);
    let records_path = out.path("stages.json");
    // Only the times of earlier runs live here; an unreadable file costs those times, not the run.
    let mut records: Vec<StageRecord> = match std::fs::read_to_string(&records_path) {
        Ok(text) => serde_json::from_str(&text).unwrap_or_else(|e| {
            eprintln!(
                "note: {}: {e}; earlier stage times are not reported",
                records_path.display()
            );
            Vec::new()
        }),
        Err(_) => Vec::new(),
    };
    let started = Instant::now();
    println!(
        "demo -> {}: {} stages, budget {} min ({}, RFT {} rounds, eval on {} val_unseen episodes)",
        out.root.display(),
        stages.len(),
        plan.minutes,
        match plan.navigator() {
            Some(dir) => format!("from the navigator {}", dir.display()),
            None => format!("from scratch: SFT {} steps", plan.sft_steps),
        },
        plan.rft_rounds,
        plan.eval_episodes
    );
    for (i, stage) in stages.iter().enumerate() {
        let line = format!("vln-r1 {}", stage.argv.join(" "));
        let skipped = stage.done_when.exists();
        println!(
            "\n== [{}/{}] {}: {}{}\n   {line}",
            i + 1,
            stages.len(),
            stage.name,
            stage.what,
            if skipped { " (done, reused)" } else { "" }
        );
        let seconds = if skipped {
            records
                .iter()
                .find(|r| r.command == line)
                .map_or(0.0, |r| r.seconds)
        } else {
            let t = Instant::now();
            run_command(&stage.argv)
                .with_context(|| format!("demo stage {} ({line})", stage.name))?;
            if stage.name == "rollout" {
                write_json(&stage.done_when, &serde_json::json!({ "command": line }))?;
            }
            t.elapsed().as_secs_f64()
        };
        records.retain(|r| r.command != line);
        records.push(StageRecord {
            index: i + 1,
            name: stage.name.to_owned(),
            what: stage.what.clone(),
            command: line,
            seconds,
            reused: skipped,
        });
        records.sort_by_key(|r| r.index);
        write_json(&records_path, &serde_json::to_value(&records)?)?;
    }
    let report = write_report(&plan, &out.root, &rows, &records)?;
    println!(
        "\ndemo done in {:.1} min: {} and {}",
        started.elapsed().as_secs_f64() / 60.0,
        report.markdown.display(),
        report.json.display()
    );
    println!("{}", report.table);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Plan, Start};

    fn nav() -> Start {
        Start::Navigator("agent/checkpoints/tiny-nav".into())
    }

    #[test]
    fn plan_grows_with_the_budget_and_is_a_smoke_run_below_five_minutes() {
        let smoke = Plan::new(1.0, 0, Start::Scratch).unwrap();
        let short = Plan::new(10.0, 0, Start::Scratch).unwrap();
        let full = Plan::new(30.0, 0, Start::Scratch).unwrap();
        assert_eq!(smoke.train_episodes, Some(6));
        assert!(smoke.sft_steps < short.sft_steps && short.sft_steps < full.sft_steps);
        assert!(short.rft_rounds < full.rft_rounds && short.eval_episodes < full.eval_episodes);
        assert_eq!(full.train_episodes, None);
        assert_eq!(
            Plan::new(1000.0, 0, Start::Scratch).unwrap().eval_episodes,
            200
        );
        assert_eq!(
            Plan::new(30.0, 0, Start::Scratch).unwrap(),
            full,
            "a plan is a function of its flags"
        );
    }

    #[test]
    fn a_navigator_plan_trains_no_sft_and_grows_its_rounds_with_the_budget() {
        let smoke = Plan::new(1.0, 0, nav()).unwrap();
        let full = Plan::new(30.0, 0, nav()).unwrap();
        assert_eq!((smoke.sft_steps, full.sft_steps), (0, 0));
        assert!(smoke.rft_rounds < full.rft_rounds);
        assert_eq!(
            full.eval_episodes,
            Plan::new(30.0, 0, Start::Scratch).unwrap().eval_episodes
        );
        assert_ne!(full, Plan::new(30.0, 0, Start::Scratch).unwrap());
    }

    #[test]
    fn plan_refuses_budgets_that_are_not_positive() {
        for m in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            assert!(Plan::new(m, 0, Start::Scratch).is_err(), "{m}");
        }
    }
}
