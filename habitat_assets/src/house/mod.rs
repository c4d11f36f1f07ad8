//! Procedural houses: a deterministic function from a seed to a `.glb` mesh and its [`SceneMeta`].
//!
//! The file is an ordinary glTF scene built the way real scans are (a node tree with transforms, many
//! meshes and primitives, embedded PNG textures, some vertex colors), so loading it exercises the same
//! code path as a Matterport3D `.glb`. Node tree: `level_N` (translated to the floor height) ->
//! `room <name>` (translated to the room centre; floor and walls) -> one node per object (translated and
//! turned about +Y; meshes shared between identical objects), plus doorways, ceilings, stairs and the
//! outer shell.

mod furnish;
mod geom;
mod label;
mod materials;
mod models;
mod plan;
mod textures;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::AssetError;
use crate::meta::{
    DoorMeta, LevelMeta, ObjectMeta, RoomMeta, SceneMeta, StairsMeta, META_FORMAT_VERSION,
};
use crate::scene::Aabb;
use crate::write::NodeTransform;
use furnish::Item;
use geom::{Bottom, Geom};
use materials::{Materials, Surface, WALL_PAINTS};
use plan::{Plan, Rect, RoomKind, DOOR_HEIGHT};
use textures::Pattern;

pub use furnish::{walkable_connected, AGENT_RADIUS};
pub use label::{Label, UnknownLabel};
pub use plan::Rect as PlanRect;

/// Options that change the generated file beyond the seed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HouseOptions {
    /// Tessellate floors, walls and ceilings until the scene has about this many triangles (benchmarks).
    pub dense_triangles: Option<usize>,
}

/// What loading the generated file must give back: the generator's own count of what it wrote.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expected {
    pub triangles: usize,
    pub vertices: usize,
    pub bounds: Aabb,
}

/// A generated house: its file bytes, its metadata and the expected load result.
#[derive(Debug, Clone)]
pub struct House {
    pub name: String,
    pub glb: Vec<u8>,
    pub meta: SceneMeta,
    pub expected: Expected,
}

/// Houses whose seed is 2 mod 3 have a second storey.
pub fn is_two_storey(seed: u64) -> bool {
    seed % 3 == 2
}

/// The file stem of a house: `house_00042`, or `house_00042_tris1000000` when densified.
pub fn house_name(seed: u64, options: &HouseOptions) -> String {
    match options.dense_triangles {
        Some(n) => format!("house_{seed:05}_tris{n}"),
        None => format!("house_{seed:05}"),
    }
}

/// Generates the house for `seed`. Same seed and options, same bytes.
pub fn generate_house(seed: u64, options: &HouseOptions) -> House {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let plan = plan::generate_plan(&mut rng, is_two_storey(seed));
    let items = furnish::furnish(&mut rng, &plan);
    let material_seed: u64 = rng.random();
    let name = house_name(seed, options);

    let cell = options
        .dense_triangles
        .map(|target| dense_cell(&plan, &items, material_seed, target));
    let (glb, expected) = build(&plan, &items, material_seed, cell);
    House {
        meta: meta(&name, seed, &plan, &items),
        name,
        glb,
        expected,
    }
}

/// Writes `<dir>/<name>.glb` and `<dir>/<name>.meta.json` atomically; returns the `.glb` path.
pub fn write_house(house: &House, dir: &Path) -> Result<PathBuf, AssetError> {
    std::fs::create_dir_all(dir).map_err(|e| AssetError::io(dir, e))?;
    let glb_path = dir.join(format!("{}.glb", house.name));
    let meta_path = SceneMeta::path_for(&glb_path);
    let mut json =
        serde_json::to_string_pretty(&house.meta).expect("scene metadata always serialises");
    json.push('\n');
    crate::fsutil::write_atomic(&glb_path, &house.glb)?;
    crate::fsutil::write_atomic(&meta_path, json.as_bytes())?;
    Ok(glb_path)
}

