//! GRPO's pieces as plain functions: group advantages, the k3 KL estimator, the clipped surrogate and the
//! `grpo` / `dapo` aggregations (formulas as in TRL's `GRPOTrainer._compute_loss`).

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Added to the group std before dividing (TRL, VLM-R1, the paper).
pub const ADVANTAGE_EPS: f32 = 1e-4;

/// `A_i = (r_i − mean_G(r)) / (std_G(r) + 1e-4)` per consecutive group of `group_size` rewards; std with
/// Bessel's correction (torch.std). A group of one, or with zero variance, gets advantages 0: it carries no
/// learning signal.
pub fn group_advantages(rewards: &[f32], group_size: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(rewards.len());
    for group in rewards.chunks(group_size.max(1)) {
        let stats = GroupStats::of(group);
        for &r in group {
            out.push(if stats.std > 0.0 {
                ((f64::from(r) - stats.mean) / (stats.std + f64::from(ADVANTAGE_EPS))) as f32
            } else {
                0.0
            });
        }
    }
    out
}

/// Mean and Bessel-corrected std of one group's rewards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupStats {
    pub mean: f64,
    pub std: f64,
}

impl GroupStats {
    pub fn of(rewards: &[f32]) -> GroupStats {
        let n = rewards.len() as f64;
        if rewards.is_empty() {
            return GroupStats {
                mean: 0.0,
                std: 0.0,
            };
        }
        let mean = rewards.iter().map(|&r| f64::from(r)).sum::<f64>() / n;
        let std = if rewards.len() < 2 {
            0.0
        } else {
            (rewards
                .iter()
                .map(|&r| (f64::from(r) - mean).powi(2))
                .sum::<f64>()
                / (n - 1.0))
                .sqrt()
        };
        GroupStats { mean, std }
    }
}

/// k3 (Schulman) estimator of KL(π_θ ‖ π_ref) per token: `exp(ref − θ) − (ref − θ) − 1`, always ≥ 0.
pub fn kl_k3(logp: &Tensor, ref_logp: &Tensor) -> Tensor {
    let d = ref_logp - logp;
    d.exp() - &d - 1.0
}

/// How per-token losses become one scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossType {
    /// Mean over each sequence's tokens, then over sequences (VLM-R1, the original GRPO).
    Grpo,
    /// Token-level mean over the whole generation batch (DAPO; TRL's default).
    Dapo,
}

/// Per-token quantities of one (micro-)batch, `[B, S]`.
pub struct TokenLoss {
    pub loss: Tensor,
    /// k3 KL per token (zeros when there is no reference).
    pub kl: Tensor,
    /// 1 where the clip decided the token's term (ρ below 1−ε_low with A<0, or above 1+ε_high with A>0).
    pub clipped: Tensor,
}

/// GRPO clip and KL settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipConfig {
    pub epsilon_low: f64,
    pub epsilon_high: f64,
    pub beta: f64,
}

/// `ℓ = −min(ρA, clip(ρ, 1−ε_low, 1+ε_high)A) + β·KL_k3`, with `ρ = exp(logp − old_logp)`. `advantages` is
/// `[B]`, broadcast over tokens; `ref_logp` may be `None` only when β = 0.
pub fn token_loss(
    logp: &Tensor,
    old_logp: &Tensor,
    ref_logp: Option<&Tensor>,
    advantages: &Tensor,
    cfg: ClipConfig,
) -> TokenLoss {
    let adv = advantages.unsqueeze(1);
    let ratio = (logp - old_logp).exp();
    let clipped_ratio = ratio.clamp(1.0 - cfg.epsilon_low, 1.0 + cfg.epsilon_high);
    let surrogate = (&ratio * &adv).minimum(&(clipped_ratio * &adv));
    let kl = match ref_logp {
        Some(r) => kl_k3(logp, r),
        None => logp.zeros_like(),
    };
    let loss = if cfg.beta != 0.0 {
        -surrogate + &kl * cfg.beta
    } else {
        -surrogate
    };
    let low = ratio.lt(1.0 - cfg.epsilon_low).logical_and(&adv.lt(0.0));
    let high = ratio.gt(1.0 + cfg.epsilon_high).logical_and(&adv.gt(0.0));
    let clipped = low.logical_or(&high).to_kind(Kind::Float);
    TokenLoss {
        loss,
        kl: kl.detach(),
        clipped,
    }
}

