//! The floor plan of a procedural house: rooms as axis-aligned cells that tile a rectangular footprint,
//! doors in the walls between them, and (in two-storey houses) a straight staircase in the hallway.
//!
//! Layout: a hallway strip runs along X through the house; the strips on either side are cut into rooms
//! (some cut again in depth, reached through their neighbour); optionally a large room spans the full
//! depth at one end. Doors are placed on a spanning tree grown from the hallway, so every room is
//! reachable, plus a few extra doors between neighbours. Coordinates: metres, x east, z south, y up.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Doorway height (all doors).
pub const DOOR_HEIGHT: f32 = 2.1;
/// Thickness of the slab between storeys (ceiling of one to floor of the next).
pub const SLAB: f32 = 0.2;
/// Highest step rise allowed (metres).
pub const MAX_RISE: f32 = 0.18;
/// Tread depth of every step.
pub const TREAD: f32 = 0.30;
/// Width of the staircase.
pub const STAIR_WIDTH: f32 = 1.0;
/// Free floor kept at both ends of the staircase.
pub const LANDING: f32 = 1.2;
/// The smallest side of a room cell.
const MIN_ROOM: f32 = 2.6;

/// An axis-aligned rectangle on the floor plane, `x0 < x1`, `z0 < z1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x0: f32,
    pub z0: f32,
    pub x1: f32,
    pub z1: f32,
}

impl Rect {
    pub fn new(x0: f32, z0: f32, x1: f32, z1: f32) -> Rect {
        Rect {
            x0: x0.min(x1),
            z0: z0.min(z1),
            x1: x0.max(x1),
            z1: z0.max(z1),
        }
    }
    pub fn width(&self) -> f32 {
        self.x1 - self.x0
    }
    pub fn depth(&self) -> f32 {
        self.z1 - self.z0
    }
    pub fn area(&self) -> f32 {
        self.width() * self.depth()
    }
    pub fn center(&self) -> [f32; 2] {
        [(self.x0 + self.x1) / 2.0, (self.z0 + self.z1) / 2.0]
    }
    /// Shrinks by `d` on every side (grows for negative `d`).
    pub fn shrink(&self, d: f32) -> Rect {
        Rect {
            x0: self.x0 + d,
            z0: self.z0 + d,
            x1: self.x1 - d,
            z1: self.z1 - d,
        }
    }
    pub fn contains(&self, x: f32, z: f32) -> bool {
        x >= self.x0 && x <= self.x1 && z >= self.z0 && z <= self.z1
    }
    /// True when the two rectangles overlap by more than nothing after growing `self` by `gap`.
    pub fn overlaps(&self, o: &Rect, gap: f32) -> bool {
        self.x0 - gap < o.x1 && o.x0 < self.x1 + gap && self.z0 - gap < o.z1 && o.z0 < self.z1 + gap
    }
    pub fn inside(&self, o: &Rect) -> bool {
        self.x0 >= o.x0 - 1e-4
            && self.x1 <= o.x1 + 1e-4
            && self.z0 >= o.z0 - 1e-4
            && self.z1 <= o.z1 + 1e-4
    }
    /// `self` minus `hole` as up to four disjoint rectangles (the hole must lie inside `self`).
    pub fn minus(&self, hole: &Rect) -> Vec<Rect> {
        let mut out = Vec::new();
        let mut push = |r: Rect| {
            if r.width() > 1e-4 && r.depth() > 1e-4 {
                out.push(r);
            }
        };
        push(Rect::new(self.x0, self.z0, self.x1, hole.z0));
        push(Rect::new(self.x0, hole.z1, self.x1, self.z1));
        push(Rect::new(self.x0, hole.z0, hole.x0, hole.z1));
        push(Rect::new(hole.x1, hole.z0, self.x1, hole.z1));
        out
    }
}

/// Room types, named with the English nouns instructions will use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoomKind {
    Hallway,
    LivingRoom,
    Kitchen,
    DiningRoom,
    Bedroom,
    Bathroom,
    Office,
    LaundryRoom,
}

