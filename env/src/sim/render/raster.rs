//! Triangle rasterisation into a visibility buffer (nearest depth + triangle id per pixel).
//!
//! Shading is deferred to a second pass over the finished buffer, so every pixel is shaded exactly once
//! however many surfaces overlap it (indoor scenes have heavy overdraw: rooms behind walls).
//!
//! Vertices are snapped to 1/16 pixel and edge functions are evaluated in exact integer arithmetic with a
//! tie-breaking rule, so triangles sharing an edge never leave a crack nor cover a pixel twice. Depth is
//! stored as 1/w (reciprocal view depth), which is affine in screen space for perspective projections and
//! (given as a height) for orthographic ones; larger is nearer.
//!
//! Callers clip first: vertex coordinates must lie within `GUARD_BAND_PX` of the image.

use super::texture::floor_i32;

/// Triangle id meaning "nothing drawn here".
pub(crate) const NO_TRIANGLE: u32 = u32::MAX;

/// Screen coordinates beyond this many pixels from the image centre are clipped away beforehand; keeps the
/// snapped coordinates exact in f32 (2^13 px at 1/16 px needs 17 bits) and edge products far from i64 overflow.
pub(crate) const GUARD_BAND_PX: f32 = 8192.0;

const SUBPIXEL_BITS: i32 = 4;
const SUBPIXEL: f32 = (1 << SUBPIXEL_BITS) as f32;
const HALF_PIXEL: i32 = 1 << (SUBPIXEL_BITS - 1);

/// A projected vertex: pixel coordinates (x right, y down, pixel centres at +0.5) and the depth key.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ScreenVertex {
    pub x: f32,
    pub y: f32,
    /// Interpolated linearly in screen space; the larger value wins the depth test.
    pub depth_key: f32,
}

/// Side of the square tiles of the hierarchical depth buffer.
const TILE: usize = 8;
/// Triangles at least this many pixels wide get exact per-row spans; narrower ones test each pixel.
const SPAN_MIN_WIDTH: i64 = 8;

/// Per-pixel nearest depth key and triangle id, plus a coarse occlusion buffer; reused from frame to frame.
#[derive(Debug, Clone)]
pub(crate) struct VisibilityBuffer {
    pub width: usize,
    pub height: usize,
    pub depth: Vec<f32>,
    pub ids: Vec<u32>,
    tiles_x: usize,
    /// Per 8x8 tile: a lower bound of the depth keys in it (the farthest surface drawn there, or 0).
    /// Anything entirely farther than this over all its tiles is hidden.
    tile_far: Vec<f32>,
    /// Tiles drawn into since the last `refresh_occlusion`, and a flag per tile to list each once.
    dirty: Vec<u32>,
    is_dirty: Vec<bool>,
}

impl VisibilityBuffer {
    pub fn new(width: usize, height: usize) -> Self {
        let (tiles_x, tiles_y) = (width.div_ceil(TILE), height.div_ceil(TILE));
        VisibilityBuffer {
            width,
            height,
            depth: vec![0.0; width * height],
            ids: vec![NO_TRIANGLE; width * height],
            tiles_x,
            tile_far: vec![0.0; tiles_x * tiles_y],
            dirty: Vec::with_capacity(tiles_x * tiles_y),
            is_dirty: vec![false; tiles_x * tiles_y],
        }
    }

    /// Empties the buffer. Depth keys of drawn surfaces are positive, so 0 is "infinitely far".
    pub fn clear(&mut self) {
        self.depth.fill(0.0);
        self.ids.fill(NO_TRIANGLE);
        self.tile_far.fill(0.0);
        self.dirty.clear();
        self.is_dirty.fill(false);
    }

    /// True when every pixel of the rectangle (inclusive pixel bounds, clamped to the image) already holds a
    /// surface nearer than `nearest_key`, the largest depth key of the thing being tested.
    pub fn rect_occluded(&self, x0: i64, y0: i64, x1: i64, y1: i64, nearest_key: f32) -> bool {
        let (x0, y0) = (x0.max(0) as usize, y0.max(0) as usize);
        let (x1, y1) = (
            x1.min(self.width as i64 - 1),
            y1.min(self.height as i64 - 1),
        );
        if x1 < x0 as i64 || y1 < y0 as i64 {
            return true;
        }
        let (tx0, tx1) = (x0 / TILE, x1 as usize / TILE);
        for ty in y0 / TILE..=y1 as usize / TILE {
            let row = &self.tile_far[ty * self.tiles_x + tx0..=ty * self.tiles_x + tx1];
            if row.iter().any(|&far| nearest_key >= far) {
                return false;
            }
        }
        true
    }

