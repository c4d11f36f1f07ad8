//! Which routes (start, goal) a scene's sampling may not draw: the ones it drew already, so that train and
//! val_seen never repeat a route, and the routes of other datasets to keep clear of (`episodes generate
//! --avoid`), so that an augmented train split does not hold near-copies of the val_seen episodes on which
//! training stages are chosen.

use std::collections::{HashMap, HashSet};

use episodes::episode::distance;
use episodes::{EpisodeDataset, Vec3 as Point};

/// The routes one scene's sampling must not draw again.
#[derive(Debug, Clone, Default)]
pub struct TakenRoutes {
    /// Drawn routes, start and goal rounded to 0.5 m.
    cells: HashSet<[i32; 6]>,
    /// Routes to keep clear of: a route is taken when its start and its goal both lie within `radius` of one
    /// of these.
    avoided: Vec<(Point, Point)>,
    radius: f64,
}

impl TakenRoutes {
    fn cell(start: Point, goal: Point) -> [i32; 6] {
        [start[0], start[1], start[2], goal[0], goal[1], goal[2]].map(|v| (v * 2.0).round() as i32)
    }

    pub fn contains(&self, start: Point, goal: Point) -> bool {
        self.cells.contains(&Self::cell(start, goal))
            || self.avoided.iter().any(|&(s, g)| {
                distance(s, start) <= self.radius && distance(g, goal) <= self.radius
            })
    }

    pub fn insert(&mut self, start: Point, goal: Point) {
        self.cells.insert(Self::cell(start, goal));
    }
}

/// Routes of existing episodes, by scene id, that generation keeps clear of.
#[derive(Debug, Clone, Default)]
pub struct AvoidedRoutes {
    by_scene: HashMap<String, Vec<(Point, Point)>>,
    radius: f64,
}

impl AvoidedRoutes {
    /// Every episode of `datasets` (start and first goal); a generated route is redrawn when its start and goal
    /// both lie within `radius` metres of one of them in the same scene.
    pub fn new<'a>(datasets: impl IntoIterator<Item = &'a EpisodeDataset>, radius: f64) -> Self {
        let mut by_scene: HashMap<String, Vec<(Point, Point)>> = HashMap::new();
        for e in datasets.into_iter().flat_map(|d| &d.episodes) {
            if let Some(goal) = e.goals.first() {
                by_scene
                    .entry(e.scene_id.clone())
                    .or_default()
                    .push((e.start_position, goal.position));
            }
        }
        AvoidedRoutes { by_scene, radius }
    }

    pub fn len(&self) -> usize {
        self.by_scene.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The starting state of a scene's sampling: nothing drawn yet, this scene's avoided routes.
    pub fn taken_in(&self, scene_id: &str) -> TakenRoutes {
        TakenRoutes {
            cells: HashSet::new(),
            avoided: self.by_scene.get(scene_id).cloned().unwrap_or_default(),
            radius: self.radius,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_is_taken_when_drawn_or_when_both_ends_are_near_an_avoided_one() {
        let mut taken = TakenRoutes {
            avoided: vec![([0.0, 0.0, 0.0], [10.0, 0.0, 0.0])],
            radius: 1.5,
            ..Default::default()
        };
        assert!(taken.contains([1.0, 0.0, 1.0], [10.0, 0.0, -1.0]));
        assert!(
            !taken.contains([1.0, 0.0, 1.0], [12.0, 0.0, 0.0]),
            "goal 2 m off"
        );
        assert!(
            !taken.contains([2.0, 0.0, 0.0], [10.0, 0.0, 0.0]),
            "start 2 m off"
        );
        assert!(!taken.contains([5.0, 0.0, 5.0], [8.0, 0.0, 8.0]));
        taken.insert([5.0, 0.0, 5.0], [8.0, 0.0, 8.0]);
        assert!(
            taken.contains([5.1, 0.0, 5.1], [8.0, 0.0, 8.1]),
            "same 0.5 m cells"
        );
    }
}
