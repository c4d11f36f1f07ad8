//! The crate's one error type; messages name the file, record or field at fault.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SftError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// A bad training setting: `field` is the config key.
    #[error("config `{field}`: {message}")]
    Config { field: String, message: String },
    /// A bad training setting read from a config file.
    #[error("{path}: config `{field}`: {message}")]
    ConfigFile {
        path: PathBuf,
        field: String,
        message: String,
    },
    /// A sample that cannot be trained on.
    #[error("{store}: sample {index}: {message}")]
    Sample {
        store: PathBuf,
        index: u64,
        message: String,
    },
    /// A checkpoint or resume state that does not fit this run.
    #[error("checkpoint {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error(transparent)]
    Agent(#[from] agent::AgentError),
    #[error(transparent)]
    Episodes(#[from] episodes::EpisodeError),
    #[error(transparent)]
    Env(#[from] env::EnvError),
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

pub type Result<T, E = SftError> = std::result::Result<T, E>;

impl SftError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SftError::Io {
            path: path.into(),
            source,
        }
    }
    pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        SftError::Config {
            field: field.into(),
            message: message.into(),
        }
    }
    /// A [`SftError::Config`] error as read from `path`; other errors unchanged.
    pub(crate) fn in_file(self, path: &std::path::Path) -> Self {
        match self {
            SftError::Config { field, message } => SftError::ConfigFile {
                path: path.to_owned(),
                field,
                message,
            },
            other => other,
        }
    }
    pub(crate) fn checkpoint(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        SftError::Checkpoint {
            path: path.into(),
            message: message.into(),
        }
    }
}
