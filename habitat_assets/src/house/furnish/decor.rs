//! Wall-mounted landmarks: the front door (placed before the furniture, which then keeps clear of it),
//! and windows, paintings, clocks and mirrors (after it, on wall spans that no tall furniture hides).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::fill::RoomFill;
use super::recipe::{between, fixed, SizeRange};
use super::side::{Side, SIDES};
use super::{size, DOOR_CLEARANCE};
use crate::house::label::Label;
use crate::house::models::Size;
use crate::house::plan::RoomKind;

const FRONT_DOOR: Size = size(0.9, 2.1, 0.06);
/// Width of the zone kept free in front of the front door.
const FRONT_DOOR_APPROACH: f32 = 1.1;

/// A landmark keeps this far from the corners of its wall.
const CORNER_MARGIN: f32 = 0.1;
/// Mounted landmarks stand this far off the wall face.
const MOUNT_GAP: f32 = 0.005;
/// Depth of the zone in front of a landmark that furniture reaching its height would hide.
const VIEW_DEPTH: f32 = 0.35;
/// Free width kept on both sides of a landmark, together.
const VIEW_MARGIN: f32 = 0.2;
/// Tries at a random wall before a decoration is given up.
const MOUNT_ATTEMPTS: usize = 15;

const WINDOW: SizeRange = SizeRange {
    w: between(0.9, 1.4),
    h: fixed(1.2),
    d: 0.05,
};
const WINDOW_SILL_Y: f32 = 0.9;
const HALLWAY_PAINTING: SizeRange = SizeRange {
    w: between(0.6, 1.0),
    h: between(0.5, 0.8),
    d: 0.04,
};
const PAINTING: SizeRange = SizeRange {
    w: between(0.6, 1.1),
    ..HALLWAY_PAINTING
};
/// Paintings hang centred at eye height.
const PAINTING_CENTRE_Y: f32 = 1.55;
const CLOCK: Size = size(0.35, 0.35, 0.05);
const CLOCK_Y: f32 = 1.85;
const CLOCK_CHANCE: f64 = 0.4;

/// Which walls a landmark may hang on.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Walls {
    Any,
    /// Outer walls (windows).
    Exterior,
    /// Inner walls.
    Interior,
}

impl Walls {
    fn allow(self, f: &RoomFill, side: Side) -> bool {
        match self {
            Walls::Any => true,
            Walls::Exterior => f.is_exterior(side),
            Walls::Interior => !f.is_exterior(side),
        }
    }
}

/// The front door: a landmark closing an outer end of the ground-floor hallway.
pub(super) fn front_door(f: &mut RoomFill) {
    let outer: Vec<Side> = SIDES.into_iter().filter(|&s| f.is_exterior(s)).collect();
    for side in outer {
        let (a, b) = side.span(&f.interior);
        let t = (a + b) / 2.0;
        if wall_mount(f, Label::FrontDoor, FRONT_DOOR, side, t, 0.0) {
            let approach = side.footprint(&f.interior, t, FRONT_DOOR_APPROACH, DOOR_CLEARANCE, 0.0);
            f.blocked.push(approach);
            return;
        }
    }
}

/// A wall-mounted landmark at `t` along `side`, bottom at `y`, if no doorway or tall furniture is in the way.
pub(super) fn wall_mount(
    f: &mut RoomFill,
    label: Label,
    s: Size,
    side: Side,
    t: f32,
    y: f32,
) -> bool {
    let (a, b) = side.span(&f.interior);
    if t - s.w / 2.0 < a + CORNER_MARGIN || t + s.w / 2.0 > b - CORNER_MARGIN {
        return false;
    }
    let fp = side.footprint(&f.interior, t, s.w, s.d, MOUNT_GAP);
    // Doorways: the approach zones reach the wall, so overlapping one means the span crosses an opening.
    let zone = side.footprint(&f.interior, t, s.w + VIEW_MARGIN, VIEW_DEPTH, 0.0);
    if f.blocked.iter().any(|z| zone.overlaps(z, 0.0)) {
        return false;
    }
    // Hidden behind furniture reaching its height, or crowding another landmark (rugs lie flat).
    let hidden = f.items.iter().any(|i| {
        if i.obstacle {
            i.y + i.size.h > y - 0.05 && i.footprint.overlaps(&zone, 0.0)
        } else {
            i.label != Label::Rug && i.footprint.overlaps(&zone, 0.1)
        }
    });
    if hidden {
        return false;
    }
    let mut it = f.item(label, s, fp.center(), side.yaw());
    it.y = y;
    it.obstacle = false;
    f.items.push(it);
    true
}

/// Mounts a landmark at a random spot (5 cm grid) of a random allowed wall; false when none is found.
fn mount_somewhere(
    rng: &mut ChaCha8Rng,
    f: &mut RoomFill,
    label: Label,
    s: Size,
    y: f32,
    walls: Walls,
) -> bool {
    for _ in 0..MOUNT_ATTEMPTS {
        let side = Side::pick(rng, &f.interior);
        if !walls.allow(f, side) {
            continue;
        }
        let (a, b) = side.span(&f.interior);
        if b - a < s.w + 0.3 {
            continue;
        }
        let range = a + s.w / 2.0 + CORNER_MARGIN..b - s.w / 2.0 - CORNER_MARGIN;
        let t = (rng.random_range(range) * 20.0).round() / 20.0;
        if wall_mount(f, label, s, side, t, y) {
            return true;
        }
    }
    false
}

/// Windows, paintings and clocks. Hallways get two paintings on inner walls and nothing else.
pub(super) fn decorate_room(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let kind = f.plan.rooms[f.room].kind;
    let painting = |rng: &mut ChaCha8Rng, f: &mut RoomFill, range: SizeRange, walls: Walls| {
        let s = range.draw(rng);
        mount_somewhere(
            rng,
            f,
            Label::Painting,
            s,
            PAINTING_CENTRE_Y - s.h / 2.0,
            walls,
        );
    };
    if kind == RoomKind::Hallway {
        for _ in 0..2 {
            painting(rng, f, HALLWAY_PAINTING, Walls::Interior);
        }
        return;
    }
    let windows = if kind == RoomKind::Bathroom {
        1
    } else {
        rng.random_range(1..=2)
    };
    for _ in 0..windows {
        let s = WINDOW.draw(rng);
        mount_somewhere(rng, f, Label::Window, s, WINDOW_SILL_Y, Walls::Exterior);
    }
    if kind != RoomKind::Bathroom && kind != RoomKind::LaundryRoom {
        painting(rng, f, PAINTING, Walls::Any);
    }
    let has_clock = matches!(
        kind,
        RoomKind::Kitchen | RoomKind::LivingRoom | RoomKind::Office
    );
    if has_clock && rng.random_bool(CLOCK_CHANCE) {
        mount_somewhere(rng, f, Label::Clock, CLOCK, CLOCK_Y, Walls::Any);
    }
}
