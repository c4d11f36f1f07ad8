//! The VLN-CE simulator and task. Never depends on libtorch.

pub mod body;
pub mod error;
pub mod measures;
pub mod nav;
pub mod render;

pub use error::{EnvError, Result};
