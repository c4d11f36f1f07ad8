//! Reinforcement fine-tuning: GRPO with the time-decayed reward, offline and closed-loop.
//!
//! - [`reward`]: the reward components (time-decayed reward, format), each a named function of
//!   (completion, target).
//! - [`loss`]: group advantages, the k3 KL, the clipped surrogate, `grpo` / `dapo` aggregation.
//! - [`trainer`]: generation of G completions per prompt, scoring, μ policy updates, checkpoints (the
//!   optimizer, schedule and checkpoint manager are the SFT crate's).
//! - [`offline`]: GRPO over a sample store, writing the scored rollouts back as a sample store.
//! - [`online`]: closed-loop GRPO; its rollouts (with the expert's labels of every visited state) are the
//!   buffer that both the GRPO term and the SFT term ([`sft_term`], `sft_coef`) train on; its groups are
//!   G completions of one decision or, with [`episode_groups`], G whole episodes from one start.

pub mod config;
pub mod episode_groups;
pub mod error;
pub mod loss;
pub mod offline;
pub mod online;
pub mod replay;
pub mod reward;
pub mod sft_term;
pub mod trainer;

pub use config::{GroupMode, OnlineConfig, OnlineReward, RftConfig};
pub use error::{Result, RftError};
pub use loss::{aggregate, group_advantages, kl_k3, token_loss, ClipConfig, LossType};
pub use offline::{run_offline, OfflineRun};
pub use online::{run_online, OnlineRun};
pub use reward::{FormatReward, Reward, RewardTarget, TimeDecayedReward};
pub use trainer::{Group, GrpoTrainer, StepLog, TrainerState};
