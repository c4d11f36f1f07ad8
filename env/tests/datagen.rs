//! VLN-Ego data generation on the first episodes of the shipped train split (small frames, so it is fast):
//! the labels (target = gt actions from step i, STOP padding, the simulator's turn angle, one `<image>` per
//! image, history indices per sampler), skipped trajectories, random reads, and resume after a kill.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use env::body::AgentConfig;
use env::datagen::{
    frame_path, generate, key_of_frame, load_finished, load_finished_perturbed, load_gt_actions,
    make_trajectory, trajectory_key, DatagenConfig, DatagenInput, DatagenStats, FrameSettings,
    Perturbation, ShareGptRecord, FRAMES_DIR, SHAREGPT_FILE,
};
use env::nav::NavParams;
use env::task::{resolve_scene_path, SceneLibrary, TaskDataset, VlnEnv, VlnEnvConfig};
use episodes::prompt::count_placeholders;
use episodes::{Action, EpisodeFilter, MemorySampler, Sample, SampleStore};

const SPLIT: &str = "train";

/// Scenes, the train split and its gt actions, loaded once per test binary; the scenes are private copies
/// (the navmesh cache is written next to them, not into the source tree).
type Shared = (
    tempfile::TempDir,
    Arc<SceneLibrary>,
    Arc<TaskDataset>,
    BTreeMap<String, Vec<Action>>,
);

/// The tests use the first few episodes of the split only.
const EPISODES_USED: usize = 5;

