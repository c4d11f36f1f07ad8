//! SFT on a tiny randomly initialised model and a small synthetic sample store: the loss covers only answer
//! tokens, one optimizer step equals the hand-computed AdamW update of the hand-computed loss, a killed and
//! resumed run ends with the weights of an uninterrupted one, and checkpoints load in transformers with the
//! same logits.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use agent::{Pipeline, Preset};
use episodes::{Action, PromptConfig, Sample, SampleStore, SampleStoreWriter};
use image::{Rgb, RgbImage};
use sft::data::{answer_nll_sum, collate, encode_sample, epoch_batches, lengths};
use sft::{train, LrSchedulerType, SftConfig, SftRun, StepLog, TrainEvent};
use tch::{Device, Kind, Tensor};

/// A tiny checkpoint made once per test binary.
fn tiny_model() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("sft-tiny-model-{}", std::process::id()));
        agent::init::init_checkpoint(Preset::Tiny, 3, &dir, None).unwrap();
        dir
    })
}

/// `episodes` trajectories of `steps` steps with synthetic 56x56 frames and one history frame.
fn write_store(root: &Path, episodes: usize, steps: usize) {
    let mut w = SampleStoreWriter::with_shard_size(root, 5).unwrap();
    let actions = [
        Action::MoveForward,
        Action::TurnLeft,
        Action::MoveForward,
        Action::TurnRight,
        Action::MoveForward,
        Action::Stop,
    ];
    std::fs::create_dir_all(root.join("frames")).unwrap();
    for e in 0..episodes {
        let gt: Vec<Action> = actions[..steps - 1]
            .iter()
            .copied()
            .chain([Action::Stop])
            .collect();
        for i in 0..steps {
            let frame = format!("frames/ep{e}_step{i}.png");
            let img = RgbImage::from_fn(56, 56, |x, y| {
                Rgb([
                    (x * 4 + e as u32 * 40) as u8,
                    (y * 4 + i as u32 * 30) as u8,
                    ((x + y) * 2) as u8,
                ])
            });
            img.save(root.join(&frame)).unwrap();
            let history = if i == 0 {
                vec![]
            } else {
                vec![format!("frames/ep{e}_step{}.png", i - 1)]
            };
            let prompt = PromptConfig {
                num_actions: 3,
                ..PromptConfig::R2R
            };
            w.append(&Sample {
                episode_id: format!("{e}"),
                trajectory_id: None,
                scene_id: None,
                step: i as u32,
                instruction: format!("Walk past the sofa {e} and stop by the lamp."),
                history_frames: history,
                current_frame: frame,
                prompt,
                target: episodes::target_actions(&gt, i, 3),
                rl: None,
            })
            .unwrap();
        }
    }
    w.finish().unwrap();
}

fn base_config() -> SftConfig {
    SftConfig {
        learning_rate: 1e-3,
        lr_scheduler_type: LrSchedulerType::Constant,
        warmup_ratio: 0.0,
        per_device_train_batch_size: 2,
        gradient_accumulation_steps: 1,
        max_grad_norm: 0.0,
        device: "cpu".into(),
        val_fraction: 0.0,
        eval_samples: 4,
        save_steps: 0,
        ..SftConfig::default()
    }
}

