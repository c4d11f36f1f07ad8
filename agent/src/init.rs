//! Randomly initialised checkpoints in Hugging Face layout (`vln-r1 model init`): the model, a byte-level BPE
//! trained on navigation text, and the processor / generation files transformers needs to load the directory.
//!
//! Special tokens sit right after the learned vocabulary (ids `bpe_size..bpe_size+14`, in Qwen2-VL's order), not at
//! 151643: a tiny model would otherwise carry a 151k-row embedding. config.json's image/video/vision token ids
//! point to them, which is all transformers' model and processor read. The 2b preset keeps Qwen2-VL-2B's 151936
//! embedding rows (shape parity); rows past the tokenizer are unused.

use std::path::Path;

use episodes::{format_answer, Action, Prompt as NavPrompt, PromptConfig};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tch::{Device, Kind};

use crate::chat::CHAT_TEMPLATE_JINJA;
use crate::checkpoint::write_atomic;
use crate::config::{Preset, Qwen2VLConfig};
use crate::error::{AgentError, Result};
use crate::image_processor::ImageProcessorConfig;
use crate::model::{parse_kind, Qwen2VL};
use crate::tokenizer::{train_byte_level_bpe, SpecialTokens, SPECIAL_TOKEN_NAMES};

/// Byte-level BPE size (merges + 256 byte symbols) for each preset.
pub fn bpe_vocab_size(preset: Preset) -> usize {
    match preset {
        Preset::Tiny => 2048,
        Preset::Small | Preset::Qwen2VL2B => 4096,
    }
}

const VERBS: &[&str] = &[
    "Walk",
    "Go",
    "Head",
    "Move",
    "Continue",
    "Proceed",
    "Turn left and walk",
    "Turn right and go",
    "Exit",
    "Enter",
];
const PLACES: &[&str] = &[
    "the kitchen",
    "the bedroom",
    "the bathroom",
    "the hallway",
    "the living room",
    "the dining room",
    "the stairs",
    "the front door",
    "the office",
    "the laundry room",
    "the garage",
    "the closet",
    "the balcony",
    "the corridor",
];
const LANDMARKS: &[&str] = &[
    "the couch",
    "the table",
    "the bed",
    "the sink",
    "the fridge",
    "the painting",
    "the plant",
    "the lamp",
    "the rug",
    "the chair",
    "the mirror",
    "the fireplace",
    "the window",
    "the bookshelf",
    "the television",
    "the piano",
];
const RELATIONS: &[&str] = &[
    "past",
    "towards",
    "around",
    "through",
    "along",
    "next to",
    "in front of",
    "behind",
    "between",
];
const STOPS: &[&str] = &[
    "Stop there.",
    "Wait by the door.",
    "Stop when you reach it.",
    "You are done.",
    "Stop in the doorway.",
];

/// One plausible R2R-style instruction.
fn instruction(rng: &mut ChaCha8Rng) -> String {
    let mut parts = Vec::new();
    for _ in 0..rng.random_range(2..5) {
        let s = match rng.random_range(0..4) {
            0 => format!(
                "{} {} {}.",
                VERBS.choose(rng).unwrap(),
                RELATIONS.choose(rng).unwrap(),
                LANDMARKS.choose(rng).unwrap()
            ),
            1 => format!(
                "{} into {}.",
                VERBS.choose(rng).unwrap(),
                PLACES.choose(rng).unwrap()
            ),
            2 => format!(
                "Take {} steps {} {}.",
                rng.random_range(2..12),
                RELATIONS.choose(rng).unwrap(),
                PLACES.choose(rng).unwrap()
            ),
            _ => format!(
                "Turn {} at {} and go up the stairs.",
                ["left", "right", "around"].choose(rng).unwrap(),
                LANDMARKS.choose(rng).unwrap()
            ),
        };
        parts.push(s);
    }
    parts.push(STOPS.choose(rng).unwrap().to_string());
    parts.join(" ")
}

