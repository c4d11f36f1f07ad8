//! Offline GRPO (as in VLN-R1): prompts from a sample store, completions from the current policy, rewards
//! against the stored expert actions. Every scored group is appended to the run's rollout store
//! (`OUT/rollouts`, the same sample-store format SFT reads), so a run can be inspected, resumed, or its
//! rollouts reused.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use episodes::store::{SampleStore, SampleStoreWriter};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind};

use crate::config::RftConfig;
use crate::error::{Result, RftError};
use crate::reward::{FormatReward, Reward, TimeDecayedReward};
use crate::trainer::{mix_seed, Group, GrpoTrainer, StepLog};

/// Where an offline run reads and writes.
#[derive(Debug, Clone)]
pub struct OfflineRun {
    /// The sample store with prompts and expert targets.
    pub data: PathBuf,
    /// The checkpoint to start from (and the frozen reference).
    pub model: PathBuf,
    /// Checkpoints, `metrics.jsonl`, `rollouts/` and the final `final/`.
    pub out: PathBuf,
    pub config: RftConfig,
    pub device: Device,
    pub kind: Kind,
}

/// Subdirectory of the output with the scored rollouts.
pub const ROLLOUTS_DIR: &str = "rollouts";
/// Subdirectory of the output with the final policy.
pub const FINAL_MODEL_DIR: &str = "final";
/// One JSON object per round.
pub const LOG_FILE: &str = "metrics.jsonl";

/// The VLN-R1 reward components: format, then time-decayed reward.
pub fn default_rewards(config: &RftConfig) -> Result<Vec<Box<dyn Reward>>> {
    Ok(vec![
        Box::new(FormatReward),
        Box::new(TimeDecayedReward::new(config.gamma)?),
    ])
}

/// Sample order of epoch `epoch`: a seeded shuffle of the whole store.
pub fn epoch_order(len: u64, seed: u64, epoch: u64) -> Vec<u64> {
    let mut order: Vec<u64> = (0..len).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix_seed(
        seed,
        epoch,
        u64::MAX,
    )));
    order
}

/// Store indices of round `step`: `prompts_per_step` consecutive entries of the epoch's order (the last
/// round of an epoch may be short).
pub fn round_indices(len: u64, config: &RftConfig, step: u64) -> Vec<u64> {
    let per = config.prompts_per_step as u64;
    let per_epoch = len.div_ceil(per).max(1);
    let order = epoch_order(len, config.seed, step / per_epoch);
    let start = ((step % per_epoch) * per) as usize;
    let end = (start + per as usize).min(order.len());
    order[start..end].to_vec()
}

/// Runs (or resumes) offline GRPO; `on_step` sees every round's log. Returns the logs of this invocation.
pub fn run_offline(run: &OfflineRun, mut on_step: impl FnMut(&StepLog)) -> Result<Vec<StepLog>> {
    run.config.validate(Path::new("--config"))?;
    let store = SampleStore::open(&run.data)?;
    if store.is_empty() {
        return Err(RftError::Input(format!(
            "{}: the sample store is empty",
            run.data.display()
        )));
    }
    let per_epoch = store.len().div_ceil(run.config.prompts_per_step as u64);
    let total = match run.config.max_steps {
        0 => per_epoch * run.config.epochs as u64,
        n => n as u64,
    };
    std::fs::create_dir_all(&run.out).map_err(|e| RftError::io(&run.out, e))?;
    let mut trainer = GrpoTrainer::new(
        &run.model,
        &run.out,
        run.config.clone(),
        total,
        run.device,
        run.kind,
    )?;
    let rewards = default_rewards(&run.config)?;
    let rollout_root = run.out.join(ROLLOUTS_DIR);
    // One shard per checkpoint interval: the store commits only at checkpoints, so its contents match them.
    let mut rollouts = SampleStoreWriter::with_shard_size(&rollout_root, usize::MAX)?;
    if rollouts.len() > trainer.state.rollouts_committed {
        return Err(RftError::Checkpoint {
            path: rollout_root,
            message: format!(
                "holds {} samples but the resumed checkpoint (round {}) committed {}: the store was \
                 written by another run",
                rollouts.len(),
                trainer.state.step,
                trainer.state.rollouts_committed
            ),
        });
    }
    let log_path = run.out.join(LOG_FILE);
    truncate_log(&log_path, trainer.state.step)?;
    let mut logs = Vec::new();
    while trainer.state.step < total {
        let started = Instant::now();
        let mut groups = round_indices(store.len(), &run.config, trainer.state.step)
            .into_iter()
            .map(|i| load_group(&store, i, &trainer))
            .collect::<Result<Vec<_>>>()?;
        trainer.generate(&mut groups)?;
        trainer.score(&mut groups, &rewards);
        let generate_s = started.elapsed().as_secs_f64();
        for g in &groups {
            link_frames(&store, &rollout_root, &g.sample)?;
            rollouts.append(&g.sample)?;
        }
        let mut log = trainer.optimize(&groups)?;
        log.generate_s = generate_s;
        append_log(&log_path, &log)?;
        on_step(&log);
        let step = trainer.state.step;
        if step == total || (run.config.save_steps > 0 && step % run.config.save_steps as u64 == 0)
        {
            // Checkpoint first, then commit its rollouts: the store never holds rounds that a resume would
            // replay (a crash in between loses that interval's rollouts instead of duplicating them).
            trainer.save_checkpoint(rollouts.len())?;
            rollouts.flush()?;
        }
        logs.push(log);
    }
    trainer.save_final(&run.out.join(FINAL_MODEL_DIR))?;
    Ok(logs)
}

