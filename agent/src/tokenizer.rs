//! The Qwen2 byte-level BPE tokenizer, read from and written to `tokenizer.json` by Hugging Face's own
//! `tokenizers` crate, plus the Qwen2-VL special tokens the chat template and the model rely on.

use std::path::{Path, PathBuf};

use tokenizers::models::bpe::{BpeTrainer, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::normalizers::unicode::NFC;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

use crate::error::{AgentError, Result};

/// Qwen2-VL's special tokens in their canonical order (Qwen2-VL-2B puts them at 151643..=151656).
pub const SPECIAL_TOKEN_NAMES: [&str; 14] = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
];

/// Qwen2's pre-tokenisation regex (contractions, letters, single digits, punctuation runs, newlines, spaces).
const QWEN2_SPLIT_PATTERN: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// Ids of the special tokens the processor and generation need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialTokens {
    pub endoftext: i64,
    pub im_start: i64,
    pub im_end: i64,
    pub vision_start: i64,
    pub vision_end: i64,
    pub image_pad: i64,
    pub video_pad: i64,
}

impl SpecialTokens {
    /// The ids when the 14 special tokens are laid out consecutively from `first` in canonical order.
    pub fn at(first: i64) -> Self {
        SpecialTokens {
            endoftext: first,
            im_start: first + 1,
            im_end: first + 2,
            vision_start: first + 9,
            vision_end: first + 10,
            image_pad: first + 12,
            video_pad: first + 13,
        }
    }
}

/// A loaded tokenizer with its special token ids resolved.
pub struct Qwen2VLTokenizer {
    inner: Tokenizer,
    pub special: SpecialTokens,
    path: PathBuf,
}

impl Qwen2VLTokenizer {
    /// Reads `tokenizer.json` (the file itself or the checkpoint directory holding it).
    pub fn from_file(path: &Path) -> Result<Self> {
        let path = if path.is_dir() {
            path.join("tokenizer.json")
        } else {
            path.to_path_buf()
        };
        if !path.exists() {
            return Err(AgentError::Tokenizer {
                path,
                message: "file not found".into(),
            });
        }
        let inner = Tokenizer::from_file(&path).map_err(|e| AgentError::Tokenizer {
            path: path.clone(),
            message: e.to_string(),
        })?;
        Self::from_tokenizer(inner, path)
    }

    pub fn from_tokenizer(inner: Tokenizer, path: PathBuf) -> Result<Self> {
        let id = |name: &str| -> Result<i64> {
            inner
                .token_to_id(name)
                .map(i64::from)
                .ok_or_else(|| AgentError::Tokenizer {
                    path: path.clone(),
                    message: format!("special token {name} is missing"),
                })
        };
        let special = SpecialTokens {
            endoftext: id("<|endoftext|>")?,
            im_start: id("<|im_start|>")?,
            im_end: id("<|im_end|>")?,
            vision_start: id("<|vision_start|>")?,
            vision_end: id("<|vision_end|>")?,
            image_pad: id("<|image_pad|>")?,
            video_pad: id("<|video_pad|>")?,
        };
        Ok(Qwen2VLTokenizer {
            inner,
            special,
            path,
        })
    }

    /// Token ids of `text`; special-token strings in it become their single ids. Qwen2 adds no BOS.
    pub fn encode(&self, text: &str) -> Result<Vec<i64>> {
        let enc = self
            .inner
            .encode_fast(text, false)
            .map_err(|e| self.err(e))?;
        Ok(enc.get_ids().iter().map(|&i| i as i64).collect())
    }

    /// Every id the tokenizer can produce must be a row of the model's embedding (`vocab_size` rows, as
    /// `config` says): the largest id beyond it is an error naming this file, the token and its id.
    pub fn check_ids_within(&self, vocab_size: i64, config: &Path) -> Result<()> {
        let largest = self
            .inner
            .get_vocab(true)
            .into_iter()
            .max_by_key(|(_, id)| *id);
        match largest {
            Some((token, id)) if i64::from(id) >= vocab_size => Err(self.err(format!(
                "token {token:?} has id {id}, outside the model's vocabulary (vocab_size {vocab_size} in {})",
                config.display()
            ))),
            _ => Ok(()),
        }
    }

    pub fn decode(&self, ids: &[i64], skip_special_tokens: bool) -> Result<String> {
        let ids: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
        self.inner
            .decode(&ids, skip_special_tokens)
            .map_err(|e| self.err(e))
    }

    pub fn token_to_id(&self, token: &str) -> Option<i64> {
        self.inner.token_to_id(token).map(i64::from)
    }

    /// Number of ids, added tokens included (the embedding must have at least this many rows).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }

    fn err(&self, e: impl std::fmt::Display) -> AgentError {
        AgentError::Tokenizer {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }
}

/// Trains a Qwen2-style byte-level BPE (NFC, Qwen2 split regex, byte-level alphabet) with `vocab_size` entries on
/// `lines`, then appends the 14 special tokens right after the learned vocabulary, in canonical order.
///
/// Putting them after a small vocabulary (instead of at 151643) keeps tiny models' embeddings small; the config's
/// token ids point to wherever they are, and transformers reads them from there too.
pub fn train_byte_level_bpe(lines: &[String], vocab_size: usize) -> Result<Tokenizer> {
    let err = |e: tokenizers::Error| AgentError::Tokenizer {
        path: PathBuf::from("<training>"),
        message: e.to_string(),
    };
    let split = Split::new(
        SplitPattern::Regex(QWEN2_SPLIT_PATTERN.into()),
        SplitDelimiterBehavior::Isolated,
        false,
    )
    .map_err(err)?;
    let byte_level = ByteLevel::new(false, false, false);
    let mut tokenizer = Tokenizer::new(BPE::default());
    tokenizer.with_normalizer(Some(NFC));
    tokenizer.with_pre_tokenizer(Some(Sequence::new(vec![split.into(), byte_level.into()])));
    tokenizer.with_post_processor(Some(ByteLevel::new(false, false, false)));
    tokenizer.with_decoder(Some(ByteLevel::new(false, false, false)));
    let alphabet = ByteLevel::alphabet().into_iter().collect();
    let mut trainer: TrainerWrapper = BpeTrainer::builder()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .initial_alphabet(alphabet)
        .build()
        .into();
    tokenizer.train(&mut trainer, lines.iter()).map_err(err)?;
    let specials: Vec<AddedToken> = SPECIAL_TOKEN_NAMES
        .iter()
        .map(|s| AddedToken::from(*s, true))
        .collect();
    tokenizer.add_special_tokens(&specials);
    Ok(tokenizer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> Vec<String> {
        (0..200)
            .map(|i| format!("Walk forward {} meters, then turn left at the kitchen door and stop near chair {i}.", i % 7))
            .collect()
    }

    #[test]
    fn trained_tokenizer_round_trips_and_keeps_special_tokens_whole() {
        let tok = train_byte_level_bpe(&corpus(), 400).unwrap();
        let base = tok.get_vocab_size(false) as i64;
        let t = Qwen2VLTokenizer::from_tokenizer(tok, "t.json".into()).unwrap();
        assert_eq!(t.special, SpecialTokens::at(base));
        let text = "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>Turn left 30°, ünïcode ok.<|im_end|>\n";
        let ids = t.encode(text).unwrap();
        assert_eq!(ids[0], t.special.im_start);
        assert!(ids.contains(&t.special.image_pad));
        assert_eq!(t.decode(&ids, false).unwrap(), text);
        // Common words became single merges.
        assert!(t.encode(" forward").unwrap().len() == 1);
    }
}
