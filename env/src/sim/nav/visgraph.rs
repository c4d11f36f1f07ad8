//! Fast point-to-point geodesics: a visibility graph over the navigable surface, built once per surface.
//!
//! A shortest path over a region bends only at convex corners of its boundary and, in 3-D, where the floor
//! changes slope (the foot and head of stairs). Those spans become the graph's nodes (merging neighbouring
//! corners into one node was tried: it lost sight lines and made routes up to 25% longer). Nodes that
//! see each other along a straight 3-D line (`walk_straight`, the string-pulling test) are joined, and
//! all-pairs distances are tabulated per island. Every navigable span keeps the nodes it sees that a shortest
//! path can leave it by (tangent to their corner). A query is a straight-line test between the two points,
//! else the best pair (node seen from the start, node seen from the goal) through the table, both sides
//! visited in order of a straight-line lower bound so that most pairs are never looked at: microseconds
//! instead of a grid A* of milliseconds.
//!
//! Written here rather than taken from the `polyanya` crate: Polyanya needs a 2-D polygon mesh, while our
//! surface is a multi-level grid with stairs whose straight-line test must match the rest of the nav module.

use std::collections::BinaryHeap;

use crate::nav::field::dist3;
use crate::nav::search::SLOPE_TOLERANCE;
use crate::nav::surface::{HeapItem, NavSurface, DIRS, NONE};

/// A span is a slope change (foot or head of stairs) when its ramp height departs this far from the mean of
/// the spans two cells either side (metres).
const KINK: f32 = 0.015;
/// Visibility is traced by rays from each node; neighbouring rays are at most this many cells apart at the
/// far end, so every cell they pass is found.
const RAY_GAP_CELLS: f32 = 1.0;
/// Rays stop after this many cells (15 m at 5 cm): farther nodes are reached through nearer ones.
const MAX_RAY_CELLS: f32 = 300.0;

/// The four diagonal directions as pairs of `DIRS` indices: (+x,+z), (-x,+z), (-x,-z), (+x,-z).
const DIAGONALS: [(usize, usize); 4] = [(0, 1), (2, 1), (2, 3), (0, 3)];

/// The visibility graph of one surface.
#[derive(Debug, Clone)]
pub(crate) struct VisGraph {
    /// Span of each node (global ids: nodes of all islands together).
    node_span: Vec<u32>,
    /// Per island: shortest distances between its nodes (row-major) and the predecessor of the column node
    /// on the path from the row node (`NONE` on the diagonal and when unreachable).
    dist: Vec<Vec<f32>>,
    pred: Vec<Vec<u32>>,
    /// Per island: its nodes' points in table order.
    island_pos: Vec<Vec<[f32; 3]>>,
    /// Per span: the nodes it sees (ids within the span's island table), `vis[vis_start[s]..vis_start[s + 1]]`.
    vis_start: Vec<u32>,
    vis: Vec<u32>,
}

/// A query endpoint: its span and exact point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct End {
    pub(crate) span: u32,
    pub(crate) pos: [f32; 3],
}

/// The best route found by [`VisGraph::route`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Route {
    /// The two points see each other.
    Straight,
    /// Through these nodes' points, in order from the start; `distance` includes both end legs.
    Via {
        distance: f32,
        points: Vec<[f32; 3]>,
    },
}

struct Candidate {
    span: u32,
    /// Bit k set: the blocked diagonal `DIAGONALS[k]` makes this span a convex corner. 0 for slope changes,
    /// which paths may leave in any direction.
    corners: u8,
}

