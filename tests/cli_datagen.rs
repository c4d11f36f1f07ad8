//! End-to-end: `vln-r1 datagen` on the first episodes of the shipped train split (small frames), then a rerun
//! that resumes, then `vln-r1 bench datagen`.

use std::path::{Path, PathBuf};

use episodes::prompt::count_placeholders;
use episodes::split::{split_file, FileKind};
use episodes::{EpisodeDataset, GroundTruth, SampleStore};

mod common;
use common::{text, vln_r1};

/// The first `n` train episodes and their gt as a dataset of their own, and the scenes they use, under
/// `dir` (so the navmesh cache is written there, not into the source tree).
fn small_train(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = root.join("habitat_assets/data/R2R_VLNCE_shipped");
    let mut d =
        EpisodeDataset::load(&split_file(&shipped, "train", None, FileKind::Episodes)).unwrap();
    d.episodes.truncate(n);
    let mut gt = GroundTruth::load(&split_file(&shipped, "train", None, FileKind::Gt)).unwrap();
    let keep: Vec<String> = d.episodes.iter().map(|e| e.episode_id.key()).collect();
    gt.entries.retain(|k, _| keep.contains(k));
    let data = dir.join("data");
    d.save(&split_file(&data, "train", None, FileKind::Episodes))
        .unwrap();
    gt.save(&split_file(&data, "train", None, FileKind::Gt))
        .unwrap();
    let scenes = dir.join("scenes");
    std::fs::create_dir_all(&scenes).unwrap();
    for e in &d.episodes {
        for file in [e.scene_id.clone(), format!("{}.meta.json", e.scene_name())] {
            std::fs::copy(
                root.join("habitat_assets/scenes").join(&file),
                scenes.join(&file),
            )
            .unwrap();
        }
    }
    (data, scenes)
}

#[test]
fn datagen_writes_both_outputs_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (data, scenes) = small_train(dir.path(), 3);
    let out = dir.path().join("vln_ego");
    let args = [
        "datagen",
        "--dataset",
        data.to_str().unwrap(),
        "--scenes",
        scenes.to_str().unwrap(),
        "--split",
        "train",
        "--out",
        out.to_str().unwrap(),
        "--width",
        "32",
        "--height",
        "24",
        "--memory",
        "uniform:8",
    ];
    let run = vln_r1(&args);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let stdout = text(&run.stdout);
    assert!(stdout.contains("samples from"), "{stdout}");
    assert!(stdout.contains("history length:"), "{stdout}");

    let store = SampleStore::open(&out).unwrap();
    assert!(!store.is_empty());
    let records: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(out.join("vln_ego.json")).unwrap()).unwrap();
    assert_eq!(records.len() as u64, store.len());
    for (i, r) in records.iter().enumerate() {
        let prompt = r["conversations"][0]["value"].as_str().unwrap();
        let images = r["images"].as_array().unwrap();
        assert_eq!(count_placeholders(prompt), images.len());
        assert!(images.len() <= 9);
        assert!(prompt.contains("15 degrees"));
        for image in images {
            assert!(out.join(image.as_str().unwrap()).is_file());
        }
        let sample = store.get(i as u64).unwrap();
        assert_eq!(
            r["conversations"][1]["value"].as_str().unwrap(),
            sample.answer().unwrap()
        );
    }
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("dataset_info.json")).unwrap()).unwrap();
    assert_eq!(info["vln_ego"]["formatting"], "sharegpt");
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("stats.json")).unwrap()).unwrap();
    assert_eq!(stats["samples"].as_u64().unwrap(), store.len());
    assert_eq!(
        stats["trajectories"].as_u64().unwrap() + stats["skipped"].as_u64().unwrap(),
        3
    );

    // A rerun finds everything done; other settings are refused.
    let again = vln_r1(&args);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let stdout = text(&again.stdout);
    assert!(
        stdout.contains("0 trajectories rendered, 0 samples appended"),
        "{stdout}"
    );
    assert_eq!(SampleStore::open(&out).unwrap().len(), store.len());
    let mut other = args.to_vec();
    other.extend(["--future", "4"]);
    let refused = vln_r1(&other);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("other settings"));

    let bench = vln_r1(&[
        "bench",
        "datagen",
        "--dataset",
        data.to_str().unwrap(),
        "--scenes",
        scenes.to_str().unwrap(),
        "--width",
        "32",
        "--height",
        "24",
    ]);
    assert!(bench.status.success(), "{}", text(&bench.stderr));
    let stdout = text(&bench.stdout);
    assert!(
        stdout.contains("samples/s") && stdout.contains("render-only time"),
        "{stdout}"
    );

    // Perturbed expert runs: one per episode on top of the gt replay, in their own directories.
    let perturbed = dir.path().join("vln_ego_p");
    let mut args_p = args.to_vec();
    args_p[8] = perturbed.to_str().unwrap();
    args_p.extend(["--perturbed-runs", "1", "--perturb-seed", "5"]);
    let run = vln_r1(&args_p);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains("+ 1 perturbed expert runs per episode"));
    let stats: serde_json::Value =
        serde_json::from_slice(&std::fs::read(perturbed.join("stats.json")).unwrap()).unwrap();
    assert_eq!(
        stats["trajectories"].as_u64().unwrap() + stats["skipped"].as_u64().unwrap(),
        6
    );
    let runs = std::fs::read_dir(perturbed.join("frames"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with("@p1")
        })
        .count();
    assert_eq!(runs, 3);
    let mut bad = args_p.clone();
    bad.extend(["--perturb-rate", "1.5"]);
    let refused = vln_r1(&bad);
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("--perturb-rate"));

    // A stop radius: recorded in the settings, the gt replays end within it; a negative one is refused.
    let cut = dir.path().join("vln_ego_r");
    let mut args_r = args.to_vec();
    args_r[8] = cut.to_str().unwrap();
    args_r.extend(["--stop-radius", "1.5"]);
    let run = vln_r1(&args_r);
    assert!(run.status.success(), "{}", text(&run.stderr));
    assert!(text(&run.stdout).contains("stops within 1.5 m of the goal"));
    let settings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(cut.join("datagen.json")).unwrap()).unwrap();
    assert_eq!(settings["config"]["stop_radius"].as_f64(), Some(1.5));
    let mut finished = 0;
    for entry in std::fs::read_dir(cut.join("frames")).unwrap() {
        let t: serde_json::Value = serde_json::from_slice(
            &std::fs::read(entry.unwrap().path().join("trajectory.json")).unwrap(),
        )
        .unwrap();
        if let Some(d) = t["final_distance"].as_f64() {
            assert!(d <= 1.5, "{t}");
            finished += 1;
        }
    }
    assert!(finished > 0);
    let mut bad = args_r.clone();
    bad.extend(["--stop-radius", "-1"]);
    let refused = vln_r1(&bad);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("--stop-radius"),
        "{}",
        text(&refused.stderr)
    );
}