    /// Recomputes the occlusion tiles under everything drawn since the last call.
    pub fn refresh_occlusion(&mut self) {
        for &t in &self.dirty {
            let t = t as usize;
            self.is_dirty[t] = false;
            let (tx, ty) = (t % self.tiles_x, t / self.tiles_x);
            let (px0, px1) = (tx * TILE, ((tx + 1) * TILE).min(self.width));
            let rows = ty * TILE..((ty + 1) * TILE).min(self.height);
            let far = if px1 - px0 == TILE {
                // Full-width tile: lane-wise minimum over rows of eight (vectorises), then across lanes.
                let mut m = [f32::INFINITY; TILE];
                for y in rows {
                    let row: &[f32; TILE] = self.depth[y * self.width + px0..][..TILE]
                        .try_into()
                        .expect("tile row");
                    for k in 0..TILE {
                        m[k] = if row[k] < m[k] { row[k] } else { m[k] };
                    }
                }
                m.iter()
                    .fold(f32::INFINITY, |a, &b| if b < a { b } else { a })
            } else {
                rows.flat_map(|y| self.depth[y * self.width + px0..y * self.width + px1].iter())
                    .fold(f32::INFINITY, |a, &b| if b < a { b } else { a })
            };
            self.tile_far[t] = far;
        }
        self.dirty.clear();
    }

    fn mark_dirty(&mut self, x0: i64, y0: i64, x1: i64, y1: i64) {
        let (tx0, tx1) = (x0 as usize / TILE, x1 as usize / TILE);
        for ty in y0 as usize / TILE..=y1 as usize / TILE {
            for t in ty * self.tiles_x + tx0..=ty * self.tiles_x + tx1 {
                if !self.is_dirty[t] {
                    self.is_dirty[t] = true;
                    self.dirty.push(t as u32);
                }
            }
        }
    }

    /// Rasterises one triangle (either winding) with a depth test.
    pub fn draw_triangle(&mut self, v: [ScreenVertex; 3], id: u32) {
        let snap = |c: f32| floor_i32(c * SUBPIXEL + 0.5);
        let mut p = v.map(|s| (snap(s.x) as i64, snap(s.y) as i64));
        let area = (p[1].0 - p[0].0) * (p[2].1 - p[0].1) - (p[1].1 - p[0].1) * (p[2].0 - p[0].0);
        if area == 0 {
            return;
        }
        if area < 0 {
            // Make the edge functions positive inside; both windings are drawn (culling happens earlier).
            p.swap(1, 2);
        }
        let (w, h) = (self.width as i64, self.height as i64);
        // Pixel px covers centre px*16 + 8; take the centres inside the triangle's bounding box.
        let min_x = p[0].0.min(p[1].0).min(p[2].0);
        let max_x = p[0].0.max(p[1].0).max(p[2].0);
        let min_y = p[0].1.min(p[1].1).min(p[2].1);
        let max_y = p[0].1.max(p[1].1).max(p[2].1);
        let h64 = HALF_PIXEL as i64;
        let px0 = ceil_div(min_x - h64, 16).max(0);
        let px1 = (max_x - h64).div_euclid(16).min(w - 1);
        let py0 = ceil_div(min_y - h64, 16).max(0);
        let py1 = (max_y - h64).div_euclid(16).min(h - 1);
        if px0 > px1 || py0 > py1 {
            return;
        }
        let nearest = v[0].depth_key.max(v[1].depth_key).max(v[2].depth_key);
        if self.rect_occluded(px0, py0, px1, py1, nearest) {
            return;
        }
        // Edge i is opposite vertex i: E_i(q) = (b - a) x (q - a), positive inside, E_0 + E_1 + E_2 = area.
        let start = (px0 * 16 + h64, py0 * 16 + h64);
        let mut e_row = [0i64; 3];
        let mut step_x = [0i64; 3];
        let mut step_y = [0i64; 3];
        for i in 0..3 {
            let a = p[(i + 1) % 3];
            let b = p[(i + 2) % 3];
            let (dx, dy) = (b.0 - a.0, b.1 - a.1);
            // Pixels exactly on an edge belong to one of the two triangles sharing it: the edge that runs
            // downwards, or leftwards when horizontal, owns them (the reversed edge does not).
            let owns = dy > 0 || (dy == 0 && dx < 0);
            e_row[i] = dx * (start.1 - a.1) - dy * (start.0 - a.0) - if owns { 0 } else { 1 };
            step_x[i] = -dy * 16;
            step_y[i] = dx * 16;
        }
        // The depth plane comes from the exact (unsnapped) coordinates: snapping moves far-away clipped
        // vertices by up to 1/32 px, which would tilt the plane measurably where depth changes fast.
        let (dz_dx, dz_dy, z_start) = depth_plane(&v, (px0 as f64 + 0.5, py0 as f64 + 0.5));
        let last = px1 - px0;
        if last < SPAN_MIN_WIDTH {
            self.mark_dirty(px0, py0, px1, py1);
            self.fill_narrow(
                px0,
                py0,
                py1,
                last,
                e_row,
                step_x,
                step_y,
                (z_start, dz_dx, dz_dy),
                id,
            );
        } else {
            let bounds = [0, 1, 2].map(|i| EdgeBound::new(e_row[i], step_x[i], step_y[i]));
            self.fill_wide(px0, py0, py1, last, bounds, (z_start, dz_dx, dz_dy), id);
        }
    }

