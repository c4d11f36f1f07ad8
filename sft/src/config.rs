//! SFT settings, named as in Hugging Face `TrainingArguments` / TRL `SFTConfig` so a LLaMA-Factory or TRL user
//! finds them. A JSON config file may set any subset; missing keys take the defaults below, unknown keys are
//! errors (a typo must not silently train with the default).

use std::path::Path;

use serde::{Deserialize, Serialize};
use tch::{Device, Kind};

use crate::adamw::AdamWConfig;
use crate::error::{Result, SftError};
use crate::schedule::LrSchedulerType;

/// Largest `per_device_train_batch_size` accepted: a micro-batch of 65536 VLN samples (each several thousand
/// tokens with its frames) is already far past any accelerator's memory, and a bound keeps the batching
/// arithmetic (`group_by_length` sorts windows of 50 micro-batches) from overflowing.
pub const MAX_BATCH_SIZE: usize = 1 << 16;

/// Largest `gradient_accumulation_steps` accepted (a global batch of millions of samples is a typo).
pub const MAX_GRADIENT_ACCUMULATION_STEPS: usize = 1 << 16;

/// Parameter dtype for training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// bf16 on a GPU, f32 on the CPU.
    Auto,
    Bf16,
    F32,
}

impl std::str::FromStr for Precision {
    type Err = SftError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Precision::Auto),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            "f32" | "fp32" | "float32" => Ok(Precision::F32),
            _ => Err(SftError::config(
                "precision",
                format!("{s:?} is not one of auto, bf16, f32"),
            )),
        }
    }
}

impl Precision {
    pub fn kind(self, device: Device) -> Kind {
        match self {
            Precision::Auto if device.is_cuda() => Kind::BFloat16,
            Precision::Auto | Precision::F32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
        }
    }
}

