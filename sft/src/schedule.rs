//! Learning-rate schedules, as Hugging Face's `get_scheduler` computes them from the optimizer step index.

use crate::error::{Result, SftError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedulerType {
    /// Linear warm-up, then half a cosine down to 0 (`get_cosine_schedule_with_warmup`).
    Cosine,
    /// Linear warm-up, then linear decay to 0 (`get_linear_schedule_with_warmup`).
    Linear,
    /// Linear warm-up, then constant (`get_constant_schedule_with_warmup`).
    Constant,
}

impl std::str::FromStr for LrSchedulerType {
    type Err = SftError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "cosine" => Ok(LrSchedulerType::Cosine),
            "linear" => Ok(LrSchedulerType::Linear),
            "constant" | "constant_with_warmup" => Ok(LrSchedulerType::Constant),
            _ => Err(SftError::config(
                "lr_scheduler_type",
                format!("{s:?} is not one of cosine, linear, constant"),
            )),
        }
    }
}

/// The learning rate of every optimizer step of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrSchedule {
    pub kind: LrSchedulerType,
    pub base_lr: f64,
    pub warmup_steps: u64,
    pub total_steps: u64,
}

impl LrSchedule {
    /// Warm-up steps from a ratio as the Trainer does: `ceil(total * ratio)`.
    pub fn with_warmup_ratio(
        kind: LrSchedulerType,
        base_lr: f64,
        warmup_ratio: f64,
        total_steps: u64,
    ) -> LrSchedule {
        LrSchedule {
            kind,
            base_lr,
            warmup_steps: (total_steps as f64 * warmup_ratio).ceil() as u64,
            total_steps,
        }
    }

    /// The rate of optimizer step `step` (0-based: the first update uses `lr(0)`, which is 0 with warm-up).
    pub fn lr(&self, step: u64) -> f64 {
        let s = step as f64;
        if step < self.warmup_steps {
            return self.base_lr * s / (self.warmup_steps.max(1) as f64);
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let progress = (s - self.warmup_steps as f64) / span;
        let factor = match self.kind {
            LrSchedulerType::Cosine => {
                (0.5 * (1.0 + (std::f64::consts::PI * progress).cos())).max(0.0)
            }
            LrSchedulerType::Linear => (1.0 - progress).max(0.0),
            LrSchedulerType::Constant => 1.0,
        };
        self.base_lr * factor
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_with_warmup_matches_transformers() {
        // get_cosine_schedule_with_warmup(opt, 2, 10) with lr 1.0, steps 0..10:
        // [0, 0.5, 1, 0.9619, 0.8536, 0.6913, 0.5, 0.3087, 0.1464, 0.0381]
        let s = LrSchedule::with_warmup_ratio(LrSchedulerType::Cosine, 1.0, 0.2, 10);
        assert_eq!(s.warmup_steps, 2);
        let want = [
            0.0, 0.5, 1.0, 0.96194, 0.85355, 0.69134, 0.5, 0.30866, 0.14645, 0.03806,
        ];
        for (k, w) in want.iter().enumerate() {
            assert!(
                (s.lr(k as u64) - w).abs() < 1e-4,
                "step {k}: {}",
                s.lr(k as u64)
            );
        }
        // ceil: 10% of 15 steps is 2 warm-up steps.
        assert_eq!(
            LrSchedule::with_warmup_ratio(LrSchedulerType::Cosine, 1.0, 0.1, 15).warmup_steps,
            2
        );
        let lin = LrSchedule::with_warmup_ratio(LrSchedulerType::Linear, 2.0, 0.0, 4);
        assert_eq!(
            (0..4).map(|k| lin.lr(k)).collect::<Vec<_>>(),
            [2.0, 1.5, 1.0, 0.5]
        );
        assert!("cosine_restarts".parse::<LrSchedulerType>().is_err());
    }
}
