//! Evaluation: run a policy over a split, append each episode's result to a JSONL log as it finishes, and
//! average the VLN-CE metrics.
//!
//! The log makes an eval resumable: every line is flushed and fsynced when written; on restart the existing
//! lines are read, their episodes skipped, and a torn last line (a crash mid-write) is cut off. The mean is
//! taken in dataset order over the selected episodes, so an interrupted-and-resumed eval gives exactly the
//! table of an uninterrupted one (per-episode results depend only on the episode and the seed).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EnvError, Result};
use crate::measures::EpisodeMetrics;
use crate::policy::Policy;
use crate::rollout::{run_episodes, EpisodeObserver, EpisodeOutcome};
use crate::task::{episode_scene, SceneLibrary, TaskDataset};
use crate::vec_env::VecEnv;

/// One line of the results log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpisodeResult {
    pub episode_id: String,
    pub scene_id: String,
    pub stopped: bool,
    pub metrics: EpisodeMetrics,
    /// Why the episode could not be played (its scene or goal is unusable); such an episode has zero metrics
    /// and is left out of the means, and the summary counts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_run: Option<String>,
}

impl From<&EpisodeOutcome> for EpisodeResult {
    fn from(o: &EpisodeOutcome) -> Self {
        EpisodeResult {
            episode_id: o.episode_id.clone(),
            scene_id: o.scene_id.clone(),
            stopped: o.stopped,
            metrics: o.metrics,
            not_run: None,
        }
    }
}

/// An append-only, crash-safe JSONL log of episode results.
#[derive(Debug)]
pub struct ResultsLog {
    path: PathBuf,
    file: File,
    results: HashMap<String, EpisodeResult>,
    /// Whether opening cut off a torn last line.
    repaired: bool,
}

impl ResultsLog {
    /// Opens (or creates) the log and reads what it holds. A last line without its newline or that does not
    /// parse is a write cut short by a crash: it is truncated away. A bad line before the last, or the same
    /// episode twice, is corruption and an error naming the line.
    pub fn open(path: &Path) -> Result<Self> {
        let io = |source| EnvError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(io)?;
        let mut results = HashMap::new();
        let mut good_len = 0usize;
        let mut repaired = false;
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let last = i + 1 == lines.len();
            let complete = line.ends_with('\n');
            match serde_json::from_str::<EpisodeResult>(line.trim_end()) {
                Ok(r) if complete => {
                    if results.contains_key(&r.episode_id) {
                        return Err(EnvError::Invalid(format!(
                            "{}: line {}: episode {} appears twice",
                            path.display(),
                            i + 1,
                            r.episode_id
                        )));
                    }
                    results.insert(r.episode_id.clone(), r);
                    good_len += line.len();
                }
                // Without its newline (or unparsable) the last line is a torn write.
                _ if last => {
                    repaired = true;
                    break;
                }
                Ok(_) => unreachable!("split_inclusive: only the last piece can lack its newline"),
                Err(e) => {
                    return Err(EnvError::Invalid(format!(
                        "{}: line {}: {e}",
                        path.display(),
                        i + 1
                    )));
                }
            }
        }
        if repaired {
            file.set_len(good_len as u64).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok(ResultsLog {
            path: path.to_path_buf(),
            file,
            results,
            repaired,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when opening cut off a torn last line.
    pub fn repaired(&self) -> bool {
        self.repaired
    }

    pub fn get(&self, episode_id: &str) -> Option<&EpisodeResult> {
        self.results.get(episode_id)
    }

    pub fn len(&self) -> usize {
        self.results.len()
    }

    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    /// Appends one result as a line, flushed and fsynced before returning.
    pub fn append(&mut self, result: &EpisodeResult) -> Result<()> {
        if self.results.contains_key(&result.episode_id) {
            return Err(EnvError::Invalid(format!(
                "{}: episode {} is already in the log",
                self.path.display(),
                result.episode_id
            )));
        }
        let mut line =
            serde_json::to_string(result).map_err(|e| EnvError::Invalid(e.to_string()))?;
        line.push('\n');
        let io = |source| EnvError::Io {
            path: self.path.clone(),
            source,
        };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.flush().map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.results
            .insert(result.episode_id.clone(), result.clone());
        Ok(())
    }
}

/// Mean metrics over episodes, in the VLN-CE papers' column order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsSummary {
    pub episodes: usize,
    pub ne: f64,
    pub osr: f64,
    pub sr: f64,
    pub spl: f64,
    /// Mean over episodes that have gt locations; `None` when none has.
    pub ndtw: Option<f64>,
    pub sdtw: Option<f64>,
    pub tl: f64,
    pub steps: f64,
    pub collisions: f64,
    /// Selected episodes that could not be played (not in the means above).
    #[serde(default)]
    pub not_run: usize,
}

impl MetricsSummary {
    /// Means of `results` in the given order (the order fixes the floating-point sum, so pass dataset order).
    pub fn of<'a>(results: impl IntoIterator<Item = &'a EpisodeMetrics>) -> Self {
        let mut n = 0usize;
        let mut sums = [0.0f64; 7];
        let (mut dtw_n, mut ndtw, mut sdtw) = (0usize, 0.0, 0.0);
        for m in results {
            n += 1;
            for (s, v) in
                sums.iter_mut()
                    .zip([m.ne, m.osr, m.sr, m.spl, m.tl, m.steps, m.collisions])
            {
                *s += v;
            }
            if m.ndtw.is_finite() {
                dtw_n += 1;
                ndtw += m.ndtw;
                sdtw += m.sdtw;
            }
        }
        let mean = |s: f64| if n == 0 { f64::NAN } else { s / n as f64 };
        MetricsSummary {
            episodes: n,
            ne: mean(sums[0]),
            osr: mean(sums[1]),
            sr: mean(sums[2]),
            spl: mean(sums[3]),
            ndtw: (dtw_n > 0).then(|| ndtw / dtw_n as f64),
            sdtw: (dtw_n > 0).then(|| sdtw / dtw_n as f64),
            tl: mean(sums[4]),
            steps: mean(sums[5]),
            collisions: mean(sums[6]),
            not_run: 0,
        }
    }

    /// A Markdown table row `| name | NE | OSR | SR | SPL | nDTW | SDTW | TL | steps | collisions |`, rates
    /// in percent as the papers print them.
    pub fn table_row(&self, name: &str) -> String {
        let pct = |v: f64| format!("{:.1}", v * 100.0);
        let opt = |v: Option<f64>| v.map_or("–".to_owned(), pct);
        format!(
            "| {name} | {:.2} | {} | {} | {} | {} | {} | {:.2} | {:.1} | {:.2} |",
            self.ne,
            pct(self.osr),
            pct(self.sr),
            pct(self.spl),
            opt(self.ndtw),
            opt(self.sdtw),
            self.tl,
            self.steps,
            self.collisions
        )
    }

    /// The header and separator lines of [`table_row`](Self::table_row)'s table.
    pub fn table_header() -> String {
        "| policy | NE ↓ | OSR ↑ | SR ↑ | SPL ↑ | nDTW ↑ | SDTW ↑ | TL | steps | collisions |\n\
         |---|---|---|---|---|---|---|---|---|---|"
            .to_owned()
    }
}

/// What identifies an eval run; stored beside the log so that resuming with other settings is refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalSpec {
    pub policy: String,
    pub dataset: String,
    pub split: String,
    pub seed: u64,
    pub max_steps: u32,
    pub success_distance: f32,
}

