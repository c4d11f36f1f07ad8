//! Top-down maps: an orthographic render of one storey seen from above, with overlays for the navigable
//! area, trajectories, the reference path, goals and the agent (for rollout videos and debugging).
//!
//! Image axes: +X to the right, +Z down, so an agent at heading 0 (facing -Z) points up the image and a
//! positive (left) turn is counter-clockwise on the map.

use std::path::Path;

use image::{ImageFormat, RgbImage};

use super::frame::write_png_atomic;
use super::raster::{ScreenVertex, VisibilityBuffer, NO_TRIANGLE};
use super::scene_data::{dot, sub, SceneRenderData};
use super::shade::{mip_level, surface_colour};
use crate::error::{EnvError, Result};

/// Maps larger than this per side are refused (a wrong `metres_per_pixel` would otherwise allocate GBs).
pub const MAX_MAP_SIDE: u32 = 8192;

/// Default vertical slice for a storey at floor height `y`: from a little below the floor (ramps, uneven
/// scans) to below the ceiling, so the ceiling and the storey above do not hide the floor.
pub const LEVEL_BELOW: f32 = 0.5;
pub const LEVEL_ABOVE: f32 = 2.0;

/// Background where no surface lies in the slice.
const EMPTY: [u8; 3] = [24, 24, 28];

/// An RGB top-down map of a rectangle of the XZ plane.
#[derive(Debug, Clone)]
pub struct TopDownMap {
    min_xz: [f32; 2],
    metres_per_pixel: f32,
    image: RgbImage,
    /// Which pixels show a surface (false: nothing within the height range).
    covered: Vec<bool>,
}