/// Training text for the tokenizer: instructions, the VLN-R1 prompts built by `episodes` for R2R and RxR
/// settings, and answers in the option format.
pub fn navigation_corpus(lines: usize, seed: u64) -> Vec<String> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let actions = [
        Action::MoveForward,
        Action::TurnLeft,
        Action::TurnRight,
        Action::Stop,
    ];
    let mut out = Vec::with_capacity(lines * 3);
    for i in 0..lines {
        let instr = instruction(&mut rng);
        let cfg = if i % 2 == 0 {
            PromptConfig::R2R
        } else {
            PromptConfig::RXR
        };
        if let Ok(p) = NavPrompt::build(&cfg, &instr, i % 9) {
            out.push(p.text);
        }
        let answer: Vec<Action> = (0..cfg.num_actions)
            .map(|_| *actions.choose(&mut rng).unwrap())
            .collect();
        if let Ok(a) = format_answer(&answer, &cfg.options()) {
            out.push(a);
        }
        out.push(instr);
    }
    out
}

/// Writes a randomly initialised checkpoint of `preset` into `out` (created if needed). `kind` overrides the
/// preset's dtype (float32 for tiny/small, bfloat16 for 2b).
pub fn init_checkpoint(
    preset: Preset,
    seed: u64,
    out: &Path,
    kind: Option<Kind>,
) -> Result<Qwen2VLConfig> {
    std::fs::create_dir_all(out).map_err(|e| AgentError::io(out, e))?;
    let corpus = navigation_corpus(1500, seed);
    let tokenizer = train_byte_level_bpe(&corpus, bpe_vocab_size(preset))?;
    let base = tokenizer.get_vocab_size(false) as i64;
    let cfg = preset.config(base + SPECIAL_TOKEN_NAMES.len() as i64, base);
    let kind = kind.unwrap_or_else(|| {
        cfg.dtype
            .as_deref()
            .and_then(parse_kind)
            .unwrap_or(Kind::Float)
    });
    let model = Qwen2VL::new(&cfg, Device::Cpu, kind, cfg.text.tie_word_embeddings);
    model.init_weights(seed)?;
    model.save(out)?;

    let tok_json = tokenizer
        .to_string(true)
        .map_err(|e| AgentError::Tokenizer {
            path: out.join("tokenizer.json"),
            message: e.to_string(),
        })?;
    write_atomic(&out.join("tokenizer.json"), tok_json.as_bytes())?;
    let sp = SpecialTokens::at(base);
    let added: serde_json::Map<String, serde_json::Value> = SPECIAL_TOKEN_NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let entry = json!({"content": name, "lstrip": false, "rstrip": false, "normalized": false, "single_word": false, "special": true});
            ((base + i as i64).to_string(), entry)
        })
        .collect();
    let files = [
        (
            "tokenizer_config.json",
            json!({
                "tokenizer_class": "Qwen2Tokenizer",
                "added_tokens_decoder": added,
                "additional_special_tokens": SPECIAL_TOKEN_NAMES,
                "bos_token": null,
                "eos_token": "<|im_end|>",
                "pad_token": "<|endoftext|>",
                "unk_token": null,
                "model_max_length": 32768,
                "padding_side": "left",
                "clean_up_tokenization_spaces": false,
                "split_special_tokens": false,
                "errors": "replace",
                "chat_template": CHAT_TEMPLATE_JINJA,
            }),
        ),
        (
            "chat_template.json",
            json!({ "chat_template": CHAT_TEMPLATE_JINJA }),
        ),
        (
            "preprocessor_config.json",
            ImageProcessorConfig::default().to_hf_json(),
        ),
        (
            "generation_config.json",
            json!({
                "bos_token_id": sp.endoftext,
                "eos_token_id": [sp.im_end, sp.endoftext],
                "pad_token_id": sp.endoftext,
                "do_sample": false,
            }),
        ),
    ];
    for (name, value) in files {
        let text = serde_json::to_string_pretty(&value).expect("json values serialise");
        write_atomic(&out.join(name), text.as_bytes())?;
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_is_seeded_and_holds_the_prompt_text() {
        let a = navigation_corpus(20, 1);
        assert_eq!(a, navigation_corpus(20, 1));
        assert_ne!(a, navigation_corpus(20, 2));
        assert!(a.iter().any(|l| l.contains("Move forward 25 cm")), "{a:?}");
    }
}
