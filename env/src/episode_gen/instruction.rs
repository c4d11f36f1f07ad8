//! English route instructions from a path and the scene's metadata, in two steps:
//! 1. [`route_facts`]: what a guide would mention, read off the geodesic path: how to turn at the start
//!    (relative to the start heading), rooms entered, turns at corners (with a nearby landmark), landmarks
//!    passed and on which side, stairs, and where to stop (the goal room and the object next to the goal).
//! 2. [`realize`]: the facts in words, with several templates and synonyms per fact, clauses joined into
//!    sentences in varying ways, and sometimes the goal named first, so that wording varies while the route
//!    stays the one described (a policy has to read the instruction, not match a template).

use habitat_assets::house::Label;
use habitat_assets::meta::{ObjectMeta, SceneMeta};
use rand::seq::IndexedRandom;
use rand::Rng;

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

    fn word(self) -> &'static str {
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

/// A path resampled every `step` metres (3-D length), each sample with its distance from the start.
fn samples(path: &[[f32; 3]], step: f32) -> Vec<(f32, [f32; 3])> {
    let mut out = vec![(0.0, path[0])];
    let mut s0 = 0.0;
    let mut next = step;
    for w in path.windows(2) {
        let len = dist3(w[0], w[1]);
        while next <= s0 + len && len > 0.0 {
            let t = (next - s0) / len;
            out.push((
                next,
                std::array::from_fn(|k| w[0][k] + t * (w[1][k] - w[0][k])),
            ));
            next += step;
        }
        s0 += len;
    }
    if out.last().map(|l| l.1) != path.last().copied() {
        out.push((s0, *path.last().expect("non-empty")));
    }
    out
}

/// Whether instructions may name `o`. A label outside the generator's set (another scene's metadata) is a
/// landmark: the poor ones are all known labels.
fn is_landmark(o: &ObjectMeta) -> bool {
    o.label.parse::<Label>().map_or(true, Label::is_landmark)
}

