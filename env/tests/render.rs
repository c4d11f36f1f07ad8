//! Renders hand-built scenes whose correct images are known analytically.

use env::render::{
    render_batch, CameraPose, Lighting, RenderConfig, RenderJob, Renderer, SceneRenderData,
};
use habitat_assets::{Material, Mesh, Scene, Texture};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const RED: [u8; 3] = [255, 0, 0];
const GREEN: [u8; 3] = [0, 255, 0];
const BLUE: [u8; 3] = [0, 0, 255];
const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [0, 0, 0];

fn material(rgb: [u8; 3]) -> Material {
    Material {
        name: format!("{rgb:?}"),
        base_color: [
            rgb[0] as f32 / 255.0,
            rgb[1] as f32 / 255.0,
            rgb[2] as f32 / 255.0,
            1.0,
        ],
        double_sided: true,
        ..Material::default()
    }
}

/// A quad from corners in counter-clockwise order seen from its front: top-left, bottom-left, bottom-right,
/// top-right; uv (0,0) at the top-left as in glTF.
fn quad(c: [[f32; 3]; 4], material: usize) -> Mesh {
    let n = {
        let (a, b) = (sub(c[1], c[0]), sub(c[2], c[0]));
        let n = [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ];
        let l = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        n.map(|x| x / l)
    };
    Mesh {
        positions: c.to_vec(),
        normals: vec![n; 4],
        uvs: vec![[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0]],
        triangles: vec![[0, 1, 2], [0, 2, 3]],
        material,
        ..Mesh::default()
    }
}

fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// A wall facing +Z at z = `z`, spanning x in [x0, x1] and y in [y0, y1].
fn wall_facing_plus_z(x0: f32, x1: f32, y0: f32, y1: f32, z: f32, material: usize) -> Mesh {
    quad(
        [[x0, y1, z], [x0, y0, z], [x1, y0, z], [x1, y1, z]],
        material,
    )
}

fn unlit(scene: &Scene) -> SceneRenderData {
    SceneRenderData::with_lighting(scene, Lighting::UNLIT)
}

fn eye(y: f32, heading_deg: f32) -> CameraPose {
    CameraPose {
        position: [0.0, y, 0.0],
        heading: heading_deg.to_radians(),
        pitch: 0.0,
    }
}

#[test]
fn a_wall_straight_ahead_fills_exactly_its_projection_and_depth_is_its_distance() {
    // 64x64, hfov 90: focal 32 px. Wall 2 m ahead, x in [-1, 1], y in eye +- 0.5 projects to
    // columns [16, 48) and rows [24, 40).
    let scene = Scene {
        meshes: vec![wall_facing_plus_z(-1.0, 1.0, 0.5, 1.5, -2.0, 0)],
        materials: vec![material(RED)],
        textures: vec![],
    };
    let data = unlit(&scene);
    let mut r = Renderer::new(RenderConfig::new(64, 64, 90.0).with_depth(true)).unwrap();
    let f = r.render(&data, &eye(1.0, 0.0));
    for y in 0..64 {
        for x in 0..64 {
            let inside = (16..48).contains(&x) && (24..40).contains(&y);
            assert_eq!(
                f.pixel(x, y),
                if inside { RED } else { BLACK },
                "pixel {x},{y}"
            );
            let d = f.depth_at(x, y).unwrap();
            if inside {
                assert!((d - 2.0).abs() < 1e-4, "depth {d} at {x},{y}");
            } else {
                assert_eq!(d, 0.0);
            }
        }
    }
}

