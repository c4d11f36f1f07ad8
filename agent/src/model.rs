//! `Qwen2VL`: vision tower + Qwen2 decoder + LM head, with the forward passes inference and training need.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::checkpoint::{load_var_store, tensor_names, write_atomic, write_safetensors};
use crate::config::Qwen2VLConfig;
use crate::error::{AgentError, Result};
use crate::processor::Batch;
use crate::text::{KvCache, TextModel};
use crate::vision::VisionTower;

pub struct Qwen2VL {
    pub config: Qwen2VLConfig,
    /// All parameters, named as in a Hugging Face checkpoint (`model.layers.0.self_attn.q_proj.weight`, …).
    pub vs: VarStore,
    vision: VisionTower,
    text: TextModel,
    /// `None` when the LM head is tied to the input embeddings.
    lm_head: Option<Tensor>,
}

/// Parses "float32" / "bfloat16" / "float16" (also "f32", "bf16", "f16").
pub fn parse_kind(s: &str) -> Option<Kind> {
    match s {
        "float32" | "f32" | "float" => Some(Kind::Float),
        "bfloat16" | "bf16" => Some(Kind::BFloat16),
        "float16" | "f16" | "half" => Some(Kind::Half),
        _ => None,
    }
}

pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::BFloat16 => "bfloat16",
        Kind::Half => "float16",
        _ => "float32",
    }
}

impl Qwen2VL {
    /// A model with every parameter zero (norm weights one), on `device` in `kind`. `tied` shares the LM head with
    /// the input embeddings.
    pub fn new(config: &Qwen2VLConfig, device: Device, kind: Kind, tied: bool) -> Qwen2VL {
        let mut vs = VarStore::new(device);
        vs.set_kind(kind);
        let root = vs.root();
        let vision = VisionTower::new(&(&root / "visual"), &config.vision);
        let text = TextModel::new(&(&root / "model"), &config.text);
        let lm_head = (!tied).then(|| {
            (&root / "lm_head").zeros("weight", &[config.text.vocab_size, config.text.hidden_size])
        });
        Qwen2VL {
            config: config.clone(),
            vs,
            vision,
            text,
            lm_head,
        }
    }

    /// Loads `config.json` and the safetensors weights of a checkpoint directory. The LM head is tied when the
    /// config says so or when the checkpoint has no `lm_head.weight` (untied checkpoints always store it).
    pub fn load(dir: &Path, device: Device, kind: Kind) -> Result<Qwen2VL> {
        let config = Qwen2VLConfig::from_file(dir)?;
        let tied =
            config.text.tie_word_embeddings || !tensor_names(dir)?.contains("lm_head.weight");
        let model = Qwen2VL::new(&config, device, kind, tied);
        load_var_store(&model.vs, dir)?;
        Ok(model)
    }

    pub fn device(&self) -> Device {
        self.vs.device()
    }

    pub fn kind(&self) -> Kind {
        self.vs.kind()
    }

    pub fn is_tied(&self) -> bool {
        self.lm_head.is_none()
    }

    pub fn num_parameters(&self) -> i64 {
        self.vs.variables().values().map(|t| t.numel() as i64).sum()
    }

    fn lm_weight(&self) -> &Tensor {
        self.lm_head.as_ref().unwrap_or(&self.text.embed_tokens)
    }

    /// transformers' initialisation, seeded: normal(0, initializer_range) for matrices (linear, embedding, conv),
    /// ones for norm weights, zeros for biases. Variables are filled in name order, so the result only depends on
    /// the seed and the shape.
    pub fn init_weights(&self, seed: u64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        tch::no_grad(|| {
            for (name, mut t) in vars {
                if t.dim() < 2 {
                    let v = if name.ends_with(".bias") { 0.0 } else { 1.0 };
                    let _ = t.f_fill_(v);
                    continue;
                }
                let std = if name.starts_with("visual.") {
                    self.config.vision.initializer_range
                } else {
                    self.config.text.initializer_range
                };
                let normal = Normal::new(0.0f32, std as f32).expect("positive std");
                let data: Vec<f32> = (0..t.numel()).map(|_| normal.sample(&mut rng)).collect();
                let src = Tensor::from_slice(&data).view(t.size().as_slice());
                let _ = t.f_copy_(&src);
            }
        });
    }