/// The facts of `path` (the geodesic polyline from start to goal) for an agent starting with
/// `start_heading` (radians). `path` must have at least one point.
pub fn route_facts(path: &[[f32; 3]], start_heading: f64, meta: &SceneMeta) -> RouteFacts {
    let start = path[0];
    let goal = *path.last().expect("path has a point");
    let dense = samples(path, SAMPLE_STEP);
    let total = dense.last().map_or(0.0, |d| d.0);
    let room_of = |p: [f32; 3]| meta.room_at(p).map(|r| r.name.clone());
    let start_room = room_of(start);
    let goal_room = room_of(goal);

    // Where the path heads first: towards the point ~0.75 m along it (skips snapping jitter).
    let ahead = dense
        .iter()
        .find(|d| d.0 >= 0.75f32.min(total))
        .map_or(goal, |d| d.1);
    let initial = if horizontal(start, ahead) < 1e-3 {
        Turn::Straight
    } else {
        Turn::between(start_heading, heading_along(start, ahead))
    };

    let mut events: Vec<(f32, RouteEvent)> = Vec::new();

    // Rooms: runs of samples in the same room, ignoring short runs (doorways) and samples outside rooms.
    let mut runs: Vec<(String, f32, f32)> = Vec::new();
    for &(s, p) in &dense {
        let Some(room) = room_of(p) else { continue };
        match runs.last_mut() {
            Some(last) if last.0 == room => last.2 = s,
            _ => runs.push((room, s, s)),
        }
    }
    let n_runs = runs.len();
    let mut kept: Vec<(String, f32)> = Vec::new();
    for (i, (room, s0, s1)) in runs.into_iter().enumerate() {
        let ends = i == 0 || i + 1 == n_runs;
        if s1 - s0 < MIN_ROOM_RUN && !ends {
            continue;
        }
        if kept.last().is_some_and(|k| k.0 == room) {
            continue;
        }
        kept.push((room, s0));
    }
    for w in kept.windows(2) {
        events.push((
            w[1].1,
            RouteEvent::Enter {
                from: Some(w[0].0.clone()),
                to: w[1].0.clone(),
                turn: None,
            },
        ));
    }

    // The goal landmark: the nearest good landmark next to the goal on its storey.
    let goal_level = meta.level_at(goal[1]);
    let goal_object = meta
        .objects
        .iter()
        .filter(|o| {
            is_landmark(o) && Some(o.level) == goal_level && Some(&o.room) == goal_room.as_ref()
        })
        .map(|o| (horizontal(o.position, goal), o))
        .filter(|(d, _)| *d < GOAL_LANDMARK_DISTANCE)
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, o)| o);

    // Turns: corners of the polyline, merged when close, ignoring the first and last stretch.
    let mut s = 0.0f32;
    let mut group: Option<(f32, f64, [f32; 3])> = None;
    let mut corners: Vec<(f32, f64, [f32; 3])> = Vec::new();
    for k in 1..path.len().saturating_sub(1) {
        s += dist3(path[k - 1], path[k]);
        let (a, b, c) = (path[k - 1], path[k], path[k + 1]);
        if horizontal(a, b) < 1e-3 || horizontal(b, c) < 1e-3 {
            continue;
        }
        let delta = wrap(heading_along(b, c) - heading_along(a, b));
        group = match group {
            Some((gs, gd, gp)) if s - gs < CORNER_MERGE => Some((gs, gd + delta, gp)),
            Some(g) => {
                corners.push(g);
                Some((s, delta, b))
            }
            None => Some((s, delta, b)),
        };
    }
    corners.extend(group);
    for (s, delta, at) in corners {
        let turn = Turn::between(0.0, delta);
        if !matches!(turn, Turn::Left | Turn::Right) || s < 0.5 || s > total - 0.75 {
            continue;
        }
        let corner_room = room_of(at);
        let near = meta
            .objects
            .iter()
            .filter(|o| is_landmark(o) && Some(&o.room) == corner_room.as_ref())
            .filter(|o| goal_object.is_none_or(|g| g.label != o.label))
            .map(|o| (horizontal(o.position, at), o))
            .filter(|(d, _)| *d < 1.5)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, o)| o.label.clone());
        events.push((s, RouteEvent::Turn { turn, at: near }));
    }

    // Stairs: where the storey under the path changes, placed where the climb (or descent) begins.
    let mut level = meta.level_at(start[1]);
    let mut last_stairs = f32::NEG_INFINITY;
    let mut stairs: Vec<(f32, f32, bool)> = Vec::new();
    for (i, &(s, p)) in dense.iter().enumerate() {
        let l = meta.level_at(p[1]);
        if l != level {
            if let (Some(a), Some(b)) = (level, l) {
                if s - last_stairs > 2.0 {
                    let floor = meta.levels.get(a).map_or(p[1], |lv| lv.floor_height);
                    let begin = dense[..i]
                        .iter()
                        .rev()
                        .find(|d| (d.1[1] - floor).abs() < 0.05)
                        .map_or(s, |d| d.0);
                    stairs.push((begin, s, b > a));
                    last_stairs = s;
                }
            }
            level = l;
        }
    }
    for (begin, changed, up) in stairs {
        // The room entered at the other end of the flight is where the stairs lead.
        let new_level =
            meta.level_at(dense.iter().find(|d| d.0 >= changed).map_or(goal, |d| d.1)[1]);
        let arrival = events.iter().position(|(s, e)| match e {
            RouteEvent::Enter { to, .. } => {
                (*s - changed).abs() < 3.0 && meta.room(to).map(|r| r.level) == new_level
            }
            _ => false,
        });
        let to = arrival.map(|k| match events.remove(k).1 {
            RouteEvent::Enter { to, .. } => to,
            _ => unreachable!("matched an Enter"),
        });
        events.push((begin, RouteEvent::Stairs { up, to }));
    }

    // Landmarks passed: closest approach within reach, away from the start and the goal, one per label.
    let mut passes: Vec<(f32, f32, RouteEvent)> = Vec::new();
    for o in meta.objects.iter().filter(|o| is_landmark(o)) {
        if goal_object.is_some_and(|g| g.label == o.label) {
            continue;
        }
        // Only from inside its room: an object behind a wall is not passed.
        let best = dense
            .iter()
            .enumerate()
            .filter(|(_, d)| meta.room_at(d.1).is_some_and(|r| r.name == o.room))
            .map(|(i, d)| (horizontal(d.1, o.position), i))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let Some((dist, i)) = best else { continue };
        let s = dense[i].0;
        if dist > PASS_DISTANCE || s < 1.0 || s > total - 1.5 {
            continue;
        }
        let (a, b) = (
            dense[i.saturating_sub(2)].1,
            dense[(i + 2).min(dense.len() - 1)].1,
        );
        if horizontal(a, b) < 1e-3 {
            continue;
        }
        let rel = wrap(heading_along(dense[i].1, o.position) - heading_along(a, b));
        let side = if rel > 0.0 { Side::Left } else { Side::Right };
        let size = o.size[0].max(o.size[2]);
        if passes
            .iter()
            .any(|p| matches!(&p.2, RouteEvent::Pass { label, .. } if *label == o.label))
        {
            continue;
        }
        passes.push((
            s,
            size - dist,
            RouteEvent::Pass {
                label: o.label.clone(),
                side,
            },
        ));
    }
    // The two most prominent (large and close) of them.
    passes.sort_by(|a, b| b.1.total_cmp(&a.1));
    events.extend(passes.into_iter().take(2).map(|(s, _, e)| (s, e)));

    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    // A turn right at a doorway is one act: "turn left into the kitchen".
    let mut merged: Vec<(f32, RouteEvent)> = Vec::with_capacity(events.len());
    for (s, e) in events {
        if let Some((ps, prev)) = merged.last_mut() {
            match (&*prev, &e) {
                (
                    RouteEvent::Turn { turn, .. },
                    RouteEvent::Enter {
                        from,
                        to,
                        turn: None,
                    },
                ) if s - *ps < 1.0 => {
                    *prev = RouteEvent::Enter {
                        from: from.clone(),
                        to: to.clone(),
                        turn: Some(*turn),
                    };
                    continue;
                }
                (
                    RouteEvent::Enter {
                        from,
                        to,
                        turn: None,
                    },
                    RouteEvent::Turn { turn, .. },
                ) if s - *ps < 1.0 => {
                    *prev = RouteEvent::Enter {
                        from: from.clone(),
                        to: to.clone(),
                        turn: Some(*turn),
                    };
                    continue;
                }
                _ => {}
            }
        }
        merged.push((s, e));
    }

    RouteFacts {
        start_room,
        initial,
        events: merged.into_iter().map(|(_, e)| e).collect(),
        goal_room,
        goal_landmark: goal_object.map(|o| o.label.clone()),
    }
}

