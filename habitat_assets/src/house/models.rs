//! Furniture and landmark models built from boxes, cylinders and ellipsoids.
//!
//! Every model lives in its own frame: footprint `w` (along x) by `d` (along z) centred on the origin, the
//! floor at y = 0, the back at z = -d/2 (against the wall) and the front facing +z. Models stay inside
//! their `w x h x d` box, which is what the metadata reports.

use super::geom::{Bottom, Geom};
use super::label::Label;
use super::materials::{Materials, Surface};

/// Size of a model's box: width (x), height (y), depth (z).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    pub w: f32,
    pub h: f32,
    pub d: f32,
}

fn legs(g: &mut Geom, m: usize, w: f32, d: f32, h: f32, t: f32) {
    for (sx, sz) in [(-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0), (1.0, 1.0)] {
        let (cx, cz) = (sx * (w / 2.0 - t / 2.0), sz * (d / 2.0 - t / 2.0));
        g.cuboid(
            m,
            [cx - t / 2.0, 0.0, cz - t / 2.0],
            [cx + t / 2.0, h, cz + t / 2.0],
            Bottom::Hidden,
        );
    }
}

/// A full-footprint box from `y0` to `y1`; its bottom is hidden when it stands on the floor.
fn slab(g: &mut Geom, m: usize, w: f32, d: f32, y0: f32, y1: f32) {
    let bottom = if y0 <= 0.0 {
        Bottom::Hidden
    } else {
        Bottom::Drawn
    };
    g.cuboid(m, [-w / 2.0, y0, -d / 2.0], [w / 2.0, y1, d / 2.0], bottom);
}

/// Builds the model for `label` at size `s`.
pub fn build(label: Label, s: Size, mats: &mut Materials, g: &mut Geom) {
    match label {
        Label::Bed => bed(s, mats, g),
        Label::Nightstand | Label::Dresser | Label::Sideboard | Label::TvStand => {
            cabinet(s, Surface::Wood, mats, g)
        }
        Label::FilingCabinet => cabinet(s, Surface::Metal, mats, g),
        Label::Wardrobe => wardrobe(s, mats, g),
        Label::Sofa => seating(s, Seats::PerWidth, mats, g),
        Label::Armchair => seating(s, Seats::One, mats, g),
        Label::CoffeeTable | Label::SideTable | Label::DiningTable | Label::KitchenTable => {
            table(s, Surface::Wood, mats, g)
        }
        Label::Desk => table(s, Surface::LightWood, mats, g),
        Label::Chair => chair(s, mats, g),
        Label::OfficeChair => office_chair(s, mats, g),
        Label::Tv => tv(s, mats, g),
        Label::Bookshelf | Label::Shelf => bookshelf(s, mats, g),
        Label::Plant => plant(s, mats, g),
        Label::FloorLamp => floor_lamp(s, mats, g),
        Label::Fridge => fridge(s, mats, g),
        Label::Stove => stove(s, mats, g),
        Label::Counter => counter(s, mats, g),
        Label::Sink => sink(s, mats, g),
        Label::Bathtub => bathtub(s, mats, g),
        Label::Toilet => toilet(s, mats, g),
        Label::WashingMachine | Label::Dryer => laundry_machine(s, mats, g),
        Label::TrashCan => round_bin(s, Surface::Metal, mats, g),
        Label::LaundryBasket => round_bin(s, Surface::Basket, mats, g),
        Label::CoatRack => coat_rack(s, mats, g),
        Label::Bench => bench(s, mats, g),
        Label::Rug => block(s, Surface::Rug, mats, g),
        // Built by the architecture pass; a model is never requested for these.
        Label::Staircase | Label::Railing => block(s, Surface::Wood, mats, g),
        // Wall-mounted landmarks: thin boxes whose front faces +z.
        Label::Painting => painting(s, mats, g),
        Label::Window => window(s, mats, g),
        Label::Mirror => mirror(s, mats, g),
        Label::Clock => clock(s, mats, g),
        Label::FrontDoor => front_door(s, mats, g),
        Label::Computer => computer(s, mats, g),
    }
}

/// How many seat cushions a sofa-like model gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seats {
    One,
    /// One per 0.65 m of width between the arms.
    PerWidth,
}

