//! `Qwen2VLConfig`: the model shape read from a Hugging Face `config.json`.
//!
//! Two layouts exist in the wild: the legacy flat one (LLM fields at the top level, `rope_scaling`) and the newer
//! one with LLM fields under `text_config` (and `rope_parameters` in transformers v5). Text fields are looked up in
//! `text_config` first, then at the top level; missing fields take transformers' class defaults, so a checkpoint
//! means the same thing here as in transformers (Qwen2-VL-2B ships a vision_config with almost nothing in it).

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::error::{AgentError, Result};

/// Largest `vocab_size` accepted (Qwen2-VL: 151,936 to 152,064; the largest public vocabularies are ~256k).
pub const MAX_VOCAB_SIZE: i64 = 1 << 20;
/// Largest hidden width accepted, LLM `hidden_size` and vision `embed_dim` (the largest public LLMs: 16,384).
pub const MAX_HIDDEN_SIZE: i64 = 1 << 15;
/// Largest MLP width accepted, `intermediate_size` (Qwen2-VL-72B: 29,568).
pub const MAX_INTERMEDIATE_SIZE: i64 = 1 << 18;
/// Largest layer count accepted, `num_hidden_layers` and vision `depth` (Qwen2-VL-72B: 80).
pub const MAX_LAYERS: i64 = 1 << 10;
/// Largest head count accepted, `num_attention_heads`, `num_key_value_heads` and vision `num_heads`.
pub const MAX_HEADS: i64 = 1 << 10;
/// Largest `max_position_embeddings` accepted (Qwen2-VL: 32,768).
pub const MAX_POSITIONS: i64 = 1 << 24;
/// Largest vision `mlp_ratio` accepted (Qwen2-VL: 4).
pub const MAX_MLP_RATIO: f64 = 64.0;
/// Largest vision `patch_size`, `in_channels`, `spatial_merge_size` and `temporal_patch_size` accepted
/// (Qwen2-VL: 14, 3, 2, 2).
pub const MAX_PATCH_GEOMETRY: i64 = 64;

/// The Qwen2 decoder (LLM) half.
#[derive(Debug, Clone, PartialEq)]
pub struct TextConfig {
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub intermediate_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub num_key_value_heads: i64,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    /// Split of the rotary half-dimension between the temporal, height and width position rows.
    pub mrope_section: [i64; 3],
    pub max_position_embeddings: i64,
    pub tie_word_embeddings: bool,
    pub initializer_range: f64,
}

impl TextConfig {
    pub fn head_dim(&self) -> i64 {
        self.hidden_size / self.num_attention_heads
    }
}

/// The vision tower (ViT + patch merger).
#[derive(Debug, Clone, PartialEq)]
pub struct VisionConfig {
    pub depth: i64,
    pub embed_dim: i64,
    /// Output width of the patch merger; must equal the LLM hidden size.
    pub hidden_size: i64,
    pub num_heads: i64,
    pub mlp_ratio: f64,
    pub in_channels: i64,
    pub patch_size: i64,
    pub spatial_merge_size: i64,
    pub temporal_patch_size: i64,
    pub initializer_range: f64,
}

impl VisionConfig {
    pub fn head_dim(&self) -> i64 {
        self.embed_dim / self.num_heads
    }
    pub fn mlp_hidden(&self) -> i64 {
        (self.embed_dim as f64 * self.mlp_ratio) as i64
    }
    /// Length of one flattened patch row: channels × temporal × patch × patch (1176 for Qwen2-VL).
    pub fn patch_row_len(&self) -> i64 {
        self.in_channels * self.temporal_patch_size * self.patch_size * self.patch_size
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Qwen2VLConfig {
    pub text: TextConfig,
    pub vision: VisionConfig,
    pub image_token_id: i64,
    pub video_token_id: i64,
    pub vision_start_token_id: i64,
    pub vision_end_token_id: i64,
    pub bos_token_id: Option<i64>,
    pub eos_token_id: Option<i64>,
    /// `torch_dtype` / `dtype` as written in the file (e.g. "bfloat16"), if any.
    pub dtype: Option<String>,
}

/// Field lookup over the text_config-then-top-level view, with errors naming the file and field.
struct Fields<'a> {
    path: &'a Path,
    scopes: Vec<(&'a str, &'a Map<String, Value>)>,
}

impl<'a> Fields<'a> {
    fn get(&self, key: &str) -> Option<(String, &'a Value)> {
        self.scopes.iter().find_map(|(prefix, m)| {
            m.get(key)
                .filter(|v| !v.is_null())
                .map(|v| (format!("{prefix}{key}"), v))
        })
    }

