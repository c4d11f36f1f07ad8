//! The houses shipped with the crate in `habitat_assets/scenes/`: 16 procedural houses (seeds 0..16),
//! seeds 0..12 for training and 12..16 held out as `val_unseen` (scenes never seen in training).
//!
//! Regenerate them (bit-identical, checked by a test) with
//! `vln-r1 scenes ship --out habitat_assets/scenes`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::AssetError;
use crate::house::{generate_house, house_name, write_house, HouseOptions};

/// Seeds of the shipped houses.
pub const SHIPPED_SEEDS: std::ops::Range<u64> = 0..16;
/// Seeds at or above this are `val_unseen`.
pub const FIRST_UNSEEN_SEED: u64 = 12;

/// Scene names per split, as stored in `splits.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Splits {
    pub train: Vec<String>,
    pub val_unseen: Vec<String>,
}

impl Splits {
    /// The split of the shipped set, derived from the seeds.
    pub fn shipped() -> Splits {
        let name = |s: u64| house_name(s, &HouseOptions::default());
        Splits {
            train: SHIPPED_SEEDS
                .filter(|&s| s < FIRST_UNSEEN_SEED)
                .map(name)
                .collect(),
            val_unseen: SHIPPED_SEEDS
                .filter(|&s| s >= FIRST_UNSEEN_SEED)
                .map(name)
                .collect(),
        }
    }

    /// Scene names of a split by its VLN-CE name (`train`, `val_unseen`).
    pub fn get(&self, split: &str) -> Option<&[String]> {
        match split {
            "train" => Some(&self.train),
            "val_unseen" => Some(&self.val_unseen),
            _ => None,
        }
    }
}

/// The directory holding the shipped `.glb`, `.meta.json` and `splits.json` files.
pub fn scenes_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenes")
}

/// The `.glb` path of a shipped scene by name (`house_00003`).
pub fn scene_path(name: &str) -> PathBuf {
    scenes_dir().join(format!("{name}.glb"))
}

/// Reads `splits.json` from a scenes directory.
pub fn load_splits(dir: &Path) -> Result<Splits, AssetError> {
    let path = dir.join("splits.json");
    let text = std::fs::read_to_string(&path).map_err(|e| AssetError::io(&path, e))?;
    serde_json::from_str(&text).map_err(|e| AssetError::Meta {
        path,
        message: e.to_string(),
    })
}

/// The shipped split lists.
pub fn splits() -> Result<Splits, AssetError> {
    load_splits(&scenes_dir())
}

/// Writes the whole shipped set and `splits.json` into `dir`; returns the `.glb` paths.
pub fn regenerate(dir: &Path) -> Result<Vec<PathBuf>, AssetError> {
    let mut out = Vec::new();
    for seed in SHIPPED_SEEDS {
        out.push(write_house(
            &generate_house(seed, &HouseOptions::default()),
            dir,
        )?);
    }
    let mut json = serde_json::to_string_pretty(&Splits::shipped()).expect("splits serialise");
    json.push('\n');
    crate::fsutil::write_atomic(&dir.join("splits.json"), json.as_bytes())?;
    Ok(out)
}
