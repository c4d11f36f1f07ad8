//! `vln-r1 demo`: the whole VLN-R1 loop on the shipped world, on a CPU, within a time budget. Each stage is
//! one of this binary's own subcommands, run in-process with the exact arguments the report prints, so that
//! every number in the report can be reproduced by hand; a stage whose result already exists is skipped
//! (the subcommands resume on their own too), so rerunning reuses what is done.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use serde::{Deserialize, Serialize};

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
}

/// What the demo runs, derived from `--minutes` and `--seed` only (so a rerun with the same flags reuses the
/// directory, and other flags are refused rather than mixed in).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub minutes: f64,
    pub seed: u64,
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

impl Plan {
    pub fn new(minutes: f64, seed: u64) -> anyhow::Result<Plan> {
        if !(minutes.is_finite() && minutes > 0.0) {
            bail!("--minutes must be a positive number, got {minutes}");
        }
        let base = Plan {
            minutes,
            seed,
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
            eval_episodes: 0,
            eval_max_steps: 500,
            rollout_episodes: 3,
        };
        if minutes < 5.0 {
            // Smoke run: every stage and artefact, in about a minute.
            return Ok(Plan {
                train_episodes: Some(6),
                sft_steps: 6,
                sft_batch: 4,
                rft_rounds: 2,
                rft_prompts_per_round: 2,
                rft_generations: 4,
                eval_episodes: 2,
                eval_max_steps: 24,
                rollout_episodes: 1,
                ..base
            });
        }
        // About 70% of the budget trains, a tenth goes to GRPO (a round of 4 prompts x 8 completions takes
        // ~6 s), the rest to the evals (~1 s per episode for each model row) and the rollouts.
        Ok(Plan {
            sft_steps: (minutes * SFT_STEPS_PER_MINUTE).round() as u64,
            rft_rounds: minutes.round().max(1.0) as u64,
            eval_episodes: ((2.0 * minutes).round() as usize).clamp(5, 200),
            ..base
        })
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

fn stages(plan: &Plan, out: &Layout, device: &str, threads: Option<i32>) -> (Vec<Stage>, Vec<Row>) {
    let (w, h, fov) = (
        plan.width.to_string(),
        plan.height.to_string(),
        plan.hfov.to_string(),
    );
    let seed = plan.seed.to_string();
    let frames = ["--width", &w, "--height", &h, "--hfov", &fov];
    let threads: Vec<String> =
        threads.map_or(Vec::new(), |t| vec!["--threads".into(), t.to_string()]);
    let mut list = Vec::new();

    let mut datagen = argv(&["datagen", "--split", "train", "--out", &out.s("data")]);
    datagen.extend(argv(&frames));
    datagen.extend(argv(&[
        "--memory",
        &plan.memory,
        "--future",
        &plan.future.to_string(),
    ]));
    if let Some(n) = plan.train_episodes {
        datagen.extend(argv(&["--episodes", &n.to_string()]));
    }
    list.push(Stage {
        name: "datagen",
        what: "replay the expert (gt) actions of the train split, render the frames and write the VLN-Ego sample store".into(),
        argv: datagen,
        done_when: out.path("data/stats.json"),
    });
    list.push(Stage {
        name: "init",
        what: "a randomly initialised Qwen2-VL checkpoint of the tiny preset (HF layout, own tokenizer)".into(),
        argv: argv(&["model", "init", "--preset", "tiny", "--seed", &seed, "--out", &out.s("model/init")]),
        done_when: out.path("model/init/config.json"),
    });
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
    sft.extend(threads.iter().cloned());
    list.push(Stage {
        name: "sft",
        what: format!(
            "supervised fine-tuning on the store: {} steps of batch {}, loss on the answer tokens only",
            plan.sft_steps, plan.sft_batch
        ),
        argv: sft,
        done_when: out.path("model/sft/final/config.json"),
    });
    let mut rft = argv(&[
        "rft",
        "--data",
        &out.s("data"),
        "--model",
        &out.s("model/sft/final"),
        "--out",
        &out.s("model/rft"),
        "--config",
        &out.s("configs/rft.json"),
        "--device",
        device,
    ]);
    rft.extend(threads.iter().cloned());
    list.push(Stage {
        name: "rft",
        what: format!(
            "offline GRPO from the SFT model: {} rounds of {} prompts x {} completions, time-decayed + format reward",
            plan.rft_rounds, plan.rft_prompts_per_round, plan.rft_generations
        ),
        argv: rft,
        done_when: out.path("model/rft/final/config.json"),
    });

    let max_steps = plan.eval_max_steps.to_string();
    let model_flags = argv(&[
        "--memory",
        &plan.memory,
        "--future",
        &plan.future.to_string(),
        "--execute",
        &plan.execute.to_string(),
        "--device",
        device,
    ]);
    // `eval` and `rollout` take the same task options: the first `n` val_unseen episodes, one env each, the
    // demo's frames, and the VLM policy's flags when the policy is a model.
    let task_line = |command: &str, policy: &str, n: usize, dir: &str| {
        let n = n.to_string();
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
            &seed,
            "--max-steps",
            &max_steps,
            "--out",
            &out.s(dir),
        ]);
        a.extend(argv(&frames));
        if policy.starts_with("model:") {
            a.extend(model_flags.iter().cloned());
        }
        a
    };
    let mut rows = Vec::new();
    for (label, policy, dir) in [
        ("random", "random".to_owned(), "eval/random"),
        ("forward", "forward".to_owned(), "eval/forward"),
        (
            "oracle (expert follower)",
            "oracle".to_owned(),
            "eval/oracle",
        ),
        (
            "SFT",
            format!("model:{}", out.s("model/sft/final")),
            "eval/sft",
        ),
        (
            "SFT + RFT (offline GRPO)",
            format!("model:{}", out.s("model/rft/final")),
            "eval/rft",
        ),
    ] {
        list.push(Stage {
            name: "eval",
            what: format!(
                "{label} on the first {} val_unseen episodes (seed {}, step cap {})",
                plan.eval_episodes, plan.seed, plan.eval_max_steps
            ),
            argv: task_line("eval", &policy, plan.eval_episodes, dir),
            done_when: out.path(&format!("{dir}/metrics.json")),
        });
        rows.push(Row {
            label: label.to_owned(),
            eval_dir: out.path(dir),
        });
    }

