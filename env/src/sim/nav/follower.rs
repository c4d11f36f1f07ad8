//! The expert: a shortest-path follower that picks MOVE_FORWARD / TURN_LEFT / TURN_RIGHT / STOP.
//!
//! Instead of steering towards the next path corner (Habitat's follower, which fails on stairs and near
//! walls), it simulates one forward step of the real body for each heading it can turn to, and heads for the
//! one whose landing point has the smallest geodesic distance (route cost) to the goal, unless the current
//! heading's landing point is within `heading_slack` of that (then it walks on: see [`FollowerConfig`]).
//! The chosen step is committed to for the current position, and turning does not change the position, so
//! the agent never flips between left and right. When no single step gets closer (a passage the discrete moves cannot take
//! head-on, sliding off), a bounded best-first search over forward-move sequences finds a short detour that
//! ends closer, and the whole detour is committed to. Every committed plan ends closer to the goal than
//! where it started, so the agent cannot loop.

use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::sync::Arc;

use episodes::Action;

use crate::body::{AgentConfig, AgentState, Body, SceneCollider};
use crate::error::{EnvError, Result};
use crate::nav::{DistanceField, PathFinder};

/// A forward step must bring the agent at least this much closer to count as progress (metres).
const MIN_PROGRESS: f32 = 0.01;
/// Headings whose landing distances differ by less than this are equally good; the fewest turns wins.
const TIE: f32 = 1e-3;
/// Longest sequence of forward moves the escape search tries, and how many positions it may expand.
const ESCAPE_DEPTH: usize = 8;
const ESCAPE_EXPANSIONS: usize = 400;

/// Follower tolerances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FollowerConfig {
    /// STOP within this geodesic distance of the final goal.
    pub goal_radius: f32,
    /// An intermediate reference-path waypoint counts as visited within this distance.
    pub waypoint_radius: f32,
    /// Actions after which a rollout gives up (the episode limit of the task is separate).
    pub max_steps: usize,
    /// Added to the landing distance of a step that slid along an obstacle, so clean steps are preferred.
    pub collision_penalty: f32,
    /// Room beyond the agent radius that routes prefer to keep from obstacles (0 follows the plain
    /// geodesic): gaps barely wider than the agent are avoided when a roomier way is not much longer.
    pub clearance_margin: f32,
    /// Keep the current heading while its forward step lands at most this much farther (metres of route
    /// cost) than the best heading's. 0 re-aims at every step, which on a path between two of the discrete
    /// headings alternates FORWARD with single 15-degree corrections (FRFLFR...); a slack lets the expert
    /// walk straight and correct once the drift is worth a turn, as a person would.
    pub heading_slack: f32,
}

impl Default for FollowerConfig {
    fn default() -> Self {
        FollowerConfig {
            goal_radius: 0.25,
            waypoint_radius: 0.5,
            max_steps: 2000,
            collision_penalty: 0.05,
            clearance_margin: 0.1,
            heading_slack: 0.04,
        }
    }
}

impl FollowerConfig {
    /// The defaults, stopping within `stop_radius` of the goal when one is given (`datagen --stop-radius`,
    /// `rft` `online.stop_radius`).
    pub fn stopping_within(stop_radius: Option<f32>) -> FollowerConfig {
        let default = FollowerConfig::default();
        FollowerConfig {
            goal_radius: stop_radius.unwrap_or(default.goal_radius),
            ..default
        }
    }
}

/// What the follower decides for one state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the radius of the target.
    Reached,
    Act(Action),
    /// No step or pair of steps gets closer (or the target is unreachable).
    Stuck,
}

/// A ground-truth trajectory in VLN-CE gt semantics.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpertPath {
    /// Every action taken; the last is STOP.
    pub actions: Vec<Action>,
    /// Start position, then the position after every action that moved the agent.
    pub locations: Vec<[f32; 3]>,
    /// Actions that moved the agent (`locations.len() - 1`).
    pub forward_steps: usize,
    /// The final goal was reached within `goal_radius` before STOP.
    pub reached: bool,
    /// Geodesic distance from the final position to the final goal.
    pub final_distance: f32,
}

/// Forward moves the follower has committed to: from each position, the absolute heading to take. Turning
/// keeps the position, so the plan survives the turns; any position it did not predict discards it.
#[derive(Debug, Clone, Default)]
struct Plan {
    goal: [u32; 3],
    /// The body's start heading: turn-step indices are relative to it.
    base: u64,
    steps: VecDeque<([u32; 3], u32)>,
}

