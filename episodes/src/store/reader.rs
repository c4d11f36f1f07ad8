//! Random and sequential reads from a store, as of the manifest at open time.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{EpisodeError, Result};

use super::manifest::{Manifest, ShardEntry};
use super::Sample;

struct Shard {
    lines_path: PathBuf,
    /// `samples + 1` byte offsets into the lines file.
    offsets: Vec<u64>,
    /// Opened on first read; positioned reads make a shared `&SampleStore` safe to use from many threads.
    file: OnceLock<File>,
}

/// A read-only view of a store. Shards committed after `open` are not seen; open again to see them.
pub struct SampleStore {
    root: PathBuf,
    shards: Vec<Shard>,
    /// Global index of each shard's first sample, plus the total at the end.
    starts: Vec<u64>,
}

impl SampleStore {
    /// Opens a store and checks every listed shard against its index (sizes, offsets).
    pub fn open(root: &Path) -> Result<SampleStore> {
        let manifest = Manifest::read(root)?.ok_or_else(|| {
            EpisodeError::invalid(root, "is not a sample store (no manifest.json)")
        })?;
        let mut shards = Vec::with_capacity(manifest.shards.len());
        let mut starts = vec![0u64];
        for entry in &manifest.shards {
            shards.push(load_shard(root, entry)?);
            let total = starts[starts.len() - 1]
                .checked_add(entry.samples)
                .ok_or_else(|| {
                    EpisodeError::invalid(
                        Manifest::path(root),
                        format!("shard {}: samples: the total overflows", entry.number),
                    )
                })?;
            starts.push(total);
        }
        Ok(SampleStore {
            root: root.to_owned(),
            shards,
            starts,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Absolute path of a frame path stored in a sample.
    pub fn frame_path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    pub fn len(&self) -> u64 {
        self.starts[self.starts.len() - 1]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn num_shards(&self) -> usize {
        self.shards.len()
    }

    /// The sample at global index `index`.
    pub fn get(&self, index: u64) -> Result<Sample> {
        if index >= self.len() {
            return Err(EpisodeError::invalid(
                &self.root,
                format!(
                    "sample {index} is out of range (the store holds {})",
                    self.len()
                ),
            ));
        }
        let s = self.starts.partition_point(|&start| start <= index) - 1;
        let shard = &self.shards[s];
        let local = (index - self.starts[s]) as usize;
        let (begin, end) = (shard.offsets[local], shard.offsets[local + 1]);
        let mut buf = vec![0u8; (end - begin) as usize];
        let file = match shard.file.get() {
            Some(f) => f,
            None => {
                let f = File::open(&shard.lines_path)
                    .map_err(|e| EpisodeError::io(&shard.lines_path, e))?;
                shard.file.get_or_init(|| f)
            }
        };
        read_at(file, &mut buf, begin).map_err(|e| EpisodeError::io(&shard.lines_path, e))?;
        let sample: Sample =
            crate::file::parse_json(&shard.lines_path, &buf).map_err(|e| match e {
                EpisodeError::Json {
                    path, at, source, ..
                } => EpisodeError::Json {
                    path,
                    record: Some(format!("sample {index} (line {})", local + 1)),
                    at,
                    source,
                },
                other => other,
            })?;
        sample.check_at(&shard.lines_path, || {
            format!("sample {index} (line {})", local + 1)
        })?;
        Ok(sample)
    }

    /// All samples in order.
    pub fn iter(&self) -> impl Iterator<Item = Result<Sample>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

fn load_shard(root: &Path, entry: &ShardEntry) -> Result<Shard> {
    let index_path = entry.index_path(root);
    let lines_path = entry.lines_path(root);
    // The index holds one u64 offset per sample plus the end: checked against its size before reading it,
    // with checked arithmetic (a manifest may say 2^61 samples).
    let size = std::fs::metadata(&index_path)
        .map_err(|e| EpisodeError::io(&index_path, e))?
        .len();
    let expected = entry.samples.checked_add(1).and_then(|n| n.checked_mul(8));
    if expected != Some(size) {
        return Err(EpisodeError::invalid(
            &index_path,
            format!(
                "holds {size} bytes, expected 8 x ({} samples + 1) as manifest.json's shard {} says",
                entry.samples, entry.number
            ),
        ));
    }
    let raw = std::fs::read(&index_path).map_err(|e| EpisodeError::io(&index_path, e))?;
    if raw.len() as u64 != size {
        return Err(EpisodeError::invalid(
            &index_path,
            "changed size while being read",
        ));
    }
    let offsets: Vec<u64> = raw
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("chunks of 8")))
        .collect();
    if offsets[0] != 0
        || offsets.windows(2).any(|w| w[1] <= w[0])
        || offsets[offsets.len() - 1] != entry.bytes
    {
        return Err(EpisodeError::invalid(
            &index_path,
            "offsets are not increasing from 0 to the shard size",
        ));
    }
    let size = std::fs::metadata(&lines_path)
        .map_err(|e| EpisodeError::io(&lines_path, e))?
        .len();
    if size != entry.bytes {
        return Err(EpisodeError::invalid(
            &lines_path,
            format!("is {size} bytes, the manifest says {}", entry.bytes),
        ));
    }
    Ok(Shard {
        lines_path,
        offsets,
        file: OnceLock::new(),
    })
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = file.try_clone()?;
    f.seek(SeekFrom::Start(offset))?;
    f.read_exact(buf)
}