#[test]
fn depth_is_along_the_view_axis_on_an_oblique_wall() {
    // A wall to the right at x = 0.5 running from behind the camera (z = +5) to ahead (z = -5): it crosses
    // the near plane, so this also checks clipping. Column c sees it at view depth 0.5 / dx(c).
    let wall = quad(
        [
            [0.5, 3.0, 5.0],
            [0.5, 0.0, 5.0],
            [0.5, 0.0, -5.0],
            [0.5, 3.0, -5.0],
        ],
        0,
    );
    let scene = Scene {
        meshes: vec![wall],
        materials: vec![material(GREEN)],
        textures: vec![],
    };
    let data = unlit(&scene);
    let mut r = Renderer::new(RenderConfig::new(64, 64, 90.0).with_depth(true)).unwrap();
    let f = r.render(&data, &eye(1.25, 0.0));
    for x in 0..64u32 {
        let dx = (x as f32 + 0.5 - 32.0) / 32.0;
        let expected_depth = 0.5 / dx;
        for y in 0..64u32 {
            let dy = (32.0 - (y as f32 + 0.5)) / 32.0;
            let hit_y = 1.25 + expected_depth * dy;
            let visible = dx > 0.0 && expected_depth <= 5.0 && (0.0..=3.0).contains(&hit_y);
            // Stay a pixel away from the wall's far edge, where coverage is decided at sub-pixel level.
            let near_edge = (expected_depth - 5.0).abs() < 0.4
                || (hit_y - 3.0).abs() < 0.1
                || hit_y.abs() < 0.1;
            if near_edge {
                continue;
            }
            assert_eq!(
                f.pixel(x, y),
                if visible { GREEN } else { BLACK },
                "pixel {x},{y}"
            );
            if visible {
                let d = f.depth_at(x, y).unwrap();
                assert!(
                    (d - expected_depth).abs() < 1e-3 * expected_depth,
                    "depth {d} vs {expected_depth} at {x},{y}"
                );
            }
        }
    }
}

#[test]
fn a_textured_quad_shows_its_texture_the_right_way_up() {
    // 2x2 texture: top-left red, top-right green, bottom-left blue, bottom-right white (rows top first).
    let mut rgba = Vec::new();
    for c in [RED, GREEN, BLUE, WHITE] {
        rgba.extend_from_slice(&[c[0], c[1], c[2], 255]);
    }
    let tex = Texture {
        width: 2,
        height: 2,
        rgba,
    };
    let mut m = material(WHITE);
    m.base_color_texture = Some(0);
    let scene = Scene {
        meshes: vec![wall_facing_plus_z(-1.0, 1.0, 0.0, 2.0, -1.0, 0)],
        materials: vec![m],
        textures: vec![tex],
    };
    let data = unlit(&scene);
    let mut r = Renderer::new(RenderConfig::new(64, 64, 90.0)).unwrap();
    let f = r.render(&data, &eye(1.0, 0.0));
    // The quad fills the frame; texel centres fall on the corners of pixels (16, 16), (48, 16), ... so those
    // pixels are within a couple of percent of the texel colours.
    for (x, y, c) in [
        (16, 16, RED),
        (48, 16, GREEN),
        (16, 48, BLUE),
        (48, 48, WHITE),
    ] {
        let p = f.pixel(x, y);
        assert!(
            (0..3).all(|k| (p[k] as i32 - c[k] as i32).abs() <= 12),
            "pixel {x},{y}: {p:?} vs {c:?}"
        );
    }
}

/// A closed box room around the origin with a distinct colour on each wall.
fn box_room() -> Scene {
    let (h0, h1) = (0.0, 3.0);
    let r = 2.0;
    let meshes = vec![
        // -Z wall (ahead at heading 0), facing +Z.
        quad([[-r, h1, -r], [-r, h0, -r], [r, h0, -r], [r, h1, -r]], 0),
        // -X wall (left), facing +X.
        quad([[-r, h1, r], [-r, h0, r], [-r, h0, -r], [-r, h1, -r]], 1),
        // +X wall (right), facing -X.
        quad([[r, h1, -r], [r, h0, -r], [r, h0, r], [r, h1, r]], 2),
        // +Z wall (behind), facing -Z.
        quad([[r, h1, r], [r, h0, r], [-r, h0, r], [-r, h1, r]], 3),
    ];
    Scene {
        meshes,
        materials: vec![
            material(RED),
            material(GREEN),
            material(BLUE),
            material(WHITE),
        ],
        textures: vec![],
    }
}

#[test]
fn turning_shows_the_next_wall() {
    let data = unlit(&box_room());
    let mut r = Renderer::new(RenderConfig::new(32, 32, 90.0)).unwrap();
    for (heading, colour) in [
        (0.0, RED),
        (90.0, GREEN),
        (-90.0, BLUE),
        (180.0, WHITE),
        (270.0, BLUE),
    ] {
        let f = r.render(&data, &eye(1.25, heading));
        assert_eq!(f.pixel(16, 16), colour, "heading {heading}");
    }
    // At 45 degrees left the corner between the front (red) and left (green) walls is in the middle.
    let f = r.render(&data, &eye(1.25, 45.0));
    assert_eq!(f.pixel(8, 16), GREEN);
    assert_eq!(f.pixel(24, 16), RED);
}

