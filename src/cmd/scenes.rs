//! `vln-r1 scenes ...`: inspect glTF scenes and generate procedural houses.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use habitat_assets::house::{generate_house, write_house, House, HouseOptions};
use habitat_assets::{load_scene_with, load_scene_with_report, shipped, SceneMeta};

use super::args::SceneReadArgs;

#[derive(Debug, Args)]
pub struct ScenesArgs {
    #[command(subcommand)]
    pub command: ScenesCommand,
}

#[derive(Debug, Subcommand)]
pub enum ScenesCommand {
    /// Print triangle, vertex and texture counts, bounds (metres) and load time of a .glb / .gltf.
    Info {
        /// Scene file.
        file: PathBuf,
        #[command(flatten)]
        read: SceneReadArgs,
    },
    /// Generate procedural houses: <out>/house_<seed>.glb and .meta.json for seeds seed..seed+count.
    Generate {
        #[arg(long, default_value_t = 1)]
        count: u64,
        /// First seed; house i uses seed + i (its name carries the seed).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
        /// Tessellate floors, walls and ceilings to about this many triangles per house (benchmarks).
        #[arg(long)]
        dense_triangles: Option<usize>,
    },
    /// Regenerate the shipped houses and splits.json (bit-identical to the committed ones).
    Ship {
        /// Target directory (default: the crate's habitat_assets/scenes).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(args: ScenesArgs) -> anyhow::Result<()> {
    match args.command {
        ScenesCommand::Info { file, read } => info(&file, &read),
        ScenesCommand::Generate {
            count,
            seed,
            out,
            dense_triangles,
        } => {
            let options = HouseOptions { dense_triangles };
            let bar = indicatif::ProgressBar::new(count);
            for s in seed..seed
                .checked_add(count)
                .context("--seed + --count overflows")?
            {
                let house = generate_house(s, &options);
                let path = write_house(&house, &out)?;
                verify(&house, &path)?;
                bar.println(format!(
                    "{}: {} triangles, {} rooms, {} objects, {:.2} MB",
                    path.display(),
                    house.expected.triangles,
                    house.meta.rooms.len(),
                    house.meta.objects.len(),
                    house.glb.len() as f64 / 1e6
                ));
                bar.inc(1);
            }
            bar.finish_and_clear();
            Ok(())
        }
        ScenesCommand::Ship { out } => {
            let dir = out.unwrap_or_else(shipped::scenes_dir);
            let paths = shipped::regenerate(&dir)?;
            println!(
                "wrote {} houses and splits.json to {}",
                paths.len(),
                dir.display()
            );
            Ok(())
        }
    }
}

/// Loads a written house back and checks it against what the generator wrote.
fn verify(house: &House, path: &std::path::Path) -> anyhow::Result<()> {
    let (scene, _) = load_scene_with_report(path)?;
    let e = &house.expected;
    if scene.triangle_count() != e.triangles || scene.vertex_count() != e.vertices {
        bail!(
            "{}: loaded {} triangles / {} vertices, generator wrote {} / {}",
            path.display(),
            scene.triangle_count(),
            scene.vertex_count(),
            e.triangles,
            e.vertices
        );
    }
    Ok(())
}

fn info(file: &std::path::Path, read: &SceneReadArgs) -> anyhow::Result<()> {
    let (scene, report) = load_scene_with(file, &read.load_options())?;
    let b = scene.bounds();
    let texels: u64 = scene
        .textures
        .iter()
        .map(|t| t.width as u64 * t.height as u64)
        .sum();
    println!(
        "file:       {} ({:.2} MB)",
        file.display(),
        report.file_bytes as f64 / 1e6
    );
    println!("triangles:  {}", scene.triangle_count());
    println!("vertices:   {}", scene.vertex_count());
    println!(
        "meshes:     {} ({} materials)",
        scene.meshes.len(),
        scene.materials.len()
    );
    println!(
        "textures:   {} ({:.2} Mtexels)",
        scene.textures.len(),
        texels as f64 / 1e6
    );
    if b.is_empty() {
        println!("bounds:     empty");
    } else {
        let s = b.size();
        println!(
            "bounds min: [{:.3}, {:.3}, {:.3}] m",
            b.min[0], b.min[1], b.min[2]
        );
        println!(
            "bounds max: [{:.3}, {:.3}, {:.3}] m",
            b.max[0], b.max[1], b.max[2]
        );
        println!("size:       {:.2} x {:.2} x {:.2} m", s[0], s[1], s[2]);
    }
    if report.skipped_primitives > 0 {
        println!(
            "skipped:    {} non-triangle primitives",
            report.skipped_primitives
        );
    }
    if !report.ignored_extensions.is_empty() {
        println!("ignored:    {}", report.ignored_extensions.join(", "));
    }
    println!("axes:       {}", report.frame);
    println!(
        "lighting:   {}",
        match report.lighting {
            habitat_assets::SceneLighting::Lit =>
                "lit by the renderer (marked as one of our houses)",
            habitat_assets::SceneLighting::Baked =>
                "baked into the textures (rendered unlit, as habitat does)",
        }
    );
    println!("load time:  {:.1} ms", report.load_time.as_secs_f64() * 1e3);
    let meta_path = SceneMeta::path_for(file);
    if meta_path.exists() {
        let m = SceneMeta::load(&meta_path)?;
        println!(
            "metadata:   {} levels, {} rooms, {} objects, {} doors, {} stairs",
            m.levels.len(),
            m.rooms.len(),
            m.objects.len(),
            m.doors.len(),
            m.stairs.len()
        );
    }
    Ok(())
}