    /// Narrow triangles: test every pixel of the bounding box against the three edges.
    #[allow(clippy::too_many_arguments)]
    fn fill_narrow(
        &mut self,
        px0: i64,
        py0: i64,
        py1: i64,
        last: i64,
        mut e_row: [i64; 3],
        step_x: [i64; 3],
        step_y: [i64; 3],
        (z_start, dz_dx, dz_dy): (f32, f32, f32),
        id: u32,
    ) {
        for (row_index, py) in (py0..=py1).enumerate() {
            let z_row = z_start + dz_dy * row_index as f32;
            let row = py as usize * self.width + px0 as usize;
            let mut e = e_row;
            for k in 0..=last as usize {
                if (e[0] | e[1] | e[2]) >= 0 {
                    let zk = z_row + dz_dx * k as f32;
                    if zk > self.depth[row + k] {
                        self.depth[row + k] = zk;
                        self.ids[row + k] = id;
                    }
                }
                for i in 0..3 {
                    e[i] += step_x[i];
                }
            }
            for i in 0..3 {
                e_row[i] += step_y[i];
            }
        }
    }

    /// Wide triangles: per row, the exact covered span from the edges' incremental bounds; only covered
    /// pixels are touched. Tiles the triangle covers completely raise their occlusion depth at once (every
    /// pixel there now holds at least the triangle's depth), so later triangles are culled against them;
    /// partly covered tiles are rescanned by `refresh_occlusion`.
    #[allow(clippy::too_many_arguments)] // the hot inner loop's state, passed flat on purpose
    fn fill_wide(
        &mut self,
        px0: i64,
        py0: i64,
        py1: i64,
        last: i64,
        mut bounds: [EdgeBound; 3],
        (z_start, dz_dx, dz_dy): (f32, f32, f32),
        id: u32,
    ) {
        let tile = TILE as i64;
        // Per band of TILE rows: the union of its spans (touched pixels) and their intersection (pixels
        // covered on every row of the band).
        let (mut union_lo, mut union_hi) = (i64::MAX, i64::MIN);
        let (mut inter_lo, mut inter_hi) = (i64::MIN, i64::MAX);
        for (row_index, py) in (py0..=py1).enumerate() {
            let (mut k0, mut k1) = (0, last);
            for b in &bounds {
                b.clamp(&mut k0, &mut k1);
            }
            for b in &mut bounds {
                b.next_row();
            }
            if k0 <= k1 {
                union_lo = union_lo.min(k0);
                union_hi = union_hi.max(k1);
                let z0 = z_start + dz_dy * row_index as f32 + dz_dx * k0 as f32;
                let row = py as usize * self.width + px0 as usize;
                let span = row + k0 as usize..=row + k1 as usize;
                depth_test_span(
                    &mut self.depth[span.clone()],
                    &mut self.ids[span],
                    z0,
                    dz_dx,
                    id,
                );
            }
            (inter_lo, inter_hi) = (inter_lo.max(k0), inter_hi.min(k1));
            let band_top = py - py % tile;
            let band_bottom = (band_top + tile - 1).min(self.height as i64 - 1);
            if py != band_bottom && py != py1 {
                continue;
            }
            if union_lo > union_hi {
                (inter_lo, inter_hi) = (i64::MIN, i64::MAX);
                continue;
            }
            // Fully covered tiles of this band: the band lies entirely inside the triangle's rows and each
            // tile's columns inside every row's span.
            let (mut full_lo, mut full_hi) = (1i64, 0i64);
            if band_top >= py0 && py == band_bottom && inter_lo <= inter_hi {
                let (lo, hi) = (px0 + inter_lo, px0 + inter_hi);
                full_lo = (lo + tile - 1) / tile;
                full_hi = if hi == self.width as i64 - 1 {
                    hi / tile
                } else {
                    (hi + 1) / tile - 1
                };
                for tx in full_lo..=full_hi {
                    let x0 = tx * tile;
                    let x1 = (x0 + tile - 1).min(self.width as i64 - 1);
                    // The plane's minimum over the tile is at one of its corners; shave a relative 1e-5
                    // off so float rounding can never make it exceed a stored depth.
                    let z = z_start + dz_dx * (x0 - px0) as f32 + dz_dy * (band_top - py0) as f32;
                    let z_min = z
                        + (dz_dx * (x1 - x0) as f32).min(0.0)
                        + (dz_dy * (band_bottom - band_top) as f32).min(0.0);
                    let t = (band_top / tile) as usize * self.tiles_x + tx as usize;
                    self.tile_far[t] = self.tile_far[t].max(z_min * (1.0 - 1e-5));
                }
            }
            // Partly covered tiles left and right of the full ones need a rescan.
            let (ulo, uhi) = (px0 + union_lo, px0 + union_hi);
            if full_lo > full_hi {
                self.mark_dirty(ulo, band_top.max(py0), uhi, py);
            } else {
                if ulo < full_lo * tile {
                    self.mark_dirty(ulo, band_top, full_lo * tile - 1, py);
                }
                if uhi > (full_hi + 1) * tile - 1 {
                    self.mark_dirty((full_hi + 1) * tile, band_top, uhi, py);
                }
            }
            (union_lo, union_hi) = (i64::MAX, i64::MIN);
            (inter_lo, inter_hi) = (i64::MIN, i64::MAX);
        }
    }
}

