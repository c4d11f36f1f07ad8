//! `oracle`: the expert in closed loop. It walks to each `reference_path` waypoint in turn and then to the
//! goal with the [`ShortestPathFollower`], and calls STOP within the follower's goal radius: the same
//! decisions that make the gt files, taken from the agent's actual pose at every step.
//!
//! The follower plans on a mirror of the agent's body (same collider, same start pose, same actions); the
//! simulator is deterministic, so the mirror matches the environment exactly. If it ever does not (a pose
//! changed behind the policy's back), the mirror is re-placed at the observed pose and the plan restarts.

use std::collections::HashMap;

use episodes::Action;

use super::{Policy, PolicyInput};
use crate::body::Body;
use crate::error::{EnvError, Result};
use crate::nav::follower::Decision;
use crate::nav::{FollowerConfig, ShortestPathFollower};
use crate::task::{start_state, ResetInfo, Sensors};

struct Slot {
    follower: ShortestPathFollower,
    body: Body,
    /// Intermediate reference waypoints, then the goal.
    targets: Vec<[f32; 3]>,
    next: usize,
    episode_id: String,
}

/// The closed-loop expert.
pub struct OraclePolicy {
    config: FollowerConfig,
    slots: HashMap<usize, Slot>,
}

impl std::fmt::Debug for OraclePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OraclePolicy")
            .field("config", &self.config)
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl OraclePolicy {
    pub fn new(config: FollowerConfig) -> Self {
        OraclePolicy {
            config,
            slots: HashMap::new(),
        }
    }
}

impl Default for OraclePolicy {
    fn default() -> Self {
        OraclePolicy::new(FollowerConfig::default())
    }
}

impl Slot {
    fn act(
        &mut self,
        observed: &crate::body::AgentState,
        config: FollowerConfig,
    ) -> Result<Action> {
        if self.body.state() != *observed {
            // The environment's pose differs from the mirror's: follow from where the agent really is (the
            // follower drops a plan made for another position or start heading by itself).
            self.body.reset(*observed);
        }
        while self.next < self.targets.len() {
            let last = self.next + 1 == self.targets.len();
            let target = self.targets[self.next];
            let field = match self.follower.route_field(target) {
                Ok(f) => f,
                // An intermediate waypoint off the surface is skipped, as when making gt files.
                Err(_) if !last => {
                    self.next += 1;
                    continue;
                }
                Err(e) => {
                    return Err(EnvError::Invalid(format!(
                        "oracle: episode {}: goal: {e}",
                        self.episode_id
                    )));
                }
            };
            let radius = if last {
                config.goal_radius
            } else {
                config.waypoint_radius
            };
            match self.follower.decide(&self.body, &field, radius) {
                Decision::Act(a) => {
                    self.body.step(a);
                    return Ok(a);
                }
                Decision::Reached | Decision::Stuck if !last => self.next += 1,
                Decision::Reached | Decision::Stuck => break,
            }
        }
        Ok(Action::Stop)
    }
}

impl Policy for OraclePolicy {
    fn name(&self) -> String {
        "oracle".into()
    }
    fn sensors(&self) -> Sensors {
        Sensors::NONE
    }
    fn reset(&mut self, slot: usize, start: &ResetInfo) -> Result<()> {
        let episode = &start.episode;
        let scene = &start.scene;
        let goal = episode.goals.first().map(|g| g.position).ok_or_else(|| {
            EnvError::Invalid(format!(
                "oracle: episode {} has no goal",
                episode.episode_id
            ))
        })?;
        let mut targets: Vec<[f32; 3]> = episode
            .reference_path
            .iter()
            .take(episode.reference_path.len().saturating_sub(1))
            .map(|p| p.map(|v| v as f32))
            .collect();
        targets.push(goal.map(|v| v as f32));
        let follower = ShortestPathFollower::new(
            scene.pathfinder.clone(),
            scene.collider.clone(),
            start.agent,
            self.config,
        )?;
        let body = Body::new(scene.collider.clone(), start.agent, start_state(episode))?;
        self.slots.insert(
            slot,
            Slot {
                follower,
                body,
                targets,
                next: 0,
                episode_id: episode.episode_id.key(),
            },
        );
        Ok(())
    }
    fn act(&mut self, batch: &[PolicyInput<'_>]) -> Result<Vec<Action>> {
        let config = self.config;
        batch
            .iter()
            .map(|input| {
                let slot = self.slots.get_mut(&input.slot).ok_or_else(|| {
                    EnvError::Invalid(format!(
                        "oracle policy: slot {} was never reset",
                        input.slot
                    ))
                })?;
                slot.act(&input.observation.state, config)
            })
            .collect()
    }
}
