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

/// Loads each file in order; a gt file is checked against the episode file of the same split and role.
fn for_each_file(
    args: &SourceArgs,
    mut on_episodes: impl FnMut(&DataFile, &EpisodeDataset),
    mut on_gt: impl FnMut(&DataFile, &GroundTruth, Option<&EpisodeDataset>),
) -> anyhow::Result<()> {
    let mut loaded: Vec<(String, Option<Role>, EpisodeDataset)> = Vec::new();
    for f in files(args)? {
        match f.kind {
            FileKind::Episodes => {
                let d = EpisodeDataset::load(&f.path)?;
                on_episodes(&f, &d);
                loaded.push((f.split.clone(), f.role, d));
            }
            FileKind::Gt => {
                let gt = GroundTruth::load(&f.path)?;
                let episodes = loaded
                    .iter()
                    .find(|(s, r, _)| !s.is_empty() && *s == f.split && *r == f.role)
                    .map(|(_, _, d)| d);
                on_gt(&f, &gt, episodes);
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
    let mut header = |path: &std::path::Path| {
        if !first {
            println!();
        }
        first = false;
        println!("== {}", path.display());
    };
    for_each_file(
        args,
        |f, d| {
            header(&f.path);
            if args.languages.is_empty() {
                print!("{}", d.stats());
            } else {
                let mut kept = d.clone();
                kept.retain_languages(&args.languages);
                println!("{:<22}{}", "languages kept", args.languages.join(", "));
                print!("{}", kept.stats());
            }
        },
        |f, gt, episodes| {
            header(&f.path);
            print!("{}", gt.stats());
            if let Some(w) = coverage_warning(gt, episodes) {
                println!("{w}");
            }
        },
    )
}

fn validate(args: &SourceArgs) -> anyhow::Result<()> {
    let (mut files, mut episodes, mut entries) = (0usize, 0usize, 0usize);
    for_each_file(
        args,
        |f, d| {
            files += 1;
            episodes += d.len();
            println!("OK {}: {} episodes", f.path.display(), d.len());
        },
        |f, gt, eps| {
            files += 1;
            entries += gt.len();
            println!("OK {}: {} gt entries", f.path.display(), gt.len());
            if let Some(w) = coverage_warning(gt, eps) {
                println!("   {w}");
            }
        },
    )?;
    println!("OK: {files} files, {episodes} episodes, {entries} gt entries");
    Ok(())
}
