//! The shared-work paths give the numbers of the repeated work they replace: G completions from one prefill
//! and G prefills of the same prompt, cached frame features and re-encoded frames, jump-forward and one
//! decode step per forced token.

use std::path::PathBuf;

use agent::{
    generate_with, navigation_chat, GenerateOptions, Generation, GenerationConfig, ImageInput,
    Pipeline, Preset, Prompt,
};
use episodes::PromptConfig;
use tch::{Device, Kind, Tensor};

fn tiny(tag: &str) -> Pipeline {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("shared-work-tiny-{tag}-{}", std::process::id()));
    agent::init::init_checkpoint(Preset::Tiny, 11, &dir, None).unwrap();
    let p = Pipeline::load(&dir, Device::Cpu, Kind::Float).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    p
}

fn frame(k: u32) -> image::RgbImage {
    image::RgbImage::from_fn(56, 56, |x, y| {
        image::Rgb([
            (x * 4 + k * 30) as u8,
            (y * 3 + k * 7) as u8,
            ((x + y) * k) as u8,
        ])
    })
}

/// Two navigation prompts of different lengths (1 and 3 history frames).
fn prompts(p: &Pipeline) -> Vec<Prompt> {
    [1u32, 3]
        .iter()
        .map(|&h| {
            let chat = navigation_chat(
                &PromptConfig::R2R,
                "Walk past the couch and stop at the fridge.",
                (0..h).map(frame).collect(),
                frame(h + 5),
            )
            .unwrap();
            p.processor.process_chat(&chat, true).unwrap()
        })
        .collect()
}

fn assert_same(a: &[Generation], b: &[Generation], what: &str) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.token_ids, y.token_ids, "{what}: row {i} tokens");
        assert_eq!(x.finish_reason, y.finish_reason, "{what}: row {i}");
        for (k, (p, q)) in x.logprobs.iter().zip(&y.logprobs).enumerate() {
            assert!(p.is_finite(), "{what}: row {i} token {k} log-prob {p}");
            assert!(
                (p - q).abs() < 1e-4,
                "{what}: row {i} token {k}: {p} vs {q}"
            );
        }
    }
}

#[test]
fn g_completions_from_one_prefill_equal_g_prefills() {
    let p = tiny("groups");
    let prompts = prompts(&p);
    let cfg = GenerationConfig {
        max_new_tokens: 12,
        do_sample: true,
        temperature: 1.3,
        stop_token_ids: p.stop_token_ids.clone(),
        ..GenerationConfig::default()
    };
    let g = 4;
    let seeds = [17u64, 99];
    let batch = p.collate(&prompts).unwrap();
    let shared = generate_with(
        &p.model,
        &batch,
        &cfg,
        &GenerateOptions {
            completions_per_prompt: g,
            prompt_seeds: Some(&seeds),
            ..GenerateOptions::default()
        },
    )
    .unwrap();
    let mut repeated = Vec::new();
    for (prompt, &seed) in prompts.iter().zip(&seeds) {
        let batch = p.collate(&vec![prompt.clone(); g]).unwrap();
        let cfg = GenerationConfig {
            seed,
            ..cfg.clone()
        };
        repeated.extend(agent::generate(&p.model, &batch, &cfg).unwrap());
    }
    assert_same(&shared, &repeated, "one prefill vs G prefills");
    // Sampling actually spread the completions (otherwise the comparison says little).
    assert!(shared[..g]
        .iter()
        .any(|c| c.token_ids != shared[0].token_ids));
    // The pipeline's batched entry point (closed-loop RFT's) returns the same, grouped.
    let groups = p.generate_groups(&prompts, g, &cfg, &seeds).unwrap();
    let flat: Vec<Generation> = groups.into_iter().flatten().map(|t| t.generation).collect();
    assert_same(&flat, &repeated, "generate_groups");
}

