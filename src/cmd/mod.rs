//! One module per subcommand: argument parsing, progress and printing only; the work lives in the libraries.

pub mod args;
pub mod bench;
pub mod datagen;
pub mod demo;
pub mod demo_report;
pub mod episodes;
pub mod episodes_gen;
pub mod eval;
pub mod model;
pub mod nav;
pub mod render;
pub mod rft;
pub mod rollout;
pub mod scenes;
pub mod sft;
pub mod task;
