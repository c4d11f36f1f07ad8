//! DAgger that keeps its data: the SFT term of a closed-loop round trains on records drawn from everything the
//! run has labelled so far (its committed rollout buffer, every round aggregated, as VLN-CE's DAgger trains on
//! the union of its iterations) mixed with an expert store (`datagen` output), each drawn with next-action
//! balancing as `vln-r1 sft --next-action-balance` weights its samples. Without a replay the SFT term trains
//! on the round's own decisions only, whose labels are mostly turns on a weak policy's states.

use std::path::Path;

use episodes::store::{SampleStore, MANIFEST_FILE};
use episodes::Action;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Result, RftError};
use crate::offline::load_group;
use crate::trainer::{Group, GrpoTrainer};

/// A store the SFT term replays from: each record listed as often as its next action's balance weight says.
pub struct ReplaySource {
    store: SampleStore,
    draws: Vec<u64>,
}

impl ReplaySource {
    /// Opens the store at `root`; None when it holds nothing yet (a run before its first checkpoint).
    pub fn open(root: &Path, balance: f64) -> Result<Option<ReplaySource>> {
        if !root.join(MANIFEST_FILE).is_file() {
            return Ok(None);
        }
        let store = SampleStore::open(root)?;
        if store.is_empty() {
            return Ok(None);
        }
        let mut next = Vec::with_capacity(store.len() as usize);
        for i in 0..store.len() {
            next.push(first_action(&store, i)?);
        }
        let draws = sft::data::balance_repeats(&next, balance)
            .into_iter()
            .enumerate()
            .flat_map(|(i, r)| std::iter::repeat_n(i as u64, r))
            .collect();
        Ok(Some(ReplaySource { store, draws }))
    }

    /// `n` records drawn with replacement, their prompts tokenised for the trainer.
    fn draw(&self, rng: &mut ChaCha8Rng, n: usize, trainer: &GrpoTrainer) -> Result<Vec<Group>> {
        (0..n)
            .map(|_| {
                let i = self.draws[rng.random_range(0..self.draws.len())];
                load_group(&self.store, i, trainer)
            })
            .collect()
    }
}

fn first_action(store: &SampleStore, i: u64) -> Result<Action> {
    let sample = store.get(i)?;
    sample.target.first().copied().ok_or_else(|| {
        RftError::Input(format!(
            "{}: sample {i} (episode {} step {}): field target is empty",
            store.root().display(),
            sample.episode_id,
            sample.step
        ))
    })
}

/// The SFT term's records per round: `size` of them, `data_share` from the expert store and the rest from
/// the run's committed buffer (all from whichever of the two exists when only one does).
pub struct SftReplay {
    pub size: usize,
    pub data_share: f32,
    pub balance: f64,
    data: Option<ReplaySource>,
    buffer: Option<ReplaySource>,
}

impl SftReplay {
    /// Opens the expert store (if any) and what the run's buffer at `buffer_root` has committed.
    pub fn open(
        size: usize,
        data: Option<&Path>,
        data_share: f32,
        balance: f64,
        buffer_root: &Path,
    ) -> Result<SftReplay> {
        let data = match data {
            Some(p) => Some(ReplaySource::open(p, balance)?.ok_or_else(|| {
                RftError::Input(format!(
                    "online.sft_data {}: not a sample store with samples",
                    p.display()
                ))
            })?),
            None => None,
        };
        Ok(SftReplay {
            size,
            data_share,
            balance,
            data,
            buffer: ReplaySource::open(buffer_root, balance)?,
        })
    }

    /// Re-reads the buffer after a checkpoint committed more of it.
    pub fn refresh(&mut self, buffer_root: &Path) -> Result<()> {
        self.buffer = ReplaySource::open(buffer_root, self.balance)?;
        Ok(())
    }

    /// Records the buffer has committed (0 before the first checkpoint).
    pub fn buffered(&self) -> u64 {
        self.buffer.as_ref().map_or(0, |b| b.store.len())
    }

    /// This round's records; None when there is nothing to replay yet (the round's own decisions stand in).
    pub fn draw(&self, rng: &mut ChaCha8Rng, trainer: &GrpoTrainer) -> Result<Option<Vec<Group>>> {
        let from_data = match (&self.data, &self.buffer) {
            (None, None) => return Ok(None),
            (Some(_), None) => self.size,
            (None, Some(_)) => 0,
            (Some(_), Some(_)) => (self.size as f32 * self.data_share).round() as usize,
        };
        let mut groups = Vec::with_capacity(self.size);
        if let Some(d) = &self.data {
            groups.extend(d.draw(rng, from_data, trainer)?);
        }
        if let Some(b) = &self.buffer {
            groups.extend(b.draw(rng, self.size - from_data, trainer)?);
        }
        Ok(Some(groups))
    }
}
