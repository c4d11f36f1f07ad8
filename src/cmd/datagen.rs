//! `vln-r1 datagen`: VLN-Ego training data (frames, sample store, LLaMA-Factory sharegpt JSON) from a split's
//! gt actions, on all cores, resumable. The work is `env::datagen`; this is arguments, progress and printing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::bail;
use clap::Args;
use env::datagen::{
    generate, DatagenConfig, DatagenEvent, DatagenInput, DatagenStats, Perturbation,
    DEFAULT_SHARD_SAMPLES, SHAREGPT_FILE, STATS_FILE,
};
use episodes::MemorySampler;

use super::args::SceneReadArgs;
use super::task::{load_split, AgentKind};

#[derive(Debug, Args)]
pub struct DatagenArgs {
    /// Output directory (frames, sample store, vln_ego.json, stats.json); an existing one is resumed.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub options: DatagenOptions,
}

/// Everything but the output directory (shared with `vln-r1 bench datagen`).
#[derive(Debug, Args)]
pub struct DatagenOptions {
    /// VLN-CE dataset directory ({split}/{split}.json.gz and {split}_gt.json.gz); default: the shipped dataset.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    #[arg(long, default_value = "train")]
    pub split: String,
    /// N: actions each sample predicts, starting with the action taken at the current frame.
    #[arg(long, default_value_t = 6)]
    pub future: usize,
    /// Frame width and height (pixels) and horizontal field of view (degrees).
    #[arg(long, default_value_t = 640)]
    pub width: u32,
    #[arg(long, default_value_t = 480)]
    pub height: u32,
    #[arg(long, default_value_t = 90.0)]
    pub hfov: f32,
    /// History frames: uniform[:CAP] (the released converter, cap 16) or
    /// long-short[:WINDOW,SHORT_STRIDE,LONG_STRIDE,CAP] (default 8,1,4,16).
    #[arg(long, default_value = "long-short")]
    pub memory: MemorySampler,
    #[arg(long, default_value_t = 90)]
    pub jpeg_quality: u8,
    /// Directory that the episodes' scene_id paths are relative to; default: habitat_assets/scenes.
    #[arg(long)]
    pub scenes: Option<PathBuf>,
    #[command(flatten)]
    pub scene_read: SceneReadArgs,
    /// Agent body and action space (decides the turn angle the prompt states).
    #[arg(long, value_enum, default_value = "r2r")]
    pub agent: AgentKind,
    /// Only the first N episodes of the split.
    #[arg(long)]
    pub episodes: Option<usize>,
    /// Samples per store shard (a shard closes at the first trajectory boundary past this).
    #[arg(long, default_value_t = DEFAULT_SHARD_SAMPLES)]
    pub shard_samples: usize,
    /// Replay step cap; longer gt trajectories are skipped.
    #[arg(long, default_value_t = env::task::DEFAULT_MAX_STEPS)]
    pub max_steps: u32,
    /// Perturbed expert runs per episode besides the gt replay (DAgger-style recovery data): the expert
    /// drives, random bursts of one action knock it off its path, and every frame is labelled with the
    /// expert's next N actions from where the agent is. 0: none.
    #[arg(long, default_value_t = 0)]
    pub perturbed_runs: u32,
    /// Chance per expert step that a perturbation burst starts.
    #[arg(long, default_value_t = 0.1)]
    pub perturb_rate: f32,
    /// Longest burst (steps of one random action: forward, left or right).
    #[arg(long, default_value_t = 4)]
    pub perturb_burst: u32,
    #[arg(long, default_value_t = 0)]
    pub perturb_seed: u64,
    /// The expert stops within this geodesic distance of the goal (metres, below the 3 m success distance):
    /// gt replays are cut with a STOP where their final stretch enters it, perturbed runs stop there.
    /// Default: the gt actions as they are (STOP within 0.25 m).
    #[arg(long, allow_negative_numbers = true)]
    pub stop_radius: Option<f32>,
}

impl DatagenOptions {
    pub fn config(&self) -> DatagenConfig {
        DatagenConfig {
            num_actions: self.future,
            width: self.width,
            height: self.height,
            hfov_deg: self.hfov,
            memory: self.memory,
            jpeg_quality: self.jpeg_quality,
            max_steps: self.max_steps,
            perturb: Perturbation {
                runs: self.perturbed_runs,
                rate: self.perturb_rate,
                max_burst: self.perturb_burst,
                seed: self.perturb_seed,
            },
            stop_radius: self.stop_radius,
            ..DatagenConfig::default()
        }
    }

