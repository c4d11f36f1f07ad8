//! Ground-truth files `{split}_gt.json.gz`: the expert's actions and positions per episode,
//! `{"<episode_id>": {"locations": [[x,y,z]..], "actions": [int..], "forward_steps": int}}`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::action::Action;
use crate::dataset::EpisodeDataset;
use crate::error::{EpisodeError, Result};
use crate::file;
use crate::record::{deserialize_record, Extra, Vec3};
use crate::stats::GtStats;
use crate::validate;

/// One episode's expert trajectory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GtEntry {
    /// Agent positions, appended only when the position changed (so shorter than `actions`).
    pub locations: Vec<Vec3>,
    /// The expert's actions; the last one is STOP.
    pub actions: Vec<Action>,
    pub forward_steps: u64,
    #[serde(flatten)]
    pub extra: Extra,
}

deserialize_record!(GtEntry, "a gt entry {\"locations\", \"actions\", \"forward_steps\"}", {
    required locations,
    required actions,
    required forward_steps,
});

impl GtEntry {
    /// Length of the `locations` polyline (metres).
    pub fn path_length(&self) -> f64 {
        self.locations
            .windows(2)
            .map(|w| crate::episode::distance(w[0], w[1]))
            .fold(0.0, |a, b| a + b) // not `sum()`: an empty f64 sum is -0.0
    }
}

/// A whole gt file, keyed by episode id as Habitat writes it (a string). Sorted by key, so rewrites are
/// deterministic.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(transparent)]
pub struct GroundTruth {
    pub entries: BTreeMap<String, GtEntry>,
}

impl<'de> Deserialize<'de> for GroundTruth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // By hand because a derived map silently keeps the last of two equal keys.
        struct GtVisitor;
        impl<'de> Visitor<'de> for GtVisitor {
            type Value = GroundTruth;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object mapping episode ids to gt entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<GroundTruth, A::Error> {
                let mut entries = BTreeMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    let entry: GtEntry = map.next_value()?;
                    if entries.insert(key.clone(), entry).is_some() {
                        return Err(serde::de::Error::custom(format!(
                            "duplicate episode id {key:?}"
                        )));
                    }
                }
                Ok(GroundTruth { entries })
            }
        }
        d.deserialize_map(GtVisitor)
    }
}

/// A broken rule of the entry of episode `id` in `path`.
fn record_error(path: &Path, id: &str, p: validate::Problem) -> EpisodeError {
    EpisodeError::Record {
        path: path.to_owned(),
        record: format!("episode {id}"),
        field: p.field,
        message: p.message,
    }
}

impl GroundTruth {
    /// Reads, parses and validates a gt file.
    pub fn load(path: &Path) -> Result<GroundTruth> {
        let bytes = file::read_bytes(path)?;
        let gt: GroundTruth = file::parse_json(path, &bytes).map_err(name_entry)?;
        gt.validate(path)?;
        Ok(gt)
    }

    /// Validates, then writes atomically (gzip when `path` ends in `.gz`).
    pub fn save(&self, path: &Path) -> Result<()> {
        self.validate(path)?;
        file::write_json(path, self)
    }

    /// Reads and parses a gt file like [`load`](Self::load), but keeps only the entries that validate and
    /// returns the others' episode ids and problems (each naming the file, episode and field): one bad
    /// record of thousands must not end a run. A file that does not parse is still an error.
    pub fn load_skipping_invalid(
        path: &Path,
    ) -> Result<(GroundTruth, Vec<(String, EpisodeError)>)> {
        let bytes = file::read_bytes(path)?;
        let mut gt: GroundTruth = file::parse_json(path, &bytes).map_err(name_entry)?;
        let mut problems = Vec::new();
        gt.entries
            .retain(|id, entry| match validate::check_gt_entry(entry) {
                Ok(()) => true,
                Err(p) => {
                    problems.push((id.clone(), record_error(path, id, p)));
                    false
                }
            });
        Ok((gt, problems))
    }

    pub fn validate(&self, path: &Path) -> Result<()> {
        for (id, entry) in &self.entries {
            validate::check_gt_entry(entry).map_err(|p| record_error(path, id, p))?;
        }
        Ok(())
    }

    pub fn get(&self, episode_id: &str) -> Option<&GtEntry> {
        self.entries.get(episode_id)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How this gt file lines up with an episode file.
    pub fn coverage(&self, dataset: &EpisodeDataset) -> GtCoverage {
        let ids: std::collections::HashSet<String> = dataset
            .episodes
            .iter()
            .map(|e| e.episode_id.key())
            .collect();
        GtCoverage {
            episodes_without_gt: ids
                .iter()
                .filter(|id| !self.entries.contains_key(*id))
                .count(),
            gt_without_episode: self
                .entries
                .keys()
                .filter(|k| !ids.contains(*k))
                .cloned()
                .collect(),
        }
    }

    pub fn stats(&self) -> GtStats {
        GtStats::of(self.entries.values())
    }
}

/// The result of [`GroundTruth::coverage`]. Neither count is an error by itself: test splits have no gt, and
/// a filtered episode file leaves gt entries behind.
#[derive(Debug, Clone, PartialEq)]
pub struct GtCoverage {
    pub episodes_without_gt: usize,
    pub gt_without_episode: Vec<String>,
}

/// Parse errors in a gt file start with the episode key (`123.actions[4]`): make the key the record and keep
/// the rest as the field.
fn name_entry(err: EpisodeError) -> EpisodeError {
    let split = |at: String| -> (Option<String>, String) {
        let end = at.find(['.', '[']).unwrap_or(at.len());
        let key = &at[..end];
        if key.is_empty() || key == "?" || at == "top level" {
            return (None, at);
        }
        let rest = at[end..].trim_start_matches('.');
        let field = if rest.is_empty() {
            "top level".to_owned()
        } else {
            rest.to_owned()
        };
        (Some(format!("episode {key}")), field)
    };
    match err {
        EpisodeError::Json {
            path,
            record: None,
            at,
            source,
        } => {
            let (record, at) = split(at);
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
            let (record, at) = split(at);
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
