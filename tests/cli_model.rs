//! End-to-end: `vln-r1 model init`, `model forward` and `model generate` on a fresh tiny checkpoint.
//! (Parity of the same code path with transformers is agent's tests/parity.rs.)

use std::path::Path;

use tch::{Kind, Tensor};

mod common;
use common::{init_tiny, ok, p, vln_r1};

#[test]
fn init_forward_and_generate_on_a_tiny_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("tiny");
    init_tiny(&ckpt, 2);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.join("config.json")).unwrap()).unwrap();
    let vocab = config["text_config"]["vocab_size"].as_i64().unwrap();

    image::RgbImage::from_fn(90, 60, |x, y| image::Rgb([x as u8, y as u8, 128]))
        .save(dir.path().join("view.png"))
        .unwrap();
    let messages = dir.path().join("chat.json");
    std::fs::write(
        &messages,
        r#"[{"role": "user", "content": [{"type": "image", "image": "view.png"}, {"type": "text", "text": "Where is the door?"}]}]"#,
    )
    .unwrap();

    let out = dir.path().join("logits.safetensors");
    ok(&vln_r1(&[
        "model",
        "forward",
        "--model",
        p(&ckpt),
        "--messages",
        p(&messages),
        "--out",
        p(&out),
    ]));
    let tensors: std::collections::HashMap<String, Tensor> = Tensor::read_safetensors(&out)
        .unwrap()
        .into_iter()
        .collect();
    let (logits, ids) = (&tensors["logits"], &tensors["input_ids"]);
    assert_eq!(logits.kind(), Kind::Float);
    assert_eq!(logits.size(), [ids.size()[0], vocab]);
    // 90×60 resizes to 84×56: 6×4 patches → 6 image tokens, plus the template text.
    assert!(ids.size()[0] > 6);
    assert!(logits.isfinite().all().int64_value(&[]) == 1);
    // Same input, same numbers.
    let again = dir.path().join("again.safetensors");
    ok(&vln_r1(&[
        "model",
        "forward",
        "--model",
        p(&ckpt),
        "--messages",
        p(&messages),
        "--out",
        p(&again),
    ]));
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&again).unwrap());

    ok(&vln_r1(&[
        "model",
        "generate",
        "--model",
        p(&ckpt),
        "--messages",
        p(&messages),
        "--max-new-tokens",
        "4",
    ]));

    std::fs::write(
        &messages,
        r#"[{"role": "user", "content": [{"type": "image", "image": "nope.png"}]}]"#,
    )
    .unwrap();
    let failed = vln_r1(&[
        "model",
        "forward",
        "--model",
        p(&ckpt),
        "--messages",
        p(&messages),
        "--out",
        p(&out),
    ]);
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.contains("chat.json") && err.contains("content 0") && err.contains("nope.png"),
        "{err}"
    );
}

/// `eval --stop-bias`: a negative value parses, the bias decides when the model stops, an eval directory made
/// with one bias is not resumed with another, and a checkpoint's recorded bias is the default the flag overrides.
#[test]
fn eval_stop_bias_moves_stop_and_is_part_of_the_resume_check() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("tiny");
    init_tiny(&ckpt, 3);
    let policy = format!("model:{}", p(&ckpt));
    let eval = |bias: Option<&str>, out: &Path| {
        let mut args = vec![
            "eval",
            "--policy",
            &policy,
            "--split",
            "val_unseen",
            "--episodes",
            "2",
            "--envs",
            "2",
            "--max-steps",
            "12",
            "--width",
            "56",
            "--height",
            "56",
            "--memory",
            "uniform:2",
            "--future",
            "3",
            "--execute",
            "3",
            "--device",
            "cpu",
            "--out",
            p(out),
        ];
        if let Some(b) = bias {
            args.extend(["--stop-bias", b]);
        }
        vln_r1(&args)
    };
    let steps = |out: &Path| {
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap())
                .unwrap();
        m["metrics"]["steps"].as_f64().unwrap()
    };
    let eager = dir.path().join("eager");
    let table = ok(&eval(Some("10000"), &eager));
    assert!(table.contains("stop_bias=10000"), "{table}");
    assert_eq!(steps(&eager), 1.0, "STOP is the first action");
    let never = dir.path().join("never");
    ok(&eval(Some("-10000"), &never));
    assert_eq!(
        steps(&never),
        12.0,
        "never STOP: the step cap ends both episodes"
    );
    let other = eval(Some("-5"), &never);
    assert!(!other.status.success());
    assert!(
        String::from_utf8_lossy(&other.stderr).contains("cannot resume"),
        "{}",
        String::from_utf8_lossy(&other.stderr)
    );

    // The bias chosen for these weights, recorded with the settings they run with.
    let settings = serde_json::json!({
        "memory": "uniform:2", "num_actions": 3, "width": 56, "height": 56, "hfov_deg": 90.0,
        "agent": {"height": 1.5, "radius": 0.1, "max_step": 0.2, "forward_step": 0.25,
                  "turn_angle_deg": 15, "allow_sliding": true},
        "execute": 3, "stop_bias": 10000.0
    });
    std::fs::write(ckpt.join("navigation.json"), settings.to_string()).unwrap();
    let recorded = dir.path().join("recorded");
    let table = ok(&eval(None, &recorded));
    assert!(table.contains("stop_bias=10000"), "{table}");
    assert_eq!(steps(&recorded), 1.0, "the recorded bias stops at once");
    let overridden = dir.path().join("overridden");
    ok(&eval(Some("-10000"), &overridden));
    assert_eq!(
        steps(&overridden),
        12.0,
        "the flag overrides the recorded bias"
    );
}

