//! `vln-r1 bench ...`: measure hot paths and print the numbers (never asserts timings). One module per
//! benchmark; this one holds the subcommand, its arguments and the episode-file parse benchmark.

mod datagen;
mod environment;
mod model;
mod nav;
mod paths;
mod scenes;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use episodes::split::Role;
use episodes::EpisodeDataset;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub command: Bench,
}

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// Load time of a dense procedural house (.glb), in ms and triangles/s.
    Scenes {
        /// Triangles of the generated house (floors, walls and ceilings are tessellated to reach it).
        #[arg(long, default_value_t = 1_000_000)]
        triangles: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Loads; best and median are reported.
        #[arg(long, default_value_t = 5)]
        repeats: usize,
    },
    /// Load a synthetic RxR-CE-shaped .json.gz with vln-r1 and with Python's gzip + json; print both.
    Episodes {
        /// Episodes in the generated file.
        #[arg(long, default_value_t = 100_000)]
        episodes: usize,
        /// Loads per side; the best is reported.
        #[arg(long, default_value_t = 3)]
        repeats: usize,
    },
    /// Navigation on the shipped houses: surface build time, physics-only env steps/s on one core, geodesic
    /// queries/s, expert actions/s (R2R and RxR agents).
    Nav {
        /// Env steps per agent preset.
        #[arg(long, default_value_t = 1_000_000)]
        steps: usize,
        /// Geodesic queries per agent preset.
        #[arg(long, default_value_t = 2_000)]
        queries: usize,
        /// Expert rollouts to random goals per agent preset.
        #[arg(long, default_value_t = 100)]
        rollouts: usize,
        /// Grid A* queries timed next to the visibility graph (a prefix of the same random pairs).
        #[arg(long, default_value_t = 200)]
        grid_queries: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Only the geodesics of this scene (R2R agent), new search vs grid A* on the same random pairs.
        #[arg(long)]
        scene: Option<std::path::PathBuf>,
        /// With --scene: print one JSON object on one line.
        #[arg(long)]
        json: bool,
    },
    /// Renderer frames/s: shipped houses and a dense house, 224x224 and 640x480, RGB and RGB+depth, one core
    /// and all cores.
    Env {
        /// Minimum measuring time per configuration (seconds).
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Environments rendered per batch (one camera per rayon task).
        #[arg(long, default_value_t = 64)]
        batch: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Triangles of the dense house.
        #[arg(long, default_value_t = 1_000_000)]
        dense_triangles: usize,
        /// Only this scene, from random navigable poses, one thread and all threads (RGB).
        #[arg(long)]
        scene: Option<std::path::PathBuf>,
        /// With --scene: frame width.
        #[arg(long, default_value_t = 224)]
        width: u32,
        /// With --scene: frame height.
        #[arg(long, default_value_t = 224)]
        height: u32,
        /// With --scene: print one JSON object on one line.
        #[arg(long)]
        json: bool,
    },
    /// VLN-Ego generation samples/s and frames/s on a split, and its ratio to rendering the same frames alone.
    Datagen {
        #[command(flatten)]
        options: crate::cmd::datagen::DatagenOptions,
    },
    /// Qwen2-VL on CPU. `--mode tokens`: prefill / decode tokens per second and peak RSS, vln-r1 vs
    /// transformers, same inputs. `--mode eval`: steps/s of the VLM policy in closed loop, `--mode grpo`: time
    /// of a GRPO round; both run the old repeated path and the new shared-work path in this process.
    Model {
        #[arg(long, value_enum, default_value = "tokens")]
        mode: ModelBenchMode,
        /// Model shape (a random checkpoint is written to a temp dir).
        #[arg(long, default_value = "tiny")]
        preset: agent::Preset,
        /// tokens: copies of the chat decoded together.
        #[arg(long, default_value_t = 1)]
        batch: usize,
        /// tokens, grpo: history frames in the VLN-R1 prompt (plus the current frame).
        #[arg(long, default_value_t = 3)]
        history: usize,
        /// tokens: new tokens; grpo: max completion length.
        #[arg(long, default_value_t = 32)]
        new_tokens: usize,
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// eval: val_unseen episodes.
        #[arg(long, default_value_t = 60)]
        episodes: usize,
        /// eval: parallel environments.
        #[arg(long, default_value_t = 60)]
        envs: usize,
        /// eval: episode step cap.
        #[arg(long, default_value_t = 60)]
        max_steps: u32,
        /// eval, grpo: frame side (pixels).
        #[arg(long, default_value_t = 112)]
        size: u32,
        /// eval: history frames shown.
        #[arg(long, default_value = "long-short:4,1,4,4")]
        memory: episodes::MemorySampler,
        /// eval: actions run per plan.
        #[arg(long, default_value_t = 6)]
        execute: usize,
        /// grpo: prompts per round.
        #[arg(long, default_value_t = 4)]
        prompts: usize,
        /// grpo: completions per prompt (G).
        #[arg(long, default_value_t = 8)]
        completions: usize,
        /// grpo: KL coefficient (0: no reference model, zero-advantage completions skipped).
        #[arg(long, default_value_t = 0.04)]
        beta: f64,
    },
}