/// The model's whole box in one surface.
fn block(s: Size, surface: Surface, mats: &mut Materials, g: &mut Geom) {
    slab(g, mats.get(surface), s.w, s.d, 0.0, s.h);
}

fn bed(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let frame = mats.get(Surface::Wood);
    let sheet = mats.get(Surface::Bedding);
    let white = mats.get(Surface::White);
    slab(g, frame, w, d, 0.0, 0.3);
    g.cuboid(
        sheet,
        [-w / 2.0 + 0.03, 0.3, -d / 2.0 + 0.08],
        [w / 2.0 - 0.03, 0.52, d / 2.0 - 0.02],
        Bottom::Hidden,
    );
    g.cuboid(
        frame,
        [-w / 2.0, 0.0, -d / 2.0],
        [w / 2.0, h, -d / 2.0 + 0.08],
        Bottom::Hidden,
    );
    let n = if w > 1.2 { 2 } else { 1 };
    let pw = (w - 0.2) / n as f32 - 0.05;
    for i in 0..n {
        let x0 = -w / 2.0 + 0.1 + i as f32 * (pw + 0.05);
        g.cuboid(
            white,
            [x0, 0.52, -d / 2.0 + 0.12],
            [x0 + pw, 0.64, -d / 2.0 + 0.5],
            Bottom::Hidden,
        );
    }
}

/// A box of drawers with one knob per drawer.
fn cabinet(s: Size, surface: Surface, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let body = mats.get(surface);
    let knob = mats.get(Surface::Metal);
    slab(g, body, w, d, 0.0, h);
    let drawers = ((h / 0.3).floor() as usize).clamp(1, 4);
    for i in 0..drawers {
        let y = h * (i as f32 + 0.5) / drawers as f32;
        g.cuboid(
            knob,
            [-0.04, y - 0.015, d / 2.0],
            [0.04, y + 0.015, d / 2.0 + 0.02],
            Bottom::Drawn,
        );
    }
}

fn wardrobe(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let body = mats.get(Surface::Wood);
    let knob = mats.get(Surface::Metal);
    slab(g, body, w, d, 0.0, h);
    g.cuboid(
        knob,
        [-0.004, 0.1, d / 2.0],
        [0.004, h - 0.1, d / 2.0 + 0.01],
        Bottom::Drawn,
    );
    for x in [-0.06, 0.06] {
        g.cuboid(
            knob,
            [x - 0.01, h * 0.5 - 0.1, d / 2.0],
            [x + 0.01, h * 0.5 + 0.1, d / 2.0 + 0.03],
            Bottom::Drawn,
        );
    }
}

/// A sofa or armchair: base, back, two arms and cushions.
fn seating(s: Size, seats: Seats, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let fabric = mats.get(Surface::Fabric);
    let cushion = mats.get(Surface::FabricAccent);
    let arm = 0.18;
    slab(g, fabric, w, d, 0.0, 0.42);
    g.cuboid(
        fabric,
        [-w / 2.0, 0.0, -d / 2.0],
        [w / 2.0, h, -d / 2.0 + 0.2],
        Bottom::Hidden,
    );
    for sx in [-1.0f32, 1.0] {
        let x = sx * (w / 2.0 - arm / 2.0);
        g.cuboid(
            fabric,
            [x - arm / 2.0, 0.0, -d / 2.0],
            [x + arm / 2.0, 0.62, d / 2.0],
            Bottom::Hidden,
        );
    }
    let seats = match seats {
        Seats::PerWidth => ((w - 2.0 * arm) / 0.65).floor().max(1.0) as usize,
        Seats::One => 1,
    };
    let sw = (w - 2.0 * arm) / seats as f32;
    for i in 0..seats {
        let x0 = -w / 2.0 + arm + i as f32 * sw;
        g.cuboid(
            cushion,
            [x0 + 0.02, 0.42, -d / 2.0 + 0.2],
            [x0 + sw - 0.02, 0.52, d / 2.0 - 0.03],
            Bottom::Hidden,
        );
    }
}

fn table(s: Size, surface: Surface, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let top = mats.get(surface);
    slab(g, top, w, d, h - 0.04, h);
    legs(g, top, w, d, h - 0.04, 0.05);
}

/// A dining chair: four wooden legs under the seat.
fn chair(s: Size, mats: &mut Materials, g: &mut Geom) {
    let frame = mats.get(Surface::Wood);
    let seat = mats.get(Surface::FabricAccent);
    legs(g, frame, s.w, s.d, 0.43, 0.04);
    seat_and_back(s, frame, seat, g);
}

