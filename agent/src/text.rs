//! The Qwen2 decoder with multimodal rotary embeddings (M-RoPE), grouped-query attention and a KV cache.

use tch::nn::Path;
use tch::{Kind, Tensor};

use crate::config::TextConfig;
use crate::layers::{inverse_frequencies, rotate_half, Linear, RmsNorm};

struct DecoderLayer {
    input_layernorm: RmsNorm,
    post_attention_layernorm: RmsNorm,
    q_proj: Linear,
    k_proj: Linear,
    v_proj: Linear,
    o_proj: Linear,
    gate_proj: Linear,
    up_proj: Linear,
    down_proj: Linear,
}

/// Keys and values of every layer for the tokens seen so far, plus which of them are real (not padding).
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    /// [B, K] bool: key j may be attended to.
    key_valid: Option<Tensor>,
}

impl KvCache {
    pub fn new(num_layers: usize) -> KvCache {
        KvCache {
            layers: (0..num_layers).map(|_| None).collect(),
            key_valid: None,
        }
    }

    /// Number of cached positions (padding included).
    pub fn len(&self) -> i64 {
        self.key_valid.as_ref().map_or(0, |k| k.size()[1])
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keeps only the batch rows in `rows` (e.g. to drop finished sequences).
    pub fn select_rows(&mut self, rows: &Tensor) {
        for (k, v) in self.layers.iter_mut().flatten() {
            *k = k.index_select(0, rows);
            *v = v.index_select(0, rows);
        }
        if let Some(kv) = &mut self.key_valid {
            *kv = kv.index_select(0, rows);
        }
    }
}

pub struct TextModel {
    cfg: TextConfig,
    pub embed_tokens: Tensor,
    layers: Vec<DecoderLayer>,
    norm: RmsNorm,
    inv_freq: Tensor,
}

impl TextModel {
    /// Parameters under `p` = `model`: `model.embed_tokens.weight`, `model.layers.{i}.…`, `model.norm.weight`.
    pub fn new(p: &Path, cfg: &TextConfig) -> TextModel {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        let hd = cfg.head_dim();
        let (nq, nkv) = (cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd);
        let layers = (0..cfg.num_hidden_layers)
            .map(|l| {
                let lp = p / "layers" / l;
                let a = &lp / "self_attn";
                let m = &lp / "mlp";
                DecoderLayer {
                    input_layernorm: RmsNorm::new(&lp, "input_layernorm", h, cfg.rms_norm_eps),
                    post_attention_layernorm: RmsNorm::new(
                        &lp,
                        "post_attention_layernorm",
                        h,
                        cfg.rms_norm_eps,
                    ),
                    q_proj: Linear::new(&a, "q_proj", h, nq, true),
                    k_proj: Linear::new(&a, "k_proj", h, nkv, true),
                    v_proj: Linear::new(&a, "v_proj", h, nkv, true),
                    o_proj: Linear::new(&a, "o_proj", nq, h, false),
                    gate_proj: Linear::new(&m, "gate_proj", h, i, false),
                    up_proj: Linear::new(&m, "up_proj", h, i, false),
                    down_proj: Linear::new(&m, "down_proj", i, h, false),
                }
            })
            .collect();
        TextModel {
            cfg: cfg.clone(),
            embed_tokens: (p / "embed_tokens").zeros("weight", &[cfg.vocab_size, h]),
            layers,
            norm: RmsNorm::new(p, "norm", h, cfg.rms_norm_eps),
            inv_freq: inverse_frequencies(hd, cfg.rope_theta),
        }
    }

    pub fn embed(&self, input_ids: &Tensor) -> Tensor {
        Tensor::embedding(&self.embed_tokens, input_ids, -1, false, false)
    }

    /// cos/sin `[B, 1, S, head_dim]` for positions `[3, B, S]`: each chunk of the rotary dimension
    /// (sections t, h, w, repeated for the second half) takes its angle from the matching position row.
    fn mrope(&self, position_ids: &Tensor, kind: Kind) -> (Tensor, Tensor) {
        let inv = self.inv_freq.to_device(position_ids.device());
        let freqs = position_ids.to_kind(Kind::Float).unsqueeze(-1) * inv; // [3, B, S, D/2]
        let emb = Tensor::cat(&[&freqs, &freqs], -1);
        let (cos, sin) = (emb.cos().to_kind(kind), emb.sin().to_kind(kind));
        let sec = self.cfg.mrope_section;
        let select = |t: &Tensor| {
            let mut start = 0;
            let chunks: Vec<Tensor> = sec
                .iter()
                .chain(sec.iter())
                .enumerate()
                .map(|(i, &len)| {
                    let c = t.get((i % 3) as i64).narrow(-1, start, len);
                    start += len;
                    c
                })
                .collect();
            Tensor::cat(&chunks, -1).unsqueeze(1)
        };
        (select(&cos), select(&sin))
    }

