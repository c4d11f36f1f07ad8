//! The small building blocks both towers share. Parameters are registered in a `VarStore` under their Hugging Face
//! names (`…/q_proj/weight` becomes `….q_proj.weight`), so loading and saving need no renaming table.

use tch::nn::Path;
use tch::{Kind, Tensor};

/// `y = x Wᵀ + b`, weight `[out, in]` as in `torch.nn.Linear`.
#[derive(Debug)]
pub struct Linear {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
}

impl Linear {
    pub fn new(p: &Path, name: &str, in_dim: i64, out_dim: i64, bias: bool) -> Linear {
        let p = p / name;
        Linear {
            weight: p.zeros("weight", &[out_dim, in_dim]),
            bias: bias.then(|| p.zeros("bias", &[out_dim])),
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, self.bias.as_ref())
    }
}

/// LayerNorm with affine weight and bias (vision tower, eps 1e-6).
#[derive(Debug)]
pub struct LayerNorm {
    pub weight: Tensor,
    pub bias: Tensor,
    dim: i64,
    eps: f64,
}

impl LayerNorm {
    pub fn new(p: &Path, name: &str, dim: i64, eps: f64) -> LayerNorm {
        let p = p / name;
        LayerNorm {
            weight: p.ones("weight", &[dim]),
            bias: p.zeros("bias", &[dim]),
            dim,
            eps,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        x.layer_norm(
            [self.dim],
            Some(&self.weight),
            Some(&self.bias),
            self.eps,
            false,
        )
    }
}

/// Qwen2's RMSNorm: normalise in f32, cast back, then scale (the order matters in bf16).
#[derive(Debug)]
pub struct RmsNorm {
    pub weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    pub fn new(p: &Path, name: &str, dim: i64, eps: f64) -> RmsNorm {
        RmsNorm {
            weight: (p / name).ones("weight", &[dim]),
            eps,
        }
    }

    pub fn forward(&self, x: &Tensor) -> Tensor {
        let kind = x.kind();
        let xf = x.to_kind(Kind::Float);
        let var = xf.pow_tensor_scalar(2).mean_dim(-1, true, Kind::Float);
        let normed = xf * (var + self.eps).rsqrt();
        &self.weight * normed.to_kind(kind)
    }
}

/// `cat(-x2, x1)` over the halves of the last dimension.
pub fn rotate_half(x: &Tensor) -> Tensor {
    let half = x.size().last().copied().unwrap_or(0) / 2;
    let x1 = x.narrow(-1, 0, half);
    let x2 = x.narrow(-1, half, half);
    Tensor::cat(&[x2.neg(), x1], -1)
}

/// `1 / base^(2i/dim)` for i in 0..dim/2, computed in f32 as transformers does.
pub fn inverse_frequencies(dim: i64, base: f64) -> Tensor {
    let exponents = Tensor::arange_start_step(0, dim, 2, (Kind::Int64, tch::Device::Cpu))
        .to_kind(Kind::Float)
        / dim as f64;
    Tensor::from(base)
        .to_kind(Kind::Float)
        .pow(&exponents)
        .reciprocal()
}
