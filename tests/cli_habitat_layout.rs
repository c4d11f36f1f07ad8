//! End-to-end with no flags on a dataset laid out the habitat way: `scene_datasets/mp3d/<id>/<id>.glb`
//! stored Z-up (as Matterport3D is) and `R2R_VLNCE_v1-3_preprocessed/val_unseen/val_unseen.json.gz` with
//! episodes in habitat's Y-up world coordinates: `episodes gt`, oracle `eval`, `datagen`, and a frame
//! looking along -Z that shows the (red) wall standing at -Z.

use std::path::{Path, PathBuf};

use episodes::split::{split_file, FileKind};
use episodes::{EpisodeDataset, GroundTruth};
use habitat_assets::write::write_scene_glb;
use habitat_assets::{Material, Mesh, Scene};

mod common;
use common::{ok, p, vln_r1};

/// Axis-aligned boxes in world coordinates, one mesh per material (0 grey, 1 red).
fn boxes(list: &[(usize, [f32; 3], [f32; 3])]) -> Scene {
    let mut meshes = vec![Mesh::default(), Mesh::default()];
    meshes[1].material = 1;
    for &(material, min, max) in list {
        let m = &mut meshes[material];
        for axis in 0..3 {
            for high in [false, true] {
                let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
                let corner = |a: f32, b: f32| {
                    let mut p = [0.0; 3];
                    p[axis] = if high { max[axis] } else { min[axis] };
                    p[u] = a;
                    p[v] = b;
                    p
                };
                let mut quad = [
                    corner(min[u], min[v]),
                    corner(max[u], min[v]),
                    corner(max[u], max[v]),
                    corner(min[u], max[v]),
                ];
                if !high {
                    quad.reverse();
                }
                let mut n = [0.0; 3];
                n[axis] = if high { 1.0 } else { -1.0 };
                let base = m.positions.len() as u32;
                m.positions.extend(quad);
                m.normals.extend([n; 4]);
                m.triangles
                    .extend([[base, base + 1, base + 2], [base, base + 2, base + 3]]);
            }
        }
    }
    let material = |name: &str, c: [f32; 4]| Material {
        name: name.into(),
        base_color: c,
        ..Material::default()
    };
    Scene {
        meshes,
        materials: vec![
            material("grey", [0.5, 0.5, 0.5, 1.0]),
            material("red", [0.9, 0.05, 0.05, 1.0]),
        ],
        textures: vec![],
    }
}

/// A 2.5 m wall of thickness 0.1 along an axis-aligned segment (x, z).
fn wall(material: usize, from: [f32; 2], to: [f32; 2]) -> (usize, [f32; 3], [f32; 3]) {
    (
        material,
        [from[0].min(to[0]) - 0.05, 0.0, from[1].min(to[1]) - 0.05],
        [from[0].max(to[0]) + 0.05, 2.5, from[1].max(to[1]) + 0.05],
    )
}

/// Two rooms (x in [0, 5] and [5, 10], z in [0, 6]) joined by a doorway at z in [4.6, 5.4], a doorless
/// 1 x 1 m closet at x in [9, 10], z in [0, 1], and a red wall along z = 0 (the -Z side).
fn toy_scene() -> Scene {
    boxes(&[
        (0, [-0.5, -0.1, -0.5], [10.5, 0.0, 6.5]),
        (0, [-0.5, 2.5, -0.5], [10.5, 2.6, 6.5]),
        wall(1, [0.0, 0.0], [10.0, 0.0]),
        wall(0, [0.0, 6.0], [10.0, 6.0]),
        wall(0, [0.0, 0.0], [0.0, 6.0]),
        wall(0, [10.0, 0.0], [10.0, 6.0]),
        wall(0, [5.0, 0.0], [5.0, 4.55]),
        wall(0, [5.0, 5.45], [5.0, 6.0]),
        wall(0, [9.0, 0.0], [9.0, 1.0]),
        wall(0, [9.0, 1.0], [10.0, 1.0]),
    ])
}

/// The habitat layout under `root`: returns (dataset dir, scenes dir).
fn habitat_layout(root: &Path) -> (PathBuf, PathBuf) {
    let scenes = root.join("scene_datasets");
    let scan = scenes.join("mp3d/toy");
    std::fs::create_dir_all(&scan).unwrap();
    std::fs::write(scan.join("toy.glb"), write_scene_glb(&toy_scene())).unwrap();
    let pairs: [([f64; 3], [f64; 3]); 6] = [
        ([1.5, 0.0, 1.5], [7.0, 0.0, 3.0]),
        ([4.0, 0.0, 3.0], [1.5, 0.0, 5.0]),
        ([7.5, 0.0, 5.5], [1.0, 0.0, 1.0]),
        ([6.0, 0.0, 2.0], [8.0, 0.0, 4.5]),
        ([1.0, 0.0, 5.0], [8.5, 0.0, 2.5]),
        // Starts shut in the closet: not runnable, no gt.
        ([9.5, 0.0, 0.5], [3.0, 0.0, 3.0]),
    ];
    let episodes: Vec<serde_json::Value> = pairs
        .iter()
        .enumerate()
        .map(|(i, (start, goal))| {
            serde_json::json!({
                "episode_id": i + 1,
                "trajectory_id": i + 1,
                "scene_id": "mp3d/toy/toy.glb",
                "start_position": start,
                "start_rotation": [0.0, 0.0, 0.0, 1.0],
                "info": {"geodesic_distance": 0.0},
                "goals": [{"position": goal, "radius": 3.0}],
                "reference_path": [start, goal],
                "instruction": {"instruction_text": "walk through the door and stop by the wall"},
            })
        })
        .collect();
    let dataset: EpisodeDataset =
        serde_json::from_value(serde_json::json!({ "episodes": episodes })).unwrap();
    let data = root.join("R2R_VLNCE_v1-3_preprocessed");
    dataset
        .save(&data.join("val_unseen/val_unseen.json.gz"))
        .unwrap();
    (data, scenes)
}

