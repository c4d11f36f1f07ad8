//! Point-to-point geodesics: A* over the 32-move graph (same graph and costs as the distance fields, so the
//! two agree), then string-pulling of the cell path into an any-angle polyline with grid line-of-sight.

use std::cell::RefCell;
use std::collections::BinaryHeap;

use crate::nav::surface::{HeapItem, NavSurface, NONE};

/// Per-thread search buffers, reset in O(1) by bumping a generation stamp instead of clearing.
#[derive(Default)]
struct Scratch {
    stamp: Vec<u32>,
    generation: u32,
    g: Vec<f32>,
    parent: Vec<u32>,
    heap: BinaryHeap<HeapItem>,
}

impl Scratch {
    fn begin(&mut self, n: usize) {
        if self.stamp.len() != n || self.generation == u32::MAX {
            self.stamp = vec![0; n];
            self.g = vec![f32::INFINITY; n];
            self.parent = vec![NONE; n];
            self.generation = 0;
        }
        self.generation += 1;
        self.heap.clear();
    }

    fn g(&self, s: u32) -> f32 {
        if self.stamp[s as usize] == self.generation {
            self.g[s as usize]
        } else {
            f32::INFINITY
        }
    }

    fn set(&mut self, s: u32, g: f32, parent: u32) {
        self.stamp[s as usize] = self.generation;
        self.g[s as usize] = g;
        self.parent[s as usize] = parent;
    }
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A shortest route between `from` anchors and `goal` seeds.
pub(crate) struct Route {
    /// Spans from the `from` side to the goal side.
    pub(crate) spans: Vec<u32>,
}

/// The length of the shortest combination of `MOVES` covering the horizontal offset `(dx, dz)` on an open
/// floor: the two move directions that bracket the offset's angle, in proportion. A norm, and exact for the
/// graph without obstacles, so as an A* heuristic it is consistent and keeps the search narrow (a Euclidean
/// heuristic undershoots the graph by up to 1.3% everywhere and lets the search fan out).
pub(crate) fn move_norm(dx: f32, dz: f32) -> f32 {
    // Fold into the octant 0 <= b <= a, where the directions are (1,0), (3,1), (2,1), (3,2), (1,1).
    let (a, b) = (dx.abs().max(dz.abs()), dx.abs().min(dz.abs()));
    // Bracketing directions (u, v) with slopes u1/u0 <= b/a <= v1/v0; solve a = p u0 + q v0, b = p u1 + q v1.
    let (u, v): ((f32, f32), (f32, f32)) = if 3.0 * b <= a {
        ((1.0, 0.0), (3.0, 1.0))
    } else if 2.0 * b <= a {
        ((3.0, 1.0), (2.0, 1.0))
    } else if 3.0 * b <= 2.0 * a {
        ((2.0, 1.0), (3.0, 2.0))
    } else {
        ((3.0, 2.0), (1.0, 1.0))
    };
    let det = u.0 * v.1 - u.1 * v.0;
    let p = (a * v.1 - b * v.0) / det;
    let q = (u.0 * b - u.1 * a) / det;
    p * u.0.hypot(u.1) + q * v.0.hypot(v.1)
}

/// A* from the goal seeds (span, cost from the goal) towards the point `from`, whose anchors carry the
/// straight cost from `from`. The heuristic (`move_norm` to `from`) never exceeds the cost of the moves it
/// stands for, so it is consistent: the first time the queue's best estimate reaches the best complete
/// route, that route is optimal.
pub(crate) fn astar(
    surface: &NavSurface,
    from: [f32; 3],
    anchors: &[(u32, f32)],
    seeds: &[(u32, f32)],
) -> Option<Route> {
    SCRATCH.with(|cell| {
        let mut sc = cell.borrow_mut();
        sc.begin(surface.span_count());
        let lengths = surface.move_lengths();
        // The graph's own open-floor distance (less a hair for the straight last step to `from`).
        let slack = 0.01 * surface.cell_size();
        let h = |s: u32| {
            let [x, z] = surface.center_xz(s);
            (move_norm(x - from[0], z - from[2]) - slack).max(0.0)
        };
        for &(s, d) in seeds {
            if d < sc.g(s) {
                sc.set(s, d, NONE);
                sc.heap.push(HeapItem {
                    key: d + h(s),
                    span: s,
                });
            }
        }
        let mut best = (f32::INFINITY, NONE);
        while let Some(HeapItem { key, span }) = sc.heap.pop() {
            if key >= best.0 {
                break;
            }
            let g = sc.g(span);
            if key > g + h(span) + 1e-4 {
                continue;
            }
            if let Some(&(_, tail)) = anchors.iter().find(|a| a.0 == span) {
                if g + tail < best.0 {
                    best = (g + tail, span);
                }
            }
            for (m, &t) in surface.moves[span as usize].iter().enumerate() {
                if t == NONE {
                    continue;
                }
                let nd = g + surface.move_cost(&lengths, m, span, t);
                if nd < sc.g(t) {
                    sc.set(t, nd, span);
                    sc.heap.push(HeapItem {
                        key: nd + h(t),
                        span: t,
                    });
                }
            }
        }
        if best.1 == NONE {
            return None;
        }
        let mut spans = vec![best.1];
        let mut s = best.1;
        while sc.parent[s as usize] != NONE {
            s = sc.parent[s as usize];
            spans.push(s);
        }
        Some(Route { spans })
    })
}

/// Ramp heights along a shortcut may depart this far from a straight 3-D line (stairs filtered into a ramp
/// keep a few centimetres of ripple).
pub(crate) const SLOPE_TOLERANCE: f32 = 0.06;

/// Shortcuts a cell path: keeps a corner only where the straight line from the last kept point to the next
/// point leaves the navigable surface or bends in height (foot and head of stairs). `points[k]` stands in
/// span `spans[k]`.
pub(crate) fn string_pull(
    surface: &NavSurface,
    points: &[[f32; 3]],
    spans: &[u32],
) -> Vec<[f32; 3]> {
    if points.len() <= 2 {
        return points.to_vec();
    }
    let visible = |a: usize, b: usize| -> bool {
        let (sa, sb) = (spans[a], spans[b]);
        let (pa, pb) = (points[a], points[b]);
        let h = [surface.span_h[sa as usize], surface.span_h[sb as usize]];
        surface.walk_straight(sa, [pa[0], pa[2]], [pb[0], pb[2]], h, SLOPE_TOLERANCE) == Some(sb)
    };
    let mut out = vec![points[0]];
    let mut anchor = 0;
    let mut k = 1;
    while k + 1 < points.len() {
        if visible(anchor, k + 1) {
            k += 1;
        } else {
            out.push(points[k]);
            anchor = k;
            k += 1;
        }
    }
    out.push(points[points.len() - 1]);
    out
}

#[cfg(test)]
mod tests {
    use super::move_norm;
    use crate::nav::surface::MOVES;

    #[test]
    fn move_norm_is_the_move_length_along_moves_and_between_them() {
        for (di, dj) in MOVES {
            let (x, z) = (di as f32 * 2.0, dj as f32 * 2.0);
            assert!((move_norm(x, z) - x.hypot(z)).abs() < 1e-5, "({di}, {dj})");
        }
        // (4, 1) lies between (1, 0) and (3, 1): one of each.
        let n = move_norm(4.0, 1.0);
        assert!((n - (1.0 + 10f32.sqrt())).abs() < 1e-5, "{n}");
        // Never shorter than the straight line, at most 1.3% longer.
        for k in 0..360 {
            let a = (k as f32).to_radians();
            let (x, z) = (5.0 * a.cos(), 5.0 * a.sin());
            let r = move_norm(x, z) / 5.0;
            assert!((1.0 - 1e-6..=1.0133).contains(&r), "{k} deg: {r}");
        }
    }
}