impl VisGraph {
    pub(crate) fn build(surface: &NavSurface) -> VisGraph {
        let nodes = select_nodes(surface);
        let node_span: Vec<u32> = nodes.iter().map(|c| c.span).collect();
        let node_pos: Vec<[f32; 3]> = nodes.iter().map(|c| c.point(surface)).collect();
        let islands = surface.island_size.len();
        let mut island_nodes = vec![Vec::new(); islands];
        let mut node_local = Vec::with_capacity(nodes.len());
        for &s in &node_span {
            let isl = surface.island[s as usize] as usize;
            node_local.push(island_nodes[isl].len() as u32);
            island_nodes[isl].push(node_local.len() as u32 - 1);
        }

        // Visible (span, node) pairs: rays from each node propose spans, the exact test confirms them.
        let n_spans = surface.span_count();
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut edges: Vec<Vec<(u32, f32)>> = vec![Vec::new(); nodes.len()];
        let mut seen = vec![NONE; n_spans];
        let mut hit = Vec::new();
        for (node, cand) in nodes.iter().enumerate() {
            hit.clear();
            trace_rays(surface, cand.span, node as u32, &mut seen, &mut hit);
            let c = [node_pos[node][0], node_pos[node][2]];
            for &t in &hit {
                if !useful(cand.corners, surface.center_xz(t), c)
                    || !sees(surface, t, (cand.span, c))
                {
                    continue;
                }
                pairs.push((t, node as u32));
            }
        }
        // Node-to-node edges, tested pair by pair within each island; a taut path only joins nodes whose
        // segment is tangent at both ends.
        for members in &island_nodes {
            for (x, &i) in members.iter().enumerate() {
                for &j in &members[x + 1..] {
                    let (pi, pj) = (node_pos[i as usize], node_pos[j as usize]);
                    let tangent = useful(nodes[i as usize].corners, [pj[0], pj[2]], [pi[0], pi[2]])
                        && useful(nodes[j as usize].corners, [pi[0], pi[2]], [pj[0], pj[2]]);
                    let end = |n: u32| {
                        (
                            node_span[n as usize],
                            [node_pos[n as usize][0], node_pos[n as usize][2]],
                        )
                    };
                    if tangent && sees_between(surface, end(i), end(j)) {
                        let d = dist3(pi, pj);
                        edges[i as usize].push((j, d));
                        edges[j as usize].push((i, d));
                    }
                }
            }
        }
        pairs.sort_unstable();
        pairs.dedup();
        let mut vis_start = vec![0u32; n_spans + 1];
        for &(t, _) in &pairs {
            vis_start[t as usize + 1] += 1;
        }
        for s in 0..n_spans {
            vis_start[s + 1] += vis_start[s];
        }
        let vis = pairs.iter().map(|&(_, n)| node_local[n as usize]).collect();
        let island_pos = island_nodes
            .iter()
            .map(|members| members.iter().map(|&n| node_pos[n as usize]).collect())
            .collect();

        let (dist, pred) = island_nodes
            .iter()
            .map(|members| all_pairs(members, &node_local, &edges))
            .unzip();
        VisGraph {
            node_span,
            dist,
            pred,
            island_pos,
            vis_start,
            vis,
        }
    }

    pub(crate) fn node_count(&self) -> usize {
        self.node_span.len()
    }

    /// Visible (span, node) pairs stored.
    pub(crate) fn visibility_pairs(&self) -> usize {
        self.vis.len()
    }

    fn visible(&self, s: u32) -> &[u32] {
        &self.vis[self.vis_start[s as usize] as usize..self.vis_start[s as usize + 1] as usize]
    }

