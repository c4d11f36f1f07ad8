//! Navigation on the scene: navigable surface, geodesic distances and paths, the expert follower.
//!
//! [`PathFinder`] is the entry point (Habitat's `sim.pathfinder`): it owns a [`NavSurface`] built from a
//! scene for one agent size (or loaded from the on-disk cache next to the scene), answers snapping and
//! geodesic queries, and keeps per-goal [`DistanceField`]s in an LRU for repeated queries.

pub mod cache;
pub mod expert;
pub mod field;
pub mod follower;
mod search;
pub mod surface;
mod visgraph;

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use habitat_assets::Scene;
use lru::LruCache;
use rand::Rng;

pub use cache::CacheOutcome;
pub use expert::Expert;
pub use field::DistanceField;
pub use follower::{ExpertPath, FollowerConfig, ShortestPathFollower};
pub use surface::{NavParams, NavSurface};

use crate::body::AgentConfig;
use crate::error::{EnvError, Result};

/// Default distance within which a query point is snapped onto the surface (Habitat snaps without limit;
/// we refuse points that are clearly elsewhere, e.g. inside furniture or on another floor).
pub const DEFAULT_MAX_SNAP: f32 = 0.5;
/// Distance fields kept per path finder.
pub const DEFAULT_FIELD_CACHE: usize = 32;

/// A point moved onto the navigable surface.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snapped {
    pub position: [f32; 3],
    /// How far the point moved (metres).
    pub distance: f32,
    pub(crate) span: u32,
}

/// A geodesic shortest path.
#[derive(Debug, Clone, PartialEq)]
pub struct ShortestPath {
    /// Geodesic distance between the snapped endpoints: the polyline's length.
    pub distance: f32,
    /// Any-angle polyline from the snapped start to the snapped goal, with corners where it turns around
    /// obstacles and where its slope changes (foot and head of stairs).
    pub points: Vec<[f32; 3]>,
    pub from_snap: f32,
    pub to_snap: f32,
}

/// Goal position bits and wanted clearance bits (`u32::MAX` for the plain geodesic field).
type FieldKey = ([u32; 3], u32);

/// Geodesic queries on one scene for one agent size. Shareable across threads (`Arc<PathFinder>`).
pub struct PathFinder {
    surface: Arc<NavSurface>,
    /// Navigable spans of each island, for uniform sampling.
    island_spans: Vec<Vec<u32>>,
    max_snap: f32,
    fields: Mutex<LruCache<FieldKey, Arc<DistanceField>>>,
    /// Built on the first point-to-point query (a fraction of a second per house).
    visgraph: OnceLock<visgraph::VisGraph>,
}

impl std::fmt::Debug for PathFinder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathFinder")
            .field("spans", &self.surface.span_count())
            .field("navigable_area", &self.surface.navigable_area())
            .field("max_snap", &self.max_snap)
            .finish()
    }
}

impl PathFinder {
    pub fn new(surface: NavSurface) -> Self {
        let mut island_spans = vec![Vec::new(); surface.island_size.len()];
        for (span, &island) in surface.island.iter().enumerate() {
            if island != surface::NONE {
                island_spans[island as usize].push(span as u32);
            }
        }
        PathFinder {
            surface: Arc::new(surface),
            island_spans,
            max_snap: DEFAULT_MAX_SNAP,
            fields: Mutex::new(LruCache::new(
                NonZeroUsize::new(DEFAULT_FIELD_CACHE).expect("non-zero"),
            )),
            visgraph: OnceLock::new(),
        }
    }

    /// Builds the surface of an in-memory scene (no disk cache).
    pub fn build(scene: &Scene, agent: &AgentConfig, params: &NavParams) -> Result<Self> {
        Ok(PathFinder::new(NavSurface::build(scene, agent, params)?))
    }

    /// Loads the surface from `<scene>.navmesh.<hash>.bin` next to `scene_path` or builds and writes it.
    pub fn load_or_build(
        scene_path: &Path,
        scene: &Scene,
        agent: &AgentConfig,
        params: &NavParams,
    ) -> Result<(Self, CacheOutcome)> {
        let (surface, outcome) = cache::load_or_build(scene_path, scene, agent, params)?;
        Ok((PathFinder::new(surface), outcome))
    }