/// One edge's constraint on the pixel offsets k of the current row, E(k) = e + k s >= 0, kept exact from
/// row to row with integer adds: the bound is floor(n / d) (or its ceiling) tracked as quotient and
/// remainder, so a tall triangle costs no division per row.
#[derive(Debug, Clone, Copy)]
struct EdgeBound {
    kind: BoundKind,
    q: i64,
    rem: i64,
    d: i64,
    /// Per-row change of n, split as qa * d + ra with 0 <= ra < d.
    qa: i64,
    ra: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BoundKind {
    /// s > 0: k >= ceil(-e / s).
    Lower,
    /// s < 0: k <= floor(e / -s).
    Upper,
    /// s == 0: the whole row is inside iff e >= 0; `q` holds e and `qa` its per-row change.
    Horizontal,
}

impl EdgeBound {
    fn new(e: i64, s: i64, step_y: i64) -> Self {
        let (kind, n, d, delta) = match s.signum() {
            1 => (BoundKind::Lower, -e, s, -step_y),
            -1 => (BoundKind::Upper, e, -s, step_y),
            _ => {
                return EdgeBound {
                    kind: BoundKind::Horizontal,
                    q: e,
                    rem: 0,
                    d: 1,
                    qa: step_y,
                    ra: 0,
                }
            }
        };
        EdgeBound {
            kind,
            q: n.div_euclid(d),
            rem: n.rem_euclid(d),
            d,
            qa: delta.div_euclid(d),
            ra: delta.rem_euclid(d),
        }
    }

