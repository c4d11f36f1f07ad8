//! Building the surface: the numbered steps of [`NavSurface::build`] and what is derived on load.

use std::collections::{BinaryHeap, VecDeque};

use habitat_assets::{Aabb, Scene, MAX_WORLD_COORD};

use super::{HeapItem, NavParams, NavSurface, DIRS, MAX_CLEARANCE, MOVES, NONE};
use crate::body::{AgentConfig, SceneCollider};
use crate::error::{EnvError, Result};

/// How a straight segment leaves a cell: through a side (direction index into `DIRS`), or exactly through
/// a corner (both sides, which must lead to the same cell).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Crossing {
    Side(usize),
    Corner(usize, usize),
}

/// The cell crossings of the segment from a cell centre to the centre `(di, dj)` cells away.
fn crossing_pattern(di: i32, dj: i32) -> Vec<Crossing> {
    let du = if di > 0 { 0 } else { 2 };
    let dv = if dj > 0 { 1 } else { 3 };
    // Parameter t in [0, 1] at each crossing of a vertical / horizontal cell boundary.
    let crossings = |d: i32| -> Vec<f64> {
        (0..d.abs())
            .map(|k| (k as f64 + 0.5) / f64::from(d.abs()))
            .collect()
    };
    let (tu, tv) = (crossings(di), crossings(dj));
    let (mut a, mut b) = (0, 0);
    let mut out = Vec::new();
    while a < tu.len() || b < tv.len() {
        let (x, z) = (
            tu.get(a).copied().unwrap_or(f64::INFINITY),
            tv.get(b).copied().unwrap_or(f64::INFINITY),
        );
        if (x - z).abs() < 1e-9 {
            out.push(Crossing::Corner(du, dv));
            a += 1;
            b += 1;
        } else if x < z {
            out.push(Crossing::Side(du));
            a += 1;
        } else {
            out.push(Crossing::Side(dv));
            b += 1;
        }
    }
    out
}

/// Follows a crossing pattern from `s` through `links` (which hold `NONE` where a step is not allowed).
fn replay(links: &[[u32; 4]], mut s: u32, pattern: &[Crossing]) -> Option<u32> {
    let step = |s: u32, d: usize| Some(links[s as usize][d]).filter(|&t| t != NONE);
    for crossing in pattern {
        s = match *crossing {
            Crossing::Side(d) => step(s, d)?,
            Crossing::Corner(a, b) => {
                let via_a = step(s, a).and_then(|t| step(t, b))?;
                let via_b = step(s, b).and_then(|t| step(t, a))?;
                if via_a != via_b {
                    return None;
                }
                via_a
            }
        };
    }
    Some(s)
}

/// Intervals closer than this merge into one solid.
const MERGE_EPS: f32 = 1e-3;
/// Triangle tops this close count as the same top when deciding whether a solid's top is walkable.
const FLAG_EPS: f32 = 0.02;
/// Half-width of the height filter that turns stairs into ramps for path costs (metres; a tread is ~0.3 m).
const RAMP_RADIUS: f32 = 0.15;
/// Columns allowed in a grid (about 200 m x 200 m at 5 cm), so a bad scale fails instead of exhausting memory.
const MAX_COLUMNS: usize = 16_000_000;

/// One solid interval of a column while rasterising.
#[derive(Clone, Copy)]
struct Piece {
    col: u32,
    lo: f32,
    hi: f32,
    walkable: bool,
}

/// A convex polygon of at most 12 vertices (a triangle clipped by four planes has at most 7).
#[derive(Clone, Copy)]
struct Poly {
    n: usize,
    v: [[f32; 3]; 12],
}

impl Poly {
    fn triangle(t: [[f32; 3]; 3]) -> Poly {
        let mut v = [[0.0; 3]; 12];
        v[..3].copy_from_slice(&t);
        Poly { n: 3, v }
    }

    /// Keeps the part with `p[axis] >= bound` (`above`) or `<= bound`; points on the plane stay, so geometry
    /// touching a cell boundary counts for the cell (conservative).
    fn clip(&self, axis: usize, bound: f32, above: bool) -> Poly {
        let mut out = Poly {
            n: 0,
            v: [[0.0; 3]; 12],
        };
        let side = |p: &[f32; 3]| {
            if above {
                p[axis] - bound
            } else {
                bound - p[axis]
            }
        };
        for k in 0..self.n {
            let a = self.v[k];
            let b = self.v[(k + 1) % self.n];
            let (da, db) = (side(&a), side(&b));
            if da >= 0.0 {
                out.push(a);
            }
            if (da > 0.0 && db < 0.0) || (da < 0.0 && db > 0.0) {
                let t = da / (da - db);
                out.push([
                    a[0] + (b[0] - a[0]) * t,
                    a[1] + (b[1] - a[1]) * t,
                    a[2] + (b[2] - a[2]) * t,
                ]);
            }
        }
        out
    }