#[test]
fn geometry_behind_the_camera_draws_nothing() {
    let scene = Scene {
        meshes: vec![
            wall_facing_plus_z(-5.0, 5.0, -5.0, 5.0, 3.0, 0),
            // Facing away too, and exactly in the camera's plane.
            quad(
                [
                    [-5.0, 5.0, 0.0],
                    [5.0, 5.0, 0.0],
                    [5.0, -5.0, 0.0],
                    [-5.0, -5.0, 0.0],
                ],
                0,
            ),
        ],
        materials: vec![material(RED)],
        textures: vec![],
    };
    let data = unlit(&scene);
    let mut r = Renderer::new(RenderConfig::new(48, 32, 90.0).with_depth(true)).unwrap();
    let f = r.render(&data, &eye(0.0, 0.0));
    assert!(f.rgb().iter().all(|&c| c == 0));
    assert!(f.depth().unwrap().iter().all(|&d| d == 0.0));
}

#[test]
fn a_floor_crossing_the_near_plane_fills_the_lower_half_only() {
    let floor = quad(
        [
            [-500.0, 0.0, -500.0],
            [-500.0, 0.0, 500.0],
            [500.0, 0.0, 500.0],
            [500.0, 0.0, -500.0],
        ],
        0,
    );
    let scene = Scene {
        meshes: vec![floor],
        materials: vec![material(BLUE)],
        textures: vec![],
    };
    let data = unlit(&scene);
    let mut r = Renderer::new(RenderConfig::new(64, 64, 90.0).with_depth(true)).unwrap();
    for heading in [0.0, 33.0, -120.0] {
        let f = r.render(&data, &eye(1.25, heading));
        for y in 0..64 {
            for x in 0..64 {
                let p = f.pixel(x, y);
                if y < 32 {
                    assert_eq!(p, BLACK, "sky pixel {x},{y} at heading {heading}");
                } else if y >= 34 {
                    assert_eq!(p, BLUE, "floor pixel {x},{y} at heading {heading}");
                    // Floor depth along the view axis: 1.25 * f / (row offset below the horizon).
                    let expected = 1.25 * 32.0 / (y as f32 + 0.5 - 32.0);
                    let d = f.depth_at(x, y).unwrap();
                    assert!(
                        (d - expected).abs() < 2e-3 * expected,
                        "depth {d} vs {expected} at {x},{y}"
                    );
                }
            }
        }
    }
}

#[test]
fn single_sided_back_faces_are_culled_and_double_sided_ones_drawn() {
    // The wall faces -Z (away from a camera at the origin looking along -Z).
    let wall = || {
        quad(
            [
                [1.0, 2.0, -2.0],
                [1.0, 0.0, -2.0],
                [-1.0, 0.0, -2.0],
                [-1.0, 2.0, -2.0],
            ],
            0,
        )
    };
    let scene = |double_sided: bool| {
        let mut m = material(RED);
        m.double_sided = double_sided;
        SceneRenderData::new(&Scene {
            meshes: vec![wall()],
            materials: vec![m],
            textures: vec![],
        })
    };
    let (single, double) = (scene(false), scene(true));
    // glTF's `doubleSided: false` means back-face culling, which the default configuration does.
    let mut r = Renderer::new(RenderConfig::new(16, 16, 90.0)).unwrap();
    assert!(r.config().cull_back_faces);
    let behind = r.render(&single, &eye(1.0, 0.0));
    assert!(
        behind.rgb().iter().all(|&c| c == 0),
        "a back face was drawn"
    );
    // A double-sided material is seen from behind, lit as a wall facing the viewer.
    let back = r.render(&double, &eye(1.0, 0.0)).pixel(8, 8);
    assert_ne!(back, BLACK);
    // From its front the single-sided wall is drawn, lit as its front.
    let front = r.render(&single, &eye(1.0, 180.0).with_z(-4.0)).pixel(8, 8);
    assert_ne!(front, BLACK);
    // Lighting flips the normal toward the viewer: the back is shaded like a wall facing +Z, which the
    // default light reaches better than a wall facing -Z.
    assert!(back[0] > front[0], "back {back:?} front {front:?}");
    // Culling can be turned off, and then the single-sided back is drawn like the double-sided one.
    let mut both = Renderer::new(RenderConfig {
        cull_back_faces: false,
        ..RenderConfig::new(16, 16, 90.0)
    })
    .unwrap();
    assert_eq!(both.render(&single, &eye(1.0, 0.0)).pixel(8, 8), back);
}