    /// Writes `config.json` and `model.safetensors` (HF layout, the model's dtype), each atomically.
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| AgentError::io(dir, e))?;
        let mut cfg = self.config.clone();
        cfg.dtype = Some(kind_name(self.kind()).into());
        cfg.text.tie_word_embeddings = self.is_tied();
        let json = serde_json::to_string_pretty(&cfg.to_hf_json()).expect("config serialises");
        write_atomic(&dir.join("config.json"), json.as_bytes())?;
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        write_safetensors(&vars, &dir.join("model.safetensors"))
    }

    /// Token embeddings with each image / video pad token replaced by its vision-tower output.
    pub fn input_embeddings(&self, batch: &Batch) -> Result<Tensor> {
        let mut embeds = self.text.embed(&batch.input_ids);
        for (pixels, grids, token, what) in [
            (
                &batch.pixel_values,
                &batch.image_grid_thw,
                self.config.image_token_id,
                "image",
            ),
            (
                &batch.pixel_values_videos,
                &batch.video_grid_thw,
                self.config.video_token_id,
                "video",
            ),
        ] {
            let Some(pixels) = pixels else { continue };
            let features = self.vision.forward(pixels, grids).to_kind(embeds.kind());
            let mask = match &batch.vision_region {
                Some(region) => batch.input_ids.eq(token).logical_and(region),
                None => batch.input_ids.eq(token),
            };
            let n_tokens = mask.sum(Kind::Int64).int64_value(&[]);
            if n_tokens != features.size()[0] {
                return Err(AgentError::Input(format!("{what} features and {what} tokens do not match: tokens {n_tokens}, features {}", features.size()[0])));
            }
            embeds = embeds.masked_scatter(&mask.unsqueeze(-1).expand_as(&embeds), &features);
        }
        Ok(embeds)
    }

    /// Final hidden states `[B, S, H]` of a full (uncached) pass.
    pub fn hidden_states(&self, batch: &Batch) -> Result<Tensor> {
        let embeds = self.input_embeddings(batch)?;
        Ok(self
            .text
            .forward(&embeds, &batch.position_ids, &batch.attention_mask, None))
    }

    /// Logits `[B, S, vocab]` of every position, in the model's dtype.
    pub fn forward(&self, batch: &Batch) -> Result<Tensor> {
        Ok(self
            .hidden_states(batch)?
            .linear(self.lm_weight(), None::<Tensor>))
    }

    /// Per-token log-probabilities `[B, S]` (f32, with gradients) of each completion token under
    /// `softmax(logits / temperature)`; 0 where `completion_mask` `[B, S]` is 0. Entry t scores token t given
    /// tokens < t. Only masked positions go through the LM head, which keeps memory at B·S·H, not B·S·vocab.
    pub fn forward_logprobs(
        &self,
        batch: &Batch,
        completion_mask: &Tensor,
        temperature: f64,
    ) -> Result<Tensor> {
        let (b, s) = (batch.batch_size() as i64, batch.seq_len());
        if completion_mask.size() != [b, s] {
            return Err(AgentError::Input(format!(
                "completion_mask has shape {:?}, the batch is [{b}, {s}]",
                completion_mask.size()
            )));
        }
        if temperature <= 0.0 {
            return Err(AgentError::Input(format!(
                "temperature must be positive, got {temperature}"
            )));
        }
        let hidden = self.hidden_states(batch)?;
        let h = hidden.size()[2];
        let predictors = hidden.narrow(1, 0, s - 1).reshape([-1, h]);
        let targets = batch.input_ids.narrow(1, 1, s - 1).reshape([-1]);
        let selected = completion_mask
            .narrow(1, 1, s - 1)
            .reshape([-1])
            .gt(0.0)
            .nonzero()
            .squeeze_dim(1);
        let logits = predictors
            .index_select(0, &selected)
            .linear(self.lm_weight(), None::<Tensor>)
            .to_kind(Kind::Float)
            / temperature;
        let lp = logits
            .log_softmax(-1, Kind::Float)
            .gather(1, &targets.index_select(0, &selected).unsqueeze(1), false)
            .squeeze_dim(1);
        let flat = Tensor::zeros([b * (s - 1)], (Kind::Float, hidden.device()))
            .index_copy(0, &selected, &lp);
        Ok(Tensor::cat(
            &[
                Tensor::zeros([b, 1], (Kind::Float, hidden.device())),
                flat.view([b, s - 1]),
            ],
            1,
        ))
    }

    /// Runs the prompt through the model, filling `cache`; returns the logits `[B, vocab]` of the last position.
    pub fn prefill(&self, batch: &Batch, cache: &mut KvCache) -> Result<Tensor> {
        let embeds = self.input_embeddings(batch)?;
        let hidden = self.text.forward(
            &embeds,
            &batch.position_ids,
            &batch.attention_mask,
            Some(cache),
        );
        Ok(hidden
            .select(1, -1)
            .linear(self.lm_weight(), None::<Tensor>))
    }

    /// One decoding step: `tokens` `[B]` at M-RoPE positions `positions` `[B]` (the same on all three rows, as
    /// text after the prompt). Returns logits `[B, vocab]`.
    pub fn decode_step(&self, tokens: &Tensor, positions: &Tensor, cache: &mut KvCache) -> Tensor {
        let b = tokens.size()[0];
        let embeds = self.text.embed(&tokens.view([b, 1]));
        let pos = positions.view([1, b, 1]).expand([3, b, 1], false);
        let mask = Tensor::ones([b, 1], (Kind::Int64, tokens.device()));
        let hidden = self.text.forward(&embeds, &pos, &mask, Some(cache));
        hidden.select(1, 0).linear(self.lm_weight(), None::<Tensor>)
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.config.text.num_hidden_layers as usize)
    }
}
