//! Prompt-prefix caching: the keys and values of a prompt's leading text, computed once and reused.
//!
//! A navigation prompt starts with the system turn and the episode's instruction, then shows the frames;
//! in closed loop every decision of an episode repeats that prefix, so the VLM policy keeps its keys and
//! values per episode and each prefill runs only the rest (frames and the constant question after them).

use tch::{Kind, Tensor};

use crate::error::{AgentError, Result};
use crate::model::Qwen2VL;
use crate::processor::{Batch, Prompt};
use crate::text::{KvCache, PrefixKv};

/// Cache positions kept free after a prefill for the tokens decoding appends.
const DECODE_RESERVE: i64 = 64;

impl Qwen2VL {
    /// Keys and values of each token row, run as text from position 0 (one batched, left-padded pass).
    pub fn prefix_kv(&self, rows: &[Vec<i64>]) -> Result<Vec<PrefixKv>> {
        if rows.iter().any(Vec::is_empty) {
            return Err(AgentError::Input("an empty prompt prefix".into()));
        }
        let prompts: Vec<Prompt> = rows
            .iter()
            .map(|row| Prompt {
                input_ids: row.clone(),
                images: Vec::new(),
                videos: Vec::new(),
            })
            .collect();
        // The pad id is never read: padding is masked out of attention and not kept in the prefixes.
        let batch = Batch::collate(&prompts, &self.config, 0, self.device())?;
        let mut cache = self.new_cache();
        let _guard = tch::no_grad_guard();
        let _hidden = self.text.forward(
            &self.text.embed(&batch.input_ids),
            &batch.position_ids,
            &batch.attention_mask,
            Some(&mut cache),
        );
        Ok(rows
            .iter()
            .enumerate()
            .map(|(r, row)| cache.prefix(r as i64, row.clone()))
            .collect())
    }

    /// [`Qwen2VL::prefill_with`] for a batch whose row `r` starts with `prefixes[r]`'s tokens: only the rest
    /// of each prompt runs, attending to the cached prefix. `cache` is replaced. Returns the logits
    /// `[B, vocab]` of the last position, equal to a full prefill's up to float rounding.
    pub fn prefill_after_prefixes(
        &self,
        batch: &Batch,
        prefixes: &[&PrefixKv],
        cache: &mut KvCache,
        image_features: Option<&Tensor>,
    ) -> Result<Tensor> {
        let rest = self.rest_lengths(batch, prefixes)?;
        let s = batch.seq_len();
        let longest = rest.iter().copied().max().unwrap_or(1);
        // Left padding puts every row's rest in the last columns; the columns before a row's rest (its
        // padding and prefix) are masked out of this pass.
        let valid: Vec<i64> = rest
            .iter()
            .flat_map(|&n| (0..longest).map(move |c| i64::from(c >= longest - n)))
            .collect();
        let mask = Tensor::from_slice(&valid)
            .view([rest.len() as i64, longest])
            .to_device(self.device());
        let embeds =
            self.input_embeddings_with(batch, image_features)?
                .narrow(1, s - longest, longest);
        let positions = batch.position_ids.narrow(2, s - longest, longest);
        *cache = KvCache::from_prefixes(prefixes, longest + DECODE_RESERVE);
        let hidden = self.text.forward(&embeds, &positions, &mask, Some(cache));
        Ok(hidden
            .select(1, -1)
            .linear(self.lm_weight(), None::<Tensor>))
    }

    /// Per row, the prompt tokens after its prefix; an error when a row does not start with its prefix or
    /// has nothing after it.
    fn rest_lengths(&self, batch: &Batch, prefixes: &[&PrefixKv]) -> Result<Vec<i64>> {
        let b = batch.batch_size();
        if prefixes.len() != b {
            return Err(AgentError::Input(format!(
                "{} prompt prefixes for a batch of {b}",
                prefixes.len()
            )));
        }
        let s = batch.seq_len() as usize;
        let ids: Vec<i64> = Vec::try_from(batch.input_ids.to_kind(Kind::Int64).flatten(0, -1))
            .map_err(|e| AgentError::Input(format!("reading the batch's token ids: {e}")))?;
        let mut rest = Vec::with_capacity(b);
        for (r, p) in prefixes.iter().enumerate() {
            let len = batch.lengths[r];
            let row = &ids[r * s + s - len..(r + 1) * s];
            if !row.starts_with(&p.tokens) || p.tokens.len() >= len {
                return Err(AgentError::Input(format!(
                    "prompt row {r} ({len} tokens) does not start with its cached prefix ({} tokens) \
                     followed by more tokens",
                    p.tokens.len()
                )));
            }
            rest.push((len - p.tokens.len()) as i64);
        }
        Ok(rest)
    }
}
