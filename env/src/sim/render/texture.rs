//! Textures prepared for sampling: power-of-two sizes (so wrapping is a bit mask), packed RGBA8 texels and a
//! mip chain averaged in linear light (so distant surfaces keep their brightness and do not shimmer).

use habitat_assets::Texture;
use image::imageops::FilterType;

/// Textures larger than this per side are downscaled when the scene is prepared: an egocentric frame of a
/// few hundred pixels never samples finer levels, and memory stays bounded for scanned scenes.
pub const MAX_TEXTURE_SIDE: u32 = 2048;

#[derive(Debug, Clone, Copy)]
pub(crate) struct MipLevel {
    pub offset: usize,
    pub width_log2: u32,
    pub wmask: i32,
    pub hmask: i32,
    /// Width and height times 256: texture coordinate to 24.8 fixed-point texels.
    pub width_fx: f32,
    pub height_fx: f32,
}

/// One texture and its mip chain, all levels packed into one texel array (RGBA8 sRGB, little endian).
#[derive(Debug, Clone)]
pub struct MipTexture {
    pub(crate) levels: Vec<MipLevel>,
    pub(crate) texels: Vec<u32>,
    width: u32,
    height: u32,
}

/// sRGB byte -> linear, exact (IEC 61966-2-1).
pub(crate) fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Linear -> sRGB in [0, 1], exact (IEC 61966-2-1).
pub(crate) fn linear_to_srgb(c: f32) -> f32 {
    let c = c.clamp(0.0, 1.0);
    if c <= 0.0031308 {
        c * 12.92
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    }
}

fn nearest_power_of_two(n: u32) -> u32 {
    let n = n.clamp(1, MAX_TEXTURE_SIDE);
    let lo = 1u32 << (31 - n.leading_zeros());
    let hi = lo << 1;
    if n - lo <= hi - n || hi > MAX_TEXTURE_SIDE {
        lo
    } else {
        hi
    }
}

impl MipTexture {
    /// Prepares `tex`. A texture whose pixel array does not match its size (a loader bug) becomes a
    /// 1x1 magenta texture rather than reading out of bounds: the mismatch is visible in frames.
    pub fn new(tex: &Texture) -> Self {
        let (w, h) = (tex.width, tex.height);
        let valid = w > 0 && h > 0 && tex.rgba.len() == (w as usize) * (h as usize) * 4;
        let base: image::RgbaImage = if valid {
            let img =
                image::RgbaImage::from_raw(w, h, tex.rgba.clone()).expect("size checked above");
            let (pw, ph) = (nearest_power_of_two(w), nearest_power_of_two(h));
            if (pw, ph) == (w, h) {
                img
            } else {
                image::imageops::resize(&img, pw, ph, FilterType::Triangle)
            }
        } else {
            image::RgbaImage::from_pixel(1, 1, image::Rgba([255, 0, 255, 255]))
        };
        Self::from_power_of_two(&base)
    }

    fn from_power_of_two(base: &image::RgbaImage) -> Self {
        let (w0, h0) = base.dimensions();
        let mut levels = Vec::new();
        let mut texels: Vec<u32> = base.pixels().map(|p| u32::from_le_bytes(p.0)).collect();
        let (mut w, mut h) = (w0, h0);
        let mut offset = 0usize;
        loop {
            levels.push(MipLevel {
                offset,
                width_log2: w.trailing_zeros(),
                wmask: w as i32 - 1,
                hmask: h as i32 - 1,
                width_fx: (w * 256) as f32,
                height_fx: (h * 256) as f32,
            });
            if w == 1 && h == 1 {
                break;
            }
            let (nw, nh) = ((w / 2).max(1), (h / 2).max(1));
            let next = downsample(&texels[offset..offset + (w * h) as usize], w, h, nw, nh);
            offset += (w * h) as usize;
            texels.extend_from_slice(&next);
            (w, h) = (nw, nh);
        }
        MipTexture {
            levels,
            texels,
            width: w0,
            height: h0,
        }
    }

