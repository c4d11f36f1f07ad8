//! `Pipeline`: a checkpoint directory loaded as model + processor, with chat-level generation and forward.
//! This is the entry point for the CLI, the navigation policy and the trainers.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tch::{Device, Kind, Tensor};

use episodes::PromptConfig;

use crate::chat::Message;
use crate::config::Qwen2VLConfig;
use crate::constrain::AnswerConstraint;
use crate::error::{AgentError, Result};
use crate::generate::{generate_with, GenerateOptions, Generation, GenerationConfig};
use crate::image_processor::PatchGrid;
use crate::model::Qwen2VL;
use crate::processor::{Batch, ImageInput, Processor, Prompt};

pub struct Pipeline {
    pub model: Qwen2VL,
    pub processor: Processor,
    /// Stop tokens from generation_config.json's eos_token_id, else `<|im_end|>` and `<|endoftext|>`.
    pub stop_token_ids: Vec<i64>,
    pub dir: PathBuf,
}

/// A generation with its decoded text (special tokens skipped).
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratedText {
    pub generation: Generation,
    pub text: String,
}

impl Pipeline {
    /// Loads a checkpoint directory and checks that tokenizer and config agree on the special token ids.
    pub fn load(dir: &Path, device: Device, kind: Kind) -> Result<Pipeline> {
        let processor = Processor::from_dir(dir)?;
        let config = Qwen2VLConfig::from_file(dir)?;
        processor
            .tokenizer
            .check_ids_within(config.text.vocab_size, &dir.join("config.json"))?;
        let model = Qwen2VL::load(dir, device, kind)?;
        let sp = processor.tokenizer.special;
        let cfg = &model.config;
        for (field, in_config, in_tokenizer) in [
            ("image_token_id", cfg.image_token_id, sp.image_pad),
            ("video_token_id", cfg.video_token_id, sp.video_pad),
            (
                "vision_start_token_id",
                cfg.vision_start_token_id,
                sp.vision_start,
            ),
        ] {
            if in_config != in_tokenizer {
                return Err(AgentError::config(
                    dir.join("config.json"),
                    field,
                    format!("{in_config} but tokenizer.json has the token at {in_tokenizer}"),
                ));
            }
        }
        if processor.image.patch_size != cfg.vision.patch_size
            || processor.image.merge_size != cfg.vision.spatial_merge_size
        {
            return Err(AgentError::config(
                dir.join("preprocessor_config.json"),
                "patch_size",
                "patch_size / merge_size differ from config.json's vision_config",
            ));
        }
        let stop_token_ids = read_eos_ids(dir)?.unwrap_or_else(|| vec![sp.im_end, sp.endoftext]);
        Ok(Pipeline {
            model,
            processor,
            stop_token_ids,
            dir: dir.to_path_buf(),
        })
    }

    pub fn pad_token_id(&self) -> i64 {
        self.processor.tokenizer.special.endoftext
    }

    /// Tokenised prompts (chat template with generation prompt) for each chat.
    pub fn prompts(&self, chats: &[Vec<Message>]) -> Result<Vec<Prompt>> {
        chats
            .iter()
            .map(|c| self.processor.process_chat(c, true))
            .collect()
    }

    pub fn collate(&self, prompts: &[Prompt]) -> Result<Batch> {
        Batch::collate(
            prompts,
            &self.model.config,
            self.pad_token_id(),
            self.model.device(),
        )
    }

    /// [`Self::collate`] with the images' pixels included or left to precomputed features.
    pub fn collate_for(&self, prompts: &[Prompt], images: ImageInput) -> Result<Batch> {
        Batch::collate_for(
            prompts,
            &self.model.config,
            self.pad_token_id(),
            self.model.device(),
            images,
        )
    }

    /// [`Self::collate_with_completions`] with the images' pixels included or left to precomputed features.
    pub fn collate_with_completions_for(
        &self,
        prompts: &[Prompt],
        completions: &[Vec<i64>],
        images: ImageInput,
    ) -> Result<(Batch, Tensor)> {
        Batch::collate_with_completions_for(
            prompts,
            completions,
            &self.model.config,
            self.pad_token_id(),
            self.model.device(),
            images,
        )
    }

    /// The vision tower's features `[tokens, hidden]` of preprocessed images, in order (one call for all).
    pub fn encode_images(&self, images: &[&PatchGrid]) -> Result<Tensor> {
        self.model.encode_images(images)
    }