/// Greedy geodesic follower over the simulated body. A clone carries the committed plan, so a look-ahead copy
/// decides exactly as the original would from the same state.
#[derive(Clone)]
pub struct ShortestPathFollower {
    pathfinder: Arc<PathFinder>,
    collider: Arc<SceneCollider>,
    agent: AgentConfig,
    config: FollowerConfig,
    plan: Plan,
}

impl ShortestPathFollower {
    /// The path finder must be built for the same agent size as `agent`.
    pub fn new(
        pathfinder: Arc<PathFinder>,
        collider: Arc<SceneCollider>,
        agent: AgentConfig,
        config: FollowerConfig,
    ) -> Result<Self> {
        agent.validate()?;
        let built = pathfinder.agent();
        if (built.radius, built.height, built.max_step)
            != (agent.radius, agent.height, agent.max_step)
        {
            return Err(EnvError::Invalid(format!(
                "follower: path finder built for radius {} height {} step {}, agent has radius {} height {} step {}",
                built.radius, built.height, built.max_step, agent.radius, agent.height, agent.max_step
            )));
        }
        Ok(ShortestPathFollower {
            pathfinder,
            collider,
            agent,
            config,
            plan: Plan::default(),
        })
    }

    pub fn config(&self) -> &FollowerConfig {
        &self.config
    }

    /// The field the follower steers by: the plain geodesic, or the clearance-preferring route cost.
    pub fn route_field(&self, goal: [f32; 3]) -> Result<Arc<DistanceField>> {
        if self.config.clearance_margin > 0.0 {
            self.pathfinder
                .route_field(goal, self.agent.radius + self.config.clearance_margin)
        } else {
            self.pathfinder.distance_field(goal)
        }
    }

    /// The next action towards `goal`: STOP within `goal_radius` (or when stuck), otherwise a move or turn.
    pub fn next_action(&mut self, body: &Body, goal: [f32; 3]) -> Result<Action> {
        let field = self.route_field(goal)?;
        Ok(match self.decide(body, &field, self.config.goal_radius) {
            Decision::Act(a) => a,
            Decision::Reached | Decision::Stuck => Action::Stop,
        })
    }

    /// The decision towards the goal of `field` within `radius` (in the field's units; a route-cost field is
    /// never below the geodesic distance), for the body's current pose.
    pub fn decide(&mut self, body: &Body, field: &DistanceField, radius: f32) -> Decision {
        let p = body.position();
        let d_now = field.distance(p);
        if !d_now.is_finite() {
            return Decision::Stuck;
        }
        if d_now <= radius {
            return Decision::Reached;
        }
        let n = self.agent.heading_count();
        let current = body.turn_steps();
        let (here, goal) = (p.map(f32::to_bits), field.goal().map(f32::to_bits));
        let base = body.heading_at(0).to_bits();
        if (self.plan.goal, self.plan.base) != (goal, base)
            || self.plan.steps.front().is_none_or(|s| s.0 != here)
        {
            self.plan = Plan {
                goal,
                base,
                steps: VecDeque::new(),
            };
            match self.choose_heading(body, field, d_now) {
                Some(k) => self.plan.steps.push_back((here, k)),
                None => match self.escape(body, field, d_now) {
                    Some(steps) => self.plan.steps = steps,
                    None => return Decision::Stuck,
                },
            }
        }
        let target = self.plan.steps.front().expect("a plan step").1;
        if target == current {
            self.plan.steps.pop_front();
            return Decision::Act(Action::MoveForward);
        }
        let left = (target + n - current) % n;
        Decision::Act(if left <= n - left {
            Action::TurnLeft
        } else {
            Action::TurnRight
        })
    }

    /// The absolute turn-step index of the best single forward step that gets closer, or `None`.
    fn choose_heading(&self, body: &Body, field: &DistanceField, d_now: f32) -> Option<u32> {
        let n = self.agent.heading_count();
        let current = body.turn_steps();
        let p = body.position();
        let turns_to = |k: u32| {
            let left = (k + n - current) % n;
            // Fewest turns first; left before right on a tie (deterministic).
            (left.min(n - left), u32::from(left > n - left))
        };
        let mut improving = Vec::with_capacity(n as usize);
        for k in 0..n {
            let m = self
                .collider
                .move_forward(&self.agent, p, body.heading_at(k));
            if m.position == p {
                continue;
            }
            let d = field.distance(m.position);
            if d < d_now - MIN_PROGRESS {
                // Rank a step that slid along an obstacle behind an equally good clean one.
                improving.push((
                    k,
                    d + if m.collided {
                        self.config.collision_penalty
                    } else {
                        0.0
                    },
                ));
            }
        }
        let best = improving.iter().map(|c| c.1).fold(f32::INFINITY, f32::min);
        if self.config.heading_slack > 0.0
            && improving
                .iter()
                .any(|c| c.0 == current && c.1 <= best + self.config.heading_slack)
        {
            return Some(current);
        }
        improving
            .iter()
            .filter(|c| c.1 <= best + TIE)
            .min_by_key(|c| turns_to(c.0))
            .map(|c| c.0)
    }

