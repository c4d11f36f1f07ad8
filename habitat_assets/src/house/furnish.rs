//! Furniture and landmarks for every room of a plan.
//!
//! Furniture stands against walls (or, for tables and rugs, in the middle of large rooms), never in front
//! of a doorway or on a stair landing, and every placement is checked on a 10 cm grid: the floor an agent
//! of radius [`AGENT_RADIUS`] can stand on must stay one connected region, so every spot in a room is
//! reachable from its doors. Wall-mounted landmarks (paintings, windows, mirrors, clocks) come last, on
//! wall spans that no tall furniture hides.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::label::Label;
use super::models::Size;
use super::plan::{Plan, Rect, RoomKind, LANDING};

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

#[derive(Debug, Clone, Copy, PartialEq)]
enum Side {
    North,
    South,
    West,
    East,
}

const SIDES: [Side; 4] = [Side::North, Side::South, Side::West, Side::East];

impl Side {
    fn yaw(self) -> f32 {
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
    fn opposite(self) -> Side {
        match self {
            Side::North => Side::South,
            Side::South => Side::North,
            Side::West => Side::East,
            Side::East => Side::West,
        }
    }
    /// Range of the coordinate along the side.
    fn span(self, r: &Rect) -> (f32, f32) {
        match self {
            Side::North | Side::South => (r.x0, r.x1),
            Side::West | Side::East => (r.z0, r.z1),
        }
    }
    /// Footprint of a `w x d` box against this side at position `t` along it, `gap` off the wall.
    fn footprint(self, r: &Rect, t: f32, w: f32, d: f32, gap: f32) -> Rect {
        match self {
            Side::North => Rect::new(t - w / 2.0, r.z0 + gap, t + w / 2.0, r.z0 + gap + d),
            Side::South => Rect::new(t - w / 2.0, r.z1 - gap - d, t + w / 2.0, r.z1 - gap),
            Side::West => Rect::new(r.x0 + gap, t - w / 2.0, r.x0 + gap + d, t + w / 2.0),
            Side::East => Rect::new(r.x1 - gap - d, t - w / 2.0, r.x1 - gap, t + w / 2.0),
        }
    }
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

/// The state of one room being furnished.
struct RoomFill<'a> {
    room: usize,
    interior: Rect,
    /// Zones that must stay free: door approaches, stair landings.
    blocked: Vec<Rect>,
    items: Vec<Item>,
    plan: &'a Plan,
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
    fn try_add(&mut self, group: Vec<Item>, clearance: f32) -> bool {
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

    fn item(&self, label: Label, size: Size, at: [f32; 2], yaw: f32) -> Item {
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

    fn against(&self, label: Label, size: Size, side: Side, t: f32) -> Item {
        let fp = side.footprint(&self.interior, t, size.w, size.d, WALL_GAP);
        let c = fp.center();
        self.item(label, size, c, side.yaw())
    }

    /// Picks a side (weighted by length) and a position along it, `attempts` times, and places the item
    /// with `extras` (items placed relative to it) at the first position where all fit.
    fn place_on_wall(
        &mut self,
        rng: &mut ChaCha8Rng,
        label: Label,
        size: Size,
        corner: bool,
        extras: &dyn Fn(&Self, &Item, Side) -> Vec<Item>,
    ) -> Option<Side> {
        for _ in 0..40 {
            let side = pick_side(rng, &self.interior);
            let (a, b) = side.span(&self.interior);
            let (lo, hi) = (a + size.w / 2.0 + 0.02, b - size.w / 2.0 - 0.02);
            if hi < lo {
                continue;
            }
            let t = if corner {
                if rng.random_bool(0.5) {
                    lo
                } else {
                    hi
                }
            } else {
                rng.random_range(lo..=hi)
            };
            let it = self.against(label, size, side, t);
            let mut group = vec![it.clone()];
            group.extend(extras(self, &it, side));
            if self.try_add(group, 0.05) {
                return Some(side);
            }
        }
        None
    }
}

fn pick_side(rng: &mut ChaCha8Rng, r: &Rect) -> Side {
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

fn size(w: f32, h: f32, d: f32) -> Size {
    Size { w, h, d }
}

/// A random length in `[lo, hi]` on a 5 cm grid (exactly `lo` when the range is empty).
fn r(rng: &mut ChaCha8Rng, lo: f32, hi: f32) -> f32 {
    if hi <= lo {
        return lo;
    }
    (rng.random_range(lo..hi) * 20.0).round() / 20.0
}

fn no_extras(_: &RoomFill, _: &Item, _: Side) -> Vec<Item> {
    Vec::new()
}

/// Offsets a plan point by `along` the inward direction of `side`.
fn ahead(p: [f32; 2], side: Side, along: f32) -> [f32; 2] {
    let n = side.inward();
    [p[0] + n[0] * along, p[1] + n[1] * along]
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
        furnish_room(rng, &mut fill);
        decorate_room(rng, &mut fill);
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

/// The front door: a landmark closing an outer end of the ground-floor hallway, placed before the
/// furniture, which then keeps clear of it.
fn front_door(f: &mut RoomFill) {
    let outer: Vec<Side> = SIDES
        .into_iter()
        .filter(|&s| is_exterior(f.plan, f.room, s))
        .collect();
    for side in outer {
        let (a, b) = side.span(&f.interior);
        let t = (a + b) / 2.0;
        if wall_mount(f, Label::FrontDoor, size(0.9, 2.1, 0.06), side, t, 0.0) {
            f.blocked
                .push(side.footprint(&f.interior, t, 1.1, DOOR_CLEARANCE, 0.0));
            return;
        }
    }
}

fn furnish_room(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let kind = f.plan.rooms[f.room].kind;
    if kind == RoomKind::Hallway && f.plan.rooms[f.room].level == 0 {
        front_door(f);
    }
    let big = f.interior.width().min(f.interior.depth()) >= 3.2;
    match kind {
        RoomKind::LivingRoom => {
            let sofa = size(r(rng, 1.8, 2.3), 0.85, 0.9);
            let tv = size(r(rng, 1.2, 1.6), 1.25, 0.45);
            let coffee = size(1.0, 0.42, 0.55);
            let placed = f.place_on_wall(rng, Label::Sofa, sofa, false, &|f, it, side| {
                let at = ahead(it.at, side, sofa.d / 2.0 + 0.45 + coffee.d / 2.0);
                vec![f.item(Label::CoffeeTable, coffee, at, side.yaw())]
            });
            let placed =
                placed.or_else(|| f.place_on_wall(rng, Label::Sofa, sofa, false, &no_extras));
            // The TV goes on the wall facing the sofa when it fits there.
            let mut tv_done = false;
            if let (Some(side), Some(s)) = (
                placed,
                f.items.iter().find(|i| i.label == Label::Sofa).cloned(),
            ) {
                let opp = side.opposite();
                let t = match side {
                    Side::North | Side::South => s.at[0],
                    _ => s.at[1],
                };
                let it = f.against(Label::Tv, tv, opp, t);
                tv_done = f.try_add(vec![it], 0.05);
            }
            if !tv_done {
                f.place_on_wall(rng, Label::Tv, tv, false, &no_extras);
            }
            optional(
                rng,
                f,
                0.6,
                Label::Armchair,
                ((0.85, 0.85), (0.85, 0.85), 0.85),
                false,
            );
            optional(
                rng,
                f,
                0.5,
                Label::Bookshelf,
                ((0.8, 1.2), (1.6, 2.0), 0.35),
                false,
            );
            optional(
                rng,
                f,
                0.8,
                Label::Plant,
                ((0.5, 0.5), (0.9, 1.4), 0.5),
                true,
            );
            optional(
                rng,
                f,
                0.5,
                Label::FloorLamp,
                ((0.4, 0.4), (1.6, 1.6), 0.4),
                true,
            );
            optional(
                rng,
                f,
                0.4,
                Label::SideTable,
                ((0.5, 0.5), (0.55, 0.55), 0.5),
                true,
            );
            if rng.random_bool(0.6) {
                rug(rng, f);
            }
        }
        RoomKind::Kitchen => {
            for (label, s) in [
                (Label::Counter, size(r(rng, 1.6, 2.6), 0.9, 0.6)),
                (Label::Fridge, size(0.75, 1.8, 0.7)),
                (Label::Stove, size(0.6, 0.9, 0.6)),
                (Label::Sink, size(0.8, 0.9, 0.6)),
            ] {
                f.place_on_wall(rng, label, s, false, &no_extras);
            }
            if big && rng.random_bool(0.6) {
                table_group(rng, f, Label::KitchenTable, size(1.2, 0.75, 0.8));
            }
            optional(
                rng,
                f,
                0.7,
                Label::TrashCan,
                ((0.3, 0.3), (0.45, 0.45), 0.3),
                true,
            );
            optional(
                rng,
                f,
                0.3,
                Label::Plant,
                ((0.45, 0.45), (0.8, 1.2), 0.45),
                true,
            );
        }
        RoomKind::DiningRoom => {
            let table = size(r(rng, 1.4, 1.9), 0.75, 0.9);
            table_group(rng, f, Label::DiningTable, table);
            optional(
                rng,
                f,
                0.6,
                Label::Sideboard,
                ((1.2, 1.6), (0.85, 0.85), 0.45),
                false,
            );
            optional(
                rng,
                f,
                0.6,
                Label::Plant,
                ((0.5, 0.5), (0.9, 1.4), 0.5),
                true,
            );
        }
        RoomKind::Bedroom => {
            let w = if rng.random_bool(0.7) {
                r(rng, 1.4, 1.8)
            } else {
                1.0
            };
            let bed = size(w, 1.0, 2.05);
            let stand = size(0.45, 0.55, 0.4);
            let placed = f.place_on_wall(rng, Label::Bed, bed, false, &|f, it, side| {
                let mut out = Vec::new();
                let t = match side {
                    Side::North | Side::South => it.at[0],
                    _ => it.at[1],
                };
                for sgn in [-1.0, 1.0] {
                    out.push(f.against(
                        Label::Nightstand,
                        stand,
                        side,
                        t + sgn * (bed.w / 2.0 + 0.05 + stand.w / 2.0),
                    ));
                }
                out
            });
            if placed.is_none() {
                f.place_on_wall(rng, Label::Bed, bed, false, &no_extras);
            }
            optional(
                rng,
                f,
                0.8,
                Label::Wardrobe,
                ((1.0, 1.6), (2.0, 2.0), 0.6),
                false,
            );
            optional(
                rng,
                f,
                0.5,
                Label::Dresser,
                ((1.0, 1.4), (0.85, 0.85), 0.5),
                false,
            );
            optional(
                rng,
                f,
                0.4,
                Label::Plant,
                ((0.45, 0.45), (0.8, 1.3), 0.45),
                true,
            );
            optional(
                rng,
                f,
                0.3,
                Label::FloorLamp,
                ((0.4, 0.4), (1.6, 1.6), 0.4),
                true,
            );
            if big && rng.random_bool(0.3) {
                desk_group(rng, f);
            }
            if rng.random_bool(0.4) {
                rug(rng, f);
            }
        }
        RoomKind::Bathroom => {
            if big || rng.random_bool(0.6) {
                optional(
                    rng,
                    f,
                    1.0,
                    Label::Bathtub,
                    ((1.5, 1.7), (0.55, 0.55), 0.75),
                    true,
                );
            }
            f.place_on_wall(rng, Label::Toilet, size(0.4, 0.75, 0.65), false, &no_extras);
            let sink = size(0.6, 0.85, 0.45);
            let placed = f.place_on_wall(rng, Label::Sink, sink, false, &no_extras);
            if let (Some(side), Some(s)) = (
                placed,
                f.items
                    .iter()
                    .rev()
                    .find(|i| i.label == Label::Sink)
                    .cloned(),
            ) {
                let t = match side {
                    Side::North | Side::South => s.at[0],
                    _ => s.at[1],
                };
                wall_mount(f, Label::Mirror, size(0.5, 0.7, 0.03), side, t, 1.2);
            }
            optional(
                rng,
                f,
                0.5,
                Label::TrashCan,
                ((0.3, 0.3), (0.4, 0.4), 0.3),
                true,
            );
        }
        RoomKind::Office => {
            desk_group(rng, f);
            optional(
                rng,
                f,
                0.9,
                Label::Bookshelf,
                ((0.8, 1.2), (1.6, 2.0), 0.35),
                false,
            );
            optional(
                rng,
                f,
                0.6,
                Label::FilingCabinet,
                ((0.45, 0.45), (1.0, 1.0), 0.6),
                true,
            );
            optional(
                rng,
                f,
                0.6,
                Label::Plant,
                ((0.45, 0.45), (0.8, 1.3), 0.45),
                true,
            );
            optional(
                rng,
                f,
                0.4,
                Label::FloorLamp,
                ((0.4, 0.4), (1.6, 1.6), 0.4),
                true,
            );
            optional(
                rng,
                f,
                0.3,
                Label::Armchair,
                ((0.85, 0.85), (0.85, 0.85), 0.85),
                false,
            );
        }
        RoomKind::LaundryRoom => {
            let wm = size(0.6, 0.85, 0.6);
            let placed = f.place_on_wall(rng, Label::WashingMachine, wm, false, &|f, it, side| {
                let t = match side {
                    Side::North | Side::South => it.at[0],
                    _ => it.at[1],
                };
                vec![f.against(Label::Dryer, wm, side, t + 0.65)]
            });
            if placed.is_none() {
                f.place_on_wall(rng, Label::WashingMachine, wm, false, &no_extras);
                f.place_on_wall(rng, Label::Dryer, wm, false, &no_extras);
            }
            optional(
                rng,
                f,
                0.7,
                Label::Shelf,
                ((0.9, 0.9), (1.8, 1.8), 0.35),
                false,
            );
            optional(
                rng,
                f,
                0.7,
                Label::LaundryBasket,
                ((0.45, 0.45), (0.5, 0.5), 0.45),
                true,
            );
            optional(
                rng,
                f,
                0.4,
                Label::Sink,
                ((0.6, 0.6), (0.85, 0.85), 0.45),
                false,
            );
        }
        RoomKind::Hallway => {
            optional(
                rng,
                f,
                0.6,
                Label::Plant,
                ((0.45, 0.45), (0.9, 1.3), 0.45),
                true,
            );
            optional(
                rng,
                f,
                0.5,
                Label::SideTable,
                ((0.5, 0.5), (0.7, 0.7), 0.4),
                false,
            );
            optional(
                rng,
                f,
                0.4,
                Label::CoatRack,
                ((0.45, 0.45), (1.75, 1.75), 0.45),
                true,
            );
            optional(
                rng,
                f,
                0.3,
                Label::Bench,
                ((1.0, 1.0), (0.45, 0.45), 0.4),
                false,
            );
        }
    }
}

/// Ranges (metres) for a model's width and height, and its depth.
type Dims = ((f32, f32), (f32, f32), f32);

/// With probability `p`, places an item of random size within `dims` against a wall.
fn optional(
    rng: &mut ChaCha8Rng,
    f: &mut RoomFill,
    p: f64,
    label: Label,
    dims: Dims,
    corner: bool,
) {
    if rng.random_bool(p) {
        let ((w0, w1), (h0, h1), d) = dims;
        let s = size(r(rng, w0, w1), r(rng, h0, h1), d);
        f.place_on_wall(rng, label, s, corner, &no_extras);
    }
}

fn rug(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let (w, d) = (r(rng, 1.6, 2.4), r(rng, 1.2, 1.8));
    let c = f.interior.center();
    let s = size(w, 0.01, d);
    let mut it = f.item(Label::Rug, s, c, 0.0);
    it.obstacle = false;
    if it.footprint.inside(&f.interior.shrink(0.4)) {
        f.items.push(it);
    }
}

/// A table in the middle of the room with chairs on its long sides (and maybe its ends), all facing it.
fn table_group(rng: &mut ChaCha8Rng, f: &mut RoomFill, label: Label, table: Size) {
    use std::f32::consts::{FRAC_PI_2, PI};
    let chair = size(0.45, 0.9, 0.45);
    let i = f.interior;
    // Long axis along the room's longer dimension.
    let yaw = if i.width() >= i.depth() {
        0.0
    } else {
        FRAC_PI_2
    };
    let (c, s) = (yaw.cos(), yaw.sin());
    // Local (x, z) of the table frame to plan coordinates.
    let to_plan =
        |at: [f32; 2], lx: f32, lz: f32| [at[0] + c * lx + s * lz, at[1] - s * lx + c * lz];
    // Chairs on both long sides first; in a narrow room on one side only; at last the table alone.
    for attempt in 0..30 {
        let layout = attempt / 10;
        let centre = i.center();
        let at = [
            centre[0] + rng.random_range(-0.3..0.3),
            centre[1] + rng.random_range(-0.3..0.3),
        ];
        let at = [(at[0] * 20.0).round() / 20.0, (at[1] * 20.0).round() / 20.0];
        let mut group = vec![f.item(label, table, at, yaw)];
        let per_side = ((table.w / 0.6).floor() as usize).clamp(1, 3);
        let off = table.d / 2.0 + 0.05 + chair.d / 2.0;
        let sides: &[f32] = match layout {
            0 => &[1.0, -1.0],
            1 if rng.random_bool(0.5) => &[1.0],
            1 => &[-1.0],
            _ => &[],
        };
        for k in 0..per_side {
            let lx = -table.w / 2.0 + (k as f32 + 0.5) * table.w / per_side as f32;
            for &side in sides {
                // A chair faces +z in its own frame; turn it to face the table.
                let turn = if side > 0.0 { yaw + PI } else { yaw };
                group.push(f.item(Label::Chair, chair, to_plan(at, lx, side * off), turn));
            }
        }
        if layout == 0 && table.w >= 1.6 && rng.random_bool(0.5) {
            let off = table.w / 2.0 + 0.05 + chair.d / 2.0;
            group.push(f.item(Label::Chair, chair, to_plan(at, off, 0.0), yaw - FRAC_PI_2));
            group.push(f.item(Label::Chair, chair, to_plan(at, -off, 0.0), yaw + FRAC_PI_2));
        }
        let mut bbox = group[0].footprint;
        for g in &group[1..] {
            let fp = g.footprint;
            bbox = Rect::new(
                bbox.x0.min(fp.x0),
                bbox.z0.min(fp.z0),
                bbox.x1.max(fp.x1),
                bbox.z1.max(fp.z1),
            );
        }
        // Keep a walkway around the whole group (the connectivity check has the last word).
        if bbox.inside(&i.shrink(0.4)) && f.try_add(group, 0.5) {
            return;
        }
    }
}

/// A desk against a wall, an office chair in front of it and a computer on it.
fn desk_group(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    use std::f32::consts::PI;
    let desk = size(r(rng, 1.1, 1.5), 0.75, 0.6);
    let chair = size(0.55, 0.95, 0.55);
    let computer = size(0.5, 0.45, 0.16);
    let placed = f.place_on_wall(rng, Label::Desk, desk, false, &|f, it, side| {
        let at = ahead(it.at, side, desk.d / 2.0 + 0.1 + chair.d / 2.0);
        let mut pc = f.item(
            Label::Computer,
            computer,
            ahead(it.at, side, -0.12),
            side.yaw(),
        );
        pc.y = desk.h;
        pc.obstacle = false;
        vec![f.item(Label::OfficeChair, chair, at, side.yaw() + PI), pc]
    });
    if placed.is_none() {
        f.place_on_wall(rng, Label::Desk, desk, false, &no_extras);
    }
}

/// A wall-mounted landmark at `t` along `side`, bottom at `y`, if no doorway or tall furniture is in the way.
fn wall_mount(f: &mut RoomFill, label: Label, s: Size, side: Side, t: f32, y: f32) -> bool {
    let (a, b) = side.span(&f.interior);
    if t - s.w / 2.0 < a + 0.1 || t + s.w / 2.0 > b - 0.1 {
        return false;
    }
    let fp = side.footprint(&f.interior, t, s.w, s.d, 0.005);
    // Doorways: the approach zones reach the wall, so overlapping one means the span crosses an opening.
    let zone = side.footprint(&f.interior, t, s.w + 0.2, 0.35, 0.0);
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

fn is_exterior(plan: &Plan, room: usize, side: Side) -> bool {
    let c = plan.rooms[room].cell;
    let fp = plan.footprint;
    match side {
        Side::North => (c.z0 - fp.z0).abs() < 1e-3,
        Side::South => (c.z1 - fp.z1).abs() < 1e-3,
        Side::West => (c.x0 - fp.x0).abs() < 1e-3,
        Side::East => (c.x1 - fp.x1).abs() < 1e-3,
    }
}

fn decorate_room(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let kind = f.plan.rooms[f.room].kind;
    let try_mount = |rng: &mut ChaCha8Rng,
                     f: &mut RoomFill,
                     label: Label,
                     s: Size,
                     y: f32,
                     exterior: Option<bool>| {
        for _ in 0..15 {
            let side = pick_side(rng, &f.interior);
            if exterior.is_some_and(|e| e != is_exterior(f.plan, f.room, side)) {
                continue;
            }
            let (a, b) = side.span(&f.interior);
            if b - a < s.w + 0.3 {
                continue;
            }
            let t = ((rng.random_range(a + s.w / 2.0 + 0.1..b - s.w / 2.0 - 0.1)) * 20.0).round()
                / 20.0;
            if wall_mount(f, label, s, side, t, y) {
                return true;
            }
        }
        false
    };
    if kind == RoomKind::Hallway {
        for _ in 0..2 {
            let s = size(r(rng, 0.6, 1.0), r(rng, 0.5, 0.8), 0.04);
            try_mount(rng, f, Label::Painting, s, 1.55 - s.h / 2.0, Some(false));
        }
        return;
    }
    let windows = if kind == RoomKind::Bathroom {
        1
    } else {
        rng.random_range(1..=2)
    };
    for _ in 0..windows {
        let s = size(r(rng, 0.9, 1.4), 1.2, 0.05);
        try_mount(rng, f, Label::Window, s, 0.9, Some(true));
    }
    if kind != RoomKind::Bathroom && kind != RoomKind::LaundryRoom {
        let s = size(r(rng, 0.6, 1.1), r(rng, 0.5, 0.8), 0.04);
        try_mount(rng, f, Label::Painting, s, 1.55 - s.h / 2.0, None);
    }
    if matches!(
        kind,
        RoomKind::Kitchen | RoomKind::LivingRoom | RoomKind::Office
    ) && rng.random_bool(0.4)
    {
        try_mount(rng, f, Label::Clock, size(0.35, 0.35, 0.05), 1.85, None);
    }
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
