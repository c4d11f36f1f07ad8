//! `vln-r1 episodes generate` (R2R-CE-format episodes for procedural houses) and `vln-r1 episodes gt` (gt
//! files for any VLN-CE dataset).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Args;
use env::episode_gen::{generate_avoiding, make_gt, write_dataset, AvoidedRoutes, GenerateConfig};
use env::nav::{FollowerConfig, NavParams};
use env::task::SceneLibrary;
use episodes::split::{self, FileKind};
use episodes::EpisodeDataset;

use super::args::SceneReadArgs;
use super::task::AgentKind;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Scenes directory with <name>.glb, <name>.meta.json and splits.json; default: habitat_assets/scenes.
    #[arg(long)]
    pub scenes: Option<PathBuf>,
    /// Output dataset directory ({split}/{split}.json.gz and {split}_gt.json.gz).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Episodes per training house in train.
    #[arg(long, default_value_t = 20)]
    pub per_scene: usize,
    /// Episodes per training house in val_seen.
    #[arg(long, default_value_t = 10)]
    pub val_seen_per_scene: usize,
    /// Episodes per held-out house in val_unseen.
    #[arg(long, default_value_t = 50)]
    pub val_unseen_per_scene: usize,
    /// Episode files or dataset directories (all their splits) whose routes to keep clear of: a route whose start
    /// and goal both lie within --avoid-radius of one of theirs in the same house is drawn again. Repeatable.
    /// An extra train split clear of the shipped val_seen: --seed 1 --per-scene 200 --val-seen-per-scene 0
    /// --val-unseen-per-scene 0 --avoid habitat_assets/data/R2R_VLNCE_shipped/val_seen (a split with 0 per
    /// house is not written).
    #[arg(long)]
    pub avoid: Vec<PathBuf>,
    /// Metres (start and goal each) within which a route counts as one of --avoid's.
    #[arg(long, default_value_t = 1.5)]
    pub avoid_radius: f64,
    #[command(flatten)]
    pub read: SceneReadArgs,
}

#[derive(Debug, Args)]
pub struct GtArgs {
    /// VLN-CE dataset directory.
    #[arg(long)]
    pub dataset: PathBuf,
    #[arg(long)]
    pub split: String,
    /// Directory that the episodes' scene_id paths are relative to; default: habitat_assets/scenes.
    #[arg(long)]
    pub scenes: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "r2r")]
    pub agent: AgentKind,
    /// The expert keeps its heading while that step lands at most this many metres farther than the best
    /// heading's (0: re-aim every step).
    #[arg(long, default_value_t = FollowerConfig::default().heading_slack)]
    pub heading_slack: f32,
    #[command(flatten)]
    pub read: SceneReadArgs,
}