    /// When no single step gets closer (a narrow passage the discrete moves cannot thread head-on): a
    /// best-first search over sequences of forward moves, in any headings, for the shortest one that ends
    /// closer than now. Bounded in depth and expansions.
    fn escape(
        &self,
        body: &Body,
        field: &DistanceField,
        d_now: f32,
    ) -> Option<VecDeque<([u32; 3], u32)>> {
        let n = self.agent.heading_count();
        // (position, parent node, heading taken from the parent, depth)
        let mut nodes: Vec<([f32; 3], usize, u32, usize)> =
            vec![(body.position(), usize::MAX, 0, 0)];
        let quantize = |p: [f32; 3]| p.map(|v| (v * 100.0).round() as i32);
        let mut seen: HashSet<[i32; 3]> = HashSet::from([quantize(body.position())]);
        let mut open = BinaryHeap::from([Frontier { d: d_now, node: 0 }]);
        let mut expansions = 0;
        while let Some(Frontier { node, .. }) = open.pop() {
            expansions += 1;
            if expansions > ESCAPE_EXPANSIONS {
                break;
            }
            let (p, _, _, depth) = nodes[node];
            for k in 0..n {
                let q = self
                    .collider
                    .move_forward(&self.agent, p, body.heading_at(k))
                    .position;
                if q == p || !seen.insert(quantize(q)) {
                    continue;
                }
                let d = field.distance(q);
                if !d.is_finite() {
                    continue;
                }
                nodes.push((q, node, k, depth + 1));
                let child = nodes.len() - 1;
                if d < d_now - MIN_PROGRESS {
                    let mut steps = VecDeque::new();
                    let mut c = child;
                    while nodes[c].1 != usize::MAX {
                        let parent = nodes[c].1;
                        steps.push_front((nodes[parent].0.map(f32::to_bits), nodes[c].2));
                        c = parent;
                    }
                    return Some(steps);
                }
                if depth + 1 < ESCAPE_DEPTH {
                    open.push(Frontier { d, node: child });
                }
            }
        }
        None
    }

    /// Rolls the follower from `start` through every point of `reference_path` in turn (intermediate points
    /// within `waypoint_radius`, the last within `goal_radius`), then STOP. Intermediate points that are off
    /// the surface or where the follower is stuck are skipped; the final goal must be on the surface.
    pub fn rollout(
        &mut self,
        start: AgentState,
        reference_path: &[[f32; 3]],
    ) -> Result<ExpertPath> {
        let Some(&goal) = reference_path.last() else {
            return Err(EnvError::Invalid(
                "follower rollout: empty reference path".into(),
            ));
        };
        let goal_field = self.route_field(goal)?;
        let mut body = Body::new(self.collider.clone(), self.agent, start)?;
        let mut actions = Vec::new();
        let mut locations = vec![body.position()];
        self.plan = Plan::default();
        'waypoints: for (k, &waypoint) in reference_path.iter().enumerate() {
            let last = k + 1 == reference_path.len();
            let (field, radius) = if last {
                (goal_field.clone(), self.config.goal_radius)
            } else {
                match self.route_field(waypoint) {
                    Ok(f) => (f, self.config.waypoint_radius),
                    Err(_) => continue,
                }
            };
            loop {
                if actions.len() >= self.config.max_steps {
                    break 'waypoints;
                }
                match self.decide(&body, &field, radius) {
                    Decision::Reached | Decision::Stuck => break,
                    Decision::Act(a) => {
                        let before = body.position();
                        body.step(a);
                        actions.push(a);
                        if body.position() != before {
                            locations.push(body.position());
                        }
                    }
                }
            }
        }
        actions.push(Action::Stop);
        // A point query, not a second whole-surface field: the rollout needs this one number.
        let final_distance = self
            .pathfinder
            .geodesic_distance(body.position(), goal)
            .unwrap_or(f32::INFINITY);
        Ok(ExpertPath {
            actions,
            forward_steps: locations.len() - 1,
            locations,
            reached: final_distance <= self.config.goal_radius,
            final_distance,
        })
    }
}

/// A search node ordered by its distance to the goal, nearest first.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Frontier {
    d: f32,
    node: usize,
}

impl Eq for Frontier {}

impl Ord for Frontier {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .d
            .total_cmp(&self.d)
            .then_with(|| other.node.cmp(&self.node))
    }
}

impl PartialOrd for Frontier {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