impl RoomKind {
    pub fn noun(self) -> &'static str {
        match self {
            RoomKind::Hallway => "hallway",
            RoomKind::LivingRoom => "living room",
            RoomKind::Kitchen => "kitchen",
            RoomKind::DiningRoom => "dining room",
            RoomKind::Bedroom => "bedroom",
            RoomKind::Bathroom => "bathroom",
            RoomKind::Office => "office",
            RoomKind::LaundryRoom => "laundry room",
        }
    }
}

#[derive(Debug, Clone)]
pub struct PlanRoom {
    pub kind: RoomKind,
    pub name: String,
    pub level: usize,
    /// The cell between wall centre lines; the walkable interior is this shrunk by half a wall.
    pub cell: Rect,
}

/// A doorway in the wall between two rooms of one level.
#[derive(Debug, Clone)]
pub struct PlanDoor {
    pub level: usize,
    pub rooms: [usize; 2],
    /// True when the wall runs along X (the wall line is `z = line`); otherwise the line is `x = line`.
    pub along_x: bool,
    pub line: f32,
    /// The opening along the wall: `s0 < s1` in x (along X) or z.
    pub s0: f32,
    pub s1: f32,
}

impl PlanDoor {
    pub fn width(&self) -> f32 {
        self.s1 - self.s0
    }
    /// Centre of the opening on the plan, [x, z].
    pub fn center(&self) -> [f32; 2] {
        let s = (self.s0 + self.s1) / 2.0;
        if self.along_x {
            [s, self.line]
        } else {
            [self.line, s]
        }
    }
}

/// A straight staircase along X from `from_level` to `from_level + 1`, inside the lower hallway.
#[derive(Debug, Clone)]
pub struct PlanStairs {
    pub from_level: usize,
    /// Footprint of the steps (also the opening in the upper floor).
    pub rect: Rect,
    /// +1: climbs towards +x (bottom at `rect.x0`); -1: climbs towards -x.
    pub dir: f32,
    pub steps: usize,
    pub rise: f32,
    pub tread: f32,
    /// Index of the hallway at the bottom and at the top.
    pub rooms: [usize; 2],
}

impl PlanStairs {
    /// x of the bottom edge of the first step.
    pub fn bottom_x(&self) -> f32 {
        if self.dir > 0.0 {
            self.rect.x0
        } else {
            self.rect.x1
        }
    }
    pub fn top_x(&self) -> f32 {
        if self.dir > 0.0 {
            self.rect.x1
        } else {
            self.rect.x0
        }
    }
}

#[derive(Debug, Clone)]
pub struct Level {
    pub floor_y: f32,
    pub ceiling_height: f32,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub footprint: Rect,
    pub wall: f32,
    pub levels: Vec<Level>,
    pub rooms: Vec<PlanRoom>,
    pub doors: Vec<PlanDoor>,
    pub stairs: Option<PlanStairs>,
}

impl Plan {
    /// The walkable interior of a room (its cell less half a wall on each side).
    pub fn interior(&self, room: usize) -> Rect {
        self.rooms[room].cell.shrink(self.wall / 2.0)
    }
}

/// Rounds to 5 cm so plans have tidy coordinates.
fn snap(v: f32) -> f32 {
    (v * 20.0).round() / 20.0
}

/// Cuts `[a, b]` into `k` pieces of at least `min` each, at random.
fn cut(rng: &mut ChaCha8Rng, a: f32, b: f32, k: usize, min: f32) -> Vec<f32> {
    let extra = (b - a) - k as f32 * min;
    let w: Vec<f32> = (0..k).map(|_| rng.random_range(0.2..1.0)).collect();
    let total: f32 = w.iter().sum();
    let mut edges = vec![a];
    let mut x = a;
    for wi in &w[..k - 1] {
        x += min + extra * wi / total;
        edges.push(snap(x));
    }
    edges.push(b);
    edges
}

