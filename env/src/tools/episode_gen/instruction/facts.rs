//! Step 1 of an instruction: the facts a guide would mention about a path, read off its geometry and the
//! scene's metadata, one phase per kind of fact (rooms, turns, stairs, landmarks), then merged in path order.

use habitat_assets::house::Label;
use habitat_assets::meta::{ObjectMeta, SceneMeta};

use crate::body::heading_of;

/// A corner turns the route when its (merged) angle exceeds this.
const TURN_MIN_DEG: f64 = 40.0;
/// Beyond this the start is a turn around.
const AROUND_DEG: f64 = 145.0;
/// Corners closer than this along the path merge into one turn.
const CORNER_MERGE: f32 = 1.0;
/// Room runs shorter than this along the path (doorway jitter) are ignored.
const MIN_ROOM_RUN: f32 = 0.6;
/// A landmark is passed when the path comes this close (horizontally).
const PASS_DISTANCE: f32 = 1.3;
/// The goal landmark lies within this of the goal.
const GOAL_LANDMARK_DISTANCE: f32 = 1.6;
/// Path sampling step for room and landmark queries.
const SAMPLE_STEP: f32 = 0.1;
/// The start heading is compared with the direction to the path point this far along (metres): it skips
/// the jitter of snapping the start onto the navigable surface.
const INITIAL_LOOK_AHEAD: f32 = 0.75;
/// Horizontal moves shorter than this have no direction (a vertical step, a repeated point).
const MIN_MOVE: f32 = 1e-3;
/// Corners this close to the start (along the path) belong to the initial turn.
const TURN_START_SKIP: f32 = 0.5;
/// Corners this close to the end belong to stopping.
const TURN_END_SKIP: f32 = 0.75;
/// A landmark this close to a corner names it: "turn left at the sofa".
const TURN_LANDMARK_DISTANCE: f32 = 1.5;
/// Storey changes this close (along the path) to the last flight are landing jitter, not a new flight.
const STAIRS_MERGE: f32 = 2.0;
/// A sample this close to a storey's floor height stands on that floor: the flight begins after it.
const ON_FLOOR: f32 = 0.05;
/// A room entered this close (along the path) to a storey change is where the stairs lead.
const STAIRS_ARRIVAL: f32 = 3.0;
/// Landmarks closest this near the start are where the agent starts, not something it passes.
const PASS_START_SKIP: f32 = 1.0;
/// Landmarks closest this near the goal are where it stops.
const PASS_END_SKIP: f32 = 1.5;
/// Samples before and after the closest approach that give the walking direction there.
const PASS_HEADING_SPAN: usize = 2;
/// Only this many landmarks passed (the most prominent) are mentioned.
const MAX_PASSES: usize = 2;
/// A turn and a room entry this close along the path are one act: "turn left into the kitchen".
const TURN_AT_DOOR: f32 = 1.0;

/// A change of direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    Straight,
    Left,
    Right,
    Around,
}

impl Turn {
    /// The turn from heading `from` to heading `to` (radians, positive = left).
    pub fn between(from: f64, to: f64) -> Turn {
        let d = wrap(to - from).to_degrees();
        if d.abs() >= AROUND_DEG {
            Turn::Around
        } else if d >= TURN_MIN_DEG {
            Turn::Left
        } else if d <= -TURN_MIN_DEG {
            Turn::Right
        } else {
            Turn::Straight
        }
    }

    pub(super) fn word(self) -> &'static str {
        match self {
            Turn::Left => "left",
            Turn::Right => "right",
            Turn::Straight => "straight",
            Turn::Around => "around",
        }
    }
}

/// Which side of the walker something is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

/// Something the route does, in path order.
#[derive(Debug, Clone, PartialEq)]
pub enum RouteEvent {
    /// Cross from `from` into room `to` (turning just before or after, when `turn` is set).
    Enter {
        from: Option<String>,
        to: String,
        turn: Option<Turn>,
    },
    /// A corner, with a landmark next to it when there is one.
    Turn { turn: Turn, at: Option<String> },
    /// Walk past an object.
    Pass { label: String, side: Side },
    /// Up or down a flight of stairs, into room `to` at the other end when known.
    Stairs { up: bool, to: Option<String> },
}