    fn push(&mut self, p: [f32; 3]) {
        if self.n < self.v.len() {
            self.v[self.n] = p;
            self.n += 1;
        }
    }

    fn range(&self, axis: usize) -> (f32, f32) {
        self.v[..self.n]
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p[axis]), hi.max(p[axis]))
            })
    }
}

/// The grid over `bounds`: cell centres on multiples of the cell size `c`, with two cells of margin on
/// each side. Returns (origin x, origin z, nx, nz). Computed in f64 and checked before any cast, so bounds at
/// 1e30 or infinity are an error rather than a count that saturates, wraps past [`MAX_COLUMNS`] and yields
/// an empty grid.
fn grid_of(bounds: &Aabb, c: f32) -> Result<(f32, f32, usize, usize)> {
    let within = |v: f32| v.abs() <= MAX_WORLD_COORD;
    if !bounds.min.iter().chain(&bounds.max).all(|&v| within(v)) {
        return Err(EnvError::Invalid(format!(
            "scene bounds {:?}..{:?} lie beyond the world limit of {MAX_WORLD_COORD} m per axis",
            bounds.min, bounds.max
        )));
    }
    // f32 as always (the cached surfaces of existing scenes stay valid); the counts are checked in f64
    // before the cast.
    let ox = ((bounds.min[0] / c).floor() - 2.0 - 0.5) * c;
    let oz = ((bounds.min[2] / c).floor() - 2.0 - 0.5) * c;
    let cells = |max: f32, o: f32| f64::from(((max - o) / c).ceil()) + 3.0;
    let (fx, fz) = (cells(bounds.max[0], ox), cells(bounds.max[2], oz));
    if fx * fz > MAX_COLUMNS as f64 {
        return Err(EnvError::Invalid(format!(
            "scene footprint {:.1} x {:.1} m needs {fx} x {fz} cells of {c} m, more than {MAX_COLUMNS}",
            bounds.size()[0],
            bounds.size()[2]
        )));
    }
    Ok((ox, oz, fx as usize, fz as usize))
}

impl NavSurface {
    /// Builds the surface of `scene` for an agent of `agent`'s radius, height and step.
    pub fn build(scene: &Scene, agent: &AgentConfig, params: &NavParams) -> Result<NavSurface> {
        agent.validate()?;
        params.validate()?;
        let c = params.cell_size;
        let bounds = scene.bounds();
        if bounds.is_empty() {
            return Err(EnvError::Invalid(
                "scene has no geometry to build a navigable surface from".into(),
            ));
        }
        let (ox, oz, nx, nz) = grid_of(&bounds, c)?;
        let mut surface = NavSurface {
            agent: *agent,
            params: *params,
            origin: [ox, oz],
            nx: nx as u32,
            nz: nz as u32,
            col_start: Vec::new(),
            span_y: Vec::new(),
            span_top: Vec::new(),
            span_col: Vec::new(),
            links: Vec::new(),
            clearance: Vec::new(),
            island: Vec::new(),
            island_size: Vec::new(),
            span_h: Vec::new(),
            moves: Vec::new(),
            nav_links: Vec::new(),
        };
        let pieces = surface.rasterize(scene);
        surface.build_spans(pieces);
        surface.build_links();
        let collider = SceneCollider::new(scene)?;
        let navigable = surface.erode(&collider);
        surface
            .clearance
            .iter_mut()
            .for_each(|d| *d = d.min(MAX_CLEARANCE));
        surface.build_islands(&navigable);
        surface.derive();
        Ok(surface)
    }

