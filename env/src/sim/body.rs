//! The agent body: a vertical cylinder moved in discrete actions against the scene mesh.
//!
//! Collision is against one BVH-backed trimesh of the scene (parry3d, rapier's geometry layer). We do not use
//! rapier's `KinematicCharacterController`: it moves a blocked character up to the contact and lets it walk
//! off ledges, while the VLN-CE semantics need an all-or-nothing forward step when sliding is off (Habitat's
//! `try_step_no_sliding`) and never leaving the floor. A forward step is a horizontal sweep of the body above
//! its step height (exact, see `sweep`) against the triangles the BVH finds near the move, then a floor ray;
//! turns cost nothing.

use std::sync::Arc;

use episodes::Action;
use habitat_assets::Scene;
use parry3d::bounding_volume::Aabb;
use parry3d::math::Vector;
use parry3d::query::{Ray, RayCast};
use parry3d::shape::TriMesh;
use serde::{Deserialize, Serialize};

use crate::error::{EnvError, Result};

mod sweep;

use sweep::Footprint;

/// Gap kept between the agent and a wall it slid against, so the next sweep does not start in contact.
const SKIN: f32 = 0.002;
/// Collide-and-slide iterations for one forward step (a corner needs two).
const SLIDE_ITERATIONS: usize = 3;
/// Floor heights closer than this to the current one are the same floor.
const FLOOR_EPS: f32 = 1e-4;
/// Sweeps per forward step: slides plus steps climbed on the way.
const MAX_ITERATIONS: usize = 8;

/// Body size and action magnitudes (Habitat's agent + action space config).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AgentConfig {
    /// Cylinder height in metres (feet to top).
    pub height: f32,
    /// Cylinder radius in metres.
    pub radius: f32,
    /// Highest step the agent climbs or descends in one move (Recast's `agentMaxClimb`).
    pub max_step: f32,
    /// MOVE_FORWARD distance in metres.
    pub forward_step: f32,
    /// TURN_LEFT / TURN_RIGHT angle in whole degrees; kept integral so that headings never drift.
    pub turn_angle_deg: u32,
    /// A blocked forward step slides along the obstacle (R2R-CE) instead of not moving (RxR-CE).
    pub allow_sliding: bool,
}

impl AgentConfig {
    /// R2R-CE: 1.5 m x 0.1 m cylinder, 0.25 m steps, 15 degree turns, sliding on.
    pub fn r2r() -> Self {
        AgentConfig {
            height: 1.5,
            radius: 0.1,
            max_step: 0.2,
            forward_step: 0.25,
            turn_angle_deg: 15,
            allow_sliding: true,
        }
    }

    /// RxR-CE: 0.88 m x 0.18 m cylinder, 0.25 m steps, 30 degree turns, sliding off.
    pub fn rxr() -> Self {
        AgentConfig {
            height: 0.88,
            radius: 0.18,
            max_step: 0.2,
            forward_step: 0.25,
            turn_angle_deg: 30,
            allow_sliding: false,
        }
    }

    /// Rejects sizes the controller cannot represent (a step at least as high as the agent, zero sizes).
    pub fn validate(&self) -> Result<()> {
        let finite = [self.height, self.radius, self.max_step, self.forward_step]
            .iter()
            .all(|v| v.is_finite() && *v > 0.0);
        if !finite {
            return Err(EnvError::Invalid(format!(
                "agent config: height, radius, max_step and forward_step must be positive, got {self:?}"
            )));
        }
        if self.max_step >= self.height {
            return Err(EnvError::Invalid(format!(
                "agent config: max_step {} must be below height {}",
                self.max_step, self.height
            )));
        }
        if self.turn_angle_deg == 0 || 360 % self.turn_angle_deg != 0 {
            return Err(EnvError::Invalid(format!(
                "agent config: turn_angle_deg {} must divide 360",
                self.turn_angle_deg
            )));
        }
        Ok(())
    }

