//! The Qwen2-VL vision tower: patch embedding (Conv3d over 2 frames × 14 × 14, applied as the equivalent matrix
//! product on flattened rows), ViT blocks with 2-D rotary attention restricted to each temporal slice, and the
//! 2×2 patch merger that produces one LLM token per merge block.

use tch::nn::Path;
use tch::{Device, Kind, Tensor};

use crate::config::VisionConfig;
use crate::layers::{inverse_frequencies, rotate_half, LayerNorm, Linear};

struct VisionBlock {
    norm1: LayerNorm,
    norm2: LayerNorm,
    qkv: Linear,
    proj: Linear,
    fc1: Linear,
    fc2: Linear,
}

pub struct VisionTower {
    cfg: VisionConfig,
    /// Conv3d weight `[embed, C, T, P, P]`, kept in that shape so the checkpoint layout is unchanged.
    patch_embed: Tensor,
    blocks: Vec<VisionBlock>,
    merger_ln: LayerNorm,
    merger_fc1: Linear,
    merger_fc2: Linear,
}

/// Segment lengths of the block-diagonal attention: every temporal slice of every item attends only to itself.
fn slice_lengths(grids: &[[i64; 3]]) -> Vec<i64> {
    grids
        .iter()
        .flat_map(|&[t, h, w]| std::iter::repeat_n(h * w, t as usize))
        .collect()
}

impl VisionTower {
    pub fn new(p: &Path, cfg: &VisionConfig) -> VisionTower {
        let e = cfg.embed_dim;
        let patch_embed = (p / "patch_embed" / "proj").zeros(
            "weight",
            &[
                e,
                cfg.in_channels,
                cfg.temporal_patch_size,
                cfg.patch_size,
                cfg.patch_size,
            ],
        );
        let blocks = (0..cfg.depth)
            .map(|i| {
                let b = p / "blocks" / i;
                VisionBlock {
                    norm1: LayerNorm::new(&b, "norm1", e, 1e-6),
                    norm2: LayerNorm::new(&b, "norm2", e, 1e-6),
                    qkv: Linear::new(&(&b / "attn"), "qkv", e, 3 * e, true),
                    proj: Linear::new(&(&b / "attn"), "proj", e, e, true),
                    fc1: Linear::new(&(&b / "mlp"), "fc1", e, cfg.mlp_hidden(), true),
                    fc2: Linear::new(&(&b / "mlp"), "fc2", cfg.mlp_hidden(), e, true),
                }
            })
            .collect();
        let merged = e * cfg.spatial_merge_size * cfg.spatial_merge_size;
        let m = p / "merger";
        VisionTower {
            cfg: cfg.clone(),
            patch_embed,
            blocks,
            merger_ln: LayerNorm::new(&m, "ln_q", e, 1e-6),
            merger_fc1: Linear::new(&(&m / "mlp"), "0", merged, merged, true),
            merger_fc2: Linear::new(&(&m / "mlp"), "2", merged, cfg.hidden_size, true),
        }
    }

    /// (row, column) patch coordinates in the processor's row order (merge blocks, then within a block),
    /// repeated for each temporal slice.
    fn patch_coordinates(&self, grids: &[[i64; 3]]) -> Vec<i64> {
        let m = self.cfg.spatial_merge_size;
        let mut out = Vec::new();
        for &[t, h, w] in grids {
            let mut one = Vec::with_capacity((2 * h * w) as usize);
            for bh in 0..h / m {
                for bw in 0..w / m {
                    for ih in 0..m {
                        for iw in 0..m {
                            one.push(bh * m + ih);
                            one.push(bw * m + iw);
                        }
                    }
                }
            }
            for _ in 0..t {
                out.extend_from_slice(&one);
            }
        }
        out
    }

