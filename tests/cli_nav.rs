//! End-to-end: `vln-r1 nav sample` and `vln-r1 nav geodesic` on a copy of a shipped house.

use std::path::Path;

mod common;
use common::{ok as stdout, vln_r1};

fn vec3(line: &str) -> [f32; 3] {
    let v: Vec<f32> = line.split(',').map(|x| x.parse().unwrap()).collect();
    [v[0], v[1], v[2]]
}

#[test]
fn nav_sample_and_geodesic_on_a_shipped_house() {
    let dir = tempfile::tempdir().unwrap();
    let scene = dir.path().join("house.glb");
    std::fs::copy(habitat_assets::shipped::scene_path("house_00000"), &scene).unwrap();
    let scene = scene.to_str().unwrap();

    let first = vln_r1(&[
        "nav", "sample", "--scene", scene, "--count", "3", "--seed", "4",
    ]);
    assert!(String::from_utf8_lossy(&first.stderr).contains("built the navigable surface"));
    let points: Vec<[f32; 3]> = stdout(&first).lines().map(vec3).collect();
    assert_eq!(points.len(), 3);
    assert!(
        cache_files(dir.path()) == 1,
        "the surface is cached next to the scene"
    );

    let (a, b) = (points[0], points[1]);
    let from = format!("{},{},{}", a[0], a[1], a[2]);
    let to = format!("{},{},{}", b[0], b[1], b[2]);
    let out = vln_r1(&[
        "nav", "geodesic", "--scene", scene, "--from", &from, "--to", &to, "--path",
    ]);
    assert!(
        out.stderr.is_empty(),
        "loaded from the cache: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    let mut lines = text.lines();
    let d: f32 = lines.next().unwrap().parse().unwrap();
    let path: Vec<[f32; 3]> = lines.map(vec3).collect();
    let straight = ((a[0] - b[0]).powi(2) + (a[2] - b[2]).powi(2)).sqrt();
    assert!(
        d >= straight - 1e-3,
        "geodesic {d} shorter than the straight line {straight}"
    );
    assert_eq!(path.first(), Some(&a));
    assert_eq!(path.last(), Some(&b));
    let length: f32 = path
        .windows(2)
        .map(|w| {
            ((w[0][0] - w[1][0]).powi(2)
                + (w[0][1] - w[1][1]).powi(2)
                + (w[0][2] - w[1][2]).powi(2))
            .sqrt()
        })
        .sum();
    assert!((length - d).abs() < 1e-3);

    // Negative coordinates parse; a point far outside the house is refused with a clear message.
    let out = vln_r1(&[
        "nav",
        "geodesic",
        "--scene",
        scene,
        "--from",
        "-20,0,-20.5",
        "--to",
        &to,
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("no navigable point within 0.5 m of [-20.0, 0.0, -20.5]"));
}

fn cache_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".navmesh."))
        .count()
}
