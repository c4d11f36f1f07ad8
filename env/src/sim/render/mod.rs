//! Egocentric CPU rendering (RGB, depth) and top-down maps.
//!
//! The policy sees the world only through these frames, so this is the simulator's hot path. Habitat
//! renders on a GPU; we render on the CPU with a deferred software rasteriser:
//! 1. `SceneRenderData` (once per scene): triangles grouped into chunks under a BVH, per-triangle shading
//!    records, mip-mapped textures, lighting baked into vertex colours.
//! 2. `Renderer::render` (per frame, allocation-free): frustum-cull BVH nodes front to back, transform the
//!    visible chunks' vertices, clip triangles that cross the near plane or the guard band in camera space,
//!    rasterise with exact fixed-point edge functions into a visibility buffer (depth + triangle id).
//! 3. Shade each pixel once: ray/plane intersection gives perspective-correct barycentrics; bilinear texture
//!    sampling at a per-pixel mip level; fixed lighting.
//!
//! Batches of environments render in parallel with `render_batch` (one camera per rayon task); a frame's
//! pixels never depend on thread scheduling.
//!
//! Why hand-written: the maintained CPU rasteriser crates (e.g. `euc`) are generic shader pipelines that
//! interpolate every attribute per fragment and shade before the depth test. They have no scene-level
//! culling or chunking, no clipping of triangles that cross the near plane into a guard band, no mip-mapped
//! texture sampling and no visibility-buffer (shade-once) path, which together are what make ~1,000+
//! frames/s per core on indoor scenes possible. Image encoding and texture resizing use the `image` crate.

mod camera;
mod floors;
mod frame;
mod poses;
mod raster;
mod renderer;
mod scene_data;
mod shade;
mod texture;
mod topdown;

pub use camera::{CameraBasis, CameraPose, Intrinsics, DEFAULT_SENSOR_HEIGHT, MAX_IMAGE_SIDE};
pub use floors::floor_levels;
pub use frame::Frame;
pub use poses::sample_floor_poses;
pub use renderer::{render_batch, RenderConfig, RenderJob, Renderer};
pub use scene_data::{Lighting, SceneRenderData};
pub use texture::{MipTexture, MAX_TEXTURE_SIDE};
pub use topdown::{TopDownMap, LEVEL_ABOVE, LEVEL_BELOW, MAX_MAP_SIDE};