    /// The shortest route between two points of the same island, `None` when the table knows none (the
    /// caller falls back to the grid search).
    pub(crate) fn route(&self, surface: &NavSurface, a: End, b: End) -> Option<Route> {
        let h = [
            surface.span_h[a.span as usize],
            surface.span_h[b.span as usize],
        ];
        let (axz, bxz) = ([a.pos[0], a.pos[2]], [b.pos[0], b.pos[2]]);
        if surface.walk_straight(a.span, axz, bxz, h, SLOPE_TOLERANCE) == Some(b.span) {
            return Some(Route::Straight);
        }
        let island = surface.island[a.span as usize] as usize;
        let (dist, pos) = (&self.dist[island], &self.island_pos[island]);
        let k = pos.len();
        // Every route through start node n is at least la + |n - b| long, and every route through goal node m
        // at least |a - m| + lb (the table's distances are at least straight ones; the triangle inequality
        // does the rest): both sides are visited in order of these bounds, and stop once they reach the best
        // route found. The margin keeps rounding from cutting off a route that ties.
        const MARGIN: f32 = 1.0 - 1e-5;
        // Legs as (bound bits << 32 | node, leg length): non-negative floats sort as their bits.
        let legs = |from: [f32; 3], to: [f32; 3], nodes: &[u32], near_from: bool| {
            let mut legs: Vec<(u64, f32)> = nodes
                .iter()
                .map(|&n| {
                    let p = pos[n as usize];
                    let (near, far) = (dist3(from, p), dist3(p, to));
                    let leg = if near_from { near } else { far };
                    (
                        (u64::from((near + far).to_bits()) << 32) | u64::from(n),
                        leg,
                    )
                })
                .collect();
            legs.sort_unstable_by_key(|l| l.0);
            legs
        };
        let start_legs = legs(a.pos, b.pos, self.visible(a.span), true);
        let goal_legs = legs(a.pos, b.pos, self.visible(b.span), false);
        let bound = |key: u64| f32::from_bits((key >> 32) as u32) * MARGIN;
        let mut best = (f32::INFINITY, NONE, NONE);
        for &(key, la) in &start_legs {
            if bound(key) >= best.0 {
                break;
            }
            let n = key as u32;
            let row = &dist[n as usize * k..][..k];
            for &(key, lb) in &goal_legs {
                if bound(key) >= best.0 {
                    break;
                }
                let m = key as u32;
                let d = la + row[m as usize] + lb;
                if d < best.0 {
                    best = (d, n, m);
                }
            }
        }
        if !best.0.is_finite() {
            return None;
        }
        let (first, last) = (best.1, best.2);
        let pred = &self.pred[island][first as usize * k..][..k];
        let mut chain = vec![last];
        while *chain.last().expect("non-empty") != first {
            chain.push(pred[*chain.last().expect("non-empty") as usize]);
        }
        let mut points = vec![a.pos];
        points.extend(chain.iter().rev().map(|&l| pos[l as usize]));
        points.push(b.pos);
        Some(Route::Via {
            distance: best.0,
            points,
        })
    }
}

/// Convex corners of the navigable region and slope changes.
fn select_nodes(surface: &NavSurface) -> Vec<Candidate> {
    let step = |s: u32, d: usize| {
        let t = surface.links[s as usize][d];
        (t != NONE && surface.is_navigable(t)).then_some(t)
    };
    let step2 = |s: u32, d: usize| step(s, d).and_then(|t| step(t, d));
    let mut out: Vec<Candidate> = Vec::new();
    for s in 0..surface.span_count() as u32 {
        if !surface.is_navigable(s) {
            continue;
        }
        let mut corners = 0u8;
        for (k, &(a, b)) in DIAGONALS.iter().enumerate() {
            if let (Some(ta), Some(tb)) = (step(s, a), step(s, b)) {
                let (da, db) = (step(ta, b), step(tb, a));
                if da.is_none() || db.is_none() || da != db {
                    corners |= 1 << k;
                }
            }
        }
        let h = |t: u32| surface.span_h[t as usize];
        let kink = [(0, 2), (1, 3)]
            .iter()
            .any(|&(p, m)| match (step2(s, p), step2(s, m)) {
                (Some(tp), Some(tm)) => (0.5 * (h(tp) + h(tm)) - h(s)).abs() > KINK,
                _ => false,
            });
        if corners != 0 || kink {
            out.push(Candidate { span: s, corners });
        }
    }
    out
}

impl Candidate {
    /// Where paths bend at this node: a convex corner's point sits at the corner of its cell that touches the
    /// blocked diagonal (pulled back 5% of a cell into the cell, so that sight lines from it start inside
    /// the surface), where the exact shortest path around the obstacle bends; at the cell centre, routes
    /// were up to half a cell longer per bend (2% on short paths). Slope changes and cells with more than one
    /// blocked diagonal stay at the centre.
    fn point(&self, surface: &NavSurface) -> [f32; 3] {
        let [x, y, z] = surface.center(self.span);
        if self.corners.count_ones() != 1 {
            return [x, y, z];
        }
        let (a, b) = DIAGONALS[self.corners.trailing_zeros() as usize];
        let shift = 0.45 * surface.cell_size();
        [
            x + shift * DIRS[a].0 as f32,
            y,
            z + shift * DIRS[b].1 as f32,
        ]
    }
}

