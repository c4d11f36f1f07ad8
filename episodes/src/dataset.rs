//! An episode file (R2R-CE `{split}.json.gz` or RxR-CE `{split}_{role}.json.gz`): typed, validated reading
//! and atomic writing.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use serde::Serialize;

use crate::episode::Episode;
use crate::error::{EpisodeError, Result};
use crate::file;
use crate::instruction::InstructionVocab;
use crate::record::{deserialize_record, Extra};
use crate::stats::DatasetStats;
use crate::validate;

/// Top level of an episode file. R2R-CE has `instruction_vocab`; RxR-CE files have only `episodes`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EpisodeDataset {
    pub episodes: Vec<Episode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruction_vocab: Option<InstructionVocab>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The habitat-lab name for the same thing.
pub type Dataset = EpisodeDataset;

deserialize_record!(EpisodeDataset, "an episode file object {\"episodes\": [...]}", {
    required episodes,
    optional instruction_vocab,
});

impl EpisodeDataset {
    pub fn new(episodes: Vec<Episode>) -> EpisodeDataset {
        EpisodeDataset {
            episodes,
            instruction_vocab: None,
            extra: Extra::new(),
        }
    }

    /// Reads, parses and validates an episode file (`.json` or `.json.gz`).
    pub fn load(path: &Path) -> Result<EpisodeDataset> {
        let bytes = file::read_bytes(path)?;
        Self::from_json_bytes(path, &bytes)
    }

    /// Parses and validates JSON bytes; `path` is used in messages only.
    pub fn from_json_bytes(path: &Path, bytes: &[u8]) -> Result<EpisodeDataset> {
        let dataset: EpisodeDataset =
            file::parse_json(path, bytes).map_err(|e| name_episode(e, bytes))?;
        dataset.validate(path)?;
        Ok(dataset)
    }

    /// Validates, then writes atomically (gzip when `path` ends in `.gz`).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.validate(path)?;
        file::write_json(path, self)
    }

    /// Every episode passes [`validate::check_episode`] and episode ids are unique (as Habitat strings).
    pub fn validate(&self, path: &Path) -> Result<()> {
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(self.episodes.len());
        for (index, e) in self.episodes.iter().enumerate() {
            validate::check_episode(e).map_err(|p| EpisodeError::Record {
                path: path.to_owned(),
                record: format!("episode {} (episodes[{index}])", e.episode_id),
                field: p.field,
                message: p.message,
            })?;
            if let Some(first) = seen.insert(e.episode_id.key(), index) {
                return Err(EpisodeError::Record {
                    path: path.to_owned(),
                    record: format!("episode {} (episodes[{index}])", e.episode_id),
                    field: "episode_id".into(),
                    message: format!("duplicate: episodes[{first}] has the same id"),
                });
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.episodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.episodes.is_empty()
    }

    /// Distinct scan names (see [`Episode::scene_name`]), sorted.
    pub fn scenes(&self) -> BTreeSet<&str> {
        self.episodes.iter().map(Episode::scene_name).collect()
    }

    /// Keeps the episodes whose `instruction.language` is one of `languages` (RxR's `LANGUAGES` filter).
    /// Episodes without a language never match.
    pub fn retain_languages<S: AsRef<str>>(&mut self, languages: &[S]) {
        self.episodes.retain(|e| {
            e.instruction
                .language
                .as_deref()
                .is_some_and(|l| languages.iter().any(|x| x.as_ref() == l))
        });
    }

    /// Keeps the episodes whose `info.role` is one of `roles`.
    pub fn retain_roles<S: AsRef<str>>(&mut self, roles: &[S]) {
        self.episodes.retain(|e| {
            e.role()
                .is_some_and(|r| roles.iter().any(|x| x.as_ref() == r))
        });
    }

    /// Appends another file's episodes (RxR guide + follower), keeping this file's vocabulary.
    pub fn extend(&mut self, other: EpisodeDataset) {
        self.episodes.extend(other.episodes);
        if self.instruction_vocab.is_none() {
            self.instruction_vocab = other.instruction_vocab;
        }
    }

    pub fn stats(&self) -> DatasetStats {
        DatasetStats::of(&self.episodes)
    }
}

/// Adds the episode id to a parse error inside `episodes[N]`, when the document is syntactically valid.
fn name_episode(err: EpisodeError, bytes: &[u8]) -> EpisodeError {
    let name = |at: &str| {
        let index = episode_index(at)?;
        let (masked, _) = file::mask_non_finite(bytes);
        let id = serde_json::from_slice::<serde_json::Value>(&masked)
            .ok()
            .and_then(|v| v.get("episodes")?.get(index)?.get("episode_id").cloned());
        // Without a readable id (syntax error, odd id type) the path `episodes[N]` already says where.
        match id {
            Some(serde_json::Value::String(s)) => Some(format!("episode {s}")),
            Some(serde_json::Value::Number(n)) => Some(format!("episode {n}")),
            _ => None,
        }
    };
    match err {
        EpisodeError::Json {
            path,
            record: None,
            at,
            source,
        } => {
            let record = name(&at);
            EpisodeError::Json {
                path,
                record,
                at,
                source,
            }
        }
        EpisodeError::NonFinite {
            path,
            record: None,
            at,
            token,
        } => {
            let record = name(&at);
            EpisodeError::NonFinite {
                path,
                record,
                at,
                token,
            }
        }
        other => other,
    }
}

fn episode_index(at: &str) -> Option<usize> {
    let rest = at.strip_prefix("episodes[")?;
    rest[..rest.find(']')?].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn episode_index_is_read_from_the_serde_path() {
        assert_eq!(episode_index("episodes[12].goals[0].radius"), Some(12));
        assert_eq!(episode_index("instruction_vocab.word_list"), None);
    }
}