/// Finds the quad grid cell that brings the scene to about `target` triangles.
fn dense_cell(plan: &Plan, items: &[Item], material_seed: u64, target: usize) -> f32 {
    let (_, base) = build(plan, items, material_seed, None);
    let mut cell = 0.5f32;
    for _ in 0..6 {
        let (_, e) = build(plan, items, material_seed, Some(cell));
        let have = e.triangles.saturating_sub(base.triangles).max(1) as f32;
        let want = target.saturating_sub(base.triangles).max(1) as f32;
        if (have - want).abs() / want < 0.03 {
            break;
        }
        cell *= (have / want).sqrt();
    }
    cell
}

/// Accumulates the node tree and the expected load result.
struct Builder {
    mats: Materials,
    cell: Option<f32>,
    expected: Expected,
    model_meshes: HashMap<String, ModelMesh>,
}

/// A furniture mesh written once and shared by identical objects: its index, points and triangle count.
#[derive(Clone)]
struct ModelMesh {
    mesh: Option<usize>,
    points: Vec<[f32; 3]>,
    triangles: usize,
}

impl Builder {
    /// Adds a node with geometry under the world transform `world`; returns the node index.
    fn node(
        &mut self,
        name: &str,
        geom: Geom,
        local: NodeTransform,
        world: &NodeTransform,
        children: Vec<usize>,
    ) -> usize {
        let points: Vec<[f32; 3]> = geom.points().collect();
        let tris = geom.triangle_count();
        let mesh = self.mats.writer.add_mesh(name, &geom.finish());
        if mesh.is_some() {
            self.count(&points, tris, world);
        }
        self.mats.writer.add_node(name, mesh, local, children)
    }

    fn count(&mut self, points: &[[f32; 3]], tris: usize, world: &NodeTransform) {
        self.expected.triangles += tris;
        self.expected.vertices += points.len();
        for &p in points {
            self.expected.bounds.grow(world.apply(p));
        }
    }

    /// A node showing a furniture model, sharing the mesh with identical models.
    fn model_node(&mut self, item: &Item, local: NodeTransform, world: &NodeTransform) -> usize {
        let s = item.size;
        let key = format!("{}:{:.3}x{:.3}x{:.3}", item.label, s.w, s.h, s.d);
        if !self.model_meshes.contains_key(&key) {
            let mut g = Geom::new(None);
            models::build(item.label, s, &mut self.mats, &mut g);
            let points: Vec<[f32; 3]> = g.points().collect();
            let tris = g.triangle_count();
            let mesh = self.mats.writer.add_mesh(item.label.as_str(), &g.finish());
            self.model_meshes.insert(
                key.clone(),
                ModelMesh {
                    mesh,
                    points,
                    triangles: tris,
                },
            );
        }
        let m = self.model_meshes[&key].clone();
        if m.mesh.is_some() {
            self.count(&m.points, m.triangles, world);
        }
        self.mats
            .writer
            .add_node(item.label.as_str(), m.mesh, local, Vec::new())
    }
}

fn floor_pattern(kind: RoomKind, rng: &mut ChaCha8Rng) -> Pattern {
    match kind {
        RoomKind::Kitchen | RoomKind::Bathroom | RoomKind::LaundryRoom => Pattern::Tiles,
        RoomKind::Bedroom | RoomKind::Office if rng.random_bool(0.5) => Pattern::Carpet,
        _ => Pattern::WoodPlanks,
    }
}