/// The RGB of the centre pixel of a PNG.
fn centre(png: &Path) -> [u8; 3] {
    let img = image::open(png).unwrap().to_rgb8();
    img.get_pixel(img.width() / 2, img.height() / 2).0
}

fn red(c: [u8; 3]) -> bool {
    c[0] > 150 && c[1] < 100 && c[2] < 100
}

#[test]
fn a_habitat_layout_dataset_runs_end_to_end_with_no_flags() {
    let dir = tempfile::tempdir().unwrap();
    let (data, scenes) = habitat_layout(dir.path());

    let out = vln_r1(&[
        "episodes",
        "gt",
        "--dataset",
        p(&data),
        "--split",
        "val_unseen",
        "--scenes",
        p(&scenes),
    ]);
    let stdout = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("5 of 6 episodes"), "{stdout}");
    assert!(
        stderr.contains("episode 6: no gt") && stderr.contains("no navigable path"),
        "{stderr}"
    );
    let gt = GroundTruth::load(&split_file(&data, "val_unseen", None, FileKind::Gt)).unwrap();
    assert_eq!(gt.len(), 5);

    // Oracle eval of the layout (plus `extra` flags); the lines of its results.jsonl.
    let oracle_eval = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec!["eval", "--policy", "oracle", "--dataset", p(&data)];
        args.extend(["--scenes", p(&scenes), "--out", p(&out)]);
        args.extend_from_slice(extra);
        ok(&vln_r1(&args));
        std::fs::read_to_string(out.join("results.jsonl")).unwrap()
    };
    let results = oracle_eval("eval", &[]);
    let rows: Vec<serde_json::Value> = results
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 6);
    let ran: Vec<&serde_json::Value> = rows.iter().filter(|r| r.get("not_run").is_none()).collect();
    assert_eq!(ran.len(), 5, "{results}");
    let successes = ran
        .iter()
        .filter(|r| r["metrics"]["sr"].as_f64() == Some(1.0))
        .count();
    assert!(
        successes as f64 >= 0.98 * ran.len() as f64,
        "oracle SR {successes}/{}: {results}",
        ran.len()
    );
    let skipped = rows.iter().find(|r| r["episode_id"] == "6").unwrap();
    assert!(
        skipped["not_run"]
            .as_str()
            .unwrap()
            .contains("no navigable path"),
        "{skipped}"
    );

    // `--scene-up y` reads the same Z-up files as authored Y-up: every episode's points miss the floor.
    let results = oracle_eval("eval-y", &["--scene-up", "y"]);
    assert!(
        results
            .lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["not_run"].is_string()),
        "{results}"
    );

    let store = dir.path().join("store");
    ok(&vln_r1(&[
        "datagen",
        "--dataset",
        p(&data),
        "--scenes",
        p(&scenes),
        "--split",
        "val_unseen",
        "--episodes",
        "5",
        "--width",
        "64",
        "--height",
        "48",
        "--out",
        p(&store),
    ]));
    assert!(std::fs::read_dir(&store).unwrap().count() > 0);

    // Habitat's -Z is the red wall: a frame from the first room looking along -Z (heading 0) shows it,
    // unlit as habitat renders a scan. Read Y-up (`--scene-up y`), the same file lies on its side.
    let scene = scenes.join("mp3d/toy/toy.glb");
    let frame = |name: &str, extra: &[&str]| {
        let png = dir.path().join(name);
        let mut args = vec![
            "render",
            "--scene",
            p(&scene),
            "--position",
            "2.5,0,3",
            "--heading",
            "0",
            "--width",
            "32",
            "--height",
            "32",
            "--out",
            p(&png),
        ];
        args.extend_from_slice(extra);
        ok(&vln_r1(&args));
        centre(&png)
    };
    let ahead = frame("ahead.png", &[]);
    assert!(red(ahead), "looking along -Z: {ahead:?}");
    let sideways = frame("sideways.png", &["--scene-up", "y"]);
    assert!(!red(sideways), "read Y-up: {sideways:?}");
}