    #[inline(always)]
    fn clamp(&self, k0: &mut i64, k1: &mut i64) {
        match self.kind {
            BoundKind::Lower => *k0 = (*k0).max(self.q + (self.rem != 0) as i64),
            BoundKind::Upper => *k1 = (*k1).min(self.q),
            BoundKind::Horizontal => {
                if self.q < 0 {
                    *k1 = -1;
                }
            }
        }
    }

    #[inline(always)]
    fn next_row(&mut self) {
        self.q += self.qa;
        self.rem += self.ra;
        if self.rem >= self.d {
            self.rem -= self.d;
            self.q += 1;
        }
    }
}

/// Depth test and write of a covered span. The key at offset j is `z0 + dz * j` in every code path, so the
/// vector and scalar versions give identical buffers.
#[inline(always)]
fn depth_test_span(depth: &mut [f32], ids: &mut [u32], z0: f32, dz: f32, id: u32) {
    debug_assert_eq!(depth.len(), ids.len());
    let n = depth.len().min(ids.len());
    #[allow(unused_mut)]
    let mut j = 0;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of the x86-64 baseline; every load and store is within `j + 4 <= n`, inside
    // both slices.
    unsafe {
        use std::arch::x86_64::*;
        let (vz0, vdz, vid, four) = (
            _mm_set1_ps(z0),
            _mm_set1_ps(dz),
            _mm_set1_epi32(id as i32),
            _mm_set1_ps(4.0),
        );
        let mut vj = _mm_setr_ps(0.0, 1.0, 2.0, 3.0);
        let (dp, ip) = (depth.as_mut_ptr(), ids.as_mut_ptr());
        while j + 4 <= n {
            let z = _mm_add_ps(vz0, _mm_mul_ps(vdz, vj));
            let d = _mm_loadu_ps(dp.add(j));
            let nearer = _mm_cmpgt_ps(z, d);
            if _mm_movemask_ps(nearer) != 0 {
                _mm_storeu_ps(
                    dp.add(j),
                    _mm_or_ps(_mm_and_ps(nearer, z), _mm_andnot_ps(nearer, d)),
                );
                let m = _mm_castps_si128(nearer);
                let old = _mm_loadu_si128(ip.add(j).cast());
                let new = _mm_or_si128(_mm_and_si128(m, vid), _mm_andnot_si128(m, old));
                _mm_storeu_si128(ip.add(j).cast(), new);
            }
            vj = _mm_add_ps(vj, four);
            j += 4;
        }
    }
    for k in j..n {
        let z = z0 + dz * k as f32;
        if z > depth[k] {
            depth[k] = z;
            ids[k] = id;
        }
    }
}

/// Depth key gradients (per pixel in x and y) and the key at pixel centre `start`, in f64.
fn depth_plane(v: &[ScreenVertex; 3], start: (f64, f64)) -> (f32, f32, f32) {
    let [a, b, c] = v.map(|s| (s.x as f64, s.y as f64, s.depth_key as f64));
    let (e1, e2) = (
        (b.0 - a.0, b.1 - a.1, b.2 - a.2),
        (c.0 - a.0, c.1 - a.1, c.2 - a.2),
    );
    let det = e1.0 * e2.1 - e1.1 * e2.0;
    if det == 0.0 {
        // Snapping made a sliver out of a degenerate triangle: draw it flat at its nearest depth.
        return (0.0, 0.0, a.2.max(b.2).max(c.2) as f32);
    }
    let dx = (e1.2 * e2.1 - e2.2 * e1.1) / det;
    let dy = (e2.2 * e1.0 - e1.2 * e2.0) / det;
    let z = a.2 + dx * (start.0 - a.0) + dy * (start.1 - a.1);
    (dx as f32, dy as f32, z as f32)
}

fn ceil_div(a: i64, b: i64) -> i64 {
    -((-a).div_euclid(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sv(x: f32, y: f32) -> ScreenVertex {
        ScreenVertex {
            x,
            y,
            depth_key: 1.0,
        }
    }

    #[test]
    fn a_quad_split_in_two_covers_every_pixel_exactly_once() {
        // Arbitrary sub-pixel quad; count coverage per pixel over both triangles with a fresh buffer each.
        let q = [sv(1.3, 0.7), sv(14.6, 2.1), sv(13.2, 15.8), sv(0.4, 12.9)];
        let mut counts = vec![0u32; 16 * 16];
        let mut union = VisibilityBuffer::new(16, 16);
        for (k, tri) in [[q[0], q[1], q[2]], [q[0], q[2], q[3]]]
            .into_iter()
            .enumerate()
        {
            let mut b = VisibilityBuffer::new(16, 16);
            b.draw_triangle(tri, k as u32);
            union.draw_triangle(tri, k as u32);
            for (c, id) in counts.iter_mut().zip(&b.ids) {
                *c += (*id != NO_TRIANGLE) as u32;
            }
        }
        assert!(counts.iter().all(|&c| c <= 1), "a pixel was covered twice");
        // Interior pixels are covered (no cracks along the shared diagonal).
        for y in 3..12 {
            for x in 3..12 {
                assert_eq!(counts[y * 16 + x], 1, "crack at {x},{y}");
            }
        }
        assert_eq!(
            union.ids.iter().filter(|&&i| i != NO_TRIANGLE).count(),
            counts.iter().sum::<u32>() as usize
        );
    }

    #[test]
    fn winding_does_not_matter_and_degenerates_draw_nothing() {
        let mut a = VisibilityBuffer::new(8, 8);
        let mut b = VisibilityBuffer::new(8, 8);
        a.draw_triangle([sv(0.0, 0.0), sv(8.0, 0.0), sv(0.0, 8.0)], 1);
        b.draw_triangle([sv(0.0, 0.0), sv(0.0, 8.0), sv(8.0, 0.0)], 1);
        assert_eq!(a.ids, b.ids);
        assert!(a.ids.iter().filter(|&&i| i == 1).count() >= 28);
        let mut c = VisibilityBuffer::new(8, 8);
        c.draw_triangle([sv(0.0, 0.0), sv(4.0, 4.0), sv(8.0, 8.0)], 1);
        assert!(c.ids.iter().all(|&i| i == NO_TRIANGLE));
    }

    #[test]
    fn depth_test_keeps_the_nearest_and_interpolates_linearly() {
        let mut b = VisibilityBuffer::new(4, 4);
        let full = |z: f32| {
            [
                ScreenVertex {
                    x: -1.0,
                    y: -1.0,
                    depth_key: z,
                },
                ScreenVertex {
                    x: 20.0,
                    y: -1.0,
                    depth_key: z,
                },
                ScreenVertex {
                    x: -1.0,
                    y: 20.0,
                    depth_key: z,
                },
            ]
        };
        b.draw_triangle(full(0.5), 1);
        b.draw_triangle(full(0.25), 2);
        assert!(b.ids.iter().all(|&i| i == 1));
        b.draw_triangle(full(1.0), 3);
        assert!(b.ids.iter().all(|&i| i == 3));
        // A depth ramp along x: key = x / 4 at pixel centres.
        let mut b = VisibilityBuffer::new(4, 1);
        b.draw_triangle(
            [
                ScreenVertex {
                    x: 0.0,
                    y: -10.0,
                    depth_key: 0.0,
                },
                ScreenVertex {
                    x: 4.0,
                    y: -10.0,
                    depth_key: 1.0,
                },
                ScreenVertex {
                    x: 0.0,
                    y: 10.0,
                    depth_key: 0.0,
                },
            ],
            1,
        );
        b.draw_triangle(
            [
                ScreenVertex {
                    x: 4.0,
                    y: -10.0,
                    depth_key: 1.0,
                },
                ScreenVertex {
                    x: 4.0,
                    y: 10.0,
                    depth_key: 1.0,
                },
                ScreenVertex {
                    x: 0.0,
                    y: 10.0,
                    depth_key: 0.0,
                },
            ],
            1,
        );
        for x in 0..4 {
            assert!(
                (b.depth[x] - (x as f32 + 0.5) / 4.0).abs() < 1e-5,
                "{:?}",
                b.depth
            );
        }
    }
}