/// The shared wall between two cells, if they touch along a segment: (along_x, line, s0, s1).
fn shared_wall(a: &Rect, b: &Rect) -> Option<(bool, f32, f32, f32)> {
    const EPS: f32 = 1e-3;
    let overlap = |a0: f32, a1: f32, b0: f32, b1: f32| (a0.max(b0), a1.min(b1));
    for (la, lb) in [(a.x1, b.x0), (a.x0, b.x1)] {
        if (la - lb).abs() < EPS {
            let (s0, s1) = overlap(a.z0, a.z1, b.z0, b.z1);
            if s1 - s0 > EPS {
                return Some((false, la, s0, s1));
            }
        }
    }
    for (la, lb) in [(a.z1, b.z0), (a.z0, b.z1)] {
        if (la - lb).abs() < EPS {
            let (s0, s1) = overlap(a.x0, a.x1, b.x0, b.x1);
            if s1 - s0 > EPS {
                return Some((true, la, s0, s1));
            }
        }
    }
    None
}

/// Parameters of one attempt at a layout; a failed attempt (no room for a door somewhere) retries.
struct Frame {
    footprint: Rect,
    hallway: Rect,
    end_room: Option<Rect>,
    /// z-ranges of the north (low z) and south (high z) strips, and the x-range they span.
    north: (f32, f32),
    south: (f32, f32),
    strip_x: (f32, f32),
}

fn frame(rng: &mut ChaCha8Rng, two_storey: bool, stair_run: f32) -> Frame {
    let hall_w = snap(if two_storey {
        rng.random_range(2.2..2.5)
    } else {
        rng.random_range(1.3..1.7)
    });
    let north_d = snap(rng.random_range(MIN_ROOM + 0.2..5.6));
    let south_d = snap(rng.random_range(MIN_ROOM + 0.2..5.6));
    let end_w = rng
        .random_bool(0.5)
        .then(|| snap(rng.random_range(3.4..4.6)));
    let min_hall_len = if two_storey {
        stair_run + 2.0 * LANDING + 0.6
    } else {
        5.5
    };
    let mut width = snap(rng.random_range(9.0..14.0));
    width = width.max(snap(min_hall_len + end_w.unwrap_or(0.0) + 0.05));
    let depth = north_d + hall_w + south_d;
    let footprint = Rect::new(0.0, 0.0, width, depth);
    let (sx0, sx1, end_room) = match end_w {
        Some(e) if rng.random_bool(0.5) => (e, width, Some(Rect::new(0.0, 0.0, e, depth))),
        Some(e) => (
            0.0,
            width - e,
            Some(Rect::new(width - e, 0.0, width, depth)),
        ),
        None => (0.0, width, None),
    };
    Frame {
        footprint,
        hallway: Rect::new(sx0, north_d, sx1, north_d + hall_w),
        end_room,
        north: (0.0, north_d),
        south: (north_d + hall_w, depth),
        strip_x: (sx0, sx1),
    }
}

/// Cells of one level (hallway first, then the end room, then the strip rooms).
fn cells(rng: &mut ChaCha8Rng, f: &Frame) -> Vec<Rect> {
    let mut out = vec![f.hallway];
    out.extend(f.end_room);
    let (x0, x1) = f.strip_x;
    for (z0, z1, hall_side_low) in [(f.north.0, f.north.1, false), (f.south.0, f.south.1, true)] {
        let len = x1 - x0;
        let max_k = ((len / MIN_ROOM).floor() as usize).max(1);
        let min_k = ((len / 5.0).ceil() as usize).clamp(1, max_k);
        let k = rng.random_range(min_k..=max_k);
        let edges = cut(rng, x0, x1, k, MIN_ROOM);
        for w in edges.windows(2) {
            let depth = z1 - z0;
            if depth >= 2.0 * MIN_ROOM + 0.2 && rng.random_bool(0.4) {
                // Split in depth; the cut keeps both parts at least MIN_ROOM deep.
                let c = cut(rng, z0, z1, 2, MIN_ROOM)[1];
                // Inner (hallway-side) part first so it is found before the outer one.
                let (inner, outer) = if hall_side_low {
                    ((z0, c), (c, z1))
                } else {
                    ((c, z1), (z0, c))
                };
                out.push(Rect::new(w[0], inner.0, w[1], inner.1));
                out.push(Rect::new(w[0], outer.0, w[1], outer.1));
            } else {
                out.push(Rect::new(w[0], z0, w[1], z1));
            }
        }
    }
    out
}