fn floor_tint(p: Pattern, rng: &mut ChaCha8Rng) -> [f32; 3] {
    const TILES: [[f32; 3]; 4] = [
        [0.95, 0.95, 0.95],
        [0.75, 0.85, 0.9],
        [0.85, 0.8, 0.7],
        [0.6, 0.62, 0.65],
    ];
    const CARPET: [[f32; 3]; 4] = [
        [0.75, 0.7, 0.6],
        [0.5, 0.55, 0.65],
        [0.6, 0.45, 0.45],
        [0.55, 0.6, 0.5],
    ];
    const WOOD: [[f32; 3]; 3] = [[1.0, 1.0, 1.0], [0.8, 0.75, 0.7], [1.1, 1.0, 0.85]];
    let pick = |pal: &[[f32; 3]], rng: &mut ChaCha8Rng| pal[rng.random_range(0..pal.len())];
    match p {
        Pattern::Tiles => pick(&TILES, rng),
        Pattern::Carpet => pick(&CARPET, rng),
        _ => pick(&WOOD, rng).map(|v: f32| v.min(1.0)),
    }
}

/// Builds the GLB. Returns the bytes and the expected load result.
fn build(
    plan: &Plan,
    items: &[Item],
    material_seed: u64,
    cell: Option<f32>,
) -> (Vec<u8>, Expected) {
    let mut b = Builder {
        mats: Materials::new(ChaCha8Rng::seed_from_u64(material_seed)),
        cell,
        expected: Expected {
            triangles: 0,
            vertices: 0,
            bounds: Aabb::EMPTY,
        },
        model_meshes: HashMap::new(),
    };
    let wall = plan.wall;
    let mut roots = Vec::new();
    // Each room gets its own paint (distinct within a level) and floor finish.
    let mut paints: Vec<usize> = (0..WALL_PAINTS.len()).collect();
    for (l, level) in plan.levels.iter().enumerate() {
        let level_t = NodeTransform::yaw([0.0, level.floor_y, 0.0], 0.0);
        let mut level_children = Vec::new();
        rand::seq::SliceRandom::shuffle(paints.as_mut_slice(), b.mats.rng());
        for (slot, room) in (0..plan.rooms.len())
            .filter(|&r| plan.rooms[r].level == l)
            .enumerate()
        {
            let kind = plan.rooms[room].kind;
            let pattern = floor_pattern(kind, b.mats.rng());
            let tint = floor_tint(pattern, b.mats.rng());
            let floor_m = b.mats.custom(
                &format!("{} floor", plan.rooms[room].name),
                tint,
                Some(pattern),
            );
            let paper = b.mats.rng().random_bool(0.4).then_some(Pattern::Wallpaper);
            let paint = WALL_PAINTS[paints[slot % paints.len()]];
            let wall_m = b
                .mats
                .custom(&format!("{} walls", plan.rooms[room].name), paint, paper);

            let interior = plan.interior(room);
            let [cx, cz] = interior.center();
            let room_local = NodeTransform::yaw([cx, 0.0, cz], 0.0);
            let room_world = level_t.then(&room_local);
            let mut children = Vec::new();
            for item in items.iter().filter(|i| i.room == room && !i.architecture) {
                let local =
                    NodeTransform::yaw([item.at[0] - cx, item.y, item.at[1] - cz], item.yaw);
                let world = room_world.then(&local);
                children.push(b.model_node(item, local, &world));
            }
            let mut g = Geom::new(b.cell);
            room_shell(
                plan,
                room,
                level.ceiling_height,
                floor_m,
                (wall_m, paper),
                [cx, cz],
                &mut g,
            );
            let name = format!("room {}", plan.rooms[room].name);
            level_children.push(b.node(&name, g, room_local, &room_world, children));
        }
        // Doorway reveals and thresholds, in level coordinates.
        let trim = b.mats.get(Surface::White);
        let sill = b.mats.get(Surface::LightWood);
        let mut g = Geom::new(b.cell);
        for d in plan.doors.iter().filter(|d| d.level == l) {
            doorway(d, wall, trim, sill, &mut g);
        }
        level_children.push(b.node(
            &format!("level_{l} doorways"),
            g,
            NodeTransform::IDENTITY,
            &level_t,
            Vec::new(),
        ));
        // Ceiling over the whole level, less the stair opening.
        let ceiling_m = b.mats.get(Surface::Ceiling);
        let mut g = Geom::new(b.cell);
        let over = plan.footprint.shrink(-wall / 2.0);
        let hole = plan
            .stairs
            .as_ref()
            .filter(|s| s.from_level == l)
            .map(|s| s.rect);
        let parts = match hole {
            Some(h) => over.minus(&h),
            None => vec![over],
        };
        for r in parts {
            g.quad(
                ceiling_m,
                [r.x0, level.ceiling_height, r.z0],
                [r.width(), 0.0, 0.0],
                [0.0, 0.0, r.depth()],
                1.0,
            );
        }
        level_children.push(b.node(
            &format!("level_{l} ceiling"),
            g,
            NodeTransform::IDENTITY,
            &level_t,
            Vec::new(),
        ));
        roots.push(
            b.mats
                .writer
                .add_node(&format!("level_{l}"), None, level_t, level_children),
        );
    }
    if let Some(s) = &plan.stairs {
        let g = stairs_geometry(plan, s, items, &mut b);
        roots.push(b.node(
            "stairs",
            g,
            NodeTransform::IDENTITY,
            &NodeTransform::IDENTITY,
            Vec::new(),
        ));
    }
    // The outer shell (seen only from outside; closes the model).
    let ext = b.mats.get(Surface::Exterior);
    let mut g = Geom::new(b.cell);
    let o = plan.footprint.shrink(-wall / 2.0);
    // The roof sits a slab above the top ceiling: coplanar faces would flicker in a renderer without culling.
    let top = plan
        .levels
        .last()
        .map_or(0.0, |l| l.floor_y + l.ceiling_height)
        + plan::SLAB;
    let (w, d) = (o.width(), o.depth());
    g.quad(ext, [o.x0, 0.0, o.z1], [w, 0.0, 0.0], [0.0, top, 0.0], 1.0);
    g.quad(ext, [o.x1, 0.0, o.z0], [-w, 0.0, 0.0], [0.0, top, 0.0], 1.0);
    g.quad(ext, [o.x0, 0.0, o.z0], [0.0, 0.0, d], [0.0, top, 0.0], 1.0);
    g.quad(ext, [o.x1, 0.0, o.z1], [0.0, 0.0, -d], [0.0, top, 0.0], 1.0);
    g.quad(ext, [o.x0, top, o.z1], [w, 0.0, 0.0], [0.0, 0.0, -d], 1.0);
    roots.push(b.node(
        "exterior",
        g,
        NodeTransform::IDENTITY,
        &NodeTransform::IDENTITY,
        Vec::new(),
    ));

    let expected = b.expected;
    (b.mats.writer.finish(roots), expected)
}

