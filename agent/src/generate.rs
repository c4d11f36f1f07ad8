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
use crate::text::{KvCache, PrefixKv};

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
        if self.top_k == 0 && self.top_p >= 1.0 {
            return sample_in_rank_order(scaled, max, rng);
        }
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

/// Descending by value, ties by index: the order [`GenerationConfig::sample`]'s walk follows.
fn rank_before(scaled: &[f64], a: usize, b: usize) -> bool {
    scaled[b].total_cmp(&scaled[a]).then(a.cmp(&b)) == std::cmp::Ordering::Less
}

/// The token the sorted walk of [`GenerationConfig::sample`] picks when nothing is truncated, found by
/// quickselect-style partitioning instead of sorting the vocabulary: keep the part of the candidates (those
/// ranked before a pivot, or the rest) in which the draw `u` lands, until few are left, then walk them in
/// order. Same token as the sort for the same draw (up to the rounding of the running sums).
fn sample_in_rank_order(scaled: &[f64], max: f64, rng: &mut ChaCha8Rng) -> usize {
    let weights: Vec<f64> = scaled.iter().map(|&x| (x - max).exp()).collect();
    let total: f64 = weights.iter().sum();
    let mut u = rng.random::<f64>() * total;
    let mut cand: Vec<usize> = (0..scaled.len()).collect();
    while cand.len() > 64 {
        // Median of three (by rank) as the pivot keeps the split balanced on any logits.
        let (a, b, c) = (cand[0], cand[cand.len() / 2], cand[cand.len() - 1]);
        let pivot = if rank_before(scaled, a, b) == rank_before(scaled, b, c) {
            b
        } else if rank_before(scaled, b, a) == rank_before(scaled, a, c) {
            a
        } else {
            c
        };
        let (before, rest): (Vec<usize>, Vec<usize>) =
            cand.iter().partition(|&&i| rank_before(scaled, i, pivot));
        let mass: f64 = before.iter().map(|&i| weights[i]).sum();
        if u < mass {
            cand = before;
        } else {
            u -= mass;
            cand = rest;
        }
    }
    cand.sort_by(|&a, &b| scaled[b].total_cmp(&scaled[a]).then(a.cmp(&b)));
    for &i in &cand {
        if u < weights[i] {
            return i;
        }
        u -= weights[i];
    }
    *cand.last().expect("at least one candidate")
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

/// What [`generate_with`] shares or skips besides the batch and the sampling settings.
#[derive(Debug, Clone, Copy)]
pub struct GenerateOptions<'a> {
    /// One answer constraint per prompt row (its completions share it); empty: free decoding.
    pub constraints: &'a [&'a AnswerConstraint],
    /// The vision tower's output for the batch's images, in batch order (see [`Qwen2VL::image_features`]);
    /// used instead of encoding `batch.pixel_values` again.
    pub image_features: Option<&'a Tensor>,
    /// Completions per prompt row, all continued from one prefill of the prompt (its KV cache rows are
    /// repeated). Output row `p · n + j` is completion j of prompt p.
    pub completions_per_prompt: usize,
    /// One sampling seed per prompt row: its completions draw from their own stream, so a prompt's
    /// completions do not depend on which other prompts share the batch. None: one stream seeded by
    /// `cfg.seed` for all rows, in row order.
    pub prompt_seeds: Option<&'a [u64]>,
    /// Constrained rows: feed each run of forced tokens (where the constraint allows one token only) in one
    /// forward pass instead of one decode step per token (jump-forward decoding). Same tokens and
    /// log-probabilities, fewer passes. Applies when greedy, or when sampling with one stream per row
    /// (`prompt_seeds` and one completion per prompt): rows sharing a stream draw in step order, which
    /// rows that run ahead would change.
    pub jump_forward: bool,
    /// One cached prefix per prompt row (see [`Qwen2VL::prefix_kv`]): the prefill runs only the tokens after
    /// it. Same tokens; log-probs equal up to float rounding.
    pub prefixes: Option<&'a [&'a PrefixKv]>,
}

impl Default for GenerateOptions<'_> {
    fn default() -> Self {
        GenerateOptions {
            constraints: &[],
            image_features: None,
            completions_per_prompt: 1,
            prompt_seeds: None,
            jump_forward: true,
            prefixes: None,
        }
    }
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
    generate_with(
        model,
        batch,
        cfg,
        &GenerateOptions {
            constraints,
            ..GenerateOptions::default()
        },
    )
}

/// One row being decoded.
struct Row {
    /// Index into the output (prompt · completions_per_prompt + j).
    out: usize,
    /// M-RoPE position of the next token fed (the same on the three rows, as text after the prompt).
    next_pos: i64,
    /// Tokens to feed in the next pass: the chosen one and the forced run after it.
    feed: Vec<i64>,
    finished: bool,
}