/// Reads sample `index` and tokenises its chat (frames from the store).
pub fn load_group(store: &SampleStore, index: u64, trainer: &GrpoTrainer) -> Result<Group> {
    let sample = store.get(index)?;
    let chat = sft::data::sample_chat(store, index, &sample)?;
    let prompt = trainer.policy.processor.process_chat(&chat, true)?;
    Ok(Group { sample, prompt })
}

/// Makes the sample's frames resolvable inside the rollout store: hard links (copies across file systems)
/// under the same relative paths.
fn link_frames(store: &SampleStore, root: &Path, sample: &episodes::Sample) -> Result<()> {
    for rel in sample.frames() {
        let dest = root.join(rel);
        if dest.exists() {
            continue;
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| RftError::io(parent, e))?;
        }
        let src = store.frame_path(rel);
        if std::fs::hard_link(&src, &dest).is_err() {
            let tmp = dest.with_extension("tmp-link");
            std::fs::copy(&src, &tmp).map_err(|e| RftError::io(&src, e))?;
            std::fs::rename(&tmp, &dest).map_err(|e| RftError::io(&dest, e))?;
        }
    }
    Ok(())
}

/// Appends one line to the run log (append-only; a crash leaves at most a partial last line, which
/// `truncate_log` drops on resume).
pub fn append_log(path: &Path, log: &StepLog) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| RftError::io(path, e))?;
    let line = serde_json::to_string(log).expect("log serialises");
    writeln!(f, "{line}").map_err(|e| RftError::io(path, e))
}

/// Keeps the log lines of rounds up to `step` (the resumed checkpoint), so a resumed run's log has each
/// round once. Rewritten atomically.
pub fn truncate_log(path: &Path, step: u64) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(path).map_err(|e| RftError::io(path, e))?;
    let kept: String = text
        .lines()
        .filter(|l| {
            serde_json::from_str::<StepLog>(l)
                .map(|s| s.step <= step)
                .unwrap_or(false)
        })
        .map(|l| format!("{l}\n"))
        .collect();
    agent::checkpoint::write_atomic(path, kept.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each epoch deals every sample exactly once (the last round short), epochs differ in order, and the
    /// order depends only on the seed.
    #[test]
    fn rounds_cover_each_epoch_once() {
        let config = RftConfig {
            prompts_per_step: 3,
            ..RftConfig::default()
        };
        // 7 samples, 3 per round: rounds of 3, 3, 1 per epoch.
        let rounds: Vec<Vec<u64>> = (0..6).map(|s| round_indices(7, &config, s)).collect();
        assert_eq!(
            rounds.iter().map(Vec::len).collect::<Vec<_>>(),
            [3, 3, 1, 3, 3, 1]
        );
        for epoch in rounds.chunks(3) {
            let mut seen: Vec<u64> = epoch.concat();
            seen.sort();
            assert_eq!(seen, (0..7).collect::<Vec<_>>());
        }
        assert_ne!(rounds[..3].concat(), rounds[3..].concat());
        assert_eq!(round_indices(7, &config, 4), rounds[4]);
        let other = RftConfig {
            seed: 1,
            ..config.clone()
        };
        assert_ne!(
            (0..3)
                .flat_map(|s| round_indices(7, &other, s))
                .collect::<Vec<_>>(),
            rounds[..3].concat()
        );
    }
}