/// A checkpoint's `navigation.json` decides the memory, N, frame size and agent of `--policy model:DIR` when no
/// flag says otherwise (so an eval of a trained navigator needs no flags), and a flag that contradicts it is
/// refused, naming both.
#[test]
fn a_checkpoint_runs_with_its_recorded_settings() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("tiny");
    init_tiny(&ckpt, 4);
    let settings = serde_json::json!({
        "memory": "uniform:2",
        "num_actions": 3,
        "width": 56,
        "height": 48,
        "hfov_deg": 90.0,
        "agent": {"height": 1.5, "radius": 0.1, "max_step": 0.2, "forward_step": 0.25,
                  "turn_angle_deg": 15, "allow_sliding": true},
        "stop_radius": 1.5
    });
    std::fs::write(ckpt.join("navigation.json"), settings.to_string()).unwrap();
    let policy = format!("model:{}", p(&ckpt));
    let rollout = |out: &Path, extra: &[&str]| {
        let mut args = vec![
            "rollout",
            "--policy",
            &policy,
            "--split",
            "val_unseen",
            "--episodes",
            "1",
            "--max-steps",
            "4",
            "--device",
            "cpu",
            "--out",
            p(out),
        ];
        args.extend_from_slice(extra);
        vln_r1(&args)
    };
    let out = dir.path().join("rollout");
    ok(&rollout(&out, &["--future", "3"]));
    let gif = find_file(&out, "gif").expect("a rollout GIF");
    assert_eq!(image::image_dimensions(&gif).unwrap(), (56, 48));

    let refused = rollout(&dir.path().join("other"), &["--width", "224"]);
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("--width 224") && err.contains("navigation.json width 56"),
        "{err}"
    );
    let refused = rollout(&dir.path().join("other"), &["--memory", "uniform:4"]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("uniform:4") && err.contains("uniform:2"),
        "{err}"
    );
}

fn find_file(dir: &Path, ext: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(f) = find_file(&path, ext) {
                return Some(f);
            }
        } else if path.extension().is_some_and(|e| e == ext) {
            return Some(path);
        }
    }
    None
}

/// `--device` and `--dtype` are parsed by one typed parser (agent::DeviceChoice / DType) in every command.
#[test]
fn device_and_dtype_flags_share_one_parser() {
    for args in [
        &[
            "model",
            "forward",
            "--model",
            "m",
            "--messages",
            "c.json",
            "--out",
            "o",
            "--device",
            "gpu",
        ][..],
        &["eval", "--policy", "random", "--device", "gpu"][..],
        &[
            "rft", "--data", "d", "--model", "m", "--out", "o", "--device", "gpu",
        ][..],
    ] {
        let out = vln_r1(args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("\"gpu\" is not one of auto, cpu, cuda, cuda:N"),
            "{args:?}: {err}"
        );
    }
    let out = vln_r1(&[
        "model", "init", "--preset", "tiny", "--out", "x", "--dtype", "int8",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"int8\" is not float32, bfloat16 or float16"),
        "{err}"
    );
}