    fn int(&self, key: &str, default: i64) -> Result<i64> {
        match self.get(key) {
            None => Ok(default),
            Some((name, v)) => v.as_i64().ok_or_else(|| {
                AgentError::config(self.path, name, format!("expected an integer, got {v}"))
            }),
        }
    }

    fn positive(&self, key: &str, default: i64) -> Result<i64> {
        let v = self.int(key, default)?;
        if v <= 0 {
            return Err(AgentError::config(
                self.path,
                self.name(key),
                format!("must be positive, got {v}"),
            ));
        }
        Ok(v)
    }

    /// A positive integer no larger than `max`.
    fn bounded(&self, key: &str, default: i64, max: i64) -> Result<i64> {
        let v = self.positive(key, default)?;
        if v > max {
            return Err(AgentError::config(
                self.path,
                self.name(key),
                format!("must be at most {max}, got {v}"),
            ));
        }
        Ok(v)
    }

    /// A finite number in `(0, max]`.
    fn positive_float(&self, key: &str, default: f64, max: f64) -> Result<f64> {
        let v = self.float(key, default)?;
        if !(v > 0.0 && v <= max) {
            return Err(AgentError::config(
                self.path,
                self.name(key),
                format!("must be in (0, {max}], got {v}"),
            ));
        }
        Ok(v)
    }

    /// The field's name as found (with its scope prefix), or `key` when it is absent.
    fn name(&self, key: &str) -> String {
        self.get(key)
            .map(|(n, _)| n)
            .unwrap_or_else(|| key.to_string())
    }

    fn float(&self, key: &str, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some((name, v)) => v.as_f64().ok_or_else(|| {
                AgentError::config(self.path, name, format!("expected a number, got {v}"))
            }),
        }
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some((name, v)) => v.as_bool().ok_or_else(|| {
                AgentError::config(self.path, name, format!("expected true/false, got {v}"))
            }),
        }
    }

    fn string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some((name, v)) => v.as_str().map(|s| Some(s.to_string())).ok_or_else(|| {
                AgentError::config(self.path, name, format!("expected a string, got {v}"))
            }),
        }
    }

    /// `eos_token_id` may be an integer or a list; the first entry is the one the model config means.
    fn token_id(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some((_, Value::Array(a))) if !a.is_empty() => Ok(a[0].as_i64()),
            Some((name, v)) => v.as_i64().map(Some).ok_or_else(|| {
                AgentError::config(self.path, name, format!("expected a token id, got {v}"))
            }),
        }
    }
}