fn shared() -> (
    &'static Arc<SceneLibrary>,
    &'static Arc<TaskDataset>,
    &'static BTreeMap<String, Vec<Action>>,
) {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    let (_, library, dataset, actions) = SHARED.get_or_init(|| {
        let root = env::episode_gen::shipped_dataset_dir();
        let dataset = TaskDataset::load_split(&root, SPLIT, &EpisodeFilter::default()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let shipped = habitat_assets::shipped::scenes_dir();
        for e in &dataset.episodes()[..EPISODES_USED] {
            let src = resolve_scene_path(&shipped, &e.scene_id).unwrap();
            for file in [src.clone(), habitat_assets::SceneMeta::path_for(&src)] {
                std::fs::copy(&file, dir.path().join(file.file_name().unwrap())).unwrap();
            }
        }
        let library =
            SceneLibrary::new(dir.path(), AgentConfig::r2r(), NavParams::default()).unwrap();
        let actions = load_gt_actions(&root, SPLIT).unwrap();
        (dir, Arc::new(library), Arc::new(dataset), actions)
    });
    (library, dataset, actions)
}

fn input() -> DatagenInput {
    let (library, dataset, actions) = shared();
    DatagenInput {
        library: library.clone(),
        dataset: dataset.clone(),
        actions: actions.clone(),
        dataset_dir: "shipped".into(),
        split: SPLIT.into(),
    }
}

fn small(memory: MemorySampler) -> DatagenConfig {
    DatagenConfig {
        width: 48,
        height: 36,
        memory,
        ..DatagenConfig::default()
    }
}

/// `small` frames with `runs` perturbed runs per episode (rate 0.2, bursts up to 4, seed 3).
fn perturbed(runs: u32) -> DatagenConfig {
    DatagenConfig {
        perturb: Perturbation {
            runs,
            rate: 0.2,
            max_burst: 4,
            seed: 3,
        },
        ..small(MemorySampler::UNIFORM)
    }
}

fn run(
    input: &DatagenInput,
    selection: &[usize],
    out: &Path,
    config: &DatagenConfig,
    shard_samples: usize,
) -> DatagenStats {
    generate(input, selection, out, config, shard_samples, &|_| {}).unwrap()
}

fn all_samples(out: &Path) -> Vec<Sample> {
    let store = SampleStore::open(out).unwrap();
    store.iter().map(Result::unwrap).collect()
}

fn sharegpt(out: &Path) -> Vec<ShareGptRecord> {
    serde_json::from_slice(&std::fs::read(out.join(SHAREGPT_FILE)).unwrap()).unwrap()
}

/// The step number of a frame path `frames/<id>/step_NNNN.jpg`.
fn step_of(path: &str) -> usize {
    path.rsplit_once("step_")
        .and_then(|(_, s)| s.strip_suffix(".jpg"))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not a frame path: {path}"))
}

fn check_labels(out: &Path, memory: MemorySampler, selection: &[usize]) {
    let (_, dataset, gt) = shared();
    let samples = all_samples(out);
    let records = sharegpt(out);
    assert_eq!(samples.len(), records.len());
    let mut expected = 0;
    for &index in selection {
        let id = dataset.episode(index).unwrap().episode_id.key();
        let actions = &gt[&id];
        let mine: Vec<&Sample> = samples.iter().filter(|s| s.episode_id == id).collect();
        assert_eq!(mine.len(), actions.len(), "one sample per gt action");
        expected += actions.len();
        for (i, s) in mine.iter().enumerate() {
            assert_eq!(s.step as usize, i);
            assert_eq!(s.target.len(), 6);
            assert_eq!(
                s.target[0], actions[i],
                "episode {id} step {i}: first target"
            );
            for (k, a) in s.target.iter().enumerate() {
                let want = actions.get(i + k).copied().unwrap_or(Action::Stop);
                assert_eq!(*a, want, "episode {id} step {i} slot {k}");
            }
            assert_eq!(s.current_frame, frame_path(&id, i));
            let history: Vec<usize> = s.history_frames.iter().map(|f| step_of(f)).collect();
            assert_eq!(history, memory.history(i), "episode {id} step {i}");
            for f in s.frames() {
                assert!(out.join(f).is_file(), "{f} exists");
            }
        }
    }
    assert_eq!(samples.len(), expected);
    for (s, r) in samples.iter().zip(&records) {
        let prompt = &r.conversations[0].value;
        assert_eq!(r.conversations[0].from, "human");
        assert_eq!(r.conversations[1].from, "gpt");
        assert_eq!(count_placeholders(prompt), r.images.len());
        assert_eq!(r.images.len(), s.history_frames.len() + 1);
        assert_eq!(r.images.last().unwrap(), &s.current_frame);
        // The simulator turns 15 degrees (R2R agent); the text must say so.
        assert!(prompt.contains("B. Turn left 15 degrees"), "{prompt}");
        assert!(prompt.contains("C. Turn right 15 degrees"));
        assert!(!prompt.contains("30 degrees"));
        assert!(prompt.contains("A. Move forward 25 cm"));
        let answer = &r.conversations[1].value;
        assert_eq!(
            episodes::parse_answer(answer, &s.prompt.options(), 6).unwrap(),
            s.target
        );
        for image in &r.images {
            assert!(out.join(image).is_file(), "image path relative to the JSON");
        }
    }
}

#[test]
fn labels_follow_the_gt_and_each_sampler() {
    let input = input();
    // Index 0 (episode 1) is left out: its gt replay does not reach the goal in the current simulator.
    let selection = [1, 2];
    for memory in [MemorySampler::UNIFORM, MemorySampler::LONG_SHORT] {
        let dir = tempfile::tempdir().unwrap();
        let stats = run(&input, &selection, dir.path(), &small(memory), 4096);
        assert_eq!(stats.skipped, 0, "{:?}", stats.skipped_trajectories);
        assert_eq!(stats.trajectories, 2);
        check_labels(dir.path(), memory, &selection);
        // First-target histogram = the gt actions of the two episodes.
        let (_, dataset, gt) = shared();
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        for &i in &selection {
            for a in &gt[&dataset.episode(i).unwrap().episode_id.key()] {
                *want.entry(a.name().to_owned()).or_default() += 1;
            }
        }
        assert_eq!(stats.action_histogram, want);
        assert_eq!(stats.samples, want.values().sum::<u64>());
        assert_eq!(
            stats.history_length_histogram.values().sum::<u64>(),
            stats.samples
        );
        let cap = memory.cap();
        assert!(stats.history_length_histogram.keys().all(|&k| k <= cap));
        // Frames are real JPEGs of the configured size.
        let img = image::open(
            dir.path()
                .join(frame_path(&dataset.episode(1).unwrap().episode_id.key(), 3)),
        )
        .unwrap();
        assert_eq!((img.width(), img.height()), (48, 36));
        let saved: DatagenStats =
            episodes::file::read_json(&dir.path().join(env::datagen::STATS_FILE)).unwrap();
        assert_eq!(saved, stats);
    }
}

#[test]
fn bad_trajectories_are_skipped_with_their_reason() {
    let mut input = input();
    let (_, dataset, _) = shared();
    let id0 = dataset.episode(0).unwrap().episode_id.key();
    let id1 = dataset.episode(1).unwrap().episode_id.key();
    let id2 = dataset.episode(2).unwrap().episode_id.key();
    // Stopping at once leaves the agent 5+ m from the goal; no gt at all; STOP in the middle.
    input.actions.insert(id0.clone(), vec![Action::Stop]);
    input.actions.remove(&id1);
    input.actions.insert(
        id2.clone(),
        vec![Action::MoveForward, Action::Stop, Action::Stop],
    );
    let dir = tempfile::tempdir().unwrap();
    let stats = run(
        &input,
        &[0, 1, 2, 3],
        dir.path(),
        &small(MemorySampler::UNIFORM),
        4096,
    );
    assert_eq!(stats.trajectories, 1);
    assert_eq!(stats.skipped, 3);
    let by: BTreeMap<&str, u64> = stats
        .skipped_by_reason
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    assert_eq!(
        by,
        BTreeMap::from([("bad_actions", 1), ("missed_goal", 1), ("no_gt", 1)])
    );
    let reason = |id: &str| {
        stats
            .skipped_trajectories
            .iter()
            .find(|s| s.episode_id == id)
            .unwrap()
            .reason
            .clone()
    };
    assert!(reason(&id0).contains("m from the goal"), "{}", reason(&id0));
    assert!(reason(&id2).contains("STOP at step 1"), "{}", reason(&id2));
    // A skipped replay keeps no frames.
    let skipped_dir = dir.path().join(FRAMES_DIR).join(&id0);
    let files: Vec<_> = std::fs::read_dir(&skipped_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(files, ["trajectory.json"]);
    assert!(all_samples(dir.path())
        .iter()
        .all(|s| s.episode_id == dataset.episode(3).unwrap().episode_id.key()));
}

#[test]
fn killed_run_resumes_to_the_same_content_and_reads_back_at_random() {
    let input = input();
    let config = small(MemorySampler::LONG_SHORT);
    let selection = [1, 2, 3];
    // Small shards so the store has several, each ending on a trajectory boundary.
    let whole = tempfile::tempdir().unwrap();
    let full = run(&input, &selection, whole.path(), &config, 50);
    let full_samples = all_samples(whole.path());

    let killed = tempfile::tempdir().unwrap();
    let out = killed.path();
    run(&input, &selection[..1], out, &config, 50);
    // What a kill can leave: the next trajectory rendered but its samples not committed, a half-written
    // trajectory directory, and an unlisted half-written shard.
    let mut env = VlnEnv::new(
        input.library.clone(),
        input.dataset.clone(),
        VlnEnvConfig {
            width: 48,
            height: 36,
            ..VlnEnvConfig::default()
        },
    )
    .unwrap();
    let id1 = input.dataset.episode(2).unwrap().episode_id.key();
    let id2 = input.dataset.episode(3).unwrap().episode_id.key();
    let t1 = make_trajectory(
        &mut env,
        out,
        2,
        Some(&input.actions[&id1]),
        &config.prompt(input.library.agent()).options(),
        &FrameSettings {
            jpeg_quality: config.jpeg_quality,
            success_distance: config.success_distance,
            max_steps: config.max_steps,
            stop_radius: None,
        },
    )
    .unwrap();
    assert!(t1.skipped.is_none());
    let tmp = out.join(FRAMES_DIR).join(format!(".tmp-{id2}"));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("step_0000.jpg"), b"half a jpeg").unwrap();
    let shards_before = SampleStore::open(out).unwrap().num_shards();
    std::fs::write(
        out.join(format!("shard-{shards_before:06}.jsonl")),
        b"{\"episode_id\": \"torn",
    )
    .unwrap();
    assert_eq!(SampleStore::open(out).unwrap().num_shards(), shards_before);

    let resumed = run(&input, &selection, out, &config, 50);
    assert_eq!(
        resumed.rendered_this_run, 1,
        "only the unfinished trajectory is rendered"
    );
    assert_eq!(
        resumed.appended_this_run as usize,
        input.actions[&id1].len() + input.actions[&id2].len()
    );
    let samples = all_samples(out);
    assert_eq!(samples, full_samples);
    let keys: HashSet<(String, u32)> = samples
        .iter()
        .map(|s| (s.episode_id.clone(), s.step))
        .collect();
    assert_eq!(keys.len(), samples.len(), "no duplicates");
    assert!(!tmp.exists());
    assert_eq!(
        std::fs::read(out.join(SHAREGPT_FILE)).unwrap(),
        std::fs::read(whole.path().join(SHAREGPT_FILE)).unwrap()
    );
    for i in [0, 7, 20] {
        let f = frame_path(&id2, i);
        assert_eq!(
            std::fs::read(out.join(&f)).unwrap(),
            std::fs::read(whole.path().join(&f)).unwrap(),
            "{f}: frames are deterministic"
        );
    }
    let mut a = resumed.clone();
    a.rendered_this_run = full.rendered_this_run;
    a.appended_this_run = full.appended_this_run;
    assert_eq!(a, full);

    // Rerunning a finished directory does nothing new.
    let again = run(&input, &selection, out, &config, 50);
    assert_eq!((again.rendered_this_run, again.appended_this_run), (0, 0));
    assert_eq!(all_samples(out), full_samples);

    // Random access returns the same samples as the sequential read.
    let store = SampleStore::open(out).unwrap();
    assert!(store.num_shards() >= 3);
    let mut x: u64 = 12345;
    for _ in 0..50 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let i = (x >> 33) % store.len();
        assert_eq!(store.get(i).unwrap(), full_samples[i as usize]);
    }

    // Other settings on the same directory are refused, naming the settings file.
    let other = DatagenConfig {
        num_actions: 4,
        ..config
    };
    let err = generate(&input, &selection, out, &other, 50, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("datagen.json") && err.contains("other settings"),
        "{err}"
    );
}

