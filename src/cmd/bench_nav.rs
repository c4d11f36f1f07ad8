//! `vln-r1 bench nav`: navigable-surface build time per shipped house, physics-only env steps per second on
//! one core, geodesic queries per second, and expert actions per second.

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
    pub seed: u64,
}

struct House {
    name: String,
    pathfinder: Arc<PathFinder>,
    collider: Arc<SceneCollider>,
}

pub fn run(b: NavBench) -> anyhow::Result<()> {
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
        geodesics(&houses, b.queries, b.seed)?;
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

fn geodesics(houses: &[House], queries: usize, seed: u64) -> anyhow::Result<()> {
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
    let t = Instant::now();
    let mut total = 0.0f64;
    for &(h, a, b) in &pairs {
        total += f64::from(houses[h].pathfinder.geodesic_distance(a, b)?);
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "  geodesic_distance (A* + string pulling): {:.0} queries/s, mean {:.2} m",
        queries as f64 / dt,
        total / queries as f64
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
