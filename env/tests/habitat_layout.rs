//! Scenes stored the habitat way (a bare `.glb` is up +Z, front +Y) with episodes in habitat's Y-up world
//! coordinates: the library reads them with no options, `--scene-up y` and a scene dataset config change
//! the reading, scans render unlit and our houses lit, and an episode whose start and goal no path joins is
//! `not_run` (and gets no gt) whichever of the two is shut in.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use env::episode_gen::make_gt;
use env::eval::{evaluate, ResultsLog};
use env::nav::{FollowerConfig, NavParams};
use env::policy::OraclePolicy;
use env::task::{episode_scene, SceneLibrary, Sensors, TaskDataset, VlnEnvConfig};
use env::vec_env::VecEnv;
use episodes::{Episode, EpisodeDataset};
use habitat_assets::write::write_scene_glb_with;
use habitat_assets::{Material, Mesh, Scene, SceneFrame, SceneLighting, SceneUp};

/// Axis-aligned boxes in world coordinates (Y up), one mesh per material.
#[derive(Default)]
struct Boxes {
    meshes: Vec<Mesh>,
}

impl Boxes {
    fn cuboid(&mut self, material: usize, min: [f32; 3], max: [f32; 3]) {
        while self.meshes.len() <= material {
            let material = self.meshes.len();
            self.meshes.push(Mesh {
                material,
                ..Mesh::default()
            });
        }
        let m = &mut self.meshes[material];
        // Each face: its outward axis and sign, then four corners counter-clockwise seen from outside.
        for axis in 0..3 {
            for high in [false, true] {
                let (u, v) = ((axis + 1) % 3, (axis + 2) % 3);
                let at = if high { max[axis] } else { min[axis] };
                let corner = |a: f32, b: f32| {
                    let mut p = [0.0; 3];
                    p[axis] = at;
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

    /// A 2.5 m wall of thickness 0.1 along an axis-aligned segment.
    fn wall(&mut self, material: usize, from: [f32; 2], to: [f32; 2]) {
        let lo = [from[0].min(to[0]) - 0.05, from[1].min(to[1]) - 0.05];
        let hi = [from[0].max(to[0]) + 0.05, from[1].max(to[1]) + 0.05];
        self.cuboid(material, [lo[0], 0.0, lo[1]], [hi[0], 2.5, hi[1]]);
    }
}

const GREY: usize = 0;
const RED: usize = 1;

/// Two 5 x 6 m rooms side by side (x in [0, 10], z in [0, 6]) joined by a doorway at z in [4.6, 5.4], and
/// a 1 x 1 m closet with no door in the corner x in [9, 10], z in [0, 1]. The wall at z = 0 (towards -Z)
/// is red.
fn two_rooms_and_a_closet() -> Scene {
    let mut b = Boxes::default();
    b.cuboid(GREY, [-0.5, -0.1, -0.5], [10.5, 0.0, 6.5]);
    b.cuboid(GREY, [-0.5, 2.5, -0.5], [10.5, 2.6, 6.5]);
    b.wall(RED, [0.0, 0.0], [10.0, 0.0]);
    b.wall(GREY, [0.0, 6.0], [10.0, 6.0]);
    b.wall(GREY, [0.0, 0.0], [0.0, 6.0]);
    b.wall(GREY, [10.0, 0.0], [10.0, 6.0]);
    b.wall(GREY, [5.0, 0.0], [5.0, 4.55]);
    b.wall(GREY, [5.0, 5.45], [5.0, 6.0]);
    b.wall(GREY, [9.0, 0.0], [9.0, 1.0]);
    b.wall(GREY, [9.0, 1.0], [10.0, 1.0]);
    Scene {
        meshes: b.meshes,
        materials: vec![
            Material {
                name: "grey".into(),
                base_color: [0.5, 0.5, 0.5, 1.0],
                ..Material::default()
            },
            Material {
                name: "red".into(),
                base_color: [0.9, 0.05, 0.05, 1.0],
                ..Material::default()
            },
        ],
        textures: vec![],
    }
}

/// `<root>/mp3d/toy/toy.glb` written in `frame`.
fn write_toy(root: &Path, frame: SceneFrame) -> PathBuf {
    let dir = root.join("mp3d/toy");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("toy.glb");
    std::fs::write(
        &path,
        write_scene_glb_with(&two_rooms_and_a_closet(), frame, None),
    )
    .unwrap();
    path
}

fn library(root: &Path) -> SceneLibrary {
    SceneLibrary::new(root, env::body::AgentConfig::r2r(), NavParams::default()).unwrap()
}

/// The height range of the loaded scene: a floor at 0 and a ceiling at 2.6 when read upright.
fn height_range(lib: &SceneLibrary) -> [f32; 2] {
    let b = lib.get("mp3d/toy/toy.glb").unwrap().scene().bounds();
    [b.min[1], b.max[1]]
}

fn upright(range: [f32; 2]) -> bool {
    (range[0] + 0.1).abs() < 1e-5 && (range[1] - 2.6).abs() < 1e-5
}

#[test]
fn a_z_up_scene_is_read_upright_with_no_options() {
    let dir = tempfile::tempdir().unwrap();
    write_toy(dir.path(), SceneFrame::HABITAT);
    let lib = library(dir.path());
    assert!(upright(height_range(&lib)), "{:?}", height_range(&lib));
    let scene = lib.get("mp3d/toy/toy.glb").unwrap();
    assert_eq!(scene.frame, SceneFrame::HABITAT);
    assert_eq!(scene.lighting, SceneLighting::Baked, "unmarked: a scan");
    // Read as authored (`--scene-up y`), the same file lies on its side.
    let sideways = library(dir.path()).with_scene_up(Some(SceneUp::Y));
    assert!(!upright(height_range(&sideways)));
}

#[test]
fn a_y_up_scene_needs_scene_up_y_or_a_dataset_config() {
    let dir = tempfile::tempdir().unwrap();
    write_toy(dir.path(), SceneFrame::Y_UP);
    assert!(!upright(height_range(&library(dir.path()))));
    let flagged = library(dir.path()).with_scene_up(Some(SceneUp::Y));
    assert!(upright(height_range(&flagged)));
    // The navmesh cache of one reading is not reused by the other.
    let pf_flagged = flagged.get("mp3d/toy/toy.glb").unwrap().pathfinder.clone();
    assert!(pf_flagged.is_navigable([2.5, 0.0, 3.0]));

    std::fs::write(
        dir.path().join("toy.scene_dataset_config.json"),
        r#"{"stages": {"default_attributes": {"up": [0, 1, 0], "front": [0, 0, -1]}}}"#,
    )
    .unwrap();
    let configured = library(dir.path());
    assert!(upright(height_range(&configured)));
    assert_eq!(
        configured.get("mp3d/toy/toy.glb").unwrap().frame,
        SceneFrame::Y_UP
    );
    // The command line wins over the config.
    let forced = library(dir.path()).with_scene_up(Some(SceneUp::Z));
    assert!(!upright(height_range(&forced)));
    assert!(!forced
        .get("mp3d/toy/toy.glb")
        .unwrap()
        .pathfinder
        .is_navigable([2.5, 0.0, 3.0]));
}

#[test]
fn our_houses_are_lit_through_the_library() {
    let dir = tempfile::tempdir().unwrap();
    habitat_assets::house::write_house(
        &habitat_assets::house::generate_house(4, &Default::default()),
        dir.path(),
    )
    .unwrap();
    let scene = library(dir.path()).get("house_00004.glb").unwrap();
    assert_eq!(scene.lighting, SceneLighting::Lit);
}

fn episode(id: u64, start: [f64; 3], goal: [f64; 3]) -> Episode {
    serde_json::from_value(serde_json::json!({
        "episode_id": id,
        "scene_id": "mp3d/toy/toy.glb",
        "start_position": start,
        "start_rotation": [0.0, 0.0, 0.0, 1.0],
        "goals": [{"position": goal, "radius": 3.0}],
        "reference_path": [start, goal],
        "instruction": {"instruction_text": "walk to the other room"},
    }))
    .unwrap()
}

#[test]
fn a_start_or_a_goal_shut_in_a_closet_is_not_run_both_ways_and_gets_no_gt() {
    let dir = tempfile::tempdir().unwrap();
    write_toy(dir.path(), SceneFrame::HABITAT);
    let lib = Arc::new(library(dir.path()));
    let closet = [9.5, 0.0, 0.5];
    let episodes = vec![
        episode(1, [1.5, 0.0, 1.5], [7.0, 0.0, 3.0]),
        episode(2, closet, [3.0, 0.0, 3.0]),
        episode(3, [3.0, 0.0, 3.0], closet),
    ];
    for e in &episodes[1..] {
        let err = episode_scene(&lib, e).unwrap_err().to_string();
        assert!(err.contains("no navigable path"), "{}: {err}", e.episode_id);
    }
    assert!(episode_scene(&lib, &episodes[0]).is_ok());

    let (gt, report) = make_gt(&lib, &episodes, FollowerConfig::default());
    assert_eq!(gt.entries.keys().collect::<Vec<_>>(), ["1"]);
    let failed: Vec<&str> = report.failed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(failed, ["2", "3"]);
    assert!(report
        .failed
        .iter()
        .all(|(_, why)| why.contains("no navigable path")));

    let dataset = Arc::new(
        TaskDataset::new(
            EpisodeDataset {
                episodes,
                instruction_vocab: None,
                extra: Default::default(),
            },
            Some(&gt),
        )
        .unwrap(),
    );
    let config = VlnEnvConfig {
        sensors: Sensors::NONE,
        ..VlnEnvConfig::default()
    };
    let mut envs = VecEnv::with_envs(1, lib.clone(), dataset.clone(), config).unwrap();
    let mut log = ResultsLog::open(&dir.path().join("results.jsonl")).unwrap();
    let summary = evaluate(
        &mut envs,
        &mut OraclePolicy::new(FollowerConfig::default()),
        &lib,
        &dataset,
        &[0, 1, 2],
        0,
        &mut log,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((summary.episodes, summary.not_run), (1, 2));
    assert_eq!(summary.sr, 1.0);
    for id in ["2", "3"] {
        let why = log.get(id).unwrap().not_run.clone().unwrap();
        assert!(why.contains("no navigable path"), "{id}: {why}");
    }
}
