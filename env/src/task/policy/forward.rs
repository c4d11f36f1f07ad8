//! `forward`: MOVE_FORWARD at every step, never STOP (the episode ends at the step cap). A floor for SR:
//! it can only succeed by oracle (OSR), never by stopping.

use episodes::Action;

use super::{Policy, PolicyInput};
use crate::error::Result;
use crate::task::{ResetInfo, Sensors};

#[derive(Debug, Clone, Copy, Default)]
pub struct ForwardPolicy;

impl Policy for ForwardPolicy {
    fn name(&self) -> String {
        "forward".into()
    }
    fn sensors(&self) -> Sensors {
        Sensors::NONE
    }
    fn reset(&mut self, _slot: usize, _start: &ResetInfo) -> Result<()> {
        Ok(())
    }
    fn act(&mut self, batch: &[PolicyInput<'_>]) -> Result<Vec<Action>> {
        Ok(vec![Action::MoveForward; batch.len()])
    }
}