/// Parses `auto` (CUDA if available), `cpu`, `cuda`, `cuda:N`.
pub fn parse_device(s: &str) -> Result<Device> {
    let choice: agent::DeviceChoice = s.parse().map_err(|m| SftError::config("device", m))?;
    Ok(choice.resolve()?)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SftConfig {
    /// Peak learning rate (VLN-R1: 5e-6 for the 2B/7B models).
    pub learning_rate: f64,
    pub lr_scheduler_type: LrSchedulerType,
    /// Fraction of the optimizer steps spent warming up linearly from 0 (VLN-R1: 0.1).
    pub warmup_ratio: f64,
    /// Passes over the training split; ignored when `max_steps` is set.
    pub num_train_epochs: u64,
    /// Total optimizer steps; overrides `num_train_epochs` (the data order wraps into further epochs).
    pub max_steps: Option<u64>,
    /// Samples per forward/backward pass.
    pub per_device_train_batch_size: usize,
    /// Micro-batches per optimizer step (global batch = batch size x accumulation; VLN-R1: 64).
    pub gradient_accumulation_steps: usize,
    /// Gradient clipping by global L2 norm; 0 disables.
    pub max_grad_norm: f64,
    pub weight_decay: f64,
    pub adam_beta1: f64,
    pub adam_beta2: f64,
    pub adam_epsilon: f64,
    /// Seeds the data order (the only randomness in training: the model has no dropout).
    pub seed: u64,
    pub precision: Precision,
    /// `auto`, `cpu`, `cuda`, `cuda:N`.
    pub device: String,
    /// Keep the vision tower's weights fixed (train the merger-fed language model only).
    pub freeze_vision_tower: bool,
    /// Log a metrics line every N optimizer steps.
    pub logging_steps: u64,
    /// Checkpoint every N optimizer steps (and always at the end); 0: only at the end.
    pub save_steps: u64,
    /// Keep the last N checkpoints; 0 keeps all.
    pub save_total_limit: usize,
    /// Validation every N optimizer steps (and at the end); 0: only at the end.
    pub eval_steps: u64,
    /// Fraction of the store's episodes held out for validation (split by episode id).
    pub val_fraction: f64,
    /// Validation samples scored per evaluation, spread evenly over the held-out split (which is in store
    /// order, so its first samples would all be one episode's).
    pub eval_samples: usize,
    /// Oversamples the training split by each sample's next action (its first target): a sample appears
    /// `round((n_max / n_action)^balance)` times per epoch. 0 keeps the store's distribution; 1 balances the
    /// next actions fully. Expert trajectories are ~58% FORWARD and ~1.5% STOP, a skew a small model can sit on.
    pub next_action_balance: f64,
    /// Batch samples of similar length (Hugging Face's `group_by_length`: less padding, but a batch then
    /// tends to hold samples of one episode, whose instructions have the same length). Off by default, as in
    /// `TrainingArguments`.
    pub group_by_length: bool,
}

impl Default for SftConfig {
    fn default() -> Self {
        SftConfig {
            learning_rate: 5e-6,
            lr_scheduler_type: LrSchedulerType::Cosine,
            warmup_ratio: 0.1,
            num_train_epochs: 1,
            max_steps: None,
            per_device_train_batch_size: 4,
            gradient_accumulation_steps: 16,
            max_grad_norm: 1.0,
            weight_decay: 0.0,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-8,
            seed: 42,
            precision: Precision::Auto,
            device: "auto".into(),
            freeze_vision_tower: false,
            logging_steps: 1,
            save_steps: 500,
            save_total_limit: 3,
            eval_steps: 0,
            val_fraction: 0.05,
            eval_samples: 64,
            next_action_balance: 0.0,
            group_by_length: false,
        }
    }
}

impl SftConfig {
    /// Reads a JSON config file (any subset of the fields).
    pub fn from_file(path: &Path) -> Result<SftConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| SftError::io(path, e))?;
        let cfg: SftConfig = serde_json::from_str(&text).map_err(|e| SftError::Json {
            path: path.to_owned(),
            source: e,
        })?;
        cfg.validate().map_err(|e| e.in_file(path))?;
        Ok(cfg)
    }

    pub fn adamw(&self) -> AdamWConfig {
        AdamWConfig {
            beta1: self.adam_beta1,
            beta2: self.adam_beta2,
            eps: self.adam_epsilon,
            weight_decay: self.weight_decay,
        }
    }

    pub fn validate(&self) -> Result<()> {
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return Err(SftError::config(
                "learning_rate",
                format!("must be positive, got {}", self.learning_rate),
            ));
        }
        if !(0.0..=1.0).contains(&self.warmup_ratio) {
            return Err(SftError::config(
                "warmup_ratio",
                format!("must be in [0, 1], got {}", self.warmup_ratio),
            ));
        }
        if self.max_steps == Some(0) || (self.max_steps.is_none() && self.num_train_epochs == 0) {
            return Err(SftError::config(
                "max_steps",
                "the run would take no optimizer step (max_steps 0 or num_train_epochs 0)",
            ));
        }
        check_count(
            "per_device_train_batch_size",
            self.per_device_train_batch_size,
            MAX_BATCH_SIZE,
        )?;
        check_count(
            "gradient_accumulation_steps",
            self.gradient_accumulation_steps,
            MAX_GRADIENT_ACCUMULATION_STEPS,
        )?;
        if self.max_grad_norm.is_nan() || self.max_grad_norm < 0.0 {
            return Err(SftError::config(
                "max_grad_norm",
                format!("must be >= 0, got {}", self.max_grad_norm),
            ));
        }
        if !(0.0..=1.0).contains(&self.next_action_balance) {
            return Err(SftError::config(
                "next_action_balance",
                format!("must be in [0, 1], got {}", self.next_action_balance),
            ));
        }
        if !(0.0..1.0).contains(&self.val_fraction) {
            return Err(SftError::config(
                "val_fraction",
                format!("must be in [0, 1), got {}", self.val_fraction),
            ));
        }
        if self.logging_steps == 0 {
            return Err(SftError::config("logging_steps", "must be at least 1"));
        }
        parse_device(&self.device)?;
        self.adamw().validate()
    }

    /// The first setting that differs from `other`, as `(field, ours, theirs)`; settings that cannot change
    /// the trained weights (logging, checkpoint cadence and retention, validation) are not compared.
    pub fn training_difference(&self, other: &SftConfig) -> Option<(String, String, String)> {
        const HARMLESS: [&str; 5] = [
            "logging_steps",
            "save_steps",
            "save_total_limit",
            "eval_steps",
            "eval_samples",
        ];
        let a = serde_json::to_value(self).expect("config serialises");
        let b = serde_json::to_value(other).expect("config serialises");
        let (a, b) = (a.as_object()?, b.as_object()?);
        a.iter()
            .filter(|(k, _)| !HARMLESS.contains(&k.as_str()))
            .find(|(k, v)| b.get(*k) != Some(v))
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.to_string(),
                    b.get(k).map_or("missing".into(), |x| x.to_string()),
                )
            })
    }
}