#[test]
fn cached_frame_features_give_the_logits_of_re_encoded_frames() {
    let p = tiny("features");
    let prompts = prompts(&p);
    let _guard = tch::no_grad_guard();
    let with_pixels = p.collate(&prompts).unwrap();
    let reference = p
        .model
        .prefill(&with_pixels, &mut p.model.new_cache())
        .unwrap();
    // Each frame encoded on its own (as the policy caches them), then concatenated in batch order.
    let parts: Vec<Tensor> = prompts
        .iter()
        .flat_map(|pr| pr.images.iter())
        .map(|g| p.encode_images(&[g]).unwrap())
        .collect();
    let features = Tensor::cat(&parts, 0);
    let text_only = p.collate_for(&prompts, ImageInput::Features).unwrap();
    assert!(text_only.pixel_values.is_none());
    let reused = p
        .model
        .prefill_with(&text_only, &mut p.model.new_cache(), Some(&features))
        .unwrap();
    let diff = (&reference - &reused).abs().max().double_value(&[]);
    assert!(diff < 1e-4, "max logit difference {diff}");
    // Without pixels and without features the batch is refused, not decoded blind.
    assert!(p
        .model
        .prefill(&text_only, &mut p.model.new_cache())
        .is_err());
}

#[test]
fn jump_forward_keeps_tokens_and_logprobs() {
    let p = tiny("jump");
    let prompts = prompts(&p);
    let batch = p.collate(&prompts).unwrap();
    let c = p.answer_constraint(&PromptConfig::R2R).unwrap();
    let constraints = [&c, &c];
    for do_sample in [false, true] {
        let cfg = GenerationConfig {
            max_new_tokens: 80,
            do_sample,
            seed: 3,
            stop_token_ids: p.stop_token_ids.clone(),
            ..GenerationConfig::default()
        };
        // Sampling jumps forward with one stream per row (see GenerateOptions::jump_forward).
        let seeds = [3u64, 4];
        let prompt_seeds = do_sample.then_some(&seeds[..]);
        let run = |jump_forward| {
            generate_with(
                &p.model,
                &batch,
                &cfg,
                &GenerateOptions {
                    constraints: &constraints,
                    jump_forward,
                    prompt_seeds,
                    ..GenerateOptions::default()
                },
            )
            .unwrap()
        };
        let (stepwise, jumped) = (run(false), run(true));
        assert_same(
            &jumped,
            &stepwise,
            &format!("jump-forward, sampling {do_sample}"),
        );
        for g in &jumped {
            let text = p.processor.tokenizer.decode(&g.token_ids, true).unwrap();
            assert!(
                episodes::answer::parse_answer(&text, &PromptConfig::R2R.options(), 6).is_ok(),
                "{text:?}"
            );
        }
        // A cut by max_new_tokens inside a forced run ends there too.
        let short = GenerationConfig {
            max_new_tokens: 5,
            ..cfg.clone()
        };
        let cut = generate_with(
            &p.model,
            &batch,
            &short,
            &GenerateOptions {
                constraints: &constraints,
                prompt_seeds,
                ..GenerateOptions::default()
            },
        )
        .unwrap();
        for (g, full) in cut.iter().zip(&jumped) {
            assert_eq!(g.token_ids, full.token_ids[..5]);
        }
    }
}

#[test]
fn completions_scored_on_one_prompt_pass_equal_joined_sequences() {
    let p = tiny("score");
    let prompts = prompts(&p);
    let completions: Vec<Vec<i64>> = vec![vec![40, 41, 42], vec![50], vec![60, 61, 62, 63, 64]];
    let prompt_of = [0i64, 1, 1];
    // Repeated work: every completion joined to its prompt, the prompt run once per completion.
    let joined: Vec<Prompt> = prompt_of
        .iter()
        .map(|&k| prompts[k as usize].clone())
        .collect();
    let (batch, mask) = p.collate_with_completions(&joined, &completions).unwrap();
    let full = p.model.forward_logprobs(&batch, &mask, 0.7).unwrap();
    // Shared: each prompt once (its frames as features), completions right-padded after it.
    let l = 5;
    let mut tokens = vec![0i64; 3 * l];
    let mut m = vec![0f32; 3 * l];
    for (r, c) in completions.iter().enumerate() {
        tokens[r * l..r * l + c.len()].copy_from_slice(c);
        m[r * l..r * l + c.len()].iter_mut().for_each(|x| *x = 1.0);
    }
    let shape = [3i64, l as i64];
    let m = Tensor::from_slice(&m).view(shape);
    let features = p
        .encode_images(
            &prompts
                .iter()
                .flat_map(|pr| pr.images.iter())
                .collect::<Vec<_>>(),
        )
        .unwrap();
    let text_only = p.collate_for(&prompts, ImageInput::Features).unwrap();
    let shared = p
        .model
        .completion_logprobs(
            &text_only,
            Some(&features),
            &prompt_of,
            &Tensor::from_slice(&tokens).view(shape),
            &m,
            0.7,
        )
        .unwrap();
    let s = full.size()[1];
    for (r, c) in completions.iter().enumerate() {
        let n = c.len() as i64;
        let a: Vec<f32> = Vec::try_from(full.get(r as i64).narrow(0, s - n, n)).unwrap();
        let b: Vec<f32> = Vec::try_from(shared.get(r as i64).narrow(0, 0, n)).unwrap();
        for (x, y) in a.iter().zip(&b) {
            assert!(*x < 0.0 && (x - y).abs() < 1e-4, "row {r}: {a:?} vs {b:?}");
        }
    }
    // Gradients reach the weights through the shared prompt.
    shared.sum(Kind::Float).backward();
    let grads = p.model.vs.trainable_variables();
    assert!(grads
        .iter()
        .any(|v| v.grad().defined() && v.grad().abs().sum(Kind::Float).double_value(&[]) > 0.0));
}