/// [`generate`] with the options of [`GenerateOptions`]: G completions from one prefill per prompt,
/// per-prompt seeds, precomputed image features and jump-forward through forced tokens.
pub fn generate_with(
    model: &Qwen2VL,
    batch: &Batch,
    cfg: &GenerationConfig,
    opts: &GenerateOptions<'_>,
) -> Result<Vec<Generation>> {
    cfg.validate()?;
    let n = batch.batch_size();
    let g = opts.completions_per_prompt;
    if g == 0 {
        return Err(AgentError::Input(
            "completions_per_prompt must be at least 1".into(),
        ));
    }
    if !opts.constraints.is_empty() && opts.constraints.len() != n {
        return Err(AgentError::Input(format!(
            "{} answer constraints for a batch of {n}",
            opts.constraints.len()
        )));
    }
    if let Some(seeds) = opts.prompt_seeds {
        if seeds.len() != n {
            return Err(AgentError::Input(format!(
                "{} prompt seeds for a batch of {n}",
                seeds.len()
            )));
        }
    }
    let total = n * g;
    let constraint = |out: usize| opts.constraints.get(out / g).copied();
    let mut states = vec![AnswerState::default(); total];
    let mut out: Vec<Generation> = (0..total)
        .map(|_| Generation {
            token_ids: Vec::new(),
            logprobs: Vec::new(),
            finish_reason: FinishReason::Length,
        })
        .collect();
    if cfg.max_new_tokens == 0 {
        return Ok(out);
    }
    let mut rngs: Vec<ChaCha8Rng> = match opts.prompt_seeds {
        Some(seeds) => seeds
            .iter()
            .map(|&s| ChaCha8Rng::seed_from_u64(s))
            .collect(),
        None => vec![ChaCha8Rng::seed_from_u64(cfg.seed)],
    };
    let rng_of = |out: usize| {
        if opts.prompt_seeds.is_some() {
            out / g
        } else {
            0
        }
    };
    let device = model.device();
    let mut cache = model.new_cache();
    let _guard = tch::no_grad_guard();
    let prompt_logits = rows_to_host(&match opts.prefixes {
        Some(prefixes) => {
            model.prefill_after_prefixes(batch, prefixes, &mut cache, opts.image_features)?
        }
        None => model.prefill_with(batch, &mut cache, opts.image_features)?,
    });
    if g > 1 {
        let repeat: Vec<i64> = (0..total as i64).map(|r| r / g as i64).collect();
        cache.select_rows(&Tensor::from_slice(&repeat).to_device(device));
    }
    let mut logits: Vec<Vec<f32>> = (0..total).map(|r| prompt_logits[r / g].clone()).collect();
    let s = batch.seq_len();
    // Cache row i holds rows[i].
    let mut rows: Vec<Row> = (0..total)
        .map(|r| Row {
            out: r,
            next_pos: s + batch.rope_deltas[r / g],
            feed: Vec::new(),
            finished: false,
        })
        .collect();
    let t = if cfg.do_sample { cfg.temperature } else { 1.0 };
    let jump = opts.jump_forward && (!cfg.do_sample || (opts.prompt_seeds.is_some() && g == 1));
    loop {
        for (i, row) in rows.iter_mut().enumerate() {
            let r = row.out;
            let c = constraint(r);
            let allowed = c.map(|c| c.allowed(states[r]));
            let bias = c.and_then(|c| c.bias(states[r]));
            let rng = &mut rngs[rng_of(r)];
            let (tok, lp) = cfg.choose(&logits[i], allowed.as_deref(), bias.as_deref(), rng);
            row.feed = vec![tok];
            row.finished = push_token(&mut out[r], &mut states[r], c, cfg, tok, lp);
            if !jump {
                continue;
            }
            // The forced run: its log-probs come from the pass that feeds it (NaN until then).
            while let Some(c) = c.filter(|_| !row.finished) {
                let only = c.allowed(states[r]);
                if only.len() != 1 {
                    break;
                }
                // Step-by-step sampling draws once even for a single allowed token; so does this, which
                // keeps later choices (and so sampled answers) independent of jump-forward.
                if cfg.do_sample {
                    let _: f64 = rng.random();
                }
                row.feed.push(only[0]);
                row.finished =
                    push_token(&mut out[r], &mut states[r], Some(c), cfg, only[0], f32::NAN);
            }
        }
        // A pass is needed for rows that go on, and for finished rows whose forced tokens lack log-probs.
        let keep: Vec<i64> = (0..rows.len() as i64)
            .filter(|&i| !rows[i as usize].finished || rows[i as usize].feed.len() > 1)
            .collect();
        if keep.is_empty() {
            break;
        }
        if keep.len() < rows.len() {
            cache.select_rows(&Tensor::from_slice(&keep).to_device(device));
            let mut old: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
            rows = keep
                .iter()
                .map(|&i| old[i as usize].take().expect("kept once"))
                .collect();
        }
        let width = rows.iter().map(|r| r.feed.len()).max().unwrap_or(1);
        let next = if width == 1 {
            let tokens: Vec<i64> = rows.iter().map(|r| r.feed[0]).collect();
            let positions: Vec<i64> = rows.iter().map(|r| r.next_pos).collect();
            let l = model.decode_step(
                &Tensor::from_slice(&tokens).to_device(device),
                &Tensor::from_slice(&positions).to_device(device),
                &mut cache,
            );
            rows_to_host(&l)
        } else {
            feed_runs(model, &mut cache, &rows, width, t, &mut out)
        };
        for row in rows.iter_mut() {
            row.next_pos += row.feed.len() as i64;
        }
        let mut old: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
        let mut kept_logits = Vec::with_capacity(old.len());
        let mut kept_rows = Vec::with_capacity(old.len());
        let mut sel = Vec::with_capacity(old.len());
        for (i, l) in next.into_iter().enumerate() {
            let row = old[i].take().expect("each row once");
            if !row.finished {
                sel.push(i as i64);
                kept_rows.push(row);
                kept_logits.push(l);
            }
        }
        if kept_rows.is_empty() {
            break;
        }
        if sel.len() < old.len() {
            cache.select_rows(&Tensor::from_slice(&sel).to_device(device));
        }
        rows = kept_rows;
        logits = kept_logits;
    }
    Ok(out)
}

