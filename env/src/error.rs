//! The one error type of the `env` crate. Messages name the file / episode / field involved.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EnvError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Assets(#[from] habitat_assets::AssetError),
    #[error(transparent)]
    Episodes(#[from] episodes::EpisodeError),
    #[error("{0}")]
    Invalid(String),
    #[error("no navigable point within {max_snap} m of {point:?}")]
    OffSurface { point: [f32; 3], max_snap: f32 },
    #[error("{path}: navmesh cache: {reason}")]
    NavCache { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Image {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    /// A policy failed (its own error boxed, so implementations outside this crate keep their types).
    #[error("policy {policy}: {source}")]
    Policy {
        policy: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

pub type Result<T, E = EnvError> = std::result::Result<T, E>;
