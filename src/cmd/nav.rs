//! `vln-r1 nav ...`: navigable surface statistics, geodesic distances and random navigable points of a scene.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use env::body::AgentConfig;
use env::nav::{CacheOutcome, NavParams, PathFinder};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::args::{parse_vec3, SceneReadArgs};

#[derive(Debug, Args)]
pub struct NavArgs {
    #[command(subcommand)]
    pub command: NavCommand,
}

/// Agent size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AgentPreset {
    /// R2R-CE: height 1.5 m, radius 0.1 m.
    R2r,
    /// RxR-CE: height 0.88 m, radius 0.18 m.
    Rxr,
}

impl AgentPreset {
    pub fn config(self) -> AgentConfig {
        match self {
            AgentPreset::R2r => AgentConfig::r2r(),
            AgentPreset::Rxr => AgentConfig::rxr(),
        }
    }
}

#[derive(Debug, Args)]
pub struct SceneOpts {
    /// Scene file (.glb / .gltf). The navigable surface is cached next to it as <scene>.navmesh.<hash>.bin.
    #[arg(long)]
    pub scene: PathBuf,
    #[arg(long, value_enum, default_value_t = AgentPreset::R2r)]
    pub agent: AgentPreset,
    /// Also walk on floors open to the sky (roofs, patios); by default only floors under a ceiling count.
    #[arg(long)]
    pub outdoor: bool,
    #[command(flatten)]
    pub read: SceneReadArgs,
}

#[derive(Debug, Subcommand)]
pub enum NavCommand {
    /// Print the navigable surface's size, islands and where it came from (cache or build).
    Info {
        #[command(flatten)]
        scene: SceneOpts,
    },
    /// Print the geodesic distance in metres between two points (`inf` when no path joins them).
    Geodesic {
        #[command(flatten)]
        scene: SceneOpts,
        /// Start x,y,z (feet on the floor), snapped onto the surface.
        #[arg(long, value_parser = parse_vec3, allow_hyphen_values = true)]
        from: [f32; 3],
        /// Goal x,y,z, snapped onto the surface.
        #[arg(long, value_parser = parse_vec3, allow_hyphen_values = true)]
        to: [f32; 3],
        /// Also print the path's corner points, one x,y,z per line.
        #[arg(long)]
        path: bool,
    },
    /// Print random navigable points of the largest island, one x,y,z per line (deterministic by seed).
    Sample {
        #[command(flatten)]
        scene: SceneOpts,
        #[arg(long, default_value_t = 10)]
        count: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
}

pub fn run(args: NavArgs) -> anyhow::Result<()> {
    match args.command {
        NavCommand::Info { scene } => {
            let pf = load(&scene)?;
            let s = pf.surface();
            let mut areas: Vec<(usize, f32)> = s.island_areas().into_iter().enumerate().collect();
            areas.sort_by(|a, b| b.1.total_cmp(&a.1));
            println!(
                "cells: {} floor cells, {} navigable",
                s.span_count(),
                s.navigable_count()
            );
            println!(
                "navigable area: {:.2} m2 in {} islands",
                s.navigable_area(),
                areas.len()
            );
            for (i, a) in areas.iter().take(5) {
                println!("  island {i}: {a:.2} m2");
            }
            Ok(())
        }
        NavCommand::Geodesic {
            scene,
            from,
            to,
            path,
        } => {
            let pf = load(&scene)?;
            match pf.find_path(from, to)? {
                None => println!("inf"),
                Some(p) => {
                    println!("{:.4}", p.distance);
                    if p.from_snap > 0.0 || p.to_snap > 0.0 {
                        eprintln!(
                            "snapped --from by {:.3} m, --to by {:.3} m",
                            p.from_snap, p.to_snap
                        );
                    }
                    if path {
                        for q in &p.points {
                            println!("{},{},{}", q[0], q[1], q[2]);
                        }
                    }
                }
            }
            Ok(())
        }
        NavCommand::Sample { scene, count, seed } => {
            let pf = load(&scene)?;
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            for _ in 0..count {
                let p = pf
                    .sample_navigable_point(&mut rng, None)
                    .context("the scene has no navigable surface")?;
                println!("{},{},{}", p[0], p[1], p[2]);
            }
            Ok(())
        }
    }
}

/// Loads the scene and its navigable surface (from the cache when current), reporting the cache on stderr.
pub fn load(opts: &SceneOpts) -> anyhow::Result<PathFinder> {
    let options = opts.read.load_options();
    let (scene, _) = habitat_assets::load_scene_with(&opts.scene, &options)?;
    let params = NavParams {
        indoor_only: !opts.outdoor,
        ..NavParams::default()
    };
    let (pf, outcome) = PathFinder::load_or_build_in_frame(
        &opts.scene,
        &options.frame,
        &scene,
        &opts.agent.config(),
        &params,
    )?;
    report(&opts.scene, &outcome);
    Ok(pf)
}

fn report(scene: &Path, outcome: &CacheOutcome) {
    match outcome {
        CacheOutcome::Loaded(_) => {}
        CacheOutcome::Built(p) => eprintln!(
            "built the navigable surface of {}, cached in {}",
            scene.display(),
            p.display()
        ),
        CacheOutcome::Rebuilt { path, reason } => {
            eprintln!(
                "rebuilt the unreadable navmesh cache {} ({reason})",
                path.display()
            )
        }
        CacheOutcome::Unwritten { path, error } => {
            eprintln!(
                "warning: navigable surface built but not cached: {}: {error}",
                path.display()
            )
        }
    }
}
