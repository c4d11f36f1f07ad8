//! From the sample store to model batches: encoding a sample (VLN-R1 prompt with its frames + the expert
//! answer), the held-out split, the seeded epoch order (optionally grouped by length), and collation with the
//! answer-only loss mask. The store is read only through `episodes::SampleStore` (the one reader datagen's output has).

use std::collections::HashMap;
use std::path::Path;

use agent::chat::{navigation_chat, render_chat};
use agent::image_processor::{load_rgb, smart_resize};
use agent::{Batch, Pipeline, Processor, Prompt, Qwen2VLConfig};
use episodes::{Action, PromptConfig, Sample, SampleStore};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tch::{Device, Tensor};

use crate::error::{Result, SftError};

/// One sample ready to batch.
#[derive(Debug, Clone)]
pub struct EncodedSample {
    /// Global index in the store.
    pub index: u64,
    /// The prompt (chat template with the generation prompt, image tokens expanded) and its images.
    pub prompt: Prompt,
    /// The answer tokens followed by `<|im_end|>`: what the loss is computed on.
    pub completion: Vec<i64>,
    pub target: Vec<Action>,
    pub prompt_config: PromptConfig,
}

impl EncodedSample {
    pub fn num_tokens(&self) -> usize {
        self.prompt.input_ids.len() + self.completion.len()
    }
}

/// The tokens a model is trained to emit for `answer`: the answer text, then `<|im_end|>` (the chat
/// template's end of the assistant turn, which is also the stop token generation waits for).
pub fn completion_ids(processor: &Processor, answer: &str) -> Result<Vec<i64>> {
    let mut ids = processor.tokenizer.encode(answer)?;
    ids.push(processor.tokenizer.special.im_end);
    Ok(ids)
}

fn sample_err(store: &SampleStore, index: u64, message: String) -> SftError {
    SftError::Sample {
        store: store.root().to_owned(),
        index,
        message,
    }
}

/// The chat of a sample with its frames loaded from the store.
pub fn sample_chat(
    store: &SampleStore,
    index: u64,
    sample: &Sample,
) -> Result<Vec<agent::Message>> {
    let load = |rel: &str| {
        load_rgb(&store.frame_path(rel))
            .map_err(|e| sample_err(store, index, format!("frame {rel}: {e}")))
    };
    let history = sample
        .history_frames
        .iter()
        .map(|f| load(f))
        .collect::<Result<Vec<_>>>()?;
    let current = load(&sample.current_frame)?;
    navigation_chat(&sample.prompt, &sample.instruction, history, current)
        .map_err(|e| sample_err(store, index, e.to_string()))
}

/// Reads and encodes sample `index`.
pub fn encode_sample(
    store: &SampleStore,
    index: u64,
    processor: &Processor,
) -> Result<EncodedSample> {
    let sample = store.get(index)?;
    let chat = sample_chat(store, index, &sample)?;
    let prompt = processor
        .process_chat(&chat, true)
        .map_err(|e| sample_err(store, index, e.to_string()))?;
    let answer = sample
        .answer()
        .map_err(|e| sample_err(store, index, format!("field target: {e}")))?;
    Ok(EncodedSample {
        index,
        prompt,
        completion: completion_ids(processor, &answer)?,
        target: sample.target.clone(),
        prompt_config: sample.prompt,
    })
}

/// Sequence length of a sample (prompt + completion tokens) without decoding its frames: text tokens plus
/// each frame's token count from the image header. For grouping batches by length.
pub fn sample_length(store: &SampleStore, index: u64, processor: &Processor) -> Result<usize> {
    let sample = store.get(index)?;
    let prompt = sample
        .build_prompt()
        .map_err(|e| sample_err(store, index, e.to_string()))?;
    let chat = vec![agent::Message::text("user", prompt.text)];
    let (text, _) = render_chat(&chat, true);
    let mut n = processor.tokenizer.encode(&text)?.len();
    let img = &processor.image;
    let factor = img.patch_size * img.merge_size;
    for rel in sample.frames() {
        let path = store.frame_path(rel);
        let (w, h) = image::image_dimensions(&path)
            .map_err(|e| sample_err(store, index, format!("frame {rel}: {e}")))?;
        let (rh, rw) = smart_resize(h as i64, w as i64, factor, img.min_pixels, img.max_pixels)
            .map_err(|e| sample_err(store, index, format!("frame {rel}: {e}")))?;
        // The placeholder text became one `<|image_pad|>`, expanded to (h/14)(w/14)/4 tokens.
        n += (rh * rw / (factor * factor)) as usize;
        n -= 1;
    }
    let answer = sample
        .answer()
        .map_err(|e| sample_err(store, index, format!("field target: {e}")))?;
    Ok(n + completion_ids(processor, &answer)?.len())
}

