//! Geodesic distance fields to a goal: Dijkstra from the goal over the 32-move any-angle graph, read at any
//! point by the best of its nearby navigable cells. What the expert and the distance measures query every step.

use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex};

use crate::nav::surface::{HeapItem, NavSurface, MOVES, NONE};

/// Cells around a query point (on its level) whose field values are combined with the straight distance.
pub(crate) const LOOKUP_RADIUS: i32 = 2;

/// Up to 64 span ids gathered around a point without allocating.
pub(crate) struct SpanSet {
    pub(crate) len: usize,
    pub(crate) ids: [u32; 64],
}

impl SpanSet {
    pub(crate) fn as_slice(&self) -> &[u32] {
        &self.ids[..self.len]
    }
}

impl NavSurface {
    /// Navigable spans within `radius` cells of `s` reached through links (so never across a wall).
    pub(crate) fn nearby(&self, s: u32, radius: i32) -> SpanSet {
        let mut seen = SpanSet {
            len: 1,
            ids: [NONE; 64],
        };
        seen.ids[0] = s;
        let (ci, cj) = self.cell_of(s);
        let mut k = 0;
        while k < seen.len {
            let u = seen.ids[k];
            k += 1;
            for &t in &self.links[u as usize] {
                if t == NONE || seen.len == seen.ids.len() || seen.as_slice().contains(&t) {
                    continue;
                }
                let (ti, tj) = self.cell_of(t);
                if (ti - ci).abs() <= radius && (tj - cj).abs() <= radius {
                    seen.ids[seen.len] = t;
                    seen.len += 1;
                }
            }
        }
        let mut out = SpanSet {
            len: 0,
            ids: [NONE; 64],
        };
        for &u in seen.as_slice() {
            if self.is_navigable(u) {
                out.ids[out.len] = u;
                out.len += 1;
            }
        }
        out
    }

    /// Horizontal length of each of `MOVES` in metres.
    pub(crate) fn move_lengths(&self) -> [f32; 32] {
        let c = self.params.cell_size;
        MOVES.map(|(di, dj)| c * ((di * di + dj * dj) as f32).sqrt())
    }

    /// Edge cost of move `m` from `s` to `t`: the 3-D length of the segment between the two ramp heights.
    #[inline]
    pub(crate) fn move_cost(&self, lengths: &[f32; 32], m: usize, s: u32, t: u32) -> f32 {
        let dh = self.span_h[t as usize] - self.span_h[s as usize];
        (lengths[m] * lengths[m] + dh * dh).sqrt()
    }

    /// Navigable spans around `p` with the straight 3-D distance from `p` to each centre, or `None` when `p`
    /// is more than `max_snap` from the surface.
    pub(crate) fn anchors(&self, p: [f32; 3], max_snap: f32) -> Option<Vec<(u32, f32)>> {
        let from_spans = |set: &[u32]| -> Vec<(u32, f32)> {
            set.iter().map(|&s| (s, dist3(p, self.center(s)))).collect()
        };
        if let Some(s) = self.locate(p) {
            let set = self.nearby(s, LOOKUP_RADIUS);
            if set.len > 0 {
                return Some(from_spans(set.as_slice()));
            }
        }
        let (s, q, d) = self.snap(p, max_snap)?;
        Some(vec![(s, d + dist3(q, self.center(s)))])
    }
}

pub(crate) fn dist3(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// How far [`DistanceField::distance_from_nearest`] looks for the surface (metres).
const WIDE_SNAP: f32 = 3.0;
/// Islands smaller than this (square metres) are erosion slivers, not places an episode can be in.
const SLIVER_AREA: f32 = 1.0;

/// Cost multiplier added, at the agent radius, for routes through spans with less than the wanted clearance
/// (falling linearly to nothing at the wanted clearance): a route through a gap the width of the agent costs
/// four times its length.
const NARROW_PENALTY: f32 = 3.0;

/// Geodesic distance from every navigable span to one goal point (or, with a wanted clearance, a route cost
/// that is the distance plus a penalty for squeezing past obstacles).
///
/// Dijkstra from the goal, run lazily: a query settles the field only as far out as the queried point, and
/// later queries resume where it stopped. An agent walking towards the goal therefore costs the ball of its
/// start distance, not the whole house. Queries lock the field briefly, so it can be shared across threads.
pub struct DistanceField {
    surface: Arc<NavSurface>,
    goal: [f32; 3],
    max_snap: f32,
    clearance: Option<f32>,
    search: Mutex<Search>,
}

/// The resumable part of the field.
struct Search {
    dist: Vec<f32>,
    heap: BinaryHeap<HeapItem>,
}

impl std::fmt::Debug for DistanceField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DistanceField")
            .field("goal", &self.goal)
            .field("clearance", &self.clearance)
            .finish()
    }
}

