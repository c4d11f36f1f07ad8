//! Per-episode metrics exactly as VLN-CE defines them (NE, SR, OSR, SPL, TL, nDTW, SDTW, steps, collisions).
//!
//! Each simple metric is a small type with `reset` / `update` (habitat-lab's `Measure` shape), unit-testable
//! alone. Composite metrics (SPL, SDTW) are functions of the simple measures' values, so each simple measure
//! (DTW above all) runs once per step and a new composite touches one place. The task computes the geodesic distance to the goal once per step and hands it
//! to all measures in a [`MeasureStep`].

use episodes::Action;
use serde::{Deserialize, Serialize};

/// What every measure learns when an episode starts.
#[derive(Debug, Clone, Copy)]
pub struct MeasureReset<'a> {
    /// Agent (feet) position at the start.
    pub start_position: [f32; 3],
    /// Geodesic distance from the start to the goal (d0).
    pub start_distance: f32,
    /// Success radius (VLN-CE: 3.0 m).
    pub success_distance: f32,
    /// The gt `locations` of the episode (empty when unknown: nDTW / SDTW are then NaN).
    pub reference_locations: &'a [[f32; 3]],
}

/// What every measure learns after each step.
#[derive(Debug, Clone, Copy)]
pub struct MeasureStep {
    pub action: Action,
    /// Agent (feet) position after the action.
    pub position: [f32; 3],
    /// Geodesic distance from `position` to the goal (infinite when unreachable).
    pub distance_to_goal: f32,
    /// Whether the action was blocked (fully or partly) by the scene.
    pub collided: bool,
}

