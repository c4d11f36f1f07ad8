//! Scene meshes for the simulator: glTF/GLB loading, procedural houses, and the shipped scene set.
//! Knows nothing about agents or episodes.

pub mod error;
pub mod scene;

pub use error::AssetError;
pub use scene::{Aabb, Material, Mesh, Scene, Texture};
