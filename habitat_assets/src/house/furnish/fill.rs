//! One room being furnished: what stands in it so far, and placement that keeps its floor connected.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::side::Side;
use super::{rotated_footprint, walkable_connected, Item, AGENT_RADIUS, WALL_GAP};
use crate::house::label::Label;
use crate::house::models::Size;
use crate::house::plan::{Plan, Rect};

/// Tries at a random wall position before a piece is given up.
const WALL_ATTEMPTS: usize = 40;
/// Least gap between two pieces of furniture along the walls.
pub(super) const FURNITURE_GAP: f32 = 0.05;

/// Where along a wall a piece goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum WallSpot {
    /// Anywhere it fits.
    Anywhere,
    /// Into one of the wall's two corners (plants, lamps, bins).
    Corner,
}

impl WallSpot {
    /// A position between `lo` and `hi`, the extreme positions along the wall.
    fn position(self, rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
        match self {
            WallSpot::Corner if rng.random_bool(0.5) => lo,
            WallSpot::Corner => hi,
            WallSpot::Anywhere => rng.random_range(lo..=hi),
        }
    }
}

/// Pieces placed relative to an anchor standing against a wall (a coffee table in front of a sofa,
/// nightstands beside a bed): all or none of them are placed.
pub(super) type Companions = fn(&RoomFill, &Item, Side) -> Vec<Item>;

/// The state of one room being furnished.
pub(super) struct RoomFill<'a> {
    pub room: usize,
    pub interior: Rect,
    /// Zones that must stay free: door approaches, stair landings.
    pub blocked: Vec<Rect>,
    pub items: Vec<Item>,
    pub plan: &'a Plan,
}

impl RoomFill<'_> {
    fn obstacles(&self) -> impl Iterator<Item = &Rect> {
        self.items
            .iter()
            .filter(|i| i.obstacle)
            .map(|i| &i.footprint)
    }

    fn fits(&self, fp: &Rect, clearance: f32) -> bool {
        fp.inside(&self.interior)
            && !self.blocked.iter().any(|b| fp.overlaps(b, 0.0))
            && !self.obstacles().any(|o| fp.overlaps(o, clearance))
    }

    /// True when the walkable floor stays one connected region with these extra obstacles.
    fn stays_connected(&self, extra: &[Rect]) -> bool {
        let obstacles: Vec<Rect> = self
            .obstacles()
            .chain(extra.iter())
            .map(|r| r.shrink(-AGENT_RADIUS))
            .collect();
        walkable_connected(&self.interior.shrink(AGENT_RADIUS), &obstacles)
    }

    /// Tries to add a group of obstacles (all or none).
    pub fn try_add(&mut self, group: Vec<Item>, clearance: f32) -> bool {
        let fps: Vec<Rect> = group
            .iter()
            .filter(|i| i.obstacle)
            .map(|i| i.footprint)
            .collect();
        for (k, fp) in fps.iter().enumerate() {
            if !self.fits(fp, clearance) || fps[..k].iter().any(|o| fp.overlaps(o, 0.0)) {
                return false;
            }
        }
        if !self.stays_connected(&fps) {
            return false;
        }
        self.items.extend(group);
        true
    }

    /// Whether `side` of this room is an outer wall of the house.
    pub fn is_exterior(&self, side: Side) -> bool {
        let cell = self.plan.rooms[self.room].cell;
        (side.edge(&cell) - side.edge(&self.plan.footprint)).abs() < 1e-3
    }

    /// An obstacle of this room standing on the floor at `at`, turned by `yaw`.
    pub fn item(&self, label: Label, size: Size, at: [f32; 2], yaw: f32) -> Item {
        Item {
            label,
            room: self.room,
            size,
            at,
            y: 0.0,
            yaw,
            footprint: rotated_footprint(at, size.w, size.d, yaw),
            obstacle: true,
            architecture: false,
        }
    }

    /// An item with its back to `side`, centred at `t` along it.
    pub fn against(&self, label: Label, size: Size, side: Side, t: f32) -> Item {
        let fp = side.footprint(&self.interior, t, size.w, size.d, WALL_GAP);
        let c = fp.center();
        self.item(label, size, c, side.yaw())
    }

    /// Picks a side (weighted by length) and a position along it, [`WALL_ATTEMPTS`] times, and places the
    /// item with its `companions` at the first position where all fit. Returns the side it stands on.
    pub fn place_on_wall(
        &mut self,
        rng: &mut ChaCha8Rng,
        label: Label,
        size: Size,
        spot: WallSpot,
        companions: Option<Companions>,
    ) -> Option<Side> {
        for _ in 0..WALL_ATTEMPTS {
            let side = Side::pick(rng, &self.interior);
            let (a, b) = side.span(&self.interior);
            // The piece keeps off the side walls as it does off the one behind it.
            let (lo, hi) = (a + size.w / 2.0 + WALL_GAP, b - size.w / 2.0 - WALL_GAP);
            if hi < lo {
                continue;
            }
            let t = spot.position(rng, lo, hi);
            let it = self.against(label, size, side, t);
            let mut group = vec![it.clone()];
            group.extend(companions.map_or_else(Vec::new, |c| c(self, &it, side)));
            if self.try_add(group, FURNITURE_GAP) {
                return Some(side);
            }
        }
        None
    }

    /// The last placed item with this label.
    pub fn last(&self, label: Label) -> Option<&Item> {
        self.items.iter().rev().find(|i| i.label == label)
    }
}