    /// Number of distinct headings reachable by turning (24 for 15 degree turns).
    pub fn heading_count(&self) -> u32 {
        360 / self.turn_angle_deg
    }
}

impl Default for AgentConfig {
    fn default() -> Self {
        AgentConfig::r2r()
    }
}

/// A Habitat agent state: feet position and a rotation quaternion `[x, y, z, w]` about +Y.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AgentState {
    pub position: [f32; 3],
    pub rotation: [f32; 4],
}

impl AgentState {
    /// A state looking along `heading` radians (0 looks down -Z, positive turns left / counter-clockwise seen
    /// from above).
    pub fn from_heading(position: [f32; 3], heading: f64) -> Self {
        AgentState {
            position,
            rotation: heading_quaternion(heading),
        }
    }

    /// The heading in radians in (-pi, pi], read from the rotated forward axis so that any quaternion whose
    /// forward vector is not vertical gives its yaw.
    pub fn heading(&self) -> f64 {
        let [x, y, z, w] = self.rotation.map(f64::from);
        // R * (0, 0, -1): the third column of the rotation matrix, negated.
        let fx = -(2.0 * (x * z + w * y));
        let fz = -(1.0 - 2.0 * (x * x + y * y));
        heading_of(fx, fz)
    }

    /// Unit forward direction (-Z rotated by the heading), horizontal.
    pub fn forward(&self) -> [f32; 3] {
        forward_of(self.heading())
    }
}

/// The quaternion `[x, y, z, w]` of a rotation by `heading` radians about +Y.
pub fn heading_quaternion(heading: f64) -> [f32; 4] {
    let h = heading * 0.5;
    [0.0, h.sin() as f32, 0.0, h.cos() as f32]
}

/// The horizontal forward unit vector of a heading (radians): heading 0 is -Z, heading pi/2 is -X.
pub fn forward_of(heading: f64) -> [f32; 3] {
    [-(heading.sin()) as f32, 0.0, -(heading.cos()) as f32]
}

/// The heading (radians) whose forward vector points along `(fx, fz)`.
pub fn heading_of(fx: f64, fz: f64) -> f64 {
    (-fx).atan2(-fz)
}

/// What a forward move did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Move {
    /// Feet position after the move (the start position when blocked).
    pub position: [f32; 3],
    /// The move hit something: it slid, stopped, or found no floor.
    pub collided: bool,
}

/// The scene's static collision geometry, built once per scene and shared by every agent in it.
pub struct SceneCollider {
    mesh: TriMesh,
}

impl std::fmt::Debug for SceneCollider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SceneCollider")
            .field("triangles", &self.mesh.indices().len())
            .finish()
    }
}

impl SceneCollider {
    /// Builds the BVH over every non-degenerate triangle of the scene.
    pub fn new(scene: &Scene) -> Result<Self> {
        let mut vertices = Vec::with_capacity(scene.triangle_count() * 3);
        let mut indices = Vec::with_capacity(scene.triangle_count());
        for [a, b, c] in scene.triangles() {
            let (va, vb, vc) = (Vector::from(a), Vector::from(b), Vector::from(c));
            if ![a, b, c].iter().flatten().all(|v| v.is_finite())
                || (vb - va).cross(vc - va).length_squared() < 1e-14
            {
                continue;
            }
            let base = vertices.len() as u32;
            vertices.extend([va, vb, vc]);
            indices.push([base, base + 1, base + 2]);
        }
        if indices.is_empty() {
            return Err(EnvError::Invalid(
                "scene has no triangles to collide with".into(),
            ));
        }
        let mesh = TriMesh::new(vertices, indices)
            .map_err(|e| EnvError::Invalid(format!("scene collision mesh: {e}")))?;
        Ok(SceneCollider { mesh })
    }

    /// The height band of the body that collides: from just above the step height (lower obstacles are
    /// stepped onto) up to the head.
    fn band(cfg: &AgentConfig, feet_y: f32) -> (f32, f32) {
        (feet_y + cfg.max_step + 1e-3, feet_y + cfg.height)
    }

