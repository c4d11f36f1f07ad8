//! Observations and infos as Python objects. A single environment's frame becomes a numpy array that owns
//! the Rust buffer (no copy); a batch is gathered into one `(num_envs, H, W, C)` array (one copy, which the
//! batched layout needs).

use std::sync::Arc;

use env::measures::EpisodeMetrics;
use env::task::{DepthImage, Observation};
use image::RgbImage;
use numpy::{PyArray1, PyArray4, PyArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// An `Arc`ed buffer's contents, without a copy when this is the only reference.
fn take<T: Clone>(a: Arc<T>) -> T {
    Arc::try_unwrap(a).unwrap_or_else(|shared| (*shared).clone())
}

/// The RGB frame as an `(H, W, 3)` uint8 array over the frame's own buffer.
pub fn rgb_array(py: Python<'_>, image: Arc<RgbImage>) -> PyResult<PyObject> {
    let image = take(image);
    let (w, h) = (image.width() as usize, image.height() as usize);
    let flat = PyArray1::from_vec(py, image.into_raw());
    Ok(flat.reshape([h, w, 3])?.into_any().unbind())
}

/// The depth frame as an `(H, W, 1)` float32 array (metres) over the frame's own buffer.
pub fn depth_array(py: Python<'_>, image: Arc<DepthImage>) -> PyResult<PyObject> {
    let image = take(image);
    let (w, h) = (image.width() as usize, image.height() as usize);
    let flat = PyArray1::from_vec(py, image.into_raw());
    Ok(flat.reshape([h, w, 1])?.into_any().unbind())
}

/// Gathers the frames of a batch into one array of shape `(n, H, W, C)`.
fn gather<T: numpy::Element + Copy>(
    py: Python<'_>,
    frames: &[&[T]],
    dims: [usize; 3],
) -> PyResult<PyObject> {
    let n = frames.len();
    // SAFETY: every element is written below before the array is handed to Python.
    let array = unsafe { PyArray4::<T>::new(py, [n, dims[0], dims[1], dims[2]], false) };
    {
        // SAFETY: the array was just created here, nothing else refers to it.
        let out = unsafe { array.as_slice_mut()? };
        let each = dims.iter().product::<usize>();
        for (chunk, frame) in out.chunks_exact_mut(each).zip(frames) {
            chunk.copy_from_slice(frame);
        }
    }
    Ok(array.into_any().unbind())
}

/// The RGB frames of a batch (every observation has one: the RGB sensor is always on).
pub fn rgb_batch(
    py: Python<'_>,
    observations: &[Observation],
    h: u32,
    w: u32,
) -> PyResult<PyObject> {
    let frames: Vec<&[u8]> = observations
        .iter()
        .map(|o| o.rgb.as_ref().map_or(&[][..], |f| f.as_raw().as_slice()))
        .collect();
    check_sizes(&frames, (h * w * 3) as usize)?;
    gather(py, &frames, [h as usize, w as usize, 3])
}

/// The depth frames of a batch, when the depth sensor is on.
pub fn depth_batch(
    py: Python<'_>,
    observations: &[Observation],
    h: u32,
    w: u32,
) -> PyResult<Option<PyObject>> {
    if observations.iter().any(|o| o.depth.is_none()) {
        return Ok(None);
    }
    let frames: Vec<&[f32]> = observations
        .iter()
        .map(|o| o.depth.as_ref().map_or(&[][..], |f| f.as_raw().as_slice()))
        .collect();
    check_sizes(&frames, (h * w) as usize)?;
    gather(py, &frames, [h as usize, w as usize, 1]).map(Some)
}

fn check_sizes<T>(frames: &[&[T]], want: usize) -> PyResult<()> {
    match frames.iter().find(|f| f.len() != want) {
        Some(f) => Err(crate::errors::value_error(format!(
            "frame of {} values where the sensor makes {want}",
            f.len()
        ))),
        None => Ok(()),
    }
}

/// `info["metrics"]`: the VLN-CE measures under the names habitat-lab's VLN-CE uses.
pub fn metrics_dict<'py>(py: Python<'py>, m: &EpisodeMetrics) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("success", m.sr)?;
    d.set_item("spl", m.spl)?;
    d.set_item("oracle_success", m.osr)?;
    d.set_item("ndtw", m.ndtw)?;
    d.set_item("sdtw", m.sdtw)?;
    d.set_item("path_length", m.tl)?;
    d.set_item("distance_to_goal", m.ne)?;
    d.set_item("collisions", m.collisions)?;
    d.set_item("steps", m.steps)?;
    Ok(d)
}
