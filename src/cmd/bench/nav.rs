//! `vln-r1 bench nav`: navigable-surface build time per shipped house, physics-only env steps per second on
//! one core, geodesic queries per second (the visibility graph next to the grid A* it replaced, on the same
//! random pairs), and expert actions per second. `--scene FILE` measures the geodesics of one scene only.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use env::body::{AgentConfig, AgentState, Body, SceneCollider};
use env::nav::{FollowerConfig, NavParams, PathFinder, ShortestPathFollower};
use episodes::Action;
use habitat_assets::{shipped, Scene};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub struct NavBench {
    /// Env steps per agent preset (spread over the houses).
    pub steps: usize,
    /// Geodesic queries per agent preset.
    pub queries: usize,
    /// Expert rollouts per agent preset.
    pub rollouts: usize,
    /// Grid A* queries timed for the comparison (it is ~1000x slower), a prefix of the same pairs.
    pub grid_queries: usize,
    pub seed: u64,
    /// Only the geodesics of this scene (R2R agent).
    pub scene: Option<PathBuf>,
    /// With `scene`: one JSON object on one line.
    pub json: bool,
}

struct House {
    name: String,
    pathfinder: Arc<PathFinder>,
    collider: Arc<SceneCollider>,
}

pub fn run(b: NavBench) -> anyhow::Result<()> {
    if let Some(path) = &b.scene {
        return one_scene(path, &b);
    }
    let splits = shipped::splits()?;
    let names: Vec<String> = splits
        .train
        .iter()
        .chain(&splits.val_unseen)
        .cloned()
        .collect();
    let scenes: Vec<(String, Scene)> = names
        .iter()
        .map(|n| {
            Ok((
                n.clone(),
                habitat_assets::load_scene(shipped::scene_path(n))?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    for (preset, agent) in [("R2R", AgentConfig::r2r()), ("RxR", AgentConfig::rxr())] {
        println!(
            "== {preset} agent: radius {} m, height {} m, {} deg turns, sliding {}",
            agent.radius, agent.height, agent.turn_angle_deg, agent.allow_sliding
        );
        let houses = build_all(&scenes, &agent)?;
        physics(&houses, &agent, b.steps, b.seed)?;
        geodesics(&houses, b.queries, b.grid_queries, b.seed)?;
        expert(&houses, &agent, b.rollouts, b.seed)?;
    }
    Ok(())
}

fn build_all(scenes: &[(String, Scene)], agent: &AgentConfig) -> anyhow::Result<Vec<House>> {
    let mut houses = Vec::new();
    let mut total = Duration::ZERO;
    for (name, scene) in scenes {
        let t = Instant::now();
        let pathfinder = PathFinder::build(scene, agent, &NavParams::default())?;
        let built = t.elapsed();
        total += built;
        let t = Instant::now();
        let collider = SceneCollider::new(scene)?;
        let s = pathfinder.surface();
        println!(
            "  {name}: {} triangles, surface built in {:.0} ms ({} cells, {:.0} m2 navigable), collider in {:.1} ms",
            scene.triangle_count(),
            built.as_secs_f64() * 1e3,
            s.span_count(),
            s.navigable_area(),
            t.elapsed().as_secs_f64() * 1e3
        );
        houses.push(House {
            name: name.clone(),
            pathfinder: Arc::new(pathfinder),
            collider: Arc::new(collider),
        });
    }
    println!(
        "  surface build: {:.0} ms per house on average",
        total.as_secs_f64() * 1e3 / scenes.len() as f64
    );
    Ok(houses)
}

fn start_state(pf: &PathFinder, rng: &mut ChaCha8Rng) -> anyhow::Result<AgentState> {
    let p = pf
        .sample_navigable_point(rng, None)
        .context("a house without navigable surface")?;
    Ok(AgentState::from_heading(
        p,
        rng.random_range(-std::f64::consts::PI..std::f64::consts::PI),
    ))
}

/// Random actions (60% forward, 20% each turn, as in expert trajectories), 100-step episodes.
fn physics(houses: &[House], agent: &AgentConfig, steps: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let actions: Vec<Action> = (0..steps)
        .map(|_| match rng.random_range(0..10) {
            0..6 => Action::MoveForward,
            6..8 => Action::TurnLeft,
            _ => Action::TurnRight,
        })
        .collect();
    let starts: Vec<AgentState> = (0..steps.div_ceil(100))
        .map(|k| start_state(&houses[k % houses.len()].pathfinder, &mut rng))
        .collect::<anyhow::Result<_>>()?;
    let mut bodies: Vec<Body> = houses
        .iter()
        .map(|h| Body::new(h.collider.clone(), *agent, starts[0]))
        .collect::<env::Result<_>>()?;
    let (mut forward, mut collisions) = (0usize, 0usize);
    let t = Instant::now();
    for (episode, chunk) in actions.chunks(100).enumerate() {
        let body = &mut bodies[episode % houses.len()];
        body.reset(starts[episode]);
        for &a in chunk {
            let out = body.step(a);
            forward += usize::from(a == Action::MoveForward);
            collisions += usize::from(out.collided);
        }
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "  physics: {:.0} env steps/s on one core ({steps} steps, {forward} forward, {collisions} collided; {:.2} us per forward step)",
        steps as f64 / dt,
        dt * 1e6 / forward.max(1) as f64
    );
    Ok(())
}

fn geodesics(
    houses: &[House],
    queries: usize,
    grid_queries: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 1);
    let pairs: Vec<(usize, [f32; 3], [f32; 3])> = (0..queries)
        .map(|k| {
            let h = k % houses.len();
            let pf = &houses[h].pathfinder;
            let a = pf
                .sample_navigable_point(&mut rng, None)
                .context("no navigable surface")?;
            let b = pf
                .sample_navigable_point(&mut rng, None)
                .context("no navigable surface")?;
            Ok((h, a, b))
        })
        .collect::<anyhow::Result<_>>()?;
    let c = compare(&pairs, |h| &houses[h].pathfinder, grid_queries)?;
    println!(
        "  geodesic_distance: {:.0} queries/s (visibility graph, built in {:.2} s per house) vs {:.0} (grid A* + \
string pulling, first {} pairs): {:.0}x; largest relative difference {:.4} (graph longer by at most {:.4}, \
shorter by at most {:.4}); mean {:.2} m",
        c.graph_qps,
        c.build_seconds / houses.len() as f64,
        c.grid_qps,
        c.grid_pairs,
        c.graph_qps / c.grid_qps,
        c.max_rel_diff,
        c.max_longer,
        c.max_shorter,
        c.mean_distance
    );
    // Fields: built lazily, so time a full settle (the worst case: every cell of the house) on fresh goals.
    let fields = houses.len().min(queries);
    let t = Instant::now();
    let built: Vec<_> = pairs[..fields]
        .iter()
        .map(|&(h, _, b)| {
            let f = houses[h].pathfinder.distance_field(b)?;
            f.settle_all();
            Ok(f)
        })
        .collect::<anyhow::Result<_>>()?;
    let field_time = t.elapsed().as_secs_f64() / fields as f64;
    let t = Instant::now();
    let mut sum = 0.0f32;
    for &(h, a, _) in &pairs {
        sum += built[h % fields].distance(a).min(1e6);
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "  distance field: {:.1} ms to settle a whole house, then {:.0} lookups/s (checksum {sum:.0})",
        field_time * 1e3,
        queries as f64 / dt
    );
    Ok(())
}

fn expert(houses: &[House], agent: &AgentConfig, rollouts: usize, seed: u64) -> anyhow::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed + 2);
    let (mut actions, mut reached) = (0usize, 0usize);
    let t = Instant::now();
    for k in 0..rollouts {
        let h = &houses[k % houses.len()];
        let start = start_state(&h.pathfinder, &mut rng)?;
        let goal = h
            .pathfinder
            .sample_navigable_point(&mut rng, None)
            .context("no navigable surface")?;
        let mut f = ShortestPathFollower::new(
            h.pathfinder.clone(),
            h.collider.clone(),
            *agent,
            FollowerConfig::default(),
        )?;
        let out = f
            .rollout(start, &[start.position, goal])
            .with_context(|| format!("rollout in {}", h.name))?;
        actions += out.actions.len();
        reached += usize::from(out.reached);
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "  expert: {rollouts} rollouts to random goals, {reached} reached, {:.0} actions/s including field builds",
        actions as f64 / dt
    );
    Ok(())
}

/// The new and the old point-to-point search on the same pairs.
struct Comparison {
    graph_qps: f64,
    grid_qps: f64,
    grid_pairs: usize,
    /// Largest |graph - grid| / grid over the pairs both answered.
    max_rel_diff: f64,
    /// Largest (graph - grid) / grid: how much longer the graph's route is than A*'s, at worst.
    max_longer: f64,
    /// Largest (grid - graph) / grid: A*'s 8-connected, string-pulled route is no exact shortest path either,
    /// so the graph (a valid route on the same surface) is often the shorter one.
    max_shorter: f64,
    mean_distance: f64,
    /// Building the visibility graphs (first query of each path finder), all houses together.
    build_seconds: f64,
}

fn compare<'p>(
    pairs: &[(usize, [f32; 3], [f32; 3])],
    pathfinder: impl Fn(usize) -> &'p PathFinder,
    grid_queries: usize,
) -> anyhow::Result<Comparison> {
    let t = Instant::now();
    let mut built = std::collections::HashSet::new();
    for &(h, _, _) in pairs {
        if built.insert(h) {
            pathfinder(h).visibility_graph_size();
        }
    }
    let build_seconds = t.elapsed().as_secs_f64();
    // The graph answers in microseconds: repeat the pairs for at least half a second.
    let mut graph = vec![0.0f32; pairs.len()];
    let (mut rounds, t) = (0usize, Instant::now());
    while rounds == 0 || t.elapsed().as_secs_f64() < 0.5 {
        for (k, &(h, a, b)) in pairs.iter().enumerate() {
            graph[k] = pathfinder(h).geodesic_distance(a, b)?;
        }
        rounds += 1;
    }
    let graph_qps = (rounds * pairs.len()) as f64 / t.elapsed().as_secs_f64();
    let grid_pairs = grid_queries.clamp(1, pairs.len());
    let t = Instant::now();
    let (mut max_rel_diff, mut max_longer, mut max_shorter) = (0.0f64, 0.0f64, 0.0f64);
    for (k, &(h, a, b)) in pairs[..grid_pairs].iter().enumerate() {
        let grid = pathfinder(h)
            .find_path_grid(a, b)?
            .map_or(f32::INFINITY, |p| p.distance);
        let rel = if grid.is_finite() && graph[k].is_finite() {
            let signed = f64::from((graph[k] - grid) / grid.max(1e-3));
            max_longer = max_longer.max(signed);
            max_shorter = max_shorter.max(-signed);
            signed.abs()
        } else if grid == graph[k] {
            0.0
        } else {
            f64::INFINITY
        };
        max_rel_diff = max_rel_diff.max(rel);
    }
    let grid_qps = grid_pairs as f64 / t.elapsed().as_secs_f64();
    let finite: Vec<f64> = graph
        .iter()
        .filter(|d| d.is_finite())
        .map(|&d| f64::from(d))
        .collect();
    Ok(Comparison {
        graph_qps,
        grid_qps,
        grid_pairs,
        max_rel_diff,
        max_longer,
        max_shorter,
        mean_distance: finite.iter().sum::<f64>() / finite.len().max(1) as f64,
        build_seconds,
    })
}