    /// Footprints in the band `lo..=hi` of the triangles whose boxes meet the (x, z) box `[min, max]`.
    fn footprints(
        &self,
        min: [f32; 2],
        max: [f32; 2],
        (lo, hi): (f32, f32),
    ) -> impl Iterator<Item = Footprint> + '_ {
        let aabb = Aabb::new(
            Vector::new(min[0], lo, min[1]),
            Vector::new(max[0], hi, max[1]),
        );
        let hits: Vec<u32> = self.mesh.bvh().intersect_aabb(&aabb).collect();
        hits.into_iter().filter_map(move |i| {
            let t = self.mesh.triangle(i);
            Footprint::of_triangle([t.a.into(), t.b.into(), t.c.into()], lo, hi)
        })
    }

    /// The first contact of the body standing at `feet` and moving horizontally by `motion` (x, z): the
    /// fraction of the motion travelled and the contact normal (x, z), or `None` for a free move.
    fn sweep(&self, cfg: &AgentConfig, feet: Vector, motion: [f32; 2]) -> Option<(f32, [f32; 2])> {
        let o = [feet.x, feet.z];
        let r = cfg.radius;
        let min = [
            o[0].min(o[0] + motion[0]) - r,
            o[1].min(o[1] + motion[1]) - r,
        ];
        let max = [
            o[0].max(o[0] + motion[0]) + r,
            o[1].max(o[1] + motion[1]) + r,
        ];
        self.footprints(min, max, Self::band(cfg, feet.y))
            .filter_map(|f| f.sweep(o, motion, r))
            .min_by(|a, b| a.0.total_cmp(&b.0))
    }

    /// Height of the floor under `(x, z)` between `y - max_step` and `y + max_step`, if any.
    pub fn floor_below(&self, cfg: &AgentConfig, p: [f32; 3]) -> Option<f32> {
        let top = p[1] + cfg.max_step + 0.01;
        let ray = Ray::new(Vector::new(p[0], top, p[2]), Vector::new(0.0, -1.0, 0.0));
        self.mesh
            .cast_local_ray(&ray, 2.0 * cfg.max_step + 0.02, true)
            .map(|t| top - t)
    }

    /// True when the agent standing at `feet` overlaps the scene above its step height (resting within a
    /// hair of a surface, as after sliding along a wall, is not overlap).
    pub fn overlaps(&self, cfg: &AgentConfig, feet: [f32; 3]) -> bool {
        let r = cfg.radius - 2.0 * SKIN;
        let o = [feet[0], feet[2]];
        let (min, max) = ([o[0] - r, o[1] - r], [o[0] + r, o[1] + r]);
        self.footprints(min, max, Self::band(cfg, feet[1]))
            .any(|f| {
                let c = f.closest(o);
                (c[0] - o[0]).powi(2) + (c[1] - o[1]).powi(2) < r * r
            })
    }

    /// One MOVE_FORWARD of `cfg.forward_step` metres along `heading` (radians) from `from`.
    ///
    /// The part of the body above `max_step` is swept along the move. A contact where the floor under the
    /// agent has changed height is a step it climbed (stairs): the sweep continues from the new floor. Any
    /// other contact is a collision: with sliding the rest of the motion is projected along the obstacle and
    /// continued, without sliding the agent does not move at all. The agent ends on the floor found within
    /// `max_step` below or above; no floor there (a drop) or no headroom blocks the whole move.
    pub fn move_forward(&self, cfg: &AgentConfig, from: [f32; 3], heading: f64) -> Move {
        let blocked = Move {
            position: from,
            collided: true,
        };
        let mut feet = Vector::from(from);
        let mut remaining = Vector::from(forward_of(heading)) * cfg.forward_step;
        let mut collided = false;
        let mut slides = 0;
        for _ in 0..MAX_ITERATIONS {
            let len = remaining.length();
            if len < 1e-5 {
                break;
            }
            let Some((toi, normal)) = self.sweep(cfg, feet, [remaining.x, remaining.z]) else {
                feet += remaining;
                break;
            };
            let travel = (toi * len - SKIN).max(0.0);
            let reached = feet + remaining * (travel / len);
            let left = remaining * (1.0 - travel / len);
            if travel > 1e-4 {
                let floor = self.floor_below(cfg, reached.into());
                if let Some(y) = floor.filter(|y| (y - feet.y).abs() > 1e-3) {
                    feet = Vector::new(reached.x, y, reached.z);
                    remaining = left;
                    continue;
                }
            }
            collided = true;
            if !cfg.allow_sliding {
                return blocked;
            }
            feet = reached;
            slides += 1;
            if slides > SLIDE_ITERATIONS {
                break;
            }
            // Keep the part of the rest of the motion that runs along the obstacle.
            let n = Vector::new(normal[0], 0.0, normal[1]);
            remaining = left - n * left.dot(n).min(0.0);
        }
        if collided && (feet.x - from[0]).hypot(feet.z - from[2]) < 1e-4 {
            return blocked;
        }
        let Some(floor) = self.floor_below(cfg, feet.into()) else {
            return blocked;
        };
        // Ray round-off would otherwise make flat-floor heights wander by ulps.
        let floor = if (floor - feet.y).abs() < FLOOR_EPS {
            feet.y
        } else {
            floor
        };
        let position = [feet.x, floor, feet.z];
        // A clean sweep that ends at its own height already proved the end pose free.
        let swept_clear = !collided && floor == feet.y;
        if !swept_clear && self.overlaps(cfg, position) {
            return blocked;
        }
        Move { position, collided }
    }
}

