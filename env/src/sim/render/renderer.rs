//! The egocentric renderer: cull, transform, clip and rasterise the scene into a visibility buffer, then
//! shade each pixel once. One `Renderer` per environment owns all buffers, so a frame allocates nothing.

use rayon::prelude::*;

use habitat_assets::Aabb;

use super::camera::{CameraPose, Intrinsics, MAX_IMAGE_SIDE};
use super::frame::Frame;
use super::raster::{ScreenVertex, VisibilityBuffer};
use super::scene_data::{dot, sub, NodeKind, SceneRenderData};
use super::shade::{shade_frame, View};
use crate::error::{EnvError, Result};

/// Signed distance of a camera-space point to one clip plane (inside when positive).
type ClipPlane<'a> = dyn Fn(&[f32; 3]) -> f32 + 'a;

/// What to render and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderConfig {
    pub intrinsics: Intrinsics,
    /// Also produce depth in metres.
    pub depth: bool,
    /// Near clipping distance in metres (Habitat's default is 0.01).
    pub near: f32,
    /// Skip the back faces of single-sided materials, as glTF 2.0 specifies (`doubleSided: false` means
    /// back-face culling); double-sided materials are always drawn from both sides. On by default.
    pub cull_back_faces: bool,
    /// Colour where nothing is hit.
    pub background: [u8; 3],
}

impl RenderConfig {
    /// RGB only, the given size and horizontal field of view, everything else at its default.
    pub fn new(width: u32, height: u32, hfov_deg: f32) -> Self {
        RenderConfig {
            intrinsics: Intrinsics {
                width,
                height,
                hfov_deg,
            },
            ..Self::default()
        }
    }

    pub fn with_depth(mut self, depth: bool) -> Self {
        self.depth = depth;
        self
    }

    pub fn validate(&self) -> Result<()> {
        self.intrinsics.validate()?;
        if !(self.near > 0.0 && self.near.is_finite()) {
            return Err(EnvError::Invalid(format!(
                "render: near plane {} must be a positive distance",
                self.near
            )));
        }
        Ok(())
    }
}

impl Default for RenderConfig {
    /// The R2R-CE RGB sensor: 224x224, 90 degree horizontal field of view, no depth.
    fn default() -> Self {
        RenderConfig {
            intrinsics: Intrinsics {
                width: 224,
                height: 224,
                hfov_deg: 90.0,
            },
            depth: false,
            near: 0.01,
            cull_back_faces: true,
            background: [0, 0, 0],
        }
    }
}

/// A camera-space vertex: x right, y up, w forward (view depth), plus clip flags.
#[derive(Debug, Clone, Copy, Default)]
struct CamVertex {
    x: f32,
    y: f32,
    w: f32,
    /// Bits `OUT_*`: which culling planes the vertex is outside of.
    out: u8,
}

// Culling planes: a triangle with all three vertices outside one of these is invisible.
const OUT_NEAR: u8 = 1;
const OUT_LEFT: u8 = 2;
const OUT_RIGHT: u8 = 4;
const OUT_TOP: u8 = 8;
const OUT_BOTTOM: u8 = 16;
// Clipping planes: a triangle with a vertex outside one of these must be clipped before rasterising.
const CLIP_GUARD: u8 = 32;
const CULL_MASK: u8 = OUT_NEAR | OUT_LEFT | OUT_RIGHT | OUT_TOP | OUT_BOTTOM;
const CLIP_MASK: u8 = OUT_NEAR | CLIP_GUARD;

/// The maximum vertices a triangle has after clipping against five planes.
const MAX_CLIPPED: usize = 8;

/// Renders frames of any `SceneRenderData` with one fixed configuration.
#[derive(Debug, Clone)]
pub struct Renderer {
    config: RenderConfig,
    vis: VisibilityBuffer,
    frame: Frame,
    cam_vertices: Vec<CamVertex>,
    stack: Vec<u32>,
}

impl Renderer {
    pub fn new(config: RenderConfig) -> Result<Self> {
        config.validate()?;
        let (w, h) = (config.intrinsics.width, config.intrinsics.height);
        Ok(Renderer {
            config,
            vis: VisibilityBuffer::new(w as usize, h as usize),
            frame: Frame::new(w, h, config.depth),
            cam_vertices: Vec::new(),
            stack: Vec::new(),
        })
    }

