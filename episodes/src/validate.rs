//! The rules a loaded record must satisfy, so the simulator and trainers can trust the types.
//! Each check returns the offending field (as a JSON path inside the record) and what is wrong with it.

use crate::episode::Episode;
use crate::gt::GtEntry;
use crate::record::{Quat, Vec3};
use crate::Action;

/// Allowed deviation of `|start_rotation|` from 1.
pub const QUATERNION_NORM_TOLERANCE: f64 = 1e-3;

/// Largest |coordinate| (metres) of a position in an episode or gt record: 10 km, as for scene vertices
/// (`habitat_assets::MAX_WORLD_COORD`); the largest habitat scenes span ~100 m. A point at 1e30 would size or
/// cross every map drawn from the record.
pub const MAX_WORLD_COORD: f64 = 10_000.0;

/// Most points a reference path may hold (R2R's hold ~6, RxR's a few dozen): each becomes a segment to
/// draw and measure against, so a few KB of JSON must not ask for millions.
pub const MAX_REFERENCE_PATH_POINTS: usize = 4096;

/// A rule broken by one record: the field and the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> Problem {
    Problem {
        field: field.into(),
        message: message.into(),
    }
}

fn check_finite(field: impl FnOnce() -> String, v: &[f64]) -> Result<(), Problem> {
    if v.iter().all(|x| x.is_finite()) {
        Ok(())
    } else {
        Err(problem(
            field(),
            format!("coordinates must be finite, got {v:?}"),
        ))
    }
}

fn check_point(field: impl FnOnce() -> String, p: &Vec3) -> Result<(), Problem> {
    if p.iter().all(|x| x.abs() <= MAX_WORLD_COORD) {
        return Ok(());
    }
    let field = field();
    check_finite(|| field.clone(), p)?;
    Err(problem(
        field,
        format!("{p:?} lies beyond the world limit of {MAX_WORLD_COORD} m per axis"),
    ))
}

fn check_quaternion(field: &str, q: &Quat) -> Result<(), Problem> {
    check_finite(|| field.to_owned(), q)?;
    let norm = q.iter().map(|x| x * x).sum::<f64>().sqrt();
    if (norm - 1.0).abs() > QUATERNION_NORM_TOLERANCE {
        return Err(problem(
            field,
            format!("quaternion [x, y, z, w] = {q:?} has norm {norm:.6}, expected 1 (tolerance {QUATERNION_NORM_TOLERANCE})"),
        ));
    }
    Ok(())
}

/// `field` is a closure so that the common, valid case formats no names (RxR has ~100 timed words per episode).
fn check_optional_number(
    field: impl FnOnce() -> String,
    v: Option<f64>,
    non_negative: bool,
) -> Result<(), Problem> {
    match v {
        Some(x) if !x.is_finite() => Err(problem(field(), format!("must be finite, got {x}"))),
        Some(x) if non_negative && x < 0.0 => {
            Err(problem(field(), format!("must be >= 0, got {x}")))
        }
        _ => Ok(()),
    }
}

/// Checks one episode: finite coordinates, unit start rotation, at least one goal with a positive radius
/// (when given), a non-empty reference path and instruction text.
pub fn check_episode(e: &Episode) -> Result<(), Problem> {
    if e.scene_id.trim().is_empty() {
        return Err(problem("scene_id", "is empty"));
    }
    check_point(|| "start_position".into(), &e.start_position)?;
    check_quaternion("start_rotation", &e.start_rotation)?;
    if e.goals.is_empty() {
        return Err(problem(
            "goals",
            "is empty: an episode needs at least one goal",
        ));
    }
    for (k, g) in e.goals.iter().enumerate() {
        check_point(|| format!("goals[{k}].position"), &g.position)?;
        if let Some(r) = g.radius {
            if !(r.is_finite() && r > 0.0) {
                return Err(problem(
                    format!("goals[{k}].radius"),
                    format!("must be a positive number, got {r}"),
                ));
            }
        }
    }
    if e.reference_path.is_empty() {
        return Err(problem(
            "reference_path",
            "is empty: it must hold at least the start",
        ));
    }
    if e.reference_path.len() > MAX_REFERENCE_PATH_POINTS {
        return Err(problem(
            "reference_path",
            format!(
                "has {} points, more than {MAX_REFERENCE_PATH_POINTS}",
                e.reference_path.len()
            ),
        ));
    }
    for (k, p) in e.reference_path.iter().enumerate() {
        check_point(|| format!("reference_path[{k}]"), p)?;
    }
    if let Some(info) = &e.info {
        check_optional_number(
            || "info.geodesic_distance".into(),
            info.geodesic_distance,
            true,
        )?;
    }
    let ins = &e.instruction;
    if ins.instruction_text.trim().is_empty() {
        return Err(problem("instruction.instruction_text", "is empty"));
    }
    check_optional_number(
        || "instruction.edit_distance".into(),
        ins.edit_distance,
        false,
    )?;
    if let Some(words) = &ins.timed_instruction {
        for (k, w) in words.iter().enumerate() {
            let name = |t: &'static str| move || format!("instruction.timed_instruction[{k}].{t}");
            check_optional_number(name("start_time"), w.start_time, false)?;
            check_optional_number(name("end_time"), w.end_time, false)?;
        }
    }
    Ok(())
}

