//! Querying the surface: straight walks between points, locating and snapping points, and accessors.

use super::{NavParams, NavSurface, NONE};
use crate::body::AgentConfig;

impl NavSurface {
    /// Follows the straight segment `from -> to` (x, z) starting in span `start`, stepping through linked
    /// navigable spans cell by cell. Returns the span holding `to`, or `None` when the segment leaves the
    /// navigable surface. A segment through a cell corner must be passable both ways around it.
    pub fn walk(&self, start: u32, from: [f32; 2], to: [f32; 2]) -> Option<u32> {
        self.walk_by(start, from, to, |_| true)
    }

    /// Like [`walk`](Self::walk), and also requires the ramp height of every span entered to stay within
    /// `tolerance` of the straight line from `h0` to `h1`: a segment that changes slope (the foot or head of
    /// a staircase) is not one straight piece of path in 3-D.
    pub(crate) fn walk_straight(
        &self,
        start: u32,
        from: [f32; 2],
        to: [f32; 2],
        h: [f32; 2],
        tolerance: f32,
    ) -> Option<u32> {
        let d = [to[0] - from[0], to[1] - from[1]];
        let len2 = (d[0] * d[0] + d[1] * d[1]).max(1e-12);
        self.walk_cells(start, from, to, |s, (i, j)| {
            let [x, z] = self.cell_center_xz(i, j);
            let t = (((x - from[0]) * d[0] + (z - from[1]) * d[1]) / len2).clamp(0.0, 1.0);
            (self.span_h[s as usize] - (h[0] + (h[1] - h[0]) * t)).abs() <= tolerance
        })
    }

    /// [`walk`](Self::walk) that also requires `accept` of every span entered.
    pub(crate) fn walk_by(
        &self,
        start: u32,
        from: [f32; 2],
        to: [f32; 2],
        mut accept: impl FnMut(u32) -> bool,
    ) -> Option<u32> {
        self.walk_cells(start, from, to, |s, _| accept(s))
    }

    /// [`walk_by`](Self::walk_by) whose `accept` also gets the cell `(i, j)` of the span entered.
    pub(crate) fn walk_cells(
        &self,
        start: u32,
        from: [f32; 2],
        to: [f32; 2],
        mut accept: impl FnMut(u32, (i32, i32)) -> bool,
    ) -> Option<u32> {
        let c = self.params.cell_size;
        let [ox, oz] = self.origin;
        let (u0, v0) = ((from[0] - ox) / c, (from[1] - oz) / c);
        let (u1, v1) = ((to[0] - ox) / c, (to[1] - oz) / c);
        let (mut i, mut j) = self.cell_of(start);
        let (ti, tj) = (u1.floor() as i32, v1.floor() as i32);
        let (du, dv) = (u1 - u0, v1 - v0);
        let (si, dir_u) = if du > 0.0 { (1, 0) } else { (-1, 2) };
        let (sj, dir_v) = if dv > 0.0 { (1, 1) } else { (-1, 3) };
        let boundary = |cell: i32, pos: f32, delta: f32| -> f32 {
            if delta > 0.0 {
                ((cell + 1) as f32 - pos) / delta
            } else if delta < 0.0 {
                (cell as f32 - pos) / delta
            } else {
                f32::INFINITY
            }
        };
        let mut t_u = boundary(i, u0, du);
        let mut t_v = boundary(j, v0, dv);
        let step_u = if du != 0.0 {
            1.0 / du.abs()
        } else {
            f32::INFINITY
        };
        let step_v = if dv != 0.0 {
            1.0 / dv.abs()
        } else {
            f32::INFINITY
        };
        let mut s = start;
        let max_steps = (ti - i).abs() + (tj - j).abs() + 2;
        for _ in 0..max_steps {
            if (i, j) == (ti, tj) {
                return Some(s);
            }
            const TIE: f32 = 1e-5;
            if t_u < t_v - TIE {
                s = self.step(s, dir_u).filter(|&t| accept(t, (i + si, j)))?;
                i += si;
                t_u += step_u;
            } else if t_v < t_u - TIE {
                s = self.step(s, dir_v).filter(|&t| accept(t, (i, j + sj)))?;
                j += sj;
                t_v += step_v;
            } else {
                let a = self
                    .step(s, dir_u)
                    .filter(|&t| accept(t, (i + si, j)))
                    .and_then(|a| self.step(a, dir_v))?;
                let b = self
                    .step(s, dir_v)
                    .filter(|&t| accept(t, (i, j + sj)))
                    .and_then(|b| self.step(b, dir_u))?;
                if a != b || !accept(a, (i + si, j + sj)) {
                    return None;
                }
                s = a;
                i += si;
                j += sj;
                t_u += step_u;
                t_v += step_v;
            }
        }
        ((i, j) == (ti, tj)).then_some(s)
    }

