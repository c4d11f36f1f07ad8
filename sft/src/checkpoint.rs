//! Training checkpoints: `OUT/checkpoint-{step}/` directories in Hugging Face layout (config.json,
//! model.safetensors, tokenizer and processor files) plus the trainer's resume state, written atomically and
//! pruned to the last K.
//!
//! Atomicity: a checkpoint is assembled in `OUT/.tmp-checkpoint-{step}` and renamed into place in one step,
//! so a run killed mid-write leaves only a temp directory (removed on the next start) and every
//! `checkpoint-*` directory is complete. A directory counts as a checkpoint only if it holds
//! [`TRAINER_STATE_FILE`], the last file written.

use std::path::{Path, PathBuf};

use agent::Qwen2VL;

use crate::error::{Result, SftError};

/// The resume state inside a checkpoint (JSON; what the trainer needs besides weights and optimizer state).
pub const TRAINER_STATE_FILE: &str = "trainer_state.json";
/// AdamW moments, master weights and step count (safetensors).
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";

/// Non-weight files a checkpoint directory carries over from the model it started from, so that it loads on
/// its own in `agent` and in transformers.
pub const PROCESSOR_FILES: [&str; 5] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "chat_template.json",
    "preprocessor_config.json",
    "generation_config.json",
];

/// Writes `model` in Hugging Face layout into `dir` (created), copying the tokenizer and processor files of
/// `source` (the checkpoint training started from). Each file is written atomically.
pub fn save_model(model: &Qwen2VL, source: &Path, dir: &Path) -> Result<()> {
    model.save(dir)?;
    for name in PROCESSOR_FILES {
        let from = source.join(name);
        if !from.exists() {
            continue;
        }
        let bytes = std::fs::read(&from).map_err(|e| SftError::io(&from, e))?;
        agent::checkpoint::write_atomic(&dir.join(name), &bytes)?;
    }
    // The navigation settings travel with the weights (a model trained from a navigator is run like it), but
    // not the old weights' STOP calibration.
    if let Some(n) = agent::NavigationSettings::read(source)? {
        n.retrained().write(dir)?;
    }
    Ok(())
}

/// Checkpoint directories under a run's output directory.
#[derive(Debug, Clone)]
pub struct CheckpointManager {
    root: PathBuf,
    /// Keep at most this many `checkpoint-*` directories (0: keep all).
    keep_last: usize,
}

impl CheckpointManager {
    pub fn new(root: &Path, keep_last: usize) -> CheckpointManager {
        CheckpointManager {
            root: root.to_owned(),
            keep_last,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dir(&self, step: u64) -> PathBuf {
        self.root.join(format!("checkpoint-{step}"))
    }

    /// Complete checkpoints, oldest first.
    pub fn list(&self) -> Result<Vec<(u64, PathBuf)>> {
        if !self.root.exists() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.root).map_err(|e| SftError::io(&self.root, e))? {
            let entry = entry.map_err(|e| SftError::io(&self.root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(step) = name
                .strip_prefix("checkpoint-")
                .and_then(|s| s.parse::<u64>().ok())
            else {
                continue;
            };
            if entry.path().join(TRAINER_STATE_FILE).is_file() {
                out.push((step, entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The newest complete checkpoint.
    pub fn latest(&self) -> Result<Option<(u64, PathBuf)>> {
        Ok(self.list()?.pop())
    }

    /// Removes temp directories a killed run left behind.
    pub fn clean_partial(&self) -> Result<()> {
        if !self.root.exists() {
            return Ok(());
        }
        for entry in std::fs::read_dir(&self.root).map_err(|e| SftError::io(&self.root, e))? {
            let entry = entry.map_err(|e| SftError::io(&self.root, e))?;
            if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                std::fs::remove_dir_all(entry.path()).map_err(|e| SftError::io(entry.path(), e))?;
            }
        }
        Ok(())
    }

    /// Writes checkpoint `step` with `write` (which fills the directory it is given; it must write
    /// [`TRAINER_STATE_FILE`] last), publishes it with a rename, then prunes old checkpoints.
    pub fn save(&self, step: u64, write: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
        let tmp = self.root.join(format!(".tmp-checkpoint-{step}"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| SftError::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| SftError::io(&tmp, e))?;
        write(&tmp)?;
        if !tmp.join(TRAINER_STATE_FILE).is_file() {
            return Err(SftError::checkpoint(
                &tmp,
                format!("{TRAINER_STATE_FILE} was not written"),
            ));
        }
        let dir = self.dir(step);
        if dir.exists() {
            // Re-saving a step (a resumed run reaching the end again): replace the old copy.
            std::fs::remove_dir_all(&dir).map_err(|e| SftError::io(&dir, e))?;
        }
        std::fs::rename(&tmp, &dir).map_err(|e| SftError::io(&dir, e))?;
        self.prune()?;
        Ok(dir)
    }

    fn prune(&self) -> Result<()> {
        if self.keep_last == 0 {
            return Ok(());
        }
        let all = self.list()?;
        let excess = all.len().saturating_sub(self.keep_last);
        for (_, dir) in all.into_iter().take(excess) {
            std::fs::remove_dir_all(&dir).map_err(|e| SftError::io(&dir, e))?;
        }
        Ok(())
    }
}

/// Publishes a finished model directory atomically at `dest` (replacing an older one): written to a temp
/// sibling by `write`, then renamed.
pub fn publish_dir(dest: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let parent = dest.parent().unwrap_or(Path::new("."));
    let tmp = parent.join(format!(".tmp-{name}"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| SftError::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| SftError::io(&tmp, e))?;
    write(&tmp)?;
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(|e| SftError::io(dest, e))?;
    }
    std::fs::rename(&tmp, dest).map_err(|e| SftError::io(dest, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(m: &CheckpointManager, step: u64) -> PathBuf {
        m.save(step, |d| {
            std::fs::write(d.join("weights"), step.to_string()).unwrap();
            std::fs::write(d.join(TRAINER_STATE_FILE), "{}").unwrap();
            Ok(())
        })
        .unwrap()
    }

    #[test]
    fn keeps_the_last_k_and_ignores_partial_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let m = CheckpointManager::new(tmp.path(), 2);
        for s in [2, 4, 6, 10] {
            fake(&m, s);
        }
        let steps: Vec<u64> = m.list().unwrap().into_iter().map(|(s, _)| s).collect();
        assert_eq!(steps, [6, 10]);
        // A directory without the trainer state (killed before it was published) is not a checkpoint.
        std::fs::create_dir_all(tmp.path().join("checkpoint-12")).unwrap();
        std::fs::create_dir_all(tmp.path().join(".tmp-checkpoint-14")).unwrap();
        assert_eq!(m.latest().unwrap().unwrap().0, 10);
        m.clean_partial().unwrap();
        assert!(!tmp.path().join(".tmp-checkpoint-14").exists());
        // A writer that forgets the state file publishes nothing.
        let err = m.save(16, |_| Ok(())).unwrap_err().to_string();
        assert!(err.contains(TRAINER_STATE_FILE), "{err}");
        assert!(!m.dir(16).exists());
    }
}
