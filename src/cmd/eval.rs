//! `vln-r1 eval`: a policy over a split with resumable per-episode results and the VLN-CE metrics table.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use env::eval::{evaluate, EvalDir, EvalSpec, MetricsSummary, ResultsLog};
use env::vec_env::VecEnv;

use super::task::{build_policy, TaskArgs};

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub task: TaskArgs,
    /// Parallel environments (worker threads); default: the number of CPUs.
    #[arg(long)]
    pub envs: Option<usize>,
    /// Output directory (results.jsonl, eval.json, metrics.json); an existing one is resumed.
    /// Default: out/eval/<split>-<policy>-seed<seed>.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn run(args: EvalArgs) -> anyhow::Result<()> {
    let task = args.task.load()?;
    let mut policy = build_policy(&task, &args.task)?;
    let out = args.out.clone().unwrap_or_else(|| {
        Path::new("out/eval").join(format!(
            "{}-{}-seed{}",
            args.task.split,
            safe(&task.spec.to_string()),
            args.task.seed
        ))
    });
    let dir = EvalDir::new(&out);
    let config = task.env_config(&args.task, policy.sensors());
    let spec = EvalSpec {
        policy: policy.name(),
        dataset: task.dataset_dir.display().to_string(),
        split: args.task.split.clone(),
        seed: args.task.seed,
        max_steps: config.max_steps,
        success_distance: config.success_distance,
    };
    dir.check_or_write_spec(&spec)?;
    let mut log = ResultsLog::open(&dir.results_path())?;
    if log.repaired() {
        eprintln!(
            "note: {}: cut off a torn last line (an interrupted write)",
            log.path().display()
        );
    }
    let selected_ids: std::collections::HashSet<String> = task
        .selection
        .iter()
        .filter_map(|&i| task.dataset.episode(i))
        .map(|e| e.episode_id.key())
        .collect();
    let done = selected_ids
        .iter()
        .filter(|id| log.get(id).is_some())
        .count();
    let todo = task.selection.len() - done;
    let envs = args
        .envs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, todo.max(1));
    println!(
        "eval {} on {} {} ({} episodes{}), {} envs -> {}",
        spec.policy,
        task.dataset_dir.display(),
        spec.split,
        task.selection.len(),
        if done > 0 {
            format!(", {done} already done, resuming")
        } else {
            String::new()
        },
        envs,
        out.display()
    );
    let mut vec_env = VecEnv::with_envs(envs, task.library.clone(), task.dataset.clone(), config)?;
    let bar = indicatif::ProgressBar::new(todo as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} [{elapsed_precise} < {eta_precise}] {msg}",
        )
        .expect("valid template"),
    );
    let (mut n, mut successes, mut steps) = (0usize, 0.0f64, 0.0f64);
    let mut not_run: Vec<String> = Vec::new();
    let start = Instant::now();
    let summary = evaluate(
        &mut vec_env,
        policy.as_mut(),
        &task.library,
        &task.dataset,
        &task.selection,
        args.task.seed,
        &mut log,
        &mut |r| {
            bar.inc(1);
            if let Some(why) = &r.not_run {
                not_run.push(format!("{}: {why}", r.episode_id));
                return;
            }
            n += 1;
            successes += r.metrics.sr;
            steps += r.metrics.steps;
            bar.set_message(format!("SR {:.1}%", 100.0 * successes / n as f64));
        },
    )?;
    bar.finish_and_clear();
    let elapsed = start.elapsed().as_secs_f64();
    dir.write_metrics(&spec, &summary)?;
    println!("{}", MetricsSummary::table_header());
    println!("{}", summary.table_row(&spec.policy));
    if n > 0 {
        println!(
            "{n} episodes run in {elapsed:.1} s ({:.2} episodes/s, {:.0} steps/s, {envs} envs)",
            n as f64 / elapsed,
            steps / elapsed
        );
    }
    if let Some(report) = policy.report() {
        println!("policy {}: {report}", spec.policy);
    }
    for line in not_run.iter().take(5) {
        eprintln!("warning: episode {line}");
    }
    if summary.not_run > 0 {
        println!(
            "{} selected episodes could not be run (scene or goal unusable; listed with the reason in the \
             results file) and are not in the table",
            summary.not_run
        );
    }
    println!(
        "{} episodes in the table; results in {}, summary in {}",
        summary.episodes,
        log.path().display(),
        dir.metrics_path().display()
    );
    Ok(())
}