/// Prompts whose text before the first frame differs in length (two instructions), with 1 and 3 history
/// frames: the cached prefixes are padded differently from the rest of the prompt.
fn prompts_with_two_instructions(p: &Pipeline) -> Vec<Prompt> {
    [
        (1u32, "Stop."),
        (3, "Walk past the couch, turn left and stop at the fridge."),
    ]
    .iter()
    .map(|&(h, instruction)| {
        let chat = navigation_chat(
            &PromptConfig::R2R,
            instruction,
            (0..h).map(frame).collect(),
            frame(h + 5),
        )
        .unwrap();
        p.processor.process_chat(&chat, true).unwrap()
    })
    .collect()
}

#[test]
fn a_cached_prompt_prefix_gives_the_numbers_of_a_full_prefill() {
    let p = tiny("prefix");
    let prompts = prompts_with_two_instructions(&p);
    let start = p.model.config.vision_start_token_id;
    let heads: Vec<Vec<i64>> = prompts
        .iter()
        .map(|pr| {
            let cut = pr.input_ids.iter().position(|&t| t == start).unwrap();
            pr.input_ids[..cut].to_vec()
        })
        .collect();
    assert_ne!(heads[0].len(), heads[1].len());
    let cached = p.model.prefix_kv(&heads).unwrap();
    let prefixes: Vec<&agent::PrefixKv> = cached.iter().collect();
    let batch = p.collate(&prompts).unwrap();
    {
        let _guard = tch::no_grad_guard();
        let full = p.model.prefill(&batch, &mut p.model.new_cache()).unwrap();
        let mut cache = p.model.new_cache();
        let reused = p
            .model
            .prefill_after_prefixes(&batch, &prefixes, &mut cache, None)
            .unwrap();
        let diff = (&full - &reused).abs().max().double_value(&[]);
        assert!(diff < 1e-4, "max logit difference {diff}");
    }
    // Decoding on top of it: constrained greedy, then sampled with two completions per prompt.
    let c = p.answer_constraint(&PromptConfig::R2R).unwrap();
    let constraints = [&c, &c];
    let seeds = [5u64, 6];
    for (do_sample, g) in [(false, 1), (true, 2)] {
        let cfg = GenerationConfig {
            max_new_tokens: 80,
            do_sample,
            temperature: 1.5,
            stop_token_ids: p.stop_token_ids.clone(),
            ..GenerationConfig::default()
        };
        let run = |prefixes| {
            generate_with(
                &p.model,
                &batch,
                &cfg,
                &GenerateOptions {
                    constraints: &constraints,
                    completions_per_prompt: g,
                    prompt_seeds: Some(&seeds),
                    jump_forward: g == 1,
                    prefixes,
                    ..GenerateOptions::default()
                },
            )
            .unwrap()
        };
        let (full, reused) = (run(None), run(Some(&prefixes[..])));
        assert_same(
            &reused,
            &full,
            &format!("prefix cache, sampling {do_sample}"),
        );
        assert!(full.iter().all(|g| g.token_ids.len() > 6));
    }
    // A prefix that the prompt does not start with is refused, naming the row.
    let swapped = [prefixes[1], prefixes[0]];
    let err = p
        .model
        .prefill_after_prefixes(&batch, &swapped, &mut p.model.new_cache(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("row 0"), "{err}");
}
