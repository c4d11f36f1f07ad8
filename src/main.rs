//! `vln-r1`: the command-line front end. Argument parsing, progress bars and printing only; every piece of
//! logic a library user would need lives in the workspace crates.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "vln-r1",
    version,
    about = "Vision-language navigation in continuous environments (VLN-R1 in Rust)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Qwen2-VL model utilities: devices, init, forward.
    Model(cmd::model::ModelArgs),
    /// VLN-CE episode and gt files: statistics and validation.
    Episodes(cmd::episodes::EpisodesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Model(a) => cmd::model::run(a),
        Command::Episodes(a) => cmd::episodes::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