trait WithZ {
    fn with_z(self, z: f32) -> Self;
}

impl WithZ for CameraPose {
    fn with_z(mut self, z: f32) -> Self {
        self.position[2] = z;
        self
    }
}

#[test]
fn distant_fine_texture_averages_instead_of_aliasing() {
    // A 1-texel black/white checkerboard tiled over a long floor: without mip-mapping distant pixels would
    // be pure black or white at random; with it they approach the linear-light mean, sRGB ~188.
    let n = 64u32;
    let mut rgba = Vec::new();
    for y in 0..n {
        for x in 0..n {
            let v = if (x + y) % 2 == 0 { 255 } else { 0 };
            rgba.extend_from_slice(&[v, v, v, 255]);
        }
    }
    let mut m = material(WHITE);
    m.base_color_texture = Some(0);
    let mut floor = quad(
        [
            [-50.0, 0.0, -100.0],
            [-50.0, 0.0, 0.0],
            [50.0, 0.0, 0.0],
            [50.0, 0.0, -100.0],
        ],
        0,
    );
    floor.uvs = vec![[0.0, 0.0], [0.0, 100.0], [100.0, 100.0], [100.0, 0.0]];
    let scene = Scene {
        meshes: vec![floor],
        materials: vec![m],
        textures: vec![Texture {
            width: n,
            height: n,
            rgba,
        }],
    };
    let data = unlit(&scene);
    let mut r = Renderer::new(RenderConfig::new(128, 128, 90.0)).unwrap();
    let f = r.render(&data, &eye(1.5, 0.0));
    // Rows just below the horizon look at the floor tens of metres away.
    let mut values = Vec::new();
    for y in 66..72 {
        for x in 20..108 {
            values.push(f.pixel(x, y)[0] as f32);
        }
    }
    let mean = values.iter().sum::<f32>() / values.len() as f32;
    let max_dev = values.iter().map(|v| (v - mean).abs()).fold(0.0, f32::max);
    assert!((mean - 188.0).abs() < 20.0, "mean {mean}");
    assert!(max_dev < 40.0, "max deviation {max_dev} around {mean}");
}

