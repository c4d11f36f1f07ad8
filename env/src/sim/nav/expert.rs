//! The expert of one episode, asked from any state: the follower walks to each intermediate
//! `reference_path` waypoint in turn and then to the goal, and says STOP within the goal radius. The
//! closed-loop oracle, the perturbed (DAgger-style) data generator and the closed-loop RFT labels all ask
//! this one type, so they agree on what the expert does.

use std::sync::Arc;

use episodes::Action;

use super::follower::Decision;
use super::{FollowerConfig, ShortestPathFollower};
use crate::body::{AgentConfig, AgentState, Body};
use crate::error::{EnvError, Result};
use crate::task::{LoadedScene, ResetInfo};

/// The expert's decisions for one episode, with its waypoint progress and committed plan kept across
/// calls.
#[derive(Clone)]
pub struct Expert {
    scene: Arc<LoadedScene>,
    agent: AgentConfig,
    follower: ShortestPathFollower,
    /// The body the last decision was made for.
    body: Body,
    /// The body after the expert's last action: when the agent took it, the next call continues from this
    /// body (same turn count and base heading), so the follower keeps its plan instead of re-choosing in
    /// the middle of a turn.
    predicted: Option<Body>,
    /// Intermediate reference waypoints, then the goal.
    targets: Vec<[f32; 3]>,
    next: usize,
    config: FollowerConfig,
    episode_id: String,
}

impl std::fmt::Debug for Expert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Expert")
            .field("episode_id", &self.episode_id)
            .field("next", &self.next)
            .field("targets", &self.targets.len())
            .finish()
    }
}

/// Two states equal up to float noise (an environment and a mirror body may accumulate headings in a
/// different order).
fn same_state(a: AgentState, b: AgentState) -> bool {
    let tau = std::f64::consts::TAU;
    let dh = (a.heading() - b.heading()).rem_euclid(tau);
    a.position
        .iter()
        .zip(b.position)
        .all(|(x, y)| (x - y).abs() < 1e-4)
        && dh.min(tau - dh) < 1e-6
}

impl Expert {
    /// The expert of the episode `info` was reset to, starting at its start pose.
    pub fn new(info: &ResetInfo, config: FollowerConfig) -> Result<Expert> {
        let episode = &info.episode;
        let episode_id = episode.episode_id.key();
        let goal = episode.goals.first().map(|g| g.position).ok_or_else(|| {
            EnvError::Invalid(format!("expert: episode {episode_id} has no goal"))
        })?;
        let mut targets: Vec<[f32; 3]> = episode
            .reference_path
            .iter()
            .take(episode.reference_path.len().saturating_sub(1))
            .map(|p| p.map(|v| v as f32))
            .collect();
        targets.push(goal.map(|v| v as f32));
        let scene = info.scene.clone();
        Ok(Expert {
            follower: ShortestPathFollower::new(
                scene.pathfinder.clone(),
                scene.collider.clone(),
                info.agent,
                config,
            )?,
            body: Body::new(scene.collider.clone(), info.agent, info.start)?,
            predicted: None,
            scene,
            agent: info.agent,
            targets,
            next: 0,
            config,
            episode_id,
        })
    }

    pub fn goal(&self) -> [f32; 3] {
        self.targets[self.targets.len() - 1]
    }

    pub fn scene(&self) -> &Arc<LoadedScene> {
        &self.scene
    }

    pub fn agent(&self) -> &AgentConfig {
        &self.agent
    }

    /// One decision for `body`, advancing `next` past reached (or unreachable) waypoints.
    fn decide(
        follower: &mut ShortestPathFollower,
        body: &Body,
        targets: &[[f32; 3]],
        next: &mut usize,
        config: &FollowerConfig,
        episode_id: &str,
    ) -> Result<Action> {
        while *next < targets.len() {
            let last = *next + 1 == targets.len();
            let field = match follower.route_field(targets[*next]) {
                Ok(f) => f,
                // An intermediate waypoint off the surface is skipped, as when making gt files.
                Err(_) if !last => {
                    *next += 1;
                    continue;
                }
                Err(e) => {
                    return Err(EnvError::Invalid(format!(
                        "expert: episode {episode_id}: goal: {e}"
                    )))
                }
            };
            let radius = if last {
                config.goal_radius
            } else {
                config.waypoint_radius
            };
            match follower.decide(body, &field, radius) {
                Decision::Act(a) => return Ok(a),
                Decision::Reached | Decision::Stuck if !last => *next += 1,
                Decision::Reached | Decision::Stuck => break,
            }
        }
        Ok(Action::Stop)
    }

    /// Puts the mirror body at `state`: the predicted body when the agent took the expert's last action,
    /// else a fresh placement (the follower drops a plan made for another pose by itself).
    fn sync(&mut self, state: AgentState) {
        if !same_state(self.body.state(), state) {
            match self.predicted.take() {
                Some(body) if same_state(body.state(), state) => self.body = body,
                _ => self.body.reset(state),
            }
        }
    }

    /// The expert's action at `state` (what the closed-loop oracle does).
    pub fn act(&mut self, state: AgentState) -> Result<Action> {
        self.sync(state);
        let first = Self::decide(
            &mut self.follower,
            &self.body,
            &self.targets,
            &mut self.next,
            &self.config,
            &self.episode_id,
        )?;
        let mut predicted = self.body.clone();
        predicted.step(first);
        self.predicted = Some(predicted);
        Ok(first)
    }

    /// The expert's next `n` actions from `state` (STOP-padded after a STOP). The first is [`Expert::act`];
    /// the rest come from a look-ahead copy of the follower, plan included: a fresh one would re-choose its
    /// heading in the middle of a committed turn, and with the heading slack it may then walk on where the
    /// expert turns.
    pub fn labels(&mut self, state: AgentState, n: usize) -> Result<Vec<Action>> {
        let first = self.act(state)?;
        let mut out = vec![first];
        let mut body = self.body.clone();
        let mut next = self.next;
        let mut ahead = self.follower.clone();
        let mut last = first;
        while out.len() < n {
            if last == Action::Stop {
                out.push(Action::Stop);
                continue;
            }
            body.step(last);
            last = Self::decide(
                &mut ahead,
                &body,
                &self.targets,
                &mut next,
                &self.config,
                &self.episode_id,
            )?;
            out.push(last);
        }
        out.truncate(n);
        Ok(out)
    }
}