/// Floor and inner wall faces of one room, in room coordinates (origin at the interior centre).
fn room_shell(
    plan: &Plan,
    room: usize,
    ceiling: f32,
    floor_m: usize,
    (wall_m, paper): (usize, Option<Pattern>),
    c: [f32; 2],
    g: &mut Geom,
) {
    let i = plan.interior(room);
    let cell = plan.rooms[room].cell;
    let hole = plan
        .stairs
        .as_ref()
        .filter(|s| s.rooms[1] == room)
        .map(|s| s.rect);
    let parts = match hole {
        Some(h) => i.minus(&h),
        None => vec![i],
    };
    let pattern_tile = |p: Option<Pattern>| p.map_or(1.0, Pattern::tile_metres);
    let ft = 1.2;
    for r in parts {
        let (x0, z0, x1, z1) = (r.x0 - c[0], r.z0 - c[1], r.x1 - c[0], r.z1 - c[1]);
        g.quad_uv(
            floor_m,
            [x0, 0.0, z1],
            [x1 - x0, 0.0, 0.0],
            [0.0, 0.0, z0 - z1],
            ft,
            [r.x0 / ft, -r.z1 / ft],
        );
    }
    let wt = pattern_tile(paper);
    // (side line in the cell, along x?, interior face coordinate, inward sign)
    let sides = [
        (cell.z0, true, i.z0, 1.0f32),
        (cell.z1, true, i.z1, -1.0),
        (cell.x0, false, i.x0, 1.0),
        (cell.x1, false, i.x1, -1.0),
    ];
    for (line, along_x, face, inward) in sides {
        let (a, b) = if along_x { (i.x0, i.x1) } else { (i.z0, i.z1) };
        let mut openings: Vec<(f32, f32)> = plan
            .doors
            .iter()
            .filter(|d| {
                d.rooms.contains(&room) && d.along_x == along_x && (d.line - line).abs() < 1e-3
            })
            .map(|d| (d.s0.max(a), d.s1.min(b)))
            .collect();
        openings.sort_by(|p, q| p.0.total_cmp(&q.0));
        let mut pieces = Vec::new();
        let mut cur = a;
        for (s0, s1) in openings {
            pieces.push((cur, s0, 0.0, ceiling));
            pieces.push((s0, s1, DOOR_HEIGHT, ceiling));
            cur = s1;
        }
        pieces.push((cur, b, 0.0, ceiling));
        for (s0, s1, y0, y1) in pieces {
            if s1 - s0 <= 1e-4 || y1 - y0 <= 1e-4 {
                continue;
            }
            // Quads face `inward`: along x, u = +x with v = +y faces +z; along z, u = -z faces +x.
            let h = [0.0, y1 - y0, 0.0];
            let (o, u) = match (along_x, inward > 0.0) {
                (true, true) => ([s0 - c[0], y0, face - c[1]], [s1 - s0, 0.0, 0.0]),
                (true, false) => ([s1 - c[0], y0, face - c[1]], [s0 - s1, 0.0, 0.0]),
                (false, true) => ([face - c[0], y0, s1 - c[1]], [0.0, 0.0, s0 - s1]),
                (false, false) => ([face - c[0], y0, s0 - c[1]], [0.0, 0.0, s1 - s0]),
            };
            let start = if inward > 0.0 { s0 } else { -s1 };
            g.quad_uv(wall_m, o, u, h, wt, [start / wt, y0 / wt]);
        }
    }
}

