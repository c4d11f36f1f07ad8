//! The shading pass: turns the visibility buffer into colours (and depth).
//!
//! Each pixel's surface point comes from intersecting the pixel's ray with its triangle's plane, which gives
//! exact perspective-correct barycentrics (and is unaffected by clipping). Along a run of pixels covered by
//! the same triangle the ray moves linearly, so the intersection reduces to three additions and a division
//! per pixel.

use habitat_assets::Aabb;

use super::camera::{CameraBasis, CameraPose, Intrinsics};
use super::frame::Frame;
use super::raster::{ScreenVertex, VisibilityBuffer, GUARD_BAND_PX, NO_TRIANGLE};
use super::scene_data::{dot, scale, sub, SceneRenderData, TriShade, NO_TEXTURE};
use super::texture::{floor_i32, unpack_rgb, MipTexture};

/// A camera pose with its intrinsics, ready for projecting and casting pixel rays.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View {
    pub eye: [f32; 3],
    pub basis: CameraBasis,
    pub focal: f32,
    pub cx: f32,
    pub cy: f32,
    pub width: usize,
    pub height: usize,
    /// Half extents of the image plane at unit depth.
    pub tan_half_x: f32,
    pub tan_half_y: f32,
    /// Half extents of the guard band at unit depth.
    pub guard_x: f32,
    pub guard_y: f32,
}

/// A half-space n.p + d >= 0.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plane {
    n: [f32; 3],
    d: f32,
}

impl Plane {
    fn through(n: [f32; 3], point: [f32; 3], offset: f32) -> Plane {
        Plane {
            n,
            d: -dot(n, point) - offset,
        }
    }

    /// True when the whole box is on the negative side.
    pub fn box_outside(&self, b: &Aabb) -> bool {
        let p = [0, 1, 2].map(|k| if self.n[k] >= 0.0 { b.max[k] } else { b.min[k] });
        dot(self.n, p) + self.d < 0.0
    }
}

impl View {
    pub fn new(pose: &CameraPose, k: &Intrinsics) -> View {
        let focal = k.focal();
        let (cx, cy) = (0.5 * k.width as f32, 0.5 * k.height as f32);
        View {
            eye: pose.position,
            basis: pose.basis(),
            focal,
            cx,
            cy,
            width: k.width as usize,
            height: k.height as usize,
            tan_half_x: cx / focal,
            tan_half_y: cy / focal,
            guard_x: GUARD_BAND_PX / focal,
            guard_y: GUARD_BAND_PX / focal,
        }
    }

    /// Camera space (x right, y up, w forward) to pixel coordinates; `w` must be positive.
    #[inline(always)]
    pub fn project(&self, x: f32, y: f32, w: f32) -> ScreenVertex {
        let iw = 1.0 / w;
        ScreenVertex {
            x: self.cx + self.focal * x * iw,
            y: self.cy - self.focal * y * iw,
            depth_key: iw,
        }
    }

    /// The view frustum (near plane and four sides, no far plane) as world-space half-spaces.
    pub fn world_planes(&self, near: f32) -> [Plane; 5] {
        let CameraBasis {
            right: r,
            up: u,
            forward: f,
        } = self.basis;
        let (tx, ty) = (self.tan_half_x, self.tan_half_y);
        let side = |a: [f32; 3], s: f32, t: f32| [0, 1, 2].map(|k| t * f[k] + s * a[k]);
        [
            Plane::through(f, self.eye, near),
            Plane::through(side(r, 1.0, tx), self.eye, 0.0),
            Plane::through(side(r, -1.0, tx), self.eye, 0.0),
            Plane::through(side(u, -1.0, ty), self.eye, 0.0),
            Plane::through(side(u, 1.0, ty), self.eye, 0.0),
        ]
    }
}

/// Shades every pixel of `vis` into `frame`.
pub(crate) fn shade_frame(
    vis: &VisibilityBuffer,
    scene: &SceneRenderData,
    view: &View,
    background: [u8; 3],
    frame: &mut Frame,
) {
    let w = view.width;
    let b = view.basis;
    let inv_f = 1.0 / view.focal;
    // Ray direction d(x, y) = forward + ((x + 0.5 - cx) / f) right - ((y + 0.5 - cy) / f) up; d.forward = 1,
    // so the ray parameter at a hit is the view depth.
    let step_x = scale(b.right, inv_f);
    for y in 0..view.height {
        let sy = (y as f32 + 0.5 - view.cy) * inv_f;
        let sx0 = (0.5 - view.cx) * inv_f;
        let row_dir = [0, 1, 2].map(|k| b.forward[k] + sx0 * b.right[k] - sy * b.up[k]);
        let row = y * w;
        let ids = &vis.ids[row..row + w];
        let rgb = &mut frame.rgb[row * 3..(row + w) * 3];
        let mut x = 0;
        while x < w {
            let id = ids[x];
            let mut end = x + 1;
            while end < w && ids[end] == id {
                end += 1;
            }
            if id == NO_TRIANGLE {
                for px in rgb[x * 3..end * 3].chunks_exact_mut(3) {
                    px.copy_from_slice(&background);
                }
            } else {
                let tri = &scene.tris[id as usize];
                let d0 = [0, 1, 2].map(|k| row_dir[k] + x as f32 * step_x[k]);
                shade_run(
                    tri,
                    scene,
                    view.eye,
                    d0,
                    step_x,
                    inv_f,
                    &mut rgb[x * 3..end * 3],
                );
            }
            x = end;
        }
        if let Some(depth) = frame.depth.as_mut() {
            for (d, &key) in depth[row..row + w].iter_mut().zip(&vis.depth[row..row + w]) {
                *d = if key > 0.0 { 1.0 / key } else { 0.0 };
            }
        }
    }
}