/// The files of an eval output directory.
pub struct EvalDir {
    pub dir: PathBuf,
}

impl EvalDir {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        EvalDir { dir: dir.into() }
    }

    pub fn results_path(&self) -> PathBuf {
        self.dir.join("results.jsonl")
    }

    pub fn spec_path(&self) -> PathBuf {
        self.dir.join("eval.json")
    }

    pub fn metrics_path(&self) -> PathBuf {
        self.dir.join("metrics.json")
    }

    /// Writes `spec` for a new run, or checks it against the stored one when resuming.
    pub fn check_or_write_spec(&self, spec: &EvalSpec) -> Result<()> {
        let path = self.spec_path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).map_err(|source| EnvError::Io {
                path: path.clone(),
                source,
            })?;
            let stored: EvalSpec = serde_json::from_str(&text)
                .map_err(|e| EnvError::Invalid(format!("{}: {e}", path.display())))?;
            if stored != *spec {
                return Err(EnvError::Invalid(format!(
                    "{}: this directory holds an eval of {stored:?}; it cannot resume as {spec:?} (use another output directory)",
                    path.display()
                )));
            }
            return Ok(());
        }
        let text =
            serde_json::to_string_pretty(spec).map_err(|e| EnvError::Invalid(e.to_string()))?;
        Ok(episodes::file::write_atomic(&path, |w| {
            w.write_all(text.as_bytes())
        })?)
    }

    /// Writes the summary JSON atomically.
    pub fn write_metrics(&self, spec: &EvalSpec, summary: &MetricsSummary) -> Result<()> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            spec: &'a EvalSpec,
            metrics: &'a MetricsSummary,
        }
        let text = serde_json::to_string_pretty(&Out {
            spec,
            metrics: summary,
        })
        .map_err(|e| EnvError::Invalid(e.to_string()))?;
        Ok(episodes::file::write_atomic(&self.metrics_path(), |w| {
            w.write_all(text.as_bytes())
        })?)
    }
}

/// Appends each finished episode to the log and reports it.
struct LogObserver<'a> {
    log: &'a mut ResultsLog,
    on_result: &'a mut dyn FnMut(&EpisodeResult),
}

impl EpisodeObserver for LogObserver<'_> {
    fn on_episode(&mut self, _slot: usize, outcome: &EpisodeOutcome) -> Result<()> {
        let result = EpisodeResult::from(outcome);
        self.log.append(&result)?;
        (self.on_result)(&result);
        Ok(())
    }
}

