//! `vln-r1 render ...`: one egocentric frame (RGB, optional depth) or a top-down map of a scene.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use env::body::AgentConfig;
use env::nav::{NavParams, PathFinder};
use env::render::{
    floor_levels, CameraPose, Lighting, RenderConfig, Renderer, SceneRenderData, TopDownMap,
    DEFAULT_SENSOR_HEIGHT,
};

use super::args::{parse_vec3, SceneReadArgs};

/// `vln-r1 render --scene FILE --position x,y,z --out frame.png` renders a frame;
/// `vln-r1 render topdown --scene FILE --out map.png` draws a map.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RenderArgs {
    #[command(subcommand)]
    pub command: Option<RenderCommand>,
    #[command(flatten)]
    pub frame: FrameArgs,
}

#[derive(Debug, Subcommand)]
pub enum RenderCommand {
    /// Top-down map of one storey with its navigable area.
    Topdown(TopdownArgs),
}

#[derive(Debug, Args)]
pub struct FrameArgs {
    /// Scene file (.glb / .gltf).
    #[arg(long, required = true)]
    pub scene: Option<PathBuf>,
    /// Agent feet position x,y,z in metres (the camera is --sensor-height above it).
    #[arg(long, required = true, value_parser = parse_vec3, allow_hyphen_values = true)]
    pub position: Option<[f32; 3]>,
    /// Heading in degrees about +Y: 0 looks along -Z, positive turns left.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub heading: f32,
    /// Pitch in degrees, positive looks up.
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    pub pitch: f32,
    #[arg(long, default_value_t = DEFAULT_SENSOR_HEIGHT)]
    pub sensor_height: f32,
    #[arg(long, default_value_t = 224)]
    pub width: u32,
    #[arg(long, default_value_t = 224)]
    pub height: u32,
    /// Horizontal field of view in degrees.
    #[arg(long, default_value_t = 90.0)]
    pub hfov: f32,
    /// Also write depth as a 16-bit PNG in millimetres.
    #[arg(long)]
    pub depth_out: Option<PathBuf>,
    /// Show textures and colours as authored, without the fixed light. Scans (any file without our houses'
    /// lighting mark) are always shown so, as habitat renders them.
    #[arg(long)]
    pub unlit: bool,
    #[command(flatten)]
    pub read: SceneReadArgs,
    /// Output PNG.
    #[arg(long, required = true)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TopdownArgs {
    /// Scene file (.glb / .gltf).
    #[arg(long)]
    pub scene: PathBuf,
    /// Storey index from the bottom (storeys are found from large covered floor areas).
    #[arg(long, default_value_t = 0)]
    pub level: usize,
    #[arg(long, default_value_t = 0.02)]
    pub metres_per_pixel: f32,
    /// Skip building the navigation surface (faster; draws the floors only).
    #[arg(long)]
    pub no_navigable: bool,
    #[command(flatten)]
    pub read: SceneReadArgs,
    /// Output PNG.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: RenderArgs) -> anyhow::Result<()> {
    match args.command {
        Some(RenderCommand::Topdown(t)) => topdown(t),
        None => frame(args.frame),
    }
}

fn load(
    path: &Path,
    read: &SceneReadArgs,
) -> anyhow::Result<(habitat_assets::Scene, habitat_assets::LoadReport)> {
    habitat_assets::load_scene_with(path, &read.load_options())
        .with_context(|| format!("loading scene {}", path.display()))
}

fn frame(a: FrameArgs) -> anyhow::Result<()> {
    let (Some(scene_path), Some(position), Some(out)) = (a.scene, a.position, a.out) else {
        bail!("render needs --scene, --position and --out");
    };
    for (name, v) in [
        ("--heading", a.heading),
        ("--pitch", a.pitch),
        ("--sensor-height", a.sensor_height),
    ] {
        if !v.is_finite() {
            bail!("{name} {v} is not a finite number");
        }
    }
    let config = RenderConfig::new(a.width, a.height, a.hfov).with_depth(a.depth_out.is_some());
    let mut renderer = Renderer::new(config)?;
    let (scene, report) = load(&scene_path, &a.read)?;
    let lighting = if a.unlit {
        Lighting::UNLIT
    } else {
        env::task::render_lighting(report.lighting)
    };
    let data = SceneRenderData::with_lighting(&scene, lighting);
    let mut pose = CameraPose::from_agent(position, a.heading.to_radians(), a.sensor_height);
    pose.pitch = a.pitch.to_radians();
    let frame = renderer.render(&data, &pose);
    frame.save_png(&out)?;
    println!("wrote {} ({}x{})", out.display(), a.width, a.height);
    if let Some(depth_out) = a.depth_out {
        frame.save_depth_png(&depth_out)?;
        println!("wrote {} (16-bit depth, millimetres)", depth_out.display());
    }
    Ok(())
}

fn topdown(a: TopdownArgs) -> anyhow::Result<()> {
    let (scene, _) = load(&a.scene, &a.read)?;
    let levels = floor_levels(&scene);
    let Some(&floor_y) = levels.get(a.level) else {
        bail!(
            "{}: --level {} does not exist; the scene has {} storey(s) at floor heights {:?}",
            a.scene.display(),
            a.level,
            levels.len(),
            levels
        );
    };
    let data = SceneRenderData::new(&scene);
    let mut map = TopDownMap::for_level(&data, floor_y, a.metres_per_pixel)?;
    if !a.no_navigable {
        let finder = PathFinder::build(&scene, &AgentConfig::r2r(), &NavParams::default())
            .with_context(|| format!("building the navigation surface of {}", a.scene.display()))?;
        map.draw_navigable(&|x, z| finder.is_navigable([x, floor_y, z]));
    }
    map.save_png(&a.out)?;
    println!(
        "wrote {} ({}x{} px, {} m/px, storey {} of {} at y = {:.2} m)",
        a.out.display(),
        map.width(),
        map.height(),
        a.metres_per_pixel,
        a.level,
        levels.len(),
        floor_y
    );
    Ok(())
}