/// Room kinds for the cells of a level, by size: hallway first, the largest room becomes the living
/// room (ground floor), the smallest a bathroom, the rest from the level's list.
fn assign_kinds(
    rng: &mut ChaCha8Rng,
    cells: &[Rect],
    level: usize,
    two_storey: bool,
) -> Vec<RoomKind> {
    use RoomKind::*;
    let mut kinds = vec![Hallway; cells.len()];
    let mut order: Vec<usize> = (1..cells.len()).collect();
    order.sort_by(|&a, &b| cells[b].area().total_cmp(&cells[a].area()).then(a.cmp(&b)));
    let (first, mut rest): (Vec<RoomKind>, Vec<RoomKind>) = match (level, two_storey) {
        (0, false) => (
            vec![LivingRoom],
            vec![
                Kitchen,
                Bedroom,
                DiningRoom,
                Office,
                Bedroom,
                LaundryRoom,
                Bedroom,
                Office,
            ],
        ),
        (0, true) => (
            vec![LivingRoom],
            vec![Kitchen, DiningRoom, Office, LaundryRoom, Bedroom, Office],
        ),
        _ => (
            vec![Bedroom],
            vec![Bedroom, Office, Bedroom, LaundryRoom, Bedroom],
        ),
    };
    // Keep the first two of `rest` (the rooms every such level needs), shuffle the optional tail.
    rest[2..].shuffle(rng);
    let smallest = *order.last().expect("a level has rooms besides the hallway");
    kinds[smallest] = Bathroom;
    let mut pool = first.into_iter().chain(rest);
    for &i in &order {
        if i != smallest {
            kinds[i] = pool.next().unwrap_or(Bedroom);
        }
    }
    kinds
}

/// Names unique within the house: "kitchen", "second bedroom", "upstairs bathroom".
fn name_rooms(rooms: &mut [PlanRoom]) {
    const ORDINALS: [&str; 5] = ["", "second ", "third ", "fourth ", "fifth "];
    let ground: Vec<RoomKind> = rooms
        .iter()
        .filter(|r| r.level == 0)
        .map(|r| r.kind)
        .collect();
    let mut seen: Vec<(RoomKind, usize, usize)> = Vec::new();
    for r in rooms.iter_mut() {
        let n = match seen
            .iter_mut()
            .find(|(k, l, _)| *k == r.kind && *l == r.level)
        {
            Some(e) => {
                e.2 += 1;
                e.2
            }
            None => {
                seen.push((r.kind, r.level, 0));
                0
            }
        };
        let upstairs = if r.level > 0 && ground.contains(&r.kind) {
            "upstairs "
        } else {
            ""
        };
        r.name = match ORDINALS.get(n) {
            Some(o) => format!("{o}{upstairs}{}", r.kind.noun()),
            None => format!("{upstairs}{} {}", r.kind.noun(), n + 1),
        };
    }
}

/// A forbidden span on one wall line of one level (where the staircase runs along the hallway wall).
struct Forbidden {
    level: usize,
    along_x: bool,
    line: f32,
    s0: f32,
    s1: f32,
}

/// Tries to place a door of width `w` on a shared wall, away from corners and forbidden spans.
#[allow(clippy::too_many_arguments)]
fn door_span(
    rng: &mut ChaCha8Rng,
    level: usize,
    along_x: bool,
    line: f32,
    s0: f32,
    s1: f32,
    w: f32,
    margin: f32,
    forbidden: &[Forbidden],
) -> Option<(f32, f32)> {
    let (lo, hi) = (s0 + margin, s1 - margin - w);
    if hi < lo {
        return None;
    }
    // Candidate starts on a 5 cm grid, filtered, then one picked at random.
    let n = ((hi - lo) / 0.05).floor() as usize;
    let ok: Vec<f32> = (0..=n)
        .map(|i| lo + i as f32 * 0.05)
        .filter(|&a| {
            forbidden.iter().all(|f| {
                f.level != level
                    || f.along_x != along_x
                    || (f.line - line).abs() > 1e-3
                    || a + w <= f.s0
                    || a >= f.s1
            })
        })
        .collect();
    let a = *ok.get(rng.random_range(0..ok.len().max(1)))?;
    Some((snap(a), snap(a) + w))
}