impl TopDownMap {
    /// Renders the surfaces of `scene` with heights in `height_range` (min, max) seen from above, over the
    /// rectangle `min_xz`..`max_xz`, at `metres_per_pixel`.
    pub fn new(
        scene: &SceneRenderData,
        min_xz: [f32; 2],
        max_xz: [f32; 2],
        metres_per_pixel: f32,
        height_range: (f32, f32),
    ) -> Result<Self> {
        let bad = |what: String| Err(EnvError::Invalid(format!("top-down map: {what}")));
        if !(metres_per_pixel > 0.0 && metres_per_pixel.is_finite()) {
            return bad(format!(
                "metres per pixel {metres_per_pixel} must be positive"
            ));
        }
        if !(max_xz[0] > min_xz[0] && max_xz[1] > min_xz[1])
            || min_xz.iter().chain(&max_xz).any(|v| !v.is_finite())
        {
            return bad(format!("empty or non-finite bounds {min_xz:?}..{max_xz:?}"));
        }
        let (lo, hi) = height_range;
        if !(hi > lo && lo.is_finite() && hi.is_finite()) {
            return bad(format!("empty height range {lo}..{hi}"));
        }
        let w = ((max_xz[0] - min_xz[0]) / metres_per_pixel).ceil();
        let h = ((max_xz[1] - min_xz[1]) / metres_per_pixel).ceil();
        if w > MAX_MAP_SIDE as f32 || h > MAX_MAP_SIDE as f32 {
            return bad(format!(
                "{w}x{h} pixels exceeds {MAX_MAP_SIDE} per side; use more metres per pixel"
            ));
        }
        let (w, h) = (w.max(1.0) as u32, h.max(1.0) as u32);
        let mut vis = VisibilityBuffer::new(w as usize, h as usize);
        let to_screen = |p: [f32; 3]| ScreenVertex {
            x: (p[0] - min_xz[0]) / metres_per_pixel,
            y: (p[2] - min_xz[1]) / metres_per_pixel,
            // Higher surfaces are nearer to a viewer above; keep the key positive.
            depth_key: p[1] - lo + 1.0,
        };
        // Clip to the height slice and to the map rectangle (one pixel of margin) before rasterising.
        let (x0, x1) = (
            min_xz[0] - metres_per_pixel,
            min_xz[0] + (w as f32 + 1.0) * metres_per_pixel,
        );
        let (z0, z1) = (
            min_xz[1] - metres_per_pixel,
            min_xz[1] + (h as f32 + 1.0) * metres_per_pixel,
        );
        let planes: [(usize, f32, f32); 6] = [
            (1, 1.0, -lo),
            (1, -1.0, hi),
            (0, 1.0, -x0),
            (0, -1.0, x1),
            (2, 1.0, -z0),
            (2, -1.0, z1),
        ];
        for chunk in &scene.chunks {
            if chunk.bounds.max[1] < lo || chunk.bounds.min[1] > hi {
                continue;
            }
            let verts = &scene.chunk_positions
                [chunk.vert_start as usize..(chunk.vert_start + chunk.vert_count) as usize];
            for t in chunk.tri_start..chunk.tri_start + chunk.tri_count {
                let li = scene.local_indices[t as usize];
                let tri = li.map(|i| verts[i as usize]);
                let poly = clip_polygon(&tri, &planes);
                if poly.len() < 3 {
                    continue;
                }
                for i in 1..poly.len() - 1 {
                    vis.draw_triangle(
                        [
                            to_screen(poly[0]),
                            to_screen(poly[i]),
                            to_screen(poly[i + 1]),
                        ],
                        t,
                    );
                }
            }
        }

        let mut image = RgbImage::new(w, h);
        let mut covered = vec![false; (w * h) as usize];
        let down = [0.0, -1.0, 0.0];
        for py in 0..h {
            for px in 0..w {
                let i = (py * w + px) as usize;
                let id = vis.ids[i];
                if id == NO_TRIANGLE {
                    image.put_pixel(px, py, image::Rgb(EMPTY));
                    continue;
                }
                covered[i] = true;
                let tri = &scene.tris[id as usize];
                let origin = [
                    min_xz[0] + (px as f32 + 0.5) * metres_per_pixel,
                    hi + 1.0,
                    min_xz[1] + (py as f32 + 0.5) * metres_per_pixel,
                ];
                let v0o = sub(tri.v0, origin);
                let nd = dot(tri.n, down);
                let r = dot(tri.n, v0o) / nd;
                let p = [origin[0], origin[1] - r, origin[2]];
                let q = sub(p, tri.v0);
                let (b1, b2) = (dot(tri.g1, q), dot(tri.g2, q));
                let texels = tri.texel_density * metres_per_pixel / nd.abs().max(1e-6).sqrt();
                let level = mip_level(texels, 31);
                let c = surface_colour(tri, scene, dot(tri.n, v0o) < 0.0, b1, b2, level);
                image.put_pixel(px, py, image::Rgb(c.map(|v| (v + 0.5) as u8)));
            }
        }
        Ok(TopDownMap {
            min_xz,
            metres_per_pixel,
            image,
            covered,
        })
    }