#[test]
fn perturbed_runs_leave_the_expert_path_and_are_labelled_by_the_expert() {
    let input = input();
    let config = perturbed(2);
    let selection = [0, 1];
    let dir = tempfile::tempdir().unwrap();
    let stats = run(&input, &selection, dir.path(), &config, 1000);
    assert_eq!(stats.skipped, 0, "{:?}", stats.skipped_trajectories);
    assert_eq!(
        stats.trajectories, 6,
        "two episodes, each a gt replay and two runs"
    );
    let samples = all_samples(dir.path());
    let mut expected = Vec::new();
    let mut perturbed_steps = 0;
    for &index in &selection {
        let id = input.dataset.episode(index).unwrap().episode_id.key();
        expected.push((id.clone(), input.actions[&id].len()));
        for run in 1..=2 {
            let key = trajectory_key(&id, Some(run));
            let t = load_finished_perturbed(dir.path(), &id, run)
                .unwrap()
                .unwrap();
            let targets = t.targets.as_ref().unwrap();
            assert_eq!(
                t.actions.last(),
                Some(&Action::Stop),
                "{key} ends with STOP"
            );
            assert!(t.final_distance.unwrap() < config.success_distance);
            // Off the bursts the run takes the expert's action; in a burst, a move or turn (never STOP).
            let off: Vec<usize> = (0..t.actions.len())
                .filter(|&i| t.actions[i] != targets[i][0])
                .collect();
            assert!(off.iter().all(|&i| t.actions[i] != Action::Stop));
            perturbed_steps += off.len();
            // The run differs from the gt replay, and its samples target the expert's labels at each frame.
            assert_ne!(t.actions, input.actions[&id], "{key}");
            let mine: Vec<&Sample> = samples
                .iter()
                .filter(|s| key_of_frame(&s.current_frame) == Some(key.as_str()))
                .collect();
            assert_eq!(mine.len(), t.actions.len());
            for (i, s) in mine.iter().enumerate() {
                assert_eq!(
                    s.episode_id, id,
                    "the held-out split keeps runs with their episode"
                );
                assert_eq!(s.current_frame, frame_path(&key, i));
                assert_eq!(s.target, targets[i]);
            }
            expected.push((key, t.actions.len()));
        }
    }
    assert!(perturbed_steps > 10, "{perturbed_steps} perturbed steps");
    // Store order: each episode's gt replay, then its runs.
    let mut order: Vec<(String, usize)> = Vec::new();
    for s in &samples {
        let key = key_of_frame(&s.current_frame).unwrap().to_owned();
        match order.last_mut() {
            Some((k, n)) if *k == key => *n += 1,
            _ => order.push((key, 1)),
        }
    }
    assert_eq!(order, expected);

    // Same seed, same data; resumed after the first episode, same data; another seed, other runs.
    let again = tempfile::tempdir().unwrap();
    run(&input, &selection[..1], again.path(), &config, 1000);
    run(&input, &selection, again.path(), &config, 1000);
    assert_eq!(all_samples(again.path()), samples);
    let other = tempfile::tempdir().unwrap();
    let reseeded = DatagenConfig {
        perturb: Perturbation {
            seed: 4,
            ..config.perturb
        },
        ..config
    };
    run(&input, &selection[..1], other.path(), &reseeded, 1000);
    let id = input.dataset.episode(0).unwrap().episode_id.key();
    assert_ne!(
        load_finished_perturbed(other.path(), &id, 1)
            .unwrap()
            .unwrap()
            .actions,
        load_finished_perturbed(dir.path(), &id, 1)
            .unwrap()
            .unwrap()
            .actions
    );
    // A directory made with other perturbation settings is refused, not mixed.
    let err = generate(&input, &selection, dir.path(), &reseeded, 1000, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("datagen.json"), "{err}");
}