    /// Runs the decoder on `embeds` `[B, S, H]` at `position_ids` `[3, B, S]`; `attention_mask` `[B, S]` marks real
    /// tokens of this chunk. With a cache, keys/values are appended and earlier positions are attended to.
    /// Returns the final-normed hidden states `[B, S, H]`.
    pub fn forward(
        &self,
        embeds: &Tensor,
        position_ids: &Tensor,
        attention_mask: &Tensor,
        mut cache: Option<&mut KvCache>,
    ) -> Tensor {
        let (b, s) = (embeds.size()[0], embeds.size()[1]);
        let (cos, sin) = self.mrope(position_ids, embeds.kind());
        let past = cache.as_ref().map_or(0, |c| c.len());
        let chunk_valid = attention_mask.to_kind(Kind::Bool);
        let key_valid = match cache.as_ref().and_then(|c| c.key_valid.as_ref()) {
            Some(prev) => Tensor::cat(&[prev, &chunk_valid], 1),
            None => chunk_valid,
        };
        let mask = attention_mask_4d(&key_valid, s, past);
        let mut x = embeds.shallow_clone();
        for (li, layer) in self.layers.iter().enumerate() {
            let h = layer.input_layernorm.forward(&x);
            let layer_cache = cache.as_deref_mut().map(|c| &mut c.layers[li]);
            let a = self.attention(layer, &h, &cos, &sin, mask.as_ref(), layer_cache, b, s);
            x = &x + a; // not `+=`: in-place would clobber tensors autograd saved
            let h = layer.post_attention_layernorm.forward(&x);
            let m = layer
                .down_proj
                .forward(&(layer.gate_proj.forward(&h).silu() * layer.up_proj.forward(&h)));
            x = &x + m;
        }
        if let Some(c) = cache {
            c.key_valid = Some(key_valid);
        }
        self.norm.forward(&x)
    }

    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        layer: &DecoderLayer,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: Option<&Tensor>,
        cache: Option<&mut Option<(Tensor, Tensor)>>,
        b: i64,
        s: i64,
    ) -> Tensor {
        let hd = self.cfg.head_dim();
        let (nh, nkv) = (self.cfg.num_attention_heads, self.cfg.num_key_value_heads);
        let q = layer.q_proj.forward(x).view([b, s, nh, hd]).transpose(1, 2);
        let k = layer
            .k_proj
            .forward(x)
            .view([b, s, nkv, hd])
            .transpose(1, 2);
        let v = layer
            .v_proj
            .forward(x)
            .view([b, s, nkv, hd])
            .transpose(1, 2);
        let q = &q * cos + rotate_half(&q) * sin;
        let k = &k * cos + rotate_half(&k) * sin;
        let (k, v) = match cache {
            Some(slot) => {
                let kv = match slot.take() {
                    Some((pk, pv)) => (Tensor::cat(&[pk, k], 2), Tensor::cat(&[pv, v], 2)),
                    None => (k, v),
                };
                *slot = Some((kv.0.shallow_clone(), kv.1.shallow_clone()));
                kv
            }
            None => (k, v),
        };
        let causal_without_mask = mask.is_none() && s > 1;
        let o = Tensor::scaled_dot_product_attention(
            &q,
            &k,
            &v,
            mask,
            0.0,
            causal_without_mask,
            (hd as f64).powf(-0.5),
            nkv != nh,
        );
        layer
            .o_proj
            .forward(&o.transpose(1, 2).reshape([b, s, nh * hd]))
    }
}

/// Boolean mask `[B, 1, S, K]` (true = attend) for `s` new queries after `past` cached keys, or `None` when plain
/// causal attention is exact (no padding anywhere, no cache). Each query may also see itself, so padding rows
/// never get an all-masked softmax (NaN would leak into the cache).
fn attention_mask_4d(key_valid: &Tensor, s: i64, past: i64) -> Option<Tensor> {
    let k = key_valid.size()[1];
    let all_valid = key_valid.all().int64_value(&[]) == 1;
    if all_valid && (past == 0 || s == 1) {
        return None;
    }
    let dev = key_valid.device();
    let q_pos = Tensor::arange_start(past, past + s, (Kind::Int64, dev)).unsqueeze(1);
    let k_pos = Tensor::arange(k, (Kind::Int64, dev)).unsqueeze(0);
    let causal = k_pos.le_tensor(&q_pos); // [S, K]
    let diagonal = k_pos.eq_tensor(&q_pos);
    let valid = key_valid.unsqueeze(1).unsqueeze(1); // [B, 1, 1, K]
    Some(
        causal
            .unsqueeze(0)
            .unsqueeze(0)
            .logical_and(&valid.logical_or(&diagonal.unsqueeze(0).unsqueeze(0))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_hides_padding_and_future_but_not_self() {
        let valid = Tensor::from_slice(&[false, true, true]).view([1, 3]);
        let m = attention_mask_4d(&valid, 3, 0).unwrap().view([3, 3]);
        let got: Vec<bool> = Vec::try_from(m.flatten(0, -1)).unwrap();
        assert_eq!(
            got,
            vec![true, false, false, false, true, false, false, true, true]
        );
        assert!(attention_mask_4d(&Tensor::from_slice(&[true, true]).view([1, 2]), 2, 0).is_none());
    }
}
