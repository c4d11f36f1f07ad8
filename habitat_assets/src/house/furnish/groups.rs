//! Furniture that comes in groups: a piece and the pieces placed relative to it.

use std::f32::consts::{FRAC_PI_2, PI};

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::decor::wall_mount;
use super::fill::{RoomFill, WallSpot, FURNITURE_GAP};
use super::recipe::{between, fixed, Length, SizeRange};
use super::side::Side;
use super::{size, Item};
use crate::house::label::Label;
use crate::house::models::Size;
use crate::house::plan::Rect;

const SOFA: SizeRange = SizeRange {
    w: between(1.8, 2.3),
    h: fixed(0.85),
    d: 0.9,
};
const TV: SizeRange = SizeRange {
    w: between(1.2, 1.6),
    h: fixed(1.25),
    d: 0.45,
};
const COFFEE_TABLE: Size = size(1.0, 0.42, 0.55);
/// Legroom between a sofa and its coffee table.
const COFFEE_TABLE_GAP: f32 = 0.45;

/// Share of beds that are doubles; the others are singles.
const DOUBLE_BED_SHARE: f64 = 0.7;
const DOUBLE_BED_WIDTH: Length = between(1.4, 1.8);
const SINGLE_BED_WIDTH: f32 = 1.0;
const NIGHTSTAND: Size = size(0.45, 0.55, 0.4);
/// Gap between a bed and its nightstands.
const NIGHTSTAND_GAP: f32 = 0.05;

const BATHROOM_SINK: Size = size(0.6, 0.85, 0.45);
const MIRROR: Size = size(0.5, 0.7, 0.03);
/// Height of the mirror's bottom edge above the floor.
const MIRROR_Y: f32 = 1.2;

/// Washing machine and dryer share one model size.
const WASHER: Size = size(0.6, 0.85, 0.6);
/// Centre distance of a washer and the dryer beside it (5 cm apart).
const DRYER_OFFSET: f32 = 0.65;

const DESK: SizeRange = SizeRange {
    w: between(1.1, 1.5),
    h: fixed(0.75),
    d: 0.6,
};
const OFFICE_CHAIR: Size = size(0.55, 0.95, 0.55);
const COMPUTER: Size = size(0.5, 0.45, 0.16);
/// Knee room between a desk and its chair.
const DESK_CHAIR_GAP: f32 = 0.1;
/// How far the computer stands back from the desk's centre line.
const COMPUTER_SETBACK: f32 = 0.12;

const CHAIR: Size = size(0.45, 0.9, 0.45);
/// Table width per chair along a long side (at most three chairs a side).
const CHAIR_PITCH: f32 = 0.6;
/// Gap between a table and its chairs.
const CHAIR_GAP: f32 = 0.05;
/// Tables this long may get chairs at the ends too.
const HEAD_CHAIRS_MIN_WIDTH: f32 = 1.6;
/// How far a table may stray from the room's centre, each way.
const TABLE_JITTER: f32 = 0.3;
/// Free floor kept around a table group and a rug.
const WALKWAY: f32 = 0.4;
/// Least gap between a table group and other furniture.
const TABLE_CLEARANCE: f32 = 0.5;

const RUG_WIDTH: Length = between(1.6, 2.4);
const RUG_DEPTH: Length = between(1.2, 1.8);
const RUG_HEIGHT: f32 = 0.01;

/// A sofa with a coffee table in front of it, and a TV on the wall facing the sofa when it fits there
/// (else on any wall).
pub(super) fn sofa_and_tv(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let sofa = SOFA.draw(rng);
    let tv = TV.draw(rng);
    let placed = f
        .place_on_wall(
            rng,
            Label::Sofa,
            sofa,
            WallSpot::Anywhere,
            Some(coffee_table),
        )
        .or_else(|| f.place_on_wall(rng, Label::Sofa, sofa, WallSpot::Anywhere, None));
    let facing = placed
        .zip(f.last(Label::Sofa))
        .map(|(side, s)| f.against(Label::Tv, tv, side.opposite(), side.along(s.at)));
    let on_facing_wall = facing.is_some_and(|it| f.try_add(vec![it], FURNITURE_GAP));
    if !on_facing_wall {
        f.place_on_wall(rng, Label::Tv, tv, WallSpot::Anywhere, None);
    }
}

