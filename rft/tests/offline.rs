//! Offline GRPO end to end on a tiny random checkpoint and a small store written here: rollouts land in the
//! run's sample store with consistent scores, and a resumed run ends with the weights of an uninterrupted one.

use std::path::Path;

use agent::init::init_checkpoint;
use agent::Preset;
use episodes::store::{SampleStore, SampleStoreWriter};
use episodes::{Action, PromptConfig, Sample};
use rft::offline::{LOG_FILE, ROLLOUTS_DIR};
use rft::{group_advantages, run_offline, LossType, OfflineRun, RftConfig};
use tch::{Device, Kind, Tensor};

fn write_store(root: &Path) {
    std::fs::create_dir_all(root.join("frames")).unwrap();
    for k in 0..4u8 {
        let img = image::RgbImage::from_fn(56, 56, |x, y| {
            image::Rgb([(x as u8).wrapping_mul(4 + k), (y as u8) * 3, 40 * k])
        });
        img.save(root.join(format!("frames/f{k}.png"))).unwrap();
    }
    let mut w = SampleStoreWriter::open(root).unwrap();
    let prompt = PromptConfig {
        num_actions: 3,
        ..PromptConfig::R2R
    };
    use Action::*;
    let targets = [
        [MoveForward, MoveForward, TurnLeft],
        [TurnRight, MoveForward, Stop],
        [Stop, Stop, Stop],
    ];
    for (i, target) in targets.iter().enumerate() {
        w.append(&Sample {
            episode_id: format!("ep{i}"),
            trajectory_id: None,
            scene_id: None,
            step: i as u32,
            instruction: "Walk past the couch into the kitchen. Stop there.".into(),
            history_frames: (0..i).map(|k| format!("frames/f{k}.png")).collect(),
            current_frame: format!("frames/f{}.png", i + 1),
            prompt,
            target: target.to_vec(),
            rl: None,
        })
        .unwrap();
    }
    w.finish().unwrap();
}

fn config(max_steps: usize) -> RftConfig {
    RftConfig {
        num_generations: 3,
        prompts_per_step: 2,
        micro_batch_size: 4,
        num_iterations: 2,
        max_completion_length: 6,
        learning_rate: 1e-3,
        loss_type: LossType::Dapo,
        max_steps,
        save_steps: 1,
        save_total_limit: 3,
        seed: 7,
        ..RftConfig::default()
    }
}

fn weights(dir: &Path) -> Vec<(String, Tensor)> {
    let m = agent::Qwen2VL::load(dir, Device::Cpu, Kind::Float).unwrap();
    let mut v: Vec<_> = m.vs.variables().into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn offline_run_writes_scored_rollouts_and_resumes_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("store");
    write_store(&data);
    let model = tmp.path().join("tiny");
    init_checkpoint(Preset::Tiny, 3, &model, None).unwrap();
    let run = |out: &str, steps| OfflineRun {
        data: data.clone(),
        model: model.clone(),
        out: tmp.path().join(out),
        config: config(steps),
        device: Device::Cpu,
        kind: Kind::Float,
    };

    let full = run_offline(&run("full", 3), |_| {}).unwrap();
    assert_eq!(full.len(), 3);
    for log in &full {
        assert!(log.rewards.contains_key("tdr") && log.rewards.contains_key("format"));
        assert!((0.0..=1.0).contains(&log.frac_reward_zero_std));
        assert!(log.completion_length > 0.0 && log.completion_length <= 6.0);
        assert!(log.kl >= 0.0 && log.loss.is_finite());
    }
    // The first optimizer step of a round starts at ρ = 1 against a reference equal to the policy, but μ = 2
    // and lr 1e-3 move the weights: the second round's KL is positive.
    assert!(full[1].kl > 0.0, "{:?}", full[1]);

    // Rollouts: 3 rounds of 2, 1 (the short end of the 3-sample epoch) and 2 prompts, G completions each,
    // advantages normalised from the stored rewards.
    let store = SampleStore::open(&tmp.path().join("full").join(ROLLOUTS_DIR)).unwrap();
    assert_eq!(store.len(), 5);
    for s in store.iter() {
        let s = s.unwrap();
        let rl = s.rl.as_ref().unwrap();
        assert_eq!(rl.completions.len(), 3);
        let rewards: Vec<f32> = rl.completions.iter().map(|c| c.reward()).collect();
        let want = group_advantages(&rewards, 3);
        for (c, a) in rl.completions.iter().zip(want) {
            assert_eq!(c.advantage, Some(a));
            assert_eq!(c.token_ids.len(), c.logprobs.len());
            assert!(!c.token_ids.is_empty());
            assert_eq!(c.rewards.len(), 2);
        }
        for f in s.frames() {
            assert!(store.frame_path(f).is_file(), "{f}");
        }
    }
    let log_lines = std::fs::read_to_string(tmp.path().join("full").join(LOG_FILE)).unwrap();
    assert_eq!(log_lines.lines().count(), 3);

    // Interrupted after 2 rounds, then resumed to 3: same weights, same rollouts, one log line per round.
    run_offline(&run("resumed", 2), |_| {}).unwrap();
    let rest = run_offline(&run("resumed", 3), |_| {}).unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].step, 3);
    let a = weights(&tmp.path().join("full/final"));
    let b = weights(&tmp.path().join("resumed/final"));
    let start = weights(&model);
    let mut moved = false;
    for (((na, ta), (nb, tb)), (_, t0)) in a.iter().zip(&b).zip(&start) {
        assert_eq!(na, nb);
        assert!(ta.equal(tb), "{na} differs after resume");
        moved |= !ta.equal(t0);
    }
    assert!(moved, "training changed no weight");
    let resumed = SampleStore::open(&tmp.path().join("resumed").join(ROLLOUTS_DIR)).unwrap();
    assert_eq!(resumed.len(), 5);
    for i in 0..5 {
        assert_eq!(resumed.get(i).unwrap(), store.get(i).unwrap());
    }
    let log_lines = std::fs::read_to_string(tmp.path().join("resumed").join(LOG_FILE)).unwrap();
    assert_eq!(log_lines.lines().count(), 3);
}