/// Reduces per-token values `[B, S]` under `mask` `[B, S]`. To make gradient accumulation over micro-batches
/// equal one pass over the whole generation batch, the denominators are the whole batch's: `grpo` divides the
/// sum of per-sequence means by `total_sequences`, `dapo` divides the token sum by `total_tokens`.
pub fn aggregate(
    values: &Tensor,
    mask: &Tensor,
    loss_type: LossType,
    total_sequences: usize,
    total_tokens: f64,
) -> Tensor {
    let masked = values * mask;
    match loss_type {
        LossType::Grpo => {
            let per_seq = masked.sum_dim_intlist(1, false, Kind::Float)
                / mask.sum_dim_intlist(1, false, Kind::Float).clamp_min(1.0);
            per_seq.sum(Kind::Float) / total_sequences.max(1) as f64
        }
        LossType::Dapo => masked.sum(Kind::Float) / total_tokens.max(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(rows: &[[f32; 2]]) -> Tensor {
        let flat: Vec<f32> = rows.iter().flatten().copied().collect();
        Tensor::from_slice(&flat).view([rows.len() as i64, 2])
    }

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn advantages_match_hand_computation() {
        // Group 1: mean 0.375, std sqrt(((.625)^2 + (.375)^2 + 2(.125)^2)/3) = 0.4330127.
        // Group 2: all equal -> 0. Group 3: [1, 0]: std sqrt(0.5) = 0.7071068.
        let a = group_advantages(&[1.0, 0.0, 0.25, 0.25, 0.7, 0.7, 0.7, 0.7], 4);
        let want = [
            1.4430424, -0.8658254, -0.2886085, -0.2886085, 0.0, 0.0, 0.0, 0.0,
        ];
        for (x, w) in a.iter().zip(want) {
            close(f64::from(*x), w);
        }
        let b = group_advantages(&[1.0, 0.0], 2);
        close(f64::from(b[0]), 0.5 / (0.5f64.sqrt() + 1e-4));
        close(f64::from(b[1]), -0.5 / (0.5f64.sqrt() + 1e-4));
        assert_eq!(group_advantages(&[0.3], 1), [0.0]);
    }

    #[test]
    fn kl_k3_values() {
        let logp = Tensor::from_slice(&[-1.0f32, -1.0, -2.0]);
        let reference = Tensor::from_slice(&[-1.0 + 2f32.ln(), -1.0, -2.0 - 2f32.ln()]);
        let kl = Vec::<f32>::try_from(kl_k3(&logp, &reference)).unwrap();
        // d = ln2: 2 − ln2 − 1; d = 0: 0; d = −ln2: 0.5 + ln2 − 1.
        close(f64::from(kl[0]), 0.3068528);
        close(f64::from(kl[1]), 0.0);
        close(f64::from(kl[2]), 0.1931472);
    }

    /// Row 0: A = +1, ρ = [1.5, 0.5]; row 1: A = −1, ρ = [·, 0.5] with the first token masked.
    /// ε_low 0.2, ε_high 0.28: token (0,0) clips at 1.28 (upper bound), (0,1) keeps ρA = 0.5 (a positive
    /// advantage is never clipped from below), (1,1) clips at 0.8 (lower bound).
    fn small_batch() -> (Tensor, Tensor, Tensor, Tensor, Tensor) {
        let old = t(&[[-1.0, -1.0], [-1.0, -1.0]]);
        let logp = t(&[
            [-1.0 + 1.5f32.ln(), -1.0 + 0.5f32.ln()],
            [-1.0 + 3.0f32.ln(), -1.0 + 0.5f32.ln()],
        ]);
        let reference = &logp + t(&[[2f32.ln(), 0.0], [5.0, -(2f32.ln())]]);
        let mask = t(&[[1.0, 1.0], [0.0, 1.0]]);
        let adv = Tensor::from_slice(&[1.0f32, -1.0]);
        (logp, old, reference, mask, adv)
    }

    #[test]
    fn clipped_loss_at_both_bounds_and_aggregations() {
        let (logp, old, reference, mask, adv) = small_batch();
        let cfg = ClipConfig {
            epsilon_low: 0.2,
            epsilon_high: 0.28,
            beta: 0.0,
        };
        let tl = token_loss(&logp, &old, None, &adv, cfg);
        let l = Vec::<f32>::try_from(tl.loss.view([-1])).unwrap();
        close(f64::from(l[0]), -1.28);
        close(f64::from(l[1]), -0.5);
        close(f64::from(l[3]), 0.8);
        let c = Vec::<f32>::try_from((&tl.clipped * &mask).view([-1])).unwrap();
        assert_eq!(c, [1.0, 0.0, 0.0, 1.0]);
        // grpo: ((−1.28 − 0.5)/2 + 0.8/1) / 2 = −0.045; dapo: (−1.78 + 0.8) / 3.
        let g = aggregate(&tl.loss, &mask, LossType::Grpo, 2, 3.0);
        close(g.double_value(&[]), -0.045);
        let d = aggregate(&tl.loss, &mask, LossType::Dapo, 2, 3.0);
        close(d.double_value(&[]), -0.98 / 3.0);

        // β = 0.04 adds 0.04·k3 per token: ln2 at (0,0), 0 at (0,1), −ln2 at (1,1); (1,0) is masked.
        let tl = token_loss(
            &logp,
            &old,
            Some(&reference),
            &adv,
            ClipConfig { beta: 0.04, ..cfg },
        );
        let d = aggregate(&tl.loss, &mask, LossType::Dapo, 2, 3.0);
        close(
            d.double_value(&[]),
            (-0.98 + 0.04 * (0.3068528 + 0.1931472)) / 3.0,
        );
        let kl = aggregate(&tl.kl, &mask, LossType::Dapo, 2, 3.0);
        close(kl.double_value(&[]), (0.3068528 + 0.1931472) / 3.0);
    }

    /// Clipped tokens pass no gradient; unclipped ones pass −A·ρ/len (grpo, one sequence per row).
    #[test]
    fn gradient_vanishes_where_clipped() {
        let (logp, old, _, mask, adv) = small_batch();
        let logp = logp.set_requires_grad(true);
        let cfg = ClipConfig {
            epsilon_low: 0.2,
            epsilon_high: 0.28,
            beta: 0.0,
        };
        let tl = token_loss(&logp, &old, None, &adv, cfg);
        aggregate(&tl.loss, &mask, LossType::Grpo, 2, 3.0).backward();
        let g = Vec::<f32>::try_from(logp.grad().view([-1])).unwrap();
        close(f64::from(g[0]), 0.0);
        // d(−ρA)/dlogp = −ρA = −0.5, times 1/(2 tokens · 2 sequences).
        close(f64::from(g[1]), -0.5 / 4.0);
        close(f64::from(g[2]), 0.0);
        close(f64::from(g[3]), 0.0);
    }
}