fn coffee_table(f: &RoomFill, sofa: &Item, side: Side) -> Vec<Item> {
    let at = side.ahead(
        sofa.at,
        sofa.size.d / 2.0 + COFFEE_TABLE_GAP + COFFEE_TABLE.d / 2.0,
    );
    vec![f.item(Label::CoffeeTable, COFFEE_TABLE, at, side.yaw())]
}

/// A bed between two nightstands, or alone where they do not fit.
pub(super) fn bed(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let w = if rng.random_bool(DOUBLE_BED_SHARE) {
        DOUBLE_BED_WIDTH.draw(rng)
    } else {
        SINGLE_BED_WIDTH
    };
    let bed = size(w, 1.0, 2.05);
    let spot = WallSpot::Anywhere;
    if f.place_on_wall(rng, Label::Bed, bed, spot, Some(nightstands))
        .is_none()
    {
        f.place_on_wall(rng, Label::Bed, bed, spot, None);
    }
}

fn nightstands(f: &RoomFill, bed: &Item, side: Side) -> Vec<Item> {
    let t = side.along(bed.at);
    let off = bed.size.w / 2.0 + NIGHTSTAND_GAP + NIGHTSTAND.w / 2.0;
    [-1.0, 1.0]
        .into_iter()
        .map(|sgn| f.against(Label::Nightstand, NIGHTSTAND, side, t + sgn * off))
        .collect()
}

/// A sink against a wall with a mirror above it.
pub(super) fn sink_and_mirror(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let placed = f.place_on_wall(rng, Label::Sink, BATHROOM_SINK, WallSpot::Anywhere, None);
    if let (Some(side), Some(sink)) = (placed, f.last(Label::Sink).cloned()) {
        wall_mount(
            f,
            Label::Mirror,
            MIRROR,
            side,
            side.along(sink.at),
            MIRROR_Y,
        );
    }
}

/// A washing machine with the dryer beside it, or the two apart.
pub(super) fn washer_and_dryer(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let spot = WallSpot::Anywhere;
    let label = Label::WashingMachine;
    if f.place_on_wall(rng, label, WASHER, spot, Some(dryer))
        .is_none()
    {
        f.place_on_wall(rng, label, WASHER, spot, None);
        f.place_on_wall(rng, Label::Dryer, WASHER, spot, None);
    }
}

fn dryer(f: &RoomFill, washer: &Item, side: Side) -> Vec<Item> {
    let t = side.along(washer.at) + DRYER_OFFSET;
    vec![f.against(Label::Dryer, WASHER, side, t)]
}

/// A desk against a wall, an office chair in front of it and a computer on it.
pub(super) fn desk(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let desk = DESK.draw(rng);
    let spot = WallSpot::Anywhere;
    if f.place_on_wall(rng, Label::Desk, desk, spot, Some(chair_and_computer))
        .is_none()
    {
        f.place_on_wall(rng, Label::Desk, desk, spot, None);
    }
}

fn chair_and_computer(f: &RoomFill, desk: &Item, side: Side) -> Vec<Item> {
    let at = side.ahead(
        desk.at,
        desk.size.d / 2.0 + DESK_CHAIR_GAP + OFFICE_CHAIR.d / 2.0,
    );
    let mut pc = f.item(
        Label::Computer,
        COMPUTER,
        side.ahead(desk.at, -COMPUTER_SETBACK),
        side.yaw(),
    );
    pc.y = desk.size.h;
    pc.obstacle = false;
    vec![
        f.item(Label::OfficeChair, OFFICE_CHAIR, at, side.yaw() + PI),
        pc,
    ]
}