/// What an instruction for a path says.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteFacts {
    pub start_room: Option<String>,
    /// How to turn at the start to face along the path.
    pub initial: Turn,
    pub events: Vec<RouteEvent>,
    pub goal_room: Option<String>,
    /// The object next to the goal.
    pub goal_landmark: Option<String>,
}

fn wrap(a: f64) -> f64 {
    let mut a = a % std::f64::consts::TAU;
    if a > std::f64::consts::PI {
        a -= std::f64::consts::TAU;
    } else if a <= -std::f64::consts::PI {
        a += std::f64::consts::TAU;
    }
    a
}

fn dist3(a: [f32; 3], b: [f32; 3]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

fn horizontal(a: [f32; 3], b: [f32; 3]) -> f32 {
    (a[0] - b[0]).hypot(a[2] - b[2])
}

fn heading_along(a: [f32; 3], b: [f32; 3]) -> f64 {
    heading_of(f64::from(b[0] - a[0]), f64::from(b[2] - a[2]))
}

/// A point of the resampled path.
#[derive(Debug, Clone, Copy, PartialEq)]
struct PathSample {
    /// Distance from the start along the path (3-D length).
    s: f32,
    at: [f32; 3],
}

/// A path resampled every `step` metres (3-D length).
fn samples(path: &[[f32; 3]], step: f32) -> Vec<PathSample> {
    let mut out = vec![PathSample {
        s: 0.0,
        at: path[0],
    }];
    let mut s0 = 0.0;
    let mut next = step;
    for w in path.windows(2) {
        let len = dist3(w[0], w[1]);
        while next <= s0 + len && len > 0.0 {
            let t = (next - s0) / len;
            let at = std::array::from_fn(|k| w[0][k] + t * (w[1][k] - w[0][k]));
            out.push(PathSample { s: next, at });
            next += step;
        }
        s0 += len;
    }
    let goal = *path.last().expect("non-empty");
    if out.last().map(|l| l.at) != Some(goal) {
        out.push(PathSample { s: s0, at: goal });
    }
    out
}

/// The landmark among `candidates` nearest to `p` (horizontally), if it is closer than `within`.
fn nearest<'o>(
    candidates: impl Iterator<Item = &'o ObjectMeta>,
    p: [f32; 3],
    within: f32,
) -> Option<&'o ObjectMeta> {
    candidates
        .map(|o| (horizontal(o.position, p), o))
        .filter(|(d, _)| *d < within)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| o)
}

/// Whether instructions may name `o`. A label outside the generator's set (another scene's metadata) is a
/// landmark: the poor ones are all known labels.
fn is_landmark(o: &ObjectMeta) -> bool {
    o.label.parse::<Label>().map_or(true, Label::is_landmark)
}

/// Something the route does, at its distance along the path.
#[derive(Debug, Clone, PartialEq)]
struct EventAt {
    s: f32,
    event: RouteEvent,
}

/// Consecutive samples in one room.
#[derive(Debug, Clone, PartialEq)]
struct RoomRun {
    room: String,
    /// Distances along the path of the first and the last sample.
    start: f32,
    end: f32,
}

/// A corner of the path (or several close ones merged).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Corner {
    s: f32,
    /// Change of heading (radians, positive = left).
    delta: f64,
    at: [f32; 3],
}

/// A flight of stairs along the path.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Flight {
    /// Where the climb (or descent) begins.
    begin: f32,
    /// Where the storey under the path changes.
    changed: f32,
    up: bool,
}

/// A landmark the path passes.
#[derive(Debug, Clone, PartialEq)]
struct Passing {
    s: f32,
    /// Large and close first: the landmark's larger horizontal extent less its distance from the path.
    prominence: f32,
    label: String,
    side: Side,
}