    /// [`load_or_build`](Self::load_or_build) for a scene read in `frame`: the cache is keyed by the frame
    /// too, so a file read Z-up and Y-up never shares a surface (nor reuses one built before frames).
    pub fn load_or_build_in_frame(
        scene_path: &Path,
        frame: &habitat_assets::SceneFrame,
        scene: &Scene,
        agent: &AgentConfig,
        params: &NavParams,
    ) -> Result<(Self, CacheOutcome)> {
        let (surface, outcome) =
            cache::load_or_build_read_as(scene_path, Some(&frame.key()), scene, agent, params)?;
        Ok((PathFinder::new(surface), outcome))
    }

    /// Sets the largest distance a query point may be snapped by.
    pub fn with_max_snap(mut self, max_snap: f32) -> Self {
        self.max_snap = max_snap;
        self.fields.lock().expect("field cache lock").clear();
        self
    }

    pub fn max_snap(&self) -> f32 {
        self.max_snap
    }

    pub fn surface(&self) -> &NavSurface {
        &self.surface
    }

    pub fn agent(&self) -> &AgentConfig {
        self.surface.agent()
    }

    /// The nearest navigable point within the snap distance, or an error naming the point.
    pub fn snap_point(&self, p: [f32; 3]) -> Result<Snapped> {
        self.surface
            .snap(p, self.max_snap)
            .map(|(span, position, distance)| Snapped {
                position,
                distance,
                span,
            })
            .ok_or(EnvError::OffSurface {
                point: p,
                max_snap: self.max_snap,
            })
    }

    /// True when `p` lies on a navigable cell of its level.
    pub fn is_navigable(&self, p: [f32; 3]) -> bool {
        self.surface.locate(p).is_some_and(|s| {
            self.surface.is_navigable(s) && (self.surface.span_y[s as usize] - p[1]).abs() < 0.1
        })
    }

    /// The island (connected navigable component) of the point's snapped cell.
    pub fn island(&self, p: [f32; 3]) -> Result<u32> {
        let s = self.snap_point(p)?;
        Ok(self
            .surface
            .island_of(s.span)
            .expect("snapped spans are navigable"))
    }

    /// Geodesic distance between the snapped points (the length of [`find_path`](Self::find_path)'s
    /// polyline); `f32::INFINITY` when no path joins them.
    pub fn geodesic_distance(&self, from: [f32; 3], to: [f32; 3]) -> Result<f32> {
        Ok(self
            .find_path(from, to)?
            .map_or(f32::INFINITY, |p| p.distance))
    }

    /// The geodesic shortest path between the snapped points, `None` when no path joins them: a straight
    /// line where the points see each other, else the best route through the visibility graph of the
    /// surface's corners and slope changes (built on first use), with the grid search
    /// ([`find_path_grid`](Self::find_path_grid)) as the fallback should the graph know no route.
    pub fn find_path(&self, from: [f32; 3], to: [f32; 3]) -> Result<Option<ShortestPath>> {
        let a = self.snap_point(from)?;
        let b = self.snap_point(to)?;
        let s = &*self.surface;
        if s.island_of(a.span) != s.island_of(b.span) {
            return Ok(None);
        }
        let end = |p: Snapped| visgraph::End {
            span: p.span,
            pos: p.position,
        };
        let (distance, points) = match self.visgraph().route(s, end(a), end(b)) {
            Some(visgraph::Route::Straight) => (
                field::dist3(a.position, b.position),
                vec![a.position, b.position],
            ),
            Some(visgraph::Route::Via { distance, points }) => (distance, points),
            None => return self.find_path_grid(from, to),
        };
        Ok(Some(ShortestPath {
            distance,
            points,
            from_snap: a.distance,
            to_snap: b.distance,
        }))
    }

    /// Nodes of the visibility graph and the (span, node) sight lines it keeps (builds it if needed).
    pub fn visibility_graph_size(&self) -> (usize, usize) {
        let g = self.visgraph();
        (g.node_count(), g.visibility_pairs())
    }