    /// Step 1: the solid intervals of every column.
    fn rasterize(&self, scene: &Scene) -> Vec<Piece> {
        let c = self.params.cell_size;
        let [ox, oz] = self.origin;
        let min_normal_y = self.params.max_slope_deg.to_radians().cos();
        let (nx, nz) = (self.nx as i64, self.nz as i64);
        let mut pieces = Vec::new();
        for tri in scene.triangles() {
            if !tri.iter().flatten().all(|v| v.is_finite()) {
                continue;
            }
            let [a, b, cc] = tri;
            let e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            let e2 = [cc[0] - a[0], cc[1] - a[1], cc[2] - a[2]];
            let n = [
                e1[1] * e2[2] - e1[2] * e2[1],
                e1[2] * e2[0] - e1[0] * e2[2],
                e1[0] * e2[1] - e1[1] * e2[0],
            ];
            let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
            if len < 1e-12 {
                continue;
            }
            // Counter-clockwise (glTF) winding: an upward normal is a floor, a downward one a ceiling.
            let walkable = n[1] / len >= min_normal_y;
            let poly = Poly::triangle(tri);
            let (zmin, zmax) = poly.range(2);
            let j0 = (((zmin - oz) / c).floor() as i64).clamp(0, nz - 1);
            let j1 = (((zmax - oz) / c).floor() as i64).clamp(0, nz - 1);
            for j in j0..=j1 {
                let z0 = oz + j as f32 * c;
                let row = poly.clip(2, z0, true).clip(2, z0 + c, false);
                if row.n == 0 {
                    continue;
                }
                let (xmin, xmax) = row.range(0);
                let i0 = (((xmin - ox) / c).floor() as i64).clamp(0, nx - 1);
                let i1 = (((xmax - ox) / c).floor() as i64).clamp(0, nx - 1);
                for i in i0..=i1 {
                    let x0 = ox + i as f32 * c;
                    let cell = row.clip(0, x0, true).clip(0, x0 + c, false);
                    if cell.n == 0 {
                        continue;
                    }
                    let (lo, hi) = cell.range(1);
                    pieces.push(Piece {
                        col: (j * nx + i) as u32,
                        lo,
                        hi,
                        walkable,
                    });
                }
            }
        }
        pieces
    }

    /// Step 2: merge intervals per column; walkable tops with enough headroom become spans.
    fn build_spans(&mut self, pieces: Vec<Piece>) {
        let columns = (self.nx * self.nz) as usize;
        // Counting sort by column (linear), then each column's few pieces by height.
        let mut offsets = vec![0u32; columns + 1];
        for p in &pieces {
            offsets[p.col as usize + 1] += 1;
        }
        for c in 0..columns {
            offsets[c + 1] += offsets[c];
        }
        let mut fill = offsets.clone();
        let mut sorted = vec![
            Piece {
                col: 0,
                lo: 0.0,
                hi: 0.0,
                walkable: false
            };
            pieces.len()
        ];
        for p in pieces {
            sorted[fill[p.col as usize] as usize] = p;
            fill[p.col as usize] += 1;
        }
        for w in offsets.windows(2) {
            sorted[w[0] as usize..w[1] as usize].sort_unstable_by(|a, b| a.lo.total_cmp(&b.lo));
        }
        let pieces = sorted;
        self.col_start = Vec::with_capacity(columns + 1);
        let mut merged: Vec<(f32, f32, bool)> = Vec::new();
        let mut k = 0;
        for col in 0..columns as u32 {
            self.col_start.push(self.span_y.len() as u32);
            merged.clear();
            while k < pieces.len() && pieces[k].col == col {
                let p = pieces[k];
                k += 1;
                match merged.last_mut() {
                    Some(last) if p.lo <= last.1 + MERGE_EPS => {
                        if p.hi > last.1 + FLAG_EPS {
                            last.2 = p.walkable;
                        } else if p.hi >= last.1 - FLAG_EPS {
                            last.2 |= p.walkable;
                        }
                        last.1 = last.1.max(p.hi);
                    }
                    _ => merged.push((p.lo, p.hi, p.walkable)),
                }
            }
            for (m, &(_, hi, walkable)) in merged.iter().enumerate() {
                let top = merged.get(m + 1).map_or(f32::INFINITY, |next| next.0);
                if walkable
                    && top - hi >= self.agent.height
                    && (top.is_finite() || !self.params.indoor_only)
                {
                    self.span_y.push(hi);
                    self.span_top.push(top);
                    self.span_col.push(col);
                }
            }
        }
        self.col_start.push(self.span_y.len() as u32);
    }