/// The facts of `path` (the geodesic polyline from start to goal) for an agent starting with
/// `start_heading` (radians). `path` must have at least one point.
pub fn route_facts(path: &[[f32; 3]], start_heading: f64, meta: &SceneMeta) -> RouteFacts {
    let route = Route::new(path, meta);
    let goal_room = route.room_of(route.goal());
    let goal_object = route.goal_object(goal_room.as_ref());
    let mut events = route.room_entries();
    events.extend(route.turns(goal_object));
    route.add_stairs(&mut events);
    events.extend(route.passes(goal_object));
    events.sort_by(|a, b| a.s.total_cmp(&b.s));
    RouteFacts {
        start_room: route.room_of(route.start()),
        initial: route.initial_turn(start_heading),
        events: merge_turns_into_entries(events),
        goal_room,
        goal_landmark: goal_object.map(|o| o.label.clone()),
    }
}

/// A path and the scene it runs through.
struct Route<'a> {
    path: &'a [[f32; 3]],
    /// The path resampled every [`SAMPLE_STEP`], for room and landmark queries.
    samples: Vec<PathSample>,
    /// Its length.
    length: f32,
    meta: &'a SceneMeta,
}

impl<'a> Route<'a> {
    fn new(path: &'a [[f32; 3]], meta: &'a SceneMeta) -> Self {
        let samples = samples(path, SAMPLE_STEP);
        let length = samples.last().map_or(0.0, |d| d.s);
        Route {
            path,
            samples,
            length,
            meta,
        }
    }

    fn start(&self) -> [f32; 3] {
        self.path[0]
    }

    fn goal(&self) -> [f32; 3] {
        *self.path.last().expect("path has a point")
    }

    fn room_of(&self, p: [f32; 3]) -> Option<String> {
        self.meta.room_at(p).map(|r| r.name.clone())
    }

    /// The first sample at least `s` along the path (the goal past its end).
    fn point_at(&self, s: f32) -> [f32; 3] {
        self.samples
            .iter()
            .find(|d| d.s >= s)
            .map_or(self.goal(), |d| d.at)
    }

    /// How to turn at the start to face along the path.
    fn initial_turn(&self, start_heading: f64) -> Turn {
        let start = self.start();
        let ahead = self.point_at(INITIAL_LOOK_AHEAD.min(self.length));
        if horizontal(start, ahead) < MIN_MOVE {
            Turn::Straight
        } else {
            Turn::between(start_heading, heading_along(start, ahead))
        }
    }

    /// Runs of samples in the same room; samples outside rooms are skipped.
    fn room_runs(&self) -> Vec<RoomRun> {
        let mut runs: Vec<RoomRun> = Vec::new();
        for d in &self.samples {
            let Some(room) = self.room_of(d.at) else {
                continue;
            };
            match runs.last_mut() {
                Some(last) if last.room == room => last.end = d.s,
                _ => runs.push(RoomRun {
                    room,
                    start: d.s,
                    end: d.s,
                }),
            }
        }
        runs
    }

    /// Each room entered, at the start of its run; short runs (doorways) count only at the ends.
    fn room_entries(&self) -> Vec<EventAt> {
        let runs = self.room_runs();
        let n_runs = runs.len();
        let mut kept: Vec<RoomRun> = Vec::new();
        for (i, run) in runs.into_iter().enumerate() {
            let ends = i == 0 || i + 1 == n_runs;
            let short = run.end - run.start < MIN_ROOM_RUN && !ends;
            if short || kept.last().is_some_and(|k| k.room == run.room) {
                continue;
            }
            kept.push(run);
        }
        kept.windows(2)
            .map(|w| EventAt {
                s: w[1].start,
                event: RouteEvent::Enter {
                    from: Some(w[0].room.clone()),
                    to: w[1].room.clone(),
                    turn: None,
                },
            })
            .collect()
    }