/// Jambs, lintel underside and threshold of one doorway (level coordinates).
fn doorway(d: &plan::PlanDoor, wall: f32, trim: usize, sill: usize, g: &mut Geom) {
    let (l0, l1) = (d.line - wall / 2.0, d.line + wall / 2.0);
    let (w, t, h) = (d.width(), wall, DOOR_HEIGHT);
    if d.along_x {
        // Opening spans x in [s0, s1], the wall thickness z in [l0, l1].
        g.quad(trim, [d.s0, 0.0, l1], [0.0, 0.0, -t], [0.0, h, 0.0], 1.0); // faces +x
        g.quad(trim, [d.s1, 0.0, l0], [0.0, 0.0, t], [0.0, h, 0.0], 1.0); // faces -x
        g.quad(trim, [d.s0, h, l0], [w, 0.0, 0.0], [0.0, 0.0, t], 1.0); // faces down
        g.quad(sill, [d.s0, 0.0, l1], [w, 0.0, 0.0], [0.0, 0.0, -t], 1.0); // faces up
    } else {
        g.quad(trim, [l0, 0.0, d.s0], [t, 0.0, 0.0], [0.0, h, 0.0], 1.0); // faces +z
        g.quad(trim, [l1, 0.0, d.s1], [-t, 0.0, 0.0], [0.0, h, 0.0], 1.0); // faces -z
        g.quad(trim, [l0, h, d.s1], [0.0, 0.0, -w], [t, 0.0, 0.0], 1.0); // faces down
        g.quad(sill, [l0, 0.0, d.s0], [0.0, 0.0, w], [t, 0.0, 0.0], 1.0); // faces up
    }
}

