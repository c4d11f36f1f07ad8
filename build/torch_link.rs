// Shared by every build.rs whose crate links a binary or test that uses libtorch (`include!`d there).
// Why: link arguments do not propagate from dependencies, so each such crate must emit them itself.
// 1. rpath to libtorch, so binaries run without LD_LIBRARY_PATH (the dev venv's copy, and the fixed path
//    on the lent GPU machines; missing directories are skipped by the loader).
// 2. Force-link libtorch_cuda: rustc links with --as-needed, which would drop it (no symbol is referenced)
//    and CUDA would then never register its backend on a GPU machine.
const GPU_MACHINE_TORCH_LIB: &str = "/opt/torch/.venv/lib/python3.12/site-packages/torch/lib";

fn torch_link_args() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
        if std::path::Path::new(&lib).join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-search=native={lib}");
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
    println!("cargo:rustc-link-arg=-Wl,-rpath,{GPU_MACHINE_TORCH_LIB}");
}