fn door_width(rng: &mut ChaCha8Rng, a: RoomKind, b: RoomKind) -> f32 {
    use RoomKind::*;
    let open = |k: RoomKind| matches!(k, LivingRoom | DiningRoom | Kitchen);
    let wide_ok = (a == Hallway && open(b)) || (b == Hallway && open(a)) || (open(a) && open(b));
    if wide_ok && rng.random_bool(0.5) {
        return snap(rng.random_range(1.2..1.8));
    }
    snap(rng.random_range(0.9..1.05))
}

/// Lays out a house. `two_storey` adds an upper level joined by stairs.
pub fn generate_plan(rng: &mut ChaCha8Rng, two_storey: bool) -> Plan {
    let wall = snap(rng.random_range(0.10..0.15) * 2.0) / 2.0;
    let ceiling = snap(rng.random_range(2.6..2.9));
    let level_h = ceiling + SLAB;
    let steps = (level_h / MAX_RISE - 1e-4).ceil() as usize;
    let rise = level_h / steps as f32;
    let run = (steps - 1) as f32 * TREAD;
    loop {
        if let Some(plan) = try_plan(rng, two_storey, wall, ceiling, steps, rise, run) {
            return plan;
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn try_plan(
    rng: &mut ChaCha8Rng,
    two_storey: bool,
    wall: f32,
    ceiling: f32,
    steps: usize,
    rise: f32,
    run: f32,
) -> Option<Plan> {
    let f = frame(rng, two_storey, run);
    let n_levels = if two_storey { 2 } else { 1 };
    let mut rooms = Vec::new();
    let mut level_rooms: Vec<Vec<usize>> = Vec::new();
    for level in 0..n_levels {
        let c = cells(rng, &f);
        let kinds = assign_kinds(rng, &c, level, two_storey);
        let start = rooms.len();
        for (cell, kind) in c.into_iter().zip(kinds) {
            rooms.push(PlanRoom {
                kind,
                name: String::new(),
                level,
                cell,
            });
        }
        level_rooms.push((start..rooms.len()).collect());
    }
    name_rooms(&mut rooms);

    // Staircase against the north or south wall of the hallway, with landings at both ends.
    let mut forbidden = Vec::new();
    let stairs = if two_storey {
        let hall = f.hallway.shrink(wall / 2.0);
        let dir = if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let (lo, hi) = (hall.x0 + LANDING, hall.x1 - LANDING - run);
        if hi < lo {
            return None;
        }
        let x0 = snap(rng.random_range(lo..=hi));
        let north = rng.random_bool(0.5);
        let rect = if north {
            Rect::new(x0, hall.z0, x0 + run, hall.z0 + STAIR_WIDTH)
        } else {
            Rect::new(x0, hall.z1 - STAIR_WIDTH, x0 + run, hall.z1)
        };
        let line = if north { f.hallway.z0 } else { f.hallway.z1 };
        for level in 0..2 {
            forbidden.push(Forbidden {
                level,
                along_x: true,
                line,
                s0: rect.x0 - 0.15,
                s1: rect.x1 + 0.15,
            });
        }
        Some(PlanStairs {
            from_level: 0,
            rect,
            dir,
            steps,
            rise,
            tread: TREAD,
            rooms: [level_rooms[0][0], level_rooms[1][0]],
        })
    } else {
        None
    };

    // Spanning tree of doors grown from each level's hallway, then a few extra doors.
    let margin = wall / 2.0 + 0.15;
    let mut doors = Vec::new();
    for (level, ids) in level_rooms.iter().enumerate() {
        let mut connected = vec![ids[0]];
        let mut frontier = vec![ids[0]];
        while let Some(a) = frontier.first().copied() {
            frontier.remove(0);
            let mut neighbours: Vec<usize> = ids
                .iter()
                .copied()
                .filter(|b| !connected.contains(b))
                .collect();
            neighbours.shuffle(rng);
            for b in neighbours {
                let Some((along_x, line, s0, s1)) = shared_wall(&rooms[a].cell, &rooms[b].cell)
                else {
                    continue;
                };
                let w = door_width(rng, rooms[a].kind, rooms[b].kind);
                if let Some((d0, d1)) =
                    door_span(rng, level, along_x, line, s0, s1, w, margin, &forbidden)
                {
                    doors.push(PlanDoor {
                        level,
                        rooms: [a, b],
                        along_x,
                        line,
                        s0: d0,
                        s1: d1,
                    });
                    connected.push(b);
                    frontier.push(b);
                }
            }
        }
        if connected.len() != ids.len() {
            return None;
        }
        for (i, &a) in ids.iter().enumerate() {
            for &b in &ids[i + 1..] {
                let bath =
                    rooms[a].kind == RoomKind::Bathroom || rooms[b].kind == RoomKind::Bathroom;
                let linked = doors.iter().any(|d| d.rooms == [a, b] || d.rooms == [b, a]);
                if bath || linked || a == ids[0] || !rng.random_bool(0.25) {
                    continue;
                }
                if let Some((along_x, line, s0, s1)) = shared_wall(&rooms[a].cell, &rooms[b].cell) {
                    let w = door_width(rng, rooms[a].kind, rooms[b].kind);
                    if let Some((d0, d1)) =
                        door_span(rng, level, along_x, line, s0, s1, w, margin, &forbidden)
                    {
                        doors.push(PlanDoor {
                            level,
                            rooms: [a, b],
                            along_x,
                            line,
                            s0: d0,
                            s1: d1,
                        });
                    }
                }
            }
        }
    }

    let levels = (0..n_levels)
        .map(|l| Level {
            floor_y: l as f32 * (ceiling + SLAB),
            ceiling_height: ceiling,
        })
        .collect();
    Some(Plan {
        footprint: f.footprint,
        wall,
        levels,
        rooms,
        doors,
        stairs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn cells_tile_the_footprint_and_every_room_is_reachable() {
        for seed in 0..60 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let plan = generate_plan(&mut rng, seed % 3 == 2);
            for level in 0..plan.levels.len() {
                let ids: Vec<usize> = (0..plan.rooms.len())
                    .filter(|&i| plan.rooms[i].level == level)
                    .collect();
                let area: f32 = ids.iter().map(|&i| plan.rooms[i].cell.area()).sum();
                assert!(
                    (area - plan.footprint.area()).abs() < 1e-2,
                    "seed {seed}: cells do not tile"
                );
                for &i in &ids {
                    let c = plan.rooms[i].cell;
                    assert!(
                        c.width() >= MIN_ROOM - 1e-3 && c.depth() >= 1.3 - 1e-3,
                        "seed {seed}: {c:?}"
                    );
                }
                // Flood fill over doors.
                let mut reached = vec![ids[0]];
                let mut i = 0;
                while i < reached.len() {
                    let a = reached[i];
                    for d in plan.doors.iter().filter(|d| d.level == level) {
                        for (x, y) in [(d.rooms[0], d.rooms[1]), (d.rooms[1], d.rooms[0])] {
                            if x == a && !reached.contains(&y) {
                                reached.push(y);
                            }
                        }
                    }
                    i += 1;
                }
                assert_eq!(
                    reached.len(),
                    ids.len(),
                    "seed {seed} level {level}: unreachable rooms"
                );
            }
            for d in &plan.doors {
                assert!(
                    d.width() >= 0.9 - 1e-4,
                    "seed {seed}: door {d:?} too narrow"
                );
            }
            let names: std::collections::HashSet<&str> =
                plan.rooms.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(
                names.len(),
                plan.rooms.len(),
                "seed {seed}: duplicate room names"
            );
            if let Some(s) = &plan.stairs {
                assert!(s.rise <= MAX_RISE && s.tread >= 0.28);
                assert!(
                    (s.rise * s.steps as f32 - (plan.levels[1].floor_y - plan.levels[0].floor_y))
                        .abs()
                        < 1e-4
                );
                assert!(s.rect.inside(&plan.interior(s.rooms[0])));
            }
        }
    }

    #[test]
    fn rect_minus_hole_covers_the_rest() {
        let r = Rect::new(0.0, 0.0, 4.0, 3.0);
        let hole = Rect::new(1.0, 0.0, 3.0, 1.0);
        let parts = r.minus(&hole);
        let area: f32 = parts.iter().map(Rect::area).sum();
        assert!((area - (12.0 - 2.0)).abs() < 1e-5);
        assert!(parts.iter().all(|p| !p.overlaps(&hole, -1e-4)));
    }
}