    /// The linked navigable span in direction `d`.
    fn step(&self, s: u32, d: usize) -> Option<u32> {
        let t = self.nav_links[s as usize][d];
        (t != NONE).then_some(t)
    }

    pub fn span_count(&self) -> usize {
        self.span_y.len()
    }

    pub fn navigable_count(&self) -> usize {
        self.island.iter().filter(|&&i| i != NONE).count()
    }

    /// Navigable area in square metres.
    pub fn navigable_area(&self) -> f32 {
        self.navigable_count() as f32 * self.params.cell_size * self.params.cell_size
    }

    pub fn is_navigable(&self, s: u32) -> bool {
        self.island[s as usize] != NONE
    }

    /// The island of a navigable span.
    pub fn island_of(&self, s: u32) -> Option<u32> {
        let i = self.island[s as usize];
        (i != NONE).then_some(i)
    }

    /// Areas of the islands in square metres, indexed by island id.
    pub fn island_areas(&self) -> Vec<f32> {
        (0..self.island_size.len() as u32)
            .map(|i| self.island_area(i))
            .collect()
    }

    /// The area of one island in square metres.
    pub fn island_area(&self, island: u32) -> f32 {
        self.island_size[island as usize] as f32 * self.params.cell_size * self.params.cell_size
    }

    /// The island with the most area (where random points are drawn by default).
    pub fn largest_island(&self) -> Option<u32> {
        (0..self.island_size.len() as u32)
            .max_by_key(|&i| (self.island_size[i as usize], std::cmp::Reverse(i)))
    }

    pub fn agent(&self) -> &AgentConfig {
        &self.agent
    }

    pub fn params(&self) -> &NavParams {
        &self.params
    }

    pub fn cell_size(&self) -> f32 {
        self.params.cell_size
    }

    pub(crate) fn cell_of(&self, s: u32) -> (i32, i32) {
        let col = self.span_col[s as usize];
        ((col % self.nx) as i32, (col / self.nx) as i32)
    }

    pub(crate) fn column(&self, i: i32, j: i32) -> Option<u32> {
        (i >= 0 && j >= 0 && (i as u32) < self.nx && (j as u32) < self.nz)
            .then(|| j as u32 * self.nx + i as u32)
    }

    pub(crate) fn spans_in(&self, col: u32) -> std::ops::Range<u32> {
        self.col_start[col as usize]..self.col_start[col as usize + 1]
    }

    /// The column holding world point (x, z).
    pub(crate) fn column_at(&self, x: f32, z: f32) -> Option<(i32, i32)> {
        let c = self.params.cell_size;
        let i = ((x - self.origin[0]) / c).floor();
        let j = ((z - self.origin[1]) / c).floor();
        (i.is_finite()
            && j.is_finite()
            && i >= 0.0
            && j >= 0.0
            && i < self.nx as f32
            && j < self.nz as f32)
            .then_some((i as i32, j as i32))
    }

    /// Cell centre (x, z) of a span.
    pub fn center_xz(&self, s: u32) -> [f32; 2] {
        let (i, j) = self.cell_of(s);
        self.cell_center_xz(i, j)
    }

    /// Centre (x, z) of cell `(i, j)`.
    pub(crate) fn cell_center_xz(&self, i: i32, j: i32) -> [f32; 2] {
        let c = self.params.cell_size;
        [
            self.origin[0] + (i as f32 + 0.5) * c,
            self.origin[1] + (j as f32 + 0.5) * c,
        ]
    }