fn pick<'a, R: Rng + ?Sized>(rng: &mut R, options: &[&'a str]) -> &'a str {
    options
        .choose(rng)
        .copied()
        .expect("template lists are not empty")
}

fn fill(template: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = template.to_owned();
    for (k, v) in pairs {
        s = s.replace(k, v);
    }
    s
}

/// The first clause: how to face along the path, sometimes with where the agent is.
fn initial_clause<R: Rng + ?Sized>(rng: &mut R, facts: &RouteFacts) -> Option<String> {
    let clause = match facts.initial {
        Turn::Straight => pick(
            rng,
            &[
                "walk forward",
                "go straight ahead",
                "head forward",
                "move ahead",
                "walk straight",
            ],
        ),
        Turn::Left | Turn::Right => {
            let t = pick(
                rng,
                &[
                    "turn {d}",
                    "make a {d} turn",
                    "turn to your {d}",
                    "face {d}",
                    "turn {d}",
                ],
            );
            return Some(fill(t, &[("{d}", facts.initial.word())]));
        }
        Turn::Around => pick(
            rng,
            &[
                "turn around",
                "turn all the way around",
                "turn to face the other way",
                "spin around",
            ],
        ),
    };
    Some(clause.to_owned())
}

fn event_clause<R: Rng + ?Sized>(rng: &mut R, event: &RouteEvent, first_exit: bool) -> String {
    match event {
        RouteEvent::Enter { from, to, turn } => match turn {
            Some(t @ (Turn::Left | Turn::Right)) => {
                let tpl = pick(
                    rng,
                    &[
                        "turn {d} into the {to}",
                        "take a {d} into the {to}",
                        "make a {d} into the {to}",
                        "go {d} into the {to}",
                    ],
                );
                fill(tpl, &[("{d}", t.word()), ("{to}", to)])
            }
            _ => match from {
                Some(from) if first_exit && rng.random_bool(0.6) => {
                    let tpl = pick(
                        rng,
                        &[
                            "exit the {from}",
                            "leave the {from}",
                            "walk out of the {from}",
                            "go out of the {from} into the {to}",
                            "exit the {from} into the {to}",
                        ],
                    );
                    fill(tpl, &[("{from}", from), ("{to}", to)])
                }
                _ => {
                    let tpl = pick(
                        rng,
                        &[
                            "walk into the {to}",
                            "enter the {to}",
                            "go into the {to}",
                            "head into the {to}",
                            "continue into the {to}",
                        ],
                    );
                    fill(tpl, &[("{to}", to)])
                }
            },
        },
        RouteEvent::Turn { turn, at } => {
            let base = pick(
                rng,
                &["turn {d}", "take a {d}", "make a {d}", "turn {d}", "go {d}"],
            );
            let mut s = fill(base, &[("{d}", turn.word())]);
            if let Some(label) = at.as_ref().filter(|_| rng.random_bool(0.5)) {
                s.push_str(&fill(
                    pick(rng, &[" at the {o}", " by the {o}", " near the {o}"]),
                    &[("{o}", label)],
                ));
            }
            s
        }
        RouteEvent::Pass { label, side } => {
            let tpl = pick(
                rng,
                &[
                    "walk past the {o}",
                    "go past the {o}",
                    "pass the {o}",
                    "continue past the {o}",
                    "walk by the {o}",
                ],
            );
            let mut s = fill(tpl, &[("{o}", label)]);
            if rng.random_bool(0.5) {
                s.push_str(match side {
                    Side::Left => " on your left",
                    Side::Right => " on your right",
                });
            }
            s
        }
        RouteEvent::Stairs { up, to } => {
            let flight = if *up {
                pick(
                    rng,
                    &[
                        "go up the stairs",
                        "walk up the stairs",
                        "climb the stairs",
                        "take the stairs up",
                        "head upstairs",
                    ],
                )
            } else {
                pick(
                    rng,
                    &[
                        "go down the stairs",
                        "walk down the stairs",
                        "take the stairs down",
                        "head downstairs",
                        "descend the stairs",
                    ],
                )
            };
            match to {
                Some(room) => format!(
                    "{flight}{}",
                    fill(
                        pick(rng, &[" to the {r}", " into the {r}", " to reach the {r}"]),
                        &[("{r}", room)]
                    )
                ),
                None => flight.to_owned(),
            }
        }
    }
}