    for (policy, dir, who) in [
        (
            format!("model:{}", out.s("model/rft/final")),
            "rollouts/rft",
            "the RFT model",
        ),
        (
            "oracle".to_owned(),
            "rollouts/oracle",
            "the expert follower",
        ),
    ] {
        list.push(Stage {
            name: "rollout",
            what: format!(
                "{} on the first {} val_unseen episodes: trajectory, top-down map, egocentric GIF each",
                who, plan.rollout_episodes
            ),
            argv: task_line("rollout", &policy, plan.rollout_episodes, dir),
            done_when: out.path(&format!("{dir}/done.json")),
        });
    }
    (list, rows)
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
    let sft = serde_json::json!({
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
    });
    let rft = serde_json::json!({
        "num_generations": plan.rft_generations,
        "prompts_per_step": plan.rft_prompts_per_round,
        "micro_batch_size": 16,
        "max_completion_length": 64,
        "learning_rate": plan.rft_learning_rate,
        "beta": 0.04,
        "loss_type": "grpo",
        "max_steps": plan.rft_rounds,
        "save_steps": (plan.rft_rounds / 2).max(1),
        "seed": plan.seed,
    });
    write_json(&out.path("configs/sft.json"), &sft)?;
    write_json(&out.path("configs/rft.json"), &rft)
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
                "{} holds a demo run with --minutes {} --seed {}; rerun with those flags to resume it, or use another --out",
                out.root.display(),
                stored.minutes,
                stored.seed
            );
        }
        return Ok(());
    }
    write_json(&path, &serde_json::to_value(plan)?)
}

/// Runs one subcommand line in-process (main's dispatcher).
pub type RunCommand<'a> = &'a dyn Fn(&[String]) -> anyhow::Result<()>;

pub fn run(args: DemoArgs, run_command: RunCommand) -> anyhow::Result<()> {
    let plan = Plan::new(args.minutes, args.seed)?;
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
        "demo -> {}: {} stages, budget {} min (SFT {} steps, RFT {} rounds, eval on {} val_unseen episodes)",
        out.root.display(),
        stages.len(),
        plan.minutes,
        plan.sft_steps,
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
    use super::Plan;

    #[test]
    fn plan_grows_with_the_budget_and_is_a_smoke_run_below_five_minutes() {
        let smoke = Plan::new(1.0, 0).unwrap();
        let short = Plan::new(10.0, 0).unwrap();
        let full = Plan::new(30.0, 0).unwrap();
        assert_eq!(smoke.train_episodes, Some(6));
        assert!(smoke.sft_steps < short.sft_steps && short.sft_steps < full.sft_steps);
        assert!(short.rft_rounds < full.rft_rounds && short.eval_episodes < full.eval_episodes);
        assert_eq!(full.train_episodes, None);
        assert_eq!(Plan::new(1000.0, 0).unwrap().eval_episodes, 200);
        assert_eq!(
            Plan::new(30.0, 0).unwrap(),
            full,
            "a plan is a function of its flags"
        );
    }

    #[test]
    fn plan_refuses_budgets_that_are_not_positive() {
        for m in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            assert!(Plan::new(m, 0).is_err(), "{m}");
        }
    }
}