/// A habitat-lab style measure.
pub trait Measure {
    fn reset(&mut self, episode: &MeasureReset);
    fn update(&mut self, step: &MeasureStep);
    fn value(&self) -> f64;
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f64 {
    let d = [
        (a[0] - b[0]) as f64,
        (a[1] - b[1]) as f64,
        (a[2] - b[2]) as f64,
    ];
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
}

/// NE: geodesic distance from the agent's current (finally: last) position to the goal.
#[derive(Debug, Clone, Default)]
pub struct NavigationError {
    distance: f64,
}

impl Measure for NavigationError {
    fn reset(&mut self, episode: &MeasureReset) {
        self.distance = episode.start_distance as f64;
    }
    fn update(&mut self, step: &MeasureStep) {
        self.distance = step.distance_to_goal as f64;
    }
    fn value(&self) -> f64 {
        self.distance
    }
}

/// SR: 1 iff the agent called STOP while strictly within the success radius.
#[derive(Debug, Clone, Default)]
pub struct Success {
    radius: f64,
    success: bool,
}

impl Measure for Success {
    fn reset(&mut self, episode: &MeasureReset) {
        self.radius = episode.success_distance as f64;
        self.success = false;
    }
    fn update(&mut self, step: &MeasureStep) {
        if step.action == Action::Stop {
            self.success = (step.distance_to_goal as f64) < self.radius;
        }
    }
    fn value(&self) -> f64 {
        f64::from(u8::from(self.success))
    }
}

/// OSR: 1 iff the agent was strictly within the success radius at any point (STOP not needed).
#[derive(Debug, Clone, Default)]
pub struct OracleSuccess {
    radius: f64,
    reached: bool,
}

impl Measure for OracleSuccess {
    fn reset(&mut self, episode: &MeasureReset) {
        self.radius = episode.success_distance as f64;
        self.reached = (episode.start_distance as f64) < self.radius;
    }
    fn update(&mut self, step: &MeasureStep) {
        self.reached |= (step.distance_to_goal as f64) < self.radius;
    }
    fn value(&self) -> f64 {
        f64::from(u8::from(self.reached))
    }
}

/// TL: sum of Euclidean distances between consecutive agent positions.
#[derive(Debug, Clone, Default)]
pub struct TrajectoryLength {
    last: [f32; 3],
    length: f64,
}

impl Measure for TrajectoryLength {
    fn reset(&mut self, episode: &MeasureReset) {
        self.last = episode.start_position;
        self.length = 0.0;
    }
    fn update(&mut self, step: &MeasureStep) {
        self.length += distance(self.last, step.position);
        self.last = step.position;
    }
    fn value(&self) -> f64 {
        self.length
    }
}

/// SPL: SR · d0 / max(d0, TL), habitat-lab's `SPL` (`ep_success * d0 / max(d0, agent_episode_distance)`),
/// derived from the Success and TrajectoryLength values instead of owning copies of those measures.
pub fn spl(success: f64, start_distance: f64, path_length: f64) -> f64 {
    let denom = start_distance.max(path_length);
    if success == 0.0 {
        0.0
    } else if denom <= 0.0 {
        // Start inside the goal and never moved: a perfect path of length zero.
        1.0
    } else {
        start_distance / denom
    }
}

/// nDTW: exp(-DTW(P, G) / (|G| · radius)) with exact dynamic time warping, P the agent positions (appended
/// only when the position changes, as VLN-CE records them), G the gt locations, point cost the 3-D Euclidean
/// distance. The DTW table is filled one row per new agent position, so an update costs O(|G|) and the
/// measure never stores the whole table.
#[derive(Debug, Clone, Default)]
pub struct Ndtw {
    reference: Vec<[f32; 3]>,
    radius: f64,
    last: Option<[f32; 3]>,
    /// DTW costs of the agent path so far against every prefix of the reference (the last table row).
    row: Vec<f64>,
    scratch: Vec<f64>,
}

impl Ndtw {
    fn push(&mut self, p: [f32; 3]) {
        let first = self.last.is_none();
        self.last = Some(p);
        self.scratch.clear();
        for (j, &g) in self.reference.iter().enumerate() {
            let cost = distance(p, g);
            let best_prev = if first {
                // First row: only horizontal moves along the reference.
                if j == 0 {
                    0.0
                } else {
                    self.scratch[j - 1]
                }
            } else {
                let up = self.row[j];
                let diag = if j == 0 {
                    f64::INFINITY
                } else {
                    self.row[j - 1]
                };
                let left = if j == 0 {
                    f64::INFINITY
                } else {
                    self.scratch[j - 1]
                };
                up.min(diag).min(left)
            };
            self.scratch.push(cost + best_prev);
        }
        std::mem::swap(&mut self.row, &mut self.scratch);
    }

    /// DTW(P, G) of the path so far (infinite before the first position or without a reference).
    pub fn dtw(&self) -> f64 {
        self.row.last().copied().unwrap_or(f64::INFINITY)
    }
}

impl Measure for Ndtw {
    fn reset(&mut self, episode: &MeasureReset) {
        self.reference.clear();
        self.reference
            .extend_from_slice(episode.reference_locations);
        self.radius = episode.success_distance as f64;
        self.last = None;
        self.row.clear();
        self.push(episode.start_position);
    }
    fn update(&mut self, step: &MeasureStep) {
        if self.last != Some(step.position) {
            self.push(step.position);
        }
    }
    fn value(&self) -> f64 {
        if self.reference.is_empty() {
            return f64::NAN;
        }
        (-self.dtw() / (self.reference.len() as f64 * self.radius)).exp()
    }
}

/// SDTW: SR · nDTW (NaN without a reference, as nDTW), derived from the Success and Ndtw values.
pub fn sdtw(success: f64, ndtw: f64) -> f64 {
    success * ndtw
}

/// Number of actions taken (STOP counts as a step, as in VLN-CE).
#[derive(Debug, Clone, Default)]
pub struct Steps {
    steps: u32,
}

impl Measure for Steps {
    fn reset(&mut self, _: &MeasureReset) {
        self.steps = 0;
    }
    fn update(&mut self, _: &MeasureStep) {
        self.steps += 1;
    }
    fn value(&self) -> f64 {
        f64::from(self.steps)
    }
}

/// Number of actions the scene blocked.
#[derive(Debug, Clone, Default)]
pub struct Collisions {
    count: u32,
}

impl Measure for Collisions {
    fn reset(&mut self, _: &MeasureReset) {
        self.count = 0;
    }
    fn update(&mut self, step: &MeasureStep) {
        self.count += u32::from(step.collided);
    }
    fn value(&self) -> f64 {
        f64::from(self.count)
    }
}

/// The final metrics of one episode, in the VLN-CE papers' row order. JSON has no infinity or NaN (serde_json
/// writes `null`), so `null` reads back as NaN: a results log holding one stays readable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct EpisodeMetrics {
    #[serde(deserialize_with = "nan_if_null")]
    pub ne: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub osr: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub sr: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub spl: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub ndtw: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub sdtw: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub tl: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub steps: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub collisions: f64,
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The standard set of VLN-CE measures, reset and updated together.
#[derive(Debug, Clone, Default)]
pub struct VlnMeasures {
    pub ne: NavigationError,
    pub osr: OracleSuccess,
    pub sr: Success,
    pub ndtw: Ndtw,
    pub tl: TrajectoryLength,
    pub steps: Steps,
    pub collisions: Collisions,
    /// d0 of the current episode, for SPL.
    start_distance: f64,
}

impl VlnMeasures {
    fn all(&mut self) -> [&mut dyn Measure; 7] {
        [
            &mut self.ne,
            &mut self.osr,
            &mut self.sr,
            &mut self.ndtw,
            &mut self.tl,
            &mut self.steps,
            &mut self.collisions,
        ]
    }

