//! The visibility-graph geodesics (`find_path`) against the grid A* they replaced (`find_path_grid`) on
//! shipped houses, a two-storey one with stairs included: within 2% on random pairs, unreachable pairs stay
//! unreachable.

use std::time::Instant;

use env::body::AgentConfig;
use env::nav::{NavParams, PathFinder};
use habitat_assets::shipped;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The first shipped house and the first with two storeys.
fn houses() -> Vec<(String, PathFinder)> {
    let splits = shipped::splits().expect("shipped splits.json");
    let names: Vec<&String> = splits.train.iter().chain(&splits.val_unseen).collect();
    let scene = |name: &str| habitat_assets::load_scene(shipped::scene_path(name)).unwrap();
    let first = names[0].clone();
    let tall = names
        .iter()
        .find(|n| scene(n).bounds().size()[1] > 4.5)
        .expect("a shipped house with two storeys");
    [first, tall.to_string()]
        .into_iter()
        .map(|name| {
            let pf = PathFinder::build(&scene(&name), &AgentConfig::r2r(), &NavParams::default())
                .unwrap();
            (name, pf)
        })
        .collect()
}

#[test]
fn graph_geodesics_match_the_grid_search_within_two_percent() {
    for (name, pf) in houses() {
        let t = Instant::now();
        let (nodes, pairs) = pf.visibility_graph_size();
        eprintln!(
            "{name}: {nodes} nodes, {pairs} sight lines, built in {:.2} s",
            t.elapsed().as_secs_f32()
        );
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (mut worst, mut climbs) = (0.0f32, 0);
        for _ in 0..60 {
            let a = pf.sample_navigable_point(&mut rng, None).unwrap();
            let b = pf.sample_navigable_point(&mut rng, None).unwrap();
            let fast = pf.find_path(a, b).unwrap().expect("same island");
            let grid = pf.find_path_grid(a, b).unwrap().expect("same island");
            let rel = (fast.distance - grid.distance).abs() / grid.distance.max(0.5);
            assert!(
                rel <= 0.02,
                "{name}: {a:?} -> {b:?}: graph {} {:?} vs grid {} {:?}",
                fast.distance,
                fast.points,
                grid.distance,
                grid.points
            );
            worst = worst.max(rel);
            climbs += usize::from((a[1] - b[1]).abs() > 1.0);
            // The polyline is the distance it reports, from one end to the other.
            let length: f32 = fast
                .points
                .windows(2)
                .map(|w| {
                    (0..3)
                        .map(|k| (w[0][k] - w[1][k]).powi(2))
                        .sum::<f32>()
                        .sqrt()
                })
                .sum();
            assert!((length - fast.distance).abs() < 1e-3 * fast.distance.max(1.0));
            assert_eq!(
                fast.points.first(),
                Some(&pf.snap_point(a).unwrap().position)
            );
            assert_eq!(
                fast.points.last(),
                Some(&pf.snap_point(b).unwrap().position)
            );
        }
        eprintln!("{name}: largest relative difference {worst:.4}, {climbs} pairs across storeys");
        if name != houses_first_name() {
            assert!(climbs > 0, "{name}: no pair crossed the stairs");
        }
    }
}

fn houses_first_name() -> String {
    let splits = shipped::splits().unwrap();
    splits
        .train
        .iter()
        .chain(&splits.val_unseen)
        .next()
        .unwrap()
        .clone()
}

#[test]
fn pairs_on_different_islands_stay_unreachable() {
    for (name, pf) in houses() {
        let s = pf.surface();
        let areas = s.island_areas();
        if areas.len() < 2 {
            continue;
        }
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let largest = s.largest_island().unwrap();
        let other = (0..areas.len() as u32).find(|&i| i != largest).unwrap();
        let a = pf.sample_navigable_point(&mut rng, Some(largest)).unwrap();
        let b = pf.sample_navigable_point(&mut rng, Some(other)).unwrap();
        assert_eq!(pf.geodesic_distance(a, b).unwrap(), f32::INFINITY, "{name}");
        assert!(pf.find_path(b, a).unwrap().is_none(), "{name}");
    }
}
