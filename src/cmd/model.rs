//! `vln-r1 model ...`: the Qwen2-VL port.

use clap::{Args, Subcommand};

#[derive(Debug, Args)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Print which compute devices libtorch sees (checks the libtorch link on a GPU machine).
    Devices,
}

pub fn run(args: ModelArgs) -> anyhow::Result<()> {
    match args.command {
        ModelCommand::Devices => {
            println!("{}", agent::device_report().trim_end());
            Ok(())
        }
    }
}
