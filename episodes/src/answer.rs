//! The answer format: N option texts separated by commas, e.g.
//! `A. Move forward 25 cm, B. Turn left 15 degrees, D. Stop`.
//!
//! The parser is strict about content (only the exact option texts of the prompt) and tolerant about
//! layout (surrounding and repeated whitespace, letter case). Anything else is a typed [`AnswerError`] that a
//! format reward can inspect.

use crate::action::Action;
use crate::prompt::ActionOptions;

/// Why a completion is not a valid answer. Positions are 0-based item indices.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerError {
    #[error("the answer is empty")]
    Empty,
    #[error("answer item {position} is empty (stray comma?)")]
    EmptyItem { position: usize },
    #[error("answer item {position} is not one of the options: {text:?}")]
    UnknownOption { position: usize, text: String },
    #[error("answer item {position} moves forward {found} cm, the option says {expected} cm")]
    WrongDistance {
        position: usize,
        expected: String,
        found: String,
    },
    #[error("answer item {position} turns {found} degrees, the option says {expected} degrees")]
    WrongAngle {
        position: usize,
        expected: String,
        found: String,
    },
    #[error("the answer has {found} actions, expected exactly {expected}")]
    WrongCount { expected: usize, found: usize },
    #[error(
        "{action} has no answer option (VLN-R1 offers MOVE_FORWARD, TURN_LEFT, TURN_RIGHT, STOP)"
    )]
    NotAnOption { action: Action },
}

/// The answer string for `actions`, e.g. `A. Move forward 25 cm, D. Stop`.
pub fn format_answer(actions: &[Action], options: &ActionOptions) -> Result<String, AnswerError> {
    let mut parts = Vec::with_capacity(actions.len());
    for &action in actions {
        parts.push(
            options
                .text(action)
                .ok_or(AnswerError::NotAnOption { action })?,
        );
    }
    Ok(parts.join(", "))
}

/// Parses an answer that must hold exactly `expected` actions.
pub fn parse_answer(
    text: &str,
    options: &ActionOptions,
    expected: usize,
) -> Result<Vec<Action>, AnswerError> {
    let actions = parse_options(text, options)?;
    if actions.len() != expected {
        return Err(AnswerError::WrongCount {
            expected,
            found: actions.len(),
        });
    }
    Ok(actions)
}

/// Parses a comma-separated list of option texts, of any length. Every item must be a valid option.
pub fn parse_options(text: &str, options: &ActionOptions) -> Result<Vec<Action>, AnswerError> {
    if text.trim().is_empty() {
        return Err(AnswerError::Empty);
    }
    let known: Vec<(Action, String)> = options.iter().map(|(a, t)| (a, normalise(t))).collect();
    text.split(',')
        .enumerate()
        .map(|(position, item)| {
            let item = normalise(item);
            if item.is_empty() {
                return Err(AnswerError::EmptyItem { position });
            }
            if let Some((action, _)) = known.iter().find(|(_, t)| *t == item) {
                return Ok(*action);
            }
            Err(diagnose(position, &item, &known))
        })
        .collect()
}

/// Lowercase, trimmed, inner whitespace runs collapsed to one space.
fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Tells a wrong number in an otherwise right option (the model wrote 30 degrees where the sim turns 15)
/// apart from free text.
fn diagnose(position: usize, item: &str, known: &[(Action, String)]) -> AnswerError {
    let number_between = |prefix: &str, suffix: &str| -> Option<String> {
        let middle = item.strip_prefix(prefix)?.strip_suffix(suffix)?.trim();
        middle.parse::<f64>().ok().filter(|x| x.is_finite())?;
        Some(middle.to_owned())
    };
    let expected_number = |action: Action| -> String {
        let text = known
            .iter()
            .find(|(a, _)| *a == action)
            .map_or("", |(_, t)| t.as_str());
        text.split(' ')
            .find(|w| w.parse::<f64>().is_ok())
            .unwrap_or("")
            .to_owned()
    };
    if let Some(found) = number_between("a. move forward ", " cm") {
        return AnswerError::WrongDistance {
            position,
            expected: expected_number(Action::MoveForward),
            found,
        };
    }
    for (prefix, action) in [
        ("b. turn left ", Action::TurnLeft),
        ("c. turn right ", Action::TurnRight),
    ] {
        if let Some(found) = number_between(prefix, " degrees") {
            return AnswerError::WrongAngle {
                position,
                expected: expected_number(action),
                found,
            };
        }
    }
    AnswerError::UnknownOption {
        position,
        text: item.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::PromptConfig;
    use Action::*;

    fn opts() -> ActionOptions {
        PromptConfig::R2R.options()
    }

    #[test]
    fn format_then_parse_round_trips() {
        let actions = [MoveForward, MoveForward, TurnLeft, TurnRight, Stop, Stop];
        let text = format_answer(&actions, &opts()).unwrap();
        assert_eq!(
            text,
            "A. Move forward 25 cm, A. Move forward 25 cm, B. Turn left 15 degrees, \
             C. Turn right 15 degrees, D. Stop, D. Stop"
        );
        assert_eq!(parse_answer(&text, &opts(), 6).unwrap(), actions);
        let rxr = PromptConfig::RXR.options();
        let text = format_answer(&[TurnRight, Stop], &rxr).unwrap();
        assert_eq!(text, "C. Turn right 30 degrees, D. Stop");
        assert_eq!(parse_answer(&text, &rxr, 2).unwrap(), [TurnRight, Stop]);
    }

    #[test]
    fn whitespace_and_case_are_tolerated() {
        let text = "  a.  MOVE forward 25 cm ,\n b. turn LEFT 15   degrees,d. stop  ";
        assert_eq!(
            parse_answer(text, &opts(), 3).unwrap(),
            [MoveForward, TurnLeft, Stop]
        );
    }

    #[test]
    fn malformed_answers_get_typed_errors() {
        let o = opts();
        assert_eq!(parse_answer("  ", &o, 2), Err(AnswerError::Empty));
        assert_eq!(
            parse_answer("D. Stop, D. Stop", &o, 3),
            Err(AnswerError::WrongCount {
                expected: 3,
                found: 2
            })
        );
        assert_eq!(
            parse_answer("D. Stop,", &o, 2),
            Err(AnswerError::EmptyItem { position: 1 })
        );
        assert_eq!(
            parse_answer("D. Stop, B. Turn left 30 degrees", &o, 2),
            Err(AnswerError::WrongAngle {
                position: 1,
                expected: "15".into(),
                found: "30".into()
            })
        );
        assert_eq!(
            parse_answer("A. Move forward 50 cm", &o, 1),
            Err(AnswerError::WrongDistance {
                position: 0,
                expected: "25".into(),
                found: "50".into()
            })
        );
        assert_eq!(
            parse_answer("D. Stop, A", &o, 2),
            Err(AnswerError::UnknownOption {
                position: 1,
                text: "a".into()
            })
        );
        // The letter belongs to the text: a right text with a wrong letter is not an option.
        assert!(matches!(
            parse_answer("B. Move forward 25 cm", &o, 1),
            Err(AnswerError::UnknownOption { position: 0, .. })
        ));
        assert!(matches!(
            parse_answer("D. Stop.", &o, 1),
            Err(AnswerError::UnknownOption { position: 0, .. })
        ));
        assert_eq!(
            format_answer(&[LookUp], &o),
            Err(AnswerError::NotAnOption { action: LookUp })
        );
    }
}
