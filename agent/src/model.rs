//! `Qwen2VL`: vision tower + Qwen2 decoder + LM head, with the forward passes inference and training need.

use std::path::Path;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::checkpoint::{
    checkpoint_files, load_var_store, tensor_names, write_atomic, write_safetensors,
};
use crate::config::Qwen2VLConfig;
use crate::error::{AgentError, Result};
use crate::image_processor::PatchGrid;
use crate::processor::Batch;
use crate::text::{KvCache, TextModel};
use crate::vision::VisionTower;

pub struct Qwen2VL {
    pub config: Qwen2VLConfig,
    /// All parameters, named as in a Hugging Face checkpoint (`model.layers.0.self_attn.q_proj.weight`, …).
    pub vs: VarStore,
    vision: VisionTower,
    pub(crate) text: TextModel,
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

/// Bytes a stored parameter takes at least: bf16 / f16, the smallest dtypes a checkpoint may hold.
const MIN_BYTES_PER_PARAMETER: u64 = 2;

/// The model `config` describes must fit in the checkpoint's safetensors files: a `config.json` claiming far more
/// parameters than the files hold is refused before anything is allocated for them.
fn check_weights_fit(config: &Qwen2VLConfig, dir: &Path) -> Result<()> {
    let mut bytes = 0u64;
    for file in checkpoint_files(dir)? {
        let meta = std::fs::metadata(&file).map_err(|e| AgentError::io(&file, e))?;
        bytes = bytes.saturating_add(meta.len());
    }
    let params = config.min_parameters();
    if params.saturating_mul(MIN_BYTES_PER_PARAMETER) > bytes {
        return Err(AgentError::config(
            dir.join("config.json"),
            "<model size>",
            format!(
                "describes at least {params} parameters, but the safetensors files hold only {bytes} bytes"
            ),
        ));
    }
    Ok(())
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
        // Reading the names checks every file's header first, so a broken file is reported as such.
        let names = tensor_names(dir)?;
        check_weights_fit(&config, dir)?;
        let tied = config.text.tie_word_embeddings || !names.contains("lm_head.weight");
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

    pub(crate) fn lm_weight(&self) -> &Tensor {
        self.lm_head.as_ref().unwrap_or(&self.text.embed_tokens)
    }

    /// transformers' initialisation, seeded: normal(0, initializer_range) for matrices (linear, embedding, conv),
    /// ones for norm weights, zeros for biases. Variables are filled in name order, so the result only depends on
    /// the seed and the shape.
    pub fn init_weights(&self, seed: u64) -> Result<()> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut vars: Vec<(String, Tensor)> = self.vs.variables().into_iter().collect();
        vars.sort_by(|a, b| a.0.cmp(&b.0));
        tch::no_grad(|| {
            for (name, mut t) in vars {
                if t.dim() < 2 {
                    let v = if name.ends_with(".bias") { 0.0 } else { 1.0 };
                    // In place; the returned alias of `t` is not needed.
                    let _filled = t.f_fill_(v)?;
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
                t.f_copy_(&src)?;
            }
            Ok(())
        })
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

    /// The vision tower's merged embeddings `[tokens, hidden]` of patch rows `pixel_values` with `grids`. Items
    /// are encoded independently (block-diagonal attention), so an item's rows are the same whichever other
    /// items share the call: features can be cached per frame and concatenated later.
    pub fn image_features(&self, pixel_values: &Tensor, grids: &[[i64; 3]]) -> Tensor {
        self.vision.forward(pixel_values, grids)
    }

    /// [`Self::image_features`] of preprocessed images, in order, in one call.
    pub fn encode_images(&self, images: &[&PatchGrid]) -> Result<Tensor> {
        let row_len = self.config.vision.patch_row_len();
        let mut data = Vec::with_capacity(images.iter().map(|g| g.rows.len()).sum());
        for g in images {
            if g.rows.len() as i64 != g.num_patches() * row_len {
                return Err(AgentError::Input(format!(
                    "image grid {:?} has {} values, needs {}",
                    g.grid_thw,
                    g.rows.len(),
                    g.num_patches() * row_len
                )));
            }
            data.extend_from_slice(&g.rows);
        }
        let pixels = Tensor::from_slice(&data)
            .view([-1, row_len])
            .to_device(self.device());
        let grids: Vec<[i64; 3]> = images.iter().map(|g| g.grid_thw).collect();
        Ok(self.image_features(&pixels, &grids))
    }

    /// Token embeddings with each image / video pad token replaced by its vision-tower output.
    pub fn input_embeddings(&self, batch: &Batch) -> Result<Tensor> {
        self.input_embeddings_with(batch, None)
    }

    /// [`Self::input_embeddings`] where `image_features` (the batch's images in order, as
    /// [`Self::image_features`] returns them) stand in for encoding `batch.pixel_values`.
    pub fn input_embeddings_with(
        &self,
        batch: &Batch,
        image_features: Option<&Tensor>,
    ) -> Result<Tensor> {
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
            let given = image_features.filter(|_| what == "image");
            let features = match (given, pixels) {
                (Some(f), _) => f.to_kind(embeds.kind()),
                (None, Some(pixels)) => self.vision.forward(pixels, grids).to_kind(embeds.kind()),
                (None, None) if what == "image" && !grids.is_empty() => {
                    return Err(AgentError::Input(format!(
                        "the batch has {} images without pixels and no image features were given",
                        grids.len()
                    )))
                }
                (None, None) => continue,
            };
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
        self.hidden_states_with(batch, None)
    }

    fn hidden_states_with(&self, batch: &Batch, image_features: Option<&Tensor>) -> Result<Tensor> {
        let embeds = self.input_embeddings_with(batch, image_features)?;
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
        self.forward_logprobs_with(batch, completion_mask, temperature, None)
    }

    /// [`Self::forward_logprobs`] with precomputed image features (see [`Self::input_embeddings_with`]); they
    /// may carry gradients, which then flow into the vision tower once however many rows share them.
    pub fn forward_logprobs_with(
        &self,
        batch: &Batch,
        completion_mask: &Tensor,
        temperature: f64,
        image_features: Option<&Tensor>,
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
        let hidden = self.hidden_states_with(batch, image_features)?;
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

    /// Per-token log-probabilities `[R, L]` (f32, with gradients) of completions that continue shared prompts:
    /// each prompt row of `batch` runs once, its KV cache is repeated for the completions `prompt_of` assigns
    /// to it, and completion r's tokens (`completions` `[R, L]` i64, right-padded; `mask` `[R, L]` 1 on real
    /// tokens) are scored under `softmax(logits / temperature)`; 0 on padding. The values of
    /// [`Self::forward_logprobs`] on the joined sequences, with each prompt computed once instead of once per
    /// completion (gradients from all its completions add up in it).
    pub fn completion_logprobs(
        &self,
        batch: &Batch,
        image_features: Option<&Tensor>,
        prompt_of: &[i64],
        completions: &Tensor,
        mask: &Tensor,
        temperature: f64,
    ) -> Result<Tensor> {
        let (r, l) = (completions.size()[0], completions.size()[1]);
        if prompt_of.len() as i64 != r || mask.size() != [r, l] || l == 0 {
            return Err(AgentError::Input(format!(
                "{} prompt indices, completions {:?}, mask {:?}",
                prompt_of.len(),
                completions.size(),
                mask.size()
            )));
        }
        if let Some(&p) = prompt_of
            .iter()
            .find(|&&p| p < 0 || p as usize >= batch.batch_size())
        {
            return Err(AgentError::Input(format!(
                "prompt index {p} outside a batch of {}",
                batch.batch_size()
            )));
        }
        if temperature <= 0.0 {
            return Err(AgentError::Input(format!(
                "temperature must be positive, got {temperature}"
            )));
        }
        let device = completions.device();
        let mut cache = self.new_cache();
        let embeds = self.input_embeddings_with(batch, image_features)?;
        let prompt_hidden = self.text.forward(
            &embeds,
            &batch.position_ids,
            &batch.attention_mask,
            Some(&mut cache),
        );
        let rows = Tensor::from_slice(prompt_of).to_device(device);
        cache.select_rows(&rows);
        let s = batch.seq_len();
        let start: Vec<i64> = prompt_of
            .iter()
            .map(|&p| s + batch.rope_deltas[p as usize])
            .collect();
        let positions = Tensor::from_slice(&start).to_device(device).unsqueeze(1)
            + Tensor::arange(l, (Kind::Int64, device)).unsqueeze(0);
        let hidden = self.text.forward(
            &self.text.embed(completions),
            &positions.unsqueeze(0).expand([3, r, l], false),
            &mask.to_kind(Kind::Int64),
            Some(&mut cache),
        );
        // Token k is predicted by the position before it: the prompt's last one for k = 0.
        let last = prompt_hidden
            .select(1, -1)
            .index_select(0, &rows)
            .unsqueeze(1);
        let predictors = Tensor::cat(&[last, hidden.narrow(1, 0, l - 1)], 1);
        let h = predictors.size()[2];
        let selected = mask.reshape([-1]).gt(0.0).nonzero().squeeze_dim(1);
        let logits = predictors
            .reshape([-1, h])
            .index_select(0, &selected)
            .linear(self.lm_weight(), None::<Tensor>)
            .to_kind(Kind::Float)
            / temperature;
        let targets = completions.reshape([-1]).index_select(0, &selected);
        let lp = logits
            .log_softmax(-1, Kind::Float)
            .gather(1, &targets.unsqueeze(1), false)
            .squeeze_dim(1);
        Ok(Tensor::zeros([r * l], (Kind::Float, device))
            .index_copy(0, &selected, &lp)
            .view([r, l]))
    }

    /// Runs the prompt through the model, filling `cache`; returns the logits `[B, vocab]` of the last position.
    pub fn prefill(&self, batch: &Batch, cache: &mut KvCache) -> Result<Tensor> {
        self.prefill_with(batch, cache, None)
    }

    /// [`Self::prefill`] with precomputed image features (see [`Self::input_embeddings_with`]).
    pub fn prefill_with(
        &self,
        batch: &Batch,
        cache: &mut KvCache,
        image_features: Option<&Tensor>,
    ) -> Result<Tensor> {
        let embeds = self.input_embeddings_with(batch, image_features)?;
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

    /// Several text tokens per row after the cache: `tokens`, `positions` and `mask` `[B, L]` (mask 0 marks
    /// right padding, which later tokens never attend to). Returns logits `[B, L, vocab]`.
    pub fn extend(
        &self,
        tokens: &Tensor,
        positions: &Tensor,
        mask: &Tensor,
        cache: &mut KvCache,
    ) -> Tensor {
        let (b, l) = (tokens.size()[0], tokens.size()[1]);
        let embeds = self.text.embed(tokens);
        let pos = positions.unsqueeze(0).expand([3, b, l], false);
        let hidden = self.text.forward(&embeds, &pos, mask, Some(cache));
        hidden.linear(self.lm_weight(), None::<Tensor>)
    }

    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.config.text.num_hidden_layers as usize)
    }
}
