//! Shared by the integration tests: the transformers reference fixtures (generated on demand) and comparisons.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use tch::{Kind, Tensor};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The project's Python (the venv made by scripts/bootstrap.sh), or `VLN_PYTHON`.
pub fn python() -> PathBuf {
    if let Ok(p) = std::env::var("VLN_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "{} is missing: run `. scripts/bootstrap.sh` first (it installs transformers)",
        venv.display()
    );
    venv
}

/// Runs a Python script of tests/parity with arguments; panics with its output on failure.
pub fn run_python(script: &str, args: &[&Path]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/parity")
        .join(script);
    let out = Command::new(python())
        .arg(&script)
        .args(args)
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .expect("running python");
    assert!(
        out.status.success(),
        "{} failed:\n{}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// FNV-1a of the script, so a changed script regenerates its references.
fn fingerprint(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// Directory of make_reference.py's outputs, generated once per script version (and per test binary run).
pub fn reference_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/parity/make_reference.py");
        let hash = fingerprint(&std::fs::read(&script).unwrap());
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("qwen2vl-reference-{hash:016x}"));
        if !dir.join("manifest.json").exists() {
            let tmp = dir.with_extension(format!("tmp{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            run_python("make_reference.py", &[&tmp]);
            // Another test binary may have finished first; either copy is fine.
            if std::fs::rename(&tmp, &dir).is_err() {
                let _ = std::fs::remove_dir_all(&tmp);
            }
        }
        dir
    })
}

pub fn read_tensors(path: &Path) -> HashMap<String, Tensor> {
    Tensor::read_safetensors(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_iter()
        .collect()
}

pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size(), "shapes differ");
    (a.to_kind(Kind::Float) - b.to_kind(Kind::Float))
        .abs()
        .max()
        .double_value(&[])
}
