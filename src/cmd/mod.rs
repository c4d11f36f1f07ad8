//! One module per subcommand: argument parsing, progress and printing only; the work lives in the libraries.

pub mod args;
pub mod episodes;
pub mod model;
