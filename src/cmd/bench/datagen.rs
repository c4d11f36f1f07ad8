//! `vln-r1 bench datagen`: VLN-Ego generation speed (samples/s, frames/s) on a split, against the cost of
//! rendering the same frames alone (same episodes, same envs, same threads, nothing encoded or written), so
//! the overhead of JPEG encoding, files and the store shows as a ratio.

use std::time::Instant;

use anyhow::Context;
use env::datagen::{generate, DatagenInput, DEFAULT_SHARD_SAMPLES};
use env::task::{Env, ResetOptions, VlnEnv, VlnEnvConfig};
use rayon::prelude::*;

use super::environment::process_cpu_seconds;
use crate::cmd::datagen::DatagenOptions;

pub fn run(args: DatagenOptions) -> anyhow::Result<()> {
    let config = args.config();
    let (input, selection) = args.input()?;
    let threads = rayon::current_num_threads();
    println!(
        "bench datagen: {} {} ({} episodes), {}x{} HFOV {}, memory {}, {threads} rayon threads",
        input.dataset_dir,
        input.split,
        selection.len(),
        config.width,
        config.height,
        config.hfov_deg,
        config.memory,
    );

    // Scenes (mesh, navmesh, render data) load once, outside both timings.
    let t = Instant::now();
    let mut scene_ids: Vec<&str> = selection
        .iter()
        .filter_map(|&i| input.dataset.episode(i))
        .map(|e| e.scene_id.as_str())
        .collect();
    scene_ids.sort_unstable();
    scene_ids.dedup();
    scene_ids
        .par_iter()
        .try_for_each(|id| -> anyhow::Result<()> {
            input.library.get(id)?.render_data();
            Ok(())
        })?;
    println!(
        "scenes: {} loaded in {:.1} s (not timed below)",
        scene_ids.len(),
        t.elapsed().as_secs_f64()
    );

    let cpu0 = process_cpu_seconds();
    let (render_frames, render_s) = render_only(&input, &selection, &config.env_config())?;
    let render_cpu = cpu_since(cpu0);
    println!(
        "render only (reset + gt steps, RGB, no encode/write): {render_frames} frames in {render_s:.2} s = {:.0} frames/s{}",
        render_frames as f64 / render_s,
        per_cpu(render_frames as f64, render_cpu, "frames")
    );

    let dir = tempfile::tempdir().context("creating a temp output dir")?;
    let cpu0 = process_cpu_seconds();
    let t = Instant::now();
    let stats = generate(
        &input,
        &selection,
        dir.path(),
        &config,
        DEFAULT_SHARD_SAMPLES,
        &|_| {},
    )?;
    let gen_s = t.elapsed().as_secs_f64();
    let gen_cpu = cpu_since(cpu0);
    let frames = stats.frames as f64;
    println!(
        "datagen (render + JPEG + store + sharegpt + stats): {} samples, {} frames, {} skipped in {gen_s:.2} s \
         = {:.0} samples/s, {:.0} frames/s{}",
        stats.samples,
        stats.frames,
        stats.skipped,
        stats.samples as f64 / gen_s,
        frames / gen_s,
        per_cpu(stats.samples as f64, gen_cpu, "samples")
    );
    if config.perturb.runs > 0 {
        // The render-only pass replays the gt only, so per frame is the comparable unit here.
        println!(
            "datagen with {} perturbed runs per episode: {:.0} frames/s against {:.0} render-only frames/s \
             ({:.2}x the render-only cost per frame)",
            config.perturb.runs,
            frames / gen_s,
            render_frames as f64 / render_s,
            (gen_s / frames) / (render_s / render_frames as f64).max(1e-12)
        );
    } else {
        print!(
            "datagen time / render-only time: {:.2}x wall",
            gen_s / render_s.max(1e-9)
        );
        match (gen_cpu, render_cpu) {
            (Some(g), Some(r)) if r > 0.0 => println!(", {:.2}x CPU", g / r),
            _ => println!(),
        }
    }
    println!(
        "(wall times depend on what else runs on the machine; CPU seconds are this process's own)"
    );
    Ok(())
}

fn cpu_since(start: Option<f64>) -> Option<f64> {
    Some(process_cpu_seconds()? - start?)
}

fn per_cpu(count: f64, cpu: Option<f64>, what: &str) -> String {
    match cpu {
        Some(c) if c > 0.0 => format!(" ({:.0} {what}/cpu-s, {c:.1} cpu-s)", count / c),
        _ => String::new(),
    }
}

/// Replays every selected episode's gt actions with RGB rendering and drops the frames. Returns the frames
/// rendered (one per reset and per step, as datagen's environment renders) and the seconds taken.
fn render_only(
    input: &DatagenInput,
    selection: &[usize],
    config: &VlnEnvConfig,
) -> anyhow::Result<(u64, f64)> {
    let t = Instant::now();
    let frames: u64 = selection
        .par_iter()
        .map_init(
            || VlnEnv::new(input.library.clone(), input.dataset.clone(), *config),
            |env, &index| -> anyhow::Result<u64> {
                let env = env.as_mut().map_err(|e| anyhow::anyhow!("{e}"))?;
                // Episodes the simulator cannot load are skipped here as datagen skips them.
                let Ok((obs, _)) = env.reset(None, &ResetOptions::Index(index)) else {
                    return Ok(0);
                };
                let Some(actions) = input.actions.get(&obs.episode_id) else {
                    return Ok(0);
                };
                let mut n = 1u64;
                for &a in actions {
                    let step = env.step(a)?;
                    n += 1;
                    if step.done() {
                        break;
                    }
                }
                Ok(n)
            },
        )
        .try_reduce(|| 0, |a, b| Ok(a + b))?;
    Ok((frames, t.elapsed().as_secs_f64()))
}
