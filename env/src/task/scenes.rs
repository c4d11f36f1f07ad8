//! Scenes loaded once and shared: every environment (and thread) that runs an episode in a scene gets the
//! same [`LoadedScene`] (collision mesh, path finder, render data, metadata) through an `Arc`.
//!
//! Scene files are read in habitat's axis convention (a bare `.glb` is up +Z, front +Y) unless a
//! `*.scene_dataset_config.json` at the root of the scenes directory or [`SceneLibrary::with_scene_up`]
//! says otherwise (see [`FrameRule`]); scans are rendered unlit, as habitat renders them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use habitat_assets::{
    confined_relative, load_scene_with, FrameRule, LoadOptions, Scene, SceneFrame, SceneLighting,
    SceneMeta, SceneUp,
};

use crate::body::{AgentConfig, SceneCollider};
use crate::error::{EnvError, Result};
use crate::nav::{NavParams, PathFinder};
use crate::render::{Lighting, SceneRenderData};

/// One scene ready for episodes: everything built from its mesh for one agent size.
pub struct LoadedScene {
    /// The episode's `scene_id` this was loaded for.
    pub scene_id: String,
    /// The resolved file.
    pub path: PathBuf,
    pub collider: Arc<SceneCollider>,
    pub pathfinder: Arc<PathFinder>,
    /// `<name>.meta.json` next to the scene, when there is one (procedural houses; not Matterport3D).
    pub meta: Option<SceneMeta>,
    /// The frame the file was read in.
    pub frame: SceneFrame,
    /// Lit (our houses, marked as such) or baked into the textures (scans: rendered unlit).
    pub lighting: SceneLighting,
    scene: Scene,
    render: OnceLock<Arc<SceneRenderData>>,
}

impl std::fmt::Debug for LoadedScene {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedScene")
            .field("scene_id", &self.scene_id)
            .field("path", &self.path)
            .finish()
    }
}

impl LoadedScene {
    /// Render data, built on first use (policies that do not look at frames never pay for it), shaded as
    /// the scene's [`SceneLighting`] says: every command that renders through the library (eval, rollout,
    /// datagen, rft) shows a scan unlit.
    pub fn render_data(&self) -> Arc<SceneRenderData> {
        self.render
            .get_or_init(|| {
                Arc::new(SceneRenderData::with_lighting(
                    &self.scene,
                    render_lighting(self.lighting),
                ))
            })
            .clone()
    }

    /// The scene mesh.
    pub fn scene(&self) -> &Scene {
        &self.scene
    }
}

/// The renderer's lighting for a scene's [`SceneLighting`].
pub fn render_lighting(lighting: SceneLighting) -> Lighting {
    match lighting {
        SceneLighting::Baked => Lighting::UNLIT,
        SceneLighting::Lit => Lighting::default(),
    }
}

/// Where the scene of `scene_id` lives under `scenes_dir`: `scenes_dir/scene_id` when it exists, else the
/// two common layouts of the same scan name (`<scan>.glb` flat, `mp3d/<scan>/<scan>.glb`), so a dataset
/// written for one layout runs against a directory in the other.
///
/// A `scene_id` that is absolute or climbs out with `..` is refused: the scene, and the navmesh cache written
/// (and stale caches deleted) beside it, must stay inside `scenes_dir`.
pub fn resolve_scene_path(scenes_dir: &Path, scene_id: &str) -> Result<PathBuf> {
    let relative = confined_relative(Path::new(scene_id)).ok_or_else(|| {
        EnvError::Invalid(format!(
            "scene {scene_id:?}: scene_id must be a path inside the scenes directory {} (not absolute, \
             no `..` above it)",
            scenes_dir.display()
        ))
    })?;
    let scene_id = relative.to_str().unwrap_or(scene_id);
    let direct = scenes_dir.join(scene_id);
    let file = scene_id.rsplit(['/', '\\']).next().unwrap_or(scene_id);
    let scan = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    let mut candidates = vec![direct];
    for p in [
        scenes_dir.join(file),
        scenes_dir.join("mp3d").join(scan).join(file),
    ] {
        if !candidates.contains(&p) {
            candidates.push(p);
        }
    }
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let tried: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(EnvError::Invalid(format!(
        "scene {scene_id:?}: no such file (tried {})",
        tried.join(", ")
    )))
}

/// One scene's entry: locked while it loads, so concurrent requests wait for one load.
type SceneSlot = Arc<Mutex<Option<Arc<LoadedScene>>>>;

/// Loads each scene once per library and hands out shared handles. Thread-safe: two environments asking
/// for the same scene at once wait for one load.
pub struct SceneLibrary {
    scenes_dir: PathBuf,
    agent: AgentConfig,
    nav: NavParams,
    frames: FrameRule,
    slots: Mutex<HashMap<String, SceneSlot>>,
}

