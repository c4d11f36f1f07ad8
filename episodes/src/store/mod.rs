//! The sample store: training samples (SFT) and scored rollouts (RFT) on disk, shared by data generation,
//! the SFT trainer and the GRPO trainer.
//!
//! Layout of a store directory:
//! - `manifest.json`: the finished shards, in order, with their sample counts and byte sizes. It is rewritten
//!   atomically after each shard, and it alone decides what a reader sees.
//! - `shard-NNNNNN.jsonl`: one JSON object per line, one line per [`Sample`].
//! - `shard-NNNNNN.idx`: `samples + 1` little-endian `u64` byte offsets of the lines (the last one is the
//!   file size), for random access without scanning.
//! - frames: JPEG paths inside samples are relative to the store root; where they live is the writer's choice.
//!
//! Why JSON lines: samples are small and mostly text (instruction, paths, completions), so JSON costs
//! little, stays readable with `head`/`jq` while debugging a data pipeline, and tolerates added optional
//! fields. The offsets index gives O(1) random reads, which a shuffled trainer needs.
//!
//! Crash safety: a shard's index and lines are written to temp files and renamed before the manifest names
//! them; a crash leaves at most unlisted files, which readers ignore and the next writer replaces. One writer
//! per store at a time.

mod manifest;
mod reader;
mod sample;
mod writer;

pub use reader::SampleStore;
pub use sample::{Completion, RlFields, Sample};
pub use writer::SampleStoreWriter;

/// File name of the manifest inside a store directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Samples per shard unless the writer is told otherwise.
pub const DEFAULT_SHARD_SIZE: usize = 4096;