/// Outcome of one action.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepOutcome {
    pub moved: bool,
    pub collided: bool,
}

/// One agent in a scene: position, an exact heading, and a collision counter.
///
/// The heading is the start heading plus an integer count of turn steps, recomputed from both on demand, so
/// 24 left turns of 15 degrees give back exactly the start rotation.
#[derive(Debug, Clone)]
pub struct Body {
    collider: Arc<SceneCollider>,
    config: AgentConfig,
    position: [f32; 3],
    start_heading: f64,
    turns: i64,
    collisions: u32,
}

impl Body {
    /// A body at `state`; the position is dropped onto the floor when one lies within `max_step`.
    pub fn new(
        collider: Arc<SceneCollider>,
        config: AgentConfig,
        state: AgentState,
    ) -> Result<Self> {
        config.validate()?;
        let mut body = Body {
            collider,
            config,
            position: state.position,
            start_heading: 0.0,
            turns: 0,
            collisions: 0,
        };
        body.reset(state);
        Ok(body)
    }

    /// Places the agent at `state` and clears the collision counter.
    pub fn reset(&mut self, state: AgentState) {
        let y = state.position[1];
        let floor = self
            .collider
            .floor_below(&self.config, state.position)
            .filter(|f| (f - y).abs() >= FLOOR_EPS);
        self.position = [state.position[0], floor.unwrap_or(y), state.position[2]];
        self.start_heading = state.heading();
        self.turns = 0;
        self.collisions = 0;
    }

    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    pub fn collider(&self) -> &Arc<SceneCollider> {
        &self.collider
    }

    pub fn position(&self) -> [f32; 3] {
        self.position
    }

    /// The exact heading in radians: the start heading plus k turn angles, k in 0..heading_count.
    pub fn heading(&self) -> f64 {
        self.heading_at(self.turn_steps())
    }

    /// The heading at absolute turn step `k` (counter-clockwise turns from the start heading).
    pub fn heading_at(&self, k: u32) -> f64 {
        let k = k % self.config.heading_count();
        self.start_heading + (f64::from(k) * f64::from(self.config.turn_angle_deg)).to_radians()
    }

