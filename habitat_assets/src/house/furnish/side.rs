//! The four walls of a rectangular room, and positions along and in front of them.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::house::plan::Rect;

/// A wall of a room, named by the compass: north is -z, west is -x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Side {
    North,
    South,
    West,
    East,
}

pub(super) const SIDES: [Side; 4] = [Side::North, Side::South, Side::West, Side::East];

impl Side {
    /// A side of `r` picked at random, weighted by its length.
    pub(super) fn pick(rng: &mut ChaCha8Rng, r: &Rect) -> Side {
        let total = 2.0 * (r.width() + r.depth());
        let mut x = rng.random_range(0.0..total);
        for s in SIDES {
            let (a, b) = s.span(r);
            if x < b - a {
                return s;
            }
            x -= b - a;
        }
        Side::East
    }

    /// The yaw that turns a model's front (+z) away from this wall, into the room.
    pub(super) fn yaw(self) -> f32 {
        use std::f32::consts::{FRAC_PI_2, PI};
        match self {
            Side::North => 0.0,
            Side::South => PI,
            Side::West => FRAC_PI_2,
            Side::East => -FRAC_PI_2,
        }
    }

    /// Inward unit direction [x, z].
    fn inward(self) -> [f32; 2] {
        match self {
            Side::North => [0.0, 1.0],
            Side::South => [0.0, -1.0],
            Side::West => [1.0, 0.0],
            Side::East => [-1.0, 0.0],
        }
    }

    pub(super) fn opposite(self) -> Side {
        match self {
            Side::North => Side::South,
            Side::South => Side::North,
            Side::West => Side::East,
            Side::East => Side::West,
        }
    }

    /// The coordinate of plan point `p` along this side: x on north and south walls, z on west and east.
    pub(super) fn along(self, p: [f32; 2]) -> f32 {
        match self {
            Side::North | Side::South => p[0],
            Side::West | Side::East => p[1],
        }
    }

    /// Range of the coordinate along the side.
    pub(super) fn span(self, r: &Rect) -> (f32, f32) {
        match self {
            Side::North | Side::South => (r.x0, r.x1),
            Side::West | Side::East => (r.z0, r.z1),
        }
    }

    /// The line of this side of `r`: its z for north and south, its x for west and east.
    pub(super) fn edge(self, r: &Rect) -> f32 {
        match self {
            Side::North => r.z0,
            Side::South => r.z1,
            Side::West => r.x0,
            Side::East => r.x1,
        }
    }

    /// Plan point `p` moved `by` metres into the room, away from this wall.
    pub(super) fn ahead(self, p: [f32; 2], by: f32) -> [f32; 2] {
        let n = self.inward();
        [p[0] + n[0] * by, p[1] + n[1] * by]
    }

    /// Footprint of a `w x d` box against this side at position `t` along it, `gap` off the wall.
    pub(super) fn footprint(self, r: &Rect, t: f32, w: f32, d: f32, gap: f32) -> Rect {
        match self {
            Side::North => Rect::new(t - w / 2.0, r.z0 + gap, t + w / 2.0, r.z0 + gap + d),
            Side::South => Rect::new(t - w / 2.0, r.z1 - gap - d, t + w / 2.0, r.z1 - gap),
            Side::West => Rect::new(r.x0 + gap, t - w / 2.0, r.x0 + gap + d, t + w / 2.0),
            Side::East => Rect::new(r.x1 - gap - d, t - w / 2.0, r.x1 - gap, t + w / 2.0),
        }
    }
}
