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
    /// Benchmarks of hot paths (print timings).
    Bench(cmd::bench::BenchArgs),
    /// glTF scenes: inspect a .glb / .gltf, generate procedural houses, regenerate the shipped set.
    Scenes(cmd::scenes::ScenesArgs),
    /// Play a policy on episodes and record trajectories, top-down maps and egocentric videos.
    Rollout(cmd::rollout::RolloutArgs),
    /// Evaluate a policy on a split (resumable) and print the VLN-CE metrics table.
    Eval(cmd::eval::EvalArgs),
    /// Navigable surface of a scene: geodesic distances and paths, random navigable points.
    Nav(cmd::nav::NavArgs),
    /// VLN-Ego training data: replay gt actions, save frames, write the sample store and sharegpt JSON.
    Datagen(cmd::datagen::DatagenArgs),
    /// GRPO fine-tuning (VLN-R1 RFT): offline over a sample store, or closed-loop with --online.
    Rft(cmd::rft::RftArgs),
    /// Supervised fine-tuning of the VLM policy on a VLN-Ego sample store (resumable).
    Sft(cmd::sft::SftArgs),
    /// Render an egocentric frame (RGB, depth) or a top-down map (`render topdown`).
    Render(cmd::render::RenderArgs),
    /// The whole loop on the shipped world within a time budget: datagen, SFT, RFT, evals against the
    /// baselines, rollouts, and a report (resumable).
    Demo(cmd::demo::DemoArgs),
}

fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Model(a) => cmd::model::run(a),
        Command::Episodes(a) => cmd::episodes::run(a),
        Command::Bench(a) => cmd::bench::run(a),
        Command::Scenes(a) => cmd::scenes::run(a),
        Command::Rollout(a) => cmd::rollout::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Nav(a) => cmd::nav::run(a),
        Command::Render(a) => cmd::render::run(a),
        Command::Rft(a) => cmd::rft::run(a),
        Command::Datagen(a) => cmd::datagen::run(a),
        Command::Sft(a) => cmd::sft::run(a),
        Command::Demo(a) => cmd::demo::run(a, &run_argv),
    }
}

/// Runs a subcommand line (without the program name) in this process: how the demo runs its stages, with
/// the same parsing and validation as the command line.
fn run_argv(argv: &[String]) -> anyhow::Result<()> {
    let cli =
        Cli::try_parse_from(std::iter::once("vln-r1".to_owned()).chain(argv.iter().cloned()))?;
    dispatch(cli.command)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = dispatch(cli.command);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[String]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("vln-r1".to_owned()).chain(argv.iter().cloned()))
    }

    /// Every line the demo runs parses with this CLI: a misspelled flag fails here, not an hour into a run.
    #[test]
    fn every_demo_stage_line_parses() {
        for flags in [
            "demo",
            "demo --minutes 1",
            "demo --from-scratch",
            "demo --from-scratch --minutes 1 --threads 1",
        ] {
            let flags: Vec<String> = flags.split(' ').map(str::to_owned).collect();
            let Command::Demo(args) = parse(&flags).unwrap().command else {
                panic!("{flags:?} is not the demo")
            };
            let lines = cmd::demo::planned_commands(&args).unwrap();
            assert!(lines.len() >= 8, "{flags:?}: {lines:?}");
            for line in lines {
                parse(&line).unwrap_or_else(|e| panic!("{flags:?} runs {line:?}: {e}"));
            }
        }
    }
}