/// `bench nav --scene FILE`: geodesics of one scene for the R2R agent.
fn one_scene(path: &std::path::Path, b: &NavBench) -> anyhow::Result<()> {
    let scene =
        habitat_assets::load_scene(path).with_context(|| format!("loading {}", path.display()))?;
    let t = Instant::now();
    let pf = PathFinder::build(&scene, &AgentConfig::r2r(), &NavParams::default())
        .with_context(|| format!("navigable surface of {}", path.display()))?;
    let surface_seconds = t.elapsed().as_secs_f64();
    let mut rng = ChaCha8Rng::seed_from_u64(b.seed + 1);
    let pairs: Vec<(usize, [f32; 3], [f32; 3])> = (0..b.queries.max(1))
        .map(|_| {
            let a = pf.sample_navigable_point(&mut rng, None);
            let c = pf.sample_navigable_point(&mut rng, None);
            a.zip(c)
                .map(|(a, c)| (0, a, c))
                .with_context(|| format!("{} has no navigable surface", path.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    let c = compare(&pairs, |_| &pf, b.grid_queries)?;
    let (nodes, sight_lines) = pf.visibility_graph_size();
    let report = serde_json::json!({
        "scene": path.display().to_string(),
        "queries": pairs.len(),
        "geodesic_queries_per_second": c.graph_qps,
        "grid_astar_queries_per_second": c.grid_qps,
        "grid_astar_queries": c.grid_pairs,
        "speedup": c.graph_qps / c.grid_qps,
        "max_relative_difference": c.max_rel_diff,
        "max_longer_than_grid": c.max_longer,
        "max_shorter_than_grid": c.max_shorter,
        "mean_distance_m": c.mean_distance,
        "surface_build_seconds": surface_seconds,
        "graph_build_seconds": c.build_seconds,
        "graph_nodes": nodes,
        "graph_sight_lines": sight_lines,
    });
    if b.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
