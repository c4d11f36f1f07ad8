//! Parity with transformers' Qwen2-VL (the acceptance bar): identical input ids and pixel values, logits within
//! 1e-4 in f32, identical greedy continuations (single and left-padded batches), on checkpoints written by
//! transformers in several shapes and file layouts. References come from tests/parity/make_reference.py, run
//! once per version of that script (cached under the cargo target dir).

mod common;

use std::path::Path;

use agent::chat::load_messages;
use agent::{Batch, GenerationConfig, Message, Part, Pipeline};
use serde_json::Value;
use tch::{Device, Kind, Tensor};

use common::{max_abs_diff, read_tensors, reference_dir};

fn manifest() -> (std::path::PathBuf, Value) {
    let dir = reference_dir();
    let m: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    (dir.to_path_buf(), m)
}

fn ids(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

fn load(dir: &Path) -> Pipeline {
    Pipeline::load(dir, Device::Cpu, Kind::Float)
        .unwrap_or_else(|e| panic!("loading {}: {e}", dir.display()))
}

fn greedy(max_new_tokens: usize, stop: i64) -> GenerationConfig {
    GenerationConfig {
        max_new_tokens,
        stop_token_ids: vec![stop],
        ..Default::default()
    }
}

#[test]
fn chats_match_transformers() {
    let (root, m) = manifest();
    for (model_name, spec) in m["models"].as_object().unwrap() {
        let pipe = load(&root.join(spec["dir"].as_str().unwrap()));
        let im_end = spec["im_end"].as_i64().unwrap();
        for (chat_name, want) in m["chats"][model_name].as_object().unwrap() {
            let case = format!("{model_name}/{chat_name}");
            let chat = load_messages(&root.join(format!("{chat_name}.json"))).unwrap();
            let reference = read_tensors(&root.join(want["tensors"].as_str().unwrap()));

            let prompt = pipe.processor.process_chat(&chat, true).unwrap();
            assert_eq!(
                prompt.input_ids,
                ids(&want["input_ids"]),
                "{case}: input ids"
            );
            let grids: Vec<Vec<i64>> = prompt.images.iter().map(|g| g.grid_thw.to_vec()).collect();
            let want_grids: Vec<Vec<i64>> = want["image_grid_thw"]
                .as_array()
                .unwrap()
                .iter()
                .map(ids)
                .collect();
            assert_eq!(grids, want_grids, "{case}: image_grid_thw");
            if let Some(want_pixels) = reference.get("pixel_values") {
                let rows: Vec<f32> = prompt
                    .images
                    .iter()
                    .flat_map(|g| g.rows.iter().copied())
                    .collect();
                let pixels = Tensor::from_slice(&rows).view([-1, 1176]);
                let d = max_abs_diff(&pixels, want_pixels);
                println!("{case}: max |Δpixel| = {d:.2e}");
                // Same integer resize and the same float operations: exact up to f32 rounding.
                assert!(d <= 1e-6, "{case}: pixel_values differ by {d}");
            }

            let (_, logits) = pipe.chat_logits(&chat, true).unwrap();
            let d = max_abs_diff(&logits, &reference["logits"]);
            println!(
                "{case}: {} tokens, max |Δlogit| = {d:.2e}",
                prompt.input_ids.len()
            );
            assert!(d <= 1e-4, "{case}: max |Δlogit| = {d}");

            let out = pipe.generate(&[chat], &greedy(8, im_end)).unwrap();
            assert_eq!(
                out[0].generation.token_ids,
                ids(&want["greedy"]),
                "{case}: greedy continuation"
            );
        }
    }
}

#[test]
fn left_padded_batches_generate_like_transformers() {
    let (root, m) = manifest();
    for (model_name, spec) in m["models"].as_object().unwrap() {
        let pipe = load(&root.join(spec["dir"].as_str().unwrap()));
        let want = &m["batch"][model_name];
        let chats: Vec<Vec<Message>> = want["chats"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| load_messages(&root.join(format!("{}.json", c.as_str().unwrap()))).unwrap())
            .collect();
        let out = pipe
            .generate(&chats, &greedy(6, spec["im_end"].as_i64().unwrap()))
            .unwrap();
        for (row, (got, want)) in out
            .iter()
            .zip(want["greedy"].as_array().unwrap())
            .enumerate()
        {
            // transformers pads finished rows with the pad token; compare up to and including the stop token.
            let want = ids(want);
            assert_eq!(
                got.generation.token_ids,
                want[..got.generation.token_ids.len()],
                "{model_name} batch row {row}"
            );
            assert_eq!(
                got.generation.token_ids.len(),
                got.generation.logprobs.len()
            );
        }
    }
}

#[test]
fn video_frames_match_transformers() {
    let (root, m) = manifest();
    for (model_name, spec) in m["models"].as_object().unwrap() {
        let pipe = load(&root.join(spec["dir"].as_str().unwrap()));
        let want = &m["video"][model_name];
        let frames: Vec<_> = want["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| agent::image_processor::load_rgb(&root.join(f.as_str().unwrap())).unwrap())
            .collect();
        let chat = vec![Message::new(
            "user",
            vec![
                Part::Text("Where am I?".into()),
                Part::Video(frames),
                Part::Text("Go.".into()),
            ],
        )];
        let prompt = pipe.processor.process_chat(&chat, true).unwrap();
        assert_eq!(
            prompt.input_ids,
            ids(&want["input_ids"]),
            "{model_name}: video input ids"
        );
        let reference = read_tensors(&root.join(want["tensors"].as_str().unwrap()));
        let pixels = Tensor::from_slice(&prompt.videos[0].rows).view([-1, 1176]);
        assert!(
            max_abs_diff(&pixels, &reference["pixel_values_videos"]) <= 1e-6,
            "{model_name}: video pixels"
        );
        let batch = pipe.collate(&[prompt]).unwrap();
        let logits = tch::no_grad(|| pipe.model.forward(&batch)).unwrap().get(0);
        let d = max_abs_diff(&logits, &reference["logits"]);
        assert!(d <= 1e-4, "{model_name}: video max |Δlogit| = {d}");
    }
}

/// The KV-cached decode path gives the same next-token logits as a full forward over the longer sequence, and
/// the training log-probs equal log_softmax of the full-forward logits.
#[test]
fn cached_decoding_and_training_logprobs_agree_with_full_forward() {
    let (root, m) = manifest();
    let spec = &m["models"]["gqa_untied_sharded"];
    let pipe = load(&root.join(spec["dir"].as_str().unwrap()));
    let chats: Vec<Vec<Message>> = ["one_image", "text_only"]
        .iter()
        .map(|c| load_messages(&root.join(format!("{c}.json"))).unwrap())
        .collect();
    let prompts = pipe.prompts(&chats).unwrap();
    let out = pipe
        .generate_batch(
            &pipe.collate(&prompts).unwrap(),
            &GenerationConfig {
                max_new_tokens: 5,
                stop_token_ids: vec![-1],
                ..Default::default()
            },
        )
        .unwrap();
    let completions: Vec<Vec<i64>> = out.iter().map(|g| g.generation.token_ids.clone()).collect();
    let (batch, mask): (Batch, Tensor) = pipe
        .collate_with_completions(&prompts, &completions)
        .unwrap();
    let lp = pipe.model.forward_logprobs(&batch, &mask, 1.0).unwrap();
    let logits = tch::no_grad(|| pipe.model.forward(&batch))
        .unwrap()
        .to_kind(Kind::Float)
        .log_softmax(-1, Kind::Float);
    let s = batch.seq_len();
    for (row, g) in out.iter().enumerate() {
        let n = g.generation.token_ids.len() as i64;
        for (j, (&tok, &gen_lp)) in g
            .generation
            .token_ids
            .iter()
            .zip(&g.generation.logprobs)
            .enumerate()
        {
            let pos = s - n + j as i64;
            let full = logits.double_value(&[row as i64, pos - 1, tok]);
            let train = lp.double_value(&[row as i64, pos]);
            assert!(
                (full - train).abs() < 1e-4,
                "row {row} token {j}: forward {full} vs forward_logprobs {train}"
            );
            assert!(
                (full - gen_lp as f64).abs() < 1e-4,
                "row {row} token {j}: forward {full} vs generate {gen_lp}"
            );
        }
        // Prompt positions are not scored.
        assert_eq!(lp.double_value(&[row as i64, s - n - 1]), 0.0);
    }
    // Gradients reach the parameters through the training path.
    lp.sum(Kind::Float).backward();
    let grads = pipe
        .model
        .vs
        .trainable_variables()
        .iter()
        .filter(|v| v.grad().defined() && v.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0)
        .count();
    assert!(grads > 10, "only {grads} parameters got a gradient");
}

/// A completion is text whatever tokens it holds: a sampled `<|vision_start|><|image_pad|>` (an untrained policy
/// samples any token) is scored by the training forward exactly as the decode loop produced it (plain
/// embeddings, text positions), instead of being taken for an image that has no pixels.
#[test]
fn completions_with_vision_tokens_score_as_decoded() {
    let (root, m) = manifest();
    let spec = &m["models"]["gqa_untied_sharded"];
    let pipe = load(&root.join(spec["dir"].as_str().unwrap()));
    let chat = load_messages(&root.join("one_image.json")).unwrap();
    let prompts = pipe.prompts(&[chat]).unwrap();
    let cfg = &pipe.model.config;
    let text_token = prompts[0].input_ids[1];
    let completion = vec![
        cfg.vision_start_token_id,
        cfg.image_token_id,
        cfg.image_token_id,
        cfg.video_token_id,
        text_token,
    ];

    // Decode-loop log-probs of the forced completion.
    let batch = pipe.collate(&prompts).unwrap();
    let mut cache = pipe.model.new_cache();
    let mut decoded = Vec::new();
    tch::no_grad(|| {
        let mut logits = pipe.model.prefill(&batch, &mut cache).unwrap();
        for (j, &tok) in completion.iter().enumerate() {
            let lp = logits.to_kind(Kind::Float).log_softmax(-1, Kind::Float);
            decoded.push(lp.double_value(&[0, tok]));
            let position = cache.len() + batch.rope_deltas[0];
            assert_eq!(cache.len(), batch.seq_len() + j as i64);
            logits = pipe.model.decode_step(
                &Tensor::from_slice(&[tok]),
                &Tensor::from_slice(&[position]),
                &mut cache,
            );
        }
    });

    let (batch, mask) = pipe
        .collate_with_completions(&prompts, std::slice::from_ref(&completion))
        .unwrap();
    let lp = pipe.model.forward_logprobs(&batch, &mask, 1.0).unwrap();
    let s = batch.seq_len();
    let n = completion.len() as i64;
    for (j, want) in decoded.iter().enumerate() {
        let got = lp.double_value(&[0, s - n + j as i64]);
        assert!(
            (got - want).abs() < 1e-4,
            "completion token {j}: training forward {got} vs decode {want}"
        );
    }
}
