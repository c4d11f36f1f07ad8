//! `vln_r1._native`: the Rust half of the `vln_r1` Python package. Only bindings live here: every
//! behaviour is a call into `env`, `episodes` or `habitat_assets`, the functions the `vln-r1` CLI calls.
//! Panics become Python `PanicException`s (PyO3 catches them at the boundary), never an abort.

mod data;
mod datagen;
mod errors;
mod eval;
mod obs;
mod options;
mod single;
mod vector;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<single::NativeEnv>()?;
    m.add_class::<vector::NativeVecEnv>()?;
    m.add_class::<eval::EvalRun>()?;
    m.add_class::<eval::EvalWorker>()?;
    m.add_class::<datagen::DatagenJob>()?;
    m.add_function(wrap_pyfunction!(data::geodesic_distance, m)?)?;
    m.add_function(wrap_pyfunction!(data::load_episodes, m)?)?;
    m.add_function(wrap_pyfunction!(data::load_gt, m)?)?;
    m.add_function(wrap_pyfunction!(data::validate_episodes, m)?)?;
    m.add(
        "SHIPPED_SCENES",
        habitat_assets::shipped::scenes_dir().display().to_string(),
    )?;
    m.add(
        "SHIPPED_DATASET",
        env::episode_gen::shipped_dataset_dir()
            .display()
            .to_string(),
    )?;
    Ok(())
}