/// A rug in the middle of the room, if it leaves a walkway around it.
pub(super) fn rug(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let (w, d) = (RUG_WIDTH.draw(rng), RUG_DEPTH.draw(rng));
    let c = f.interior.center();
    let mut it = f.item(Label::Rug, size(w, RUG_HEIGHT, d), c, 0.0);
    it.obstacle = false;
    if it.footprint.inside(&f.interior.shrink(WALKWAY)) {
        f.items.push(it);
    }
}

/// Which long sides of a table get chairs; tried in this order, ten times each.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Seating {
    BothSides,
    /// In a narrow room.
    OneSide,
    /// At last the table alone.
    None,
}

const SEATINGS: [Seating; 3] = [Seating::BothSides, Seating::OneSide, Seating::None];

impl Seating {
    /// The chair rows as the sign of their local z (+1 or -1).
    fn rows(self, rng: &mut ChaCha8Rng) -> &'static [f32] {
        match self {
            Seating::BothSides => &[1.0, -1.0],
            Seating::OneSide if rng.random_bool(0.5) => &[1.0],
            Seating::OneSide => &[-1.0],
            Seating::None => &[],
        }
    }
}

/// A table near the middle of the room with chairs on its long sides (and maybe its ends), all facing it.
pub(super) fn table(rng: &mut ChaCha8Rng, f: &mut RoomFill, label: Label, table: Size) {
    let i = f.interior;
    // Long axis along the room's longer dimension.
    let yaw = if i.width() >= i.depth() {
        0.0
    } else {
        FRAC_PI_2
    };
    for seating in SEATINGS {
        for _ in 0..10 {
            let group = table_with_chairs(rng, f, label, table, yaw, seating);
            // Keep a walkway around the whole group (the connectivity check has the last word).
            if bounding_box(&group).inside(&i.shrink(WALKWAY)) && f.try_add(group, TABLE_CLEARANCE)
            {
                return;
            }
        }
    }
}

/// One try at a table group: the table at a random spot near the room's centre, then its chairs.
fn table_with_chairs(
    rng: &mut ChaCha8Rng,
    f: &RoomFill,
    label: Label,
    table: Size,
    yaw: f32,
    seating: Seating,
) -> Vec<Item> {
    let (c, s) = (yaw.cos(), yaw.sin());
    // Local (x, z) of the table frame to plan coordinates.
    let to_plan =
        |at: [f32; 2], lx: f32, lz: f32| [at[0] + c * lx + s * lz, at[1] - s * lx + c * lz];
    let centre = f.interior.center();
    let at = [
        centre[0] + rng.random_range(-TABLE_JITTER..TABLE_JITTER),
        centre[1] + rng.random_range(-TABLE_JITTER..TABLE_JITTER),
    ];
    let at = [(at[0] * 20.0).round() / 20.0, (at[1] * 20.0).round() / 20.0];
    let mut group = vec![f.item(label, table, at, yaw)];
    let per_side = ((table.w / CHAIR_PITCH).floor() as usize).clamp(1, 3);
    let off = table.d / 2.0 + CHAIR_GAP + CHAIR.d / 2.0;
    let rows = seating.rows(rng);
    for k in 0..per_side {
        let lx = -table.w / 2.0 + (k as f32 + 0.5) * table.w / per_side as f32;
        for &row in rows {
            // A chair faces +z in its own frame; turn it to face the table.
            let turn = if row > 0.0 { yaw + PI } else { yaw };
            group.push(f.item(Label::Chair, CHAIR, to_plan(at, lx, row * off), turn));
        }
    }
    if seating == Seating::BothSides && table.w >= HEAD_CHAIRS_MIN_WIDTH && rng.random_bool(0.5) {
        let off = table.w / 2.0 + CHAIR_GAP + CHAIR.d / 2.0;
        group.push(f.item(Label::Chair, CHAIR, to_plan(at, off, 0.0), yaw - FRAC_PI_2));
        group.push(f.item(Label::Chair, CHAIR, to_plan(at, -off, 0.0), yaw + FRAC_PI_2));
    }
    group
}

/// The world-aligned box around the footprints of a group.
fn bounding_box(group: &[Item]) -> Rect {
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
    bbox
}