/// Appends a token to a row's output and constraint state; true when the row ends with it (a stop token or
/// `max_new_tokens`).
fn push_token(
    out: &mut Generation,
    state: &mut AnswerState,
    constraint: Option<&AnswerConstraint>,
    cfg: &GenerationConfig,
    tok: i64,
    lp: f32,
) -> bool {
    if let Some(c) = constraint {
        *state = c.advance(*state, tok).expect("chosen among allowed");
    }
    out.token_ids.push(tok);
    out.logprobs.push(lp);
    if cfg.stop_token_ids.contains(&tok) {
        out.finish_reason = FinishReason::Stop;
        return true;
    }
    out.token_ids.len() >= cfg.max_new_tokens
}

/// Feeds every row's tokens (right-padded to `width`) in one pass, fills in the log-probs of the forced
/// tokens (each scored by the logits of the position before it, under `softmax(logits / t)`) and returns
/// each row's logits after its last token.
fn feed_runs(
    model: &Qwen2VL,
    cache: &mut KvCache,
    rows: &[Row],
    width: usize,
    t: f64,
    out: &mut [Generation],
) -> Vec<Vec<f32>> {
    let device = model.device();
    let b = rows.len();
    let mut tokens = vec![0i64; b * width];
    let mut positions = vec![0i64; b * width];
    let mut mask = vec![0i64; b * width];
    for (i, row) in rows.iter().enumerate() {
        for k in 0..width {
            let j = i * width + k;
            if k < row.feed.len() {
                tokens[j] = row.feed[k];
                mask[j] = 1;
            }
            positions[j] = row.next_pos + k.min(row.feed.len() - 1) as i64;
        }
    }
    let shape = [b as i64, width as i64];
    let logits = model.extend(
        &Tensor::from_slice(&tokens).view(shape).to_device(device),
        &Tensor::from_slice(&positions).view(shape).to_device(device),
        &Tensor::from_slice(&mask).view(shape).to_device(device),
        cache,
    );
    let host = rows_to_host(&logits.reshape([(b * width) as i64, -1]));
    let mut next = Vec::with_capacity(b);
    for (i, row) in rows.iter().enumerate() {
        let len = row.feed.len();
        let gen = &mut out[row.out];
        let first = gen.token_ids.len() - len;
        for k in 1..len {
            gen.logprobs[first + k] = logprob(&host[i * width + k - 1], row.feed[k], t);
        }
        next.push(host[i * width + len - 1].clone());
    }
    next
}

/// log p(token) under softmax(logits / t), computed as [`GenerationConfig::choose`] reports it.
fn logprob(logits: &[f32], token: i64, t: f64) -> f32 {
    let scaled = |x: f32| x as f64 / t;
    let max = logits
        .iter()
        .map(|&x| scaled(x))
        .fold(f64::NEG_INFINITY, f64::max);
    let log_z = max
        + logits
            .iter()
            .map(|&x| (scaled(x) - max).exp())
            .sum::<f64>()
            .ln();
    (scaled(logits[token as usize]) - log_z) as f32
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

    /// Without top-k / top-p the vocabulary is not sorted, yet the same draw picks the same token as the
    /// sorted walk (which top_p < 1 still takes: a nucleus of 1.0 - 1e-12 keeps every token here).
    #[test]
    fn sampling_without_the_sort_picks_the_sorted_walks_token() {
        let logits: Vec<f32> = (0..5000u32)
            .map(|i| ((i.wrapping_mul(2_654_435_761) >> 7) % 1000) as f32 * 0.01 - 5.0)
            .collect();
        let unsorted = GenerationConfig {
            do_sample: true,
            temperature: 0.8,
            ..Default::default()
        };
        let sorted = GenerationConfig {
            top_p: 1.0 - 1e-12,
            ..unsorted.clone()
        };
        let draw = |cfg: &GenerationConfig| {
            let mut rng = ChaCha8Rng::seed_from_u64(21);
            (0..300)
                .map(|_| cfg.choose(&logits, None, None, &mut rng).0)
                .collect::<Vec<_>>()
        };
        let picks = draw(&unsorted);
        assert_eq!(picks, draw(&sorted));
        // Ties (many equal logits here) and the tail are both reached.
        assert!(picks.iter().collect::<std::collections::HashSet<_>>().len() > 100);
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