    /// Size of level 0 (after the power-of-two resize).
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    pub fn level_count(&self) -> usize {
        self.levels.len()
    }

    /// Bilinear sample of `level` at (u, v) with repeat wrapping: packed sRGB RGBA bytes. Positions are
    /// resolved to 1/256 texel; |u| and |v| times the level's size must stay below 2^13 texels (callers
    /// shift coordinates by whole repeats to keep them near the origin), beyond which the sample is still
    /// an in-bounds texel, just not the right one.
    #[inline(always)]
    pub(crate) fn bilinear(&self, level: usize, u: f32, v: f32) -> u32 {
        let l = &self.levels[level];
        let fx = fixed_8(u * l.width_fx - 128.0);
        let fy = fixed_8(v * l.height_fx - 128.0);
        let (xi, yi) = (fx >> 8, fy >> 8);
        let (wx, wy) = ((fx & 0xff) as u32, (fy & 0xff) as u32);
        let x0 = (xi & l.wmask) as usize;
        let x1 = ((xi + 1) & l.wmask) as usize;
        let r0 = l.offset + (((yi & l.hmask) as usize) << l.width_log2);
        let r1 = l.offset + ((((yi + 1) & l.hmask) as usize) << l.width_log2);
        let t = &self.texels;
        let top = lerp_packed(t[r0 + x0], t[r0 + x1], wx);
        let bottom = lerp_packed(t[r1 + x0], t[r1 + x1], wx);
        lerp_packed(top, bottom, wy)
    }

    /// Mean colour of the whole texture (its 1x1 level), sRGB in [0, 255].
    #[cfg(test)]
    pub(crate) fn mean(&self) -> [f32; 3] {
        let l = self
            .levels
            .last()
            .expect("a texture has at least one level");
        let t = self.texels[l.offset];
        [
            (t & 0xff) as f32,
            ((t >> 8) & 0xff) as f32,
            ((t >> 16) & 0xff) as f32,
        ]
    }
}

/// `round(x)` as an integer for |x| < 2^22, without a float-to-int conversion: adding 1.5 * 2^23 leaves
/// the rounded integer in the low mantissa bits (the classic magic-number trick; exact in IEEE arithmetic).
#[inline(always)]
fn fixed_8(x: f32) -> i32 {
    const MAGIC: f32 = 12_582_912.0;
    ((x + MAGIC).to_bits() as i32).wrapping_sub(MAGIC.to_bits() as i32)
}

/// Per-byte `a + (b - a) * w / 256` of two packed RGBA texels, `w` in 0..256: two 8-bit channels ride in
/// the 16-bit halves of one u32 product without overflowing (255 * 256 < 2^16).
#[inline(always)]
fn lerp_packed(a: u32, b: u32, w: u32) -> u32 {
    let iw = 256 - w;
    let rb = (((a & 0x00ff_00ff) * iw + (b & 0x00ff_00ff) * w) >> 8) & 0x00ff_00ff;
    let ga = (((a >> 8) & 0x00ff_00ff) * iw + ((b >> 8) & 0x00ff_00ff) * w) & 0xff00_ff00;
    rb | ga
}

/// Packed RGBA bytes to sRGB channels in [0, 255].
#[inline(always)]
pub(crate) fn unpack_rgb(t: u32) -> [f32; 3] {
    [
        (t & 0xff) as f32,
        ((t >> 8) & 0xff) as f32,
        ((t >> 16) & 0xff) as f32,
    ]
}

/// `floor` without a libm call on the baseline x86-64 target (which lacks SSE4.1's `roundss`).
/// Values beyond the i32 range saturate, which only happens for absurd texture coordinates.
#[inline(always)]
pub(crate) fn floor_i32(x: f32) -> i32 {
    let i = x as i32;
    i - ((x < i as f32) as i32)
}