/// Whether a path from `t` can leave through the corner at `c` tangentially: `t` lies beside one of the
/// corner's blocked diagonals (not behind it, not facing it). Slope changes (no corners) always can.
fn useful(corners: u8, t: [f32; 2], c: [f32; 2]) -> bool {
    if corners == 0 {
        return true;
    }
    let v = [t[0] - c[0], t[1] - c[1]];
    DIAGONALS.iter().enumerate().any(|(k, &(a, b))| {
        let (dx, dz) = (DIRS[a].0 as f32, DIRS[b].1 as f32);
        corners & (1 << k) != 0 && v[0] * v[1] * dx * dz <= 0.0
    })
}

/// Straight 3-D line of sight from span `t`'s centre to a node (its span and point).
fn sees(surface: &NavSurface, t: u32, node: (u32, [f32; 2])) -> bool {
    sees_between(surface, (t, surface.center_xz(t)), node)
}

/// Straight 3-D line of sight between two (span, point) ends.
fn sees_between(surface: &NavSurface, from: (u32, [f32; 2]), to: (u32, [f32; 2])) -> bool {
    let h = [
        surface.span_h[from.0 as usize],
        surface.span_h[to.0 as usize],
    ];
    surface.walk_straight(from.0, from.1, to.1, h, SLOPE_TOLERANCE) == Some(to.0)
}

/// Spans crossed by rays from `start`'s centre in every direction until each leaves the surface, each once
/// (marked with `mark` in `seen`).
fn trace_rays(surface: &NavSurface, start: u32, mark: u32, seen: &mut [u32], hit: &mut Vec<u32>) {
    let c = surface.cell_size();
    let from = surface.center_xz(start);
    let cast = |rays: usize, seen: &mut [u32], hit: &mut Vec<u32>| -> f32 {
        let mut longest = 0.0f32;
        for r in 0..rays {
            let angle = (r as f32 + 0.5) * std::f32::consts::TAU / rays as f32;
            let (dx, dz) = (angle.cos(), angle.sin());
            let to = [
                from[0] + dx * MAX_RAY_CELLS * c,
                from[1] + dz * MAX_RAY_CELLS * c,
            ];
            surface.walk_cells(start, from, to, |t, (i, j)| {
                if seen[t as usize] != mark {
                    seen[t as usize] = mark;
                    hit.push(t);
                }
                let [x, z] = surface.cell_center_xz(i, j);
                longest = longest.max((x - from[0]).hypot(z - from[1]) / c);
                true
            });
        }
        longest
    };
    // A coarse pass finds how far the view reaches; the fine pass spaces its rays for that range.
    let reach = cast(64, seen, hit) + 2.0;
    let rays = (std::f32::consts::TAU * reach.min(MAX_RAY_CELLS) / RAY_GAP_CELLS).ceil() as usize;
    cast(rays.max(64), seen, hit);
}

/// Dijkstra from every node of one island over the visibility edges.
fn all_pairs(members: &[u32], local: &[u32], edges: &[Vec<(u32, f32)>]) -> (Vec<f32>, Vec<u32>) {
    let k = members.len();
    let mut dist = vec![f32::INFINITY; k * k];
    let mut pred = vec![NONE; k * k];
    let mut heap = BinaryHeap::new();
    for src in 0..k {
        let (d, p) = (&mut dist[src * k..][..k], &mut pred[src * k..][..k]);
        d[src] = 0.0;
        heap.push(HeapItem {
            key: 0.0,
            span: src as u32,
        });
        while let Some(HeapItem { key, span: u }) = heap.pop() {
            if key > d[u as usize] {
                continue;
            }
            for &(v, w) in &edges[members[u as usize] as usize] {
                let v = local[v as usize];
                let nd = key + w;
                if nd < d[v as usize] {
                    d[v as usize] = nd;
                    p[v as usize] = u;
                    heap.push(HeapItem { key: nd, span: v });
                }
            }
        }
    }
    (dist, pred)
}
