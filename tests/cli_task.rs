//! End-to-end: `vln-r1 eval`, `vln-r1 rollout` and `vln-r1 episodes gt` on the first episodes of the shipped
//! dataset, with the scenes they need copied to a temp directory (the navmesh cache is written there).

use std::path::{Path, PathBuf};

use episodes::split::{split_file, FileKind};
use episodes::{EpisodeDataset, GroundTruth};

mod common;
use common::{text, vln_r1};

fn shipped() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("habitat_assets/data/R2R_VLNCE_shipped")
}

/// The first `n` val_unseen episodes as a dataset of their own, and the scenes they use, under `dir`.
fn small_task(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let mut d = EpisodeDataset::load(&split_file(
        &shipped(),
        "val_unseen",
        None,
        FileKind::Episodes,
    ))
    .unwrap();
    d.episodes.truncate(n);
    let data = dir.join("data");
    d.save(&split_file(&data, "val_unseen", None, FileKind::Episodes))
        .unwrap();
    let scenes = dir.join("scenes");
    std::fs::create_dir_all(&scenes).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("habitat_assets/scenes");
    for e in &d.episodes {
        for file in [e.scene_id.clone(), format!("{}.meta.json", e.scene_name())] {
            std::fs::copy(source.join(&file), scenes.join(&file)).unwrap();
        }
    }
    (data, scenes)
}

#[test]
fn gt_then_eval_resumes_then_rollout_records() {
    let dir = tempfile::tempdir().unwrap();
    let (data, scenes) = small_task(dir.path(), 2);
    let (data_s, scenes_s) = (data.to_str().unwrap(), scenes.to_str().unwrap());

    let out = vln_r1(&[
        "episodes",
        "gt",
        "--dataset",
        data_s,
        "--split",
        "val_unseen",
        "--scenes",
        scenes_s,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("2 of 2 episodes, 0 did not reach the goal radius, 0 failed"),
        "{}",
        text(&out.stdout)
    );
    let gt = GroundTruth::load(&split_file(&data, "val_unseen", None, FileKind::Gt)).unwrap();
    assert_eq!(gt.len(), 2);

    let eval_dir = dir.path().join("eval");
    let eval = |episodes: &str| {
        let args = [
            "eval",
            "--policy",
            "oracle",
            "--dataset",
            data_s,
            "--scenes",
            scenes_s,
            "--envs",
            "2",
            "--episodes",
            episodes,
            "--out",
            eval_dir.to_str().unwrap(),
        ];
        let out = vln_r1(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let first = eval("1");
    assert!(first.contains("| oracle | "), "{first}");
    let resumed = eval("2");
    assert!(resumed.contains("1 already done, resuming"), "{resumed}");
    assert!(
        resumed.contains("| 100.0 | 100.0 |"),
        "oracle OSR and SR: {resumed}"
    );
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(eval_dir.join("metrics.json")).unwrap())
            .unwrap();
    assert_eq!(metrics["metrics"]["episodes"], 2);
    assert_eq!(metrics["metrics"]["sr"], 1.0);
    let out = vln_r1(&[
        "eval",
        "--policy",
        "forward",
        "--dataset",
        data_s,
        "--scenes",
        scenes_s,
        "--out",
        eval_dir.to_str().unwrap(),
    ]);
    assert!(
        !out.status.success(),
        "another policy must not resume this directory"
    );
    assert!(
        text(&out.stderr).contains("cannot resume"),
        "{}",
        text(&out.stderr)
    );

    let rollout_dir = dir.path().join("rollout");
    let out = vln_r1(&[
        "rollout",
        "--policy",
        "forward",
        "--dataset",
        data_s,
        "--scenes",
        scenes_s,
        "--episodes",
        "1",
        "--max-steps",
        "6",
        "--width",
        "64",
        "--height",
        "48",
        "--out",
        rollout_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("step cap after 6 steps"), "{stdout}");
    let first_id = EpisodeDataset::load(&split_file(&data, "val_unseen", None, FileKind::Episodes))
        .unwrap()
        .episodes[0]
        .episode_id
        .key();
    let episode = rollout_dir.join(first_id);
    for file in ["trajectory.jsonl", "map.png", "video.gif"] {
        assert!(
            episode.join(file).is_file(),
            "{file} missing in {}",
            episode.display()
        );
    }
    assert_eq!(
        std::fs::read_to_string(episode.join("trajectory.jsonl"))
            .unwrap()
            .lines()
            .count(),
        8
    );
}