/// An office chair: a round foot and a column under the seat.
fn office_chair(s: Size, mats: &mut Materials, g: &mut Geom) {
    let frame = mats.get(Surface::Dark);
    let seat = mats.get(Surface::FabricAccent);
    g.cylinder(frame, [0.0, 0.0, 0.0], s.w / 2.0 - 0.02, 0.04, 10);
    g.cylinder(frame, [0.0, 0.04, 0.0], 0.03, 0.4, 8);
    seat_and_back(s, frame, seat, g);
}

fn seat_and_back(s: Size, frame: usize, seat: usize, g: &mut Geom) {
    let Size { w, h, d } = s;
    slab(g, seat, w, d, 0.43, 0.48);
    // The back is at -z (the chair faces +z, like every model).
    g.cuboid(
        frame,
        [-w / 2.0, 0.48, -d / 2.0],
        [w / 2.0, h, -d / 2.0 + 0.05],
        Bottom::Drawn,
    );
}

fn tv(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let stand = mats.get(Surface::Wood);
    let screen = mats.get(Surface::Screen);
    let frame = mats.get(Surface::Dark);
    slab(g, stand, w, d, 0.0, 0.5);
    let sw = w * 0.8;
    g.cuboid(
        frame,
        [-0.05, 0.5, -0.05],
        [0.05, 0.58, 0.05],
        Bottom::Drawn,
    );
    g.cuboid(
        frame,
        [-sw / 2.0, 0.58, -0.04],
        [sw / 2.0, h, 0.0],
        Bottom::Drawn,
    );
    g.quad(
        screen,
        [-sw / 2.0 + 0.03, 0.61, 0.001],
        [sw - 0.06, 0.0, 0.0],
        [0.0, h - 0.64, 0.0],
        1.0,
    );
}

fn bookshelf(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let body = mats.get(Surface::Wood);
    let books = mats.get(Surface::Books);
    let t = 0.03;
    g.cuboid(
        body,
        [-w / 2.0, 0.0, -d / 2.0],
        [w / 2.0, h, -d / 2.0 + t],
        Bottom::Hidden,
    );
    for sx in [-1.0f32, 1.0] {
        let x = sx * (w / 2.0 - t / 2.0);
        g.cuboid(
            body,
            [x - t / 2.0, 0.0, -d / 2.0],
            [x + t / 2.0, h, d / 2.0],
            Bottom::Hidden,
        );
    }
    let shelves = ((h / 0.38).floor() as usize).max(2);
    let gap = h / shelves as f32;
    for i in 0..=shelves {
        let y = (i as f32 * gap).min(h - t);
        g.cuboid(
            body,
            [-w / 2.0 + t, y, -d / 2.0 + t],
            [w / 2.0 - t, y + t, d / 2.0],
            if i == 0 {
                Bottom::Hidden
            } else {
                Bottom::Drawn
            },
        );
        if i < shelves {
            // A row of books of varying height and color (vertex colors exercise COLOR_0).
            let mut x = -w / 2.0 + t + 0.01;
            let mut k = 0u32;
            while x + 0.05 < w / 2.0 - t - 0.15 {
                let bw = 0.03 + 0.02 * ((k * 7 + i as u32 * 3) % 5) as f32 / 4.0;
                let bh = gap * (0.55 + 0.3 * ((k * 5 + i as u32) % 4) as f32 / 3.0);
                let c = BOOK_COLORS[((k + i as u32 * 2) as usize) % BOOK_COLORS.len()];
                g.cuboid_colored(
                    books,
                    [x, y + t, -d / 2.0 + t + 0.02],
                    [x + bw, y + t + bh, d / 2.0 - 0.03],
                    c,
                );
                x += bw + 0.004;
                k += 1;
            }
        }
    }
}

fn plant(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let pot = mats.get(Surface::Pot);
    let leaves = mats.get(Surface::Leaves);
    let r = w.min(d) / 2.0;
    g.cylinder(pot, [0.0, 0.0, 0.0], r * 0.55, h * 0.3, 12);
    g.cylinder(pot, [0.0, h * 0.3, 0.0], 0.02, h * 0.2, 6);
    g.ellipsoid(
        leaves,
        [0.0, h * 0.68, 0.0],
        [r, h * 0.32, r],
        6,
        10,
        Some([0.25, 0.55, 0.22, 1.0]),
    );
}