impl Qwen2VLConfig {
    /// Reads `config.json` (the file itself or the checkpoint directory holding it).
    pub fn from_file(path: &Path) -> Result<Self> {
        let path: PathBuf = if path.is_dir() {
            path.join("config.json")
        } else {
            path.to_path_buf()
        };
        let text = std::fs::read_to_string(&path).map_err(|e| AgentError::io(&path, e))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| AgentError::Json {
            path: path.clone(),
            source: e,
        })?;
        Self::from_value(&value, &path)
    }

    /// Parses an already-decoded config; `path` is used in error messages only.
    pub fn from_value(value: &Value, path: &Path) -> Result<Self> {
        let root = value
            .as_object()
            .ok_or_else(|| AgentError::config(path, "<root>", "expected a JSON object"))?;
        let empty = Map::new();
        let object = |key: &str| -> Result<&Map<String, Value>> {
            match root.get(key) {
                None | Some(Value::Null) => Ok(&empty),
                Some(Value::Object(m)) => Ok(m),
                Some(v) => Err(AgentError::config(
                    path,
                    key,
                    format!("expected an object, got {v}"),
                )),
            }
        };
        if let Some(t) = root.get("model_type").and_then(Value::as_str) {
            if t != "qwen2_vl" {
                return Err(AgentError::config(
                    path,
                    "model_type",
                    format!("expected \"qwen2_vl\", got {t:?}"),
                ));
            }
        }
        let text_map = object("text_config")?;
        let vision_map = object("vision_config")?;
        let text = Fields {
            path,
            scopes: vec![("text_config.", text_map), ("", root)],
        };
        let top = Fields {
            path,
            scopes: vec![("", root)],
        };
        let vision = Fields {
            path,
            scopes: vec![("vision_config.", vision_map)],
        };

        let text_cfg = text_config(&text)?;
        let vision_cfg = vision_config(&vision, text_cfg.hidden_size)?;

        let cfg = Qwen2VLConfig {
            text: text_cfg,
            vision: vision_cfg,
            image_token_id: top.int("image_token_id", 151655)?,
            video_token_id: top.int("video_token_id", 151656)?,
            vision_start_token_id: top.int("vision_start_token_id", 151652)?,
            vision_end_token_id: top.int("vision_end_token_id", 151653)?,
            bos_token_id: text.token_id("bos_token_id")?,
            eos_token_id: text.token_id("eos_token_id")?,
            dtype: match top.string("torch_dtype")? {
                Some(d) => Some(d),
                None => text.string("dtype")?,
            },
        };
        check_token_ids(path, &cfg)?;
        Ok(cfg)
    }

    /// A lower bound on the model's parameter count: the embedding, the decoder layers' projections and the
    /// vision blocks' and patch embedding's matrices (norms, biases, the merger and an untied LM head left out).
    /// Every size is bounded by the limits above, so this cannot overflow.
    pub fn min_parameters(&self) -> u64 {
        let t = &self.text;
        let v = &self.vision;
        let (h, e) = (t.hidden_size as u64, v.embed_dim as u64);
        let layer = 2 * h * h + 3 * h * t.intermediate_size as u64;
        let block = 4 * e * e + 2 * e * v.mlp_hidden() as u64;
        t.vocab_size as u64 * h
            + t.num_hidden_layers as u64 * layer
            + v.depth as u64 * block
            + e * v.patch_row_len() as u64
    }

    /// The config as transformers writes it (nested `text_config`), with the LLM fields repeated at the top level so
    /// that readers of the legacy flat layout load it too.
    pub fn to_hf_json(&self) -> Value {
        let t = &self.text;
        let v = &self.vision;
        let dtype = self.dtype.clone().unwrap_or_else(|| "float32".into());
        let mut text = json!({
            "model_type": "qwen2_vl_text",
            "vocab_size": t.vocab_size,
            "hidden_size": t.hidden_size,
            "intermediate_size": t.intermediate_size,
            "num_hidden_layers": t.num_hidden_layers,
            "num_attention_heads": t.num_attention_heads,
            "num_key_value_heads": t.num_key_value_heads,
            "hidden_act": "silu",
            "rms_norm_eps": t.rms_norm_eps,
            "rope_theta": t.rope_theta,
            "rope_scaling": {"type": "mrope", "rope_type": "default", "mrope_section": t.mrope_section},
            "max_position_embeddings": t.max_position_embeddings,
            "tie_word_embeddings": t.tie_word_embeddings,
            "initializer_range": t.initializer_range,
            "use_sliding_window": false,
            "attention_dropout": 0.0,
            "use_cache": true,
        });
        let ids = text.as_object_mut().expect("object literal");
        if let Some(b) = self.bos_token_id {
            ids.insert("bos_token_id".into(), b.into());
        }
        if let Some(e) = self.eos_token_id {
            ids.insert("eos_token_id".into(), e.into());
        }
        let mut root = json!({
            "architectures": ["Qwen2VLForConditionalGeneration"],
            "model_type": "qwen2_vl",
            "torch_dtype": dtype,
            "image_token_id": self.image_token_id,
            "video_token_id": self.video_token_id,
            "vision_start_token_id": self.vision_start_token_id,
            "vision_end_token_id": self.vision_end_token_id,
            "vision_config": {
                "model_type": "qwen2_vl",
                "depth": v.depth,
                "embed_dim": v.embed_dim,
                "hidden_size": v.hidden_size,
                "hidden_act": "quick_gelu",
                // Hugging Face writes (and newer transformers validates) this field as an integer.
                "mlp_ratio": whole_as_integer(v.mlp_ratio),
                "num_heads": v.num_heads,
                "in_channels": v.in_channels,
                "patch_size": v.patch_size,
                "spatial_merge_size": v.spatial_merge_size,
                "temporal_patch_size": v.temporal_patch_size,
                "initializer_range": v.initializer_range,
            },
        });
        let top = root.as_object_mut().expect("object literal");
        for (k, val) in text.as_object().expect("object literal") {
            if k != "model_type" {
                top.insert(k.clone(), val.clone());
            }
        }
        top.insert("text_config".into(), text);
        root
    }
}

