//! What furniture each kind of room gets, as data: per [`RoomKind`] an ordered list of steps, each a
//! piece or group of furniture and the chance that it is placed. The order is part of the recipe: earlier
//! pieces get the better spots, and every random draw is made in this order (reordering changes houses).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::fill::{RoomFill, WallSpot};
use super::groups;
use super::size;
use crate::house::label::Label;
use crate::house::models::Size;
use crate::house::plan::RoomKind;

/// A room at least this wide both ways is big: room for a kitchen table, a bedroom desk, a bathtub.
const BIG_ROOM: f32 = 3.2;

/// A length in metres, drawn at random on a 5 cm grid between `lo` and `hi`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Length {
    lo: f32,
    hi: f32,
}

pub(super) const fn fixed(x: f32) -> Length {
    Length { lo: x, hi: x }
}

pub(super) const fn between(lo: f32, hi: f32) -> Length {
    Length { lo, hi }
}

impl Length {
    /// Exactly `lo`, without a draw, when the range is empty.
    pub(super) fn draw(self, rng: &mut ChaCha8Rng) -> f32 {
        if self.hi <= self.lo {
            return self.lo;
        }
        (rng.random_range(self.lo..self.hi) * 20.0).round() / 20.0
    }
}

/// The size of a model: random width and height (drawn in that order), fixed depth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct SizeRange {
    pub w: Length,
    pub h: Length,
    pub d: f32,
}

impl SizeRange {
    pub(super) fn draw(self, rng: &mut ChaCha8Rng) -> Size {
        let w = self.w.draw(rng);
        let h = self.h.draw(rng);
        size(w, h, self.d)
    }
}

/// When a step of a recipe is taken.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Chance {
    Always,
    /// With this probability.
    Maybe(f64),
    /// In big rooms only, and there with this probability.
    BigAndMaybe(f64),
    /// Always in big rooms, elsewhere with this probability.
    BigOrMaybe(f64),
}

impl Chance {
    /// Draws only when the outcome is open.
    fn roll(self, rng: &mut ChaCha8Rng, big: bool) -> bool {
        match self {
            Chance::Always => true,
            Chance::Maybe(p) => rng.random_bool(p),
            Chance::BigAndMaybe(p) => big && rng.random_bool(p),
            Chance::BigOrMaybe(p) => big || rng.random_bool(p),
        }
    }
}

/// What a step places.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Furniture {
    /// One piece against a wall.
    Piece {
        label: Label,
        size: SizeRange,
        spot: WallSpot,
    },
    /// A sofa, a coffee table in front of it and a TV on the wall it faces.
    SofaAndTv,
    /// A bed between two nightstands.
    Bed,
    /// A table in the middle of the room with chairs around it.
    Table { label: Label, size: SizeRange },
    /// A desk with an office chair and a computer.
    Desk,
    /// A sink with a mirror above it.
    SinkAndMirror,
    /// A washing machine with the dryer beside it.
    WasherAndDryer,
    /// A rug in the middle of the floor.
    Rug,
}

impl Furniture {
    fn place(self, rng: &mut ChaCha8Rng, f: &mut RoomFill) {
        match self {
            Furniture::Piece { label, size, spot } => {
                let s = size.draw(rng);
                f.place_on_wall(rng, label, s, spot, None);
            }
            Furniture::SofaAndTv => groups::sofa_and_tv(rng, f),
            Furniture::Bed => groups::bed(rng, f),
            Furniture::Table { label, size } => {
                let s = size.draw(rng);
                groups::table(rng, f, label, s);
            }
            Furniture::Desk => groups::desk(rng, f),
            Furniture::SinkAndMirror => groups::sink_and_mirror(rng, f),
            Furniture::WasherAndDryer => groups::washer_and_dryer(rng, f),
            Furniture::Rug => groups::rug(rng, f),
        }
    }
}

/// One step of a recipe.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Step {
    chance: Chance,
    furniture: Furniture,
}

const fn always(furniture: Furniture) -> Step {
    Step {
        chance: Chance::Always,
        furniture,
    }
}

const fn maybe(p: f64, furniture: Furniture) -> Step {
    Step {
        chance: Chance::Maybe(p),
        furniture,
    }
}

/// A piece of width `w`, height `h` and depth `d` against a wall.
const fn piece(label: Label, w: Length, h: Length, d: f32, spot: WallSpot) -> Furniture {
    Furniture::Piece {
        label,
        size: SizeRange { w, h, d },
        spot,
    }
}

const fn big_and_maybe(p: f64, furniture: Furniture) -> Step {
    Step {
        chance: Chance::BigAndMaybe(p),
        furniture,
    }
}

const fn big_or_maybe(p: f64, furniture: Furniture) -> Step {
    Step {
        chance: Chance::BigOrMaybe(p),
        furniture,
    }
}

/// A table of width `w`, height `h` and depth `d` with chairs.
const fn table(label: Label, w: Length, h: Length, d: f32) -> Furniture {
    Furniture::Table {
        label,
        size: SizeRange { w, h, d },
    }
}

use Label as L;
use WallSpot::{Anywhere, Corner};

// One row per step: chance, then what: a piece's label, width, height, depth and spot on the wall.

#[rustfmt::skip]
const LIVING_ROOM: &[Step] = &[
    always(Furniture::SofaAndTv),
    maybe(0.6, piece(L::Armchair,  fixed(0.85),       fixed(0.85),       0.85, Anywhere)),
    maybe(0.5, piece(L::Bookshelf, between(0.8, 1.2), between(1.6, 2.0), 0.35, Anywhere)),
    maybe(0.8, piece(L::Plant,     fixed(0.5),        between(0.9, 1.4), 0.5,  Corner)),
    maybe(0.5, piece(L::FloorLamp, fixed(0.4),        fixed(1.6),        0.4,  Corner)),
    maybe(0.4, piece(L::SideTable, fixed(0.5),        fixed(0.55),       0.5,  Corner)),
    maybe(0.6, Furniture::Rug),
];