fn floor_lamp(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, .. } = s;
    let metal = mats.get(Surface::Dark);
    let shade = mats.get(Surface::Shade);
    g.cylinder(metal, [0.0, 0.0, 0.0], w / 2.0 * 0.7, 0.03, 12);
    g.cylinder(metal, [0.0, 0.03, 0.0], 0.015, h - 0.35, 6);
    g.cylinder(shade, [0.0, h - 0.35, 0.0], w / 2.0, 0.35, 16);
}

fn fridge(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let body = mats.get(Surface::Appliance);
    let handle = mats.get(Surface::Metal);
    slab(g, body, w, d, 0.0, h);
    g.cuboid(
        handle,
        [w / 2.0 - 0.1, h * 0.45, d / 2.0],
        [w / 2.0 - 0.07, h * 0.85, d / 2.0 + 0.04],
        Bottom::Drawn,
    );
    g.cuboid(
        handle,
        [w / 2.0 - 0.1, h * 0.15, d / 2.0],
        [w / 2.0 - 0.07, h * 0.35, d / 2.0 + 0.04],
        Bottom::Drawn,
    );
    g.cuboid(
        handle,
        [-w / 2.0, h * 0.4 - 0.005, d / 2.0],
        [w / 2.0, h * 0.4 + 0.005, d / 2.0 + 0.005],
        Bottom::Drawn,
    );
}

fn stove(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let body = mats.get(Surface::Appliance);
    let dark = mats.get(Surface::Dark);
    slab(g, body, w, d, 0.0, h);
    for (x, z) in [(-0.15, -0.12), (0.15, -0.12), (-0.15, 0.12), (0.15, 0.12)] {
        g.cylinder(dark, [x * w / 0.6, h, z * d / 0.6], 0.09, 0.01, 12);
    }
    g.quad(
        dark,
        [-w / 2.0 + 0.08, 0.15, d / 2.0 + 0.001],
        [w - 0.16, 0.0, 0.0],
        [0.0, 0.45, 0.0],
        1.0,
    );
}

fn counter(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let cabinet = mats.get(Surface::Cabinet);
    let top = mats.get(Surface::Counter);
    let knob = mats.get(Surface::Metal);
    slab(g, cabinet, w - 0.02, d - 0.04, 0.0, h - 0.04);
    slab(g, top, w, d, h - 0.04, h);
    let doors = ((w / 0.5).round() as usize).max(1);
    for i in 0..doors {
        let x = -w / 2.0 + (i as f32 + 0.5) * w / doors as f32;
        g.cuboid(
            knob,
            [x - 0.05, h - 0.2, d / 2.0 - 0.02],
            [x + 0.05, h - 0.18, d / 2.0],
            Bottom::Drawn,
        );
    }
}

fn sink(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let cabinet = mats.get(Surface::Cabinet);
    let ceramic = mats.get(Surface::Ceramic);
    let metal = mats.get(Surface::Metal);
    let dark = mats.get(Surface::Dark);
    slab(g, cabinet, w - 0.02, d - 0.04, 0.0, h - 0.04);
    slab(g, ceramic, w, d, h - 0.04, h);
    g.quad(
        dark,
        [-w * 0.3, h + 0.001, d * 0.25],
        [w * 0.6, 0.0, 0.0],
        [0.0, 0.0, -d * 0.5],
        1.0,
    );
    g.cylinder(metal, [0.0, h, -d / 2.0 + 0.06], 0.015, 0.25, 6);
    g.cuboid(
        metal,
        [-0.015, h + 0.22, -d / 2.0 + 0.05],
        [0.015, h + 0.25, -d / 2.0 + 0.2],
        Bottom::Drawn,
    );
}

fn bathtub(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let ceramic = mats.get(Surface::Ceramic);
    let water = mats.get(Surface::Water);
    slab(g, ceramic, w, d, 0.0, h);
    g.quad(
        water,
        [-w / 2.0 + 0.08, h + 0.001, d / 2.0 - 0.08],
        [w - 0.16, 0.0, 0.0],
        [0.0, 0.0, -(d - 0.16)],
        1.0,
    );
}