    /// Turn steps taken counter-clockwise since the last reset, modulo one revolution.
    pub fn turn_steps(&self) -> u32 {
        self.turns
            .rem_euclid(i64::from(self.config.heading_count())) as u32
    }

    pub fn state(&self) -> AgentState {
        AgentState::from_heading(self.position, self.heading())
    }

    /// Steps that collided since the last reset.
    pub fn collisions(&self) -> u32 {
        self.collisions
    }

    /// Resolves one action. STOP and the camera actions (LOOK_UP / LOOK_DOWN) do not move the body.
    pub fn step(&mut self, action: Action) -> StepOutcome {
        match action {
            Action::MoveForward => {
                let m = self
                    .collider
                    .move_forward(&self.config, self.position, self.heading());
                let moved = m.position != self.position;
                self.position = m.position;
                if m.collided {
                    self.collisions += 1;
                }
                StepOutcome {
                    moved,
                    collided: m.collided,
                }
            }
            Action::TurnLeft => {
                self.turns += 1;
                StepOutcome {
                    moved: false,
                    collided: false,
                }
            }
            Action::TurnRight => {
                self.turns -= 1;
                StepOutcome {
                    moved: false,
                    collided: false,
                }
            }
            Action::Stop | Action::LookUp | Action::LookDown => StepOutcome {
                moved: false,
                collided: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heading_conventions_match_habitat() {
        // Heading 0 looks down -Z; a quarter turn left (counter-clockwise from above) looks down -X.
        let f0 = forward_of(0.0);
        assert!(f0[0].abs() < 1e-7 && (f0[2] + 1.0).abs() < 1e-7);
        let f90 = forward_of(std::f64::consts::FRAC_PI_2);
        assert!((f90[0] + 1.0).abs() < 1e-7 && f90[2].abs() < 1e-7);
        // The quaternion is a rotation about +Y stored [x, y, z, w], and reads back to the same heading.
        let q = heading_quaternion(std::f64::consts::FRAC_PI_2);
        assert_eq!([q[0], q[2]], [0.0, 0.0]);
        assert!((q[1] - 0.5f32.sqrt()).abs() < 1e-7 && (q[3] - 0.5f32.sqrt()).abs() < 1e-7);
        for h in [-3.0, -1.0, 0.0, 0.5, 2.0, 3.1] {
            let s = AgentState::from_heading([0.0; 3], h);
            assert!((s.heading() - h).abs() < 1e-6, "{h} -> {}", s.heading());
        }
        // A quaternion with pitch still yields the yaw of its forward vector.
        let (yaw, pitch) = (0.7f64, 0.3f64);
        let (cy, sy, cp, sp) = (
            (yaw / 2.0).cos(),
            (yaw / 2.0).sin(),
            (pitch / 2.0).cos(),
            (pitch / 2.0).sin(),
        );
        // yaw about Y, then pitch about the local X: q = q_yaw * q_pitch.
        let q = [cy * sp, sy * cp, -sy * sp, cy * cp].map(|v| v as f32);
        assert!(
            (AgentState {
                position: [0.0; 3],
                rotation: q
            }
            .heading()
                - yaw)
                .abs()
                < 1e-6
        );
    }

    #[test]
    fn configs_are_validated() {
        assert!(AgentConfig::r2r().validate().is_ok() && AgentConfig::rxr().validate().is_ok());
        let bad = [
            AgentConfig {
                turn_angle_deg: 7,
                ..AgentConfig::r2r()
            },
            AgentConfig {
                max_step: 2.0,
                ..AgentConfig::r2r()
            },
            AgentConfig {
                radius: 0.0,
                ..AgentConfig::r2r()
            },
            AgentConfig {
                forward_step: f32::NAN,
                ..AgentConfig::r2r()
            },
        ];
        for c in bad {
            assert!(matches!(c.validate(), Err(EnvError::Invalid(_))), "{c:?}");
        }
    }
}
