//! The training target of step `i`: the N actions starting with action `i` itself.
//!
//! Frame `i` is the view *before* action `i`, so action `i` is what the model must predict first. The
//! released VLN-Ego converter used actions `i+1 .. i+N` and so never trained the action actually taken at
//! the frame shown; this helper is the one place that gets it right.

use crate::action::Action;

/// `actions[step .. step + n]`, padded with STOP past the end (an episode ends with STOP, and after the end
/// the only right thing to do is keep stopping).
pub fn target_actions(actions: &[Action], step: usize, n: usize) -> Vec<Action> {
    (step..step + n)
        .map(|k| actions.get(k).copied().unwrap_or(Action::Stop))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::target_actions;
    use crate::Action::*;

    #[test]
    fn starts_at_the_current_action_and_pads_with_stop() {
        let gt = [MoveForward, TurnLeft, MoveForward, TurnRight, Stop];
        assert_eq!(
            target_actions(&gt, 0, 3),
            [MoveForward, TurnLeft, MoveForward]
        );
        assert_eq!(
            target_actions(&gt, 1, 3),
            [TurnLeft, MoveForward, TurnRight]
        );
        assert_eq!(target_actions(&gt, 3, 4), [TurnRight, Stop, Stop, Stop]);
        assert_eq!(target_actions(&gt, 4, 2), [Stop, Stop]);
        assert_eq!(target_actions(&gt, 9, 2), [Stop, Stop]);
        assert_eq!(target_actions(&gt, 2, 0), []);
    }
}
