//! Helpers shared by the CLI integration tests: run the built `vln-r1` binary and read its output.
// Each test crate uses its own subset.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

pub fn vln_r1(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vln-r1"))
        .args(args)
        .output()
        .expect("vln-r1 runs")
}

/// Stdout of a run that must have succeeded (stderr in the failure message otherwise).
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "vln-r1 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// `vln-r1 model init --preset tiny --out PATH --seed SEED`.
pub fn init_tiny(path: &Path, seed: u64) {
    ok(&vln_r1(&[
        "model",
        "init",
        "--preset",
        "tiny",
        "--out",
        p(path),
        "--seed",
        &seed.to_string(),
    ]));
}