    pub fn config(&self) -> &RenderConfig {
        &self.config
    }

    /// The last rendered frame.
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// Renders `scene` seen from `pose` and returns the frame (valid until the next call).
    pub fn render(&mut self, scene: &SceneRenderData, pose: &CameraPose) -> &Frame {
        let view = View::new(pose, &self.config.intrinsics);
        self.vis.clear();
        self.rasterize(scene, &view);
        shade_frame(
            &self.vis,
            scene,
            &view,
            self.config.background,
            &mut self.frame,
        );
        &self.frame
    }

    fn rasterize(&mut self, scene: &SceneRenderData, view: &View) {
        if scene.nodes.is_empty() {
            return;
        }
        let planes = view.world_planes(self.config.near);
        self.stack.clear();
        self.stack.push(0);
        while let Some(ni) = self.stack.pop() {
            let node = &scene.nodes[ni as usize];
            if planes.iter().any(|p| p.box_outside(&node.bounds)) {
                continue;
            }
            match node.kind {
                NodeKind::Inner { left, right, axis } => {
                    // Visit the child nearer along the camera's forward direction first, so nearer surfaces
                    // fill the depth buffer early and later ones fail the depth test before writing.
                    if view.basis.forward[axis as usize] >= 0.0 {
                        self.stack.push(right);
                        self.stack.push(left);
                    } else {
                        self.stack.push(left);
                        self.stack.push(right);
                    }
                }
                NodeKind::Leaf { chunk } => {
                    if !self.chunk_occluded(&node.bounds, view) {
                        self.draw_chunk(scene, view, chunk as usize);
                        self.vis.refresh_occlusion();
                    }
                }
            }
        }
    }

    /// True when the box is entirely hidden behind what is already drawn (tested on its screen rectangle
    /// at its nearest depth). Boxes reaching the near plane are never considered hidden.
    fn chunk_occluded(&self, b: &Aabb, view: &View) -> bool {
        let (mut x0, mut y0, mut x1, mut y1) = (
            f32::INFINITY,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NEG_INFINITY,
        );
        let mut nearest = 0.0f32;
        for corner in 0..8 {
            let p = [0, 1, 2].map(|k| {
                if corner & (1 << k) != 0 {
                    b.max[k]
                } else {
                    b.min[k]
                }
            });
            let d = sub(p, view.eye);
            let w = dot(d, view.basis.forward);
            if w < self.config.near {
                return false;
            }
            let s = view.project(dot(d, view.basis.right), dot(d, view.basis.up), w);
            (x0, y0, x1, y1) = (x0.min(s.x), y0.min(s.y), x1.max(s.x), y1.max(s.y));
            nearest = nearest.max(s.depth_key);
        }
        let clamp = |v: f32| v.clamp(-1.0, MAX_IMAGE_SIDE as f32 + 1.0) as i64;
        self.vis.rect_occluded(
            clamp(x0.floor()),
            clamp(y0.floor()),
            clamp(x1.ceil()),
            clamp(y1.ceil()),
            nearest,
        )
    }

