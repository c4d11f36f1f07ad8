//! Batched autoregressive generation with a KV cache: greedy or seeded sampling (temperature, top-k, top-p), stop
//! tokens, optional per-row answer constraints, and the log-probability of every generated token (what GRPO's
//! ratio needs).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tch::{Device, Kind, Tensor};

use crate::constrain::{AnswerConstraint, AnswerState};
use crate::error::{AgentError, Result};
use crate::model::Qwen2VL;
use crate::processor::Batch;

#[derive(Debug, Clone, PartialEq)]
pub struct GenerationConfig {
    pub max_new_tokens: usize,
    /// false: greedy (argmax). true: sample from softmax(logits / temperature) after top-k and top-p.
    pub do_sample: bool,
    pub temperature: f64,
    /// Nucleus sampling threshold; 1.0 keeps every token.
    pub top_p: f64,
    /// Keep only the k most likely tokens; 0 keeps every token.
    pub top_k: usize,
    /// Generation of a row ends after it emits one of these (the stop token is part of the output).
    pub stop_token_ids: Vec<i64>,
    pub seed: u64,
}

impl Default for GenerationConfig {
    fn default() -> Self {
        GenerationConfig {
            max_new_tokens: 64,
            do_sample: false,
            temperature: 1.0,
            top_p: 1.0,
            top_k: 0,
            stop_token_ids: Vec::new(),
            seed: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// Emitted a stop token.
    Stop,
    /// Reached max_new_tokens.
    Length,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub token_ids: Vec<i64>,
    /// log p(token) under softmax(logits / temperature) (temperature 1 when greedy), before top-k/top-p
    /// truncation and before any answer constraint (the model's own probability, which is what a training
    /// forward scores), one per token.
    pub logprobs: Vec<f32>,
    pub finish_reason: FinishReason,
}

impl GenerationConfig {
    fn validate(&self) -> Result<()> {
        if self.do_sample && !(self.temperature > 0.0 && self.temperature.is_finite()) {
            return Err(AgentError::Input(format!(
                "temperature must be positive when sampling, got {}",
                self.temperature
            )));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(AgentError::Input(format!(
                "top_p must be in (0, 1], got {}",
                self.top_p
            )));
        }
        Ok(())
    }

    /// Picks a token from one row of logits, among `allowed` (sorted ids) when given, with `bias` (one per
    /// allowed id) added to their logits before the choice; returns it and its log-probability under the
    /// unconstrained, unbiased distribution.
    fn choose(
        &self,
        logits: &[f32],
        allowed: Option<&[i64]>,
        bias: Option<&[f32]>,
        rng: &mut ChaCha8Rng,
    ) -> (i64, f32) {
        let t = if self.do_sample {
            self.temperature
        } else {
            1.0
        };
        let scaled: Vec<f64> = logits.iter().map(|&x| x as f64 / t).collect();
        let max = scaled.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_z = max + scaled.iter().map(|&x| (x - max).exp()).sum::<f64>().ln();
        let token = match allowed {
            None if self.do_sample => self.sample(&scaled, max, rng),
            None => argmax(logits),
            Some(ids) => {
                // Sample or take the maximum among the allowed tokens only (top-k / top-p apply to them).
                let sub: Vec<f64> = ids
                    .iter()
                    .enumerate()
                    .map(|(k, &i)| scaled[i as usize] + bias.map_or(0.0, |b| b[k] as f64 / t))
                    .collect();
                let pick = if self.do_sample {
                    let sub_max = sub.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    self.sample(&sub, sub_max, rng)
                } else {
                    argmax(&sub)
                };
                ids[pick] as usize
            }
        };
        (token as i64, (scaled[token] - log_z) as f32)
    }

    fn sample(&self, scaled: &[f64], max: f64, rng: &mut ChaCha8Rng) -> usize {
        let mut order: Vec<usize> = (0..scaled.len()).collect();
        // Descending by logit; ties by index so the order never depends on the sort's stability.
        order.sort_by(|&a, &b| scaled[b].total_cmp(&scaled[a]).then(a.cmp(&b)));
        if self.top_k > 0 {
            order.truncate(self.top_k.max(1));
        }
        let mut probs: Vec<f64> = order.iter().map(|&i| (scaled[i] - max).exp()).collect();
        let total: f64 = probs.iter().sum();
        if self.top_p < 1.0 {
            let mut cum = 0.0;
            let mut keep = probs.len();
            for (n, p) in probs.iter().enumerate() {
                cum += p / total;
                if cum >= self.top_p {
                    keep = n + 1;
                    break;
                }
            }
            order.truncate(keep);
            probs.truncate(keep);
        }
        let total: f64 = probs.iter().sum();
        let mut u = rng.random::<f64>() * total;
        for (n, p) in probs.iter().enumerate() {
            if u < *p {
                return order[n];
            }
            u -= p;
        }
        *order.last().expect("at least one candidate")
    }
}

/// First index of the largest value (torch.argmax's tie rule).
fn argmax<T: PartialOrd + Copy>(v: &[T]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn rows_to_host(logits: &Tensor) -> Vec<Vec<f32>> {
    let l = logits
        .to_kind(Kind::Float)
        .to_device(Device::Cpu)
        .contiguous();
    let (b, v) = (l.size()[0] as usize, l.size()[1] as usize);
    let flat: Vec<f32> = Vec::try_from(l.view([-1])).unwrap_or_default();
    (0..b).map(|r| flat[r * v..(r + 1) * v].to_vec()).collect()
}

/// Generates continuations for every row of `batch`. Rows that stop are dropped from the cache so the rest
/// decode faster; the result does not depend on the batch composition except through padding.
pub fn generate(model: &Qwen2VL, batch: &Batch, cfg: &GenerationConfig) -> Result<Vec<Generation>> {
    generate_constrained(model, batch, cfg, &[])
}

/// [`generate`] where row i may only write answers of `constraints[i]` (then its stop tokens); an empty
/// slice constrains no row. A constrained row ends with a stop token unless `max_new_tokens` cuts it short.
pub fn generate_constrained(
    model: &Qwen2VL,
    batch: &Batch,
    cfg: &GenerationConfig,
    constraints: &[&AnswerConstraint],
) -> Result<Vec<Generation>> {
    cfg.validate()?;
    let n = batch.batch_size();
    if !constraints.is_empty() && constraints.len() != n {
        return Err(AgentError::Input(format!(
            "{} answer constraints for a batch of {n}",
            constraints.len()
        )));
    }
    let mut states = vec![AnswerState::default(); constraints.len()];
    let mut out: Vec<Generation> = (0..n)
        .map(|_| Generation {
            token_ids: Vec::new(),
            logprobs: Vec::new(),
            finish_reason: FinishReason::Length,
        })
        .collect();
    if cfg.max_new_tokens == 0 {
        return Ok(out);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let device = model.device();
    let mut cache = model.new_cache();
    let _guard = tch::no_grad_guard();
    let mut logits = rows_to_host(&model.prefill(batch, &mut cache)?);
    // Cache row i holds original row active[i].
    let mut active: Vec<usize> = (0..n).collect();
    for step in 0..cfg.max_new_tokens {
        let mut next = Vec::with_capacity(active.len());
        let mut still = Vec::with_capacity(active.len());
        for (i, &row) in active.iter().enumerate() {
            let allowed = constraints.get(row).map(|c| c.allowed(states[row]));
            let bias = constraints.get(row).and_then(|c| c.bias(states[row]));
            let (tok, lp) = cfg.choose(&logits[i], allowed.as_deref(), bias.as_deref(), &mut rng);
            if let Some(c) = constraints.get(row) {
                states[row] = c.advance(states[row], tok).expect("chosen among allowed");
            }
            out[row].token_ids.push(tok);
            out[row].logprobs.push(lp);
            if cfg.stop_token_ids.contains(&tok) {
                out[row].finish_reason = FinishReason::Stop;
            } else {
                still.push(i as i64);
                next.push(tok);
            }
        }
        if still.is_empty() || step + 1 == cfg.max_new_tokens {
            break;
        }
        if still.len() < active.len() {
            cache.select_rows(&Tensor::from_slice(&still).to_device(device));
            active = still.iter().map(|&i| active[i as usize]).collect();
        }
        let past = cache.len();
        let positions: Vec<i64> = active
            .iter()
            .map(|&row| past + batch.rope_deltas[row])
            .collect();
        let tokens = Tensor::from_slice(&next).to_device(device);
        let positions = Tensor::from_slice(&positions).to_device(device);
        logits = rows_to_host(&model.decode_step(&tokens, &positions, &mut cache));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greedy_picks_first_maximum_and_reports_its_logprob() {
        let cfg = GenerationConfig::default();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (tok, lp) = cfg.choose(&[0.0, 2.0, 2.0, -1.0], None, None, &mut rng);
        assert_eq!(tok, 1);
        let z: f64 = [0.0f64, 2.0, 2.0, -1.0].iter().map(|x| x.exp()).sum();
        assert!((lp as f64 - (2.0 - z.ln())).abs() < 1e-6);
    }

    #[test]
    fn a_constraint_restricts_the_choice_but_not_the_reported_logprob() {
        let logits = [3.0f32, 1.0, 2.0, 0.5];
        let z: f64 = logits.iter().map(|&x| (x as f64).exp()).sum();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let (tok, lp) =
            GenerationConfig::default().choose(&logits, Some(&[1, 2, 3]), None, &mut rng);
        assert_eq!(tok, 2);
        assert!((lp as f64 - (2.0 - z.ln())).abs() < 1e-6);
        let s = GenerationConfig {
            do_sample: true,
            temperature: 2.0,
            ..Default::default()
        };
        let mut seen = [0usize; 4];
        for _ in 0..2000 {
            seen[s.choose(&logits, Some(&[1, 3]), None, &mut rng).0 as usize] += 1;
        }
        assert_eq!((seen[0], seen[2]), (0, 0));
        assert!(seen[1] > seen[3] && seen[3] > 0, "{seen:?}");
    }

    #[test]
    fn top_k_one_is_greedy_and_sampling_is_seeded() {
        let logits: Vec<f32> = (0..50).map(|i| ((i * 37) % 11) as f32 * 0.3).collect();
        let k1 = GenerationConfig {
            do_sample: true,
            top_k: 1,
            temperature: 0.7,
            ..Default::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        assert_eq!(
            k1.choose(&logits, None, None, &mut rng).0 as usize,
            argmax(&logits)
        );
        let s = GenerationConfig {
            do_sample: true,
            temperature: 1.3,
            top_p: 0.9,
            ..Default::default()
        };
        let draw = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            (0..20)
                .map(|_| s.choose(&logits, None, None, &mut rng).0)
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
    }

    /// Sampled frequencies follow softmax(logits / T) restricted to the nucleus.
    #[test]
    fn sampling_follows_the_truncated_distribution() {
        let logits = [2.0f32, 1.0, 0.0, -5.0];
        let cfg = GenerationConfig {
            do_sample: true,
            temperature: 1.0,
            top_p: 0.95,
            ..Default::default()
        };
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut counts = [0usize; 4];
        for _ in 0..20000 {
            counts[cfg.choose(&logits, None, None, &mut rng).0 as usize] += 1;
        }
        // p = [0.6652, 0.2447, 0.0900, 0.0003]: the nucleus at 0.95 is the first three tokens.
        assert_eq!(counts[3], 0);
        let z = 2f64.exp() + 1f64.exp() + 1.0;
        let p0 = 2f64.exp() / z;
        assert!(
            (counts[0] as f64 / 20000.0 - p0).abs() < 0.015,
            "{counts:?}"
        );
    }
}
