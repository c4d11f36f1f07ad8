//! `scripts/gpu/check.sh --smoke`: the GPU check's CPU smoke mode runs end to end with the debug binary (tiny
//! model, cpu), so the script that only runs on a lent GPU machine is exercised by every CI run.

use std::process::Command;

#[test]
fn gpu_check_script_runs_in_smoke_mode() {
    let out = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let run = Command::new("bash")
        .arg(format!("{root}/scripts/gpu/check.sh"))
        .arg("--smoke")
        .arg(out.path().join("check"))
        .env("VLN_R1_BIN", env!("CARGO_BIN_EXE_vln-r1"))
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "check.sh --smoke failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let report = std::fs::read_to_string(out.path().join("check/check.txt")).unwrap();
    for needle in [
        "== devices",
        "cuda_available=",
        "tiny: ",
        "max |cpu - other|",
        "== SFT step time",
        "\"impl\": \"vln-r1\"",
        "== GRPO step time",
        "episodes/hour",
        "== done",
    ] {
        assert!(
            report.contains(needle),
            "{needle:?} missing from:\n{report}"
        );
    }
}
