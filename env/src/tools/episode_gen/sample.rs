//! Sampling R2R-like episodes in one scene: a start and a goal in different rooms at an R2R-like geodesic
//! distance, a random start heading, a sparse reference path along the geodesic path, the expert's gt
//! trajectory and a generated instruction.

use habitat_assets::SceneMeta;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::instruction::generate_instruction;
use super::routes::TakenRoutes;
use crate::body::{heading_quaternion, AgentState};
use crate::error::{EnvError, Result};
use crate::nav::{ExpertPath, FollowerConfig, ShortestPathFollower};
use crate::task::LoadedScene;

/// Candidate starts tried against one sampled goal.
const START_CANDIDATES: usize = 64;

/// Episode geometry limits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SampleConfig {
    /// Shortest accepted geodesic distance start -> goal (metres). R2R paths are ~5-20 m.
    pub min_geodesic: f32,
    pub max_geodesic: f32,
    /// Target spacing of reference-path waypoints (metres; R2R's navigation-graph nodes are ~2-3 m apart).
    pub waypoint_spacing: f32,
    /// Goals tried per episode before giving up on the scene.
    pub max_attempts: usize,
    /// The expert's action count must stay below this (the task's step cap).
    pub max_actions: usize,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            min_geodesic: 5.0,
            max_geodesic: 20.0,
            waypoint_spacing: 2.5,
            max_attempts: 400,
            max_actions: 500,
        }
    }
}

/// One sampled episode, before ids are assigned.
#[derive(Debug, Clone)]
pub struct SampledEpisode {
    pub start_position: [f64; 3],
    pub start_rotation: [f64; 4],
    pub goal: [f64; 3],
    pub reference_path: Vec<[f64; 3]>,
    pub geodesic_distance: f64,
    pub expert: ExpertPath,
    pub instruction: String,
}

/// Millimetre precision for stored positions (the simulator then runs from exactly the stored values).
fn round_mm(p: [f32; 3]) -> [f64; 3] {
    p.map(|v| (f64::from(v) * 1000.0).round() / 1000.0)
}

fn to_f32(p: [f64; 3]) -> [f32; 3] {
    p.map(|v| v as f32)
}

