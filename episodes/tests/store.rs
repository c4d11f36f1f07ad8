//! The sample store: write, reopen, random reads, crash leftovers, resumed appends.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use episodes::store::{Completion, RlFields, MANIFEST_FILE};
use episodes::{
    target_actions, Action, MemorySampler, PromptConfig, Sample, SampleStore, SampleStoreWriter,
};

fn sample(i: u64) -> Sample {
    let gt = [
        Action::MoveForward,
        Action::TurnLeft,
        Action::MoveForward,
        Action::Stop,
    ];
    let step = (i % 4) as usize;
    let history = MemorySampler::UNIFORM.history(step);
    Sample {
        episode_id: format!("{}", i / 4),
        trajectory_id: Some(format!("t{}", i / 8)),
        scene_id: Some("mp3d/s/s.glb".into()),
        step: step as u32,
        instruction: format!("walk to door number {i}"),
        history_frames: history
            .iter()
            .map(|h| format!("frames/{}/step_{h}.jpg", i / 4))
            .collect(),
        current_frame: format!("frames/{}/step_{step}.jpg", i / 4),
        prompt: PromptConfig::R2R,
        target: target_actions(&gt, step, 6),
        rl: i.is_multiple_of(3).then(|| RlFields {
            completions: vec![Completion {
                text: "D. Stop, D. Stop".into(),
                token_ids: vec![35, 13, 14],
                logprobs: vec![-0.5, -0.25, -1.0],
                rewards: BTreeMap::from([("format".to_owned(), 1.0), ("tdr".to_owned(), 0.5)]),
                advantage: Some(0.75),
            }],
        }),
    }
}

fn write(root: &Path, range: std::ops::Range<u64>, shard_size: usize) -> u64 {
    let mut w = SampleStoreWriter::with_shard_size(root, shard_size).unwrap();
    for i in range {
        assert_eq!(
            w.append(&sample(i)).unwrap(),
            i,
            "global index of the appended sample"
        );
    }
    w.finish().unwrap()
}

#[test]
fn written_samples_read_back_randomly_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(write(dir.path(), 0..23, 5), 23);
    let store = SampleStore::open(dir.path()).unwrap();
    assert_eq!((store.len(), store.num_shards()), (23, 5));
    for i in [22, 0, 7, 5, 4, 13, 19] {
        assert_eq!(store.get(i).unwrap(), sample(i), "sample {i}");
    }
    let all: Vec<Sample> = store.iter().collect::<Result<_, _>>().unwrap();
    assert_eq!(all, (0..23).map(sample).collect::<Vec<_>>());
    assert!(store
        .get(23)
        .unwrap_err()
        .to_string()
        .contains("out of range"));

    let s = store.get(3).unwrap();
    let prompt = s.build_prompt().unwrap();
    assert_eq!(prompt.num_images, s.frames().count());
    assert_eq!(
        s.answer().unwrap(),
        "D. Stop, D. Stop, D. Stop, D. Stop, D. Stop, D. Stop"
    );
    assert_eq!(
        store.get(0).unwrap().rl.unwrap().completions[0].reward(),
        1.5
    );
    assert_eq!(
        store.frame_path("frames/0/step_0.jpg"),
        dir.path().join("frames/0/step_0.jpg")
    );
}

#[test]
fn resumed_writer_appends_after_the_committed_shards() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0..7, 4);
    assert_eq!(write(dir.path(), 7..12, 4), 12);
    let store = SampleStore::open(dir.path()).unwrap();
    assert_eq!(store.len(), 12);
    assert_eq!(store.get(7).unwrap(), sample(7));
    assert_eq!(store.get(11).unwrap(), sample(11));
}

#[test]
fn unfinished_writes_never_become_visible() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0..4, 4);
    // A writer that dies with a buffered, unflushed shard.
    {
        let mut w = SampleStoreWriter::with_shard_size(dir.path(), 4).unwrap();
        w.append(&sample(4)).unwrap();
        w.append(&sample(5)).unwrap();
    }
    // A crash in the middle of writing a shard: a half-written temp file, and a shard renamed into place
    // whose manifest update never happened.
    fs::write(
        dir.path().join(".tmp-crash"),
        b"{\"episode_id\": \"9\", \"st",
    )
    .unwrap();
    fs::write(
        dir.path().join("shard-000001.jsonl"),
        b"{\"garbage\": true}\n",
    )
    .unwrap();
    fs::write(dir.path().join("shard-000001.idx"), [0u8; 16]).unwrap();

    let store = SampleStore::open(dir.path()).unwrap();
    assert_eq!(store.len(), 4);
    assert_eq!(store.iter().count(), 4);

    // The next writer takes over the orphaned shard number and replaces its files.
    assert_eq!(write(dir.path(), 4..9, 4), 9);
    let store = SampleStore::open(dir.path()).unwrap();
    assert_eq!(store.len(), 9);
    assert_eq!(store.get(4).unwrap(), sample(4));
    assert_eq!(store.get(8).unwrap(), sample(8));
}