fn toilet(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let ceramic = mats.get(Surface::Ceramic);
    g.cuboid(
        ceramic,
        [-w / 2.0, 0.0, -d / 2.0],
        [w / 2.0, h, -d / 2.0 + 0.2],
        Bottom::Hidden,
    );
    g.cylinder(ceramic, [0.0, 0.0, 0.05], w * 0.35, 0.4, 14);
    g.ellipsoid(
        ceramic,
        [0.0, 0.4, 0.05],
        [w / 2.0, 0.03, d / 2.0 - 0.1],
        4,
        14,
        None,
    );
}

fn laundry_machine(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let body = mats.get(Surface::Appliance);
    let dark = mats.get(Surface::Dark);
    slab(g, body, w, d, 0.0, h);
    g.cylinder_along(
        dark,
        [0.0, h * 0.45, d / 2.0],
        [0.0, 0.0, 0.02],
        w * 0.3,
        16,
    );
}

fn round_bin(s: Size, surface: Surface, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, .. } = s;
    let m = mats.get(surface);
    g.cylinder(m, [0.0, 0.0, 0.0], w / 2.0, h, 14);
}

fn coat_rack(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, .. } = s;
    let wood = mats.get(Surface::Wood);
    g.cylinder(wood, [0.0, 0.0, 0.0], w / 2.0 * 0.8, 0.03, 10);
    g.cylinder(wood, [0.0, 0.0, 0.0], 0.025, h, 8);
    for a in 0..4 {
        let t = a as f32 * std::f32::consts::FRAC_PI_2;
        g.cylinder_along(
            wood,
            [0.0, h - 0.15, 0.0],
            [0.2 * t.cos(), 0.1, 0.2 * t.sin()],
            0.015,
            6,
        );
    }
}

fn bench(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let wood = mats.get(Surface::Wood);
    slab(g, wood, w, d, h - 0.05, h);
    legs(g, wood, w, d, h - 0.05, 0.05);
}

fn painting(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let frame = mats.get(Surface::Dark);
    let canvas = mats.get(Surface::Canvas);
    g.cuboid(
        frame,
        [-w / 2.0, 0.0, -d / 2.0],
        [w / 2.0, h, d / 2.0 - 0.005],
        Bottom::Drawn,
    );
    // Abstract art: a few colored blocks as vertex colors.
    let cols = PAINT_COLORS;
    let n = 3;
    for i in 0..n {
        let x0 = -w / 2.0 + 0.04 + i as f32 * (w - 0.08) / n as f32;
        let c = cols[(i + (w * 10.0) as usize) % cols.len()];
        g.cuboid_colored(
            canvas,
            [x0, 0.04, d / 2.0 - 0.01],
            [x0 + (w - 0.08) / n as f32, h - 0.04, d / 2.0],
            c,
        );
    }
}

fn window(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let frame = mats.get(Surface::White);
    let glass = mats.get(Surface::Glass);
    g.cuboid(
        frame,
        [-w / 2.0, 0.0, -d / 2.0],
        [w / 2.0, h, d / 2.0 - 0.01],
        Bottom::Drawn,
    );
    // Two panes either side of a central mullion.
    let pane = w / 2.0 - 0.07;
    g.quad(
        glass,
        [-w / 2.0 + 0.05, 0.05, d / 2.0],
        [pane, 0.0, 0.0],
        [0.0, h - 0.1, 0.0],
        1.0,
    );
    g.quad(
        glass,
        [0.02, 0.05, d / 2.0],
        [pane, 0.0, 0.0],
        [0.0, h - 0.1, 0.0],
        1.0,
    );
}

fn mirror(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let frame = mats.get(Surface::Metal);
    let glass = mats.get(Surface::Mirror);
    g.cuboid(
        frame,
        [-w / 2.0, 0.0, -d / 2.0],
        [w / 2.0, h, d / 2.0 - 0.005],
        Bottom::Drawn,
    );
    g.quad(
        glass,
        [-w / 2.0 + 0.03, 0.03, d / 2.0],
        [w - 0.06, 0.0, 0.0],
        [0.0, h - 0.06, 0.0],
        1.0,
    );
}

