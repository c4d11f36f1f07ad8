//! Appending samples to a store, one atomically committed shard at a time.

use std::path::{Path, PathBuf};

use crate::error::{EpisodeError, Result};
use crate::file;

use super::manifest::{Manifest, ShardEntry};
use super::{Sample, DEFAULT_SHARD_SIZE};

/// Appends [`Sample`]s to a store directory (created if missing; an existing store is continued).
///
/// Samples are buffered and written as a shard every `shard_size` samples and on [`finish`](Self::finish).
/// A writer dropped without `finish` loses its buffered samples but never leaves a partial shard visible.
pub struct SampleStoreWriter {
    root: PathBuf,
    manifest: Manifest,
    shard_size: usize,
    lines: Vec<u8>,
    offsets: Vec<u64>,
}

impl SampleStoreWriter {
    /// Opens `root` for appending with [`DEFAULT_SHARD_SIZE`] samples per shard.
    pub fn open(root: &Path) -> Result<SampleStoreWriter> {
        Self::with_shard_size(root, DEFAULT_SHARD_SIZE)
    }

    pub fn with_shard_size(root: &Path, shard_size: usize) -> Result<SampleStoreWriter> {
        if shard_size == 0 {
            return Err(EpisodeError::config(
                "sample store shard size",
                "must be at least 1",
            ));
        }
        std::fs::create_dir_all(root).map_err(|e| EpisodeError::io(root, e))?;
        let manifest = match Manifest::read(root)? {
            Some(m) => {
                // Continuing a store whose committed shards are damaged would only bury the damage.
                super::reader::SampleStore::open(root)?;
                m
            }
            None => Manifest::empty(),
        };
        Ok(SampleStoreWriter {
            root: root.to_owned(),
            manifest,
            shard_size,
            lines: Vec::new(),
            offsets: vec![0],
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Samples committed plus buffered.
    pub fn len(&self) -> u64 {
        self.manifest.total_samples() + self.buffered() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn buffered(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Checks and buffers one sample; writes a shard when the buffer is full. Returns the sample's global
    /// index.
    pub fn append(&mut self, sample: &Sample) -> Result<u64> {
        let index = self.len();
        sample.check_at(&self.root, || {
            format!(
                "sample {index} (episode {}, step {})",
                sample.episode_id, sample.step
            )
        })?;
        serde_json::to_writer(&mut self.lines, sample)
            .map_err(|e| EpisodeError::invalid(&self.root, e.to_string()))?;
        self.lines.push(b'\n');
        self.offsets.push(self.lines.len() as u64);
        if self.buffered() >= self.shard_size {
            self.flush()?;
        }
        Ok(index)
    }

    /// Commits the buffered samples as a shard (nothing to do when none are buffered).
    pub fn flush(&mut self) -> Result<()> {
        if self.buffered() == 0 {
            return Ok(());
        }
        let entry = ShardEntry {
            number: self.manifest.next_number(),
            samples: self.buffered() as u64,
            bytes: self.lines.len() as u64,
        };
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let lines = std::mem::take(&mut self.lines);
        file::write_atomic(&entry.index_path(&self.root), |w| {
            for o in &offsets {
                w.write_all(&o.to_le_bytes())?;
            }
            Ok(())
        })?;
        file::write_atomic(&entry.lines_path(&self.root), |w| w.write_all(&lines))?;
        self.manifest.shards.push(entry);
        self.manifest.write(&self.root)
    }

    /// Commits what is buffered and returns the total number of samples in the store.
    /// A store that received no sample still gets its (empty) manifest: a run whose every record was skipped
    /// leaves a valid empty store, not a directory that readers refuse.
    pub fn finish(mut self) -> Result<u64> {
        self.flush()?;
        if !Manifest::path(&self.root).is_file() {
            self.manifest.write(&self.root)?;
        }
        Ok(self.len())
    }
}
