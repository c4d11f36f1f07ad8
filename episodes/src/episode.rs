//! One VLN-CE episode as stored in R2R-CE and RxR-CE files (habitat-lab's `VLNExtendedEpisode`).

use serde::Serialize;

use crate::instruction::Instruction;
use crate::record::{deserialize_record, Extra, Id, Quat, Vec3};

/// VLN-CE's success distance (metres): the task's `SUCCESS_DISTANCE`, also the radius the official files write
/// into every goal.
pub const DEFAULT_SUCCESS_DISTANCE: f64 = 3.0;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Episode {
    /// Written as an integer by R2R-CE; Habitat casts it to a string (see [`Id::key`]).
    pub episode_id: Id,
    /// The R2R path this episode's instruction describes (several episodes share one trajectory).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trajectory_id: Option<Id>,
    /// `mp3d/<scan>/<scan>.glb`, relative to a scenes directory.
    pub scene_id: String,
    pub start_position: Vec3,
    /// `[x, y, z, w]`, unit length.
    pub start_rotation: Quat,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<EpisodeInfo>,
    pub goals: Vec<Goal>,
    /// Sparse waypoints: first = start, last = goal.
    pub reference_path: Vec<Vec3>,
    pub instruction: Instruction,
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_record!(Episode, "a VLN-CE episode object", {
    required episode_id,
    optional trajectory_id,
    required scene_id,
    required start_position,
    required start_rotation,
    optional info,
    required goals,
    required reference_path,
    required instruction,
});

impl Episode {
    /// The scan name: the file stem of `scene_id` (`mp3d/abc/abc.glb` -> `abc`), as VLN-CE derives it.
    pub fn scene_name(&self) -> &str {
        let file = self.scene_id.rsplit(['/', '\\']).next().unwrap_or("");
        match file.rfind('.') {
            Some(dot) if dot > 0 => &file[..dot],
            _ => file,
        }
    }

    /// Length of the `reference_path` polyline (metres, 3-D).
    pub fn reference_path_length(&self) -> f64 {
        self.reference_path
            .windows(2)
            .map(|w| distance(w[0], w[1]))
            .fold(0.0, |a, b| a + b) // not `sum()`: an empty f64 sum is -0.0
    }

    /// `info.geodesic_distance`, when the file has it.
    pub fn geodesic_distance(&self) -> Option<f64> {
        self.info.as_ref().and_then(|i| i.geodesic_distance)
    }

    /// The RxR annotation role (`guide` / `follower`) from `info.role`.
    pub fn role(&self) -> Option<&str> {
        self.info.as_ref().and_then(|i| i.role.as_deref())
    }
}

/// `info` of an episode. R2R-CE has `geodesic_distance`; RxR-CE adds `role`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct EpisodeInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geodesic_distance: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_record!(EpisodeInfo, "an episode info object", {
    optional geodesic_distance,
    optional role,
});

/// A navigation goal (habitat-lab's `NavigationGoal`).
///
/// `radius` is optional because habitat-lab's `NavigationGoal` allows `None`; the official R2R-CE and RxR-CE
/// files always write 3.0. A missing radius is kept missing on rewrite (never invented), and
/// [`Goal::success_radius`] falls back to VLN-CE's task-level success distance, which is also what VLN-CE's
/// success measure uses regardless of the goal's radius.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Goal {
    pub position: Vec3,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub radius: Option<f64>,
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_record!(Goal, "a goal object {\"position\": [x, y, z], \"radius\": r}", {
    required position,
    optional radius,
});

impl Goal {
    pub fn new(position: Vec3, radius: f64) -> Goal {
        Goal {
            position,
            radius: Some(radius),
            extra: Extra::new(),
        }
    }

    /// The goal radius, or [`DEFAULT_SUCCESS_DISTANCE`] when the file has none.
    pub fn success_radius(&self) -> f64 {
        self.radius.unwrap_or(DEFAULT_SUCCESS_DISTANCE)
    }
}

/// Straight-line distance between two positions (metres).
pub fn distance(a: Vec3, b: Vec3) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn episode_json(extra: &str) -> String {
        format!(
            r#"{{"episode_id": 7, "trajectory_id": 3, "scene_id": "mp3d/abc/abc.glb",
            "start_position": [0, 0, 0], "start_rotation": [0, 0, 0, 1],
            "info": {{"geodesic_distance": 5.0}},
            "goals": [{{"position": [3, 0, 4], "radius": 3.0}}],
            "reference_path": [[0, 0, 0], [3, 0, 0], [3, 0, 4]],
            "instruction": {{"instruction_text": "go", "instruction_tokens": [1, 2]}}{extra}}}"#
        )
    }

    #[test]
    fn parses_r2r_episode_and_derives_scene_and_path_length() {
        let e: Episode = serde_json::from_str(&episode_json("")).unwrap();
        assert_eq!(e.episode_id, Id::Int(7));
        assert_eq!(e.episode_id.key(), "7");
        assert_eq!(e.scene_name(), "abc");
        assert_eq!(e.reference_path_length(), 7.0);
        assert_eq!(e.geodesic_distance(), Some(5.0));
        assert_eq!(e.goals[0].success_radius(), 3.0);
        assert!(e.extra.is_empty());
    }

    #[test]
    fn unknown_fields_survive_a_rewrite() {
        let e: Episode =
            serde_json::from_str(&episode_json(r#", "scene_dataset": "mp3d", "n": [1]"#)).unwrap();
        assert_eq!(e.extra["scene_dataset"], "mp3d");
        let back: Episode = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }

    #[test]
    fn missing_and_duplicate_fields_are_named() {
        let text = episode_json("").replace(r#""scene_id": "mp3d/abc/abc.glb","#, "");
        let err = serde_json::from_str::<Episode>(&text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `scene_id`"), "{err}");
        let err = serde_json::from_str::<Episode>(&episode_json(r#", "episode_id": 8"#))
            .unwrap_err()
            .to_string();
        assert!(err.contains("duplicate field `episode_id`"), "{err}");
    }

    #[test]
    fn goal_radius_may_be_absent_or_null_and_stays_absent() {
        let g: Goal = serde_json::from_str(r#"{"position": [1, 2, 3]}"#).unwrap();
        assert_eq!(g.radius, None);
        assert_eq!(g.success_radius(), DEFAULT_SUCCESS_DISTANCE);
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            r#"{"position":[1.0,2.0,3.0]}"#
        );
        let g: Goal = serde_json::from_str(r#"{"position": [1, 2, 3], "radius": null}"#).unwrap();
        assert_eq!(g.radius, None);
    }
}