/// Checks one gt entry: at least one finite location, at least one action, and STOP as the last action.
/// `forward_steps` is not cross-checked against `locations`: blocked forward steps and sliding make the
/// relation depend on the simulator that recorded the file.
pub fn check_gt_entry(g: &GtEntry) -> Result<(), Problem> {
    if g.locations.is_empty() {
        return Err(problem(
            "locations",
            "is empty: it must hold at least the start",
        ));
    }
    for (k, p) in g.locations.iter().enumerate() {
        check_point(|| format!("locations[{k}]"), p)?;
    }
    match g.actions.last() {
        None => Err(problem("actions", "is empty")),
        Some(Action::Stop) => Ok(()),
        Some(a) => Err(problem(
            format!("actions[{}]", g.actions.len() - 1),
            format!("the last action must be 0 (STOP), got {} ({a})", a.id()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::episode::Goal;
    use crate::instruction::Instruction;
    use crate::record::{Extra, Id};

    fn episode() -> Episode {
        Episode {
            episode_id: Id::Int(1),
            trajectory_id: None,
            scene_id: "mp3d/s/s.glb".into(),
            start_position: [0.0, 0.0, 0.0],
            start_rotation: [0.0, 0.0, 0.0, 1.0],
            info: None,
            goals: vec![Goal::new([1.0, 0.0, 0.0], 3.0)],
            reference_path: vec![[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]],
            instruction: Instruction::from_text("go"),
            extra: Extra::new(),
        }
    }

    fn field_of(e: &Episode) -> String {
        check_episode(e).unwrap_err().field
    }

    #[test]
    fn each_rule_names_its_field() {
        assert_eq!(check_episode(&episode()), Ok(()));
        let mut e = episode();
        e.start_position[1] = f64::NAN;
        assert_eq!(field_of(&e), "start_position");
        let mut e = episode();
        e.start_rotation = [0.0, 0.0, 0.0, 0.99];
        assert_eq!(field_of(&e), "start_rotation");
        let mut e = episode();
        e.start_rotation = [0.0, 0.707, 0.0, 0.707]; // norm 0.99985
        assert_eq!(check_episode(&e), Ok(()), "within tolerance");
        let mut e = episode();
        e.reference_path[1][2] = f64::INFINITY;
        assert_eq!(field_of(&e), "reference_path[1]");
        let mut e = episode();
        e.reference_path[1][0] = 1e30;
        let p = check_episode(&e).unwrap_err();
        assert_eq!(p.field, "reference_path[1]");
        assert!(p.message.contains("world limit"), "{}", p.message);
        let mut e = episode();
        e.reference_path = vec![[0.0; 3]; MAX_REFERENCE_PATH_POINTS + 1];
        assert_eq!(field_of(&e), "reference_path");
        let mut e = episode();
        e.goals[0].position[2] = -3e4;
        assert_eq!(field_of(&e), "goals[0].position");
        let mut e = episode();
        e.reference_path.clear();
        assert_eq!(field_of(&e), "reference_path");
        let mut e = episode();
        e.goals.clear();
        assert_eq!(field_of(&e), "goals");
        let mut e = episode();
        e.goals[0].radius = Some(0.0);
        assert_eq!(field_of(&e), "goals[0].radius");
        let mut e = episode();
        e.goals[0].radius = None;
        assert_eq!(check_episode(&e), Ok(()), "radius may be absent");
        let mut e = episode();
        e.instruction.instruction_text = "  ".into();
        assert_eq!(field_of(&e), "instruction.instruction_text");
    }

    #[test]
    fn gt_entries_must_end_with_stop() {
        let mut g = GtEntry {
            locations: vec![[0.0; 3]],
            actions: vec![Action::MoveForward, Action::Stop],
            forward_steps: 1,
            extra: Extra::new(),
        };
        assert_eq!(check_gt_entry(&g), Ok(()));
        g.actions.pop();
        assert_eq!(check_gt_entry(&g).unwrap_err().field, "actions[0]");
        g.actions.clear();
        assert_eq!(check_gt_entry(&g).unwrap_err().field, "actions");
    }
}