/// Random triangles around the camera, each a unique flat colour; a reference ray caster decides each
/// pixel centre. Checks culling, clipping, rasterisation and the depth test together.
#[test]
fn random_triangle_soup_matches_a_reference_ray_caster() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut meshes = Vec::new();
    let mut materials = Vec::new();
    let mut colours = Vec::new();
    for i in 0..1500u32 {
        let centre = [
            rng.random_range(-6.0..6.0),
            rng.random_range(-3.0..3.0),
            rng.random_range(-6.0..6.0),
        ];
        let size = if i % 10 == 0 { 4.0 } else { 0.6 };
        let p: Vec<[f32; 3]> = (0..3)
            .map(|_| [0, 1, 2].map(|k| centre[k] + rng.random_range(-size..size)))
            .collect();
        // Unique colour per triangle, exactly representable through the sRGB round trip (0 or 255 per
        // channel would be too few): use the byte values via their linear equivalents.
        let c = [
            (i % 13) as u8 * 19 + 10,
            (i / 13 % 13) as u8 * 19 + 10,
            (i / 169) as u8 * 19 + 10,
        ];
        colours.push(c);
        let lin = c.map(|b| srgb_to_linear(b as f32 / 255.0));
        materials.push(Material {
            base_color: [lin[0], lin[1], lin[2], 1.0],
            double_sided: true,
            ..Material::default()
        });
        meshes.push(Mesh {
            positions: p,
            triangles: vec![[0, 1, 2]],
            material: i as usize,
            ..Mesh::default()
        });
    }
    let scene = Scene {
        meshes,
        materials,
        textures: vec![],
    };
    let data = unlit(&scene);
    let (w, h) = (96u32, 72u32);
    let mut r = Renderer::new(RenderConfig::new(w, h, 75.0)).unwrap();
    for (pose_i, pose) in [
        CameraPose {
            position: [0.0, 0.0, 0.0],
            heading: 0.0,
            pitch: 0.0,
        },
        CameraPose {
            position: [1.0, 0.5, -2.0],
            heading: 2.0,
            pitch: -0.4,
        },
        CameraPose {
            position: [-3.0, -1.0, 4.0],
            heading: -0.7,
            pitch: 0.3,
        },
    ]
    .iter()
    .enumerate()
    {
        let f = r.render(&data, pose);
        let basis = pose.basis();
        let focal = 0.5 * w as f32 / (37.5f32).to_radians().tan();
        let mut mismatches = 0;
        for y in 0..h {
            for x in 0..w {
                let sx = (x as f32 + 0.5 - 0.5 * w as f32) / focal;
                let sy = (y as f32 + 0.5 - 0.5 * h as f32) / focal;
                let d =
                    [0, 1, 2].map(|k| basis.forward[k] + sx * basis.right[k] - sy * basis.up[k]);
                let mut best = (f32::INFINITY, BLACK);
                for (m, c) in scene.meshes.iter().zip(&colours) {
                    if let Some(t) = ray_triangle(pose.position, d, &m.positions) {
                        // t is the view depth (d.forward = 1); the renderer clips at 0.01 m.
                        if t > 0.01 && t < best.0 {
                            best = (t, *c);
                        }
                    }
                }
                let got = f.pixel(x, y);
                let close = (0..3).all(|k| (got[k] as i32 - best.1[k] as i32).abs() <= 1);
                mismatches += (!close) as u32;
            }
        }
        // Only pixel centres within float noise of an edge may disagree.
        assert!(
            mismatches <= w * h / 200,
            "pose {pose_i}: {mismatches} of {} pixels differ",
            w * h
        );
    }
}

fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Moller-Trumbore; returns the ray parameter.
fn ray_triangle(o: [f32; 3], d: [f32; 3], p: &[[f32; 3]]) -> Option<f32> {
    let cross = |a: [f32; 3], b: [f32; 3]| {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    };
    let dot = |a: [f32; 3], b: [f32; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let (e1, e2) = (sub(p[1], p[0]), sub(p[2], p[0]));
    let pv = cross(d, e2);
    let det = dot(e1, pv);
    if det.abs() < 1e-12 {
        return None;
    }
    let tv = sub(o, p[0]);
    let u = dot(tv, pv) / det;
    let qv = cross(tv, e1);
    let v = dot(d, qv) / det;
    if u < 0.0 || v < 0.0 || u + v > 1.0 {
        return None;
    }
    Some(dot(e2, qv) / det)
}

#[test]
fn batches_render_the_same_frames_on_any_number_of_threads() {
    let data = SceneRenderData::new(&box_room());
    let poses: Vec<CameraPose> = (0..12)
        .map(|i| eye(1.0 + 0.05 * i as f32, 30.0 * i as f32))
        .collect();
    let config = RenderConfig::new(40, 30, 90.0).with_depth(true);
    let mut sequential = Renderer::new(config).unwrap();
    let expected: Vec<_> = poses
        .iter()
        .map(|p| sequential.render(&data, p).clone())
        .collect();
    let jobs: Vec<RenderJob> = poses
        .iter()
        .map(|&pose| RenderJob { scene: &data, pose })
        .collect();
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut renderers: Vec<Renderer> = (0..poses.len())
            .map(|_| Renderer::new(config).unwrap())
            .collect();
        pool.install(|| render_batch(&mut renderers, &jobs))
            .unwrap();
        for (r, e) in renderers.iter().zip(&expected) {
            assert_eq!(r.frame(), e);
        }
    }
    let mut too_few = vec![Renderer::new(config).unwrap()];
    assert!(render_batch(&mut too_few, &jobs).is_err());
}