/// Colours of a triangle's three corners as seen from the camera's side, unpacked.
struct CornerColours {
    c0: [f32; 3],
    dc1: [f32; 3],
    dc2: [f32; 3],
}

impl CornerColours {
    #[inline(always)]
    fn new(tri: &TriShade, front: bool, scale: f32) -> Self {
        let packed = if front { tri.front } else { tri.back };
        let un = |p: u32| unpack_rgb(p).map(|c| c * scale);
        let (c0, c1, c2) = (un(packed[0]), un(packed[1]), un(packed[2]));
        CornerColours {
            c0,
            dc1: [0, 1, 2].map(|k| c1[k] - c0[k]),
            dc2: [0, 1, 2].map(|k| c2[k] - c0[k]),
        }
    }

    /// All corners share one colour (flat surfaces under the fixed light): no interpolation needed.
    #[inline(always)]
    fn is_constant(&self) -> bool {
        self.dc1 == [0.0; 3] && self.dc2 == [0.0; 3]
    }

    #[inline(always)]
    fn at(&self, b1: f32, b2: f32) -> [f32; 3] {
        let (b1, b2) = (b1.clamp(0.0, 1.0), b2.clamp(0.0, 1.0));
        [0, 1, 2].map(|k| self.c0[k] + b1 * self.dc1[k] + b2 * self.dc2[k])
    }
}

/// Surface colour (sRGB, 0..255) of `tri` at barycentrics (b1, b2) using mip level `level`.
/// The slow, general entry point (top-down maps); `shade_run` inlines the same arithmetic.
pub(crate) fn surface_colour(
    tri: &TriShade,
    scene: &SceneRenderData,
    front: bool,
    b1: f32,
    b2: f32,
    level: usize,
) -> [f32; 3] {
    if tri.texture == NO_TEXTURE {
        return CornerColours::new(tri, front, 1.0).at(b1, b2);
    }
    let tex = &scene.textures[tri.texture as usize];
    let c = CornerColours::new(tri, front, 1.0 / 255.0).at(b1, b2);
    let u = tri.uv0[0] + b1 * tri.duv1[0] + b2 * tri.duv2[0];
    let v = tri.uv0[1] + b1 * tri.duv1[1] + b2 * tri.duv2[1];
    // Whole repeats do not change the sample; dropping them keeps `bilinear` in its fixed-point range.
    let (u, v) = (u - floor_i32(u) as f32, v - floor_i32(v) as f32);
    let s = unpack_rgb(tex.bilinear(level.min(tex.levels.len() - 1), u, v));
    [s[0] * c[0], s[1] * c[1], s[2] * c[2]]
}

/// Mip level for a footprint of `texels` texels per pixel side: round(log2(texels)), at least 0.
#[inline(always)]
pub(crate) fn mip_level(texels: f32, max_level: usize) -> usize {
    let bits = (texels.abs() * std::f32::consts::SQRT_2).to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    e.clamp(0, max_level.min(31) as i32) as usize
}

#[inline(always)]
fn store(px: &mut [u8], c: [f32; 3]) {
    // `as u8` saturates, so values a hair above 255 clamp instead of wrapping.
    px[0] = (c[0] + 0.5) as u8;
    px[1] = (c[1] + 0.5) as u8;
    px[2] = (c[2] + 0.5) as u8;
}