    /// G sampled completions of every prompt from one batched prefill (each prompt's KV cache is repeated G
    /// times); prompt p's completions draw from `seeds[p]` only, so they are the ones a call with that prompt
    /// alone would sample. The batched entry point for GRPO rounds and for closed-loop RFT deciding for all its
    /// envs at once. Result `[p][j]`.
    pub fn generate_groups(
        &self,
        prompts: &[Prompt],
        completions_per_prompt: usize,
        cfg: &GenerationConfig,
        seeds: &[u64],
    ) -> Result<Vec<Vec<GeneratedText>>> {
        if prompts.is_empty() {
            return Ok(Vec::new());
        }
        let batch = self.collate(prompts)?;
        let opts = GenerateOptions {
            completions_per_prompt,
            prompt_seeds: Some(seeds),
            ..GenerateOptions::default()
        };
        let mut flat = self.generate_batch_with(&batch, cfg, &opts)?.into_iter();
        Ok((0..prompts.len())
            .map(|_| flat.by_ref().take(completions_per_prompt).collect())
            .collect())
    }

    /// Prompt + completion batch for training and the completion mask (see `Qwen2VL::forward_logprobs`).
    pub fn collate_with_completions(
        &self,
        prompts: &[Prompt],
        completions: &[Vec<i64>],
    ) -> Result<(Batch, Tensor)> {
        Batch::collate_with_completions(
            prompts,
            completions,
            &self.model.config,
            self.pad_token_id(),
            self.model.device(),
        )
    }

    /// Generates a reply to each chat. `cfg.stop_token_ids` empty means the checkpoint's stop tokens.
    pub fn generate(
        &self,
        chats: &[Vec<Message>],
        cfg: &GenerationConfig,
    ) -> Result<Vec<GeneratedText>> {
        self.generate_constrained(chats, cfg, &[])
    }

    pub fn generate_batch(
        &self,
        batch: &Batch,
        cfg: &GenerationConfig,
    ) -> Result<Vec<GeneratedText>> {
        self.generate_batch_constrained(batch, cfg, &[])
    }

    /// [`Pipeline::generate`] where chat i may only answer with `constraints[i]`'s answers (empty: free).
    pub fn generate_constrained(
        &self,
        chats: &[Vec<Message>],
        cfg: &GenerationConfig,
        constraints: &[&AnswerConstraint],
    ) -> Result<Vec<GeneratedText>> {
        let batch = self.collate(&self.prompts(chats)?)?;
        self.generate_batch_constrained(&batch, cfg, constraints)
    }

    /// The VLN-R1 answers of `prompt` as a decoding constraint, ending in this checkpoint's stop tokens.
    pub fn answer_constraint(&self, prompt: &PromptConfig) -> Result<AnswerConstraint> {
        AnswerConstraint::new(
            &self.processor.tokenizer,
            &prompt.options(),
            prompt.num_actions,
            &self.stop_token_ids,
        )
    }

    pub fn generate_batch_constrained(
        &self,
        batch: &Batch,
        cfg: &GenerationConfig,
        constraints: &[&AnswerConstraint],
    ) -> Result<Vec<GeneratedText>> {
        let opts = GenerateOptions {
            constraints,
            ..GenerateOptions::default()
        };
        self.generate_batch_with(batch, cfg, &opts)
    }

    /// Generation with every option of [`GenerateOptions`] (see [`generate_with`]), decoded to text.
    pub fn generate_batch_with(
        &self,
        batch: &Batch,
        cfg: &GenerationConfig,
        opts: &GenerateOptions<'_>,
    ) -> Result<Vec<GeneratedText>> {
        let mut cfg = cfg.clone();
        if cfg.stop_token_ids.is_empty() {
            cfg.stop_token_ids = self.stop_token_ids.clone();
        }
        generate_with(&self.model, batch, &cfg, opts)?
            .into_iter()
            .map(|g| {
                Ok(GeneratedText {
                    text: self.processor.tokenizer.decode(&g.token_ids, true)?,
                    generation: g,
                })
            })
            .collect()
    }

    /// Logits `[S, vocab]` (f32, CPU) of every position of one chat, as `model forward` writes them.
    pub fn chat_logits(
        &self,
        chat: &[Message],
        add_generation_prompt: bool,
    ) -> Result<(Prompt, Tensor)> {
        let prompt = self.processor.process_chat(chat, add_generation_prompt)?;
        let batch = self.collate(std::slice::from_ref(&prompt))?;
        let logits = tch::no_grad(|| self.model.forward(&batch))?;
        Ok((
            prompt,
            logits.get(0).to_kind(Kind::Float).to_device(Device::Cpu),
        ))
    }
}

fn read_eos_ids(dir: &Path) -> Result<Option<Vec<i64>>> {
    let path = dir.join("generation_config.json");
    if !path.exists() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| AgentError::io(&path, e))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| AgentError::Json {
        path: path.clone(),
        source: e,
    })?;
    match v.get("eos_token_id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_i64().ok_or_else(|| {
                    AgentError::config(
                        &path,
                        "eos_token_id",
                        format!("expected token ids, got {x}"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(x) => x.as_i64().map(|id| Some(vec![id])).ok_or_else(|| {
            AgentError::config(
                &path,
                "eos_token_id",
                format!("expected a token id, got {x}"),
            )
        }),
    }
}
