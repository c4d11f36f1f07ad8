//! AdamW (decoupled weight decay, Loshchilov & Hutter; `torch.optim.AdamW`'s update) written with tensors.
//!
//! Why not `tch::nn::AdamW`: tch's optimizers keep their moments inside libtorch and expose no way to read or
//! restore them, so a resumed run would restart with zero moments and a different step count and could not
//! end with the weights of an uninterrupted run. Here the state (exp_avg, exp_avg_sq, step, and f32 master
//! weights for low-precision parameters) is plain tensors, saved with safetensors next to each checkpoint.
//!
//! Update for parameter p with gradient g at step t (1-based), as torch:
//!   p <- p - lr * wd * p                    (only for matrices, see below)
//!   m <- b1 m + (1 - b1) g ;  v <- b2 v + (1 - b2) g^2
//!   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//! Weight decay skips 1-D parameters (biases, norm weights), as Hugging Face's Trainer does.
//! Parameters stored in bf16/f16 are updated through an f32 master copy; rounding each tiny update into bf16
//! directly would lose most of them at SFT learning rates (5e-6).

use std::path::Path;

use tch::{Kind, Tensor};

use crate::error::{Result, SftError};

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWConfig {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
}

impl Default for AdamWConfig {
    /// Hugging Face Trainer's defaults (weight decay 0).
    fn default() -> Self {
        AdamWConfig {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamWConfig {
    pub fn validate(&self) -> Result<()> {
        for (field, v) in [("adam_beta1", self.beta1), ("adam_beta2", self.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(SftError::config(
                    field,
                    format!("must be in [0, 1), got {v}"),
                ));
            }
        }
        if !(self.eps > 0.0 && self.eps.is_finite()) {
            return Err(SftError::config(
                "adam_epsilon",
                format!("must be positive, got {}", self.eps),
            ));
        }
        if !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()) {
            return Err(SftError::config(
                "weight_decay",
                format!("must be >= 0, got {}", self.weight_decay),
            ));
        }
        Ok(())
    }
}

struct Param {
    name: String,
    /// Shares storage with the model's variable.
    tensor: Tensor,
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    /// f32 copy of a low-precision parameter; the update happens here and is rounded into `tensor`.
    master: Option<Tensor>,
    decay: bool,
}

/// AdamW over a fixed, named set of parameters.
pub struct AdamW {
    config: AdamWConfig,
    params: Vec<Param>,
    step: i64,
}

impl AdamW {
    /// `params`: (name, variable) pairs; the order is normalised by name so the state file is stable.
    pub fn new(mut params: Vec<(String, Tensor)>, config: AdamWConfig) -> Result<AdamW> {
        config.validate()?;
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let params = params
            .into_iter()
            .map(|(name, tensor)| {
                let zeros = || tensor.zeros_like().to_kind(Kind::Float).detach();
                let master =
                    (tensor.kind() != Kind::Float).then(|| tensor.detach().to_kind(Kind::Float));
                Param {
                    decay: tensor.dim() >= 2,
                    exp_avg: zeros(),
                    exp_avg_sq: zeros(),
                    master,
                    name,
                    tensor,
                }
            })
            .collect();
        Ok(AdamW {
            config,
            params,
            step: 0,
        })
    }

    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// Optimizer steps taken (t of the bias correction).
    pub fn steps(&self) -> i64 {
        self.step
    }

    pub fn num_parameters(&self) -> i64 {
        self.params.iter().map(|p| p.tensor.numel() as i64).sum()
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.tensor.grad();
            if g.defined() {
                let _ = g.zero_();
            }
        }
    }

    /// Global L2 norm of the gradients (undefined gradients count as zero).
    pub fn grad_norm(&self) -> f64 {
        tch::no_grad(|| {
            let mut sq = 0.0f64;
            for p in &self.params {
                let g = p.tensor.grad();
                if g.defined() {
                    sq += g
                        .to_kind(Kind::Float)
                        .square()
                        .sum(Kind::Float)
                        .double_value(&[]);
                }
            }
            sq.sqrt()
        })
    }

    /// Scales the gradients so their global norm is at most `max_norm` (torch's `clip_grad_norm_`, with its
    /// 1e-6 guard); returns the norm before clipping. `max_norm <= 0` only measures.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let norm = self.grad_norm();
        if max_norm > 0.0 && norm.is_finite() {
            let coef = max_norm / (norm + 1e-6);
            if coef < 1.0 {
                tch::no_grad(|| {
                    for p in &self.params {
                        let mut g = p.tensor.grad();
                        if g.defined() {
                            let _ = g.g_mul_scalar_(coef);
                        }
                    }
                });
            }
        }
        norm
    }

