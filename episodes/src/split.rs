//! Where the files of a split live in a VLN-CE data directory, and finding them.
//!
//! R2R-CE: `{root}/{split}/{split}.json.gz` and `{root}/{split}/{split}_gt.json.gz`.
//! RxR-CE: `{root}/{split}/{split}_{role}.json.gz` and `{root}/{split}/{split}_{role}_gt.json.gz`.
//! Plain `.json` is accepted wherever `.json.gz` is (the `.gz` file wins when both exist).

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::dataset::EpisodeDataset;
use crate::error::{EpisodeError, Result};

/// The R2R-CE v1-3 splits.
pub const R2R_SPLITS: [&str; 4] = ["train", "val_seen", "val_unseen", "test"];
/// The RxR-CE splits.
pub const RXR_SPLITS: [&str; 4] = ["train", "val_seen", "val_unseen", "test_challenge"];

/// RxR annotation role: the guide wrote the instruction while walking; the follower re-walked it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Guide,
    Follower,
}

impl Role {
    pub const ALL: [Role; 2] = [Role::Guide, Role::Follower];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Guide => "guide",
            Role::Follower => "follower",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = EpisodeError;
    fn from_str(s: &str) -> Result<Role> {
        match s {
            "guide" => Ok(Role::Guide),
            "follower" => Ok(Role::Follower),
            _ => Err(EpisodeError::config(
                "role",
                format!("{s:?} is neither \"guide\" nor \"follower\""),
            )),
        }
    }
}

/// What a data file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    Episodes,
    Gt,
}

/// One file of a split found on disk.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DataFile {
    pub split: String,
    pub role: Option<Role>,
    pub kind: FileKind,
    pub path: PathBuf,
}

fn stem(split: &str, role: Option<Role>, kind: FileKind) -> String {
    let mut s = split.to_owned();
    if let Some(r) = role {
        s.push('_');
        s.push_str(r.as_str());
    }
    if kind == FileKind::Gt {
        s.push_str("_gt");
    }
    s
}

/// The canonical (gzip) path of a split's file: `{root}/{split}/{split}[_{role}][_gt].json.gz`.
pub fn split_file(root: &Path, split: &str, role: Option<Role>, kind: FileKind) -> PathBuf {
    root.join(split)
        .join(format!("{}.json.gz", stem(split, role, kind)))
}

/// The existing file for (split, role, kind): `.json.gz` first, then `.json`.
pub fn find_split_file(
    root: &Path,
    split: &str,
    role: Option<Role>,
    kind: FileKind,
) -> Option<PathBuf> {
    let gz = split_file(root, split, role, kind);
    if gz.is_file() {
        return Some(gz);
    }
    let plain = gz.with_extension(""); // drops ".gz"
    plain.is_file().then_some(plain)
}

/// The kind of a file from its name (`*_gt.json[.gz]` is a gt file).
pub fn kind_of_file(path: &Path) -> FileKind {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let base = name.strip_suffix(".gz").unwrap_or(name);
    let base = base.strip_suffix(".json").unwrap_or(base);
    if base.ends_with("_gt") {
        FileKind::Gt
    } else {
        FileKind::Episodes
    }
}

fn files_of_split(root: &Path, split: &str) -> Vec<DataFile> {
    let mut found = Vec::new();
    for kind in [FileKind::Episodes, FileKind::Gt] {
        for role in [None, Some(Role::Guide), Some(Role::Follower)] {
            if let Some(path) = find_split_file(root, split, role, kind) {
                found.push(DataFile {
                    split: split.to_owned(),
                    role,
                    kind,
                    path,
                });
            }
        }
    }
    found
}

/// The VLN-CE files under a dataset directory: of `split` only when given, else of every split
/// subdirectory. `root` may also be a split directory itself (`.../R2R_VLNCE_v1-3_preprocessed/train`).
pub fn discover(root: &Path, split: Option<&str>) -> Result<Vec<DataFile>> {
    if !root.is_dir() {
        return Err(EpisodeError::invalid(root, "is not a directory"));
    }
    let found = match split {
        Some(s) => files_of_split(root, s),
        None => {
            let mut all = Vec::new();
            // A split directory given directly: its files are named after it.
            if let (Some(name), Some(parent)) =
                (root.file_name().and_then(|n| n.to_str()), root.parent())
            {
                all.extend(files_of_split(parent, name));
            }
            if all.is_empty() {
                let mut dirs: Vec<String> = fs::read_dir(root)
                    .map_err(|e| EpisodeError::io(root, e))?
                    .filter_map(|e| e.ok())
                    .filter(|e| e.path().is_dir())
                    .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                    .collect();
                dirs.sort();
                for d in dirs {
                    all.extend(files_of_split(root, &d));
                }
            }
            all
        }
    };
    if found.is_empty() {
        let what = match split {
            Some(s) => format!("no VLN-CE files of split {s:?} (expected {s}/{s}.json.gz or {s}/{s}_guide.json.gz)"),
            None => "no VLN-CE files found (expected <split>/<split>.json.gz or <split>/<split>_<role>.json.gz)".into(),
        };
        return Err(EpisodeError::invalid(root, what));
    }
    Ok(found)
}

/// Which RxR episodes to load.
#[derive(Debug, Clone, Default)]
pub struct EpisodeFilter {
    /// RxR roles to load (files `{split}_{role}`); empty = both.
    pub roles: Vec<Role>,
    /// Keep only these `instruction.language`s; empty = all.
    pub languages: Vec<String>,
}

/// Loads a split: the R2R-CE file when present, else the RxR-CE role files chosen by `filter`, concatenated
/// in role order; then applies the language filter.
pub fn load_split(root: &Path, split: &str, filter: &EpisodeFilter) -> Result<EpisodeDataset> {
    let mut dataset = if let Some(path) = find_split_file(root, split, None, FileKind::Episodes) {
        EpisodeDataset::load(&path)?
    } else {
        let roles: &[Role] = if filter.roles.is_empty() {
            &Role::ALL
        } else {
            &filter.roles
        };
        let mut merged: Option<EpisodeDataset> = None;
        for &role in roles {
            let Some(path) = find_split_file(root, split, Some(role), FileKind::Episodes) else {
                if filter.roles.is_empty() {
                    continue; // "both" means whichever exist
                }
                return Err(EpisodeError::invalid(
                    split_file(root, split, Some(role), FileKind::Episodes),
                    "not found",
                ));
            };
            let d = EpisodeDataset::load(&path)?;
            match &mut merged {
                Some(m) => m.extend(d),
                None => merged = Some(d),
            }
        }
        merged.ok_or_else(|| {
            EpisodeError::invalid(
                root.join(split),
                format!("no episode file ({split}.json.gz, {split}_guide.json.gz or {split}_follower.json.gz)"),
            )
        })?
    };
    if !filter.languages.is_empty() {
        dataset.retain_languages(&filter.languages);
    }
    Ok(dataset)
}
