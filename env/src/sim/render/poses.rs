//! Plausible camera poses without a navmesh: standing on floor-level upward-facing surfaces, random heading.
//! For benchmarks and smoke tests; episodes take their poses from the navigation module.

use habitat_assets::Scene;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::camera::CameraPose;
use super::floors::{floor_triangles, levels_of};

/// `count` poses at `sensor_height` above random points of the floors (area-weighted; covered upward-facing
/// surfaces within 0.15 m of a storey's floor height, so roofs and table tops are skipped), deterministic
/// in `seed`. Empty when the scene has no floor.
pub fn sample_floor_poses(
    scene: &Scene,
    count: usize,
    seed: u64,
    sensor_height: f32,
) -> Vec<CameraPose> {
    let all = floor_triangles(scene);
    let levels = levels_of(&all);
    let mut floors: Vec<[[f32; 3]; 3]> = Vec::new();
    let mut cumulative: Vec<f64> = Vec::new();
    let mut total = 0.0f64;
    for f in all {
        if levels.iter().any(|l| (l - f.height).abs() <= 0.15) {
            total += f.area as f64;
            floors.push(f.corners);
            cumulative.push(total);
        }
    }
    if floors.is_empty() {
        return Vec::new();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| {
            let pick = rng.random_range(0.0..total);
            let i = cumulative
                .partition_point(|&c| c <= pick)
                .min(floors.len() - 1);
            let [a, b, c] = floors[i];
            let (mut u, mut v): (f32, f32) = (rng.random(), rng.random());
            if u + v > 1.0 {
                (u, v) = (1.0 - u, 1.0 - v);
            }
            let p = [0, 1, 2].map(|k| a[k] + u * (b[k] - a[k]) + v * (c[k] - a[k]));
            let heading = rng.random_range(-std::f32::consts::PI..std::f32::consts::PI);
            CameraPose::from_agent(p, heading, sensor_height)
        })
        .collect()
}