    /// Step 3: symmetric 4-neighbour links within `max_step` and with shared headroom for the agent.
    fn build_links(&mut self) {
        let n = self.span_y.len();
        let mut links = vec![[NONE; 4]; n];
        for (s, link) in links.iter_mut().enumerate() {
            let (i, j) = self.cell_of(s as u32);
            for (d, &(di, dj)) in DIRS.iter().enumerate() {
                let Some(col) = self.column(i + di, j + dj) else {
                    continue;
                };
                let (y, top) = (self.span_y[s], self.span_top[s]);
                let mut best = (f32::INFINITY, NONE);
                for t in self.spans_in(col) {
                    let (ty, ttop) = (self.span_y[t as usize], self.span_top[t as usize]);
                    let dy = (ty - y).abs();
                    if dy <= self.agent.max_step + 1e-4
                        && top.min(ttop) - y.max(ty) >= self.agent.height - 1e-4
                        && dy < best.0
                    {
                        best = (dy, t);
                    }
                }
                link[d] = best.1;
            }
        }
        // Keep a link only when the other span links back, so walks and moves are reversible.
        for s in 0..n {
            for d in 0..4 {
                let t = links[s][d];
                if t != NONE && links[t as usize][(d + 2) % 4] != s as u32 {
                    links[s][d] = NONE;
                }
            }
        }
        self.links = links;
    }

    /// Step 4: distance from each span centre to the nearest blocked cell square, by vector propagation
    /// (each span inherits its neighbour's nearest obstacle cell). A span half a cell or more beyond the
    /// radius is clear; one within half a cell of it (where the cell grid cannot tell) is kept when the agent's
    /// body standing on it does not overlap the scene: the exact test the body itself uses, so walls are kept
    /// at the agent radius, not up to 1.5 cells more. Drops and holes have no geometry to overlap, so they
    /// keep the agent centre at least `radius - cell / 2` from the cell beyond the edge.
    fn erode(&mut self, collider: &SceneCollider) -> Vec<bool> {
        let n = self.span_y.len();
        let c = self.params.cell_size;
        let radius = self.agent.radius;
        let mut dist = vec![f32::INFINITY; n];
        let mut nearest = vec![(0i32, 0i32); n];
        let mut heap = BinaryHeap::new();
        for s in 0..n {
            let (i, j) = self.cell_of(s as u32);
            for (d, &(di, dj)) in DIRS.iter().enumerate() {
                if self.links[s][d] == NONE {
                    dist[s] = 0.5 * c;
                    nearest[s] = (i + di, j + dj);
                }
            }
            if dist[s].is_finite() {
                heap.push(HeapItem {
                    key: dist[s],
                    span: s as u32,
                });
            }
        }
        // Distances beyond the stored clearance cap do not matter.
        let limit = MAX_CLEARANCE + c;
        while let Some(HeapItem { key, span }) = heap.pop() {
            let s = span as usize;
            if key > dist[s] {
                continue;
            }
            let obstacle = nearest[s];
            for t in self.neighbours8(span) {
                let (ti, tj) = self.cell_of(t);
                let dx = ((ti - obstacle.0).abs() as f32 - 0.5).max(0.0) * c;
                let dz = ((tj - obstacle.1).abs() as f32 - 0.5).max(0.0) * c;
                let d = dx.hypot(dz);
                if d < dist[t as usize] && d <= limit {
                    dist[t as usize] = d;
                    nearest[t as usize] = obstacle;
                    heap.push(HeapItem { key: d, span: t });
                }
            }
        }
        let half = 0.5 * c;
        let navigable = (0..n)
            .map(|s| {
                let d = dist[s];
                d >= radius + half - 1e-5
                    || (d >= radius - half - 1e-5
                        && !collider.overlaps(&self.agent, self.center(s as u32)))
            })
            .collect();
        self.clearance = dist;
        navigable
    }

    /// Step 5: connected components of navigable spans.
    fn build_islands(&mut self, navigable: &[bool]) {
        let n = self.span_y.len();
        self.island = vec![NONE; n];
        self.island_size.clear();
        let mut queue = VecDeque::new();
        for seed in 0..n {
            if !navigable[seed] || self.island[seed] != NONE {
                continue;
            }
            let id = self.island_size.len() as u32;
            let mut size = 0u32;
            self.island[seed] = id;
            queue.push_back(seed as u32);
            while let Some(s) = queue.pop_front() {
                size += 1;
                for &t in &self.links[s as usize] {
                    if t != NONE && navigable[t as usize] && self.island[t as usize] == NONE {
                        self.island[t as usize] = id;
                        queue.push_back(t);
                    }
                }
            }
            self.island_size.push(size);
        }
    }

    /// Step 6: what is derived from the stored surface: ramp heights and the any-angle move table.
    pub(crate) fn derive(&mut self) {
        self.span_h = self.ramp_heights();
        self.nav_links = self.navigable_links();
        self.build_moves();
    }

    /// Links restricted to navigable spans.
    fn navigable_links(&self) -> Vec<[u32; 4]> {
        self.links
            .iter()
            .map(|l| {
                l.map(|t| {
                    if t != NONE && self.is_navigable(t) {
                        t
                    } else {
                        NONE
                    }
                })
            })
            .collect()
    }