fn clock(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let face = mats.get(Surface::White);
    let dark = mats.get(Surface::Dark);
    g.cylinder_along(
        dark,
        [0.0, h / 2.0, -d / 2.0],
        [0.0, 0.0, d - 0.005],
        w / 2.0,
        20,
    );
    g.cylinder_along(
        face,
        [0.0, h / 2.0, d / 2.0 - 0.005],
        [0.0, 0.0, 0.005],
        w / 2.0 - 0.02,
        20,
    );
    g.cuboid(
        dark,
        [-0.006, h / 2.0, d / 2.0],
        [0.006, h / 2.0 + w * 0.3, d / 2.0 + 0.003],
        Bottom::Drawn,
    );
    g.cuboid(
        dark,
        [0.0, h / 2.0 - 0.006, d / 2.0],
        [w * 0.22, h / 2.0 + 0.006, d / 2.0 + 0.003],
        Bottom::Drawn,
    );
}

fn front_door(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    let wood = mats.get(Surface::Door);
    let knob = mats.get(Surface::Metal);
    slab(g, wood, w, d, 0.0, h);
    g.cuboid(
        knob,
        [w / 2.0 - 0.12, 1.0, d / 2.0],
        [w / 2.0 - 0.08, 1.04, d / 2.0 + 0.05],
        Bottom::Drawn,
    );
}

fn computer(s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, .. } = s;
    let dark = mats.get(Surface::Dark);
    let screen = mats.get(Surface::Screen);
    g.cuboid(dark, [-0.1, 0.0, -0.08], [0.1, 0.02, 0.08], Bottom::Drawn);
    g.cuboid(
        dark,
        [-0.02, 0.02, -0.02],
        [0.02, 0.12, 0.02],
        Bottom::Drawn,
    );
    g.cuboid(
        dark,
        [-w / 2.0, 0.12, -0.03],
        [w / 2.0, h, 0.0],
        Bottom::Drawn,
    );
    g.quad(
        screen,
        [-w / 2.0 + 0.02, 0.14, 0.001],
        [w - 0.04, 0.0, 0.0],
        [0.0, h - 0.16, 0.0],
        1.0,
    );
}

const BOOK_COLORS: [[f32; 4]; 6] = [
    [0.55, 0.08, 0.08, 1.0],
    [0.08, 0.2, 0.5, 1.0],
    [0.1, 0.4, 0.15, 1.0],
    [0.75, 0.6, 0.2, 1.0],
    [0.3, 0.15, 0.35, 1.0],
    [0.85, 0.85, 0.8, 1.0],
];

const PAINT_COLORS: [[f32; 4]; 6] = [
    [0.9, 0.5, 0.1, 1.0],
    [0.1, 0.35, 0.7, 1.0],
    [0.85, 0.8, 0.2, 1.0],
    [0.7, 0.15, 0.2, 1.0],
    [0.2, 0.6, 0.5, 1.0],
    [0.95, 0.9, 0.85, 1.0],
];

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// How far small parts (knobs, handles, hooks) may stand out of a model's box.
    const PROTRUSION: f32 = 0.06;
    const TAP_HEIGHT: f32 = 0.25;

    #[test]
    fn every_landmark_label_has_a_model_inside_its_box() {
        // A square footprint: round models (chairs' feet, plants) are sized by their width.
        let s = Size {
            w: 0.7,
            h: 1.2,
            d: 0.7,
        };
        let landmarks = Label::ALL.into_iter().filter(|l| l.is_landmark());
        for label in landmarks {
            let mut mats = Materials::new(ChaCha8Rng::seed_from_u64(0));
            let mut g = Geom::new(None);
            build(label, s, &mut mats, &mut g);
            assert!(g.triangle_count() >= 12, "{label}: no model");
            let b = g.bounds();
            let (lo, hi) = ([-s.w / 2.0, 0.0, -s.d / 2.0], [s.w / 2.0, s.h, s.d / 2.0]);
            // A sink's tap stands on top of its box.
            let above = [PROTRUSION, TAP_HEIGHT, PROTRUSION];
            for k in 0..3 {
                assert!(
                    b.min[k] >= lo[k] - PROTRUSION && b.max[k] <= hi[k] + above[k],
                    "{label}: bounds {:?}..{:?} leave the {s:?} box",
                    b.min,
                    b.max
                );
            }
            // A model fills its box: it reaches its top within a few centimetres.
            assert!(b.max[1] >= s.h - PROTRUSION, "{label}: top {}", b.max[1]);
        }
    }
}