/// Shades consecutive pixels of one row covered by `tri`, the first with ray direction `d0`.
///
/// The ray o + r d meets the plane at r = k / (n.d), where r is also the view depth (d.forward = 1), and
/// the barycentrics are b = g.(o - v0) + r g.d. Texture coordinates are affine in b, so u = cu + r lu with
/// lu linear along the row: per pixel one division and a few multiply-adds.
#[inline(always)]
fn shade_run(
    tri: &TriShade,
    scene: &SceneRenderData,
    eye: [f32; 3],
    d0: [f32; 3],
    step: [f32; 3],
    inv_f: f32,
    out: &mut [u8],
) {
    let v0o = sub(tri.v0, eye);
    let k = dot(tri.n, v0o);
    let front = k < 0.0;
    let c1 = -dot(tri.g1, v0o);
    let c2 = -dot(tri.g2, v0o);
    let mut nd = dot(tri.n, d0);
    let mut l1 = dot(tri.g1, d0);
    let mut l2 = dot(tri.g2, d0);
    let (snd, sl1, sl2) = (dot(tri.n, step), dot(tri.g1, step), dot(tri.g2, step));
    if tri.texture == NO_TEXTURE {
        let col = CornerColours::new(tri, front, 1.0);
        if col.is_constant() {
            let c = col.c0.map(|v| (v + 0.5) as u8);
            for px in out.chunks_exact_mut(3) {
                px.copy_from_slice(&c);
            }
            return;
        }
        for px in out.chunks_exact_mut(3) {
            let r = k / nd;
            store(px, col.at(c1 + r * l1, c2 + r * l2));
            nd += snd;
            l1 += sl1;
            l2 += sl2;
        }
        return;
    }
    let tex: &MipTexture = &scene.textures[tri.texture as usize];
    let max_level = tex.levels.len() - 1;
    let col = CornerColours::new(tri, front, 1.0 / 255.0);
    let (du1, du2) = (tri.duv1, tri.duv2);
    let mut cu = [0, 1].map(|a| tri.uv0[a] + c1 * du1[a] + c2 * du2[a]);
    let mut lu = [0, 1].map(|a| l1 * du1[a] + l2 * du2[a]);
    let slu = [0, 1].map(|a| sl1 * du1[a] + sl2 * du2[a]);
    // Shift by whole texture repeats so the run starts near the origin (keeps the fixed-point texel
    // positions of `bilinear` in range for tiled textures; wrapping makes the shift invisible).
    let r0 = k / nd;
    for a in 0..2 {
        cu[a] -= floor_i32(cu[a] + r0 * lu[a]) as f32;
    }
    // Texels per pixel side = depth * density / f / sqrt(|cos|) (the footprint's area grows as 1/|cos| at
    // grazing angles; taking the square root keeps floors sharp where a GPU's max-axis rule would blur).
    let lod_scale = tri.texel_density * inv_f / nd.abs().max(1e-6).sqrt();
    if col.is_constant() {
        // Integer modulation: out = round(texel * colour / 255) per channel.
        let c = col.c0.map(|v| (v * 255.0 + 0.5) as u32);
        for px in out.chunks_exact_mut(3) {
            let r = k / nd;
            let level = mip_level(r * lod_scale, max_level);
            let t = tex.bilinear(level, cu[0] + r * lu[0], cu[1] + r * lu[1]);
            px[0] = modulate(t & 0xff, c[0]);
            px[1] = modulate((t >> 8) & 0xff, c[1]);
            px[2] = modulate((t >> 16) & 0xff, c[2]);
            nd += snd;
            lu = [lu[0] + slu[0], lu[1] + slu[1]];
        }
        return;
    }
    for px in out.chunks_exact_mut(3) {
        let r = k / nd;
        let level = mip_level(r * lod_scale, max_level);
        let s = unpack_rgb(tex.bilinear(level, cu[0] + r * lu[0], cu[1] + r * lu[1]));
        let c = col.at(c1 + r * l1, c2 + r * l2);
        store(px, [s[0] * c[0], s[1] * c[1], s[2] * c[2]]);
        nd += snd;
        l1 += sl1;
        l2 += sl2;
        lu = [lu[0] + slu[0], lu[1] + slu[1]];
    }
}

/// round(a * b / 255) for bytes a, b, exactly, without a division.
#[inline(always)]
fn modulate(a: u32, b: u32) -> u8 {
    let x = a * b + 128;
    ((x + (x >> 8)) >> 8) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulate_is_exact_rounded_division() {
        for a in 0..256u32 {
            for b in 0..256u32 {
                assert_eq!(modulate(a, b) as u32, (a * b + 127) / 255, "{a} * {b}");
            }
        }
    }

    #[test]
    fn mip_level_rounds_log2_and_clamps() {
        assert_eq!(mip_level(0.3, 5), 0);
        assert_eq!(mip_level(1.0, 5), 0);
        assert_eq!(mip_level(1.5, 5), 1);
        assert_eq!(mip_level(2.0, 5), 1);
        assert_eq!(mip_level(3.0, 5), 2);
        assert_eq!(mip_level(1e9, 5), 5);
        assert_eq!(mip_level(f32::INFINITY, 5), 5);
    }
}