/// A whole number as a JSON integer (4, not 4.0), any other as a float.
fn whole_as_integer(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// The LLM's fields (`text_config`, or the legacy flat layout), checked.
fn text_config(text: &Fields) -> Result<TextConfig> {
    let path = text.path;
    let act = text.string("hidden_act")?.unwrap_or_else(|| "silu".into());
    if act != "silu" {
        return Err(AgentError::config(
            path,
            "hidden_act",
            format!("only \"silu\" is supported, got {act:?}"),
        ));
    }
    if text.boolean("use_sliding_window", false)? {
        return Err(AgentError::config(
            path,
            "use_sliding_window",
            "sliding-window attention is not supported",
        ));
    }
    let (rope_theta, mrope_section) = rope(path, text)?;

    let hidden_size = text.bounded("hidden_size", 8192, MAX_HIDDEN_SIZE)?;
    let num_attention_heads = text.bounded("num_attention_heads", 64, MAX_HEADS)?;
    let num_key_value_heads =
        text.bounded("num_key_value_heads", num_attention_heads, MAX_HEADS)?;
    let cfg = TextConfig {
        vocab_size: text.bounded("vocab_size", 152064, MAX_VOCAB_SIZE)?,
        hidden_size,
        intermediate_size: text.bounded("intermediate_size", 29568, MAX_INTERMEDIATE_SIZE)?,
        num_hidden_layers: text.bounded("num_hidden_layers", 80, MAX_LAYERS)?,
        num_attention_heads,
        num_key_value_heads,
        rms_norm_eps: text.positive_float("rms_norm_eps", 1e-5, 1.0)?,
        rope_theta,
        mrope_section,
        max_position_embeddings: text.bounded("max_position_embeddings", 32768, MAX_POSITIONS)?,
        tie_word_embeddings: text.boolean("tie_word_embeddings", false)?,
        initializer_range: text.float("initializer_range", 0.02)?,
    };
    if hidden_size % num_attention_heads != 0 {
        return Err(AgentError::config(
            path,
            "num_attention_heads",
            format!("{num_attention_heads} does not divide hidden_size {hidden_size}"),
        ));
    }
    if num_attention_heads % num_key_value_heads != 0 {
        return Err(AgentError::config(
            path,
            "num_key_value_heads",
            format!(
                "{num_key_value_heads} does not divide num_attention_heads {num_attention_heads}"
            ),
        ));
    }
    if mrope_section.iter().sum::<i64>() * 2 != cfg.head_dim() {
        return Err(AgentError::config(
            path,
            "rope_scaling.mrope_section",
            format!(
                "{mrope_section:?} must sum to head_dim/2 = {}",
                cfg.head_dim() / 2
            ),
        ));
    }
    Ok(cfg)
}

/// The vision tower's fields (`vision_config`), checked against the LLM's `hidden_size`.
fn vision_config(vision: &Fields, hidden_size: i64) -> Result<VisionConfig> {
    let path = vision.path;
    let vact = vision
        .string("hidden_act")?
        .unwrap_or_else(|| "quick_gelu".into());
    if vact != "quick_gelu" {
        return Err(AgentError::config(
            path,
            "vision_config.hidden_act",
            format!("only \"quick_gelu\" is supported, got {vact:?}"),
        ));
    }
    let geometry = |key: &str, default: i64| vision.bounded(key, default, MAX_PATCH_GEOMETRY);
    let cfg = VisionConfig {
        depth: vision.bounded("depth", 32, MAX_LAYERS)?,
        embed_dim: vision.bounded("embed_dim", 1280, MAX_HIDDEN_SIZE)?,
        hidden_size: vision.bounded("hidden_size", 3584, MAX_HIDDEN_SIZE)?,
        num_heads: vision.bounded("num_heads", 16, MAX_HEADS)?,
        mlp_ratio: vision.positive_float("mlp_ratio", 4.0, MAX_MLP_RATIO)?,
        in_channels: geometry("in_channels", 3)?,
        patch_size: geometry("patch_size", 14)?,
        spatial_merge_size: geometry("spatial_merge_size", 2)?,
        temporal_patch_size: geometry("temporal_patch_size", 2)?,
        initializer_range: vision.float("initializer_range", 0.02)?,
    };
    if cfg.mlp_hidden() < 1 {
        return Err(AgentError::config(
            path,
            "vision_config.mlp_ratio",
            format!(
                "{} times embed_dim {} leaves an empty MLP",
                cfg.mlp_ratio, cfg.embed_dim
            ),
        ));
    }
    if cfg.embed_dim % cfg.num_heads != 0 || cfg.head_dim() % 4 != 0 {
        return Err(AgentError::config(
            path,
            "vision_config.num_heads",
            "embed_dim/num_heads must be a multiple of 4 (2-D rotary)",
        ));
    }
    if cfg.hidden_size != hidden_size {
        return Err(AgentError::config(
            path,
            "vision_config.hidden_size",
            format!(
                "merger output {} must equal the LLM hidden_size {hidden_size}",
                cfg.hidden_size
            ),
        ));
    }
    Ok(cfg)
}

/// The special tokens must be ids of the vocabulary.
fn check_token_ids(path: &Path, cfg: &Qwen2VLConfig) -> Result<()> {
    for (field, id) in [
        ("image_token_id", cfg.image_token_id),
        ("video_token_id", cfg.video_token_id),
        ("vision_start_token_id", cfg.vision_start_token_id),
        ("vision_end_token_id", cfg.vision_end_token_id),
    ] {
        if id < 0 || id >= cfg.text.vocab_size {
            return Err(AgentError::config(
                path,
                field,
                format!(
                    "{id} is outside the vocabulary (vocab_size {})",
                    cfg.text.vocab_size
                ),
            ));
        }
    }
    Ok(())
}

/// rope_theta and mrope_section from `rope_scaling` (v4) or `rope_parameters` (v5). Only the multimodal default
/// rope is implemented; a scaled variant would silently change every logit, so it is refused.
fn rope(path: &Path, text: &Fields) -> Result<(f64, [i64; 3])> {
    let (name, params) = match text
        .get("rope_parameters")
        .or_else(|| text.get("rope_scaling"))
    {
        Some((name, Value::Object(m))) => (name, m),
        Some((name, v)) => {
            return Err(AgentError::config(
                path,
                name,
                format!("expected an object, got {v}"),
            ))
        }
        None => {
            return Err(AgentError::config(
                path,
                "rope_scaling",
                "missing; Qwen2-VL needs rope_scaling.mrope_section",
            ))
        }
    };
    let kind = params
        .get("rope_type")
        .or_else(|| params.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    if kind != "default" && kind != "mrope" {
        return Err(AgentError::config(
            path,
            format!("{name}.rope_type"),
            format!("only \"mrope\"/\"default\" rope is supported, got {kind:?}"),
        ));
    }
    let section = params
        .get("mrope_section")
        .and_then(Value::as_array)
        .filter(|a| a.len() == 3)
        .and_then(|a| Some([a[0].as_i64()?, a[1].as_i64()?, a[2].as_i64()?]))
        .ok_or_else(|| {
            AgentError::config(
                path,
                format!("{name}.mrope_section"),
                "expected three integers",
            )
        })?;
    if let Some(s) = section.iter().find(|&&s| s < 0) {
        return Err(AgentError::config(
            path,
            format!("{name}.mrope_section"),
            format!("{section:?} has a negative section {s}"),
        ));
    }
    let theta = match params.get("rope_theta").and_then(Value::as_f64) {
        Some(t) => t,
        None => text.float("rope_theta", 1_000_000.0)?,
    };
    if !(theta.is_finite() && theta > 0.0) {
        return Err(AgentError::config(
            path,
            "rope_theta",
            format!("must be a positive number, got {theta}"),
        ));
    }
    Ok((theta, section))
}

/// Named shapes for `vln-r1 model init`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// A few million parameters: CPU tests and smoke runs.
    Tiny,
    /// Tens of millions of parameters: CPU training experiments.
    Small,
    /// Qwen2-VL-2B's shapes.
    Qwen2VL2B,
}

impl std::str::FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "tiny" => Ok(Preset::Tiny),
            "small" => Ok(Preset::Small),
            "2b" => Ok(Preset::Qwen2VL2B),
            _ => Err(format!("unknown preset {s:?} (expected tiny, small or 2b)")),
        }
    }
}

