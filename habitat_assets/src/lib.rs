//! Scene meshes for the simulator: glTF/GLB loading, procedural houses, and the shipped scene set.
//! Knows nothing about agents or episodes.
//!
//! - [`load_scene`]: a `.glb`/`.gltf` file (Matterport3D scenes as VLN-CE uses them, or ours) to [`Scene`],
//!   in habitat's axis convention ([`SceneFrame`]; a scene dataset config or `--scene-up y` may say otherwise,
//!   see [`FrameRule`]).
//! - [`house::generate_house`]: a seed to a house (`.glb` bytes + [`SceneMeta`]).
//! - [`shipped`]: the small set of houses in `habitat_assets/scenes/` with its train / val_unseen split.

mod accessor;
pub mod dataset_config;
pub mod error;
pub mod frame;
mod fsutil;
pub mod glb;
pub mod house;
mod ktx2;
pub mod lighting;
pub mod load;
pub mod meta;
pub mod scene;
pub mod shipped;
pub mod write;

pub use dataset_config::{FrameRule, SceneDatasetConfig};
pub use error::AssetError;
pub use frame::{SceneFrame, SceneUp};
pub use fsutil::confined_relative;
pub use lighting::SceneLighting;
pub use load::{
    load_scene, load_scene_from_bytes, load_scene_from_bytes_with, load_scene_with,
    load_scene_with_report, LoadOptions, LoadReport,
};
pub use meta::SceneMeta;
pub use scene::{Aabb, Material, Mesh, Scene, Texture, MAX_WORLD_COORD};

/// The limits every reader of this crate enforces before allocating from what a file declares.
pub mod limits {
    pub use crate::accessor::{MAX_DECODED_ELEMENTS, MAX_VIEWLESS_ELEMENTS};
    pub use crate::ktx2::{MAX_TEXTURE_PIXELS, MAX_TEXTURE_SIDE};
    pub use crate::load::MAX_SCENE_TEXELS;
    pub use crate::scene::MAX_WORLD_COORD;
}
