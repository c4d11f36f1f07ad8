//! `vln-r1 bench env`: renderer frames per second on the shipped houses and on a dense (~1M triangle)
//! house, at the task (224x224) and data-generation (640x480) resolutions, RGB and RGB+depth, on one core
//! and on all cores (a batch of environments, one camera per rayon task). `--scene FILE` measures one
//! scene at one size from random navigable poses instead (`--json`: one line).

use std::time::{Duration, Instant};

use anyhow::Context;
use env::render::{
    render_batch, sample_floor_poses, CameraPose, RenderConfig, RenderJob, Renderer,
    SceneRenderData, DEFAULT_SENSOR_HEIGHT,
};
use habitat_assets::house::{generate_house, HouseOptions};
use habitat_assets::shipped;

pub struct EnvBench {
    /// Minimum measuring time per configuration.
    pub seconds: f64,
    /// Environments rendered per batch (one renderer each).
    pub batch: usize,
    pub seed: u64,
    pub dense_triangles: usize,
    /// Only this scene, at `size`, from random navigable poses (R2R agent, the default sensor height).
    pub scene: Option<std::path::PathBuf>,
    pub size: (u32, u32),
    /// With `scene`: print one JSON object on one line.
    pub json: bool,
}

struct SceneSet {
    label: String,
    scenes: Vec<SceneRenderData>,
    /// (scene index, pose) pairs, cycled through.
    poses: Vec<(usize, CameraPose)>,
}

pub fn run(b: EnvBench) -> anyhow::Result<()> {
    if let Some(path) = &b.scene {
        return one_scene(path, &b);
    }
    let threads = rayon::current_num_threads();
    println!(
        "machine: {threads} rayon threads; batch of {} environments; >= {:.1} s per row",
        b.batch, b.seconds
    );
    let sets = [shipped_set(b.seed)?, dense_set(b.seed, b.dense_triangles)?];
    println!();
    println!(
        "{:<26} {:>9} {:>6} {:>7} {:>8} {:>10} {:>13}",
        "scenes", "size", "depth", "threads", "frames", "frames/s", "frames/cpu-s"
    );
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .context("building a 1-thread pool")?;
    for set in &sets {
        for (w, h) in [(224, 224), (640, 480)] {
            for depth in [false, true] {
                let config = RenderConfig::new(w, h, 90.0).with_depth(depth);
                for (pool_threads, pool) in [(1, Some(&single)), (threads, None)] {
                    let m = match pool {
                        Some(p) => p.install(|| measure(set, config, b.batch, b.seconds))?,
                        None => measure(set, config, b.batch, b.seconds)?,
                    };
                    println!(
                        "{:<26} {:>9} {:>6} {:>7} {:>8} {:>10.0} {:>13}",
                        set.label,
                        format!("{w}x{h}"),
                        if depth { "yes" } else { "no" },
                        pool_threads,
                        m.frames,
                        m.frames as f64 / m.wall.as_secs_f64(),
                        m.cpu
                            .map_or("n/a".to_string(), |c| format!("{:.0}", m.frames as f64 / c)),
                    );
                }
            }
        }
    }
    println!();
    println!("frames/s: wall clock. frames/cpu-s: frames per second of CPU time used by the process (all threads),");
    println!("which stays meaningful when other work shares the cores.");
    Ok(())
}

fn shipped_set(seed: u64) -> anyhow::Result<SceneSet> {
    let splits = shipped::splits()?;
    let names: Vec<&String> = splits.train.iter().chain(&splits.val_unseen).collect();
    let mut scenes = Vec::new();
    let mut poses = Vec::new();
    let mut triangles = 0;
    let t = Instant::now();
    for (i, name) in names.iter().enumerate() {
        let path = shipped::scene_path(name);
        let scene = habitat_assets::load_scene(&path)
            .with_context(|| format!("loading {}", path.display()))?;
        triangles += scene.triangle_count();
        poses.extend(
            sample_floor_poses(&scene, 64, seed + i as u64, DEFAULT_SENSOR_HEIGHT)
                .into_iter()
                .map(|p| (i, p)),
        );
        scenes.push(SceneRenderData::new(&scene));
    }
    anyhow::ensure!(
        !poses.is_empty(),
        "the shipped scenes have no floors to stand on"
    );
    // Interleave scenes so that every batch mixes houses, as a vectorised environment would.
    poses.sort_by_key(|&(scene, _)| scene);
    let per_scene = 64;
    let mut interleaved = Vec::with_capacity(poses.len());
    for k in 0..per_scene {
        interleaved.extend(poses.iter().skip(k).step_by(per_scene).copied());
    }
    println!(
        "shipped: {} houses, {:.0} triangles on average, loaded and prepared in {:.2} s",
        scenes.len(),
        triangles as f64 / scenes.len() as f64,
        t.elapsed().as_secs_f64()
    );
    Ok(SceneSet {
        label: format!("shipped ({} houses)", scenes.len()),
        scenes,
        poses: interleaved,
    })
}

