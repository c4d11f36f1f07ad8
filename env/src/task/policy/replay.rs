//! `replay:FILE`: plays recorded actions. FILE is JSON `{"<episode_id>": [action, ...]}` with Habitat action
//! integers (a gt file's `actions` lists, or a policy's recorded output); after the list ends it calls STOP.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use episodes::Action;

use super::{Policy, PolicyInput};
use crate::error::{EnvError, Result};
use crate::task::{ResetInfo, Sensors};

#[derive(Debug, Clone)]
pub struct ReplayPolicy {
    source: PathBuf,
    actions: HashMap<String, Arc<[Action]>>,
    /// Per slot: the episode's actions and how many were played.
    slots: HashMap<usize, (Arc<[Action]>, usize)>,
}

impl ReplayPolicy {
    pub fn new(source: PathBuf, actions: HashMap<String, Vec<Action>>) -> Self {
        let actions = actions.into_iter().map(|(k, v)| (k, v.into())).collect();
        ReplayPolicy {
            source,
            actions,
            slots: HashMap::new(),
        }
    }

    /// Reads the action file (`.json` or `.json.gz`).
    pub fn load(path: &Path) -> Result<Self> {
        let actions: HashMap<String, Vec<Action>> = episodes::file::read_json(path)?;
        Ok(ReplayPolicy::new(path.to_path_buf(), actions))
    }
}

impl Policy for ReplayPolicy {
    fn name(&self) -> String {
        format!("replay:{}", self.source.display())
    }
    fn sensors(&self) -> Sensors {
        Sensors::NONE
    }
    fn reset(&mut self, slot: usize, start: &ResetInfo) -> Result<()> {
        let id = start.episode.episode_id.key();
        let actions = self.actions.get(&id).ok_or_else(|| {
            EnvError::Invalid(format!(
                "{}: no actions for episode {id}",
                self.source.display()
            ))
        })?;
        self.slots.insert(slot, (actions.clone(), 0));
        Ok(())
    }
    fn act(&mut self, batch: &[PolicyInput<'_>]) -> Result<Vec<Action>> {
        batch
            .iter()
            .map(|input| {
                let (actions, played) = self.slots.get_mut(&input.slot).ok_or_else(|| {
                    EnvError::Invalid(format!(
                        "replay policy: slot {} was never reset",
                        input.slot
                    ))
                })?;
                let a = actions.get(*played).copied().unwrap_or(Action::Stop);
                *played += 1;
                Ok(a)
            })
            .collect()
    }
}
