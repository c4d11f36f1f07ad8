//! `manifest.json`: the list of finished shards, the only thing that makes a shard visible.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EpisodeError, Result};
use crate::file;

use super::MANIFEST_FILE;

const FORMAT: &str = "vln-r1-sample-store";
const VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Manifest {
    format: String,
    version: u32,
    pub shards: Vec<ShardEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ShardEntry {
    /// Shard number; files are `shard-{number:06}.jsonl` / `.idx`.
    pub number: u64,
    pub samples: u64,
    /// Size of the `.jsonl` file.
    pub bytes: u64,
}

impl ShardEntry {
    pub fn lines_path(&self, root: &Path) -> PathBuf {
        root.join(format!("shard-{:06}.jsonl", self.number))
    }

    pub fn index_path(&self, root: &Path) -> PathBuf {
        root.join(format!("shard-{:06}.idx", self.number))
    }
}

impl Manifest {
    pub fn empty() -> Manifest {
        Manifest {
            format: FORMAT.into(),
            version: VERSION,
            shards: Vec::new(),
        }
    }

    pub fn path(root: &Path) -> PathBuf {
        root.join(MANIFEST_FILE)
    }

    /// Reads `root/manifest.json`; `None` when the store has no manifest yet.
    pub fn read(root: &Path) -> Result<Option<Manifest>> {
        let path = Self::path(root);
        if !path.exists() {
            return Ok(None);
        }
        let m: Manifest = file::read_json(&path)?;
        if m.format != FORMAT || m.version != VERSION {
            return Err(EpisodeError::invalid(
                &path,
                format!(
                    "is {:?} version {}, expected {FORMAT:?} version {VERSION}",
                    m.format, m.version
                ),
            ));
        }
        for w in m.shards.windows(2) {
            if w[1].number <= w[0].number {
                return Err(EpisodeError::invalid(
                    &path,
                    "shard numbers are not increasing",
                ));
            }
        }
        Ok(Some(m))
    }

    pub fn write(&self, root: &Path) -> Result<()> {
        file::write_json(&Self::path(root), self)
    }

    pub fn total_samples(&self) -> u64 {
        self.shards
            .iter()
            .fold(0u64, |n, s| n.saturating_add(s.samples))
    }

    pub fn next_number(&self) -> u64 {
        self.shards.last().map_or(0, |s| s.number.saturating_add(1))
    }
}
