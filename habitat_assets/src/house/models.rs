//! Furniture and landmark models built from boxes, cylinders and ellipsoids.
//!
//! Every model lives in its own frame: footprint `w` (along x) by `d` (along z) centred on the origin, the
//! floor at y = 0, the back at z = -d/2 (against the wall) and the front facing +z. Models stay inside
//! their `w x h x d` box, which is what the metadata reports.

use super::geom::Geom;
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
            1.0,
            true,
        );
    }
}

fn slab(g: &mut Geom, m: usize, w: f32, d: f32, y0: f32, y1: f32) {
    g.cuboid(
        m,
        [-w / 2.0, y0, -d / 2.0],
        [w / 2.0, y1, d / 2.0],
        1.0,
        y0 <= 0.0,
    );
}

/// Builds the model for `label` at size `s`. Unknown labels get a plain box (never reached by the
/// generator, which only asks for labels listed here).
pub fn build(label: &str, s: Size, mats: &mut Materials, g: &mut Geom) {
    let Size { w, h, d } = s;
    match label {
        "bed" => {
            let frame = mats.get(Surface::Wood);
            let sheet = mats.get(Surface::Bedding);
            let white = mats.get(Surface::White);
            slab(g, frame, w, d, 0.0, 0.3);
            g.cuboid(
                sheet,
                [-w / 2.0 + 0.03, 0.3, -d / 2.0 + 0.08],
                [w / 2.0 - 0.03, 0.52, d / 2.0 - 0.02],
                1.0,
                true,
            );
            g.cuboid(
                frame,
                [-w / 2.0, 0.0, -d / 2.0],
                [w / 2.0, h, -d / 2.0 + 0.08],
                1.0,
                true,
            );
            let n = if w > 1.2 { 2 } else { 1 };
            let pw = (w - 0.2) / n as f32 - 0.05;
            for i in 0..n {
                let x0 = -w / 2.0 + 0.1 + i as f32 * (pw + 0.05);
                g.cuboid(
                    white,
                    [x0, 0.52, -d / 2.0 + 0.12],
                    [x0 + pw, 0.64, -d / 2.0 + 0.5],
                    1.0,
                    true,
                );
            }
        }
        "nightstand" | "dresser" | "sideboard" | "filing cabinet" | "tv stand" => {
            let body = mats.get(if label == "filing cabinet" {
                Surface::Metal
            } else {
                Surface::Wood
            });
            let knob = mats.get(Surface::Metal);
            slab(g, body, w, d, 0.0, h);
            let drawers = ((h / 0.3).floor() as usize).clamp(1, 4);
            for i in 0..drawers {
                let y = h * (i as f32 + 0.5) / drawers as f32;
                g.cuboid(
                    knob,
                    [-0.04, y - 0.015, d / 2.0],
                    [0.04, y + 0.015, d / 2.0 + 0.02],
                    1.0,
                    false,
                );
            }
        }
        "wardrobe" => {
            let body = mats.get(Surface::Wood);
            let knob = mats.get(Surface::Metal);
            slab(g, body, w, d, 0.0, h);
            g.cuboid(
                knob,
                [-0.004, 0.1, d / 2.0],
                [0.004, h - 0.1, d / 2.0 + 0.01],
                1.0,
                false,
            );
            for x in [-0.06, 0.06] {
                g.cuboid(
                    knob,
                    [x - 0.01, h * 0.5 - 0.1, d / 2.0],
                    [x + 0.01, h * 0.5 + 0.1, d / 2.0 + 0.03],
                    1.0,
                    false,
                );
            }
        }
        "sofa" | "armchair" => {
            let fabric = mats.get(Surface::Fabric);
            let cushion = mats.get(Surface::FabricAccent);
            let arm = 0.18;
            slab(g, fabric, w, d, 0.0, 0.42);
            g.cuboid(
                fabric,
                [-w / 2.0, 0.0, -d / 2.0],
                [w / 2.0, h, -d / 2.0 + 0.2],
                1.0,
                true,
            );
            for sx in [-1.0f32, 1.0] {
                let x = sx * (w / 2.0 - arm / 2.0);
                g.cuboid(
                    fabric,
                    [x - arm / 2.0, 0.0, -d / 2.0],
                    [x + arm / 2.0, 0.62, d / 2.0],
                    1.0,
                    true,
                );
            }
            let seats = if label == "sofa" {
                ((w - 2.0 * arm) / 0.65).floor().max(1.0) as usize
            } else {
                1
            };
            let sw = (w - 2.0 * arm) / seats as f32;
            for i in 0..seats {
                let x0 = -w / 2.0 + arm + i as f32 * sw;
                g.cuboid(
                    cushion,
                    [x0 + 0.02, 0.42, -d / 2.0 + 0.2],
                    [x0 + sw - 0.02, 0.52, d / 2.0 - 0.03],
                    1.0,
                    true,
                );
            }
        }
        "coffee table" | "side table" | "dining table" | "kitchen table" | "desk" => {
            let top = mats.get(if label == "desk" {
                Surface::LightWood
            } else {
                Surface::Wood
            });
            slab(g, top, w, d, h - 0.04, h);
            legs(g, top, w, d, h - 0.04, 0.05);
        }
        "chair" | "office chair" => {
            let frame = mats.get(if label == "chair" {
                Surface::Wood
            } else {
                Surface::Dark
            });
            let seat = mats.get(Surface::FabricAccent);
            if label == "chair" {
                legs(g, frame, w, d, 0.43, 0.04);
            } else {
                g.cylinder(frame, [0.0, 0.0, 0.0], w / 2.0 - 0.02, 0.04, 10);
                g.cylinder(frame, [0.0, 0.04, 0.0], 0.03, 0.4, 8);
            }
            slab(g, seat, w, d, 0.43, 0.48);
            // The back is at -z (the chair faces +z, like every model).
            g.cuboid(
                frame,
                [-w / 2.0, 0.48, -d / 2.0],
                [w / 2.0, h, -d / 2.0 + 0.05],
                1.0,
                false,
            );
        }
        "tv" => {
            let stand = mats.get(Surface::Wood);
            let screen = mats.get(Surface::Screen);
            let frame = mats.get(Surface::Dark);
            slab(g, stand, w, d, 0.0, 0.5);
            let sw = w * 0.8;
            g.cuboid(frame, [-0.05, 0.5, -0.05], [0.05, 0.58, 0.05], 1.0, false);
            g.cuboid(
                frame,
                [-sw / 2.0, 0.58, -0.04],
                [sw / 2.0, h, 0.0],
                1.0,
                false,
            );
            g.quad(
                screen,
                [-sw / 2.0 + 0.03, 0.61, 0.001],
                [sw - 0.06, 0.0, 0.0],
                [0.0, h - 0.64, 0.0],
                1.0,
            );
        }
        "bookshelf" | "shelf" => {
            let body = mats.get(Surface::Wood);
            let books = mats.get(Surface::Books);
            let t = 0.03;
            g.cuboid(
                body,
                [-w / 2.0, 0.0, -d / 2.0],
                [w / 2.0, h, -d / 2.0 + t],
                1.0,
                true,
            );
            for sx in [-1.0f32, 1.0] {
                let x = sx * (w / 2.0 - t / 2.0);
                g.cuboid(
                    body,
                    [x - t / 2.0, 0.0, -d / 2.0],
                    [x + t / 2.0, h, d / 2.0],
                    1.0,
                    true,
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
                    1.0,
                    i == 0,
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
        "plant" => {
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
        "floor lamp" => {
            let metal = mats.get(Surface::Dark);
            let shade = mats.get(Surface::Shade);
            g.cylinder(metal, [0.0, 0.0, 0.0], w / 2.0 * 0.7, 0.03, 12);
            g.cylinder(metal, [0.0, 0.03, 0.0], 0.015, h - 0.35, 6);
            g.cylinder(shade, [0.0, h - 0.35, 0.0], w / 2.0, 0.35, 16);
        }
        "fridge" => {
            let body = mats.get(Surface::Appliance);
            let handle = mats.get(Surface::Metal);
            slab(g, body, w, d, 0.0, h);
            g.cuboid(
                handle,
                [w / 2.0 - 0.1, h * 0.45, d / 2.0],
                [w / 2.0 - 0.07, h * 0.85, d / 2.0 + 0.04],
                1.0,
                false,
            );
            g.cuboid(
                handle,
                [w / 2.0 - 0.1, h * 0.15, d / 2.0],
                [w / 2.0 - 0.07, h * 0.35, d / 2.0 + 0.04],
                1.0,
                false,
            );
            g.cuboid(
                handle,
                [-w / 2.0, h * 0.4 - 0.005, d / 2.0],
                [w / 2.0, h * 0.4 + 0.005, d / 2.0 + 0.005],
                1.0,
                false,
            );
        }
        "stove" => {
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
        "counter" => {
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
                    1.0,
                    false,
                );
            }
        }
        "sink" => {
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
                1.0,
                false,
            );
        }
        "bathtub" => {
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
        "toilet" => {
            let ceramic = mats.get(Surface::Ceramic);
            g.cuboid(
                ceramic,
                [-w / 2.0, 0.0, -d / 2.0],
                [w / 2.0, h, -d / 2.0 + 0.2],
                1.0,
                true,
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
        "washing machine" | "dryer" => {
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
        "trash can" | "laundry basket" => {
            let m = mats.get(if label == "trash can" {
                Surface::Metal
            } else {
                Surface::Basket
            });
            g.cylinder(m, [0.0, 0.0, 0.0], w / 2.0, h, 14);
        }
        "coat rack" => {
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
        "bench" => {
            let wood = mats.get(Surface::Wood);
            slab(g, wood, w, d, h - 0.05, h);
            legs(g, wood, w, d, h - 0.05, 0.05);
        }
        "rug" => slab(g, mats.get(Surface::Rug), w, d, 0.0, h),
        "staircase" | "railing" => {
            // Built by the architecture pass; a model is never requested for these.
            slab(g, mats.get(Surface::Wood), w, d, 0.0, h);
        }
        // Wall-mounted landmarks: thin boxes whose front faces +z.
        "painting" => {
            let frame = mats.get(Surface::Dark);
            let canvas = mats.get(Surface::Canvas);
            g.cuboid(
                frame,
                [-w / 2.0, 0.0, -d / 2.0],
                [w / 2.0, h, d / 2.0 - 0.005],
                1.0,
                false,
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
        "window" => {
            let frame = mats.get(Surface::White);
            let glass = mats.get(Surface::Glass);
            g.cuboid(
                frame,
                [-w / 2.0, 0.0, -d / 2.0],
                [w / 2.0, h, d / 2.0 - 0.01],
                1.0,
                false,
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
        "mirror" => {
            let frame = mats.get(Surface::Metal);
            let glass = mats.get(Surface::Mirror);
            g.cuboid(
                frame,
                [-w / 2.0, 0.0, -d / 2.0],
                [w / 2.0, h, d / 2.0 - 0.005],
                1.0,
                false,
            );
            g.quad(
                glass,
                [-w / 2.0 + 0.03, 0.03, d / 2.0],
                [w - 0.06, 0.0, 0.0],
                [0.0, h - 0.06, 0.0],
                1.0,
            );
        }
        "clock" => {
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
                1.0,
                false,
            );
            g.cuboid(
                dark,
                [0.0, h / 2.0 - 0.006, d / 2.0],
                [w * 0.22, h / 2.0 + 0.006, d / 2.0 + 0.003],
                1.0,
                false,
            );
        }
        "front door" => {
            let wood = mats.get(Surface::Door);
            let knob = mats.get(Surface::Metal);
            slab(g, wood, w, d, 0.0, h);
            g.cuboid(
                knob,
                [w / 2.0 - 0.12, 1.0, d / 2.0],
                [w / 2.0 - 0.08, 1.04, d / 2.0 + 0.05],
                1.0,
                false,
            );
        }
        "computer" => {
            let dark = mats.get(Surface::Dark);
            let screen = mats.get(Surface::Screen);
            g.cuboid(dark, [-0.1, 0.0, -0.08], [0.1, 0.02, 0.08], 1.0, false);
            g.cuboid(dark, [-0.02, 0.02, -0.02], [0.02, 0.12, 0.02], 1.0, false);
            g.cuboid(dark, [-w / 2.0, 0.12, -0.03], [w / 2.0, h, 0.0], 1.0, false);
            g.quad(
                screen,
                [-w / 2.0 + 0.02, 0.14, 0.001],
                [w - 0.04, 0.0, 0.0],
                [0.0, h - 0.16, 0.0],
                1.0,
            );
        }
        _ => slab(g, mats.get(Surface::White), w, d, 0.0, h),
    }
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
