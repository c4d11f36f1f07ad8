//! The one error type of `episodes`. Every message names the file, and where known the record and field.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EpisodeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}
