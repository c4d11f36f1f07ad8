//! Supervised fine-tuning of the VLM policy on VLN-Ego samples (`vln-r1 sft`), and the training parts RFT
//! reuses:
//! - [`adamw`]: AdamW with saveable state (moments, step, f32 master weights).
//! - [`schedule`]: warm-up + cosine / linear / constant learning rate by step.
//! - [`checkpoint`]: Hugging Face layout checkpoints, atomic, keep-last-K, resume discovery.
//! - [`data`]: store samples to batches with the answer-only loss mask, held-out split, seeded
//!   length-grouped order.
//! - [`trainer`]: the SFT loop itself.

pub mod adamw;
pub mod checkpoint;
pub mod config;
pub mod data;
pub mod error;
pub mod schedule;
pub mod trainer;

pub use adamw::{AdamW, AdamWConfig};
pub use checkpoint::{save_model, CheckpointManager};
pub use config::{Precision, SftConfig};
pub use error::{Result, SftError};
pub use schedule::{LrSchedule, LrSchedulerType};
pub use trainer::{train, EvalLog, RunInfo, SftRun, StepLog, TrainEvent, TrainSummary};
