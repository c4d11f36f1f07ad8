//! End-to-end: `vln-r1 episodes validate|stats` on the episodes crate's fixtures.

use std::path::{Path, PathBuf};

mod common;
use common::{text, vln_r1};

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("episodes/tests/fixtures")
        .join(rel)
}

#[test]
fn validate_and_stats_on_dataset_directories() {
    let r2r = fixture("r2r");
    let out = vln_r1(&["episodes", "validate", r2r.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("val_seen.json: 3 episodes"), "{stdout}");
    assert!(
        stdout.contains("val_seen_gt.json: 3 gt entries"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("OK: 2 files, 3 episodes, 3 gt entries\n"),
        "{stdout}"
    );

    let rxr = fixture("rxr");
    let out = vln_r1(&[
        "episodes",
        "stats",
        rxr.to_str().unwrap(),
        "--split",
        "val_unseen",
        "--language",
        "en-US",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("languages kept        en-US"), "{stdout}");
    assert!(stdout.contains("episodes              1\n"), "{stdout}");
    assert!(
        stdout.contains("geodesic distance (m) min 8.00"),
        "{stdout}"
    );
    assert!(stdout.contains("gt entries            3"), "{stdout}");
}

#[test]
fn invalid_input_fails_with_the_reason() {
    let bad = fixture("broken/quaternion.json");
    for cmd in ["validate", "stats"] {
        let out = vln_r1(&["episodes", cmd, bad.to_str().unwrap()]);
        assert!(!out.status.success());
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("quaternion.json: episode 2 (episodes[1]): start_rotation: quaternion"),
            "{stderr}"
        );
    }
    let out = vln_r1(&[
        "episodes",
        "validate",
        fixture("r2r").to_str().unwrap(),
        "--split",
        "train",
    ]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("no VLN-CE files of split \"train\""));
}
