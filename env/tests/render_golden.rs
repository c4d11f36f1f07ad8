//! Golden frames of shipped houses: small renders compared with committed PNGs by mean absolute difference,
//! so deliberate renderer changes that keep the pictures right pass and broken frames fail.
//!
//! Regenerate (after checking the new frames by eye):
//! `UPDATE_GOLDEN=1 cargo test -p env --test render_golden`

use std::path::PathBuf;

use env::render::{
    sample_floor_poses, RenderConfig, Renderer, SceneRenderData, DEFAULT_SENSOR_HEIGHT,
};
use habitat_assets::shipped;

/// Mean absolute difference per channel (0..255) tolerated against the golden image.
const MAX_MEAN_ABS_DIFF: f64 = 4.0;

const CASES: [(&str, u64); 3] = [("house_00000", 7), ("house_00002", 2), ("house_00012", 3)];

fn golden_path(name: &str, seed: u64) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}_pose{seed}.png"))
}

#[test]
fn shipped_houses_render_like_their_golden_frames() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut renderer = Renderer::new(RenderConfig::new(96, 96, 90.0)).unwrap();
    for (name, seed) in CASES {
        let scene = habitat_assets::load_scene(shipped::scene_path(name)).unwrap();
        let data = SceneRenderData::new(&scene);
        let pose = sample_floor_poses(&scene, 1, seed, DEFAULT_SENSOR_HEIGHT)[0];
        let frame = renderer.render(&data, &pose);
        // A room, not a blank frame: several distinct colours and no large empty (background) area.
        let rgb = frame.rgb();
        let empty = rgb.chunks_exact(3).filter(|p| p == &[0, 0, 0]).count();
        assert!(
            empty < rgb.len() / 3 / 10,
            "{name}: {empty} background pixels"
        );
        let path = golden_path(name, seed);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            frame.save_png(&path).unwrap();
            continue;
        }
        let golden = image::open(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (regenerate with UPDATE_GOLDEN=1)", path.display()))
            .to_rgb8();
        assert_eq!(golden.dimensions(), (96, 96), "{}", path.display());
        let diff: u64 = golden
            .as_raw()
            .iter()
            .zip(rgb)
            .map(|(&a, &b)| (a as i64 - b as i64).unsigned_abs())
            .sum();
        let mean = diff as f64 / rgb.len() as f64;
        assert!(
            mean <= MAX_MEAN_ABS_DIFF,
            "{name}: mean abs diff {mean:.2} > {MAX_MEAN_ABS_DIFF} against {} (if the change is intended, look at \
             the new frame and regenerate with UPDATE_GOLDEN=1)",
            path.display()
        );
    }
}