fn weights(dir: &Path) -> Vec<(String, Tensor)> {
    let mut t = Tensor::read_safetensors(dir.join("model.safetensors")).unwrap();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

#[test]
fn only_answer_tokens_carry_the_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let store_dir = tmp.path().join("store");
    write_store(&store_dir, 1, 3);
    let store = SampleStore::open(&store_dir).unwrap();
    let pipe = Pipeline::load(tiny_model(), Device::Cpu, Kind::Float).unwrap();
    // Steps 0 (no history) and 2 (one history frame) have different lengths: padding is exercised.
    let samples: Vec<_> = [0u64, 2]
        .iter()
        .map(|&i| encode_sample(&store, i, &pipe.processor).unwrap())
        .collect();
    assert_ne!(samples[0].num_tokens(), samples[1].num_tokens());
    let im_end = pipe.processor.tokenizer.special.im_end;
    for s in &samples {
        assert_eq!(*s.completion.last().unwrap(), im_end);
        let text = pipe
            .processor
            .tokenizer
            .decode(&s.completion[..s.completion.len() - 1], false)
            .unwrap();
        assert_eq!(text, store.get(s.index).unwrap().answer().unwrap());
    }
    let batch = collate(
        &samples,
        &pipe.model.config,
        pipe.pad_token_id(),
        Device::Cpu,
    )
    .unwrap();
    let mask: Vec<Vec<f32>> = Vec::try_from(&batch.loss_mask).unwrap();
    let ids: Vec<Vec<i64>> = Vec::try_from(&batch.batch.input_ids).unwrap();
    for (row, s) in samples.iter().enumerate() {
        let on: Vec<i64> = ids[row]
            .iter()
            .zip(&mask[row])
            .filter(|(_, m)| **m == 1.0)
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(
            on, s.completion,
            "row {row}: the mask covers exactly the answer"
        );
        assert!(!on.contains(&pipe.model.config.image_token_id));
    }
    assert_eq!(
        batch.num_answer_tokens,
        samples.iter().map(|s| s.completion.len()).sum::<usize>()
    );

    // The loss equals cross-entropy over the answer positions of the full logits, and not over the rest.
    let loss = answer_nll_sum(&pipe, &batch).unwrap().double_value(&[]);
    let logits = tch::no_grad(|| pipe.model.forward(&batch.batch))
        .unwrap()
        .log_softmax(-1, Kind::Float);
    let s = batch.batch.seq_len();
    let (mut answer, mut all) = (0.0, 0.0);
    let attn: Vec<Vec<i64>> = Vec::try_from(&batch.batch.attention_mask).unwrap();
    for row in 0..samples.len() {
        for t in 1..s as usize {
            let lp = -logits
                .get(row as i64)
                .get(t as i64 - 1)
                .double_value(&[ids[row][t]]);
            if mask[row][t] == 1.0 {
                answer += lp;
            }
            if attn[row][t] == 1 && attn[row][t - 1] == 1 {
                all += lp;
            }
        }
    }
    assert!(
        (loss - answer).abs() < 1e-3 * answer.abs(),
        "{loss} vs {answer}"
    );
    assert!(all > answer * 2.0, "prompt tokens would change the loss");
}