    fn visgraph(&self) -> &visgraph::VisGraph {
        self.visgraph
            .get_or_init(|| visgraph::VisGraph::build(&self.surface))
    }

    /// The geodesic shortest path by the grid search: A* on the cell graph, string-pulled into an any-angle
    /// polyline (milliseconds per query; [`find_path`](Self::find_path) answers the same in microseconds).
    pub fn find_path_grid(&self, from: [f32; 3], to: [f32; 3]) -> Result<Option<ShortestPath>> {
        let a = self.snap_point(from)?;
        let b = self.snap_point(to)?;
        let s = &*self.surface;
        if s.island_of(a.span) != s.island_of(b.span) {
            return Ok(None);
        }
        let seeds = self.seeds(b);
        let anchors = s
            .anchors(a.position, self.max_snap)
            .expect("snapped points are on the surface");
        let Some(route) = search::astar(s, a.position, &anchors, &seeds) else {
            return Ok(None);
        };
        let mut pts = Vec::with_capacity(route.spans.len() + 2);
        let mut spans = Vec::with_capacity(route.spans.len() + 2);
        pts.push(a.position);
        spans.push(a.span);
        for &sp in &route.spans {
            pts.push(s.center(sp));
            spans.push(sp);
        }
        pts.push(b.position);
        spans.push(b.span);
        let points = search::string_pull(s, &pts, &spans);
        let distance = points.windows(2).map(|w| field::dist3(w[0], w[1])).sum();
        Ok(Some(ShortestPath {
            distance,
            points,
            from_snap: a.distance,
            to_snap: b.distance,
        }))
    }

    /// Field sources around a snapped goal: its cell and the navigable cells around it, at their straight
    /// distance.
    fn seeds(&self, goal: Snapped) -> Vec<(u32, f32)> {
        let s = &*self.surface;
        let set = s.nearby(goal.span, 1);
        set.as_slice()
            .iter()
            .map(|&t| (t, field::dist3(goal.position, s.center(t))))
            .collect()
    }

    /// The geodesic distance field to `goal` (snapped), from the LRU or computed. Its values are within
    /// 1.3% above [`geodesic_distance`](Self::geodesic_distance) (the cell graph has 32 directions and no
    /// shortcuts), and it answers in well under a microsecond: for per-step measures and the expert.
    pub fn distance_field(&self, goal: [f32; 3]) -> Result<Arc<DistanceField>> {
        self.field(goal, None)
    }

    /// A route-cost field to `goal` that prefers keeping `clearance` metres between the agent centre and
    /// obstacles (squeezing closer costs up to 4x the distance): what the expert follows, so that it does
    /// not try gaps its discrete moves can barely thread.
    pub fn route_field(&self, goal: [f32; 3], clearance: f32) -> Result<Arc<DistanceField>> {
        self.field(goal, Some(clearance))
    }

    fn field(&self, goal: [f32; 3], clearance: Option<f32>) -> Result<Arc<DistanceField>> {
        let key = (
            goal.map(f32::to_bits),
            clearance.map_or(u32::MAX, f32::to_bits),
        );
        if let Some(f) = self.fields.lock().expect("field cache lock").get(&key) {
            return Ok(f.clone());
        }
        let g = self.snap_point(goal)?;
        let seeds = self.seeds(g);
        let field = Arc::new(DistanceField::new(
            self.surface.clone(),
            g.position,
            &seeds,
            self.max_snap,
            clearance,
        ));
        self.fields
            .lock()
            .expect("field cache lock")
            .put(key, field.clone());
        Ok(field)
    }

    /// A uniformly random navigable cell centre of `island` (the largest island when `None`).
    pub fn sample_navigable_point<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        island: Option<u32>,
    ) -> Option<[f32; 3]> {
        let s = &*self.surface;
        let spans = self
            .island_spans
            .get(island.or_else(|| s.largest_island())? as usize)?;
        (!spans.is_empty()).then(|| s.center(spans[rng.random_range(0..spans.len())]))
    }
}
