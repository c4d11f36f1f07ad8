//! Datagen spread over machines (the Python package's Ray driver): each worker renders the trajectories of
//! its share of episodes into a scratch output of its own ([`generate`](super::generate)), and ships the
//! finished trajectory directories back ([`collect`]); the driver installs them into the one output
//! directory ([`install`]) and then runs [`generate`](super::generate) over the whole selection, which finds
//! every trajectory finished and commits the samples in dataset order: the same store, sharegpt JSON and
//! stats as a one-machine run. [`pending`] lists what is still to render, so a resumed run renders nothing
//! twice.

use std::fs;
use std::path::Path;

use super::trajectory::trajectory_dir;
use super::{
    check_settings, load_finished, load_finished_perturbed, remove_temp_dirs, DatagenConfig,
    DatagenInput, Settings, FRAMES_DIR,
};
use crate::error::{EnvError, Result};

/// The files of one finished trajectory directory (`frames/<key>/`), by file name.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryFiles {
    pub key: String,
    pub files: Vec<(String, Vec<u8>)>,
}

fn io_err(path: &Path, source: std::io::Error) -> EnvError {
    EnvError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A directory or file name that stays inside its parent and is not a temp directory.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\'])
}

/// Checks (or writes) the output's settings and removes what a killed run left half-written: what
/// [`generate`](super::generate) does first, before the driver installs anything.
pub fn prepare(input: &DatagenInput, out: &Path, config: &DatagenConfig) -> Result<()> {
    config.validate()?;
    fs::create_dir_all(out).map_err(|e| io_err(out, e))?;
    check_settings(out, &Settings::of(input, config))?;
    remove_temp_dirs(out)
}

/// The episodes of `selection` (dataset indices, in order) with a trajectory (the gt replay or a perturbed
/// run) not yet finished under `out`. Episodes without gt actions are left to the final `generate`, which
/// records them as skipped without rendering.
pub fn pending(
    input: &DatagenInput,
    selection: &[usize],
    out: &Path,
    config: &DatagenConfig,
) -> Result<Vec<usize>> {
    let mut todo = Vec::new();
    for &index in selection {
        let episode = input.dataset.episode(index).ok_or_else(|| {
            EnvError::Invalid(format!(
                "datagen: episode index {index} out of range (split has {})",
                input.dataset.len()
            ))
        })?;
        let id = episode.episode_id.key();
        let Some(actions) = input.actions.get(&id) else {
            continue;
        };
        let mut done = load_finished(out, &id, actions)?.is_some();
        for run in 1..=config.perturb.runs {
            done = done && load_finished_perturbed(out, &id, run)?.is_some();
        }
        if !done {
            todo.push(index);
        }
    }
    Ok(todo)
}

/// Every finished trajectory directory under `root` (a worker's scratch output), with its files.
pub fn collect(root: &Path) -> Result<Vec<TrajectoryFiles>> {
    let frames = root.join(FRAMES_DIR);
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(&frames) else {
        return Ok(out);
    };
    for entry in entries {
        let dir = entry.map_err(|e| io_err(&frames, e))?.path();
        let Some(key) = dir.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if !plain_name(&key) || !dir.is_dir() {
            continue;
        }
        let mut files = Vec::new();
        for f in fs::read_dir(&dir).map_err(|e| io_err(&dir, e))? {
            let path = f.map_err(|e| io_err(&dir, e))?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
                .ok_or_else(|| {
                    EnvError::Invalid(format!("{}: file name is not UTF-8", path.display()))
                })?;
            files.push((name, fs::read(&path).map_err(|e| io_err(&path, e))?));
        }
        files.sort();
        out.push(TrajectoryFiles { key, files });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// Writes one trajectory directory into `out/frames/<key>/` the way datagen does (a temp directory, then a
/// rename), so it appears whole or not at all. Returns false when the directory already exists (a
/// trajectory is never replaced).
pub fn install(out: &Path, t: &TrajectoryFiles) -> Result<bool> {
    if !plain_name(&t.key) {
        return Err(EnvError::Invalid(format!(
            "datagen: trajectory key {:?} is not a plain directory name",
            t.key
        )));
    }
    let done = trajectory_dir(out, &t.key);
    if done.exists() {
        return Ok(false);
    }
    let tmp = out.join(FRAMES_DIR).join(format!(".tmp-{}", t.key));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    }
    fs::create_dir_all(&tmp).map_err(|e| io_err(&tmp, e))?;
    for (name, bytes) in &t.files {
        if !plain_name(name) {
            return Err(EnvError::Invalid(format!(
                "datagen: trajectory {}: file name {name:?} is not a plain file name",
                t.key
            )));
        }
        let path = tmp.join(name);
        fs::write(&path, bytes).map_err(|e| io_err(&path, e))?;
    }
    fs::rename(&tmp, &done).map_err(|e| io_err(&done, e))?;
    Ok(true)
}