    /// One update with learning rate `lr` from the accumulated gradients. Parameters without a gradient
    /// (unused in the forward pass) still decay and still advance with their moments, as torch's AdamW
    /// skips them entirely: here too they are skipped.
    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let t = self.step as f64;
        let AdamWConfig {
            beta1,
            beta2,
            eps,
            weight_decay,
        } = self.config;
        let bc1 = 1.0 - beta1.powf(t);
        let bc2 = 1.0 - beta2.powf(t);
        tch::no_grad(|| {
            for p in &mut self.params {
                let g = p.tensor.grad();
                if !g.defined() {
                    continue;
                }
                let g = g.to_kind(Kind::Float);
                let mut w = match &p.master {
                    Some(m) => m.shallow_clone(),
                    None => p.tensor.shallow_clone(),
                };
                if p.decay && weight_decay > 0.0 {
                    let _ = w.g_mul_scalar_(1.0 - lr * weight_decay);
                }
                let _ = p.exp_avg.g_mul_scalar_(beta1);
                let _ = p.exp_avg.g_add_(&(&g * (1.0 - beta1)));
                let _ = p.exp_avg_sq.g_mul_scalar_(beta2);
                let _ = p.exp_avg_sq.g_add_(&(g.square() * (1.0 - beta2)));
                let denom = (&p.exp_avg_sq / bc2).sqrt() + eps;
                let update = (&p.exp_avg / denom) * (lr / bc1);
                let _ = w.g_sub_(&update);
                if p.master.is_some() {
                    p.tensor.copy_(&w);
                }
            }
        });
    }

    /// Writes the state (moments, master weights, step) as safetensors, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors = vec![("step".to_owned(), Tensor::from_slice(&[self.step]))];
        for p in &self.params {
            tensors.push((format!("{}.exp_avg", p.name), p.exp_avg.shallow_clone()));
            tensors.push((
                format!("{}.exp_avg_sq", p.name),
                p.exp_avg_sq.shallow_clone(),
            ));
            if let Some(m) = &p.master {
                tensors.push((format!("{}.master", p.name), m.shallow_clone()));
            }
        }
        agent::checkpoint::write_safetensors(&tensors, path)?;
        Ok(())
    }

    /// Restores a state written by [`save`](Self::save) for the same parameters (names and shapes).
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let bad = |m: String| SftError::checkpoint(path, m);
        let tensors: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(path)
            .map_err(|e| bad(format!("reading optimizer state: {e}")))?
            .into_iter()
            .collect();
        let step = tensors
            .get("step")
            .ok_or_else(|| bad("tensor `step` is missing".into()))?
            .int64_value(&[0]);
        tch::no_grad(|| -> Result<()> {
            for p in &mut self.params {
                let mut fields = vec![
                    ("exp_avg", &mut p.exp_avg),
                    ("exp_avg_sq", &mut p.exp_avg_sq),
                ];
                if let Some(m) = p.master.as_mut() {
                    fields.push(("master", m));
                }
                for (field, dst) in fields {
                    let key = format!("{}.{field}", p.name);
                    let src = tensors
                        .get(&key)
                        .ok_or_else(|| bad(format!("tensor `{key}` is missing")))?;
                    if src.size() != dst.size() {
                        return Err(bad(format!(
                            "tensor `{key}` has shape {:?}, the parameter needs {:?}",
                            src.size(),
                            dst.size()
                        )));
                    }
                    dst.copy_(&src.to_kind(Kind::Float));
                }
                if let Some(m) = &p.master {
                    p.tensor.copy_(m);
                }
            }
            Ok(())
        })?;
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two steps on a 2x1 matrix and a bias, against the formula worked out by hand.
    #[test]
    fn two_steps_match_the_hand_computed_update() {
        let w = Tensor::from_slice(&[1.0f32, -2.0])
            .view([2, 1])
            .set_requires_grad(true);
        let b = Tensor::from_slice(&[0.5f32]).set_requires_grad(true);
        let cfg = AdamWConfig {
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            weight_decay: 0.1,
        };
        let mut opt = AdamW::new(
            vec![
                ("w".into(), w.shallow_clone()),
                ("b".into(), b.shallow_clone()),
            ],
            cfg,
        )
        .unwrap();
        let lr = 0.01;
        // loss = sum(w * [3, 4]) + 2 b  =>  grad w = [3, 4], grad b = 2 (constant).
        let coef = Tensor::from_slice(&[3.0f32, 4.0]).view([2, 1]);
        let mut want_w = [1.0f64, -2.0];
        let mut want_b = 0.5f64;
        let (mut m, mut v) = ([0.0f64; 3], [0.0f64; 3]);
        for t in 1..=2 {
            opt.zero_grad();
            let loss = (&w * &coef).sum(Kind::Float) + &b * 2.0;
            loss.sum(Kind::Float).backward();
            opt.step(lr);
            for (k, g) in [3.0f64, 4.0, 2.0].into_iter().enumerate() {
                m[k] = 0.9 * m[k] + 0.1 * g;
                v[k] = 0.99 * v[k] + 0.01 * g * g;
                let mh = m[k] / (1.0 - 0.9f64.powi(t));
                let vh = v[k] / (1.0 - 0.99f64.powi(t));
                let upd = lr * mh / (vh.sqrt() + 1e-8);
                if k < 2 {
                    want_w[k] = want_w[k] * (1.0 - lr * 0.1) - upd;
                } else {
                    want_b -= upd; // 1-D: no decay
                }
            }
        }
        let got: Vec<f32> = Vec::try_from(&w.flatten(0, -1)).unwrap();
        for k in 0..2 {
            assert!(
                (got[k] as f64 - want_w[k]).abs() < 1e-6,
                "{got:?} vs {want_w:?}"
            );
        }
        assert!((b.double_value(&[0]) - want_b).abs() < 1e-6);
        assert_eq!(opt.steps(), 2);
    }

    #[test]
    fn state_round_trips_and_continues_identically() {
        let make = || {
            Tensor::from_slice(&[0.3f32, -0.7, 1.1, 0.2])
                .view([2, 2])
                .set_requires_grad(true)
        };
        let run = |w: &Tensor, opt: &mut AdamW, steps: usize| {
            for _ in 0..steps {
                opt.zero_grad();
                (w * w * w).sum(Kind::Float).backward();
                opt.step(0.05);
            }
        };
        let cfg = AdamWConfig {
            weight_decay: 0.01,
            ..AdamWConfig::default()
        };
        let w1 = make();
        let mut o1 = AdamW::new(vec![("w".into(), w1.shallow_clone())], cfg).unwrap();
        run(&w1, &mut o1, 4);

        let dir = tempfile::tempdir().unwrap();
        let w2 = make();
        let mut o2 = AdamW::new(vec![("w".into(), w2.shallow_clone())], cfg).unwrap();
        run(&w2, &mut o2, 2);
        o2.save(&dir.path().join("opt.safetensors")).unwrap();
        let w3 = w2.detach().copy().set_requires_grad(true);
        let mut o3 = AdamW::new(vec![("w".into(), w3.shallow_clone())], cfg).unwrap();
        o3.load(&dir.path().join("opt.safetensors")).unwrap();
        assert_eq!(o3.steps(), 2);
        run(&w3, &mut o3, 2);
        assert_eq!(
            Vec::<f32>::try_from(&w1.flatten(0, -1)).unwrap(),
            Vec::<f32>::try_from(&w3.flatten(0, -1)).unwrap()
        );

        let other = Tensor::zeros([3], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
        let mut o4 = AdamW::new(vec![("w".into(), other)], cfg).unwrap();
        let err = o4
            .load(&dir.path().join("opt.safetensors"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("w.exp_avg") && err.contains("shape"), "{err}");
    }

    #[test]
    fn clipping_scales_to_the_max_norm() {
        let w = Tensor::zeros([2], (Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
        let mut opt = AdamW::new(
            vec![("w".into(), w.shallow_clone())],
            AdamWConfig::default(),
        )
        .unwrap();
        (&w * Tensor::from_slice(&[3.0f32, 4.0]))
            .sum(Kind::Float)
            .backward();
        let norm = opt.clip_grad_norm(1.0);
        assert!((norm - 5.0).abs() < 1e-6);
        assert!((opt.grad_norm() - 1.0).abs() < 1e-5);
    }
}
