//! Point-to-point geodesic throughput on shipped houses, without the CLI (no libtorch):
//!
//! ```text
//! cargo run --release -p env --example geodesic_qps -- habitat_assets/scenes/house_00002.glb [more.glb ...]
//! ```
//!
//! The same random pairs as `vln-r1 bench nav --scene FILE` (2,000 pairs, seed 0, R2R agent): queries per
//! second of `geodesic_distance` (visibility graph), of snapping alone, the share of pairs that see each
//! other, and the largest relative difference from the grid A* on the first pairs.
//! Environment: `QUERIES` (2000), `GRID` (200 A* pairs), `SECONDS` (1.0 of repeated queries), `SNAP=0`
//! skips timing the snaps alone.

use std::time::Instant;

use env::body::AgentConfig;
use env::nav::{NavParams, PathFinder};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn var(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let queries = var("QUERIES", 2000.0) as usize;
    let grid = var("GRID", 200.0) as usize;
    let seconds = var("SECONDS", 1.0);
    for path in std::env::args().skip(1) {
        let scene = habitat_assets::load_scene(&path)?;
        let pf = PathFinder::build(&scene, &AgentConfig::r2r(), &NavParams::default())?;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let pairs: Vec<([f32; 3], [f32; 3])> = (0..queries)
            .map(|_| {
                let a = pf.sample_navigable_point(&mut rng, None).expect("surface");
                let b = pf.sample_navigable_point(&mut rng, None).expect("surface");
                (a, b)
            })
            .collect();
        let t = Instant::now();
        let (nodes, sight) = pf.visibility_graph_size();
        let build = t.elapsed().as_secs_f64();
        let straight = pairs
            .iter()
            .filter(|&&(a, b)| {
                pf.find_path(a, b)
                    .unwrap()
                    .is_some_and(|p| p.points.len() == 2)
            })
            .count();
        // Wall clock and this thread's CPU time: the machine may be shared.
        let time = |f: &dyn Fn([f32; 3], [f32; 3]) -> f32| {
            let (mut rounds, mut sum, t, cpu) = (0usize, 0.0f32, Instant::now(), cpu_seconds());
            while rounds == 0 || t.elapsed().as_secs_f64() < seconds {
                for &(a, b) in &pairs {
                    sum += f(a, b).min(1e6);
                }
                rounds += 1;
            }
            let n = (rounds * pairs.len()) as f64;
            std::hint::black_box(sum);
            (
                n / t.elapsed().as_secs_f64(),
                n / (cpu_seconds() - cpu).max(1e-9),
            )
        };
        let (qps, cpu_qps) = time(&|a, b| pf.geodesic_distance(a, b).unwrap());
        let (snap_qps, _) = if var("SNAP", 1.0) > 0.0 {
            time(&|a, b| pf.snap_point(a).unwrap().distance + pf.snap_point(b).unwrap().distance)
        } else {
            (0.0, 0.0)
        };
        // The grid A* (with string pulling) is an approximation too: say on which side the largest gaps lie.
        let (mut max_rel, mut max_graph_longer) = (0.0f32, 0.0f32);
        let t = Instant::now();
        for &(a, b) in &pairs[..grid.min(pairs.len())] {
            let g = pf.geodesic_distance(a, b).unwrap();
            let r = pf
                .find_path_grid(a, b)
                .unwrap()
                .map_or(f32::INFINITY, |p| p.distance);
            let rel = if g.is_finite() && r.is_finite() {
                (g - r).abs() / r.max(1e-3)
            } else if g == r {
                0.0
            } else {
                f32::INFINITY
            };
            max_rel = max_rel.max(rel);
            if g.is_finite() && r.is_finite() {
                max_graph_longer = max_graph_longer.max((g - r) / r.max(1e-3));
            }
        }
        let grid_s = t.elapsed().as_secs_f64();
        println!(
            "{path}: {qps:.0} geodesic q/s ({cpu_qps:.0} per CPU second), {snap_qps:.0} snap-pairs/s, {:.0}% straight, max rel diff {max_rel:.4} \
(graph longer by at most {max_graph_longer:.4}) over {grid} A* pairs ({:.1} ms each), graph {nodes} nodes / {sight} sight lines built in {build:.2} s, \
{} islands",
            100.0 * straight as f64 / pairs.len() as f64,
            grid_s * 1e3 / grid.max(1) as f64,
            pf.surface().island_areas().len(),
        );
    }
    Ok(())
}

/// This thread's CPU time so far (Linux scheduler statistics), or 0 where unavailable.
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |ns| ns * 1e-9)
}
