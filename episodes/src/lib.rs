//! Every on-disk data format of vln-r1 and the text the model sees.
//!
//! - Datasets: [`EpisodeDataset`] (R2R-CE / RxR-CE episode files), [`GroundTruth`] (gt files), [`split`]
//!   (directory layout, RxR role and language filters), [`stats`].
//! - Model text: [`prompt`] (the VLN-R1 prompt), [`answer`] (answer format and parser), [`memory`] (which
//!   history frames the prompt shows), [`target`] (the N actions a sample is trained to predict).
//! - [`store`]: the sharded sample store shared by SFT and RFT.

pub mod action;
pub mod answer;
pub mod dataset;
pub mod episode;
pub mod error;
pub mod file;
pub mod gt;
pub mod instruction;
pub mod memory;
pub mod prompt;
mod record;
pub mod split;
pub mod stats;
pub mod store;
pub mod synthetic;
pub mod target;
pub mod validate;

pub use action::Action;
pub use answer::{format_answer, parse_answer, AnswerError};
pub use dataset::{Dataset, EpisodeDataset};
pub use episode::{Episode, EpisodeInfo, Goal, DEFAULT_SUCCESS_DISTANCE};
pub use error::{EpisodeError, Result};
pub use gt::{GroundTruth, GtEntry};
pub use instruction::{Instruction, InstructionTokens, InstructionVocab, TimedWord};
pub use memory::MemorySampler;
pub use prompt::{ActionOptions, Prompt, PromptConfig};
pub use record::{Extra, Id, Quat, Vec3};
pub use split::{EpisodeFilter, Role};
pub use store::{Sample, SampleStore, SampleStoreWriter};
pub use target::target_actions;
