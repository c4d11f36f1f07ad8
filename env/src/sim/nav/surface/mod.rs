//! The navigable surface: a multi-level 2.5-D grid of walkable floor cells ("spans"), Recast-style.
//!
//! Built by hand rather than with a navmesh crate: the Rust navmesh crates are either tied to an engine
//! (`oxidized_navigation` needs Bevy) or path-find on a polygon mesh they do not build (`polyanya`,
//! `navmesh`), and we need the build itself (voxelise, headroom, step links, erosion by the agent radius)
//! to match the agent body exactly.
//!
//! Steps: (1) every triangle is clipped to each grid column it overlaps (conservatively, so thin walls block
//! their cells) giving vertical solid intervals; (2) per column the intervals are merged and the top of each
//! solid whose highest triangle is walkable becomes a floor span when the gap above it is at least the agent
//! height; (3) spans in 4-neighbour columns are linked when the height difference is at most `max_step` and
//! the headroom they share fits the agent; (4) spans nearer than the agent radius to an unlinked side are
//! eroded (a Euclidean distance transform by vector propagation, measured to the blocked cell's square);
//! (5) navigable spans are grouped into islands; (6) every navigable span gets 32 any-angle moves (offsets up
//! to 3 cells) whose straight segment stays on navigable spans: the graph the geodesics run on.
//!
//! [`NavSurface::build`] and the derived tables live in `build`; walking, snapping and the accessors the
//! geodesics query the surface with live in `query`.

mod build;
mod query;

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::body::AgentConfig;
use crate::error::{EnvError, Result};

/// No span / no link.
pub const NONE: u32 = u32::MAX;

/// 4-neighbour directions as (di, dj): +x, +z, -x, -z.
pub const DIRS: [(i32, i32); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];

/// The 32 any-angle moves: every (di, dj) with max(|di|,|dj|) <= 3 and gcd 1. Shortest paths over them are
/// at most 1/cos(9.2 deg) - 1 = 1.3% longer than the straight line (the widest angular gap is 18.4 deg).
pub const MOVES: [(i32, i32); 32] = [
    (1, 0),
    (3, 1),
    (2, 1),
    (3, 2),
    (1, 1),
    (2, 3),
    (1, 2),
    (1, 3),
    (0, 1),
    (-1, 3),
    (-1, 2),
    (-2, 3),
    (-1, 1),
    (-3, 2),
    (-2, 1),
    (-3, 1),
    (-1, 0),
    (-3, -1),
    (-2, -1),
    (-3, -2),
    (-1, -1),
    (-2, -3),
    (-1, -2),
    (-1, -3),
    (0, -1),
    (1, -3),
    (1, -2),
    (2, -3),
    (1, -1),
    (3, -2),
    (2, -1),
    (3, -1),
];

/// Clearances are computed (and stored) up to this distance; farther is "open".
pub const MAX_CLEARANCE: f32 = 0.5;

/// Parameters of the surface build that are not the agent's size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NavParams {
    /// Grid cell edge in metres (Habitat's Recast `cellSize` is 0.05).
    pub cell_size: f32,
    /// Steepest walkable triangle, degrees from horizontal.
    pub max_slope_deg: f32,
    /// Only floors with something above them (a ceiling) are walkable. Keeps agents and sampled episodes
    /// off roofs, which otherwise form the largest island of a house; turn off for scenes with outdoor
    /// areas (patios, balconies open to the sky) that should be navigable.
    pub indoor_only: bool,
}

impl Default for NavParams {
    fn default() -> Self {
        NavParams {
            cell_size: 0.05,
            max_slope_deg: 45.0,
            indoor_only: true,
        }
    }
}

impl NavParams {
    pub fn validate(&self) -> Result<()> {
        let valid = self.cell_size.is_finite()
            && self.cell_size > 0.0
            && (0.0..90.0).contains(&self.max_slope_deg);
        if !valid {
            return Err(EnvError::Invalid(format!(
                "nav params: cell_size must be positive and max_slope_deg in [0, 90), got {self:?}"
            )));
        }
        Ok(())
    }
}

/// The navigable surface of one scene for one agent size. Span ids are indices into its arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct NavSurface {
    pub(crate) agent: AgentConfig,
    pub(crate) params: NavParams,
    /// World x, z of the low corner of cell (0, 0). Chosen so that cell centres fall on multiples of the cell.
    pub(crate) origin: [f32; 2],
    pub(crate) nx: u32,
    pub(crate) nz: u32,
    /// Spans of column `j * nx + i` are `col_start[c]..col_start[c + 1]`, sorted by height.
    pub(crate) col_start: Vec<u32>,
    /// Floor height of each span.
    pub(crate) span_y: Vec<f32>,
    /// Height of the next solid above the floor (infinite when open).
    pub(crate) span_top: Vec<f32>,
    pub(crate) span_col: Vec<u32>,
    /// Linked span in each of `DIRS`, or `NONE`. Symmetric.
    pub(crate) links: Vec<[u32; 4]>,
    /// Distance from each span centre to the nearest blocked cell (metres, capped at `MAX_CLEARANCE`): lets
    /// the expert prefer routes with room to spare.
    pub(crate) clearance: Vec<f32>,
    /// Island of each navigable span, `NONE` for eroded spans.
    pub(crate) island: Vec<u32>,
    /// Number of spans in each island.
    pub(crate) island_size: Vec<u32>,
    /// Floor heights box-filtered over ±`RAMP_RADIUS` along links: stairs become the ramp they approximate,
    /// so path costs up a staircase are the ramp length (as on Habitat's navmesh), not tread + riser sums.
    /// Derived, not stored on disk.
    pub(crate) span_h: Vec<f32>,
    /// `MOVES` targets per span (`NONE` when blocked or not navigable); derived, not stored on disk.
    pub(crate) moves: Vec<[u32; 32]>,
    /// `links` restricted to navigable spans (`NONE` elsewhere): one lookup per step of a straight walk.
    /// Derived, not stored on disk.
    pub(crate) nav_links: Vec<[u32; 4]>,
}

/// Min-heap entry ordered by distance.
#[derive(Clone, Copy, PartialEq)]
pub(crate) struct HeapItem {
    pub(crate) key: f32,
    pub(crate) span: u32,
}

impl Eq for HeapItem {}

impl Ord for HeapItem {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .key
            .total_cmp(&self.key)
            .then_with(|| other.span.cmp(&self.span))
    }
}

impl PartialOrd for HeapItem {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
