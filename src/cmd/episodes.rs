//! `vln-r1 episodes ...`: inspect and check VLN-CE episode and gt files.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand};
use episodes::split::{self, DataFile, FileKind, Role};
use episodes::{EpisodeDataset, GroundTruth};

#[derive(Debug, Args)]
pub struct EpisodesArgs {
    #[command(subcommand)]
    pub command: EpisodesCommand,
}

#[derive(Debug, Subcommand)]
pub enum EpisodesCommand {
    /// Print counts, scenes, languages, path-length and geodesic-distance statistics; fails on invalid input.
    Stats(SourceArgs),
    /// Check files only: prints OK and the counts, or the first problem (exit status 1).
    Validate(SourceArgs),
    /// Generate an R2R-CE-format dataset (train, val_seen, val_unseen, with gt) for procedural houses.
    Generate(super::episodes_gen::GenerateArgs),
    /// Make gt files ({split}_gt.json.gz) for any VLN-CE dataset with the expert follower.
    Gt(super::episodes_gen::GtArgs),
}

#[derive(Debug, Args)]
pub struct SourceArgs {
    /// An episode or gt file (.json / .json.gz), or a dataset directory holding
    /// {split}/{split}.json.gz (R2R-CE) or {split}/{split}_{guide|follower}.json.gz (RxR-CE), plus *_gt files.
    pub path: PathBuf,
    /// Only this split of a dataset directory (default: every split found).
    #[arg(long)]
    pub split: Option<String>,
    /// Only these RxR roles (guide, follower); repeatable.
    #[arg(long = "role")]
    pub roles: Vec<Role>,
    /// Statistics over these instruction languages only (e.g. en-US); repeatable.
    #[arg(long = "language")]
    pub languages: Vec<String>,
}

pub fn run(args: EpisodesArgs) -> anyhow::Result<()> {
    match args.command {
        EpisodesCommand::Stats(a) => stats(&a),
        EpisodesCommand::Validate(a) => validate(&a),
        EpisodesCommand::Generate(a) => super::episodes_gen::generate_cmd(a),
        EpisodesCommand::Gt(a) => super::episodes_gen::gt_cmd(a),
    }
}

fn files(args: &SourceArgs) -> anyhow::Result<Vec<DataFile>> {
    let files = if args.path.is_file() {
        if args.split.is_some() {
            bail!(
                "--split selects a split of a dataset directory; {} is a file",
                args.path.display()
            );
        }
        vec![DataFile {
            split: String::new(),
            role: None,
            kind: split::kind_of_file(&args.path),
            path: args.path.clone(),
        }]
    } else {
        split::discover(&args.path, args.split.as_deref())?
    };
    Ok(files
        .into_iter()
        .filter(|f| args.roles.is_empty() || f.role.is_none_or(|r| args.roles.contains(&r)))
        .collect())
}

/// A file as loaded, handed to the printing code.
enum Loaded<'a> {
    Episodes(&'a DataFile, &'a EpisodeDataset),
    /// With the episode file of the same split and role, when one was loaded before it.
    Gt(&'a DataFile, &'a GroundTruth, Option<&'a EpisodeDataset>),
}

/// Loads each file in order (the first invalid one stops with its error).
fn for_each_file(args: &SourceArgs, mut on_file: impl FnMut(Loaded<'_>)) -> anyhow::Result<()> {
    let mut loaded: Vec<(String, Option<Role>, EpisodeDataset)> = Vec::new();
    for f in files(args)? {
        match f.kind {
            FileKind::Episodes => {
                let d = EpisodeDataset::load(&f.path)?;
                on_file(Loaded::Episodes(&f, &d));
                loaded.push((f.split.clone(), f.role, d));
            }
            FileKind::Gt => {
                let gt = GroundTruth::load(&f.path)?;
                let episodes = loaded
                    .iter()
                    .find(|(s, r, _)| !s.is_empty() && *s == f.split && *r == f.role)
                    .map(|(_, _, d)| d);
                on_file(Loaded::Gt(&f, &gt, episodes));
            }
        }
    }
    Ok(())
}

fn coverage_warning(gt: &GroundTruth, episodes: Option<&EpisodeDataset>) -> Option<String> {
    let cov = gt.coverage(episodes?);
    if cov.gt_without_episode.is_empty() && cov.episodes_without_gt == 0 {
        return None;
    }
    let mut unknown = cov
        .gt_without_episode
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if cov.gt_without_episode.len() > 5 {
        unknown.push_str(", ...");
    }
    Some(format!(
        "note: {} episodes have no gt entry; {} gt entries have no episode{}",
        cov.episodes_without_gt,
        cov.gt_without_episode.len(),
        if unknown.is_empty() {
            String::new()
        } else {
            format!(" ({unknown})")
        }
    ))
}

fn stats(args: &SourceArgs) -> anyhow::Result<()> {
    let mut first = true;
    for_each_file(args, |loaded| {
        let path = match &loaded {
            Loaded::Episodes(f, _) | Loaded::Gt(f, _, _) => &f.path,
        };
        if !first {
            println!();
        }
        first = false;
        println!("== {}", path.display());
        match loaded {
            Loaded::Episodes(_, d) if !args.languages.is_empty() => {
                let mut kept = d.clone();
                kept.retain_languages(&args.languages);
                println!("{:<22}{}", "languages kept", args.languages.join(", "));
                print!("{}", kept.stats());
            }
            Loaded::Episodes(_, d) => print!("{}", d.stats()),
            Loaded::Gt(_, gt, episodes) => {
                print!("{}", gt.stats());
                if let Some(w) = coverage_warning(gt, episodes) {
                    println!("{w}");
                }
            }
        }
    })
}

fn validate(args: &SourceArgs) -> anyhow::Result<()> {
    let (mut files, mut episodes, mut entries) = (0usize, 0usize, 0usize);
    for_each_file(args, |loaded| {
        files += 1;
        match loaded {
            Loaded::Episodes(f, d) => {
                episodes += d.len();
                println!("OK {}: {} episodes", f.path.display(), d.len());
            }
            Loaded::Gt(f, gt, eps) => {
                entries += gt.len();
                println!("OK {}: {} gt entries", f.path.display(), gt.len());
                if let Some(w) = coverage_warning(gt, eps) {
                    println!("   {w}");
                }
            }
        }
    })?;
    println!("OK: {files} files, {episodes} episodes, {entries} gt entries");
    Ok(())
}
