//! The one error type of `episodes`. Every message names the file, and where known the record and field.

use std::path::PathBuf;

use crate::answer::AnswerError;

#[derive(Debug, thiserror::Error)]
pub enum EpisodeError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not what the file name promises (gzip vs plain JSON), or the gzip stream is broken.
    #[error("{path}: {message}")]
    Compression { path: PathBuf, message: String },
    /// The JSON does not parse into the expected shape. `at` is the serde path (`episodes[3].goals[0].radius`),
    /// `record` names the record when it could be recovered (`episode 1234`).
    #[error("{path}: {}{at}: {source}", record.as_deref().map(|r| format!("{r}: ")).unwrap_or_default())]
    Json {
        path: PathBuf,
        record: Option<String>,
        at: String,
        #[source]
        source: serde_json::Error,
    },
    /// A `NaN` / `Infinity` literal (Python's json writes them; JSON has no such numbers).
    #[error("{path}: {}{at}: {token} is not a finite number (coordinates and distances must be finite)", record.as_deref().map(|r| format!("{r}: ")).unwrap_or_default())]
    NonFinite {
        path: PathBuf,
        record: Option<String>,
        at: String,
        token: String,
    },
    /// One record parses but breaks a rule (NaN coordinate, non-unit quaternion, empty reference path...).
    #[error("{path}: {record}: {field}: {message}")]
    Record {
        path: PathBuf,
        record: String,
        field: String,
        message: String,
    },
    /// A whole-file problem (duplicate ids, no files found, inconsistent store manifest...).
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    /// A configuration string or value that cannot be used (memory sampler spec, prompt settings...).
    #[error("{what}: {message}")]
    Config { what: String, message: String },
    #[error(transparent)]
    Answer(#[from] AnswerError),
}

pub type Result<T, E = EpisodeError> = std::result::Result<T, E>;

impl EpisodeError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EpisodeError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        EpisodeError::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    pub(crate) fn config(what: impl Into<String>, message: impl Into<String>) -> Self {
        EpisodeError::Config {
            what: what.into(),
            message: message.into(),
        }
    }
}
