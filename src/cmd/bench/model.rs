//! `vln-r1 bench model`: Qwen2-VL prefill and decode throughput and peak memory on CPU, vln-r1 against
//! transformers on the same randomly initialised checkpoint, chat (a VLN-R1 prompt with history frames) and batch.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use agent::{GenerationConfig, Message, Pipeline, Preset};
use anyhow::{bail, Context};
use episodes::{Prompt, PromptConfig};
use tch::{Device, Kind};

const TRANSFORMERS_SCRIPT: &str = include_str!("../../../agent/scripts/bench_transformers.py");

pub struct ModelBench {
    pub preset: Preset,
    pub batch: usize,
    pub history: usize,
    pub new_tokens: usize,
    pub repeats: usize,
}

/// A 224×224 frame with a per-index pattern (content does not matter for timing, only its size).
fn frame(i: u32) -> image::RgbImage {
    image::RgbImage::from_fn(224, 224, |x, y| {
        image::Rgb([
            (x * 3 + i * 40) as u8,
            (y * 5) as u8,
            ((x + y + i * 17) % 256) as u8,
        ])
    })
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn best_secs(repeats: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(best)
}

pub fn run(b: ModelBench, python: &Path) -> anyhow::Result<()> {
    if b.new_tokens < 2 {
        bail!("--new-tokens must be at least 2 (decode throughput needs tokens after the first)");
    }
    let dir = tempfile::tempdir().context("creating a temp dir")?;
    let ckpt = dir.path().join("ckpt");
    let cfg = agent::init::init_checkpoint(b.preset, 0, &ckpt, Some(Kind::Float))?;

    let instruction =
        "Walk past the couch, turn left into the kitchen and stop next to the fridge.";
    let prompt = Prompt::build(&PromptConfig::R2R, instruction, b.history)?;
    let images: Vec<image::RgbImage> = (0..prompt.num_images as u32).map(frame).collect();
    let mut content = Vec::new();
    for (i, piece) in prompt
        .text
        .split(episodes::prompt::IMAGE_PLACEHOLDER)
        .enumerate()
    {
        if i > 0 {
            let name = format!("frame{}.png", i - 1);
            images[i - 1]
                .save(dir.path().join(&name))
                .context("writing a frame")?;
            content.push(serde_json::json!({"type": "image", "image": name}));
        }
        if !piece.is_empty() {
            content.push(serde_json::json!({"type": "text", "text": piece}));
        }
    }
    let messages_path = dir.path().join("messages.json");
    std::fs::write(
        &messages_path,
        serde_json::to_string(&serde_json::json!([{"role": "user", "content": content}]))?,
    )?;

    let pipe = Pipeline::load(&ckpt, Device::Cpu, Kind::Float)?;
    let chat = vec![Message::with_image_placeholders(
        "user",
        &prompt.text,
        episodes::prompt::IMAGE_PLACEHOLDER,
        images,
    )?];
    let prompts = pipe.prompts(&vec![chat; b.batch])?;
    let batch = pipe.collate(&prompts)?;
    let seq = batch.seq_len() as usize;
    let gen = GenerationConfig {
        max_new_tokens: b.new_tokens,
        stop_token_ids: vec![-1],
        ..Default::default()
    };
    let _guard = tch::no_grad_guard();
    let _ = pipe.model.prefill(&batch, &mut pipe.model.new_cache())?; // warm-up
    let prefill = best_secs(b.repeats, || {
        Ok(pipe
            .model
            .prefill(&batch, &mut pipe.model.new_cache())
            .map(drop)?)
    })?;
    let total = best_secs(b.repeats, || {
        Ok(pipe.generate_batch(&batch, &gen).map(drop)?)
    })?;
    let decode = (total - prefill).max(1e-9);
    let ours = [
        b.batch as f64 * seq as f64 / prefill,
        b.batch as f64 * (b.new_tokens - 1) as f64 / decode,
    ];
    println!(
        "model: preset {:?} ({:.1} M parameters), batch {} × {seq} prompt tokens ({} images of 224x224), {} new tokens, \
         {} torch threads, best of {}",
        b.preset,
        pipe.model.num_parameters() as f64 / 1e6,
        b.batch,
        prompt.num_images,
        b.new_tokens,
        tch::get_num_threads(),
        b.repeats
    );
    let _ = cfg;
    println!(
        "vln-r1:       prefill {prefill:.4} s ({:.0} tok/s), generate {total:.4} s, decode {:.1} tok/s, peak RSS {:.0} MB",
        ours[0],
        ours[1],
        peak_rss_mb().unwrap_or(f64::NAN)
    );
    let out = Command::new(python)
        .arg("-c")
        .arg(TRANSFORMERS_SCRIPT)
        .arg(&ckpt)
        .arg(&messages_path)
        .arg(b.batch.to_string())
        .arg(b.new_tokens.to_string())
        .arg(b.repeats.to_string())
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    if !out.status.success() {
        println!(
            "transformers comparison skipped: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return Ok(());
    }
    let line = String::from_utf8_lossy(&out.stdout);
    let py: serde_json::Value = serde_json::from_str(line.lines().last().unwrap_or_default())
        .with_context(|| format!("unexpected output from the transformers script: {line}"))?;
    let f = |k: &str| py[k].as_f64().unwrap_or(f64::NAN);
    if py["seq_len"].as_u64() != Some(seq as u64) {
        println!(
            "warning: transformers built {} prompt tokens, vln-r1 {seq}",
            py["seq_len"]
        );
    }
    println!(
        "transformers: prefill {:.4} s ({:.0} tok/s), generate {:.4} s, decode {:.1} tok/s, peak RSS {:.0} MB ({} threads)",
        f("prefill_s"),
        f("prefill_tok_s"),
        f("generate_s"),
        f("decode_tok_s"),
        f("peak_rss_mb"),
        py["threads"]
    );
    println!(
        "ratio vln-r1 / transformers: prefill {:.2}x, decode {:.2}x",
        ours[0] / f("prefill_tok_s"),
        ours[1] / f("decode_tok_s")
    );
    Ok(())
}