/// Steps, the slab edges around the opening in the upper floor, and the railings (world coordinates).
fn stairs_geometry(plan: &Plan, s: &plan::PlanStairs, items: &[Item], b: &mut Builder) -> Geom {
    let wood = b.mats.get(Surface::Stairs);
    let slab_m = b.mats.get(Surface::Ceiling);
    let rail_m = b.mats.get(Surface::Wood);
    let mut g = Geom::new(b.cell);
    let y0 = plan.levels[s.from_level].floor_y;
    let y_top = plan.levels[s.from_level + 1].floor_y;
    let ceiling = y0 + plan.levels[s.from_level].ceiling_height;
    let r = s.rect;
    let (z0, z1) = (r.z0, r.z1);
    let bx = s.bottom_x();
    let tile = Pattern::WoodPlanks.tile_metres();
    // Side faces against the hallway wall would lie in the wall's plane; leave them out.
    let hall = plan.interior(s.rooms[0]);
    let (open_z0, open_z1) = ((z0 - hall.z0).abs() > 1e-3, (z1 - hall.z1).abs() > 1e-3);
    for i in 1..s.steps {
        let (xa, xb) = (
            bx + s.dir * (i - 1) as f32 * s.tread,
            bx + s.dir * i as f32 * s.tread,
        );
        let (lo, hi) = (xa.min(xb), xa.max(xb));
        let (y_prev, y) = (y0 + (i - 1) as f32 * s.rise, y0 + i as f32 * s.rise);
        // Tread (up) and riser (facing down the stairs).
        g.quad(
            wood,
            [lo, y, z1],
            [hi - lo, 0.0, 0.0],
            [0.0, 0.0, z0 - z1],
            tile,
        );
        riser(&mut g, wood, xa, s.dir, z0, z1, y_prev, y, tile);
        // Both sides, floor to tread.
        if open_z1 {
            g.quad(
                wood,
                [lo, y0, z1],
                [hi - lo, 0.0, 0.0],
                [0.0, y - y0, 0.0],
                tile,
            );
        }
        if open_z0 {
            g.quad(
                wood,
                [hi, y0, z0],
                [lo - hi, 0.0, 0.0],
                [0.0, y - y0, 0.0],
                tile,
            );
        }
    }
    // The last riser up to the upper floor, then the slab edge below it.
    let tx = s.top_x();
    let last = y0 + (s.steps - 1) as f32 * s.rise;
    riser(&mut g, wood, tx, s.dir, z0, z1, last, y_top, tile);
    riser(&mut g, slab_m, tx, s.dir, z0, z1, ceiling, last, 1.0);
    // Slab edges on the other three sides of the opening, facing into it.
    let hh = [0.0, y_top - ceiling, 0.0];
    g.quad(
        slab_m,
        [bx, ceiling, if s.dir > 0.0 { z1 } else { z0 }],
        [0.0, 0.0, if s.dir > 0.0 { z0 - z1 } else { z1 - z0 }],
        hh,
        1.0,
    );
    g.quad(slab_m, [r.x0, ceiling, z0], [r.width(), 0.0, 0.0], hh, 1.0);
    g.quad(slab_m, [r.x1, ceiling, z1], [-r.width(), 0.0, 0.0], hh, 1.0);
    for it in items.iter().filter(|i| i.label == Label::Railing) {
        let f = it.footprint;
        g.cuboid(
            rail_m,
            [f.x0, y_top, f.z0],
            [f.x1, y_top + it.size.h, f.z1],
            Bottom::Hidden,
        );
    }
    g
}

/// A vertical step face at `x` across the stair width, facing against the climbing direction.
#[allow(clippy::too_many_arguments)]
fn riser(
    g: &mut Geom,
    m: usize,
    x: f32,
    dir: f32,
    z0: f32,
    z1: f32,
    y_lo: f32,
    y_hi: f32,
    tile: f32,
) {
    if y_hi - y_lo <= 1e-5 {
        return;
    }
    let h = [0.0, y_hi - y_lo, 0.0];
    if dir > 0.0 {
        g.quad(m, [x, y_lo, z0], [0.0, 0.0, z1 - z0], h, tile); // faces -x
    } else {
        g.quad(m, [x, y_lo, z1], [0.0, 0.0, z0 - z1], h, tile); // faces +x
    }
}