#[test]
fn one_step_matches_the_hand_computed_loss_and_adamw_update() {
    let tmp = tempfile::tempdir().unwrap();
    let store_dir = tmp.path().join("store");
    write_store(&store_dir, 1, 2); // two samples: one batch of 2 is the whole epoch
    let cfg = SftConfig {
        max_steps: Some(1),
        ..base_config()
    };
    let lr = cfg.learning_rate;

    // By hand: the loss of the batch and its gradient, from a separately loaded copy of the model.
    let store = SampleStore::open(&store_dir).unwrap();
    let pipe = Pipeline::load(tiny_model(), Device::Cpu, Kind::Float).unwrap();
    let idx: Vec<u64> = (0..store.len()).collect();
    let lens = lengths(&store, &idx, &pipe.processor).unwrap();
    let order = epoch_batches(&idx, &lens, 2, cfg.seed, 0, cfg.group_by_length);
    assert_eq!(order.len(), 1);
    let samples: Vec<_> = order[0]
        .iter()
        .map(|&i| encode_sample(&store, i, &pipe.processor).unwrap())
        .collect();
    let batch = collate(
        &samples,
        &pipe.model.config,
        pipe.pad_token_id(),
        Device::Cpu,
    )
    .unwrap();
    let logits = pipe.model.forward(&batch.batch).unwrap();
    let s = batch.batch.seq_len();
    let logp = logits
        .narrow(1, 0, s - 1)
        .log_softmax(-1, Kind::Float)
        .gather(
            2,
            &batch.batch.input_ids.narrow(1, 1, s - 1).unsqueeze(-1),
            false,
        );
    let m = batch.loss_mask.narrow(1, 1, s - 1).unsqueeze(-1);
    let hand_loss = -(logp * &m).sum(Kind::Float) / m.sum(Kind::Float);
    hand_loss.backward();
    let before = pipe.model.vs.variables();

    let mut logged = None;
    let run = SftRun {
        data: store_dir.clone(),
        model: tiny_model().to_owned(),
        out: tmp.path().join("out"),
        config: cfg,
    };
    let summary = train(&run, &mut |e| {
        if let TrainEvent::Step(l) = e {
            logged = Some(StepLog::clone(l));
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    let logged = logged.unwrap();
    assert!(
        (logged.loss - hand_loss.double_value(&[])).abs() < 1e-5,
        "logged {} vs hand {}",
        logged.loss,
        hand_loss.double_value(&[])
    );
    assert_eq!(logged.learning_rate, lr);

    // First AdamW step: m̂ = g, v̂ = g², so p' = p - lr g / (|g| + eps) (no weight decay).
    let after = weights(&summary.final_dir.unwrap());
    let mut checked = 0;
    for (name, new) in &after {
        let p = &before[name];
        let g = p.grad();
        let want = if g.defined() {
            p.detach() - (&g / (g.abs() + 1e-8)) * lr
        } else {
            p.detach()
        };
        let d = (new - &want).abs().max().double_value(&[]);
        assert!(d < 1e-6, "{name}: max |Δ| = {d}");
        checked += 1;
    }
    assert_eq!(checked, before.len());
}

#[test]
fn a_killed_run_resumes_to_the_same_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let store_dir = tmp.path().join("store");
    write_store(&store_dir, 3, 4); // 12 samples
    let cfg = SftConfig {
        max_steps: Some(4),
        per_device_train_batch_size: 2,
        gradient_accumulation_steps: 2,
        save_steps: 2,
        save_total_limit: 1,
        lr_scheduler_type: LrSchedulerType::Cosine,
        warmup_ratio: 0.25,
        max_grad_norm: 1.0,
        weight_decay: 0.01,
        ..base_config()
    };
    let run = |out: &str| SftRun {
        data: store_dir.clone(),
        model: tiny_model().to_owned(),
        out: tmp.path().join(out),
        config: cfg.clone(),
    };
    let whole = train(&run("whole"), &mut |_| ControlFlow::Continue(())).unwrap();
    assert_eq!(whole.steps_done, 4);

    // "Kill" right after the step-2 checkpoint: the run stops with what is on disk.
    let cut = run("cut");
    let stopped = train(&cut, &mut |e| match e {
        TrainEvent::Checkpoint { step: 2, .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .unwrap();
    assert_eq!(stopped.steps_done, 2);
    assert!(stopped.final_dir.is_none());
    let mut start = None;
    let resumed = train(&cut, &mut |e| {
        if let TrainEvent::Started(i) = e {
            start = Some(i.start_step);
        }
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(start, Some(2), "the second start resumes from checkpoint-2");

    let a = weights(&whole.final_dir.unwrap());
    let b = weights(&resumed.final_dir.unwrap());
    assert_eq!(a.len(), b.len());
    for ((na, ta), (nb, tb)) in a.iter().zip(&b) {
        assert_eq!(na, nb);
        let d = (ta - tb).abs().max().double_value(&[]);
        assert!(d == 0.0, "{na}: resumed run differs by {d}");
    }
    // The untrained model differs: the comparison above is not vacuous.
    let init = weights(tiny_model());
    assert!(init
        .iter()
        .zip(&a)
        .any(|((_, x), (_, y))| (x - y).abs().max().double_value(&[]) > 0.0));
    // Keep-last-1: only the final checkpoint remains; the metrics log has each step once.
    let names: Vec<String> = std::fs::read_dir(tmp.path().join("cut"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("checkpoint-"))
        .collect();
    assert_eq!(names, ["checkpoint-4"]);
    let metrics = std::fs::read_to_string(tmp.path().join("cut/metrics.jsonl")).unwrap();
    let steps: Vec<u64> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["kind"] == "train")
        .map(|v| v["step"].as_u64().unwrap())
        .collect();
    assert_eq!(steps, [1, 2, 3, 4]);

    // A resume with a different training setting is refused, naming the setting.
    let mut changed = run("cut");
    changed.config.learning_rate = 2e-3;
    std::fs::remove_dir_all(tmp.path().join("cut/final")).unwrap();
    let err = train(&changed, &mut |_| ControlFlow::Continue(()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("learning_rate"), "{err}");
}

#[test]
fn checkpoints_load_in_transformers_with_the_same_logits() {
    let tmp = tempfile::tempdir().unwrap();
    let store_dir = tmp.path().join("store");
    write_store(&store_dir, 1, 3);
    let cfg = SftConfig {
        max_steps: Some(2),
        save_steps: 1,
        ..base_config()
    };
    let run = SftRun {
        data: store_dir.clone(),
        model: tiny_model().to_owned(),
        out: tmp.path().join("out"),
        config: cfg,
    };
    train(&run, &mut |_| ControlFlow::Continue(())).unwrap();
    let ckpt = tmp.path().join("out/checkpoint-2");
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "preprocessor_config.json",
        "trainer_state.json",
        "optimizer.safetensors",
    ] {
        assert!(ckpt.join(f).is_file(), "{f} missing");
    }
    // The chat of a store sample, written as a messages file both sides read.
    let sample = SampleStore::open(&store_dir).unwrap().get(2).unwrap();
    let prompt = sample.build_prompt().unwrap();
    let mut content = Vec::new();
    let mut frames = sample.frames();
    let pieces: Vec<&str> = prompt.text.split("<image>").collect();
    for (k, piece) in pieces.iter().enumerate() {
        if !piece.is_empty() {
            content.push(serde_json::json!({"type": "text", "text": piece}));
        }
        if k + 1 < pieces.len() {
            let f = store_dir.join(frames.next().unwrap());
            content.push(serde_json::json!({"type": "image", "image": f.to_str().unwrap()}));
        }
    }
    let chat = tmp.path().join("chat.json");
    std::fs::write(
        &chat,
        serde_json::to_string(&serde_json::json!([{"role": "user", "content": content}])).unwrap(),
    )
    .unwrap();
    let reference = tmp.path().join("reference.safetensors");
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/tests/parity/check_checkpoint.py");
    let python = std::env::var("VLN_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python"));
    let out = Command::new(&python)
        .arg(&script)
        .arg(&ckpt)
        .arg(&chat)
        .arg(&reference)
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("running python (scripts/bootstrap.sh makes the venv)");
    assert!(
        out.status.success(),
        "transformers could not load {}:\n{}",
        ckpt.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let want: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(&reference)
        .unwrap()
        .into_iter()
        .collect();
    let pipe = Pipeline::load(&ckpt, Device::Cpu, Kind::Float).unwrap();
    let messages = agent::load_messages(&chat).unwrap();
    let (p, logits) = pipe.chat_logits(&messages, true).unwrap();
    let ids: Vec<i64> = Vec::try_from(&want["input_ids"]).unwrap();
    assert_eq!(p.input_ids, ids);
    let d = (logits - &want["logits"]).abs().max().double_value(&[]);
    assert!(d <= 1e-4, "max |Δlogit| = {d}");
    // And the trained weights are not the initial ones (the check above is on a trained checkpoint).
    let init = weights(tiny_model());
    let now = weights(&ckpt);
    assert!(init
        .iter()
        .zip(&now)
        .any(|((_, x), (_, y))| (x - y).abs().max().double_value(&[]) > 1e-6));
}
