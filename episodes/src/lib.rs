//! Every on-disk data format of vln-r1 and the text the model sees.

pub mod error;

pub use error::EpisodeError;
