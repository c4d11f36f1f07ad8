//! End-to-end: `vln-r1 rft` offline on a tiny checkpoint and a two-sample store, then resumed to one more
//! round; and the flag contract (`--data` is required without `--online`).

use episodes::store::{SampleStore, SampleStoreWriter};
use episodes::{Action, PromptConfig, Sample};

mod common;
use common::{init_tiny, ok, p, vln_r1};

#[test]
fn offline_rft_runs_resumes_and_writes_rollouts() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("tiny");
    init_tiny(&ckpt, 0);
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    image::RgbImage::from_fn(56, 56, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 90]))
        .save(store.join("f0.png"))
        .unwrap();
    let mut w = SampleStoreWriter::open(&store).unwrap();
    for i in 0..2 {
        w.append(&Sample {
            episode_id: format!("{i}"),
            trajectory_id: None,
            scene_id: None,
            step: 0,
            instruction: "Go into the kitchen. Stop there.".into(),
            history_frames: Vec::new(),
            current_frame: "f0.png".into(),
            prompt: PromptConfig::R2R,
            target: vec![Action::MoveForward; 6],
            rl: None,
        })
        .unwrap();
    }
    w.finish().unwrap();
    let config = dir.path().join("rft.json");
    let run = dir.path().join("run");
    let args = |steps: u32| {
        std::fs::write(
            &config,
            format!(
                r#"{{"num_generations": 2, "prompts_per_step": 1, "max_completion_length": 4, "max_steps": {steps}}}"#
            ),
        )
        .unwrap();
        vln_r1(&[
            "rft",
            "--data",
            p(&store),
            "--model",
            p(&ckpt),
            "--out",
            p(&run),
            "--config",
            p(&config),
        ])
    };
    let first = ok(&args(1));
    assert!(first.contains("round     1"), "{first}");
    let second = ok(&args(2));
    assert!(
        second.contains("round     2") && !second.contains("round     1"),
        "{second}"
    );
    assert_eq!(SampleStore::open(&run.join("rollouts")).unwrap().len(), 2);
    assert!(run.join("final/model.safetensors").is_file());
    assert!(run.join("checkpoint-2/optimizer.safetensors").is_file());

    let out = vln_r1(&["rft", "--model", p(&ckpt), "--out", p(&run)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data"));
}