impl std::fmt::Debug for SceneLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SceneLibrary")
            .field("scenes_dir", &self.scenes_dir)
            .field("agent", &self.agent)
            .field("frames", &self.frames)
            .finish()
    }
}

impl SceneLibrary {
    /// A library over `scenes_dir`, reading files as its scene dataset config says (habitat's convention
    /// without one).
    pub fn new(scenes_dir: impl Into<PathBuf>, agent: AgentConfig, nav: NavParams) -> Result<Self> {
        agent.validate()?;
        nav.validate()?;
        let scenes_dir = scenes_dir.into();
        if !scenes_dir.is_dir() {
            return Err(EnvError::Invalid(format!(
                "scenes directory {} does not exist",
                scenes_dir.display()
            )));
        }
        let frames = FrameRule::for_scenes_dir(&scenes_dir, None)?;
        Ok(SceneLibrary {
            scenes_dir,
            agent,
            nav,
            frames,
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// Reads every scene in the given convention (`--scene-up`), whatever a dataset config says; `None`
    /// keeps the config's (or habitat's). Call before the first [`get`](Self::get).
    pub fn with_scene_up(mut self, up: Option<SceneUp>) -> Self {
        self.frames.forced = up;
        self
    }

    /// How this library reads scene files.
    pub fn frames(&self) -> &FrameRule {
        &self.frames
    }

    pub fn scenes_dir(&self) -> &Path {
        &self.scenes_dir
    }

    pub fn agent(&self) -> &AgentConfig {
        &self.agent
    }

    /// The scene of `scene_id`, loaded (with its navmesh from the on-disk cache, see [`PathFinder::load_or_build`])
    /// on first request. A failed load is not remembered: the next request tries again.
    pub fn get(&self, scene_id: &str) -> Result<Arc<LoadedScene>> {
        let slot = self
            .slots
            .lock()
            .expect("scene library lock")
            .entry(scene_id.to_owned())
            .or_default()
            .clone();
        let mut guard = slot.lock().expect("scene slot lock");
        if let Some(scene) = guard.as_ref() {
            return Ok(scene.clone());
        }
        let loaded = Arc::new(self.load(scene_id)?);
        *guard = Some(loaded.clone());
        Ok(loaded)
    }

    fn load(&self, scene_id: &str) -> Result<LoadedScene> {
        let path = resolve_scene_path(&self.scenes_dir, scene_id)?;
        let frame = self.frames.frame_for(&path);
        let (scene, report) = load_scene_with(&path, &LoadOptions { frame })?;
        let meta_path = SceneMeta::path_for(&path);
        let meta = if meta_path.is_file() {
            Some(SceneMeta::load(&meta_path)?)
        } else {
            None
        };
        let collider = Arc::new(SceneCollider::new(&scene)?);
        let (pathfinder, _) =
            PathFinder::load_or_build_in_frame(&path, &frame, &scene, &self.agent, &self.nav)?;
        Ok(LoadedScene {
            scene_id: scene_id.to_owned(),
            path,
            collider,
            pathfinder: Arc::new(pathfinder),
            meta,
            frame,
            lighting: report.lighting,
            scene,
            render: OnceLock::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scene_ids_resolve_in_either_layout() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("abc.glb"), b"x").unwrap();
        std::fs::create_dir_all(dir.path().join("mp3d/xyz")).unwrap();
        std::fs::write(dir.path().join("mp3d/xyz/xyz.glb"), b"x").unwrap();
        assert_eq!(
            resolve_scene_path(dir.path(), "abc.glb").unwrap(),
            dir.path().join("abc.glb")
        );
        assert_eq!(
            resolve_scene_path(dir.path(), "mp3d/abc/abc.glb").unwrap(),
            dir.path().join("abc.glb")
        );
        assert_eq!(
            resolve_scene_path(dir.path(), "xyz.glb").unwrap(),
            dir.path().join("mp3d/xyz/xyz.glb")
        );
        let err = resolve_scene_path(dir.path(), "mp3d/nope/nope.glb")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("\"mp3d/nope/nope.glb\"") && err.contains("tried"),
            "{err}"
        );
    }

    #[test]
    fn scene_ids_outside_the_scenes_directory_are_refused() {
        let parent = tempfile::tempdir().unwrap();
        let scenes = parent.path().join("scenes");
        std::fs::create_dir(&scenes).unwrap();
        std::fs::write(parent.path().join("outside.glb"), b"x").unwrap();
        let absolute = parent.path().join("outside.glb").display().to_string();
        for id in [
            "../outside.glb",
            absolute.as_str(),
            "mp3d/../../outside.glb",
            "..",
        ] {
            let err = resolve_scene_path(&scenes, id).unwrap_err().to_string();
            assert!(
                err.contains("must be a path inside the scenes directory"),
                "{id}: {err}"
            );
        }
    }
}