/// FNV-1a, for a split that depends on the episode id alone (stable across runs, machines and stores).
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Splits the store by episode: an episode's samples are all in train or all in validation, so validation
/// never sees a frame of a trajectory it was trained on. `val_fraction` of the episodes (by hash) are held out.
pub fn split_by_episode(store: &SampleStore, val_fraction: f64) -> Result<(Vec<u64>, Vec<u64>)> {
    let (mut train, mut val) = (Vec::new(), Vec::new());
    let threshold = (val_fraction.clamp(0.0, 1.0) * 10_000.0).round() as u64;
    for i in 0..store.len() {
        let s = store.get(i)?;
        if fnv1a(&s.episode_id) % 10_000 < threshold {
            val.push(i);
        } else {
            train.push(i);
        }
    }
    Ok((train, val))
}

/// Copies per epoch of each sample given its next action: `round((n_max / n_action)^balance)`, at least 1,
/// so the most frequent action keeps one copy and rarer ones are repeated (a deterministic form of
/// PyTorch's `WeightedRandomSampler` that keeps every sample in every epoch).
pub fn balance_repeats(next_actions: &[Action], balance: f64) -> Vec<usize> {
    let mut counts: HashMap<Action, usize> = HashMap::new();
    for a in next_actions {
        *counts.entry(*a).or_default() += 1;
    }
    let n_max = counts.values().copied().max().unwrap_or(1) as f64;
    next_actions
        .iter()
        .map(|a| {
            let ratio = n_max / counts[a] as f64;
            (ratio.powf(balance).round() as usize).max(1)
        })
        .collect()
}

/// The training indices with each repeated as [`balance_repeats`] says (store order kept; the epoch
/// shuffle mixes the copies). `balance` 0 returns the indices unchanged without reading the store.
pub fn oversample_by_next_action(
    store: &SampleStore,
    indices: &[u64],
    balance: f64,
) -> Result<Vec<u64>> {
    if balance == 0.0 {
        return Ok(indices.to_vec());
    }
    let mut next = Vec::with_capacity(indices.len());
    for &i in indices {
        let sample = store.get(i)?;
        let first = *sample
            .target
            .first()
            .ok_or_else(|| sample_err(store, i, "field target: empty".into()))?;
        next.push(first);
    }
    let repeats = balance_repeats(&next, balance);
    Ok(indices
        .iter()
        .zip(repeats)
        .flat_map(|(&i, r)| std::iter::repeat_n(i, r))
        .collect())
}

/// Micro-batches of one epoch: a seeded shuffle (seed, epoch), then with `group_by_length`, as Hugging Face's
/// `LengthGroupedSampler`, mega-batches of 50 micro-batches sorted by length so each micro-batch pads little
/// while the order stays random. `lengths[k]` is the length of `indices[k]`. The last micro-batch may be short.
pub fn epoch_batches(
    indices: &[u64],
    lengths: &[usize],
    batch_size: usize,
    seed: u64,
    epoch: u64,
    group_by_length: bool,
) -> Vec<Vec<u64>> {
    let batch_size = batch_size.max(1);
    let mut order: Vec<usize> = (0..indices.len()).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    order.shuffle(&mut rng);
    if !group_by_length {
        return order
            .chunks(batch_size)
            .map(|c| c.iter().map(|&k| indices[k]).collect())
            .collect();
    }
    let mut out = Vec::with_capacity(indices.len().div_ceil(batch_size));
    for mega in order.chunks(batch_size.saturating_mul(50)) {
        let mut mega = mega.to_vec();
        // Stable sort: equal lengths keep the shuffled order.
        mega.sort_by(|&a, &b| lengths[b].cmp(&lengths[a]));
        for chunk in mega.chunks(batch_size) {
            out.push(chunk.iter().map(|&k| indices[k]).collect());
        }
    }
    out
}

/// A collated training batch.
#[derive(Debug)]
pub struct TrainBatch {
    pub batch: Batch,
    /// `[B, S]` f32: 1 on answer tokens (and the closing `<|im_end|>`), 0 on prompt, image and padding tokens.
    pub loss_mask: Tensor,
    /// Answer tokens in the batch (the mask's sum).
    pub num_answer_tokens: usize,
    /// Non-padding tokens in the batch.
    pub num_tokens: usize,
}