    pub fn reset(&mut self, episode: &MeasureReset) {
        self.start_distance = episode.start_distance as f64;
        for m in self.all() {
            m.reset(episode);
        }
    }

    pub fn update(&mut self, step: &MeasureStep) {
        for m in self.all() {
            m.update(step);
        }
    }

    pub fn metrics(&self) -> EpisodeMetrics {
        let (sr, ndtw, tl) = (self.sr.value(), self.ndtw.value(), self.tl.value());
        EpisodeMetrics {
            ne: self.ne.value(),
            osr: self.osr.value(),
            sr,
            spl: spl(sr, self.start_distance, tl),
            ndtw,
            sdtw: sdtw(sr, ndtw),
            tl,
            steps: self.steps.value(),
            collisions: self.collisions.value(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: f32 = 3.0;

    fn reset<'a>(start: [f32; 3], d0: f32, reference: &'a [[f32; 3]]) -> MeasureReset<'a> {
        MeasureReset {
            start_position: start,
            start_distance: d0,
            success_distance: R,
            reference_locations: reference,
        }
    }

    fn step(action: Action, position: [f32; 3], d: f32) -> MeasureStep {
        MeasureStep {
            action,
            position,
            distance_to_goal: d,
            collided: false,
        }
    }

    /// A straight corridor along -z with the goal at z = -10 (geodesic = Euclidean).
    fn walk(measures: &mut VlnMeasures, reference: &[[f32; 3]], forwards: usize, stop: bool) {
        measures.reset(&reset([0.0; 3], 10.0, reference));
        let mut z = 0.0;
        for _ in 0..forwards {
            z -= 1.0;
            measures.update(&step(Action::MoveForward, [0.0, 0.0, z], 10.0 + z));
        }
        if stop {
            measures.update(&step(Action::Stop, [0.0, 0.0, z], 10.0 + z));
        }
    }

    fn line(n: usize) -> Vec<[f32; 3]> {
        (0..=n).map(|i| [0.0, 0.0, -(i as f32)]).collect()
    }

    #[test]
    fn perfect_path_scores_one_everywhere() {
        let reference = line(10);
        let mut m = VlnMeasures::default();
        walk(&mut m, &reference, 10, true);
        let r = m.metrics();
        assert_eq!(
            (r.ne, r.sr, r.osr, r.spl, r.tl, r.steps),
            (0.0, 1.0, 1.0, 1.0, 10.0, 11.0)
        );
        assert!((r.ndtw - 1.0).abs() < 1e-12 && (r.sdtw - 1.0).abs() < 1e-12);
    }

    #[test]
    fn stop_outside_radius_fails_but_oracle_may_succeed() {
        let reference = line(10);
        let mut m = VlnMeasures::default();
        // Walk to 2 m from the goal (inside the radius), then back to 4 m, then STOP.
        m.reset(&reset([0.0; 3], 10.0, &reference));
        m.update(&step(Action::MoveForward, [0.0, 0.0, -8.0], 2.0));
        m.update(&step(Action::MoveForward, [0.0, 0.0, -6.0], 4.0));
        m.update(&step(Action::Stop, [0.0, 0.0, -6.0], 4.0));
        let r = m.metrics();
        assert_eq!(
            (r.ne, r.sr, r.osr, r.spl, r.sdtw),
            (4.0, 0.0, 1.0, 0.0, 0.0)
        );
        assert_eq!(r.tl, 10.0);
    }

    #[test]
    fn success_radius_is_strict() {
        let mut m = VlnMeasures::default();
        m.reset(&reset([0.0; 3], 10.0, &[]));
        m.update(&step(Action::Stop, [0.0; 3], 3.0));
        assert_eq!(m.metrics().sr, 0.0);
        assert_eq!(m.metrics().osr, 0.0);
    }

    #[test]
    fn never_stopping_is_not_success() {
        let reference = line(10);
        let mut m = VlnMeasures::default();
        walk(&mut m, &reference, 10, false);
        let r = m.metrics();
        assert_eq!((r.sr, r.osr, r.spl, r.sdtw), (0.0, 1.0, 0.0, 0.0));
        assert!((r.ndtw - 1.0).abs() < 1e-12);
    }

    #[test]
    fn spl_penalises_detours() {
        // d0 = 4, the agent walks 2 m away and 6 m back (TL = 8), stops on the goal: SPL = 4 / 8.
        let mut m = VlnMeasures::default();
        m.reset(&reset([0.0; 3], 4.0, &[]));
        m.update(&step(Action::MoveForward, [0.0, 0.0, 2.0], 6.0));
        m.update(&step(Action::MoveForward, [0.0, 0.0, -4.0], 0.0));
        m.update(&step(Action::Stop, [0.0, 0.0, -4.0], 0.0));
        assert_eq!(m.metrics().spl, 0.5);
    }

    #[test]
    fn zero_length_episode() {
        // Start within the goal radius, STOP at once: success, SPL 1, TL 0.
        let reference = [[0.0, 0.0, 0.0]];
        let mut m = VlnMeasures::default();
        m.reset(&reset([0.0; 3], 0.0, &reference));
        m.update(&step(Action::Stop, [0.0; 3], 0.0));
        let r = m.metrics();
        assert_eq!(
            (r.sr, r.osr, r.spl, r.tl, r.ndtw, r.sdtw, r.steps),
            (1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0)
        );
    }

    #[test]
    fn ndtw_with_single_gt_location() {
        // G = one point at the goal; P = start (4 m away) then goal: DTW = 4 + 0, |G| = 1.
        let reference = [[0.0, 0.0, -4.0]];
        let mut m = VlnMeasures::default();
        m.reset(&reset([0.0; 3], 4.0, &reference));
        m.update(&step(Action::MoveForward, [0.0, 0.0, -4.0], 0.0));
        m.update(&step(Action::Stop, [0.0, 0.0, -4.0], 0.0));
        let expected = (-4.0f64 / 3.0).exp();
        assert!((m.metrics().ndtw - expected).abs() < 1e-12);
    }

    #[test]
    fn ndtw_matches_hand_computed_table() {
        // G = (0,0,0), (0,0,-1), (0,0,-2); P = (0,0,0), (1,0,-1), (0,0,-2); a repeated position is ignored.
        // DTW[i][j] = cost(i, j) + min(DTW[i-1][j], DTW[i][j-1], DTW[i-1][j-1]):
        //   p0: costs 0, 1, 2      -> 0,      1,  3
        //   p1: costs √2, 1, √2    -> √2,     1,  1+√2
        //   p2: costs 2, 1, 0      -> 2+√2,   2,  1
        let g = [[0.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 0.0, -2.0]];
        let p = [[0.0, 0.0, 0.0], [1.0, 0.0, -1.0], [0.0, 0.0, -2.0]];
        let mut m = Ndtw::default();
        m.reset(&reset(p[0], 2.0, &g));
        m.update(&step(Action::MoveForward, p[1], 1.0));
        m.update(&step(Action::TurnLeft, p[1], 1.0));
        m.update(&step(Action::MoveForward, p[2], 0.0));
        assert!((m.dtw() - 1.0).abs() < 1e-12, "DTW {}", m.dtw());
        assert!((m.value() - (-1.0f64 / 9.0).exp()).abs() < 1e-12);
    }

    #[test]
    fn composites_follow_habitat_lab_formulas() {
        // G along -z from 0 to -4 (|G| = 5), d0 = 4. P: z = 0, detour to z = 2, then the goal z = -4, STOP.
        // TL = 2 + 6 = 8, so SPL = 1 · 4 / max(4, 8) = 0.5. DTW rows (costs |z_p - z_g|):
        //   z=0:  0, 1, 3, 6, 10
        //   z=2:  2, 3, 5, 8, 12
        //   z=-4: 6, 5, 5, 6, 6   -> DTW 6, nDTW = exp(-6 / (5 · 3)), SDTW = 1 · nDTW.
        let reference = line(4);
        let mut m = VlnMeasures::default();
        m.reset(&reset([0.0; 3], 4.0, &reference));
        m.update(&step(Action::MoveForward, [0.0, 0.0, 2.0], 6.0));
        m.update(&step(Action::MoveForward, [0.0, 0.0, -4.0], 0.0));
        m.update(&step(Action::Stop, [0.0, 0.0, -4.0], 0.0));
        let r = m.metrics();
        let ndtw = (-6.0f64 / 15.0).exp();
        assert_eq!((r.sr, r.tl, r.spl), (1.0, 8.0, 0.5));
        assert!((r.ndtw - ndtw).abs() < 1e-12, "nDTW {}", r.ndtw);
        assert_eq!(r.sdtw, r.sr * r.ndtw);
        // The same path without STOP: SR 0 zeroes both composites, nDTW and TL stay.
        m.reset(&reset([0.0; 3], 4.0, &reference));
        m.update(&step(Action::MoveForward, [0.0, 0.0, 2.0], 6.0));
        m.update(&step(Action::MoveForward, [0.0, 0.0, -4.0], 0.0));
        let r = m.metrics();
        assert_eq!((r.sr, r.tl, r.spl, r.sdtw), (0.0, 8.0, 0.0, 0.0));
        assert!((r.ndtw - ndtw).abs() < 1e-12);
        // Shortest path of a longer d0 is the path itself: SPL 1; a path shorter than d0 (the STOP is
        // still within the radius) is capped by max(d0, TL): SPL 1, never above.
        assert_eq!(
            (spl(1.0, 7.0, 7.0), spl(1.0, 7.0, 5.0), spl(1.0, 7.0, 14.0)),
            (1.0, 1.0, 0.5)
        );
    }

    #[test]
    fn collisions_and_steps_count() {
        let mut m = VlnMeasures::default();
        m.reset(&reset([0.0; 3], 5.0, &[]));
        m.update(&MeasureStep {
            action: Action::MoveForward,
            position: [0.0; 3],
            distance_to_goal: 5.0,
            collided: true,
        });
        m.update(&step(Action::TurnLeft, [0.0; 3], 5.0));
        let r = m.metrics();
        assert_eq!((r.collisions, r.steps, r.tl), (1.0, 2.0, 0.0));
        assert!(r.ndtw.is_nan(), "no reference: nDTW is undefined");
    }
}