    /// Cell centre on the floor of a span.
    pub fn center(&self, s: u32) -> [f32; 3] {
        let [x, z] = self.center_xz(s);
        [x, self.span_y[s as usize], z]
    }

    /// The span under `p` on its level: the span of `p`'s column whose floor is nearest `p.y`, within
    /// `max_step` plus 10 cm (stairs put a cell's floor up to one step above the feet).
    pub fn locate(&self, p: [f32; 3]) -> Option<u32> {
        let (i, j) = self.column_at(p[0], p[2])?;
        let col = self.column(i, j)?;
        let tolerance = self.agent.max_step + 0.1;
        self.spans_in(col)
            .map(|s| (s, (self.span_y[s as usize] - p[1]).abs()))
            .filter(|&(_, dy)| dy <= tolerance)
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(s, _)| s)
    }

    /// The nearest navigable point to `p` within `max_distance` (3-D): the clamp of `p` into the nearest
    /// navigable cell, on its floor. Returns the span, the point and its distance from `p`.
    pub fn snap(&self, p: [f32; 3], max_distance: f32) -> Option<(u32, [f32; 3], f32)> {
        self.snap_where(p, max_distance, |_| true)
    }

    /// [`snap`](Self::snap) restricted to the navigable spans that `accept` (e.g. those of one island).
    pub fn snap_where(
        &self,
        p: [f32; 3],
        max_distance: f32,
        accept: impl Fn(u32) -> bool,
    ) -> Option<(u32, [f32; 3], f32)> {
        if !p.iter().all(|v| v.is_finite()) {
            return None;
        }
        let c = self.params.cell_size;
        let clamp_into = |s: u32| -> ([f32; 3], f32) {
            let [cx, cz] = self.center_xz(s);
            let q = [
                p[0].clamp(cx - 0.5 * c, cx + 0.5 * c),
                self.span_y[s as usize],
                p[2].clamp(cz - 0.5 * c, cz + 0.5 * c),
            ];
            let d = ((q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2) + (q[2] - p[2]).powi(2)).sqrt();
            (q, d)
        };
        let mut best: Option<(u32, [f32; 3], f32)> = None;
        let mut r = (max_distance / c).ceil() as i32 + 1;
        let (pi, pj) = (
            ((p[0] - self.origin[0]) / c).floor() as i32,
            ((p[2] - self.origin[1]) / c).floor() as i32,
        );
        let consider = |i: i32, j: i32, best: &mut Option<(u32, [f32; 3], f32)>| {
            let Some(col) = self.column(i, j) else {
                return;
            };
            for s in self.spans_in(col) {
                if !self.is_navigable(s) || !accept(s) {
                    continue;
                }
                let (q, d) = clamp_into(s);
                if d <= max_distance && best.is_none_or(|b| d < b.2) {
                    *best = Some((s, q, d));
                }
            }
        };
        // The point's own column first: a cell k columns away is at least (k - 1) cells away horizontally,
        // so once something is found only the columns that could hold a nearer span are scanned.
        consider(pi, pj, &mut best);
        // Columns whose square lies farther (horizontally) than this cannot hold the nearest span nor tie
        // with it; the margin covers rounding in `clamp_into`.
        let mut reach2 = f32::INFINITY;
        if let Some(b) = best {
            r = r.min((b.2 / c).ceil() as i32 + 1);
            reach2 = b.2 * b.2 * (1.0 + 1e-4) + 1e-12;
        }
        let gap = |cell: i32, origin: f32, v: f32| {
            ((v - (origin + (cell as f32 + 0.5) * c)).abs() - 0.5 * c).max(0.0)
        };
        // Then the plain row-major scan, so ties resolve as they always did.
        best = None;
        for j in pj - r..=pj + r {
            let gz = gap(j, self.origin[1], p[2]);
            for i in pi - r..=pi + r {
                let gx = gap(i, self.origin[0], p[0]);
                if gx * gx + gz * gz <= reach2 {
                    consider(i, j, &mut best);
                }
            }
        }
        best
    }
}
