//! Furniture and landmarks for every room of a plan.
//!
//! Furniture stands against walls (or, for tables and rugs, in the middle of large rooms), never in front
//! of a doorway or on a stair landing, and every placement is checked on a 10 cm grid: the floor an agent
//! of radius [`AGENT_RADIUS`] can stand on must stay one connected region, so every spot in a room is
//! reachable from its doors. What each kind of room gets is a table in [`recipe`]. Wall-mounted landmarks
//! (paintings, windows, mirrors, clocks) come last, on wall spans that no tall furniture hides ([`decor`]).

mod decor;
mod fill;
mod groups;
mod recipe;
mod side;

use rand_chacha::ChaCha8Rng;

use super::label::Label;
use super::models::Size;
use super::plan::{Plan, Rect, RoomKind, LANDING};
use fill::RoomFill;

/// Clearance radius used for the walkability check (the RxR-CE agent radius is 0.18 m).
pub const AGENT_RADIUS: f32 = 0.2;
/// Free depth kept in front of every doorway, on both sides.
const DOOR_CLEARANCE: f32 = 1.0;
/// Gap between furniture and the wall face (avoids coplanar back faces).
const WALL_GAP: f32 = 0.02;

/// One placed object.
#[derive(Debug, Clone)]
pub struct Item {
    pub label: Label,
    pub room: usize,
    pub size: Size,
    /// Centre of the footprint on the plan, [x, z].
    pub at: [f32; 2],
    /// Height of the bottom above the room's floor.
    pub y: f32,
    /// Rotation about +Y (radians, a multiple of 90 degrees): the model's front (+z) turned to face the room.
    pub yaw: f32,
    /// World-aligned footprint.
    pub footprint: Rect,
    /// Blocks walking (false for rugs and wall-mounted landmarks).
    pub obstacle: bool,
    /// Built by the architecture pass (staircase, railings) rather than from a model.
    pub architecture: bool,
}

/// The footprint of a `w x d` model centred at `at` and turned by `yaw` (multiples of 90 degrees).
fn rotated_footprint(at: [f32; 2], w: f32, d: f32, yaw: f32) -> Rect {
    let quarter = ((yaw / std::f32::consts::FRAC_PI_2).round() as i32).rem_euclid(2) == 1;
    let (ex, ez) = if quarter { (d, w) } else { (w, d) };
    Rect::new(
        at[0] - ex / 2.0,
        at[1] - ez / 2.0,
        at[0] + ex / 2.0,
        at[1] + ez / 2.0,
    )
}

/// Flood fill on a 10 cm grid over `area` (already shrunk by the agent radius): are all cells outside the
/// (already grown) obstacles 4-connected? An area with no free cell counts as connected only if it is
/// empty to begin with.
pub fn walkable_connected(area: &Rect, obstacles: &[Rect]) -> bool {
    const CELL: f32 = 0.1;
    if area.width() <= 0.0 || area.depth() <= 0.0 {
        return true;
    }
    let nx = (area.width() / CELL).floor() as usize + 1;
    let nz = (area.depth() / CELL).floor() as usize + 1;
    let free: Vec<bool> = (0..nx * nz)
        .map(|k| {
            let (i, j) = (k % nx, k / nx);
            let (x, z) = (area.x0 + i as f32 * CELL, area.z0 + j as f32 * CELL);
            !obstacles
                .iter()
                .any(|o| x > o.x0 && x < o.x1 && z > o.z0 && z < o.z1)
        })
        .collect();
    let Some(start) = free.iter().position(|&f| f) else {
        return false;
    };
    let mut seen = vec![false; free.len()];
    let mut stack = vec![start];
    seen[start] = true;
    let mut count = 0;
    while let Some(k) = stack.pop() {
        count += 1;
        let (i, j) = (k % nx, k / nx);
        let mut visit = |n: usize| {
            if free[n] && !seen[n] {
                seen[n] = true;
                stack.push(n);
            }
        };
        if i > 0 {
            visit(k - 1);
        }
        if i + 1 < nx {
            visit(k + 1);
        }
        if j > 0 {
            visit(k - nx);
        }
        if j + 1 < nz {
            visit(k + nx);
        }
    }
    count == free.iter().filter(|&&f| f).count()
}

const fn size(w: f32, h: f32, d: f32) -> Size {
    Size { w, h, d }
}

/// Furnishes every room of the plan.
pub fn furnish(rng: &mut ChaCha8Rng, plan: &Plan) -> Vec<Item> {
    let mut all = Vec::new();
    all.extend(stair_items(plan));
    for room in 0..plan.rooms.len() {
        let mut fill = RoomFill {
            room,
            interior: plan.interior(room),
            blocked: blocked_zones(plan, room),
            items: Vec::new(),
            plan,
        };
        // Architecture that stands in this room counts as obstacles for placement.
        fill.items.extend(
            all.iter()
                .filter(|i: &&Item| i.room == room && i.architecture)
                .cloned(),
        );
        let preset = fill.items.len();
        let r = &plan.rooms[room];
        if r.kind == RoomKind::Hallway && r.level == 0 {
            decor::front_door(&mut fill);
        }
        recipe::furnish_room(rng, &mut fill);
        decor::decorate_room(rng, &mut fill);
        all.extend(fill.items.drain(preset..));
    }
    all
}

