//! The VLN-R1 prompt: the one place where the text the model reads is built, for data generation, SFT, RFT
//! and inference alike.
//!
//! Structure (VLN-R1 / VLN-Ego): a robot-navigation framing with the instruction in quotes, a
//! "Historical observations:" line with one `<image>` per history frame (or "None"), a
//! "Current observation: <image>" line, the request for the next N actions, the four options, and the format
//! rules. The distances and angles in the options come from [`PromptConfig`], which must hold the simulator's
//! values (the released VLN-Ego data said "30 degrees" while simulating 15: that must not happen here).

use crate::action::Action;
use crate::error::{EpisodeError, Result};

/// The placeholder a processor replaces with an image's vision tokens, one per image, in order.
pub const IMAGE_PLACEHOLDER: &str = "<image>";

/// Everything that decides the prompt text besides the instruction and the number of history frames.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PromptConfig {
    /// MOVE_FORWARD distance in metres (R2R-CE and RxR-CE: 0.25).
    pub forward_step_m: f64,
    /// TURN_LEFT / TURN_RIGHT angle in degrees (R2R-CE: 15, RxR-CE: 30).
    pub turn_angle_deg: f64,
    /// How many future actions the model predicts (N; 6 in the paper).
    pub num_actions: usize,
}

impl PromptConfig {
    /// R2R-CE: 25 cm steps, 15 degree turns, 6 actions.
    pub const R2R: PromptConfig = PromptConfig {
        forward_step_m: 0.25,
        turn_angle_deg: 15.0,
        num_actions: 6,
    };
    /// RxR-CE: 25 cm steps, 30 degree turns, 6 actions.
    pub const RXR: PromptConfig = PromptConfig {
        forward_step_m: 0.25,
        turn_angle_deg: 30.0,
        num_actions: 6,
    };

