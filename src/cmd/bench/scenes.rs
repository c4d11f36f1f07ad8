//! `vln-r1 bench scenes`: load time of a dense procedural house (about a million triangles by default),
//! the same loader path a Matterport3D `.glb` takes.

use std::time::{Duration, Instant};

use anyhow::Context;
use habitat_assets::house::{generate_house, write_house, HouseOptions};

pub struct ScenesBench {
    pub triangles: usize,
    pub seed: u64,
    pub repeats: usize,
}

pub fn run(b: ScenesBench) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let t = Instant::now();
    let house = generate_house(
        b.seed,
        &HouseOptions {
            dense_triangles: Some(b.triangles),
        },
    );
    let generated = t.elapsed();
    let path = write_house(&house, dir.path())?;
    println!(
        "scene: {} ({} triangles, {} vertices, {:.1} MB glb), generated in {:.0} ms",
        house.name,
        house.expected.triangles,
        house.expected.vertices,
        house.glb.len() as f64 / 1e6,
        generated.as_secs_f64() * 1e3
    );
    let mut times = Vec::with_capacity(b.repeats);
    for _ in 0..b.repeats {
        let t = Instant::now();
        let scene = habitat_assets::load_scene(&path)?;
        times.push(t.elapsed());
        anyhow::ensure!(
            scene.triangle_count() == house.expected.triangles,
            "loaded triangle count differs"
        );
    }
    times.sort();
    let best = times[0];
    let median = times[times.len() / 2];
    let per_s = |d: Duration| house.expected.triangles as f64 / d.as_secs_f64();
    println!(
        "load_scene (read + parse + decode + flatten + normals): best {:.1} ms, median {:.1} ms of {}",
        best.as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        b.repeats
    );
    println!(
        "throughput: {:.1} M triangles/s (best), {:.1} M triangles/s (median), {:.0} MB/s of file",
        per_s(best) / 1e6,
        per_s(median) / 1e6,
        house.glb.len() as f64 / 1e6 / best.as_secs_f64()
    );
    Ok(())
}
