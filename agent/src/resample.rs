//! Bicubic resizing of 8-bit RGB images, bit-exact with Pillow's `Image.resize(size, Resampling.BICUBIC)`.
//!
//! Written here rather than taken from an image crate because the model was trained on Pillow's output and the
//! parity bar is transformers' processor: Pillow uses a separable, antialiased cubic (a = -0.5) whose support grows
//! with the downscale factor, fixed-point coefficients with 22 fractional bits, and rounds to u8 between the
//! horizontal and the vertical pass. Generic resizers differ in one or more of these and shift pixels by ±1.

use image::RgbImage;

/// Fractional bits of Pillow's fixed-point coefficients (32 − 8 − 2).
const PRECISION_BITS: u32 = 22;

fn cubic(x: f64) -> f64 {
    const A: f64 = -0.5;
    let x = x.abs();
    if x < 1.0 {
        ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        (((x - 5.0) * x + 8.0) * x - 4.0) * A
    } else {
        0.0
    }
}

/// Per output pixel: first input index and fixed-point weights over the input window.
struct Coeffs {
    starts: Vec<usize>,
    weights: Vec<Vec<i32>>,
}

fn coefficients(in_size: usize, out_size: usize) -> Coeffs {
    let scale = in_size as f64 / out_size as f64;
    let filter_scale = scale.max(1.0);
    let support = 2.0 * filter_scale;
    let mut starts = Vec::with_capacity(out_size);
    let mut weights = Vec::with_capacity(out_size);
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        // Truncation toward zero after +0.5, as the C code's (int) cast does.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let ws: Vec<f64> = (xmin..xmax)
            .map(|x| cubic((x as f64 - center + 0.5) / filter_scale))
            .collect();
        let total: f64 = ws.iter().sum();
        let fixed = ws
            .iter()
            .map(|&w| {
                let w = if total != 0.0 { w / total } else { w };
                let scaled = w * (1u32 << PRECISION_BITS) as f64;
                if w < 0.0 {
                    (scaled - 0.5) as i32
                } else {
                    (scaled + 0.5) as i32
                }
            })
            .collect();
        starts.push(xmin);
        weights.push(fixed);
    }
    Coeffs { starts, weights }
}

fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Filters each row of the RGB buffer `src` (w × h) to `out_w` columns.
fn pass_horizontal(src: &[u8], w: usize, h: usize, c: &Coeffs, out_w: usize) -> Vec<u8> {
    let mut out = vec![0u8; out_w * h * 3];
    for y in 0..h {
        let row = &src[y * w * 3..(y + 1) * w * 3];
        for (xx, (start, ws)) in c.starts.iter().zip(&c.weights).enumerate() {
            let mut acc = [1i32 << (PRECISION_BITS - 1); 3];
            for (k, &wk) in ws.iter().enumerate() {
                let p = &row[(start + k) * 3..(start + k) * 3 + 3];
                for ch in 0..3 {
                    acc[ch] += p[ch] as i32 * wk;
                }
            }
            let o = (y * out_w + xx) * 3;
            for ch in 0..3 {
                out[o + ch] = clip8(acc[ch]);
            }
        }
    }
    out
}

/// Filters each column of the RGB buffer `src` (w columns) to `out_h` rows.
fn pass_vertical(src: &[u8], w: usize, c: &Coeffs, out_h: usize) -> Vec<u8> {
    let mut out = vec![0u8; w * out_h * 3];
    for yy in 0..out_h {
        let (start, ws) = (c.starts[yy], &c.weights[yy]);
        for x in 0..w {
            let mut acc = [1i32 << (PRECISION_BITS - 1); 3];
            for (k, &wk) in ws.iter().enumerate() {
                let o = ((start + k) * w + x) * 3;
                for ch in 0..3 {
                    acc[ch] += src[o + ch] as i32 * wk;
                }
            }
            let o = (yy * w + x) * 3;
            for ch in 0..3 {
                out[o + ch] = clip8(acc[ch]);
            }
        }
    }
    out
}

/// Resizes to `out_w` × `out_h` exactly as Pillow's BICUBIC resize does (no reducing_gap pre-shrink).
pub fn resize_bicubic(src: &RgbImage, out_w: u32, out_h: u32) -> RgbImage {
    let (w, h) = (src.width() as usize, src.height() as usize);
    let (ow, oh) = (out_w as usize, out_h as usize);
    if (w, h) == (ow, oh) {
        return src.clone();
    }
    let mut data = src.as_raw().clone();
    let mut cur_w = w;
    if ow != w {
        data = pass_horizontal(&data, w, h, &coefficients(w, ow), ow);
        cur_w = ow;
    }
    if oh != h {
        data = pass_vertical(&data, cur_w, &coefficients(h, oh), oh);
    }
    RgbImage::from_raw(out_w, out_h, data).expect("buffer size matches the output dimensions")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_sum_to_one_in_fixed_point() {
        for (i, o) in [(100, 28), (28, 100), (640, 476), (7, 56)] {
            let c = coefficients(i, o);
            for ws in &c.weights {
                let s: i32 = ws.iter().sum();
                assert!(
                    (s - (1 << PRECISION_BITS)).abs() <= ws.len() as i32,
                    "{i}->{o}: {s}"
                );
            }
        }
    }

    #[test]
    fn constant_image_stays_constant() {
        let img = RgbImage::from_pixel(37, 23, image::Rgb([200, 10, 99]));
        let out = resize_bicubic(&img, 56, 28);
        assert!(out.pixels().all(|p| p.0 == [200, 10, 99]));
        let out = resize_bicubic(&img, 14, 9);
        assert!(out.pixels().all(|p| p.0 == [200, 10, 99]));
    }

    /// Values from Pillow 11.3: `Image.frombytes("RGB", (4, 1), bytes([0,0,0, 255,255,255]*2)).resize((3, 1), BICUBIC)`.
    #[test]
    fn matches_pillow_on_a_stripe() {
        let img = RgbImage::from_raw(4, 1, [0u8, 0, 0, 255, 255, 255].repeat(2)).unwrap();
        let out = resize_bicubic(&img, 3, 1);
        let red: Vec<u8> = out.pixels().map(|p| p.0[0]).collect();
        assert_eq!(red, PILLOW_STRIPE_4_TO_3);
    }

    const PILLOW_STRIPE_4_TO_3: [u8; 3] = [78, 128, 177];
}