#[rustfmt::skip]
const KITCHEN: &[Step] = &[
    always(piece(L::Counter, between(1.6, 2.6), fixed(0.9), 0.6, Anywhere)),
    always(piece(L::Fridge,  fixed(0.75),       fixed(1.8), 0.7, Anywhere)),
    always(piece(L::Stove,   fixed(0.6),        fixed(0.9), 0.6, Anywhere)),
    always(piece(L::Sink,    fixed(0.8),        fixed(0.9), 0.6, Anywhere)),
    big_and_maybe(0.6, table(L::KitchenTable, fixed(1.2), fixed(0.75), 0.8)),
    maybe(0.7, piece(L::TrashCan, fixed(0.3),  fixed(0.45),       0.3,  Corner)),
    maybe(0.3, piece(L::Plant,    fixed(0.45), between(0.8, 1.2), 0.45, Corner)),
];

#[rustfmt::skip]
const DINING_ROOM: &[Step] = &[
    always(table(L::DiningTable, between(1.4, 1.9), fixed(0.75), 0.9)),
    maybe(0.6, piece(L::Sideboard, between(1.2, 1.6), fixed(0.85),       0.45, Anywhere)),
    maybe(0.6, piece(L::Plant,     fixed(0.5),        between(0.9, 1.4), 0.5,  Corner)),
];

#[rustfmt::skip]
const BEDROOM: &[Step] = &[
    always(Furniture::Bed),
    maybe(0.8, piece(L::Wardrobe,  between(1.0, 1.6), fixed(2.0),        0.6,  Anywhere)),
    maybe(0.5, piece(L::Dresser,   between(1.0, 1.4), fixed(0.85),       0.5,  Anywhere)),
    maybe(0.4, piece(L::Plant,     fixed(0.45),       between(0.8, 1.3), 0.45, Corner)),
    maybe(0.3, piece(L::FloorLamp, fixed(0.4),        fixed(1.6),        0.4,  Corner)),
    big_and_maybe(0.3, Furniture::Desk),
    maybe(0.4, Furniture::Rug),
];

#[rustfmt::skip]
const BATHROOM: &[Step] = &[
    big_or_maybe(0.6, piece(L::Bathtub, between(1.5, 1.7), fixed(0.55), 0.75, Corner)),
    always(piece(L::Toilet, fixed(0.4), fixed(0.75), 0.65, Anywhere)),
    always(Furniture::SinkAndMirror),
    maybe(0.5, piece(L::TrashCan, fixed(0.3), fixed(0.4), 0.3, Corner)),
];

#[rustfmt::skip]
const OFFICE: &[Step] = &[
    always(Furniture::Desk),
    maybe(0.9, piece(L::Bookshelf,     between(0.8, 1.2), between(1.6, 2.0), 0.35, Anywhere)),
    maybe(0.6, piece(L::FilingCabinet, fixed(0.45),       fixed(1.0),        0.6,  Corner)),
    maybe(0.6, piece(L::Plant,         fixed(0.45),       between(0.8, 1.3), 0.45, Corner)),
    maybe(0.4, piece(L::FloorLamp,     fixed(0.4),        fixed(1.6),        0.4,  Corner)),
    maybe(0.3, piece(L::Armchair,      fixed(0.85),       fixed(0.85),       0.85, Anywhere)),
];

#[rustfmt::skip]
const LAUNDRY_ROOM: &[Step] = &[
    always(Furniture::WasherAndDryer),
    maybe(0.7, piece(L::Shelf,         fixed(0.9),  fixed(1.8),  0.35, Anywhere)),
    maybe(0.7, piece(L::LaundryBasket, fixed(0.45), fixed(0.5),  0.45, Corner)),
    maybe(0.4, piece(L::Sink,          fixed(0.6),  fixed(0.85), 0.45, Anywhere)),
];

#[rustfmt::skip]
const HALLWAY: &[Step] = &[
    maybe(0.6, piece(L::Plant,     fixed(0.45), between(0.9, 1.3), 0.45, Corner)),
    maybe(0.5, piece(L::SideTable, fixed(0.5),  fixed(0.7),        0.4,  Anywhere)),
    maybe(0.4, piece(L::CoatRack,  fixed(0.45), fixed(1.75),       0.45, Corner)),
    maybe(0.3, piece(L::Bench,     fixed(1.0),  fixed(0.45),       0.4,  Anywhere)),
];

fn recipe(kind: RoomKind) -> &'static [Step] {
    match kind {
        RoomKind::LivingRoom => LIVING_ROOM,
        RoomKind::Kitchen => KITCHEN,
        RoomKind::DiningRoom => DINING_ROOM,
        RoomKind::Bedroom => BEDROOM,
        RoomKind::Bathroom => BATHROOM,
        RoomKind::Office => OFFICE,
        RoomKind::LaundryRoom => LAUNDRY_ROOM,
        RoomKind::Hallway => HALLWAY,
    }
}

/// Places the furniture of the room's recipe.
pub(super) fn furnish_room(rng: &mut ChaCha8Rng, f: &mut RoomFill) {
    let big = f.interior.width().min(f.interior.depth()) >= BIG_ROOM;
    for step in recipe(f.plan.rooms[f.room].kind) {
        if step.chance.roll(rng, big) {
            step.furniture.place(rng, f);
        }
    }
}