/// Averages 2x2 (or 2x1 / 1x2 at the thin end of the chain) texels in linear light.
fn downsample(src: &[u32], w: u32, h: u32, nw: u32, nh: u32) -> Vec<u32> {
    let lut: Vec<f32> = (0..256).map(|i| srgb_to_linear(i as f32 / 255.0)).collect();
    let (sx, sy) = ((w / nw) as usize, (h / nh) as usize);
    let mut out = Vec::with_capacity((nw * nh) as usize);
    for y in 0..nh as usize {
        for x in 0..nw as usize {
            let mut acc = [0.0f32; 4];
            for dy in 0..sy {
                for dx in 0..sx {
                    let t = src[(y * sy + dy) * w as usize + x * sx + dx].to_le_bytes();
                    for k in 0..3 {
                        acc[k] += lut[t[k] as usize];
                    }
                    acc[3] += t[3] as f32;
                }
            }
            let n = (sx * sy) as f32;
            let mut px = [0u8; 4];
            for k in 0..3 {
                px[k] = (linear_to_srgb(acc[k] / n) * 255.0 + 0.5) as u8;
            }
            px[3] = (acc[3] / n + 0.5) as u8;
            out.push(u32::from_le_bytes(px));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texture(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 4]) -> Texture {
        let mut rgba = Vec::new();
        for y in 0..h {
            for x in 0..w {
                rgba.extend_from_slice(&f(x, y));
            }
        }
        Texture {
            width: w,
            height: h,
            rgba,
        }
    }

    #[test]
    fn mip_chain_ends_at_one_texel_and_averages_in_linear_light() {
        // A black/white checkerboard averages to 50% linear grey = sRGB 188, not 128.
        let t = MipTexture::new(&texture(4, 4, |x, y| {
            if (x + y) % 2 == 0 {
                [255; 4]
            } else {
                [0, 0, 0, 255]
            }
        }));
        assert_eq!(t.level_count(), 3);
        let m = t.mean();
        assert!((m[0] - 188.0).abs() <= 1.0, "{m:?}");
    }

    #[test]
    fn non_power_of_two_textures_are_resized_and_rectangular_chains_work() {
        let t = MipTexture::new(&texture(7, 5, |_, _| [10, 20, 30, 255]));
        assert_eq!(t.size(), (8, 4));
        assert_eq!(t.level_count(), 4);
        let s = unpack_rgb(t.bilinear(3, 0.3, 0.7));
        assert!(
            (s[0] - 10.0).abs() < 0.5 && (s[2] - 30.0).abs() < 0.5,
            "{s:?}"
        );
    }

    #[test]
    fn bilinear_wraps_and_hits_texel_centres_exactly() {
        let t = MipTexture::new(&texture(2, 2, |x, y| {
            [(x * 100) as u8, (y * 100) as u8, 0, 255]
        }));
        // Texel (1,0) centre is at u = 0.75, v = 0.25.
        let s = unpack_rgb(t.bilinear(0, 0.75, 0.25));
        assert_eq!([s[0].round(), s[1].round()], [100.0, 0.0]);
        // u = 1.0 lies between texel 1 and texel 0 (wrapped): the mean of both.
        let s = unpack_rgb(t.bilinear(0, 1.0, 0.25));
        assert!((s[0] - 50.0).abs() <= 1.0, "{s:?}");
        // Negative coordinates wrap the same way.
        let s = unpack_rgb(t.bilinear(0, -0.25, 0.25));
        assert_eq!(s[0].round(), 100.0);
    }

    #[test]
    fn a_malformed_texture_is_visible_not_a_panic() {
        let t = MipTexture::new(&Texture {
            width: 4,
            height: 4,
            rgba: vec![0; 7],
        });
        assert_eq!(t.mean(), [255.0, 0.0, 255.0]);
    }

    #[test]
    fn srgb_round_trip() {
        for i in 0..=255 {
            let c = i as f32 / 255.0;
            assert!((linear_to_srgb(srgb_to_linear(c)) - c).abs() < 1e-4);
        }
    }
}