/// Waypoints along `points` about `spacing` apart (evenly spread), first = start, last = goal.
pub fn resample_path(points: &[[f32; 3]], spacing: f32) -> Vec<[f32; 3]> {
    let Some((&first, rest)) = points.split_first() else {
        return Vec::new();
    };
    if rest.is_empty() {
        return vec![first];
    }
    let seg: Vec<f32> = points
        .windows(2)
        .map(|w| {
            ((w[1][0] - w[0][0]).powi(2)
                + (w[1][1] - w[0][1]).powi(2)
                + (w[1][2] - w[0][2]).powi(2))
            .sqrt()
        })
        .collect();
    let total: f32 = seg.iter().sum();
    let n = ((total / spacing).round() as usize).max(1);
    let step = total / n as f32;
    let mut out = vec![first];
    let (mut k, mut s0) = (0usize, 0.0f32);
    for i in 1..n {
        let target = step * i as f32;
        while k + 1 < seg.len() && s0 + seg[k] < target {
            s0 += seg[k];
            k += 1;
        }
        let t = if seg[k] > 0.0 {
            ((target - s0) / seg[k]).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (a, b) = (points[k], points[k + 1]);
        out.push(std::array::from_fn(|j| a[j] + t * (b[j] - a[j])));
    }
    out.push(*points.last().expect("non-empty"));
    out
}

/// Samples up to `count` episodes in `scene`. Routes already in `taken` are skipped, and the new ones added, so
/// that several calls for one scene (train, then val_seen) never repeat a route. Fewer than `count` come back
/// only when `max_attempts` pairs in a row fail.
pub fn sample_episodes(
    scene: &LoadedScene,
    count: usize,
    config: &SampleConfig,
    rng: &mut ChaCha8Rng,
    taken: &mut TakenRoutes,
) -> Result<Vec<SampledEpisode>> {
    let meta = scene.meta.as_ref().ok_or_else(|| {
        EnvError::Invalid(format!(
            "{}: no {} next to the scene; instructions are generated from scene metadata",
            scene.path.display(),
            SceneMeta::path_for(&scene.path).display()
        ))
    })?;
    let pathfinder = &scene.pathfinder;
    let agent = *pathfinder.agent();
    let mut follower = ShortestPathFollower::new(
        pathfinder.clone(),
        scene.collider.clone(),
        agent,
        FollowerConfig::default(),
    )?;
    let mut out = Vec::with_capacity(count);
    let mut failures = 0;
    while out.len() < count && failures < config.max_attempts {
        failures += 1;
        // Goal first: one distance field to it prices every candidate start at a lookup.
        let Some(b) = pathfinder.sample_navigable_point(rng, None) else {
            break;
        };
        let heading = rng.random_range(0.0..std::f64::consts::TAU);
        let instruction_seed: u64 = rng.random();
        let Some(room_b) = meta.room_at(b) else {
            continue;
        };
        let field = pathfinder.distance_field(b)?;
        let mut start = None;
        for _ in 0..START_CANDIDATES {
            let Some(a) = pathfinder.sample_navigable_point(rng, None) else {
                break;
            };
            let d = field.distance(a);
            if meta.room_at(a).is_some_and(|r| r.name != room_b.name)
                && (config.min_geodesic..=config.max_geodesic).contains(&d)
            {
                start = Some(a);
                break;
            }
        }
        let Some(a) = start else { continue };
        let (a64, b64) = (a.map(f64::from), b.map(f64::from));
        if taken.contains(a64, b64) {
            continue;
        }
        // Stored precision first, so that everything below (and any later replay) starts from the same numbers.
        let (start, goal) = (round_mm(a), round_mm(b));
        let Some(path) = pathfinder.find_path(to_f32(start), to_f32(goal))? else {
            continue;
        };
        if !(config.min_geodesic..=config.max_geodesic).contains(&path.distance) {
            continue;
        }
        let mut reference: Vec<[f64; 3]> = resample_path(&path.points, config.waypoint_spacing)
            .into_iter()
            .map(round_mm)
            .collect();
        if reference.len() < 2 {
            continue;
        }
        // Not the snapped path ends: the episode's own start and goal.
        let last = reference.len() - 1;
        reference[0] = start;
        reference[last] = goal;
        let rotation = heading_quaternion(heading).map(|v| (f64::from(v) * 1e6).round() / 1e6);
        let state = AgentState {
            position: to_f32(start),
            rotation: rotation.map(|v| v as f32),
        };
        let reference_f32: Vec<[f32; 3]> = reference.iter().map(|p| to_f32(*p)).collect();
        let expert = follower.rollout(state, &reference_f32)?;
        if !expert.reached || expert.actions.len() >= config.max_actions {
            continue;
        }
        let mut text_rng = ChaCha8Rng::seed_from_u64(instruction_seed);
        let instruction = generate_instruction(&path.points, state.heading(), meta, &mut text_rng);
        taken.insert(a64, b64);
        failures = 0;
        out.push(SampledEpisode {
            start_position: start,
            start_rotation: rotation.map(f64::from),
            goal,
            reference_path: reference,
            geodesic_distance: f64::from(path.distance),
            expert,
            instruction,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampled_waypoints_are_evenly_spread_and_keep_the_ends() {
        let path = [[0.0, 0.0, 0.0], [6.0, 0.0, 0.0], [6.0, 0.0, 4.0]];
        let w = resample_path(&path, 2.5);
        assert_eq!(w.first(), Some(&[0.0, 0.0, 0.0]));
        assert_eq!(w.last(), Some(&[6.0, 0.0, 4.0]));
        assert_eq!(w.len(), 5, "10 m at ~2.5 m: 4 legs");
        let legs: Vec<f32> = w
            .windows(2)
            .map(|p| (p[1][0] - p[0][0]).abs() + (p[1][2] - p[0][2]).abs())
            .collect();
        assert!(legs.iter().all(|l| (l - 2.5).abs() < 1e-4), "{legs:?}");
        assert_eq!(
            resample_path(&[[1.0, 0.0, 1.0]], 2.5),
            vec![[1.0, 0.0, 1.0]]
        );
        assert_eq!(resample_path(&[[0.0; 3], [0.5, 0.0, 0.0]], 2.5).len(), 2);
    }
}