/// Left-pads the samples into one batch on `device` with the answer-only loss mask.
pub fn collate(
    samples: &[EncodedSample],
    config: &Qwen2VLConfig,
    pad_id: i64,
    device: Device,
) -> Result<TrainBatch> {
    let prompts: Vec<Prompt> = samples.iter().map(|s| s.prompt.clone()).collect();
    let completions: Vec<Vec<i64>> = samples.iter().map(|s| s.completion.clone()).collect();
    let (batch, loss_mask) =
        Batch::collate_with_completions(&prompts, &completions, config, pad_id, device)?;
    Ok(TrainBatch {
        batch,
        loss_mask,
        num_answer_tokens: samples.iter().map(|s| s.completion.len()).sum(),
        num_tokens: samples.iter().map(EncodedSample::num_tokens).sum(),
    })
}

/// Summed negative log-likelihood of the answer tokens of `batch` (a scalar with gradients), as VLN-R1's
/// SFT: prompt and image tokens carry no loss. Divide by the answer-token count of the whole optimizer step
/// to get the token-mean loss over the global batch.
pub fn answer_nll_sum(pipeline: &Pipeline, batch: &TrainBatch) -> Result<Tensor> {
    let logprobs = pipeline
        .model
        .forward_logprobs(&batch.batch, &batch.loss_mask, 1.0)?;
    Ok(-(logprobs * &batch.loss_mask).sum(tch::Kind::Float))
}

/// Length of every index, computed once per run (reads each sample's JSON and frame headers).
pub fn lengths(store: &SampleStore, indices: &[u64], processor: &Processor) -> Result<Vec<usize>> {
    indices
        .iter()
        .map(|&i| sample_length(store, i, processor))
        .collect()
}

/// Opens a store, naming it in the error.
pub fn open_store(path: &Path) -> Result<SampleStore> {
    Ok(SampleStore::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balance_repeats_rarer_next_actions() {
        use Action::*;
        // 16 FORWARD, 4 TURN_LEFT, 1 STOP.
        let mut actions = vec![MoveForward; 16];
        actions.extend([TurnLeft; 4]);
        actions.push(Stop);
        let copies = |a: Action, b: f64| {
            balance_repeats(&actions, b)[actions.iter().position(|x| *x == a).unwrap()]
        };
        // Off: everything once.
        assert!(balance_repeats(&actions, 0.0).iter().all(|&r| r == 1));
        // Full balance: each action ends with as many copies as FORWARD has samples.
        assert_eq!(
            (
                copies(MoveForward, 1.0),
                copies(TurnLeft, 1.0),
                copies(Stop, 1.0)
            ),
            (1, 4, 16)
        );
        // Square root: 16/4 -> 2, 16/1 -> 4.
        assert_eq!(
            (
                copies(MoveForward, 0.5),
                copies(TurnLeft, 0.5),
                copies(Stop, 0.5)
            ),
            (1, 2, 4)
        );
    }

    #[test]
    fn epoch_order_is_a_seeded_permutation_grouped_by_length_on_request() {
        let indices: Vec<u64> = (100..1000).collect();
        let lengths: Vec<usize> = (0..900).map(|k| (k * 7919) % 613).collect();
        for grouped in [false, true] {
            let batches = epoch_batches(&indices, &lengths, 4, 1, 0, grouped);
            let mut seen: Vec<u64> = batches.iter().flatten().copied().collect();
            seen.sort();
            assert_eq!(seen, indices, "every sample once (grouped: {grouped})");
            assert_eq!(batches, epoch_batches(&indices, &lengths, 4, 1, 0, grouped));
            assert_ne!(batches, epoch_batches(&indices, &lengths, 4, 1, 1, grouped));
            let len = |i: u64| lengths[(i - 100) as usize];
            // Within a mega-batch of 50 micro-batches, grouping sorts by length, longest first.
            let mega: Vec<usize> = batches[..50].iter().flatten().map(|&i| len(i)).collect();
            let sorted = mega.windows(2).all(|w| w[0] >= w[1]);
            assert_eq!(sorted, grouped);
        }
    }

    #[test]
    fn a_batch_larger_than_the_split_is_one_batch_even_grouped() {
        let indices: Vec<u64> = (0..10).collect();
        let lengths: Vec<usize> = (0..10).collect();
        for grouped in [false, true] {
            let batches = epoch_batches(&indices, &lengths, 1 << 63, 1, 0, grouped);
            assert_eq!(batches.len(), 1, "grouped: {grouped}");
            assert_eq!(batches[0].len(), 10);
        }
    }
}