impl DistanceField {
    /// A field from the spans around `goal` (already on the surface). With `clearance`, moves into spans
    /// closer than that to an obstacle cost more (see `NARROW_PENALTY`).
    pub(crate) fn new(
        surface: Arc<NavSurface>,
        goal: [f32; 3],
        seeds: &[(u32, f32)],
        max_snap: f32,
        clearance: Option<f32>,
    ) -> Self {
        let mut dist = vec![f32::INFINITY; surface.span_count()];
        let mut heap = BinaryHeap::with_capacity(1024);
        for &(s, d) in seeds {
            if d < dist[s as usize] {
                dist[s as usize] = d;
                heap.push(HeapItem { key: d, span: s });
            }
        }
        DistanceField {
            surface,
            goal,
            max_snap,
            clearance,
            search: Mutex::new(Search { dist, heap }),
        }
    }

    /// Runs Dijkstra until every span in `spans` has its final value (or the island is exhausted).
    fn settle(&self, search: &mut Search, spans: &[u32]) {
        self.run(search, |dist| {
            spans
                .iter()
                .map(|&t| dist[t as usize])
                .fold(f32::NEG_INFINITY, f32::max)
        });
    }

    /// Settles the whole field (what enough queries would do); for benchmarks.
    pub fn settle_all(&self) {
        let mut search = self.search.lock().expect("distance field lock");
        self.run(&mut search, |_| f32::INFINITY);
    }

    /// Pops the queue while its smallest key is below `needed(labels)`: a label is final once nothing left
    /// in the queue is smaller.
    fn run(&self, search: &mut Search, needed: impl Fn(&[f32]) -> f32) {
        let surface = &*self.surface;
        let lengths = surface.move_lengths();
        let radius = surface.agent.radius;
        let factor = |t: u32| -> f32 {
            match self.clearance {
                Some(want) if surface.clearance[t as usize] < want => {
                    1.0 + NARROW_PENALTY * (want - surface.clearance[t as usize])
                        / (want - radius).max(1e-3)
                }
                _ => 1.0,
            }
        };
        let Search { dist, heap } = search;
        while let Some(&HeapItem { key, span }) = heap.peek() {
            if key >= needed(dist) {
                break;
            }
            heap.pop();
            if key > dist[span as usize] {
                continue;
            }
            for (m, &t) in surface.moves[span as usize].iter().enumerate() {
                if t == NONE {
                    continue;
                }
                let nd = key + surface.move_cost(&lengths, m, span, t) * factor(t);
                if nd < dist[t as usize] {
                    dist[t as usize] = nd;
                    heap.push(HeapItem { key: nd, span: t });
                }
            }
        }
    }

    /// The clearance this field's routes prefer, if any (then values are route costs, not distances).
    pub fn clearance(&self) -> Option<f32> {
        self.clearance
    }

    /// The goal, snapped onto the surface.
    pub fn goal(&self) -> [f32; 3] {
        self.goal
    }

    /// Geodesic distance from `p` to the goal: the best `field(cell) + |p - cell centre|` over the navigable
    /// cells within two cells of `p` on its level. `f32::INFINITY` when the goal is unreachable from `p` or
    /// `p` is farther than the snap distance from the surface.
    pub fn distance(&self, p: [f32; 3]) -> f32 {
        let s = &self.surface;
        let mut search = self.search.lock().expect("distance field lock");
        if let Some(base) = s.locate(p) {
            let set = s.nearby(base, LOOKUP_RADIUS);
            if set.len > 0 {
                self.settle(&mut search, set.as_slice());
                return set
                    .as_slice()
                    .iter()
                    .map(|&t| search.dist[t as usize] + dist3(p, s.center(t)))
                    .fold(f32::INFINITY, f32::min);
            }
        }
        match s.snap(p, self.max_snap) {
            Some((t, q, d)) => {
                self.settle(&mut search, &[t]);
                search.dist[t as usize] + d + dist3(q, s.center(t))
            }
            None => f32::INFINITY,
        }
    }

    /// [`distance`](Self::distance), for where the agent's body can be but the eroded surface does not
    /// reach (pressed into a corner or furniture: off the surface, or on a sliver of it that no path joins):
    /// measured from the nearest point within `WIDE_SNAP` of the surface joined to the goal instead of being
    /// infinitely far, as habitat's `snap_point` + geodesic distance measure it. A point on a real region
    /// cut off from the goal (larger than `SLIVER_AREA`) stays infinitely far.
    pub fn distance_from_nearest(&self, p: [f32; 3]) -> f32 {
        let d = self.distance(p);
        if d.is_finite() {
            return d;
        }
        let surface = &self.surface;
        let own = surface
            .snap(p, self.max_snap)
            .and_then(|(s, _, _)| surface.island_of(s));
        if own.is_some_and(|i| surface.island_area(i) >= SLIVER_AREA) {
            return f32::INFINITY;
        }
        let island = surface
            .snap(self.goal, self.max_snap)
            .and_then(|(s, _, _)| surface.island_of(s));
        match surface.snap_where(p, WIDE_SNAP, |s| {
            island.is_some() && surface.island_of(s) == island
        }) {
            Some((t, q, off)) => {
                let mut search = self.search.lock().expect("distance field lock");
                self.settle(&mut search, &[t]);
                search.dist[t as usize] + off + dist3(q, self.surface.center(t))
            }
            None => f32::INFINITY,
        }
    }

    /// Field value at a span's centre.
    pub fn span_distance(&self, span: u32) -> f32 {
        let mut search = self.search.lock().expect("distance field lock");
        self.settle(&mut search, &[span]);
        search.dist[span as usize]
    }
}
