//! `vln-r1 demo` end to end with a smoke budget, from scratch and from the committed navigator: every stage
//! runs, every artefact the report names exists and is valid, a rerun reuses everything, and a rerun with
//! another budget is refused.

mod common;

use std::path::Path;

use common::{ok, p, text, vln_r1};

fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `vln-r1 demo` with the smoke budget on one thread into `out`, the start's flags first.
fn smoke_demo(start: &[&str], out: &Path) -> String {
    let mut args = vec!["demo"];
    args.extend_from_slice(start);
    args.extend_from_slice(&["--out", p(out), "--minutes", "1", "--threads", "1"]);
    ok(&vln_r1(&args))
}

#[test]
fn demo_from_scratch_writes_a_valid_report_and_reuses_its_stages() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let first = smoke_demo(&["--from-scratch"], &out);
    assert!(first.contains("demo done"), "{first}");
    // The model evals say how many answers did not parse (the metrics alone hide why a model stops).
    assert!(
        first.contains("not exactly 6 valid options"),
        "no policy report in: {first}"
    );

    let report = json(&out.join("report.json"));
    let rows = report["table"].as_array().expect("table is a list");
    let labels: Vec<&str> = rows.iter().map(|r| r["policy"].as_str().unwrap()).collect();
    assert_eq!(
        labels,
        [
            "random",
            "forward",
            "oracle (expert follower)",
            "SFT",
            "SFT + RFT (offline GRPO)"
        ]
    );
    let episodes = report["plan"]["eval_episodes"].as_u64().unwrap();
    for row in rows {
        let m = &row["metrics"];
        assert_eq!(m["episodes"].as_u64(), Some(episodes), "{row}");
        let sr = m["sr"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&sr), "{row}");
        // The row is the eval's own metrics.json.
        let eval = json(
            &out.join(row["eval_dir"].as_str().unwrap())
                .join("metrics.json"),
        );
        assert_eq!(eval["metrics"], *m);
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    for label in &labels {
        assert!(
            md.contains(&format!("| {label} |")),
            "{label} missing from report.md"
        );
    }

    // Every picture decodes, every trajectory parses, and the report links them.
    let rollouts = report["rollouts"].as_array().unwrap();
    assert!(rollouts.iter().any(|r| r["policy"] == "oracle"));
    assert!(rollouts.iter().any(|r| r["policy"] == "SFT + RFT"));
    for r in rollouts {
        let map = r["map"].as_str().unwrap();
        let video = r["video"].as_str().unwrap();
        let png = image::open(out.join(map)).unwrap_or_else(|e| panic!("{map}: {e}"));
        assert!(png.width() > 0 && png.height() > 0);
        let gif = image::ImageReader::open(out.join(video))
            .unwrap()
            .with_guessed_format()
            .unwrap();
        assert_eq!(gif.format(), Some(image::ImageFormat::Gif), "{video}");
        gif.decode().unwrap_or_else(|e| panic!("{video}: {e}"));
        let traj = std::fs::read_to_string(out.join(r["trajectory"].as_str().unwrap())).unwrap();
        assert!(traj.lines().count() > 0);
        for line in traj.lines() {
            serde_json::from_str::<serde_json::Value>(line).unwrap();
        }
        assert!(md.contains(map) && md.contains(video));
    }
    // Checkpoints in HF layout.
    for model in ["model/init", "model/sft/final", "model/rft/final"] {
        json(&out.join(model).join("config.json"));
        assert!(
            out.join(model).join("model.safetensors").is_file(),
            "{model}"
        );
    }
    let stages = report["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 11);
    assert!(stages
        .iter()
        .all(|s| s["command"].as_str().unwrap().starts_with("vln-r1 ")));

    // A rerun reuses every stage and reports the same table.
    let second = smoke_demo(&["--from-scratch"], &out);
    assert_eq!(second.matches("(done, reused)").count(), 11, "{second}");
    let again = json(&out.join("report.json"));
    assert_eq!(again["table"], report["table"]);

    // Another budget in the same directory is refused, naming the stored one.
    let other = vln_r1(&["demo", "--from-scratch", "--out", p(&out), "--minutes", "2"]);
    assert!(!other.status.success());
    let err = text(&other.stderr);
    assert!(err.contains("--minutes 1"), "{err}");
    // So is the navigator start in a scratch run's directory.
    let other = vln_r1(&["demo", "--out", p(&out), "--minutes", "1"]);
    assert!(!other.status.success());
    let err = text(&other.stderr);
    assert!(err.contains("--from-scratch"), "{err}");
}

/// The default demo starts from the committed navigator (agent/checkpoints/tiny-nav): closed-loop GRPO from
/// it, and a table of the baselines, the navigator and the navigator after GRPO.
#[test]
fn demo_starts_from_the_committed_navigator() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = smoke_demo(&[], &out);
    assert!(run.contains("demo done"), "{run}");
    let report = json(&out.join("report.json"));
    let labels: Vec<&str> = report["table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["policy"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels,
        [
            "random",
            "forward",
            "oracle (expert follower)",
            "navigator",
            "navigator + RFT (online GRPO)"
        ]
    );
    let stages = report["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 8);
    let rft = stages[0]["command"].as_str().unwrap();
    assert!(
        rft.contains("rft --online") && rft.contains("checkpoints/tiny-nav"),
        "{rft}"
    );
    // No data generation or SFT: the navigator is the starting point.
    assert!(!out.join("data").exists() && !out.join("model/sft").exists());
    // The trained model carries the navigator's settings and the actions per decision it trained with.
    let nav = json(&out.join("model/rft/final/navigation.json"));
    let shipped = json(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("agent/checkpoints/tiny-nav/navigation.json"),
    );
    assert_eq!(nav["memory"], shipped["memory"]);
    assert_eq!(nav["width"], shipped["width"]);
    assert_eq!(nav["execute"], 6);
    // The navigator rows run with the checkpoint's own settings: no frame or memory flag on their lines.
    let eval = stages[4]["command"].as_str().unwrap();
    assert!(
        eval.contains("model:") && !eval.contains("--memory") && !eval.contains("--width"),
        "{eval}"
    );
    assert!(report["rollouts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["policy"] == "navigator + RFT"));
}