    /// cos and sin `[N, 1, head_dim]` (f32) of the 2-D rotary embedding: half the rotary frequencies follow the
    /// patch row, half the column.
    fn rotary(&self, grids: &[[i64; 3]], device: Device) -> (Tensor, Tensor) {
        let head_dim = self.cfg.head_dim();
        let inv_freq = inverse_frequencies(head_dim / 2, 10_000.0);
        let max_side = grids.iter().map(|g| g[1].max(g[2])).max().unwrap_or(1);
        let table = Tensor::arange(max_side, (Kind::Float, Device::Cpu)).outer(&inv_freq);
        let coords = Tensor::from_slice(&self.patch_coordinates(grids));
        let freqs = table.index_select(0, &coords).view([-1, head_dim / 2]);
        let emb = Tensor::cat(&[&freqs, &freqs], -1).to_device(device);
        (emb.cos().unsqueeze(1), emb.sin().unsqueeze(1))
    }

    /// `pixel_values` `[N, C·T·P·P]` → merged embeddings `[N / merge², hidden_size]`.
    pub fn forward(&self, pixel_values: &Tensor, grids: &[[i64; 3]]) -> Tensor {
        let kind = self.patch_embed.kind();
        let e = self.cfg.embed_dim;
        let mut x = pixel_values
            .to_kind(kind)
            .matmul(&self.patch_embed.view([e, -1]).tr());
        let (cos, sin) = self.rotary(grids, x.device());
        let lengths = slice_lengths(grids);
        for blk in &self.blocks {
            x = &x + self.attention(blk, &blk.norm1.forward(&x), &cos, &sin, &lengths);
            let h = blk.fc1.forward(&blk.norm2.forward(&x));
            let h = &h * (&h * 1.702).sigmoid(); // quick_gelu
            x = &x + blk.fc2.forward(&h);
        }
        let merged = self.merger_ln.forward(&x).view([
            -1,
            e * self.cfg.spatial_merge_size * self.cfg.spatial_merge_size,
        ]);
        self.merger_fc2
            .forward(&self.merger_fc1.forward(&merged).gelu("none"))
    }

    fn attention(
        &self,
        blk: &VisionBlock,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        lengths: &[i64],
    ) -> Tensor {
        let n = x.size()[0];
        let (heads, hd) = (self.cfg.num_heads, self.cfg.head_dim());
        let qkv = blk
            .qkv
            .forward(x)
            .view([n, 3, heads, hd])
            .permute([1, 0, 2, 3]);
        let (q, k, v) = (qkv.get(0), qkv.get(1), qkv.get(2));
        let kind = q.kind();
        let rope = |t: &Tensor| {
            let t = t.to_kind(Kind::Float);
            (&t * cos + rotate_half(&t) * sin).to_kind(kind)
        };
        let (q, k) = (rope(&q), rope(&k));
        let scale = (hd as f64).powf(-0.5);
        // Equal slices (all frames of one size, the navigation case) run as one batched call.
        let out = if lengths.iter().all(|&l| l == lengths[0]) {
            let (s, l) = (lengths.len() as i64, lengths[0]);
            let split = |t: &Tensor| t.view([s, l, heads, hd]).transpose(1, 2);
            let o = Tensor::scaled_dot_product_attention(
                &split(&q),
                &split(&k),
                &split(&v),
                None::<Tensor>,
                0.0,
                false,
                scale,
                false,
            );
            o.transpose(1, 2).reshape([n, heads * hd])
        } else {
            let mut start = 0;
            let parts: Vec<Tensor> = lengths
                .iter()
                .map(|&l| {
                    let seg = |t: &Tensor| t.narrow(0, start, l).transpose(0, 1).unsqueeze(0);
                    let o = Tensor::scaled_dot_product_attention(
                        &seg(&q),
                        &seg(&k),
                        &seg(&v),
                        None::<Tensor>,
                        0.0,
                        false,
                        scale,
                        false,
                    );
                    start += l;
                    o.squeeze_dim(0).transpose(0, 1).reshape([l, heads * hd])
                })
                .collect();
            Tensor::cat(&parts, 0)
        };
        blk.proj.forward(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_follow_time_and_items() {
        assert_eq!(slice_lengths(&[[2, 4, 6], [1, 2, 2]]), vec![24, 24, 4]);
    }
}