    fn draw_chunk(&mut self, scene: &SceneRenderData, view: &View, chunk_index: usize) {
        let chunk = &scene.chunks[chunk_index];
        let near = self.config.near;
        let (tx, ty) = (view.tan_half_x, view.tan_half_y);
        let (gx, gy) = (view.guard_x, view.guard_y);
        let b = view.basis;
        let verts = &scene.chunk_positions
            [chunk.vert_start as usize..(chunk.vert_start + chunk.vert_count) as usize];
        self.cam_vertices.clear();
        self.cam_vertices.extend(verts.iter().map(|&p| {
            let d = sub(p, view.eye);
            let (x, y, w) = (dot(d, b.right), dot(d, b.up), dot(d, b.forward));
            let mut out = 0u8;
            out |= OUT_NEAR * (w < near) as u8;
            out |= OUT_LEFT * (x < -tx * w) as u8;
            out |= OUT_RIGHT * (x > tx * w) as u8;
            out |= OUT_TOP * (y > ty * w) as u8;
            out |= OUT_BOTTOM * (y < -ty * w) as u8;
            out |= CLIP_GUARD * (x.abs() > gx * w || y.abs() > gy * w) as u8;
            CamVertex { x, y, w, out }
        }));
        let cull_back = self.config.cull_back_faces && chunk.any_single_sided;
        let start = chunk.tri_start as usize;
        let end = start + chunk.tri_count as usize;
        for t in start..end {
            let li = scene.local_indices[t];
            let v = [
                self.cam_vertices[li[0] as usize],
                self.cam_vertices[li[1] as usize],
                self.cam_vertices[li[2] as usize],
            ];
            if v[0].out & v[1].out & v[2].out & CULL_MASK != 0 {
                continue;
            }
            if cull_back && scene.single_sided[t] {
                let tri = &scene.tris[t];
                if dot(tri.n, sub(view.eye, tri.v0)) <= 0.0 {
                    continue;
                }
            }
            if (v[0].out | v[1].out | v[2].out) & CLIP_MASK == 0 {
                self.vis
                    .draw_triangle(v.map(|c| view.project(c.x, c.y, c.w)), t as u32);
            } else {
                self.draw_clipped(view, v, t as u32);
            }
        }
    }

    /// Clips against the near plane and the guard band in camera space, then draws the polygon as a fan.
    fn draw_clipped(&mut self, view: &View, v: [CamVertex; 3], id: u32) {
        let near = self.config.near;
        let (gx, gy) = (view.guard_x, view.guard_y);
        let planes: [&ClipPlane<'_>; 5] = [
            &|p| p[2] - near,
            &|p| gx * p[2] - p[0],
            &|p| gx * p[2] + p[0],
            &|p| gy * p[2] - p[1],
            &|p| gy * p[2] + p[1],
        ];
        let mut poly = [[0.0f32; 3]; MAX_CLIPPED];
        let mut n = 3;
        for (k, c) in v.iter().enumerate() {
            poly[k] = [c.x, c.y, c.w];
        }
        let mut next = [[0.0f32; 3]; MAX_CLIPPED];
        for plane in planes {
            let mut m = 0;
            for i in 0..n {
                let a = poly[i];
                let b = poly[(i + 1) % n];
                let (da, db) = (plane(&a), plane(&b));
                if da >= 0.0 {
                    next[m] = a;
                    m += 1;
                }
                if (da >= 0.0) != (db >= 0.0) && m < MAX_CLIPPED {
                    // Interpolate from the inside vertex to the outside one, so the two triangles sharing this
                    // edge compute the same point bit for bit (no crack along the clipped edge).
                    let (inside, outside, di, dout) = if da >= 0.0 {
                        (a, b, da, db)
                    } else {
                        (b, a, db, da)
                    };
                    let s = di / (di - dout);
                    next[m] = [0, 1, 2].map(|k| inside[k] + s * (outside[k] - inside[k]));
                    m += 1;
                }
            }
            n = m;
            if n < 3 {
                return;
            }
            poly[..n].copy_from_slice(&next[..n]);
        }
        let s: [ScreenVertex; MAX_CLIPPED] = poly.map(|p| view.project(p[0], p[1], p[2].max(near)));
        for i in 1..n - 1 {
            self.vis.draw_triangle([s[0], s[i], s[i + 1]], id);
        }
    }
}

/// One render request of a batch: which scene, from where.
#[derive(Debug, Clone, Copy)]
pub struct RenderJob<'a> {
    pub scene: &'a SceneRenderData,
    pub pose: CameraPose,
}

/// Renders `jobs[i]` with `renderers[i]` for all i, in parallel on the current rayon pool (one camera per
/// task). Results do not depend on the number of threads.
pub fn render_batch(renderers: &mut [Renderer], jobs: &[RenderJob<'_>]) -> Result<()> {
    if renderers.len() != jobs.len() {
        return Err(EnvError::Invalid(format!(
            "render_batch: {} renderers for {} jobs",
            renderers.len(),
            jobs.len()
        )));
    }
    renderers
        .par_iter_mut()
        .zip(jobs.par_iter())
        .for_each(|(r, job)| {
            r.render(job.scene, &job.pose);
        });
    Ok(())
}