impl Preset {
    /// The model shape for a tokenizer whose special tokens start at `first_special_id` (see `init`), with
    /// `vocab_size` rows in the embedding.
    pub fn config(self, vocab_size: i64, first_special_id: i64) -> Qwen2VLConfig {
        let (text, vision) = match self {
            Preset::Tiny => (
                TextConfig {
                    vocab_size,
                    hidden_size: 128,
                    intermediate_size: 384,
                    num_hidden_layers: 4,
                    num_attention_heads: 4,
                    num_key_value_heads: 2,
                    rms_norm_eps: 1e-6,
                    rope_theta: 1_000_000.0,
                    mrope_section: [4, 6, 6],
                    max_position_embeddings: 32768,
                    tie_word_embeddings: true,
                    initializer_range: 0.02,
                },
                VisionConfig {
                    depth: 2,
                    embed_dim: 64,
                    hidden_size: 128,
                    num_heads: 4,
                    mlp_ratio: 4.0,
                    in_channels: 3,
                    patch_size: 14,
                    spatial_merge_size: 2,
                    temporal_patch_size: 2,
                    initializer_range: 0.02,
                },
            ),
            Preset::Small => (
                TextConfig {
                    vocab_size,
                    hidden_size: 512,
                    intermediate_size: 1536,
                    num_hidden_layers: 8,
                    num_attention_heads: 8,
                    num_key_value_heads: 2,
                    rms_norm_eps: 1e-6,
                    rope_theta: 1_000_000.0,
                    mrope_section: [8, 12, 12],
                    max_position_embeddings: 32768,
                    tie_word_embeddings: true,
                    initializer_range: 0.02,
                },
                VisionConfig {
                    depth: 6,
                    embed_dim: 256,
                    hidden_size: 512,
                    num_heads: 4,
                    mlp_ratio: 4.0,
                    in_channels: 3,
                    patch_size: 14,
                    spatial_merge_size: 2,
                    temporal_patch_size: 2,
                    initializer_range: 0.02,
                },
            ),
            Preset::Qwen2VL2B => (
                TextConfig {
                    vocab_size: vocab_size.max(151936),
                    hidden_size: 1536,
                    intermediate_size: 8960,
                    num_hidden_layers: 28,
                    num_attention_heads: 12,
                    num_key_value_heads: 2,
                    rms_norm_eps: 1e-6,
                    rope_theta: 1_000_000.0,
                    mrope_section: [16, 24, 24],
                    max_position_embeddings: 32768,
                    tie_word_embeddings: true,
                    initializer_range: 0.02,
                },
                VisionConfig {
                    depth: 32,
                    embed_dim: 1280,
                    hidden_size: 1536,
                    num_heads: 16,
                    mlp_ratio: 4.0,
                    in_channels: 3,
                    patch_size: 14,
                    spatial_merge_size: 2,
                    temporal_patch_size: 2,
                    initializer_range: 0.02,
                },
            ),
        };
        let special = crate::tokenizer::SpecialTokens::at(first_special_id);
        Qwen2VLConfig {
            text,
            vision,
            image_token_id: special.image_pad,
            video_token_id: special.video_pad,
            vision_start_token_id: special.vision_start,
            vision_end_token_id: special.vision_end,
            bos_token_id: Some(special.endoftext),
            eos_token_id: Some(special.im_end),
            dtype: Some(
                if self == Preset::Qwen2VL2B {
                    "bfloat16"
                } else {
                    "float32"
                }
                .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<Qwen2VLConfig> {
        Qwen2VLConfig::from_value(&v, Path::new("config.json"))
    }

    /// Qwen2-VL-2B-Instruct's legacy flat config: the vision tower comes entirely from class defaults.
    #[test]
    fn legacy_flat_2b_config_fills_vision_defaults() {
        let cfg = parse(json!({
            "model_type": "qwen2_vl", "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
            "num_attention_heads": 12, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
            "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}, "tie_word_embeddings": true,
            "vocab_size": 151936, "eos_token_id": 151645,
            "vision_config": {"hidden_size": 1536, "in_chans": 3, "spatial_patch_size": 14}
        }))
        .unwrap();
        assert_eq!(cfg.vision.depth, 32);
        assert_eq!(cfg.vision.embed_dim, 1280);
        assert_eq!(cfg.vision.num_heads, 16);
        assert_eq!(cfg.vision.patch_row_len(), 1176);
        assert_eq!(cfg.text.head_dim(), 128);
        assert_eq!(cfg.text.mrope_section, [16, 24, 24]);
        assert!(cfg.text.tie_word_embeddings);
        assert_eq!(cfg.image_token_id, 151655);
        assert_eq!(cfg.eos_token_id, Some(151645));
    }

    #[test]
    fn nested_v5_config_with_rope_parameters() {
        let cfg = parse(json!({
            "model_type": "qwen2_vl", "image_token_id": 90, "video_token_id": 91, "vision_start_token_id": 88,
            "vision_end_token_id": 89,
            "text_config": {"hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4,
                "num_key_value_heads": 1, "vocab_size": 100,
                "rope_parameters": {"rope_type": "default", "rope_theta": 5000.0, "mrope_section": [2, 3, 3]}},
            "vision_config": {"depth": 1, "embed_dim": 32, "num_heads": 2, "hidden_size": 64}
        }))
        .unwrap();
        assert_eq!(cfg.text.rope_theta, 5000.0);
        assert_eq!(cfg.text.num_key_value_heads, 1);
        assert_eq!(cfg.image_token_id, 90);
        // Round trip through the file layout we write.
        let again = parse(cfg.to_hf_json()).unwrap();
        assert_eq!(again.text, cfg.text);
        assert_eq!(again.vision, cfg.vision);
        // As Hugging Face writes it: transformers 5 refuses a float here ("expected int, got float").
        assert_eq!(cfg.to_hf_json()["vision_config"]["mlp_ratio"], json!(4));
    }

    #[test]
    fn errors_name_the_field() {
        let base = json!({"hidden_size": 64, "num_attention_heads": 4, "vocab_size": 100,
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 4]}, "vision_config": {"hidden_size": 64}});
        let err = parse(base.clone()).unwrap_err().to_string();
        assert!(err.contains("rope_scaling.mrope_section"), "{err}");
        let mut v = base.clone();
        v["rope_scaling"]["mrope_section"] = json!([2, 3, 3]);
        v["num_hidden_layers"] = json!("two");
        let err = parse(v).unwrap_err().to_string();
        assert!(
            err.contains("num_hidden_layers") && err.contains("integer"),
            "{err}"
        );
        let mut v = base;
        v["rope_scaling"] = json!({"type": "yarn", "mrope_section": [2, 3, 3]});
        let err = parse(v).unwrap_err().to_string();
        assert!(err.contains("yarn"), "{err}");
    }

    #[test]
    fn vision_and_token_id_errors_name_the_field() {
        let base = json!({"hidden_size": 64, "num_attention_heads": 4, "vocab_size": 100,
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
            "vision_config": {"hidden_size": 64, "embed_dim": 32, "num_heads": 4},
            "image_token_id": 5, "video_token_id": 6, "vision_start_token_id": 7, "vision_end_token_id": 8});
        let cfg = parse(base.clone()).unwrap();
        assert_eq!((cfg.vision.embed_dim, cfg.image_token_id), (32, 5));
        let mut v = base.clone();
        v["vision_config"]["hidden_size"] = json!(32);
        let err = parse(v).unwrap_err().to_string();
        assert!(err.contains("vision_config.hidden_size"), "{err}");
        let mut v = base;
        v["vision_end_token_id"] = json!(100);
        let err = parse(v).unwrap_err().to_string();
        assert!(
            err.contains("vision_end_token_id") && err.contains("outside the vocabulary"),
            "{err}"
        );
    }

    #[test]
    fn absurd_sizes_and_negative_sections_are_errors_naming_the_field() {
        let base = json!({"hidden_size": 64, "num_attention_heads": 4, "vocab_size": 100,
            "intermediate_size": 96, "num_hidden_layers": 2,
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
            "vision_config": {"hidden_size": 64, "embed_dim": 32, "num_heads": 4},
            "image_token_id": 5, "video_token_id": 6, "vision_start_token_id": 7, "vision_end_token_id": 8});
        parse(base.clone()).unwrap();
        let huge = json!(1u64 << 40);
        let cases: Vec<(&str, Option<&str>, Value)> = vec![
            ("intermediate_size", None, huge.clone()),
            ("num_hidden_layers", None, huge.clone()),
            ("vocab_size", None, huge.clone()),
            ("hidden_size", None, huge.clone()),
            ("num_attention_heads", None, huge.clone()),
            ("num_key_value_heads", None, huge.clone()),
            ("max_position_embeddings", None, huge.clone()),
            ("rms_norm_eps", None, json!(-1.0)),
            ("rope_scaling.mrope_section", None, json!([-8, 12, 4])),
            ("vision_config.depth", Some("depth"), huge.clone()),
            ("vision_config.embed_dim", Some("embed_dim"), huge.clone()),
            ("vision_config.patch_size", Some("patch_size"), huge.clone()),
            ("vision_config.mlp_ratio", Some("mlp_ratio"), json!(-4.0)),
            ("vision_config.mlp_ratio", Some("mlp_ratio"), json!(1e300)),
            ("vision_config.mlp_ratio", Some("mlp_ratio"), json!(0.001)),
        ];
        for (field, vision_key, value) in cases {
            let mut v = base.clone();
            match (vision_key, field) {
                (Some(k), _) => v["vision_config"][k] = value.clone(),
                (None, "rope_scaling.mrope_section") => {
                    v["rope_scaling"]["mrope_section"] = value.clone()
                }
                (None, f) => v[f] = value.clone(),
            }
            let err = parse(v).unwrap_err().to_string();
            assert!(
                err.contains("config.json") && err.contains(&format!("`{field}`")),
                "{field} = {value}: {err}"
            );
        }
    }
}