    /// Separable box filter of floor heights along linked spans (x then z).
    fn ramp_heights(&self) -> Vec<f32> {
        let r = (RAMP_RADIUS / self.params.cell_size).round() as usize;
        let filter = |values: &[f32], forward: usize| -> Vec<f32> {
            (0..values.len())
                .map(|s| {
                    let (mut sum, mut count) = (values[s], 1.0f32);
                    for dir in [forward, forward + 2] {
                        let mut t = s as u32;
                        for _ in 0..r {
                            t = self.links[t as usize][dir];
                            if t == NONE {
                                break;
                            }
                            sum += values[t as usize];
                            count += 1.0;
                        }
                    }
                    sum / count
                })
                .collect()
        };
        filter(&filter(&self.span_y, 0), 1)
    }

    /// The any-angle move table. Every move starts at a cell centre, so the cells its segment crosses are
    /// the same everywhere: each move's crossing pattern is traced once and then replayed along links.
    fn build_moves(&mut self) {
        let patterns = MOVES.map(|(di, dj)| crossing_pattern(di, dj));
        let walkable = &self.nav_links;
        let n = self.span_y.len();
        let mut moves = vec![[NONE; 32]; n];
        for (s, row) in moves.iter_mut().enumerate() {
            if !self.is_navigable(s as u32) {
                continue;
            }
            for (target, pattern) in row.iter_mut().zip(&patterns) {
                *target = replay(walkable, s as u32, pattern).unwrap_or(NONE);
            }
        }
        self.moves = moves;
    }

    /// Linked spans in the 8 directions (diagonals through either orthogonal neighbour).
    fn neighbours8(&self, s: u32) -> impl Iterator<Item = u32> + '_ {
        let l = self.links[s as usize];
        let diag = move |a: usize, b: usize| {
            let via = |first: usize, second: usize| {
                if l[first] == NONE {
                    NONE
                } else {
                    self.links[l[first] as usize][second]
                }
            };
            match via(a, b) {
                NONE => via(b, a),
                t => t,
            }
        };
        let diagonals = [diag(0, 1), diag(1, 2), diag(2, 3), diag(3, 0)];
        l.into_iter().chain(diagonals).filter(|&t| t != NONE)
    }
}

#[cfg(test)]
mod tests {
    use super::{crossing_pattern, grid_of, Crossing::*, MAX_COLUMNS, MOVES};
    use habitat_assets::Aabb;

    fn aabb(min: [f32; 3], max: [f32; 3]) -> Aabb {
        Aabb { min, max }
    }

    #[test]
    fn grids_of_absurd_bounds_are_errors_not_wrapped_counts() {
        let (_, _, nx, nz) = grid_of(&aabb([0.0; 3], [10.0, 3.0, 8.0]), 0.05).unwrap();
        assert_eq!((nx, nz), (206, 166));
        for far in [3e4, 1e30, f32::INFINITY, f32::NAN] {
            let err = grid_of(&aabb([0.0; 3], [far, 3.0, 8.0]), 0.05)
                .unwrap_err()
                .to_string();
            assert!(err.contains("world limit"), "{far}: {err}");
        }
        // Inside the world but too many cells for the cap: named, not wrapped.
        let err = grid_of(&aabb([-9000.0, 0.0, -9000.0], [9000.0, 3.0, 9000.0]), 0.05)
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("more than {MAX_COLUMNS}")), "{err}");
    }

    #[test]
    fn crossing_patterns_follow_the_segment() {
        assert_eq!(crossing_pattern(1, 0), [Side(0)]);
        assert_eq!(crossing_pattern(1, 1), [Corner(0, 1)]);
        assert_eq!(crossing_pattern(2, 1), [Side(0), Side(1), Side(0)]);
        assert_eq!(crossing_pattern(3, 1), [Side(0), Corner(0, 1), Side(0)]);
        assert_eq!(crossing_pattern(-1, 2), [Side(1), Side(2), Side(1)]);
        assert_eq!(crossing_pattern(0, -3), [Side(3); 3]);
        // Every move ends |di| + |dj| cells away, a corner counting for two.
        for (di, dj) in MOVES {
            let cells: i32 = crossing_pattern(di, dj)
                .iter()
                .map(|c| if matches!(c, Corner(..)) { 2 } else { 1 })
                .sum();
            assert_eq!(cells, di.abs() + dj.abs());
        }
    }
}