/// Runs the episodes of `selection` (dataset indices, in order) that `log` does not hold yet, appending each
/// result, then returns the summary over the whole selection in dataset order. An episode that cannot be
/// played ([`episode_scene`] fails: its scene does not load, or its goal is off the navigable surface) is
/// logged as not run, with the reason, instead of ending the eval.
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    envs: &mut VecEnv,
    policy: &mut dyn Policy,
    library: &SceneLibrary,
    dataset: &TaskDataset,
    selection: &[usize],
    seed: u64,
    log: &mut ResultsLog,
    on_result: &mut dyn FnMut(&EpisodeResult),
) -> Result<MetricsSummary> {
    let mut todo = Vec::new();
    for &i in selection {
        let episode = dataset
            .episode(i)
            .ok_or_else(|| EnvError::Invalid(format!("eval: episode index {i} is out of range")))?;
        let id = episode.episode_id.key();
        if log.get(&id).is_some() {
            continue;
        }
        match episode_scene(library, episode) {
            Ok(_) => todo.push(i),
            Err(e) => {
                let result = EpisodeResult {
                    episode_id: id,
                    scene_id: episode.scene_id.clone(),
                    stopped: false,
                    metrics: EpisodeMetrics::default(),
                    not_run: Some(e.to_string()),
                };
                log.append(&result)?;
                on_result(&result);
            }
        }
    }
    run_episodes(
        envs,
        policy,
        &todo,
        seed,
        &mut LogObserver { log, on_result },
    )?;
    summarize(dataset, selection, log)
}

/// The summary of the selection's results in the log (every selected episode must have one).
pub fn summarize(
    dataset: &TaskDataset,
    selection: &[usize],
    log: &ResultsLog,
) -> Result<MetricsSummary> {
    let mut metrics = Vec::with_capacity(selection.len());
    let mut not_run = 0;
    for &i in selection {
        let id = dataset
            .episode(i)
            .map(|e| e.episode_id.key())
            .unwrap_or_default();
        let r = log.get(&id).ok_or_else(|| {
            EnvError::Invalid(format!(
                "{}: no result for episode {id}",
                log.path().display()
            ))
        })?;
        if r.not_run.is_some() {
            not_run += 1;
        } else {
            metrics.push(r.metrics);
        }
    }
    Ok(MetricsSummary {
        not_run,
        ..MetricsSummary::of(metrics.iter())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, sr: f64) -> EpisodeResult {
        EpisodeResult {
            episode_id: id.into(),
            scene_id: "s.glb".into(),
            stopped: true,
            metrics: EpisodeMetrics {
                ne: 1.0,
                osr: 1.0,
                sr,
                spl: sr,
                ndtw: 0.5,
                sdtw: 0.5 * sr,
                tl: 4.0,
                steps: 20.0,
                collisions: 0.0,
            },
            not_run: None,
        }
    }

    #[test]
    fn log_survives_reopen_and_cuts_a_torn_last_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.jsonl");
        let mut log = ResultsLog::open(&path).unwrap();
        log.append(&result("1", 1.0)).unwrap();
        log.append(&result("2", 0.0)).unwrap();
        assert!(
            log.append(&result("2", 0.0)).is_err(),
            "duplicates are refused"
        );
        drop(log);
        // A crash in the middle of writing the third line.
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"episode_id":"3","sce"#).unwrap();
        drop(f);
        let mut log = ResultsLog::open(&path).unwrap();
        assert!(log.repaired());
        assert_eq!(log.len(), 2);
        log.append(&result("3", 1.0)).unwrap();
        drop(log);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        let log = ResultsLog::open(&path).unwrap();
        assert!(!log.repaired());
        assert_eq!(log.get("3").unwrap().metrics.sr, 1.0);
    }

    #[test]
    fn a_non_finite_metric_survives_the_round_trip_through_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.jsonl");
        let mut r = result("1", 0.0);
        r.metrics.ne = f64::INFINITY;
        let mut log = ResultsLog::open(&path).unwrap();
        log.append(&r).unwrap();
        drop(log);
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .contains("\"ne\":null"));
        let log = ResultsLog::open(&path).unwrap();
        let back = log.get("1").unwrap().metrics;
        assert!(back.ne.is_nan());
        assert_eq!(back.tl, 4.0);
    }

    #[test]
    fn corruption_before_the_last_line_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("results.jsonl");
        let good = serde_json::to_string(&result("1", 1.0)).unwrap();
        std::fs::write(&path, format!("{good}\nnot json\n{good}\n")).unwrap();
        let err = ResultsLog::open(&path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }

    #[test]
    fn summary_means_and_optional_ndtw() {
        let a = result("1", 1.0).metrics;
        let mut b = result("2", 0.0).metrics;
        b.ndtw = f64::NAN;
        b.sdtw = f64::NAN;
        let s = MetricsSummary::of([&a, &b]);
        assert_eq!((s.episodes, s.sr, s.spl, s.ne), (2, 0.5, 0.5, 1.0));
        assert_eq!((s.ndtw, s.sdtw), (Some(0.5), Some(0.5)));
        let none = MetricsSummary::of([&b]);
        assert_eq!(none.ndtw, None);
        assert!(none.table_row("x").contains("| – |"));
        assert!(s
            .table_row("oracle")
            .starts_with("| oracle | 1.00 | 100.0 | 50.0 | 50.0 | 50.0 | 50.0 |"));
    }
}