    /// The split, its gt actions and the scenes, plus the selected episode indices.
    pub fn input(&self) -> anyhow::Result<(DatagenInput, Vec<usize>)> {
        let loaded = load_split(
            self.dataset.as_deref(),
            self.scenes.as_deref(),
            &self.split,
            self.agent,
            &self.scene_read,
        )?;
        Ok(env::split_inputs::datagen_input(
            loaded,
            &self.split,
            self.episodes,
        )?)
    }
}

pub fn run(args: DatagenArgs) -> anyhow::Result<()> {
    let config = args.options.config();
    let (input, selection) = args.options.input()?;
    println!(
        "datagen {} {} ({} episodes), {}x{} HFOV {}, N = {}, memory {}, {} threads -> {}",
        input.dataset_dir,
        input.split,
        selection.len(),
        config.width,
        config.height,
        config.hfov_deg,
        config.num_actions,
        config.memory,
        rayon::current_num_threads(),
        args.out.display()
    );
    if config.perturb.runs > 0 {
        println!(
            "+ {} perturbed expert runs per episode (burst rate {}, bursts of 1..={} steps, seed {})",
            config.perturb.runs,
            config.perturb.rate,
            config.perturb.max_burst,
            config.perturb.seed
        );
    }
    if let Some(r) = config.stop_radius {
        println!("+ the expert stops within {r} m of the goal (gt replays cut there)");
    }
    let trajectories = selection.len() as u64 * (1 + u64::from(config.perturb.runs));
    let bar = indicatif::ProgressBar::new(trajectories);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} trajectories [{elapsed_precise} < {eta_precise}] {msg}",
        )
        .expect("valid template"),
    );
    let samples = AtomicU64::new(0);
    let start = Instant::now();
    let stats = generate(
        &input,
        &selection,
        &args.out,
        &config,
        args.options.shard_samples,
        &|event| match event {
            DatagenEvent::Started { resumed, .. } => {
                if resumed > 0 {
                    bar.suspend(|| {
                        println!("resuming: {resumed} trajectories already in the store")
                    });
                }
            }
            DatagenEvent::Trajectory { samples: n, .. } => {
                let total = samples.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
                bar.set_message(format!("{total} samples"));
                bar.inc(1);
            }
        },
    )?;
    bar.finish_and_clear();
    let elapsed = start.elapsed().as_secs_f64();
    print_stats(&stats);
    println!(
        "this run: {} trajectories rendered, {} samples appended in {elapsed:.1} s ({:.0} samples/s)",
        stats.rendered_this_run,
        stats.appended_this_run,
        stats.appended_this_run as f64 / elapsed.max(1e-9)
    );
    println!(
        "wrote {} (sample store), {} (sharegpt), {}",
        args.out.display(),
        args.out.join(SHAREGPT_FILE).display(),
        args.out.join(STATS_FILE).display()
    );
    if stats.samples == 0 {
        bail!("no samples: every trajectory was skipped (see the reasons above)");
    }
    Ok(())
}

pub fn print_stats(stats: &DatagenStats) {
    println!(
        "{} samples from {} trajectories ({} frames); {} skipped",
        stats.samples, stats.trajectories, stats.frames, stats.skipped
    );
    let hist = |h: &std::collections::BTreeMap<String, u64>| {
        h.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("actions (first target): {}", hist(&stats.action_histogram));
    println!(
        "target slots (with STOP padding): {}",
        hist(&stats.target_histogram)
    );
    println!(
        "history length: {}",
        stats
            .history_length_histogram
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if stats.skipped > 0 {
        println!("skipped by reason: {}", hist(&stats.skipped_by_reason));
        for s in stats.skipped_trajectories.iter().take(10) {
            println!("  episode {}: {}", s.episode_id, s.reason);
        }
        if stats.skipped_trajectories.len() > 10 {
            println!(
                "  ... {} more in stats.json",
                stats.skipped_trajectories.len() - 10
            );
        }
    }
}
