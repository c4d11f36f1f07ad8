//! Qwen2-VL's image processor: `smart_resize`, Pillow-exact bicubic resize, CLIP normalisation, and flattening
//! into rows of `channels × temporal × patch × patch` values (1176) in the order the vision tower expects.
//!
//! Output parity with transformers' `Qwen2VLImageProcessor` (the PIL one) is bit-exact: same integer resize, same
//! f64 rescale then f32 normalise.

use std::path::Path;

use image::RgbImage;
use serde_json::{json, Value};

use crate::config::MAX_PATCH_GEOMETRY;
use crate::error::{AgentError, Result};
use crate::resample::resize_bicubic;

pub const OPENAI_CLIP_MEAN: [f64; 3] = [0.48145466, 0.4578275, 0.40821073];
pub const OPENAI_CLIP_STD: [f64; 3] = [0.26862954, 0.26130258, 0.27577711];

#[derive(Debug, Clone, PartialEq)]
pub struct ImageProcessorConfig {
    pub min_pixels: i64,
    pub max_pixels: i64,
    pub patch_size: i64,
    pub temporal_patch_size: i64,
    pub merge_size: i64,
    pub image_mean: [f64; 3],
    pub image_std: [f64; 3],
    pub rescale_factor: f64,
    pub do_resize: bool,
    pub do_rescale: bool,
    pub do_normalize: bool,
}

impl Default for ImageProcessorConfig {
    /// transformers' class defaults (the Hub file of Qwen2-VL-2B raises max_pixels to 12845056).
    fn default() -> Self {
        ImageProcessorConfig {
            min_pixels: 56 * 56,
            max_pixels: 28 * 28 * 1280,
            patch_size: 14,
            temporal_patch_size: 2,
            merge_size: 2,
            image_mean: OPENAI_CLIP_MEAN,
            image_std: OPENAI_CLIP_STD,
            rescale_factor: 1.0 / 255.0,
            do_resize: true,
            do_rescale: true,
            do_normalize: true,
        }
    }
}

/// Flattened patches of one image or video and its grid in patches (t counts frame pairs).
#[derive(Debug, Clone, PartialEq)]
pub struct PatchGrid {
    /// `grid_t·grid_h·grid_w` rows of `patch_row_len` values, row-major.
    pub rows: Vec<f32>,
    pub grid_thw: [i64; 3],
}

impl PatchGrid {
    pub fn num_patches(&self) -> i64 {
        self.grid_thw.iter().product()
    }
}

/// The resized (height, width): multiples of `factor`, aspect ratio kept, pixel count within [min, max].
/// Python's `round` (ties to even) is reproduced, since 42/28 = 1.5 must go to 2 and 70/28 = 2.5 to 2.
pub fn smart_resize(
    height: i64,
    width: i64,
    factor: i64,
    min_pixels: i64,
    max_pixels: i64,
) -> Result<(i64, i64)> {
    if height <= 0 || width <= 0 {
        return Err(AgentError::Input(format!(
            "image of {width}x{height} pixels is empty"
        )));
    }
    let (h, w, f) = (height as f64, width as f64, factor as f64);
    if h.max(w) / h.min(w) > 200.0 {
        return Err(AgentError::Input(format!(
            "absolute aspect ratio must be smaller than 200, got {}",
            h.max(w) / h.min(w)
        )));
    }
    let mut h_bar = (h / f).round_ties_even() as i64 * factor;
    let mut w_bar = (w / f).round_ties_even() as i64 * factor;
    if h_bar * w_bar > max_pixels {
        let beta = ((h * w) / max_pixels as f64).sqrt();
        h_bar = factor.max((h / beta / f).floor() as i64 * factor);
        w_bar = factor.max((w / beta / f).floor() as i64 * factor);
    } else if h_bar * w_bar < min_pixels {
        let beta = (min_pixels as f64 / (h * w)).sqrt();
        h_bar = (h * beta / f).ceil() as i64 * factor;
        w_bar = (w * beta / f).ceil() as i64 * factor;
    }
    Ok((h_bar, w_bar))
}

/// Largest `min_pixels` / `max_pixels` accepted: 2^25 (33.5M) pixels, 2.6 times the 12,845,056 of Qwen2-VL's Hub
/// file. An image resized to this many pixels already takes 400 MB as f32 rows.
pub const MAX_PIXELS: i64 = 1 << 25;

