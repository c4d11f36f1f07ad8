//! habitat-sim's scene dataset config (`<name>.scene_dataset_config.json`), read for what changes the
//! geometry we load: the stage frame (`up` / `front`).
//!
//! Where habitat-sim finds them: `stages.default_attributes` applies to every stage of the dataset, and an
//! entry of `stages.configs` whose `attributes.render_asset` names a file overrides it for that file.
//! Either vector alone is an error (habitat-sim requires both, orthogonal). Everything else in the file
//! (objects, lighting setups, semantics) does not change what we load and is ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::AssetError;
use crate::frame::{SceneFrame, SceneUp};

/// The suffix habitat-sim gives scene dataset configs.
pub const CONFIG_SUFFIX: &str = ".scene_dataset_config.json";

/// The parts of a scene dataset config we read.
#[derive(Debug, Clone, PartialEq)]
pub struct SceneDatasetConfig {
    pub path: PathBuf,
    /// The frame of every stage without its own (`stages.default_attributes`).
    pub default_frame: Option<SceneFrame>,
    /// Per-stage frames: the render asset (resolved against the config's directory) and its frame.
    pub stage_frames: Vec<(PathBuf, SceneFrame)>,
}

#[derive(Deserialize)]
struct Root {
    #[serde(default)]
    stages: Option<Stages>,
}

#[derive(Deserialize)]
struct Stages {
    #[serde(default)]
    default_attributes: Option<FrameAttributes>,
    #[serde(default)]
    configs: Vec<StageConfig>,
}

#[derive(Deserialize)]
struct StageConfig {
    #[serde(default)]
    attributes: Option<FrameAttributes>,
}

#[derive(Deserialize)]
struct FrameAttributes {
    #[serde(default)]
    up: Option<[f32; 3]>,
    #[serde(default)]
    front: Option<[f32; 3]>,
    #[serde(default)]
    render_asset: Option<String>,
}

impl SceneDatasetConfig {
    /// Reads one config file.
    pub fn load(path: &Path) -> Result<SceneDatasetConfig, AssetError> {
        let text = std::fs::read_to_string(path).map_err(|e| AssetError::io(path, e))?;
        let invalid = |message: String| AssetError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let root: Root = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("not a scene dataset config: {e}")))?;
        let dir = path.parent().unwrap_or(Path::new(""));
        let mut config = SceneDatasetConfig {
            path: path.to_path_buf(),
            default_frame: None,
            stage_frames: Vec::new(),
        };
        let Some(stages) = root.stages else {
            return Ok(config);
        };
        if let Some(a) = &stages.default_attributes {
            config.default_frame = frame_of(a, "stages.default_attributes").map_err(invalid)?;
        }
        for (i, c) in stages.configs.iter().enumerate() {
            let Some(a) = &c.attributes else { continue };
            let field = format!("stages.configs[{i}].attributes");
            if let (Some(frame), Some(asset)) =
                (frame_of(a, &field).map_err(invalid)?, &a.render_asset)
            {
                config.stage_frames.push((dir.join(asset), frame));
            }
        }
        Ok(config)
    }

    /// The frame this config gives `scene`, if it gives one.
    pub fn frame_for(&self, scene: &Path) -> Option<SceneFrame> {
        self.stage_frames
            .iter()
            .find(|(asset, _)| same_file(asset, scene))
            .map(|(_, f)| *f)
            .or(self.default_frame)
    }
}

fn frame_of(a: &FrameAttributes, field: &str) -> Result<Option<SceneFrame>, String> {
    match (a.up, a.front) {
        (None, None) => Ok(None),
        (Some(up), Some(front)) => SceneFrame::new(up, front)
            .map(Some)
            .map_err(|e| format!("{field}: {e}")),
        _ => Err(format!(
            "{field}: \"up\" and \"front\" must be given together (habitat-sim requires both)"
        )),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (a.canonicalize(), b.canonicalize()),
            (Ok(x), Ok(y)) if x == y
        )
}

/// How the scenes under one directory are read: a frame forced on the command line, else the frame of the
/// scene dataset config at the directory's root, else habitat's convention ([`SceneFrame::HABITAT`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameRule {
    pub forced: Option<SceneUp>,
    pub config: Option<SceneDatasetConfig>,
}