#[test]
fn damaged_stores_are_reported_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = SampleStore::open(dir.path()).err().unwrap().to_string();
    assert!(err.contains("no manifest.json"), "{err}");
    write(dir.path(), 0..6, 3);
    let shard = dir.path().join("shard-000001.jsonl");
    let mut bytes = fs::read(&shard).unwrap();
    bytes.truncate(bytes.len() - 5);
    fs::write(&shard, &bytes).unwrap();
    let err = SampleStore::open(dir.path()).err().unwrap().to_string();
    assert!(
        err.contains("shard-000001.jsonl") && err.contains("the manifest says"),
        "{err}"
    );
    assert!(
        SampleStoreWriter::open(dir.path()).is_err(),
        "no appending to a damaged store"
    );

    // Same size, different content: the damage shows on read, naming the sample and line.
    write(&dir.path().join("b"), 0..2, 2);
    let shard = dir.path().join("b/shard-000000.jsonl");
    let bytes = fs::read(&shard).unwrap();
    // Same byte count: the step becomes a string, the instruction loses a letter.
    let text = String::from_utf8(bytes)
        .unwrap()
        .replacen("\"step\":0", "\"step\":\"\"", 1)
        .replacen("door number 0", "door numbr 0", 1);
    fs::write(&shard, text).unwrap();
    let store = SampleStore::open(&dir.path().join("b")).unwrap();
    let err = store.get(0).unwrap_err().to_string();
    assert!(
        err.contains("shard-000000.jsonl")
            && err.contains("sample 0 (line 1)")
            && err.contains("step"),
        "{err}"
    );

    fs::write(dir.path().join("c.json"), b"").unwrap();
    fs::create_dir_all(dir.path().join("c")).unwrap();
    fs::write(
        dir.path().join("c").join(MANIFEST_FILE),
        br#"{"format": "other", "version": 1, "shards": []}"#,
    )
    .unwrap();
    let err = SampleStore::open(&dir.path().join("c"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("expected \"vln-r1-sample-store\""), "{err}");
}

#[test]
fn invalid_samples_are_refused_at_append() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = SampleStoreWriter::open(dir.path()).unwrap();
    let mut s = sample(1);
    s.current_frame = "../outside.jpg".into();
    let err = w.append(&s).unwrap_err().to_string();
    assert!(
        err.contains("current_frame") && err.contains("relative path"),
        "{err}"
    );
    let mut s = sample(1);
    s.history_frames = vec!["/abs/frame.jpg".into()];
    assert!(w
        .append(&s)
        .unwrap_err()
        .to_string()
        .contains("history_frames[0]"));
    let mut s = sample(1);
    s.target.pop();
    assert!(w
        .append(&s)
        .unwrap_err()
        .to_string()
        .contains("has 5 actions, the prompt asks for 6"));
    let mut s = sample(0);
    s.rl.as_mut().unwrap().completions[0].logprobs.pop();
    assert!(w
        .append(&s)
        .unwrap_err()
        .to_string()
        .contains("3 token ids but 2 log-probs"));
    let mut s = sample(0);
    s.rl.as_mut().unwrap().completions[0].advantage = Some(f32::NAN);
    assert!(w.append(&s).unwrap_err().to_string().contains("advantage"));
    let mut s = sample(1);
    s.target[0] = Action::LookUp;
    assert!(w
        .append(&s)
        .unwrap_err()
        .to_string()
        .contains("LOOK_UP is not an answer option"));
    assert_eq!(w.finish().unwrap(), 0);
}

/// A manifest whose `samples` count is absurd (2^61 wraps `8 * (samples + 1)` to 0, u64::MAX overflows
/// `+ 1`) is refused against the index file's size, naming the index and the shard, without reading it.
#[test]
fn absurd_manifest_sample_counts_are_refused_against_the_index_size() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), 0..3, 3);
    let manifest = dir.path().join(MANIFEST_FILE);
    let text = fs::read_to_string(&manifest).unwrap();
    for absurd in [1u64 << 61, (1u64 << 61) - 1, u64::MAX] {
        fs::write(
            &manifest,
            text.replace("\"samples\":3", &format!("\"samples\":{absurd}")),
        )
        .unwrap();
        let err = SampleStore::open(dir.path()).err().unwrap().to_string();
        assert!(
            err.contains("shard-000000.idx") && err.contains(&format!("{absurd} samples")),
            "{err}"
        );
    }
    // Restored, it opens again.
    fs::write(&manifest, &text).unwrap();
    assert_eq!(SampleStore::open(dir.path()).unwrap().len(), 3);
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// 64 cases from a random seed in CI; `PROPTEST_CASES=N` runs N instead (and `PROPTEST_RNG_SEED=S` replays
    /// a run), e.g. overnight: `PROPTEST_CASES=1000000 cargo test -p habitat_assets -p episodes -p env never_panic`.
    fn fuzz_config() -> ProptestConfig {
        let mut config = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            config.cases = 64;
        }
        config
    }

    proptest! {
        #![proptest_config(fuzz_config())]

        /// Any manifest text and any index bytes: an error or a store, never a panic.
        #[test]
        fn arbitrary_manifest_and_index_never_panic(
            samples in any::<u64>(),
            bytes in any::<u64>(),
            index in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let dir = tempfile::tempdir().unwrap();
            fs::write(
                dir.path().join(MANIFEST_FILE),
                format!(r#"{{"format":"vln-r1-sample-store","version":1,"shards":[{{"number":0,"samples":{samples},"bytes":{bytes}}}]}}"#),
            ).unwrap();
            fs::write(dir.path().join("shard-000000.idx"), &index).unwrap();
            fs::write(dir.path().join("shard-000000.jsonl"), b"{}\n").unwrap();
            if let Ok(store) = SampleStore::open(dir.path()) {
                for i in 0..store.len().min(4) {
                    let _ = store.get(i);
                }
            }
        }
    }
}

/// A writer that received nothing still leaves a store readers accept (empty), e.g. when a run skipped
/// every record.
#[test]
fn a_finished_writer_without_samples_leaves_an_empty_store() {
    let dir = tempfile::tempdir().unwrap();
    let w = SampleStoreWriter::open(dir.path()).unwrap();
    assert_eq!(w.finish().unwrap(), 0);
    let store = SampleStore::open(dir.path()).unwrap();
    assert!(store.is_empty());
}