impl ImageProcessorConfig {
    /// Reads `preprocessor_config.json` (the file or the checkpoint directory); absent file → class defaults.
    pub fn from_file(path: &Path) -> Result<Self> {
        let path = if path.is_dir() {
            path.join("preprocessor_config.json")
        } else {
            path.to_path_buf()
        };
        if !path.exists() {
            return Ok(Self::default());
        }
        let text = std::fs::read_to_string(&path).map_err(|e| AgentError::io(&path, e))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| AgentError::Json {
            path: path.clone(),
            source: e,
        })?;
        Self::from_value(&v, &path)
    }

    pub fn from_value(v: &Value, path: &Path) -> Result<Self> {
        let d = Self::default();
        let int = |key: &str, dflt: i64| -> Result<i64> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(dflt),
                Some(x) => x.as_i64().filter(|&n| n > 0).ok_or_else(|| {
                    AgentError::config(path, key, format!("expected a positive integer, got {x}"))
                }),
            }
        };
        let flag = |key: &str, dflt: bool| -> Result<bool> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(dflt),
                Some(x) => x.as_bool().ok_or_else(|| {
                    AgentError::config(path, key, format!("expected true/false, got {x}"))
                }),
            }
        };
        let triple = |key: &str, dflt: [f64; 3]| -> Result<[f64; 3]> {
            match v.get(key) {
                None | Some(Value::Null) => Ok(dflt),
                Some(x) => x
                    .as_array()
                    .filter(|a| a.len() == 3)
                    .and_then(|a| Some([a[0].as_f64()?, a[1].as_f64()?, a[2].as_f64()?]))
                    .ok_or_else(|| {
                        AgentError::config(path, key, format!("expected three numbers, got {x}"))
                    }),
            }
        };
        // `size` {shortest_edge, longest_edge} is the newer spelling; min_pixels/max_pixels override it.
        let size = v.get("size").and_then(Value::as_object);
        let from_size = |k: &str| size.and_then(|s| s.get(k)).and_then(Value::as_i64);
        let min_pixels = int(
            "min_pixels",
            from_size("shortest_edge").unwrap_or(d.min_pixels),
        )?;
        let max_pixels = int(
            "max_pixels",
            from_size("longest_edge").unwrap_or(d.max_pixels),
        )?;
        if let Some(r) = v.get("resample").and_then(Value::as_i64) {
            if r != 3 {
                return Err(AgentError::config(
                    path,
                    "resample",
                    format!("only 3 (BICUBIC) is supported, got {r}"),
                ));
            }
        }
        let rescale_factor = match v.get("rescale_factor") {
            None | Some(Value::Null) => d.rescale_factor,
            Some(x) => x.as_f64().ok_or_else(|| {
                AgentError::config(
                    path,
                    "rescale_factor",
                    format!("expected a number, got {x}"),
                )
            })?,
        };
        let cfg = ImageProcessorConfig {
            min_pixels,
            max_pixels,
            patch_size: int("patch_size", d.patch_size)?,
            temporal_patch_size: int("temporal_patch_size", d.temporal_patch_size)?,
            merge_size: int("merge_size", d.merge_size)?,
            image_mean: triple("image_mean", d.image_mean)?,
            image_std: triple("image_std", d.image_std)?,
            rescale_factor,
            do_resize: flag("do_resize", d.do_resize)?,
            do_rescale: flag("do_rescale", d.do_rescale)?,
            do_normalize: flag("do_normalize", d.do_normalize)?,
        };
        for (field, value, max) in [
            ("min_pixels", cfg.min_pixels, MAX_PIXELS),
            ("max_pixels", cfg.max_pixels, MAX_PIXELS),
            ("patch_size", cfg.patch_size, MAX_PATCH_GEOMETRY),
            (
                "temporal_patch_size",
                cfg.temporal_patch_size,
                MAX_PATCH_GEOMETRY,
            ),
            ("merge_size", cfg.merge_size, MAX_PATCH_GEOMETRY),
        ] {
            if value > max {
                return Err(AgentError::config(
                    path,
                    field,
                    format!("must be at most {max}, got {value}"),
                ));
            }
        }
        if cfg.min_pixels > cfg.max_pixels {
            return Err(AgentError::config(
                path,
                "min_pixels",
                format!("{} exceeds max_pixels {}", cfg.min_pixels, cfg.max_pixels),
            ));
        }
        Ok(cfg)
    }

    /// The preprocessor_config.json transformers reads back into the same processor.
    pub fn to_hf_json(&self) -> Value {
        json!({
            "image_processor_type": "Qwen2VLImageProcessor",
            "processor_class": "Qwen2VLProcessor",
            "do_resize": self.do_resize,
            "do_rescale": self.do_rescale,
            "do_normalize": self.do_normalize,
            "do_convert_rgb": true,
            "resample": 3,
            "rescale_factor": self.rescale_factor,
            "image_mean": self.image_mean,
            "image_std": self.image_std,
            "min_pixels": self.min_pixels,
            "max_pixels": self.max_pixels,
            "size": {"shortest_edge": self.min_pixels, "longest_edge": self.max_pixels},
            "patch_size": self.patch_size,
            "temporal_patch_size": self.temporal_patch_size,
            "merge_size": self.merge_size,
        })
    }

    /// Patch rows for one image (duplicated to fill the temporal patch).
    pub fn preprocess_image(&self, image: &RgbImage) -> Result<PatchGrid> {
        self.preprocess_frames(std::slice::from_ref(image))
    }

    /// Patch rows for video frames: consecutive frames are paired by the temporal patch; a short last group is
    /// filled by repeating the last frame. Every frame must have the first frame's size.
    pub fn preprocess_frames(&self, frames: &[RgbImage]) -> Result<PatchGrid> {
        let first = frames
            .first()
            .ok_or_else(|| AgentError::Input("no frames to preprocess".into()))?;
        let (h0, w0) = (first.height() as i64, first.width() as i64);
        if let Some((i, f)) = frames
            .iter()
            .enumerate()
            .find(|(_, f)| (f.height() as i64, f.width() as i64) != (h0, w0))
        {
            return Err(AgentError::Input(format!(
                "frame {i} is {}x{}, frame 0 is {w0}x{h0}",
                f.width(),
                f.height()
            )));
        }
        let (rh, rw) = if self.do_resize {
            smart_resize(
                h0,
                w0,
                self.patch_size * self.merge_size,
                self.min_pixels,
                self.max_pixels,
            )?
        } else {
            (h0, w0)
        };
        let unit = self.patch_size * self.merge_size;
        if rh % unit != 0 || rw % unit != 0 {
            return Err(AgentError::Input(format!(
                "image size {rw}x{rh} is not a multiple of {unit} (resizing is off)"
            )));
        }
        let tp = self.temporal_patch_size as usize;
        let mut planes: Vec<Vec<f32>> = frames
            .iter()
            .map(|f| self.normalized_chw(f, rw as u32, rh as u32))
            .collect();
        while !planes.len().is_multiple_of(tp) {
            planes.push(planes.last().expect("at least one frame").clone());
        }
        let (p, m) = (self.patch_size as usize, self.merge_size as usize);
        let (gt, gh, gw) = (planes.len() / tp, rh as usize / p, rw as usize / p);
        let (h, w) = (rh as usize, rw as usize);
        let row_len = 3 * tp * p * p;
        let mut rows = Vec::with_capacity(gt * gh * gw * row_len);
        // Row order: frame pair, merge-block row, merge-block column, row in block, column in block;
        // within a row: channel, frame in pair, pixel row, pixel column (the Conv3d kernel's layout).
        for t in 0..gt {
            for bh in 0..gh / m {
                for bw in 0..gw / m {
                    for ih in 0..m {
                        for iw in 0..m {
                            let (py0, px0) = ((bh * m + ih) * p, (bw * m + iw) * p);
                            for c in 0..3 {
                                for dt in 0..tp {
                                    let plane = &planes[t * tp + dt][c * h * w..(c + 1) * h * w];
                                    for y in 0..p {
                                        let start = (py0 + y) * w + px0;
                                        rows.extend_from_slice(&plane[start..start + p]);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        debug_assert_eq!(rows.len(), gt * gh * gw * row_len);
        Ok(PatchGrid {
            rows,
            grid_thw: [gt as i64, gh as i64, gw as i64],
        })
    }

    /// Resize, rescale (in f64, then f32 as numpy does) and normalise (in f32) into a CHW plane.
    fn normalized_chw(&self, frame: &RgbImage, w: u32, h: u32) -> Vec<f32> {
        let resized;
        let img = if (frame.width(), frame.height()) == (w, h) {
            frame
        } else {
            resized = resize_bicubic(frame, w, h);
            &resized
        };
        let n = (w * h) as usize;
        let mut out = vec![0f32; 3 * n];
        let mean = self.image_mean.map(|x| x as f32);
        let std = self.image_std.map(|x| x as f32);
        for (i, px) in img.pixels().enumerate() {
            for c in 0..3 {
                let v = px.0[c] as f64;
                let mut x = if self.do_rescale {
                    (v * self.rescale_factor) as f32
                } else {
                    v as f32
                };
                if self.do_normalize {
                    x = (x - mean[c]) / std[c];
                }
                out[c * n + i] = x;
            }
        }
        out
    }
}

/// Loads an image file as RGB (alpha dropped, grey expanded), as PIL's `convert("RGB")` does.
pub fn load_rgb(path: &Path) -> Result<RgbImage> {
    let img = image::open(path).map_err(|e| AgentError::Image {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(img.to_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_resize_matches_python_rounding() {
        // 42/28 = 1.5 → 2 (ties to even), 70/28 = 2.5 → 2.
        assert_eq!(
            smart_resize(42, 70, 28, 56 * 56, 28 * 28 * 1280).unwrap(),
            (56, 56)
        );
        assert_eq!(
            smart_resize(448, 448, 28, 3136, 1003520).unwrap(),
            (448, 448)
        );
        // Too small: scaled up to reach min_pixels.
        assert_eq!(smart_resize(20, 30, 28, 3136, 1003520).unwrap(), (56, 84));
        // Too large: scaled down below max_pixels.
        let (h, w) = smart_resize(2000, 3000, 28, 3136, 1003520).unwrap();
        assert!(h * w <= 1003520 && h % 28 == 0 && w % 28 == 0, "{h}x{w}");
        assert!(smart_resize(10, 3000, 28, 3136, 1003520).is_err());
    }

    /// An image of 28×28 gives one merge block of 2×2 patches; the first row holds channel 0 of frame 0 (then its
    /// duplicate), and each value is the CLIP-normalised pixel.
    #[test]
    fn patch_rows_follow_the_conv3d_layout() {
        let mut img = RgbImage::new(28, 28);
        for (x, y, p) in img.enumerate_pixels_mut() {
            *p = image::Rgb([(x * 9) as u8, (y * 9) as u8, 7]);
        }
        let cfg = ImageProcessorConfig {
            min_pixels: 28 * 28,
            ..Default::default()
        };
        let g = cfg.preprocess_image(&img).unwrap();
        assert_eq!(g.grid_thw, [1, 2, 2]);
        assert_eq!(g.rows.len(), 4 * 1176);
        let norm = |v: u8, c: usize| {
            ((v as f64 / 255.0) as f32 - OPENAI_CLIP_MEAN[c] as f32) / OPENAI_CLIP_STD[c] as f32
        };
        // Patch (row 0, col 1) is the second row; its red channel, frame 0, pixel (0, 0) is image pixel x = 14.
        let row1 = &g.rows[1176..2 * 1176];
        assert_eq!(row1[0], norm(14 * 9, 0));
        // Frame 1 (the duplicate) starts after 14·14 values of channel 0.
        assert_eq!(row1[196], row1[0]);
        // Green channel starts at 2·196; pixel (y=1, x=0) in the patch is image y = 1.
        assert_eq!(row1[2 * 196 + 14], norm(9, 1));
    }

    #[test]
    fn frames_of_different_sizes_are_rejected() {
        let cfg = ImageProcessorConfig::default();
        let err = cfg
            .preprocess_frames(&[RgbImage::new(56, 56), RgbImage::new(28, 56)])
            .unwrap_err();
        assert!(err.to_string().contains("frame 1"), "{err}");
    }

    #[test]
    fn absurd_pixel_limits_are_errors_naming_the_field() {
        let path = Path::new("preprocessor_config.json");
        for field in ["min_pixels", "max_pixels", "patch_size", "merge_size"] {
            let v = json!({ field: 1u64 << 40 });
            let err = ImageProcessorConfig::from_value(&v, path)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("preprocessor_config.json") && err.contains(field),
                "{err}"
            );
        }
        let at_limit = json!({"min_pixels": 3136, "max_pixels": MAX_PIXELS});
        assert_eq!(
            ImageProcessorConfig::from_value(&at_limit, path)
                .unwrap()
                .max_pixels,
            MAX_PIXELS
        );
    }
}