/// What `bench model` measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModelBenchMode {
    /// Prefill / decode tokens per second against transformers.
    Tokens,
    /// Closed-loop steps/s of the VLM policy, old path vs new.
    Eval,
    /// One GRPO round, old path vs new.
    Grpo,
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.command {
        Bench::Scenes {
            triangles,
            seed,
            repeats,
        } => scenes::run(scenes::ScenesBench {
            triangles,
            seed,
            repeats: repeats.max(1),
        }),
        Bench::Episodes { episodes, repeats } => bench_episodes(episodes, repeats.max(1)),
        Bench::Env {
            seconds,
            batch,
            seed,
            dense_triangles,
            scene,
            width,
            height,
            json,
        } => environment::run(environment::EnvBench {
            seconds,
            batch: batch.max(1),
            seed,
            dense_triangles,
            scene,
            size: (width, height),
            json,
        }),
        Bench::Nav {
            steps,
            queries,
            rollouts,
            grid_queries,
            seed,
            scene,
            json,
        } => nav::run(nav::NavBench {
            steps: steps.max(1),
            queries: queries.max(1),
            rollouts,
            grid_queries,
            seed,
            scene,
            json,
        }),
        Bench::Datagen { options } => datagen::run(options),
        Bench::Model {
            mode: ModelBenchMode::Eval,
            preset,
            episodes,
            envs,
            max_steps,
            size,
            memory,
            execute,
            repeats,
            ..
        } => paths::eval(paths::EvalBench {
            preset,
            episodes: episodes.max(1),
            envs: envs.max(1),
            max_steps,
            size,
            memory,
            execute,
            repeats: repeats.max(1),
        }),
        Bench::Model {
            mode: ModelBenchMode::Grpo,
            preset,
            history,
            new_tokens,
            size,
            prompts,
            completions,
            beta,
            repeats,
            ..
        } => paths::grpo(paths::GrpoBench {
            preset,
            prompts: prompts.max(1),
            completions: completions.max(1),
            history,
            size,
            beta,
            max_completion_length: new_tokens.max(1),
            repeats: repeats.max(1),
        }),
        Bench::Model {
            mode: ModelBenchMode::Tokens,
            preset,
            batch,
            history,
            new_tokens,
            repeats,
            ..
        } => model::run(
            model::ModelBench {
                preset,
                batch: batch.max(1),
                history,
                new_tokens,
                repeats: repeats.max(1),
            },
            &python_interpreter(),
        ),
    }
}

fn best_of<T>(
    repeats: usize,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..repeats {
        let t = Instant::now();
        let value = f()?;
        best = best.min(t.elapsed());
        drop(value); // freeing is not part of loading (the Python side keeps its result alive too)
    }
    Ok(best)
}

fn bench_episodes(n: usize, repeats: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let path = dir.path().join("train_guide.json.gz");
    let t = Instant::now();
    episodes::synthetic::rxr_like(n, Role::Guide, 0).save(&path)?;
    let gz_bytes = std::fs::metadata(&path)?.len();
    let json_bytes = episodes::file::read_bytes(&path)?.len();
    println!(
        "file: {n} RxR-CE-shaped episodes, {:.1} MB gzip, {:.1} MB JSON (generated and written in {:.2} s)",
        gz_bytes as f64 / 1e6,
        json_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );

    let inflate = best_of(repeats, || Ok(episodes::file::read_bytes(&path)?))?;
    let ours = best_of(repeats, || Ok(EpisodeDataset::load(&path)?))?;
    let mb_s = json_bytes as f64 / 1e6 / ours.as_secs_f64();
    println!(
        "vln-r1 EpisodeDataset::load (gunzip + typed parse + validate): {:.3} s best of {repeats} \
         ({:.3} s of it gunzip; {mb_s:.0} MB/s of JSON)",
        ours.as_secs_f64(),
        inflate.as_secs_f64()
    );

    let python = python_interpreter();
    match python_load_seconds(&python, &path, repeats) {
        Ok(py) => {
            println!(
                "python json.load(gzip.open(p)) [{}]: {py:.3} s best of {repeats}",
                python.display()
            );
            println!("ratio python / vln-r1: {:.2}x", py / ours.as_secs_f64());
        }
        Err(e) => println!("python comparison skipped: {e:#}"),
    }
    Ok(())
}

/// The project venv's python when active (or present in the working directory), else `python3` on PATH.
fn python_interpreter() -> PathBuf {
    let candidates = std::env::var_os("VIRTUAL_ENV")
        .map(|v| PathBuf::from(v).join("bin/python3"))
        .into_iter()
        .chain(std::iter::once(PathBuf::from(".venv/bin/python3")));
    for c in candidates {
        if c.is_file() {
            return c;
        }
    }
    PathBuf::from("python3")
}

fn python_load_seconds(python: &Path, file: &Path, repeats: usize) -> anyhow::Result<f64> {
    // The result stays alive until timed, like the Rust side, so freeing is not counted on either side.
    const SCRIPT: &str = "import gzip, json, sys, time
best = float('inf')
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    d = json.load(gzip.open(sys.argv[1]))
    best = min(best, time.perf_counter() - t)
    del d
print(best)
";
    let out = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(file)
        .arg(repeats.to_string())
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}",
            python.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .with_context(|| format!("unexpected python output {text:?}"))
}
