//! The one error type of `habitat_assets`. Every message names the file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AssetError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// The file is not a well-formed glTF 2.0 asset (bad GLB container, bad JSON, failed validation).
    #[error("{path}: not a valid glTF 2.0 file: {message}")]
    Gltf { path: PathBuf, message: String },
    /// A feature the file requires and this loader does not implement (e.g. Draco mesh compression).
    #[error("{path}: unsupported glTF feature: {feature}")]
    Unsupported { path: PathBuf, feature: String },
    /// An external buffer or image named by a relative URI could not be read.
    #[error("{path}: cannot read external file {uri:?} ({resolved}): {source}")]
    MissingExternal {
        path: PathBuf,
        uri: String,
        resolved: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A buffer whose data is missing, shorter than declared, or unreadable.
    #[error("{path}: buffer {buffer}: {message}")]
    Buffer {
        path: PathBuf,
        buffer: usize,
        message: String,
    },
    /// An accessor that points outside its buffer or has the wrong type for its use.
    #[error(
        "{path}: mesh {mesh:?} primitive {primitive} {attribute} (accessor {accessor}): {message}"
    )]
    Accessor {
        path: PathBuf,
        mesh: String,
        primitive: usize,
        attribute: String,
        accessor: usize,
        message: String,
    },
    /// An image that could not be located or decoded.
    #[error("{path}: image {image}: {message}")]
    Image {
        path: PathBuf,
        image: usize,
        message: String,
    },
    /// A scene metadata file (`<name>.meta.json`) that is malformed or inconsistent.
    #[error("{path}: {message}")]
    Meta { path: PathBuf, message: String },
}

impl AssetError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> AssetError {
        AssetError::Io {
            path: path.into(),
            source,
        }
    }
}
