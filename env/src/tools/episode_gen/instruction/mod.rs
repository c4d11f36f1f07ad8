//! English route instructions from a path and the scene's metadata, in two steps:
//! 1. [`route_facts`]: what a guide would mention, read off the geodesic path: how to turn at the start
//!    (relative to the start heading), rooms entered, turns at corners (with a nearby landmark), landmarks
//!    passed and on which side, stairs, and where to stop (the goal room and the object next to the goal).
//! 2. [`realize`]: the facts in words, with several templates and synonyms per fact, clauses joined into
//!    sentences in varying ways, and sometimes the goal named first, so that wording varies while the route
//!    stays the one described (a policy has to read the instruction, not match a template).

mod facts;

use habitat_assets::meta::SceneMeta;
use rand::seq::IndexedRandom;
use rand::Rng;

pub use facts::{route_facts, RouteEvent, RouteFacts, Side, Turn};

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
    use habitat_assets::meta::{DoorMeta, LevelMeta, ObjectMeta, RoomMeta, META_FORMAT_VERSION};
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
