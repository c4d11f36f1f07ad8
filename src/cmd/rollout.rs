//! `vln-r1 rollout`: play a policy on a few episodes and record each one (trajectory JSONL, top-down map PNG,
//! egocentric GIF).

use std::path::PathBuf;

use clap::Args;
use env::policy::Policy;
use env::rollout::{run_episodes, EpisodeObserver, EpisodeOutcome, TrajectoryRecorder};
use env::task::{Observation, ResetInfo, Sensors, StepResult};
use env::vec_env::VecEnv;

use super::task::{build_policy, TaskArgs};

#[derive(Debug, Args)]
pub struct RolloutArgs {
    #[command(flatten)]
    pub task: TaskArgs,
    /// Parallel environments.
    #[arg(long, default_value_t = 1)]
    pub envs: usize,
    /// Output directory: one subdirectory per episode.
    #[arg(long)]
    pub out: PathBuf,
}

/// The recorder plus a progress bar.
struct Progress {
    recorder: TrajectoryRecorder,
    bar: indicatif::ProgressBar,
}

impl EpisodeObserver for Progress {
    fn on_reset(
        &mut self,
        slot: usize,
        observation: &Observation,
        info: &ResetInfo,
    ) -> env::Result<()> {
        self.recorder.on_reset(slot, observation, info)
    }
    fn on_step(&mut self, slot: usize, step: &StepResult) -> env::Result<()> {
        self.recorder.on_step(slot, step)
    }
    fn on_episode(&mut self, slot: usize, outcome: &EpisodeOutcome) -> env::Result<()> {
        self.recorder.on_episode(slot, outcome)?;
        let m = &outcome.metrics;
        let line = format!(
            "episode {}: {} after {} steps, NE {:.2} m, SR {}, SPL {:.2}, nDTW {:.2}, TL {:.2} m -> {}",
            outcome.episode_id,
            if outcome.stopped { "STOP" } else { "step cap" },
            m.steps,
            m.ne,
            m.sr,
            m.spl,
            m.ndtw,
            m.tl,
            self.recorder.written().last().map_or(String::new(), |p| p.display().to_string())
        );
        // `suspend` prints whether or not the bar is drawn (not on a pipe).
        self.bar.suspend(|| println!("{line}"));
        self.bar.inc(1);
        Ok(())
    }
}

pub fn run(args: RolloutArgs) -> anyhow::Result<()> {
    let task = args.task.load()?;
    let mut policy: Box<dyn Policy> = build_policy(&task, &args.task)?;
    // The video needs frames even when the policy does not look at them.
    let config = task.env_config(&args.task, policy.sensors().union(Sensors::RGB));
    let envs = args.envs.clamp(1, task.selection.len());
    let mut vec_env = VecEnv::with_envs(envs, task.library.clone(), task.dataset.clone(), config)?;
    let bar = indicatif::ProgressBar::new(task.selection.len() as u64);
    let mut observer = Progress {
        recorder: TrajectoryRecorder::new(&args.out, envs),
        bar,
    };
    run_episodes(
        &mut vec_env,
        policy.as_mut(),
        &task.selection,
        args.task.seed,
        &mut observer,
    )?;
    observer.bar.finish_and_clear();
    if let Some(report) = policy.report() {
        println!("policy {}: {report}", policy.name());
    }
    println!(
        "{} episodes recorded in {}",
        observer.recorder.written().len(),
        args.out.display()
    );
    Ok(())
}
