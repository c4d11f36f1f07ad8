//! Rust errors as Python exceptions: the message is the Rust error's (it names the file, record and field);
//! a missing file is a `FileNotFoundError`, everything else a `ValueError`.

use std::error::Error;
use std::io;

use pyo3::exceptions::{PyFileNotFoundError, PyValueError};
use pyo3::PyErr;

/// True when an `io::Error` of kind NotFound is anywhere in the chain.
fn not_found(e: &(dyn Error + 'static)) -> bool {
    let mut cur: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::NotFound {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

/// Any Rust error of the three crates, with its source chain appended when the message omits it.
pub fn to_py<E: Error + 'static>(e: E) -> PyErr {
    let message = e.to_string();
    if not_found(&e) {
        PyFileNotFoundError::new_err(message)
    } else {
        PyValueError::new_err(message)
    }
}

pub fn value_error(message: impl Into<String>) -> PyErr {
    PyValueError::new_err(message.into())
}

/// A path the caller named that does not exist.
pub fn require_exists(what: &str, path: &std::path::Path) -> pyo3::PyResult<()> {
    if path.exists() {
        Ok(())
    } else {
        Err(PyFileNotFoundError::new_err(format!(
            "{what} {} does not exist",
            path.display()
        )))
    }
}