pub fn generate_cmd(args: GenerateArgs) -> anyhow::Result<()> {
    let scenes = args
        .scenes
        .unwrap_or_else(habitat_assets::shipped::scenes_dir);
    let splits = habitat_assets::shipped::load_splits(&scenes)?;
    let library = SceneLibrary::new(&scenes, AgentKind::R2r.config(), NavParams::default())?
        .with_scene_up(args.read.forced());
    let config = GenerateConfig {
        seed: args.seed,
        train_per_scene: args.per_scene,
        val_seen_per_scene: args.val_seen_per_scene,
        val_unseen_per_scene: args.val_unseen_per_scene,
        ..GenerateConfig::default()
    };
    println!(
        "generating from {} ({} train houses, {} held-out houses), seed {}",
        scenes.display(),
        splits.train.len(),
        splits.val_unseen.len(),
        args.seed
    );
    let avoid = avoided_routes(&args.avoid, args.avoid_radius)?;
    if !avoid.is_empty() {
        println!(
            "keeping clear of {} routes (start and goal within {} m)",
            avoid.len(),
            args.avoid_radius
        );
    }
    let start = Instant::now();
    // A split asked for with 0 episodes per house is left out, not written empty (splits come in SPLITS order).
    let wanted = [
        args.per_scene,
        args.val_seen_per_scene,
        args.val_unseen_per_scene,
    ];
    let generated: Vec<_> = generate_avoiding(&library, &splits, &config, &avoid)?
        .into_iter()
        .zip(wanted)
        .filter(|&(_, n)| n > 0)
        .map(|(s, _)| s)
        .collect();
    if generated.is_empty() {
        bail!("--per-scene, --val-seen-per-scene and --val-unseen-per-scene are all 0: nothing to generate");
    }
    for s in &generated {
        let d = &s.dataset;
        let geo: Vec<f64> = d
            .episodes
            .iter()
            .filter_map(|e| e.geodesic_distance())
            .collect();
        let actions: Vec<usize> = s.gt.entries.values().map(|g| g.actions.len()).collect();
        let words: Vec<usize> = d
            .episodes
            .iter()
            .map(|e| e.instruction.instruction_text.split_whitespace().count())
            .collect();
        let distinct: std::collections::HashSet<&str> = d
            .episodes
            .iter()
            .map(|e| e.instruction.instruction_text.as_str())
            .collect();
        let mean = |v: &[f64]| {
            if v.is_empty() {
                0.0
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        println!(
            "{:<11} {:>4} episodes in {} scenes | geodesic mean {:.1} m (min {:.1}, max {:.1}) | gt actions mean {:.1} | instruction words mean {:.1}, {} distinct",
            s.name,
            d.len(),
            d.scenes().len(),
            mean(&geo),
            geo.iter().copied().fold(f64::INFINITY, f64::min),
            geo.iter().copied().fold(0.0, f64::max),
            mean(&actions.iter().map(|&a| a as f64).collect::<Vec<_>>()),
            mean(&words.iter().map(|&w| w as f64).collect::<Vec<_>>()),
            distinct.len()
        );
    }
    write_dataset(&args.out, &generated)?;
    let vocab = generated
        .first()
        .and_then(|s| s.dataset.instruction_vocab.as_ref())
        .map_or(0, |v| v.word_list.len());
    println!(
        "vocabulary {vocab} words; written to {} in {:.1} s",
        args.out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The routes of every episode file under `paths` (a file, or a dataset directory's splits).
fn avoided_routes(paths: &[PathBuf], radius: f64) -> anyhow::Result<AvoidedRoutes> {
    if !(radius.is_finite() && radius >= 0.0) {
        bail!("--avoid-radius must be a distance in metres (>= 0), got {radius}");
    }
    let mut datasets = Vec::new();
    for path in paths {
        let files = if path.is_file() {
            vec![path.clone()]
        } else {
            split::discover(path, None)?
                .into_iter()
                .filter(|f| f.kind == FileKind::Episodes)
                .map(|f| f.path)
                .collect()
        };
        if files.is_empty() {
            bail!("--avoid {}: no episode file found", path.display());
        }
        for f in files {
            datasets.push(
                EpisodeDataset::load(&f).with_context(|| format!("--avoid {}", f.display()))?,
            );
        }
    }
    Ok(AvoidedRoutes::new(&datasets, radius))
}

pub fn gt_cmd(args: GtArgs) -> anyhow::Result<()> {
    let scenes = args
        .scenes
        .unwrap_or_else(habitat_assets::shipped::scenes_dir);
    let library = SceneLibrary::new(&scenes, args.agent.config(), NavParams::default())?
        .with_scene_up(args.read.forced());
    let files: Vec<_> = split::discover(&args.dataset, Some(&args.split))?
        .into_iter()
        .filter(|f| f.kind == FileKind::Episodes)
        .collect();
    if files.is_empty() {
        bail!(
            "{}: split {} has no episode file",
            args.dataset.display(),
            args.split
        );
    }
    for f in files {
        let start = Instant::now();
        let dataset = EpisodeDataset::load(&f.path)?;
        let follower = FollowerConfig {
            heading_slack: args.heading_slack,
            ..FollowerConfig::default()
        };
        let (gt, report) = make_gt(&library, &dataset.episodes, follower);
        for (id, reason) in report.failed.iter().take(10) {
            eprintln!("episode {id}: no gt: {reason}");
        }
        for (id, d) in report.not_reached.iter().take(10) {
            eprintln!("episode {id}: no gt: the expert stopped {d:.2} m from the goal, outside its goal radius");
        }
        let skipped = report.failed.len() + report.not_reached.len();
        if skipped > 10 {
            eprintln!("({skipped} episodes without gt in all; the counts below)");
        }
        if report.written == 0 {
            bail!(
                "{}: no gt entry could be made ({skipped} episodes without gt)",
                f.path.display(),
            );
        }
        let out = split::split_file(&args.dataset, &args.split, f.role, FileKind::Gt);
        gt.save(&out)
            .with_context(|| format!("writing {}", out.display()))?;
        println!(
            "{}: {} of {} episodes, {} did not reach the goal radius, {} failed (no gt for either), {:.1} s",
            out.display(),
            report.written,
            report.episodes,
            report.not_reached.len(),
            report.failed.len(),
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