impl FrameRule {
    /// The rule for `scenes_dir`: reads the `*.scene_dataset_config.json` files at its root. Several are
    /// merged only when they agree on the frames they give (a scene then reads the same whichever a tool
    /// picks); otherwise the error names both files.
    pub fn for_scenes_dir(
        scenes_dir: &Path,
        forced: Option<SceneUp>,
    ) -> Result<FrameRule, AssetError> {
        let entries = std::fs::read_dir(scenes_dir).map_err(|e| AssetError::io(scenes_dir, e))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.file_name()
                        .is_some_and(|n| n.to_string_lossy().ends_with(CONFIG_SUFFIX))
            })
            .collect();
        paths.sort();
        let mut config: Option<SceneDatasetConfig> = None;
        for p in paths {
            let next = SceneDatasetConfig::load(&p)?;
            config = Some(match config {
                None => next,
                Some(mut have) => {
                    if have.default_frame.is_some()
                        && next.default_frame.is_some()
                        && have.default_frame != next.default_frame
                    {
                        return Err(AssetError::Invalid {
                            path: p,
                            message: format!(
                                "stages.default_attributes gives another up / front than {} in the same \
                                 scenes directory; keep one, or pass --scene-up",
                                have.path.display()
                            ),
                        });
                    }
                    have.default_frame = have.default_frame.or(next.default_frame);
                    have.stage_frames.extend(next.stage_frames);
                    have
                }
            });
        }
        Ok(FrameRule { forced, config })
    }

    /// A rule with no config: the forced frame, or habitat's.
    pub fn forced(forced: Option<SceneUp>) -> FrameRule {
        FrameRule {
            forced,
            config: None,
        }
    }

    /// The frame `scene` is read in.
    pub fn frame_for(&self, scene: &Path) -> SceneFrame {
        if let Some(up) = self.forced {
            return up.frame();
        }
        self.config
            .as_ref()
            .and_then(|c| c.frame_for(scene))
            .unwrap_or(SceneFrame::HABITAT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, ProptestConfig};

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn default_attributes_and_stage_configs_give_frames() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "mine.scene_dataset_config.json",
            r#"{"stages": {
                "default_attributes": {"up": [0, 1, 0], "front": [0, 0, -1], "origin": [0, 0, 0]},
                "paths": {".glb": ["*.glb"]},
                "configs": [{"template_handle": "odd", "attributes":
                    {"render_asset": "odd.glb", "up": [0, 0, 2], "front": [0, 5, 0]}}]
             },
             "objects": {"default_attributes": {"mass": 1.0}}}"#,
        );
        let rule = FrameRule::for_scenes_dir(dir.path(), None).unwrap();
        assert_eq!(
            rule.frame_for(&dir.path().join("any.glb")),
            SceneFrame::Y_UP
        );
        assert_eq!(
            rule.frame_for(&dir.path().join("odd.glb")),
            SceneFrame::HABITAT
        );
        // The command line wins over the config.
        let forced = FrameRule::for_scenes_dir(dir.path(), Some(SceneUp::Z)).unwrap();
        assert_eq!(
            forced.frame_for(&dir.path().join("any.glb")),
            SceneFrame::HABITAT
        );
    }

    #[test]
    fn no_config_means_habitat_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let rule = FrameRule::for_scenes_dir(dir.path(), None).unwrap();
        assert_eq!(
            rule.frame_for(&dir.path().join("x.glb")),
            SceneFrame::HABITAT
        );
        let p = write(
            dir.path(),
            "bad.scene_dataset_config.json",
            r#"{"stages": {"default_attributes": {"up": [0, 0, 1]}}}"#,
        );
        let err = FrameRule::for_scenes_dir(dir.path(), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&p.display().to_string())
                && err.contains("stages.default_attributes")
                && err.contains("front"),
            "{err}"
        );
        write(
            dir.path(),
            "bad.scene_dataset_config.json",
            r#"{"stages": {"default_attributes": {"up": [0, 0, 1], "front": [0, 0.5, 0.5]}}}"#,
        );
        let err = FrameRule::for_scenes_dir(dir.path(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("orthogonal"), "{err}");
    }

    /// 64 cases from a random seed in CI; `PROPTEST_CASES=N` runs N instead (and `PROPTEST_RNG_SEED=S`
    /// replays a run).
    fn fuzz_config() -> ProptestConfig {
        let mut config = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            config.cases = 64;
        }
        config
    }

    proptest::proptest! {
        #![proptest_config(fuzz_config())]

        /// A scene dataset config with bytes replaced: an error naming the file or a rule, never a panic.
        #[test]
        fn mutated_dataset_configs_never_panic(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        ) {
            let mut text = br#"{"stages": {"default_attributes": {"up": [0, 1, 0], "front": [0, 0, -1]},
                "configs": [{"attributes": {"render_asset": "odd.glb", "up": [0, 0, 2], "front": [0, 5, 0]}}]}}"#
                .to_vec();
            for (at, v) in flips {
                let n = text.len();
                text[at % n] = v;
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.scene_dataset_config.json");
            std::fs::write(&path, text).unwrap();
            if let Err(e) = SceneDatasetConfig::load(&path) {
                proptest::prop_assert!(e.to_string().contains("x.scene_dataset_config.json"), "{}", e);
            }
        }
    }
}
