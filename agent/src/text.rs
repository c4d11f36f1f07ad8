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
    layers: Vec<Option<LayerKv>>,
    /// [B, K] bool: key j may be attended to.
    key_valid: Option<Tensor>,
}

/// One layer's keys and values `[B, kv_heads, capacity, head_dim]`, of which the first `len` positions are
/// filled. Without autograd a step writes into spare capacity instead of concatenating: a decode step would
/// otherwise copy the whole cache (measured: a tenth of closed-loop eval time). With autograd the buffers
/// are exactly filled and grow by concatenation, since writing in place would clobber tensors saved for
/// backward.
struct LayerKv {
    k: Tensor,
    v: Tensor,
    len: i64,
}

impl LayerKv {
    /// Appends `[B, kv_heads, S, head_dim]` keys and values; returns views of everything cached so far.
    fn append(&mut self, k: Tensor, v: Tensor) -> (Tensor, Tensor) {
        let s = k.size()[2];
        if k.requires_grad() || self.k.requires_grad() {
            self.k = Tensor::cat(&[self.k.narrow(2, 0, self.len), k], 2);
            self.v = Tensor::cat(&[self.v.narrow(2, 0, self.len), v], 2);
            self.len += s;
            return (self.k.shallow_clone(), self.v.shallow_clone());
        }
        let capacity = self.k.size()[2];
        if self.len + s > capacity {
            // Room for this chunk and as many again: a generation of n tokens reallocates O(log n) times.
            let grown = (self.len + s) * 2;
            self.k = grow(&self.k, self.len, grown);
            self.v = grow(&self.v, self.len, grown);
        }
        self.k.narrow(2, self.len, s).copy_(&k);
        self.v.narrow(2, self.len, s).copy_(&v);
        self.len += s;
        (self.k.narrow(2, 0, self.len), self.v.narrow(2, 0, self.len))
    }
}

/// `t`'s first `len` positions (dim 2) in a zeroed buffer of `capacity` positions.
fn grow(t: &Tensor, len: i64, capacity: i64) -> Tensor {
    let mut size = t.size();
    size[2] = capacity;
    let out = Tensor::zeros(size.as_slice(), (t.kind(), t.device()));
    out.narrow(2, 0, len).copy_(&t.narrow(2, 0, len));
    out
}

/// The keys and values of one prompt's leading text (e.g. the system turn and an episode's instruction),
/// computed once and reused by every later prompt that starts with the same tokens.
#[derive(Debug)]
pub struct PrefixKv {
    /// The tokens the keys and values stand for (positions 0..len, as text).
    pub tokens: Vec<i64>,
    /// Per layer: `[1, kv_heads, len, head_dim]`.
    layers: Vec<(Tensor, Tensor)>,
}

impl PrefixKv {
    pub fn len(&self) -> i64 {
        self.tokens.len() as i64
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

impl KvCache {
    pub fn new(num_layers: usize) -> KvCache {
        KvCache {
            layers: (0..num_layers).map(|_| None).collect(),
            key_valid: None,
        }
    }

    /// A cache holding one prefix per batch row, left-padded to the longest (padding is never attended to),
    /// with room for `reserve` more positions.
    pub fn from_prefixes(prefixes: &[&PrefixKv], reserve: i64) -> KvCache {
        let longest = prefixes.iter().map(|p| p.len()).max().unwrap_or(0);
        let num_layers = prefixes.first().map_or(0, |p| p.layers.len());
        let b = prefixes.len() as i64;
        let layers = (0..num_layers)
            .map(|li| {
                let (k0, _) = &prefixes[0].layers[li];
                let (h, d) = (k0.size()[1], k0.size()[3]);
                let opts = (k0.kind(), k0.device());
                let k = Tensor::zeros([b, h, longest + reserve, d], opts);
                let v = Tensor::zeros([b, h, longest + reserve, d], opts);
                for (r, p) in prefixes.iter().enumerate() {
                    let (pk, pv) = &p.layers[li];
                    let pad = longest - p.len();
                    k.get(r as i64).narrow(1, pad, p.len()).copy_(&pk.get(0));
                    v.get(r as i64).narrow(1, pad, p.len()).copy_(&pv.get(0));
                }
                Some(LayerKv { k, v, len: longest })
            })
            .collect();
        let device = prefixes
            .first()
            .map_or(tch::Device::Cpu, |p| p.layers[0].0.device());
        let valid: Vec<bool> = prefixes
            .iter()
            .flat_map(|p| (0..longest).map(move |j| j >= longest - p.len()))
            .collect();
        KvCache {
            layers,
            key_valid: Some(
                Tensor::from_slice(&valid)
                    .view([b, longest])
                    .to_device(device),
            ),
        }
    }

    /// Row `row`'s last `len` cached positions as a prefix for `tokens` (which they must stand for).
    pub fn prefix(&self, row: i64, tokens: Vec<i64>) -> PrefixKv {
        let n = tokens.len() as i64;
        let layers = self
            .layers
            .iter()
            .flatten()
            .map(|l| {
                let take = |t: &Tensor| t.narrow(0, row, 1).narrow(2, l.len - n, n).copy();
                (take(&l.k), take(&l.v))
            })
            .collect();
        PrefixKv { tokens, layers }
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
        for l in self.layers.iter_mut().flatten() {
            l.k = l.k.index_select(0, rows);
            l.v = l.v.index_select(0, rows);
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
        cache: Option<&mut Option<LayerKv>>,
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
            Some(Some(layer)) => layer.append(k, v),
            Some(slot) => {
                let len = k.size()[2];
                *slot = Some(LayerKv {
                    k: k.shallow_clone(),
                    v: v.shallow_clone(),
                    len,
                });
                (k, v)
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