fn rect_polygon(r: &Rect) -> Vec<[f32; 2]> {
    // Counter-clockwise seen from above (+Y): with x east and z south, that is x0z1 -> x1z1 -> x1z0 -> x0z0.
    vec![[r.x0, r.z1], [r.x1, r.z1], [r.x1, r.z0], [r.x0, r.z0]]
}

fn meta(name: &str, seed: u64, plan: &Plan, items: &[Item]) -> SceneMeta {
    let round = |v: f32| (v * 1000.0).round() / 1000.0;
    let r3 = |v: [f32; 3]| v.map(round);
    let levels = plan
        .levels
        .iter()
        .enumerate()
        .map(|(level, l)| LevelMeta {
            level,
            floor_height: round(l.floor_y),
            ceiling_height: round(l.ceiling_height),
        })
        .collect();
    let rooms = plan
        .rooms
        .iter()
        .map(|r| RoomMeta {
            kind: r.kind.noun().to_string(),
            name: r.name.clone(),
            level: r.level,
            floor_height: round(plan.levels[r.level].floor_y),
            polygon: rect_polygon(&r.cell)
                .into_iter()
                .map(|p| p.map(round))
                .collect(),
        })
        .collect();
    let objects = items
        .iter()
        .map(|i| {
            let room = &plan.rooms[i.room];
            let fy = plan.levels[room.level].floor_y;
            let fp = i.footprint;
            ObjectMeta {
                label: i.label.to_string(),
                room: room.name.clone(),
                level: room.level,
                position: r3([fp.center()[0], fy + i.y + i.size.h / 2.0, fp.center()[1]]),
                size: r3([fp.width(), i.size.h, fp.depth()]),
                yaw: round(i.yaw),
                obstacle: i.obstacle,
            }
        })
        .collect();
    let doors = plan
        .doors
        .iter()
        .map(|d| {
            let [x, z] = d.center();
            let [ax, az] = plan.rooms[d.rooms[0]].cell.center();
            let direction = if d.along_x {
                [0.0, if az < d.line { 1.0 } else { -1.0 }]
            } else {
                [if ax < d.line { 1.0 } else { -1.0 }, 0.0]
            };
            DoorMeta {
                direction,
                position: r3([x, plan.levels[d.level].floor_y, z]),
                width: round(d.width()),
                height: DOOR_HEIGHT,
                level: d.level,
                rooms: [
                    plan.rooms[d.rooms[0]].name.clone(),
                    plan.rooms[d.rooms[1]].name.clone(),
                ],
            }
        })
        .collect();
    let stairs = plan
        .stairs
        .iter()
        .map(|s| {
            let zc = (s.rect.z0 + s.rect.z1) / 2.0;
            let y0 = plan.levels[s.from_level].floor_y;
            let y1 = plan.levels[s.from_level + 1].floor_y;
            StairsMeta {
                bottom: r3([s.bottom_x() - s.dir * 0.4, y0, zc]),
                top: r3([s.top_x() + s.dir * 0.4, y1, zc]),
                from_level: s.from_level,
                to_level: s.from_level + 1,
                steps: s.steps,
                rise: round(s.rise),
                tread: s.tread,
                width: round(s.rect.depth()),
                rooms: [
                    plan.rooms[s.rooms[0]].name.clone(),
                    plan.rooms[s.rooms[1]].name.clone(),
                ],
            }
        })
        .collect();
    SceneMeta {
        format_version: META_FORMAT_VERSION,
        name: name.to_string(),
        seed,
        wall_thickness: round(plan.wall),
        levels,
        rooms,
        objects,
        doors,
        stairs,
    }
}