    /// The map of one storey whose floor is at height `floor_y`, covering the whole scene with a margin.
    pub fn for_level(scene: &SceneRenderData, floor_y: f32, metres_per_pixel: f32) -> Result<Self> {
        let b = scene.bounds();
        if b.is_empty() {
            return Err(EnvError::Invalid(
                "top-down map: the scene has no triangles".into(),
            ));
        }
        let margin = 0.5;
        TopDownMap::new(
            scene,
            [b.min[0] - margin, b.min[2] - margin],
            [b.max[0] + margin, b.max[2] + margin],
            metres_per_pixel,
            (floor_y - LEVEL_BELOW, floor_y + LEVEL_ABOVE),
        )
    }

    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }

    pub fn metres_per_pixel(&self) -> f32 {
        self.metres_per_pixel
    }

    /// Continuous pixel coordinates of world point (x, z) (pixel centres at +0.5).
    pub fn world_to_pixel(&self, x: f32, z: f32) -> [f32; 2] {
        [
            (x - self.min_xz[0]) / self.metres_per_pixel,
            (z - self.min_xz[1]) / self.metres_per_pixel,
        ]
    }

    /// World (x, z) at the centre of pixel (px, py).
    pub fn pixel_centre(&self, px: u32, py: u32) -> [f32; 2] {
        [
            self.min_xz[0] + (px as f32 + 0.5) * self.metres_per_pixel,
            self.min_xz[1] + (py as f32 + 0.5) * self.metres_per_pixel,
        ]
    }

    /// Tints pixels whose centre is navigable and dims other surfaces. The predicate gets world (x, z); pass
    /// the navigation module's query for this storey.
    pub fn draw_navigable(&mut self, is_navigable: &dyn Fn(f32, f32) -> bool) {
        const TINT: [f32; 3] = [120.0, 190.0, 255.0];
        for py in 0..self.height() {
            for px in 0..self.width() {
                let [x, z] = self.pixel_centre(px, py);
                let i = (py * self.width() + px) as usize;
                let p = self.image.get_pixel_mut(px, py);
                if is_navigable(x, z) {
                    for (c, t) in p.0.iter_mut().zip(TINT) {
                        *c = (0.45 * *c as f32 + 0.55 * t + 0.5) as u8;
                    }
                } else if self.covered[i] {
                    for c in &mut p.0 {
                        *c = (*c as f32 * 0.55 + 0.5) as u8;
                    }
                }
            }
        }
    }

    /// Draws a polyline through world points (their y is ignored), `width_px` wide, anti-aliased.
    pub fn draw_path(&mut self, points: &[[f32; 3]], colour: [u8; 3], width_px: f32) {
        let half = 0.5 * width_px.max(0.5);
        if points.len() == 1 {
            let c = self.world_to_pixel(points[0][0], points[0][2]);
            self.paint(c, c, half, colour);
        }
        for seg in points.windows(2) {
            let a = self.world_to_pixel(seg[0][0], seg[0][2]);
            let b = self.world_to_pixel(seg[1][0], seg[1][2]);
            self.paint(a, b, half, colour);
        }
    }

    /// Draws a goal: a ring at `radius` metres (the success radius) around `position` and a dot at its centre.
    pub fn draw_goal(&mut self, position: [f32; 3], radius: f32, colour: [u8; 3]) {
        let c = self.world_to_pixel(position[0], position[2]);
        let r = radius / self.metres_per_pixel;
        self.paint_by_distance(c, r + 2.0, colour, |q| {
            let d = ((q[0] - c[0]).powi(2) + (q[1] - c[1]).powi(2)).sqrt();
            (d - r).abs() - 1.0
        });
        self.paint(c, c, 3.0, colour);
    }

    /// Draws the agent: a disc with a line showing its heading (radians, 0 = -Z, positive turns left).
    pub fn draw_agent(&mut self, position: [f32; 3], heading: f32, colour: [u8; 3]) {
        let c = self.world_to_pixel(position[0], position[2]);
        let len = (0.4 / self.metres_per_pixel).max(6.0);
        let tip = [c[0] - heading.sin() * len, c[1] - heading.cos() * len];
        self.paint(c, c, (len * 0.35).max(3.0), colour);
        self.paint(c, tip, 1.5, colour);
    }

    pub fn image(&self) -> &RgbImage {
        &self.image
    }

    pub fn save_png(&self, path: &Path) -> Result<()> {
        write_png_atomic(path, |w| self.image.write_to(w, ImageFormat::Png))
    }

    /// Paints the capsule of radius `half` around segment a-b. The segment is first clipped to the image
    /// (plus the capsule's reach) and each row scans only the columns the capsule can cover, so the cost
    /// follows the segment's length inside the image, not its bounding box (a path crossing a map
    /// diagonally, or from 1e30 to -1e30, used to scan every pixel once per segment).
    fn paint(&mut self, a: [f32; 2], b: [f32; 2], half: f32, colour: [u8; 3]) {
        let reach = half + 1.0;
        let (w, h) = (self.width() as f32, self.height() as f32);
        let Some((a, b)) = clip_segment(a, b, [-reach, -reach], [w + reach, h + reach]) else {
            return;
        };
        let ab = [b[0] - a[0], b[1] - a[1]];
        let len2 = ab[0] * ab[0] + ab[1] * ab[1];
        let sdf = |q: [f32; 2]| {
            let t = if len2 > 0.0 {
                (((q[0] - a[0]) * ab[0] + (q[1] - a[1]) * ab[1]) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let d = [q[0] - a[0] - t * ab[0], q[1] - a[1] - t * ab[1]];
            (d[0] * d[0] + d[1] * d[1]).sqrt() - half
        };
        let (wi, hi) = (self.width() as i64, self.height() as i64);
        let y0 = ((a[1].min(b[1]) - reach).floor() as i64).max(0);
        let y1 = ((a[1].max(b[1]) + reach).ceil() as i64).min(hi - 1);
        for py in y0..=y1 {
            // The part of the segment within `reach` of this row's centres, widened by `reach`.
            let yc = py as f32 + 0.5;
            let (t0, t1) = if ab[1].abs() > f32::EPSILON {
                let (ta, tb) = ((yc - reach - a[1]) / ab[1], (yc + reach - a[1]) / ab[1]);
                (ta.min(tb).max(0.0), ta.max(tb).min(1.0))
            } else {
                (0.0, 1.0)
            };
            if t0 > t1 {
                continue;
            }
            let (xa, xb) = (a[0] + t0 * ab[0], a[0] + t1 * ab[0]);
            let x0 = ((xa.min(xb) - reach).floor() as i64).max(0);
            let x1 = ((xa.max(xb) + reach).ceil() as i64).min(wi - 1);
            for px in x0..=x1 {
                self.blend(px as u32, py as u32, sdf([px as f32 + 0.5, yc]), colour);
            }
        }
    }

    /// Blends `colour` into one pixel by its coverage from a signed distance (pixels).
    fn blend(&mut self, px: u32, py: u32, distance: f32, colour: [u8; 3]) {
        let cov = (0.5 - distance).clamp(0.0, 1.0);
        if cov > 0.0 {
            let p = self.image.get_pixel_mut(px, py);
            for (c, t) in p.0.iter_mut().zip(colour) {
                *c = (*c as f32 * (1.0 - cov) + t as f32 * cov + 0.5) as u8;
            }
        }
    }

    /// Blends `colour` into pixels within `reach` of `centre` by coverage from a signed distance (pixels).
    fn paint_by_distance(
        &mut self,
        centre: [f32; 2],
        reach: f32,
        colour: [u8; 3],
        sdf: impl Fn([f32; 2]) -> f32,
    ) {
        let (w, h) = (self.width() as i64, self.height() as i64);
        let x0 = ((centre[0] - reach).floor() as i64).max(0);
        let x1 = ((centre[0] + reach).ceil() as i64).min(w - 1);
        let y0 = ((centre[1] - reach).floor() as i64).max(0);
        let y1 = ((centre[1] + reach).ceil() as i64).min(h - 1);
        for py in y0..=y1 {
            for px in x0..=x1 {
                let d = sdf([px as f32 + 0.5, py as f32 + 0.5]);
                self.blend(px as u32, py as u32, d, colour);
            }
        }
    }
}

/// Sutherland-Hodgman against axis-aligned half-spaces `sign * p[axis] + offset >= 0`.
/// The part of segment a-b inside the rectangle `lo`..`hi` (Liang-Barsky), or None. Non-finite ends give None.
fn clip_segment(
    a: [f32; 2],
    b: [f32; 2],
    lo: [f32; 2],
    hi: [f32; 2],
) -> Option<([f32; 2], [f32; 2])> {
    if !a.iter().chain(&b).all(|v| v.is_finite()) {
        return None;
    }
    let d = [b[0] - a[0], b[1] - a[1]];
    let (mut t0, mut t1) = (0.0f32, 1.0f32);
    for k in 0..2 {
        for (p, q) in [(-d[k], a[k] - lo[k]), (d[k], hi[k] - a[k])] {
            if p == 0.0 {
                if q < 0.0 {
                    return None;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
    }
    // An end inside stays bit-identical (a + (b - a) need not round to b).
    let at = |t: f32, end: [f32; 2], whole: f32| {
        if t == whole {
            end
        } else {
            [a[0] + t * d[0], a[1] + t * d[1]]
        }
    };
    (t0 <= t1).then(|| (at(t0, a, 0.0), at(t1, b, 1.0)))
}

fn clip_polygon(tri: &[[f32; 3]; 3], planes: &[(usize, f32, f32)]) -> Vec<[f32; 3]> {
    let mut poly = tri.to_vec();
    for &(axis, sign, offset) in planes {
        let dist = |p: &[f32; 3]| sign * p[axis] + offset;
        if poly.iter().all(|p| dist(p) >= 0.0) {
            continue;
        }
        let mut next = Vec::with_capacity(poly.len() + 1);
        for i in 0..poly.len() {
            let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
            let (da, db) = (dist(&a), dist(&b));
            if da >= 0.0 {
                next.push(a);
            }
            if (da >= 0.0) != (db >= 0.0) {
                let s = da / (da - db);
                next.push([0, 1, 2].map(|k| a[k] + s * (b[k] - a[k])));
            }
        }
        poly = next;
        if poly.len() < 3 {
            break;
        }
    }
    poly
}

#[cfg(test)]
mod tests {
    use super::*;
    use habitat_assets::Scene;

    impl TopDownMap {
        /// The capsule painted by scanning its whole bounding box: what `paint` did before clipping.
        fn paint_full_scan(&mut self, a: [f32; 2], b: [f32; 2], half: f32, colour: [u8; 3]) {
            let ab = [b[0] - a[0], b[1] - a[1]];
            let len2 = ab[0] * ab[0] + ab[1] * ab[1];
            let centre = [(a[0] + b[0]) * 0.5, (a[1] + b[1]) * 0.5];
            let reach = 0.5 * len2.sqrt() + half + 1.0;
            self.paint_by_distance(centre, reach, colour, |q| {
                let t = if len2 > 0.0 {
                    (((q[0] - a[0]) * ab[0] + (q[1] - a[1]) * ab[1]) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let d = [q[0] - a[0] - t * ab[0], q[1] - a[1] - t * ab[1]];
                (d[0] * d[0] + d[1] * d[1]).sqrt() - half
            });
        }
    }

    fn blank() -> TopDownMap {
        let data = SceneRenderData::new(&Scene::default());
        TopDownMap::new(&data, [0.0, 0.0], [3.0, 2.0], 0.01, (0.0, 1.0)).unwrap()
    }

    #[test]
    fn clipped_painting_matches_the_full_scan() {
        let segments = [
            ([10.5, 20.25], [250.0, 180.0]),
            ([-50.0, -40.0], [400.0, 30.0]),
            ([100.0, 100.0], [100.0, 100.0]),
            ([5.0, 150.0], [295.0, 150.5]),
            // Far ends (clipped) but short enough that the full scan's f32 projection is still exact.
            ([150.0, -300.0], [151.0, 500.0]),
            ([-10.0, 5.0], [-2.0, 190.0]),
        ];
        for (a, b) in segments {
            for half in [0.5, 1.5, 3.0] {
                let (mut fast, mut slow) = (blank(), blank());
                fast.paint(a, b, half, [200, 40, 40]);
                slow.paint_full_scan(a, b, half, [200, 40, 40]);
                let worst = fast
                    .image
                    .as_raw()
                    .iter()
                    .zip(slow.image.as_raw())
                    .map(|(x, y)| x.abs_diff(*y))
                    .max();
                // Clipped ends may round differently by a last bit: at most one level of one channel.
                assert!(worst <= Some(1), "{a:?}-{b:?} half {half}: {worst:?}");
            }
        }
    }

    #[test]
    fn a_path_of_thousands_of_far_points_draws_quickly() {
        // 2000 x 2000 pixels: scanning every pixel per segment (as before) would take minutes.
        let data = SceneRenderData::new(&Scene::default());
        let mut map = TopDownMap::new(&data, [0.0, 0.0], [20.0, 20.0], 0.01, (0.0, 1.0)).unwrap();
        for far in [1e30f32, 1e4] {
            let points: Vec<[f32; 3]> = (0..4096)
                .map(|i| {
                    let s = if i % 2 == 0 { far } else { -far };
                    [s, 0.0, if i % 4 < 2 { s } else { -s }]
                })
                .collect();
            let start = std::time::Instant::now();
            map.draw_path(&points, [40, 200, 70], 3.0);
            assert!(
                start.elapsed().as_secs_f32() < 10.0,
                "{far}: {:?}",
                start.elapsed()
            );
        }
        assert!(map.image.pixels().any(|p| p.0 == [40, 200, 70]));
    }
}
