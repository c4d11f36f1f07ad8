//! `vln-r1 rft`: GRPO fine-tuning, offline over a sample store or closed-loop in the simulator.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use env::task::{Sensors, VlnEnvConfig};
use rft::{run_offline, run_online, OfflineRun, OnlineRun, RftConfig, StepLog};

use super::args::SceneReadArgs;
use super::task::{load_split, AgentKind, Camera, LoadedSplit};

#[derive(Debug, Args)]
pub struct RftArgs {
    /// Sample store with prompts and expert targets (offline mode).
    #[arg(long, required_unless_present = "online")]
    data: Option<PathBuf>,
    /// Checkpoint to start from (the SFT model); also the frozen KL reference.
    #[arg(long)]
    model: PathBuf,
    /// Run directory: checkpoint-*/, metrics.jsonl, rollouts/ (a sample store), final/ (the trained model). An existing run
    /// there is resumed from its newest checkpoint.
    #[arg(long)]
    out: PathBuf,
    /// GRPO settings as JSON (see rft::RftConfig); defaults follow VLN-R1 §4.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Closed-loop GRPO in the simulator instead of over a store.
    #[arg(long)]
    online: bool,
    /// Closed-loop groups: `episode` (G whole episodes from one start, each rewarded by how it ends) or
    /// `decision` (G completions of one decision); overrides the config's `online.groups`.
    #[arg(long, requires = "online")]
    groups: Option<rft::GroupMode>,
    /// Split the online policy plays.
    #[arg(long, default_value = "train")]
    split: String,
    /// VLN-CE dataset directory; default: the shipped dataset.
    #[arg(long)]
    dataset: Option<PathBuf>,
    /// Directory the episodes' scene paths are relative to; default: the shipped scenes.
    #[arg(long)]
    scenes: Option<PathBuf>,
    #[command(flatten)]
    scene_read: SceneReadArgs,
    #[arg(long, value_enum, default_value = "r2r")]
    agent: AgentKind,
    /// Online RGB sensor width, height (pixels) and horizontal field of view (degrees); default: the frames
    /// the model was trained on (its navigation.json), else 224x224, 90 degrees. A value that contradicts
    /// the checkpoint is refused.
    #[arg(long)]
    width: Option<u32>,
    #[arg(long)]
    height: Option<u32>,
    #[arg(long)]
    hfov: Option<f32>,
    /// auto (CUDA if available), cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    device: agent::DeviceChoice,
    /// float32, bfloat16 or float16.
    #[arg(long, default_value = "float32")]
    dtype: agent::DType,
    /// libtorch intra-op threads (default: libtorch's choice).
    #[arg(long)]
    threads: Option<i32>,
}

/// The closed-loop camera: flags, else the checkpoint's navigation.json, else 224x224 at 90 degrees. The
/// config's history sampler must be the one the checkpoint was trained with.
fn online_camera(a: &RftArgs, config: &RftConfig) -> anyhow::Result<Camera> {
    let nav = agent::NavigationSettings::read(&a.model)?;
    let source = |field: &str| {
        format!(
            "{}/{} {field}",
            a.model.display(),
            agent::navigation::NAVIGATION_FILE
        )
    };
    if let Some(n) = &nav {
        let memory: episodes::MemorySampler = config.online.memory.parse()?;
        if memory != n.memory {
            bail!(
                "--config online.memory {memory} contradicts {} {}, the history the checkpoint was \
                 trained with; set online.memory to it",
                source("memory"),
                n.memory
            );
        }
    }
    Camera::resolve([a.width, a.height], a.hfov, nav.as_ref(), &source)
}

fn print_step(log: &StepLog) {
    let parts: Vec<String> = log
        .rewards
        .iter()
        .map(|(k, v)| format!("{k}={v:.3}"))
        .collect();
    println!(
        "round {:>5}  reward {:.3} ({})  std {:.3}  zero-std {:.2}  kl {:.4}  clip {:.3}  len {:.1}  loss {:.4}  gen {:.1}s opt {:.1}s",
        log.step,
        log.reward,
        parts.join(" "),
        log.reward_std,
        log.frac_reward_zero_std,
        log.kl,
        log.clip_ratio,
        log.completion_length,
        log.loss,
        log.generate_s,
        log.optimize_s
    );
}

pub fn run(a: RftArgs) -> anyhow::Result<()> {
    let (device, kind) = (a.device.resolve()?, a.dtype.0);
    if let Some(n) = a.threads {
        tch::set_num_threads(n);
    }
    let mut config = match &a.config {
        Some(p) => RftConfig::from_file(p)?,
        None => RftConfig::default(),
    };
    if let Some(g) = a.groups {
        config.online.groups = g;
    }
    // A bar over the rounds; each round's line is printed above it (and alone when stderr is not a terminal).
    // max_steps 0 means "by epochs": the round count is not known up front.
    let (bar, template) = match config.max_steps {
        0 => (
            indicatif::ProgressBar::no_length(),
            "{spinner} {pos} rounds [{elapsed_precise}] {msg}",
        ),
        n => (
            indicatif::ProgressBar::new(n as u64),
            "{bar:30} {pos}/{len} rounds [{elapsed_precise} < {eta_precise}] {msg}",
        ),
    };
    bar.set_style(indicatif::ProgressStyle::with_template(template).expect("valid template"));
    let on_step = |log: &StepLog| {
        bar.suspend(|| print_step(log));
        bar.set_position(log.step);
        bar.set_message(format!("reward {:.3}", log.reward));
    };
    let logs = if a.online {
        let LoadedSplit {
            dataset_dir,
            library,
            dataset,
        } = load_split(
            a.dataset.as_deref(),
            a.scenes.as_deref(),
            &a.split,
            a.agent,
            &a.scene_read,
        )?;
        if dataset.is_empty() {
            bail!(
                "split {} of {} has no episodes",
                a.split,
                dataset_dir.display()
            );
        }
        let camera = online_camera(&a, &config)?;
        let run = OnlineRun {
            library,
            dataset,
            env: VlnEnvConfig {
                max_steps: config.online.max_episode_steps,
                sensors: Sensors::RGB,
                width: camera.width,
                height: camera.height,
                hfov_deg: camera.hfov,
                ..VlnEnvConfig::default()
            },
            model: a.model.clone(),
            out: a.out.clone(),
            config,
            device,
            kind,
        };
        run_online(&run, on_step)?
    } else {
        let Some(data) = a.data.clone() else {
            bail!("--data STORE is required without --online");
        };
        let run = OfflineRun {
            data,
            model: a.model.clone(),
            out: a.out.clone(),
            config,
            device,
            kind,
        };
        run_offline(&run, on_step)?
    };
    bar.finish_and_clear();
    println!(
        "rft: {} rounds this run; final model in {}",
        logs.len(),
        a.out.join(rft::offline::FINAL_MODEL_DIR).display()
    );
    Ok(())
}