fn stop_clause<R: Rng + ?Sized>(rng: &mut R, facts: &RouteFacts, room_mentioned: bool) -> String {
    match (&facts.goal_landmark, &facts.goal_room) {
        (Some(o), room) => {
            let tpl = pick(
                rng,
                &[
                    "stop next to the {o}",
                    "stop by the {o}",
                    "wait near the {o}",
                    "stop in front of the {o}",
                    "stop when you reach the {o}",
                    "stop beside the {o}",
                ],
            );
            let mut s = fill(tpl, &[("{o}", o)]);
            if let Some(r) = room
                .as_ref()
                .filter(|_| !room_mentioned || rng.random_bool(0.25))
            {
                s.push_str(&format!(" in the {r}"));
            }
            s
        }
        // Already inside (the text said so): "once you are inside" would be wrong.
        (None, Some(r)) if room_mentioned => {
            let tpl = pick(
                rng,
                &["stop in the {r}", "wait in the {r}", "stop inside the {r}"],
            );
            fill(tpl, &[("{r}", r)])
        }
        (None, Some(r)) => {
            let tpl = pick(
                rng,
                &[
                    "stop in the {r}",
                    "wait in the {r}",
                    "stop once you are inside the {r}",
                    "stop when you get to the {r}",
                ],
            );
            fill(tpl, &[("{r}", r)])
        }
        (None, None) => pick(rng, &["stop there", "wait there", "stop"]).to_owned(),
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The facts in words: a random choice of templates, connectors and (sometimes) goal-first ordering.
pub fn realize<R: Rng + ?Sized>(facts: &RouteFacts, rng: &mut R) -> String {
    let mut clauses: Vec<String> = Vec::new();
    if let Some(c) = initial_clause(rng, facts) {
        let lead_in = match &facts.start_room {
            Some(room) if rng.random_bool(0.25) => fill(
                pick(
                    rng,
                    &[
                        "starting in the {r}, ",
                        "from the {r}, ",
                        "you are in the {r}; ",
                    ],
                ),
                &[("{r}", room)],
            ),
            _ => String::new(),
        };
        clauses.push(format!("{lead_in}{c}"));
    }
    let mut first_exit = true;
    let mut goal_room_mentioned = false;
    for e in &facts.events {
        if let RouteEvent::Enter { to, .. } | RouteEvent::Stairs { to: Some(to), .. } = e {
            goal_room_mentioned |= facts.goal_room.as_ref() == Some(to);
        }
        clauses.push(event_clause(rng, e, first_exit));
        if matches!(e, RouteEvent::Enter { .. }) {
            first_exit = false;
        }
    }
    let goal_first =
        facts.goal_landmark.is_some() && facts.goal_room.is_some() && rng.random_bool(0.2);
    let stop = stop_clause(rng, facts, goal_room_mentioned);
    clauses.push(stop);

    // Join clauses into sentences of one to three clauses.
    let mut sentences: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut in_sentence = 0;
    for (i, c) in clauses.iter().enumerate() {
        let last = i + 1 == clauses.len();
        if in_sentence == 0 {
            current = c.clone();
        } else {
            let joint = if last {
                pick(rng, &[" and ", ", then ", ", and "])
            } else {
                pick(rng, &[" and ", ", then ", ", ", " and then "])
            };
            current.push_str(joint);
            current.push_str(c);
        }
        in_sentence += 1;
        let close = last || in_sentence >= 3 || rng.random_bool(0.45);
        if close {
            sentences.push(format!("{}.", capitalise(&current)));
            in_sentence = 0;
        }
    }
    let mut text = sentences.join(" ");
    if goal_first {
        let (o, r) = (
            facts.goal_landmark.as_ref().expect("checked"),
            facts.goal_room.as_ref().expect("checked"),
        );
        let intro = fill(
            pick(
                rng,
                &[
                    "Go to the {o} in the {r}.",
                    "Your goal is the {o} in the {r}.",
                    "Find the {o} in the {r}.",
                ],
            ),
            &[("{o}", o), ("{r}", r)],
        );
        text = format!("{intro} {text}");
    }
    text
}

/// An instruction for `path` from a start facing `start_heading`.
pub fn generate_instruction<R: Rng + ?Sized>(
    path: &[[f32; 3]],
    start_heading: f64,
    meta: &SceneMeta,
    rng: &mut R,
) -> String {
    realize(&route_facts(path, start_heading, meta), rng)
}

#[cfg(test)]
mod tests {
    use habitat_assets::meta::{DoorMeta, LevelMeta, RoomMeta, META_FORMAT_VERSION};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Two 4 x 4 m rooms side by side along +x joined by a door at x = 4, a sofa in the kitchen near the
    /// goal, a bookshelf in the bedroom beside the path.
    fn meta() -> SceneMeta {
        let room = |name: &str, kind: &str, x0: f32| RoomMeta {
            kind: kind.into(),
            name: name.into(),
            level: 0,
            floor_height: 0.0,
            polygon: vec![[x0, 0.0], [x0, 4.0], [x0 + 4.0, 4.0], [x0 + 4.0, 0.0]],
        };
        let object = |label: &str, room: &str, x: f32, z: f32| ObjectMeta {
            label: label.into(),
            room: room.into(),
            level: 0,
            position: [x, 0.4, z],
            size: [1.0, 0.8, 0.8],
            yaw: 0.0,
            obstacle: true,
        };
        SceneMeta {
            format_version: META_FORMAT_VERSION,
            name: "test".into(),
            seed: 0,
            wall_thickness: 0.1,
            levels: vec![LevelMeta {
                level: 0,
                floor_height: 0.0,
                ceiling_height: 2.8,
            }],
            rooms: vec![
                room("bedroom", "bedroom", 0.0),
                room("kitchen", "kitchen", 4.0),
            ],
            objects: vec![
                object("bookshelf", "bedroom", 2.5, 1.0),
                object("sofa", "kitchen", 6.5, 3.6),
                object("painting", "bedroom", 2.0, 3.0),
            ],
            doors: vec![DoorMeta {
                position: [4.0, 0.0, 2.0],
                width: 0.9,
                height: 2.1,
                level: 0,
                rooms: ["bedroom".into(), "kitchen".into()],
                direction: [1.0, 0.0],
            }],
            stairs: vec![],
        }
    }

    /// From (0.5, 2) east through the door to (6.5, 2), then south (+z) to (6.5, 3).
    const PATH: [[f32; 3]; 3] = [[0.5, 0.0, 2.0], [6.5, 0.0, 2.0], [6.5, 0.0, 3.0]];
    /// Heading that faces +x (forward = (-sin h, -cos h) = (1, 0)).
    const FACING_EAST: f64 = -std::f64::consts::FRAC_PI_2;

    #[test]
    fn facts_follow_the_geometry() {
        let f = route_facts(&PATH, FACING_EAST, &meta());
        assert_eq!(f.start_room.as_deref(), Some("bedroom"));
        assert_eq!(f.goal_room.as_deref(), Some("kitchen"));
        assert_eq!(f.initial, Turn::Straight);
        assert_eq!(f.goal_landmark.as_deref(), Some("sofa"));
        // East then south is a right turn seen from above (+x right, +z down the map).
        let turns: Vec<Turn> = f
            .events
            .iter()
            .filter_map(|e| match e {
                RouteEvent::Turn { turn, .. } => Some(*turn),
                _ => None,
            })
            .collect();
        assert_eq!(turns, [Turn::Right]);
        assert!(f.events.contains(&RouteEvent::Enter {
            from: Some("bedroom".into()),
            to: "kitchen".into(),
            turn: None
        }));
        // Walking +x, the left hand points to -z: the bookshelf at z = 1 (path at z = 2) is on the left.
        assert!(
            f.events.contains(&RouteEvent::Pass {
                label: "bookshelf".into(),
                side: Side::Left
            }),
            "{:?}",
            f.events
        );
        assert!(!f
            .events
            .iter()
            .any(|e| matches!(e, RouteEvent::Pass { label, .. } if label == "painting")));
    }

    #[test]
    fn initial_turn_is_relative_to_the_start_heading() {
        let m = meta();
        let facing = |h: f64| route_facts(&PATH, h, &m).initial;
        assert_eq!(facing(FACING_EAST + std::f64::consts::PI), Turn::Around);
        // Facing north (-z, heading 0): east is to the right.
        assert_eq!(facing(0.0), Turn::Right);
        assert_eq!(facing(std::f64::consts::PI), Turn::Left);
    }

    #[test]
    fn wording_varies_but_stays_grounded() {
        let m = meta();
        let texts: std::collections::BTreeSet<String> = (0..40)
            .map(|seed| generate_instruction(&PATH, 0.0, &m, &mut ChaCha8Rng::seed_from_u64(seed)))
            .collect();
        assert!(
            texts.len() >= 30,
            "only {} distinct texts of 40",
            texts.len()
        );
        for t in &texts {
            let lower = t.to_lowercase();
            assert!(lower.contains("right"), "initial right turn missing: {t}");
            assert!(lower.contains("sofa"), "goal landmark missing: {t}");
            assert!(
                !lower.replace("on your left", "").contains("left"),
                "a left turn that is not there: {t}"
            );
            assert!(
                t.ends_with('.') && t.chars().next().is_some_and(char::is_uppercase),
                "{t}"
            );
        }
        let again = generate_instruction(&PATH, 0.0, &m, &mut ChaCha8Rng::seed_from_u64(7));
        assert_eq!(
            again,
            generate_instruction(&PATH, 0.0, &m, &mut ChaCha8Rng::seed_from_u64(7))
        );
    }

    #[test]
    fn stairs_are_described_with_the_room_they_lead_to() {
        let mut m = meta();
        m.levels.push(LevelMeta {
            level: 1,
            floor_height: 3.0,
            ceiling_height: 2.8,
        });
        m.rooms.push(RoomMeta {
            kind: "hallway".into(),
            name: "upstairs hallway".into(),
            level: 1,
            floor_height: 3.0,
            polygon: vec![[0.0, 0.0], [0.0, 4.0], [8.0, 4.0], [8.0, 0.0]],
        });
        // Climb 3 m over 5 m of run inside the kitchen, then walk on upstairs.
        let path = [
            [4.5, 0.0, 2.0],
            [5.0, 0.0, 2.0],
            [7.5, 1.5, 2.0],
            [7.5, 3.0, 0.5],
            [3.0, 3.0, 0.5],
        ];
        let f = route_facts(&path, FACING_EAST, &m);
        let stairs: Vec<&RouteEvent> = f
            .events
            .iter()
            .filter(|e| matches!(e, RouteEvent::Stairs { .. }))
            .collect();
        assert_eq!(
            stairs,
            [&RouteEvent::Stairs {
                up: true,
                to: Some("upstairs hallway".into())
            }],
            "{:?}",
            f.events
        );
        assert_eq!(f.goal_room.as_deref(), Some("upstairs hallway"));
        let text = realize(&f, &mut ChaCha8Rng::seed_from_u64(1)).to_lowercase();
        assert!(
            text.contains("stairs") && text.contains("upstairs hallway"),
            "{text}"
        );
    }
}