fn dense_set(seed: u64, triangles: usize) -> anyhow::Result<SceneSet> {
    let t = Instant::now();
    let house = generate_house(
        seed,
        &HouseOptions {
            dense_triangles: Some(triangles),
        },
    );
    let (scene, _) =
        habitat_assets::load_scene_from_bytes(&house.glb, std::path::Path::new(&house.name))?;
    let loaded = t.elapsed();
    let t = Instant::now();
    let data = SceneRenderData::new(&scene);
    println!(
        "dense: {} with {} triangles ({} chunks): generated + loaded in {:.2} s, prepared in {:.2} s",
        house.name,
        data.triangle_count(),
        data.chunk_count(),
        loaded.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    let poses = sample_floor_poses(&scene, 256, seed, DEFAULT_SENSOR_HEIGHT)
        .into_iter()
        .map(|p| (0, p))
        .collect();
    Ok(SceneSet {
        label: format!(
            "dense ({:.1}M triangles)",
            data.triangle_count() as f64 / 1e6
        ),
        scenes: vec![data],
        poses,
    })
}

/// `bench env --scene FILE`: RGB frames of one scene at one size, one thread then all threads.
fn one_scene(path: &std::path::Path, b: &EnvBench) -> anyhow::Result<()> {
    use env::body::AgentConfig;
    use env::nav::{NavParams, PathFinder};
    use rand::{Rng, SeedableRng};

    let scene =
        habitat_assets::load_scene(path).with_context(|| format!("loading {}", path.display()))?;
    let agent = AgentConfig::r2r();
    let pf = PathFinder::build(&scene, &agent, &NavParams::default())
        .with_context(|| format!("navigable surface of {}", path.display()))?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(b.seed);
    let poses: Vec<(usize, CameraPose)> = (0..256)
        .map(|_| {
            let p = pf
                .sample_navigable_point(&mut rng, None)
                .with_context(|| format!("{} has no navigable surface", path.display()))?;
            let heading = rng.random_range(-std::f32::consts::PI..std::f32::consts::PI);
            Ok((0, CameraPose::from_agent(p, heading, DEFAULT_SENSOR_HEIGHT)))
        })
        .collect::<anyhow::Result<_>>()?;
    let data = SceneRenderData::new(&scene);
    let set = SceneSet {
        label: path.display().to_string(),
        scenes: vec![data],
        poses,
    };
    let (w, h) = b.size;
    let config = RenderConfig::new(w, h, 90.0);
    let single = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .context("building a 1-thread pool")?;
    let one = single.install(|| measure(&set, config, b.batch, b.seconds))?;
    let all = measure(&set, config, b.batch, b.seconds)?;
    // The same frames with both sides of every triangle drawn (the renderer before back-face culling).
    let two_sided = RenderConfig {
        cull_back_faces: false,
        ..config
    };
    let no_cull = single.install(|| measure(&set, two_sided, b.batch, b.seconds))?;
    let rate = |m: &Measurement| m.frames as f64 / m.wall.as_secs_f64();
    let per_cpu = |m: &Measurement| m.cpu.map(|c| m.frames as f64 / c);
    let report = serde_json::json!({
        "scene": set.label,
        "triangles": set.scenes[0].triangle_count(),
        "width": w,
        "height": h,
        "threads": rayon::current_num_threads(),
        "frames_per_second": rate(&all),
        "frames_per_cpu_second": per_cpu(&all),
        "frames_per_second_one_thread": rate(&one),
        "frames_per_cpu_second_one_thread": per_cpu(&one),
        "frames_per_cpu_second_one_thread_without_culling": per_cpu(&no_cull),
        "frames": all.frames + one.frames + no_cull.frames,
    });
    if b.json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

struct Measurement {
    frames: usize,
    wall: Duration,
    cpu: Option<f64>,
}

/// Renders batches on the current rayon pool until `seconds` have passed (after one warm-up batch).
fn measure<'s>(
    set: &'s SceneSet,
    config: RenderConfig,
    batch: usize,
    seconds: f64,
) -> anyhow::Result<Measurement> {
    let mut renderers: Vec<Renderer> = (0..batch)
        .map(|_| Renderer::new(config))
        .collect::<Result<_, _>>()?;
    let mut next = 0usize;
    let mut jobs = Vec::with_capacity(batch);
    let mut fill = |jobs: &mut Vec<RenderJob<'s>>| {
        jobs.clear();
        for _ in 0..batch {
            let (scene, pose) = set.poses[next % set.poses.len()];
            jobs.push(RenderJob {
                scene: &set.scenes[scene],
                pose,
            });
            next += 1;
        }
    };
    fill(&mut jobs);
    render_batch(&mut renderers, &jobs)?;
    let cpu0 = process_cpu_seconds();
    let t = Instant::now();
    let mut frames = 0;
    while t.elapsed().as_secs_f64() < seconds {
        fill(&mut jobs);
        render_batch(&mut renderers, &jobs)?;
        frames += batch;
    }
    let wall = t.elapsed();
    let cpu = match (cpu0, process_cpu_seconds()) {
        (Some(a), Some(b)) if b > a => Some(b - a),
        _ => None,
    };
    Ok(Measurement { frames, wall, cpu })
}

/// User + system CPU time of this process (all threads) from /proc/self/stat, in seconds (Linux only;
/// USER_HZ is 100 on every Linux ABI).
pub fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15 (1-based).
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
