//! Summary statistics of episode and gt files (what `vln-r1 episodes stats` prints).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use crate::episode::Episode;
use crate::gt::GtEntry;

/// min / mean / median / max of a set of values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub count: usize,
    pub min: f64,
    pub mean: f64,
    pub median: f64,
    pub max: f64,
}

impl Summary {
    /// `None` for no values. The median of an even count is the mean of the two middle values.
    pub fn of(mut values: Vec<f64>) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let n = values.len();
        let median = if n % 2 == 1 {
            values[n / 2]
        } else {
            (values[n / 2 - 1] + values[n / 2]) / 2.0
        };
        Some(Summary {
            count: n,
            min: values[0],
            mean: values.iter().sum::<f64>() / n as f64,
            median,
            max: values[n - 1],
        })
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "min {:.2}  mean {:.2}  median {:.2}  max {:.2}  (n={})",
            self.min, self.mean, self.median, self.max, self.count
        )
    }
}

/// Statistics of an episode file.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetStats {
    pub episodes: usize,
    pub scenes: usize,
    pub trajectories: usize,
    /// Episodes per `instruction.language` (`"-"` for none).
    pub languages: BTreeMap<String, usize>,
    /// Episodes per `info.role` (empty for R2R-CE).
    pub roles: BTreeMap<String, usize>,
    /// Length of the `reference_path` polyline, metres.
    pub path_length: Option<Summary>,
    /// `info.geodesic_distance`, metres (episodes that have it).
    pub geodesic_distance: Option<Summary>,
    /// Whitespace-separated words of `instruction_text`.
    pub instruction_words: Option<Summary>,
}

impl DatasetStats {
    pub fn of(episodes: &[Episode]) -> DatasetStats {
        let mut languages = BTreeMap::new();
        let mut roles = BTreeMap::new();
        for e in episodes {
            let lang = e.instruction.language.as_deref().unwrap_or("-");
            *languages.entry(lang.to_owned()).or_insert(0) += 1;
            if let Some(r) = e.role() {
                *roles.entry(r.to_owned()).or_insert(0) += 1;
            }
        }
        let scenes: BTreeSet<&str> = episodes.iter().map(Episode::scene_name).collect();
        let trajectories: BTreeSet<String> = episodes
            .iter()
            .filter_map(|e| e.trajectory_id.as_ref().map(|t| t.key()))
            .collect();
        DatasetStats {
            episodes: episodes.len(),
            scenes: scenes.len(),
            trajectories: trajectories.len(),
            languages,
            roles,
            path_length: Summary::of(
                episodes
                    .iter()
                    .map(Episode::reference_path_length)
                    .collect(),
            ),
            geodesic_distance: Summary::of(
                episodes
                    .iter()
                    .filter_map(Episode::geodesic_distance)
                    .collect(),
            ),
            instruction_words: Summary::of(
                episodes
                    .iter()
                    .map(|e| e.instruction.instruction_text.split_whitespace().count() as f64)
                    .collect(),
            ),
        }
    }
}

fn write_counts(f: &mut fmt::Formatter<'_>, counts: &BTreeMap<String, usize>) -> fmt::Result {
    let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    writeln!(f, "{}", parts.join(", "))
}

fn write_summary(f: &mut fmt::Formatter<'_>, name: &str, s: &Option<Summary>) -> fmt::Result {
    match s {
        Some(s) => writeln!(f, "{name:<22}{s}"),
        None => writeln!(f, "{name:<22}-"),
    }
}

impl fmt::Display for DatasetStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<22}{}", "episodes", self.episodes)?;
        writeln!(f, "{:<22}{}", "scenes", self.scenes)?;
        writeln!(f, "{:<22}{}", "trajectories", self.trajectories)?;
        write!(f, "{:<22}", "languages")?;
        write_counts(f, &self.languages)?;
        if !self.roles.is_empty() {
            write!(f, "{:<22}", "roles")?;
            write_counts(f, &self.roles)?;
        }
        write_summary(f, "path length (m)", &self.path_length)?;
        write_summary(f, "geodesic distance (m)", &self.geodesic_distance)?;
        write_summary(f, "instruction words", &self.instruction_words)
    }
}

/// Statistics of a gt file.
#[derive(Debug, Clone, PartialEq)]
pub struct GtStats {
    pub entries: usize,
    /// Actions per episode (STOP included).
    pub actions: Option<Summary>,
    pub forward_steps: Option<Summary>,
    /// Length of the `locations` polyline, metres.
    pub path_length: Option<Summary>,
}

impl GtStats {
    pub fn of<'a>(entries: impl Iterator<Item = &'a GtEntry> + Clone) -> GtStats {
        GtStats {
            entries: entries.clone().count(),
            actions: Summary::of(entries.clone().map(|g| g.actions.len() as f64).collect()),
            forward_steps: Summary::of(entries.clone().map(|g| g.forward_steps as f64).collect()),
            path_length: Summary::of(entries.map(GtEntry::path_length).collect()),
        }
    }
}

impl fmt::Display for GtStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<22}{}", "gt entries", self.entries)?;
        write_summary(f, "actions", &self.actions)?;
        write_summary(f, "forward steps", &self.forward_steps)?;
        write_summary(f, "gt path length (m)", &self.path_length)
    }
}

#[cfg(test)]
mod tests {
    use super::Summary;

    #[test]
    fn summary_of_odd_and_even_counts() {
        let s = Summary::of(vec![3.0, 1.0, 2.0]).unwrap();
        assert_eq!(
            (s.min, s.mean, s.median, s.max, s.count),
            (1.0, 2.0, 2.0, 3.0, 3)
        );
        let s = Summary::of(vec![4.0, 1.0, 2.0, 10.0]).unwrap();
        assert_eq!((s.median, s.mean), (3.0, 4.25));
        assert_eq!(Summary::of(vec![]), None);
    }
}