    /// The goal landmark: the nearest landmark to the goal in the goal's room, on its storey.
    fn goal_object(&self, goal_room: Option<&String>) -> Option<&'a ObjectMeta> {
        let goal = self.goal();
        let goal_level = self.meta.level_at(goal[1]);
        let candidates = self.meta.objects.iter().filter(|o| {
            is_landmark(o) && Some(o.level) == goal_level && Some(&o.room) == goal_room
        });
        nearest(candidates, goal, GOAL_LANDMARK_DISTANCE)
    }

    /// Corners of the polyline with their change of heading, merged when close.
    fn corners(&self) -> Vec<Corner> {
        let path = self.path;
        let mut s = 0.0f32;
        let mut group: Option<Corner> = None;
        let mut corners: Vec<Corner> = Vec::new();
        for k in 1..path.len().saturating_sub(1) {
            s += dist3(path[k - 1], path[k]);
            let (a, b, c) = (path[k - 1], path[k], path[k + 1]);
            if horizontal(a, b) < MIN_MOVE || horizontal(b, c) < MIN_MOVE {
                continue;
            }
            let delta = wrap(heading_along(b, c) - heading_along(a, b));
            let corner = Corner { s, delta, at: b };
            group = match group {
                Some(g) if s - g.s < CORNER_MERGE => Some(Corner {
                    delta: g.delta + delta,
                    ..g
                }),
                Some(g) => {
                    corners.push(g);
                    Some(corner)
                }
                None => Some(corner),
            };
        }
        corners.extend(group);
        corners
    }

    /// Left and right turns at corners away from the start and the goal, each with the landmark next to
    /// it (not the goal's: that one is kept for the end).
    fn turns(&self, goal_object: Option<&ObjectMeta>) -> Vec<EventAt> {
        let mut out = Vec::new();
        for c in self.corners() {
            let turn = Turn::between(0.0, c.delta);
            let near_ends = c.s < TURN_START_SKIP || c.s > self.length - TURN_END_SKIP;
            if !matches!(turn, Turn::Left | Turn::Right) || near_ends {
                continue;
            }
            let room = self.room_of(c.at);
            let candidates = self
                .meta
                .objects
                .iter()
                .filter(|o| is_landmark(o) && Some(&o.room) == room.as_ref())
                .filter(|o| goal_object.is_none_or(|g| g.label != o.label));
            let at = nearest(candidates, c.at, TURN_LANDMARK_DISTANCE).map(|o| o.label.clone());
            out.push(EventAt {
                s: c.s,
                event: RouteEvent::Turn { turn, at },
            });
        }
        out
    }

    /// Flights of stairs: where the storey under the path changes.
    fn flights(&self) -> Vec<Flight> {
        let mut level = self.meta.level_at(self.start()[1]);
        let mut last_change = f32::NEG_INFINITY;
        let mut flights = Vec::new();
        for (i, d) in self.samples.iter().enumerate() {
            let l = self.meta.level_at(d.at[1]);
            if l == level {
                continue;
            }
            if let (Some(a), Some(b)) = (level, l) {
                if d.s - last_change > STAIRS_MERGE {
                    flights.push(Flight {
                        begin: self.climb_start(i, a),
                        changed: d.s,
                        up: b > a,
                    });
                    last_change = d.s;
                }
            }
            level = l;
        }
        flights
    }

    /// Where the path last stood on the floor of storey `level` before sample `i` (on another storey).
    fn climb_start(&self, i: usize, level: usize) -> f32 {
        let d = self.samples[i];
        let floor = self
            .meta
            .levels
            .get(level)
            .map_or(d.at[1], |lv| lv.floor_height);
        self.samples[..i]
            .iter()
            .rev()
            .find(|e| (e.at[1] - floor).abs() < ON_FLOOR)
            .map_or(d.s, |e| e.s)
    }

    /// Adds the flights of stairs, placed where they begin; each takes over the room entry at its far end
    /// ("go up the stairs to the hallway").
    fn add_stairs(&self, events: &mut Vec<EventAt>) {
        for flight in self.flights() {
            let new_level = self.meta.level_at(self.point_at(flight.changed)[1]);
            let arrival = events.iter().position(|e| match &e.event {
                RouteEvent::Enter { to, .. } => {
                    (e.s - flight.changed).abs() < STAIRS_ARRIVAL
                        && self.meta.room(to).map(|r| r.level) == new_level
                }
                _ => false,
            });
            let to = arrival.map(|k| match events.remove(k).event {
                RouteEvent::Enter { to, .. } => to,
                _ => unreachable!("matched an Enter"),
            });
            events.push(EventAt {
                s: flight.begin,
                event: RouteEvent::Stairs { up: flight.up, to },
            });
        }
    }

    /// How the path passes landmark `o`: at its closest approach from inside o's room (an object behind a
    /// wall is not passed), if that is near enough and away from the start and the goal.
    fn passing(&self, o: &ObjectMeta) -> Option<Passing> {
        let (dist, i) = self
            .samples
            .iter()
            .enumerate()
            .filter(|(_, d)| self.meta.room_at(d.at).is_some_and(|r| r.name == o.room))
            .map(|(i, d)| (horizontal(d.at, o.position), i))
            .min_by(|a, b| a.0.total_cmp(&b.0))?;
        let s = self.samples[i].s;
        if dist > PASS_DISTANCE || s < PASS_START_SKIP || s > self.length - PASS_END_SKIP {
            return None;
        }
        let a = self.samples[i.saturating_sub(PASS_HEADING_SPAN)].at;
        let b = self.samples[(i + PASS_HEADING_SPAN).min(self.samples.len() - 1)].at;
        if horizontal(a, b) < MIN_MOVE {
            return None;
        }
        let rel = wrap(heading_along(self.samples[i].at, o.position) - heading_along(a, b));
        Some(Passing {
            s,
            prominence: o.size[0].max(o.size[2]) - dist,
            label: o.label.clone(),
            side: if rel > 0.0 { Side::Left } else { Side::Right },
        })
    }

    /// The most prominent landmarks passed, one per label, not the goal's.
    fn passes(&self, goal_object: Option<&ObjectMeta>) -> Vec<EventAt> {
        let mut passes: Vec<Passing> = Vec::new();
        for o in self.meta.objects.iter().filter(|o| is_landmark(o)) {
            let named = |label: &String| *label == o.label;
            if goal_object.is_some_and(|g| named(&g.label))
                || passes.iter().any(|p| named(&p.label))
            {
                continue;
            }
            passes.extend(self.passing(o));
        }
        passes.sort_by(|a, b| b.prominence.total_cmp(&a.prominence));
        passes
            .into_iter()
            .take(MAX_PASSES)
            .map(|p| EventAt {
                s: p.s,
                event: RouteEvent::Pass {
                    label: p.label,
                    side: p.side,
                },
            })
            .collect()
    }
}

/// Events in path order, with each turn right before or after a room entry folded into the entry.
fn merge_turns_into_entries(events: Vec<EventAt>) -> Vec<RouteEvent> {
    let mut merged: Vec<EventAt> = Vec::with_capacity(events.len());
    for e in events {
        let prev = merged.last_mut().filter(|p| e.s - p.s < TURN_AT_DOOR);
        if let Some(prev) = prev {
            if let Some(entry) = turn_into(&prev.event, &e.event) {
                prev.event = entry;
                continue;
            }
        }
        merged.push(e);
    }
    merged.into_iter().map(|e| e.event).collect()
}

/// A turn and a room entry without one (in either order) as one entry with that turn.
fn turn_into(a: &RouteEvent, b: &RouteEvent) -> Option<RouteEvent> {
    match (a, b) {
        (
            RouteEvent::Turn { turn, .. },
            RouteEvent::Enter {
                from,
                to,
                turn: None,
            },
        )
        | (
            RouteEvent::Enter {
                from,
                to,
                turn: None,
            },
            RouteEvent::Turn { turn, .. },
        ) => Some(RouteEvent::Enter {
            from: from.clone(),
            to: to.clone(),
            turn: Some(*turn),
        }),
        _ => None,
    }
}