/// The staircase (lower hallway) and the railings around the opening (upper hallway).
fn stair_items(plan: &Plan) -> Vec<Item> {
    let Some(s) = &plan.stairs else {
        return Vec::new();
    };
    let level_h = plan.levels[1].floor_y - plan.levels[0].floor_y;
    let arch = |label, room, size: Size, fp: Rect, y: f32| Item {
        label,
        room,
        size,
        at: fp.center(),
        y,
        yaw: 0.0,
        footprint: fp,
        obstacle: true,
        architecture: true,
    };
    let r = s.rect;
    let mut out = vec![arch(
        Label::Staircase,
        s.rooms[0],
        size(r.width(), level_h, r.depth()),
        r,
        0.0,
    )];
    let t = 0.05;
    let hall = plan.interior(s.rooms[1]);
    // Long rail on the open side of the opening, short rail across its lower end.
    let open_z = if (r.z0 - hall.z0).abs() < 1e-3 {
        r.z1
    } else {
        r.z0
    };
    let long = if open_z == r.z1 {
        Rect::new(r.x0 - t, r.z1, r.x1, r.z1 + t)
    } else {
        Rect::new(r.x0 - t, r.z0 - t, r.x1, r.z0)
    };
    let long = if s.dir > 0.0 {
        long
    } else {
        Rect::new(r.x0, long.z0, r.x1 + t, long.z1)
    };
    out.push(arch(
        Label::Railing,
        s.rooms[1],
        size(long.width(), 1.0, long.depth()),
        long,
        0.0,
    ));
    let bx = s.bottom_x();
    let short = if s.dir > 0.0 {
        Rect::new(bx - t, r.z0, bx, r.z1)
    } else {
        Rect::new(bx, r.z0, bx + t, r.z1)
    };
    out.push(arch(
        Label::Railing,
        s.rooms[1],
        size(short.width(), 1.0, short.depth()),
        short,
        0.0,
    ));
    out
}

/// Door approaches of a room and the stair landings in it.
fn blocked_zones(plan: &Plan, room: usize) -> Vec<Rect> {
    let i = plan.interior(room);
    let mut out = Vec::new();
    for d in plan.doors.iter().filter(|d| d.rooms.contains(&room)) {
        let (a, b) = (d.s0 - 0.15, d.s1 + 0.15);
        out.push(if d.along_x {
            if i.z0 > d.line {
                Rect::new(a, i.z0, b, i.z0 + DOOR_CLEARANCE)
            } else {
                Rect::new(a, i.z1 - DOOR_CLEARANCE, b, i.z1)
            }
        } else if i.x0 > d.line {
            Rect::new(i.x0, a, i.x0 + DOOR_CLEARANCE, b)
        } else {
            Rect::new(i.x1 - DOOR_CLEARANCE, a, i.x1, b)
        });
    }
    if let Some(s) = &plan.stairs {
        let grow = |x0: f32, x1: f32| Rect::new(x0, s.rect.z0 - 0.3, x1, s.rect.z1 + 0.3);
        if room == s.rooms[0] {
            let bx = s.bottom_x();
            out.push(grow(bx - s.dir * LANDING, bx));
            out.push(s.rect.shrink(-0.1));
        }
        if room == s.rooms[1] {
            let tx = s.top_x();
            out.push(grow(tx, tx + s.dir * LANDING));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flood_fill_sees_a_wall_that_splits_a_room() {
        let area = Rect::new(0.0, 0.0, 4.0, 3.0);
        assert!(walkable_connected(&area, &[Rect::new(1.0, 1.0, 2.0, 2.0)]));
        assert!(!walkable_connected(
            &area,
            &[Rect::new(1.9, -1.0, 2.1, 4.0)]
        ));
        assert!(!walkable_connected(
            &area,
            &[Rect::new(-1.0, -1.0, 5.0, 4.0)]
        ));
    }

    #[test]
    fn rotated_footprints_swap_extents_on_quarter_turns() {
        let a = rotated_footprint([0.0, 0.0], 2.0, 1.0, std::f32::consts::FRAC_PI_2);
        assert!((a.width() - 1.0).abs() < 1e-6 && (a.depth() - 2.0).abs() < 1e-6);
        let b = rotated_footprint([0.0, 0.0], 2.0, 1.0, -std::f32::consts::PI);
        assert!((b.width() - 2.0).abs() < 1e-6);
    }
}