/// `value` must be in `1..=max`.
fn check_count(field: &str, value: usize, max: usize) -> Result<()> {
    if value == 0 || value > max {
        return Err(SftError::config(
            field,
            format!("must be in 1..={max}, got {value}"),
        ));
    }
    Ok(())
}

/// Optimizer steps of a run: `max_steps`, else `num_train_epochs` passes of `steps_per_epoch`. A product past
/// `u64` is an error naming `num_train_epochs` (wrapped, it could be 0 and the run would train nothing).
pub fn total_steps(cfg: &SftConfig, steps_per_epoch: u64) -> Result<u64> {
    if let Some(m) = cfg.max_steps {
        return Ok(m);
    }
    cfg.num_train_epochs
        .checked_mul(steps_per_epoch)
        .ok_or_else(|| {
            SftError::config(
                "num_train_epochs",
                format!(
                    "{} epochs of {steps_per_epoch} steps overflow the step count",
                    cfg.num_train_epochs
                ),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_set_a_subset_and_typos_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.json");
        std::fs::write(&p, r#"{"learning_rate": 1e-3, "max_steps": 10}"#).unwrap();
        let c = SftConfig::from_file(&p).unwrap();
        assert_eq!(c.learning_rate, 1e-3);
        assert_eq!(c.max_steps, Some(10));
        assert_eq!(c.warmup_ratio, 0.1);
        std::fs::write(&p, r#"{"learning_rat": 1e-3}"#).unwrap();
        let err = SftConfig::from_file(&p).unwrap_err().to_string();
        assert!(
            err.contains("learning_rat") && err.contains("c.json"),
            "{err}"
        );
        std::fs::write(&p, r#"{"warmup_ratio": 2}"#).unwrap();
        let err = SftConfig::from_file(&p).unwrap_err().to_string();
        assert!(err.contains("warmup_ratio"), "{err}");
        std::fs::write(&p, r#"{"next_action_balance": 1.5}"#).unwrap();
        let err = SftConfig::from_file(&p).unwrap_err().to_string();
        assert!(err.contains("next_action_balance"), "{err}");

        let mut other = c.clone();
        other.save_steps = 3;
        assert_eq!(c.training_difference(&other), None);
        other.seed = 7;
        assert_eq!(c.training_difference(&other).unwrap().0, "seed");
    }

    #[test]
    fn absurd_batch_sizes_and_epochs_are_errors_naming_the_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sft.json");
        for field in ["per_device_train_batch_size", "gradient_accumulation_steps"] {
            std::fs::write(&p, format!(r#"{{"{field}": {}}}"#, 1u64 << 63)).unwrap();
            let err = SftConfig::from_file(&p).unwrap_err().to_string();
            assert!(err.contains("sft.json") && err.contains(field), "{err}");
        }
        let cfg = SftConfig {
            num_train_epochs: 1 << 63,
            ..SftConfig::default()
        };
        let err = total_steps(&cfg, 3).unwrap_err().to_string();
        assert!(err.contains("num_train_epochs"), "{err}");
        assert_eq!(total_steps(&cfg, 1).unwrap(), 1 << 63);
        let capped = SftConfig {
            max_steps: Some(5),
            ..cfg
        };
        assert_eq!(total_steps(&capped, 3).unwrap(), 5);
    }
}