#[test]
fn a_stop_radius_cuts_the_gt_where_the_goal_is_close_and_the_expert_stops_there() {
    let input = input();
    let radius = 1.5;
    let config = DatagenConfig {
        stop_radius: Some(radius),
        ..perturbed(1)
    };
    let selection = [0, 1];
    let dir = tempfile::tempdir().unwrap();
    let stats = run(&input, &selection, dir.path(), &config, 1000);
    assert_eq!(stats.skipped, 0, "{:?}", stats.skipped_trajectories);
    let samples = all_samples(dir.path());
    for &index in &selection {
        let id = input.dataset.episode(index).unwrap().episode_id.key();
        let gt = &input.actions[&id];
        // The gt replay: the gt actions up to where the final approach enters the radius, then STOP there.
        let t = load_finished(dir.path(), &id, gt).unwrap().unwrap();
        let (last, head) = t.actions.split_last().unwrap();
        assert_eq!(*last, Action::Stop);
        assert!(head.len() + 1 < gt.len(), "{id}: not cut");
        assert!(gt.starts_with(head), "{id}: not a prefix of the gt");
        let d = t.final_distance.unwrap();
        assert!(d <= radius && d > 0.25, "{id}: stops {d} m from the goal");
        assert_eq!(t.frames.len(), t.actions.len());
        let on_disk = std::fs::read_dir(dir.path().join(FRAMES_DIR).join(&id))
            .unwrap()
            .count();
        assert_eq!(
            on_disk,
            t.frames.len() + 1,
            "{id}: frames past the cut are deleted"
        );
        let mine: Vec<&Sample> = samples
            .iter()
            .filter(|s| key_of_frame(&s.current_frame) == Some(id.as_str()))
            .collect();
        assert_eq!(mine.len(), t.actions.len());
        assert_eq!(mine.last().unwrap().target, vec![Action::Stop; 6]);
        // One step before the cut the targets are the gt's action, then STOP.
        let before = &mine[mine.len() - 2].target;
        assert_eq!(before[0], head[head.len() - 1]);
        assert_eq!(before[1..], [Action::Stop; 5]);
        // The perturbed run's expert stops within the radius too (not walking on to the goal).
        let p = load_finished_perturbed(dir.path(), &id, 1)
            .unwrap()
            .unwrap();
        assert_eq!(p.actions.last(), Some(&Action::Stop));
        let d = p.final_distance.unwrap();
        assert!(
            d <= radius + 0.05 && d > 0.25,
            "{id}@p1: stops {d} m from the goal"
        );
    }
    // Resumed on the same directory: the cut records are accepted as finished, nothing changes.
    run(&input, &selection, dir.path(), &config, 1000);
    assert_eq!(all_samples(dir.path()), samples);
    // A radius at or past the success distance cannot give successful data.
    let bad = DatagenConfig {
        stop_radius: Some(config.success_distance),
        ..config
    };
    let err = generate(
        &input,
        &selection,
        tempfile::tempdir().unwrap().path(),
        &bad,
        1000,
        &|_| {},
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--stop-radius"), "{err}");
}

/// A gt trajectory with an action datagen cannot replay (LOOK_UP) is skipped and reported, not the end of
/// the run: with it alone the run finishes with an empty store, beside a good one the good one is written.
#[test]
fn a_gt_action_that_cannot_be_replayed_skips_only_its_trajectory() {
    let mut input = input();
    let (_, dataset, _) = shared();
    let id0 = dataset.episode(0).unwrap().episode_id.key();
    input.actions.insert(
        id0.clone(),
        vec![Action::LookUp, Action::MoveForward, Action::Stop],
    );
    for (selection, trajectories) in [(&[0][..], 0), (&[0, 3][..], 1)] {
        let dir = tempfile::tempdir().unwrap();
        let stats = run(
            &input,
            selection,
            dir.path(),
            &small(MemorySampler::UNIFORM),
            4096,
        );
        assert_eq!((stats.trajectories, stats.skipped), (trajectories, 1));
        assert_eq!(stats.skipped_by_reason.get("bad_actions"), Some(&1));
        let reason = &stats.skipped_trajectories[0];
        assert_eq!(reason.episode_id, id0);
        assert!(reason.reason.contains("LOOK_UP"), "{}", reason.reason);
        assert_eq!(all_samples(dir.path()).is_empty(), trajectories == 0);
    }
}

/// A gt entry that breaks a rule (a location 30 km away) is left out at load, not the end of the split:
/// the dataset reports it, and datagen skips its episode as `bad_gt` naming file, episode and field while
/// the others are made.
#[test]
fn a_gt_entry_that_breaks_a_rule_skips_only_its_episode() {
    let (library, dataset, _) = shared();
    let shipped = env::episode_gen::shipped_dataset_dir().join(SPLIT);
    let root = tempfile::tempdir().unwrap();
    let split_dir = root.path().join(SPLIT);
    std::fs::create_dir_all(&split_dir).unwrap();
    std::fs::copy(
        shipped.join(format!("{SPLIT}.json.gz")),
        split_dir.join(format!("{SPLIT}.json.gz")),
    )
    .unwrap();
    let gt_name = format!("{SPLIT}_gt.json.gz");
    let mut gt: serde_json::Value = episodes::file::read_json(&shipped.join(&gt_name)).unwrap();
    let id0 = dataset.episode(0).unwrap().episode_id.key();
    gt[&id0]["locations"][0] = serde_json::json!([3e4, 0.0, 0.0]);
    episodes::file::write_json(&split_dir.join(&gt_name), &gt).unwrap();

    let lenient = TaskDataset::load_split(root.path(), SPLIT, &EpisodeFilter::default()).unwrap();
    let why = &lenient.gt_problems()[&id0];
    assert!(
        why.contains(&gt_name) && why.contains("locations[0]") && why.contains("world limit"),
        "{why}"
    );
    let input = DatagenInput {
        library: library.clone(),
        dataset: Arc::new(lenient),
        actions: load_gt_actions(root.path(), SPLIT).unwrap(),
        dataset_dir: root.path().display().to_string(),
        split: SPLIT.into(),
    };
    assert!(!input.actions.contains_key(&id0));
    let out = tempfile::tempdir().unwrap();
    let stats = run(
        &input,
        &[0, 3],
        out.path(),
        &small(MemorySampler::UNIFORM),
        4096,
    );
    assert_eq!((stats.trajectories, stats.skipped), (1, 1));
    assert_eq!(stats.skipped_by_reason.get("bad_gt"), Some(&1));
    assert!(
        stats.skipped_trajectories[0]
            .reason
            .contains("locations[0]"),
        "{:?}",
        stats.skipped_trajectories
    );
}