    pub fn validate(&self) -> Result<()> {
        if !(self.forward_step_m.is_finite() && self.forward_step_m > 0.0) {
            return Err(EpisodeError::config(
                "prompt forward_step_m",
                format!("must be a positive distance, got {}", self.forward_step_m),
            ));
        }
        if !(self.turn_angle_deg.is_finite()
            && self.turn_angle_deg > 0.0
            && self.turn_angle_deg < 360.0)
        {
            return Err(EpisodeError::config(
                "prompt turn_angle_deg",
                format!("must be in (0, 360), got {}", self.turn_angle_deg),
            ));
        }
        if self.num_actions == 0 {
            return Err(EpisodeError::config(
                "prompt num_actions",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    pub fn options(&self) -> ActionOptions {
        ActionOptions::new(self.forward_step_m, self.turn_angle_deg)
    }
}

impl Default for PromptConfig {
    fn default() -> Self {
        PromptConfig::R2R
    }
}

/// The four answer options, e.g. `A. Move forward 25 cm`, `B. Turn left 15 degrees`,
/// `C. Turn right 15 degrees`, `D. Stop`. Shared by the prompt and the answer parser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionOptions {
    forward: String,
    left: String,
    right: String,
    stop: String,
}

/// The actions the options offer, in option order (A, B, C, D).
pub const OPTION_ACTIONS: [Action; 4] = [
    Action::MoveForward,
    Action::TurnLeft,
    Action::TurnRight,
    Action::Stop,
];

impl ActionOptions {
    pub fn new(forward_step_m: f64, turn_angle_deg: f64) -> ActionOptions {
        let cm = format_number(forward_step_m * 100.0);
        let deg = format_number(turn_angle_deg);
        ActionOptions {
            forward: format!("A. Move forward {cm} cm"),
            left: format!("B. Turn left {deg} degrees"),
            right: format!("C. Turn right {deg} degrees"),
            stop: "D. Stop".to_owned(),
        }
    }

    /// The option text of an action; `None` for LOOK_UP / LOOK_DOWN, which VLN-R1 does not offer.
    pub fn text(&self, action: Action) -> Option<&str> {
        match action {
            Action::MoveForward => Some(&self.forward),
            Action::TurnLeft => Some(&self.left),
            Action::TurnRight => Some(&self.right),
            Action::Stop => Some(&self.stop),
            Action::LookUp | Action::LookDown => None,
        }
    }

    /// `(action, option text)` in option order.
    pub fn iter(&self) -> impl Iterator<Item = (Action, &str)> {
        OPTION_ACTIONS
            .into_iter()
            .map(move |a| (a, self.text(a).unwrap_or_default()))
    }
}

/// Shortest decimal form with at most two decimals: 25 -> "25", 7.5 -> "7.5", 12.345 -> "12.35".
pub fn format_number(x: f64) -> String {
    let s = format!("{:.2}", (x * 100.0).round() / 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_owned()
    }
}

/// A built prompt and the number of `<image>` placeholders in it (history frames + 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub text: String,
    pub num_images: usize,
}

impl Prompt {
    /// The prompt for `instruction` with `num_history` history frames and one current frame. The instruction
    /// may not contain `<image>`: it would shift every image onto the wrong placeholder.
    pub fn build(config: &PromptConfig, instruction: &str, num_history: usize) -> Result<Prompt> {
        config.validate()?;
        let instruction = instruction.trim();
        if instruction.contains(IMAGE_PLACEHOLDER) {
            return Err(EpisodeError::config(
                "instruction",
                format!("contains the image placeholder {IMAGE_PLACEHOLDER}: {instruction:?}"),
            ));
        }
        let options = config.options();
        let n = config.num_actions;
        let history = if num_history == 0 {
            "None".to_owned()
        } else {
            IMAGE_PLACEHOLDER.repeat(num_history)
        };
        let mut text = String::with_capacity(600 + instruction.len() + history.len());
        text.push_str(
            "You are a robot navigating inside a building. Follow this instruction given by a person: \"",
        );
        text.push_str(instruction);
        text.push_str("\"\n");
        text.push_str("Historical observations: ");
        text.push_str(&history);
        text.push('\n');
        text.push_str("Current observation: ");
        text.push_str(IMAGE_PLACEHOLDER);
        text.push('\n');
        text.push_str(&format!(
            "From the instruction and what you have seen so far, select the next {n} actions. Options:\n"
        ));
        for (_, option) in options.iter() {
            text.push_str(option);
            text.push('\n');
        }
        text.push_str(&format!(
            "Rules: give exactly {n} predictions, in order; write each one as the full option text \
             (for example \"{}\"); separate them with commas.",
            options.text(Action::TurnLeft).unwrap_or_default()
        ));
        Ok(Prompt {
            text,
            num_images: num_history + 1,
        })
    }
}

/// How many `<image>` placeholders a text holds.
pub fn count_placeholders(text: &str) -> usize {
    text.matches(IMAGE_PLACEHOLDER).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_without_trailing_zeros() {
        assert_eq!(format_number(25.0), "25");
        assert_eq!(format_number(0.25 * 100.0), "25");
        assert_eq!(format_number(7.5), "7.5");
        assert_eq!(format_number(12.345), "12.35");
        assert_eq!(format_number(30.000000001), "30");
    }

    #[test]
    fn options_follow_the_configured_step_and_angle() {
        let o = PromptConfig::R2R.options();
        let texts: Vec<&str> = o.iter().map(|(_, t)| t).collect();
        assert_eq!(
            texts,
            [
                "A. Move forward 25 cm",
                "B. Turn left 15 degrees",
                "C. Turn right 15 degrees",
                "D. Stop"
            ]
        );
        let o = PromptConfig {
            forward_step_m: 0.5,
            turn_angle_deg: 30.0,
            num_actions: 3,
        }
        .options();
        assert_eq!(o.text(Action::MoveForward), Some("A. Move forward 50 cm"));
        assert_eq!(o.text(Action::TurnRight), Some("C. Turn right 30 degrees"));
        assert_eq!(o.text(Action::LookUp), None);
    }

    #[test]
    fn prompt_has_one_placeholder_per_image_and_the_sim_angle() {
        let p = Prompt::build(&PromptConfig::R2R, "  Walk past the sofa. ", 3).unwrap();
        assert_eq!(p.num_images, 4);
        assert_eq!(count_placeholders(&p.text), 4);
        assert!(p.text.contains("\"Walk past the sofa.\""));
        assert!(p
            .text
            .contains("Historical observations: <image><image><image>\n"));
        assert!(p.text.contains("Current observation: <image>\n"));
        assert!(p.text.contains("select the next 6 actions"));
        assert!(p.text.contains("B. Turn left 15 degrees\n"));
        assert!(!p.text.contains("30 degrees"));
        assert!(p.text.contains("exactly 6 predictions"));

        let p = Prompt::build(&PromptConfig::RXR, "go", 0).unwrap();
        assert_eq!(p.num_images, 1);
        assert_eq!(count_placeholders(&p.text), 1);
        assert!(p.text.contains("Historical observations: None\n"));
        assert!(p.text.contains("C. Turn right 30 degrees"));
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(Prompt::build(&PromptConfig::R2R, "look at <image> here", 1).is_err());
        let bad = PromptConfig {
            num_actions: 0,
            ..PromptConfig::R2R
        };
        assert!(Prompt::build(&bad, "go", 1).is_err());
        let bad = PromptConfig {
            turn_angle_deg: f64::NAN,
            ..PromptConfig::R2R
        };
        assert!(bad.validate().is_err());
    }
}
