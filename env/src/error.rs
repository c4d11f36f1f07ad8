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
}

pub type Result<T, E = EnvError> = std::result::Result<T, E>;
