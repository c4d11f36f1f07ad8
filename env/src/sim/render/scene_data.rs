//! Everything the renderer precomputes from a `Scene`, once, so that a frame only reads it:
//! - triangles regrouped into spatially compact chunks (the leaves of a bounding-volume hierarchy), each with
//!   its own small vertex array, so frustum culling skips whole chunks and a frame transforms only the
//!   vertices of visible chunks;
//! - one shading record per triangle (plane, barycentric gradients, uv, lit vertex colours), so shading a
//!   pixel needs only the triangle id left in the visibility buffer;
//! - mip-mapped textures.

use habitat_assets::{Aabb, Scene};

use super::texture::{linear_to_srgb, MipTexture};

/// A chunk holds at most this many triangles: small enough that culling is tight on million-triangle scans,
/// large enough that the per-chunk cost (frustum test, vertex transforms) is amortised.
const CHUNK_TRIANGLES: usize = 192;

/// Fixed lighting baked into vertex colours: `ambient + diffuse * (0.5 + 0.5 * n.l)` (a wrapped Lambert
/// term, so walls of all four orientations get distinct shades and nothing goes black). Double-sided
/// surfaces are lit with the normal facing the viewer, so both sides are precomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lighting {
    pub ambient: f32,
    pub diffuse: f32,
    /// Direction towards the light (normalised on use).
    pub direction: [f32; 3],
}

impl Lighting {
    /// No shading at all: textures and colours as authored (right for scans with baked-in lighting).
    pub const UNLIT: Lighting = Lighting {
        ambient: 1.0,
        diffuse: 0.0,
        direction: [0.0, 1.0, 0.0],
    };

    fn intensity(&self, n: [f32; 3]) -> f32 {
        let l = normalize(self.direction);
        let ndl = dot(n, l).clamp(-1.0, 1.0);
        (self.ambient + self.diffuse * (0.5 + 0.5 * ndl)).clamp(0.0, 1.0)
    }
}

impl Default for Lighting {
    fn default() -> Self {
        Lighting {
            ambient: 0.3,
            diffuse: 0.7,
            direction: [0.3, 1.0, 0.6],
        }
    }
}

/// What a pixel needs to shade one triangle (see the module docs). 104 bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TriShade {
    pub v0: [f32; 3],
    /// Unit face normal (counter-clockwise winding).
    pub n: [f32; 3],
    /// Barycentric gradients: for a point p in the plane, b1 = g1.(p - v0), b2 = g2.(p - v0).
    pub g1: [f32; 3],
    pub g2: [f32; 3],
    pub uv0: [f32; 2],
    pub duv1: [f32; 2],
    pub duv2: [f32; 2],
    /// Lit vertex colours, sRGB bytes packed RGBx, seen from the front and from the back.
    pub front: [u32; 3],
    pub back: [u32; 3],
    /// Texels per metre at mip level 0 (for the level of detail).
    pub texel_density: f32,
    /// Index into `SceneRenderData::textures`, or `NO_TEXTURE`.
    pub texture: u32,
}

pub(crate) const NO_TEXTURE: u32 = u32::MAX;

/// A BVH leaf: a run of triangles with their own vertex array.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Chunk {
    pub bounds: Aabb,
    pub tri_start: u32,
    pub tri_count: u32,
    pub vert_start: u32,
    pub vert_count: u32,
    /// Some triangle's material is single-sided (its back face may be culled when asked).
    pub any_single_sided: bool,
}

/// A BVH node: either two children or one chunk.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BvhNode {
    pub bounds: Aabb,
    pub kind: NodeKind,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum NodeKind {
    /// Children `left` and `left + 1`... stored as explicit indices; `axis` orders traversal front to back.
    Inner {
        left: u32,
        right: u32,
        axis: u8,
    },
    Leaf {
        chunk: u32,
    },
}

/// The renderer's immutable, shareable view of one scene (`Sync`: one copy serves every worker thread).
#[derive(Debug, Clone)]
pub struct SceneRenderData {
    pub(crate) tris: Vec<TriShade>,
    /// Per triangle: indices into its chunk's vertex array.
    pub(crate) local_indices: Vec<[u16; 3]>,
    /// Per triangle: its material is single-sided.
    pub(crate) single_sided: Vec<bool>,
    pub(crate) chunk_positions: Vec<[f32; 3]>,
    pub(crate) chunks: Vec<Chunk>,
    pub(crate) nodes: Vec<BvhNode>,
    pub(crate) textures: Vec<MipTexture>,
    bounds: Aabb,
    skipped_triangles: usize,
}

struct TriRef {
    mesh: u32,
    tri: u32,
    centroid: [f32; 3],
}

impl SceneRenderData {
    /// Prepares `scene` with the default lighting.
    pub fn new(scene: &Scene) -> Self {
        Self::with_lighting(scene, Lighting::default())
    }

    pub fn with_lighting(scene: &Scene, lighting: Lighting) -> Self {
        let textures: Vec<MipTexture> = scene.textures.iter().map(MipTexture::new).collect();

        // Collect drawable triangles: finite corners, non-zero area, indices in range. A scene that breaks
        // these is a loader bug, but one bad triangle must not poison a frame, so it is skipped and counted.
        let mut refs = Vec::with_capacity(scene.triangle_count());
        let mut skipped = 0usize;
        for (mi, mesh) in scene.meshes.iter().enumerate() {
            for (ti, t) in mesh.triangles.iter().enumerate() {
                let Some(p) = corners(&mesh.positions, t) else {
                    skipped += 1;
                    continue;
                };
                let n = cross(sub(p[1], p[0]), sub(p[2], p[0]));
                let area2 = dot(n, n);
                if !(area2 > 0.0 && area2.is_finite()) {
                    skipped += 1;
                    continue;
                }
                let centroid = [0, 1, 2].map(|k| (p[0][k] + p[1][k] + p[2][k]) / 3.0);
                refs.push(TriRef {
                    mesh: mi as u32,
                    tri: ti as u32,
                    centroid,
                });
            }
        }

        let mut data = SceneRenderData {
            tris: Vec::with_capacity(refs.len()),
            local_indices: Vec::with_capacity(refs.len()),
            single_sided: Vec::with_capacity(refs.len()),
            chunk_positions: Vec::new(),
            chunks: Vec::new(),
            nodes: Vec::new(),
            textures,
            bounds: Aabb::EMPTY,
            skipped_triangles: skipped,
        };
        if !refs.is_empty() {
            let mut builder = Builder {
                scene,
                lighting: normalize_lighting(lighting),
                vertex_base: vertex_bases(scene),
                texture_sizes: data_texture_sizes(&data.textures),
                stamp: vec![u32::MAX; scene.vertex_count()],
                local: vec![0; scene.vertex_count()],
            };
            let len = refs.len();
            builder.build(&mut data, &mut refs, 0, len);
            data.bounds = data.nodes[0].bounds;
        }
        data
    }

    /// World-space bounds of everything drawable.
    pub fn bounds(&self) -> Aabb {
        self.bounds
    }

    pub fn triangle_count(&self) -> usize {
        self.tris.len()
    }

    /// Triangles left out because they were degenerate or malformed.
    pub fn skipped_triangles(&self) -> usize {
        self.skipped_triangles
    }

    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
    }
}

fn normalize_lighting(l: Lighting) -> Lighting {
    Lighting {
        direction: normalize(l.direction),
        ..l
    }
}

fn data_texture_sizes(textures: &[MipTexture]) -> Vec<(f32, f32)> {
    textures
        .iter()
        .map(|t| (t.size().0 as f32, t.size().1 as f32))
        .collect()
}

fn vertex_bases(scene: &Scene) -> Vec<usize> {
    let mut bases = Vec::with_capacity(scene.meshes.len());
    let mut acc = 0;
    for m in &scene.meshes {
        bases.push(acc);
        acc += m.positions.len();
    }
    bases
}

fn corners(positions: &[[f32; 3]], t: &[u32; 3]) -> Option<[[f32; 3]; 3]> {
    let p = [
        positions.get(t[0] as usize)?,
        positions.get(t[1] as usize)?,
        positions.get(t[2] as usize)?,
    ];
    if p.iter().all(|v| v.iter().all(|c| c.is_finite())) {
        Some([*p[0], *p[1], *p[2]])
    } else {
        None
    }
}

struct Builder<'a> {
    scene: &'a Scene,
    lighting: Lighting,
    vertex_base: Vec<usize>,
    /// Level-0 size of each prepared texture (what the texel density must be measured in).
    texture_sizes: Vec<(f32, f32)>,
    /// Per global vertex: the chunk that last gave it a local index (avoids a hash map per chunk).
    stamp: Vec<u32>,
    local: Vec<u16>,
}

impl Builder<'_> {
    /// Builds the subtree over `refs[lo..hi]` and returns its node index.
    fn build(
        &mut self,
        data: &mut SceneRenderData,
        refs: &mut [TriRef],
        lo: usize,
        hi: usize,
    ) -> u32 {
        let node_index = data.nodes.len() as u32;
        data.nodes.push(BvhNode {
            bounds: Aabb::EMPTY,
            kind: NodeKind::Leaf { chunk: 0 },
        });
        if hi - lo <= CHUNK_TRIANGLES {
            let chunk = self.make_chunk(data, &refs[lo..hi]);
            data.nodes[node_index as usize] = BvhNode {
                bounds: data.chunks[chunk as usize].bounds,
                kind: NodeKind::Leaf { chunk },
            };
            return node_index;
        }
        let mut cb = Aabb::EMPTY;
        for r in &refs[lo..hi] {
            cb.grow(r.centroid);
        }
        let size = cb.size();
        let axis = if size[0] >= size[1] && size[0] >= size[2] {
            0
        } else if size[1] >= size[2] {
            1
        } else {
            2
        };
        let mid = lo + (hi - lo) / 2;
        refs[lo..hi].select_nth_unstable_by(mid - lo, |a, b| {
            a.centroid[axis].total_cmp(&b.centroid[axis])
        });
        let left = self.build(data, refs, lo, mid);
        let right = self.build(data, refs, mid, hi);
        let bounds = data.nodes[left as usize]
            .bounds
            .union(&data.nodes[right as usize].bounds);
        data.nodes[node_index as usize] = BvhNode {
            bounds,
            kind: NodeKind::Inner {
                left,
                right,
                axis: axis as u8,
            },
        };
        node_index
    }

    fn make_chunk(&mut self, data: &mut SceneRenderData, refs: &[TriRef]) -> u32 {
        let chunk_id = data.chunks.len() as u32;
        let tri_start = data.tris.len() as u32;
        let vert_start = data.chunk_positions.len() as u32;
        let mut bounds = Aabb::EMPTY;
        let mut any_single_sided = false;
        for r in refs {
            let mesh = &self.scene.meshes[r.mesh as usize];
            let t = mesh.triangles[r.tri as usize];
            let mut li = [0u16; 3];
            for k in 0..3 {
                let g = self.vertex_base[r.mesh as usize] + t[k] as usize;
                if self.stamp[g] != chunk_id {
                    self.stamp[g] = chunk_id;
                    self.local[g] = (data.chunk_positions.len() as u32 - vert_start) as u16;
                    let p = mesh.positions[t[k] as usize];
                    bounds.grow(p);
                    data.chunk_positions.push(p);
                }
                li[k] = self.local[g];
            }
            let material = self.scene.materials.get(mesh.material);
            let mat_single_sided = material.is_some_and(|m| !m.double_sided);
            any_single_sided |= mat_single_sided;
            data.local_indices.push(li);
            data.single_sided.push(mat_single_sided);
            data.tris.push(self.shade_record(r));
        }
        data.chunks.push(Chunk {
            bounds,
            tri_start,
            tri_count: refs.len() as u32,
            vert_start,
            vert_count: data.chunk_positions.len() as u32 - vert_start,
            any_single_sided,
        });
        chunk_id
    }

    fn shade_record(&self, r: &TriRef) -> TriShade {
        let scene = self.scene;
        let mesh = &scene.meshes[r.mesh as usize];
        let t = mesh.triangles[r.tri as usize].map(|i| i as usize);
        let p = t.map(|i| mesh.positions[i]);
        let e1 = sub(p[1], p[0]);
        let e2 = sub(p[2], p[0]);
        let n = cross(e1, e2);
        let nn = dot(n, n);
        let g1 = scale(cross(e2, n), 1.0 / nn);
        let g2 = scale(cross(n, e1), 1.0 / nn);
        let n_unit = scale(n, 1.0 / nn.sqrt());

        let material = scene
            .materials
            .get(mesh.material)
            .cloned()
            .unwrap_or_default();
        let texture = material
            .base_color_texture
            .filter(|&i| i < scene.textures.len());
        let uv = if texture.is_some() && mesh.uvs.len() == mesh.positions.len() {
            t.map(|i| mesh.uvs[i])
        } else {
            [[0.0; 2]; 3]
        };
        let uv = uv.map(|c| c.map(|x| if x.is_finite() { x } else { 0.0 }));
        let duv1 = [uv[1][0] - uv[0][0], uv[1][1] - uv[0][1]];
        let duv2 = [uv[2][0] - uv[0][0], uv[2][1] - uv[0][1]];

        let (texture_index, texel_density) = match texture {
            Some(ti) => {
                let (w, h) = self.texture_sizes[ti];
                let uv_area = 0.5 * (duv1[0] * duv2[1] - duv1[1] * duv2[0]).abs() * w * h;
                let world_area = 0.5 * nn.sqrt();
                (ti as u32, (uv_area / world_area).sqrt())
            }
            None => (NO_TEXTURE, 0.0),
        };

        let mut front = [0u32; 3];
        let mut back = [0u32; 3];
        for k in 0..3 {
            let vc = mesh.colors.get(t[k]).copied().unwrap_or([1.0; 4]);
            let vn = mesh
                .normals
                .get(t[k])
                .copied()
                .filter(|v| dot(*v, *v) > 0.5)
                .unwrap_or(n_unit);
            // Vertex normals pointing against the face (bad exports) would light the wrong side.
            let vn = if dot(vn, n_unit) < 0.0 {
                scale(vn, -1.0)
            } else {
                vn
            };
            let base = [0, 1, 2].map(|c| material.base_color[c] * vc[c]);
            front[k] = pack_lit(base, self.lighting.intensity(vn));
            back[k] = pack_lit(base, self.lighting.intensity(scale(vn, -1.0)));
        }
        TriShade {
            v0: p[0],
            n: n_unit,
            g1,
            g2,
            uv0: uv[0],
            duv1,
            duv2,
            front,
            back,
            texel_density,
            texture: texture_index,
        }
    }
}

/// Linear colour times light, encoded to sRGB bytes: the texture (sRGB) is multiplied by this in gamma
/// space, which is exact for a pure power-law transfer curve and within a byte or two for sRGB.
fn pack_lit(linear: [f32; 3], light: f32) -> u32 {
    let b = linear.map(|c| {
        let c = if c.is_finite() { c } else { 0.0 };
        (linear_to_srgb(c * light) * 255.0 + 0.5) as u8
    });
    u32::from_le_bytes([b[0], b[1], b[2], 0])
}

pub(crate) fn sub(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub(crate) fn dot(a: [f32; 3], b: [f32; 3]) -> f32 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub(crate) fn cross(a: [f32; 3], b: [f32; 3]) -> [f32; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub(crate) fn scale(a: [f32; 3], s: f32) -> [f32; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}

fn normalize(a: [f32; 3]) -> [f32; 3] {
    let l = dot(a, a).sqrt();
    if l > 0.0 {
        scale(a, 1.0 / l)
    } else {
        [0.0, 1.0, 0.0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use habitat_assets::{Material, Mesh};

    fn grid_scene(n: usize) -> Scene {
        // n x n quads on the floor, two triangles each.
        let mut positions = Vec::new();
        let mut triangles = Vec::new();
        for i in 0..=n {
            for j in 0..=n {
                positions.push([i as f32, 0.0, j as f32]);
            }
        }
        for i in 0..n {
            for j in 0..n {
                let a = (i * (n + 1) + j) as u32;
                let b = a + 1;
                let c = a + (n + 1) as u32;
                let d = c + 1;
                triangles.push([a, b, d]);
                triangles.push([a, d, c]);
            }
        }
        let normals = vec![[0.0, 1.0, 0.0]; positions.len()];
        Scene {
            meshes: vec![Mesh {
                positions,
                normals,
                triangles,
                ..Default::default()
            }],
            materials: vec![Material::default()],
            textures: vec![],
        }
    }

    #[test]
    fn chunks_partition_all_triangles_and_bounds_nest() {
        let scene = grid_scene(40);
        let data = SceneRenderData::new(&scene);
        assert_eq!(data.triangle_count(), 3200);
        assert!(data.chunk_count() >= 3200 / CHUNK_TRIANGLES);
        let total: u32 = data.chunks.iter().map(|c| c.tri_count).sum();
        assert_eq!(total as usize, data.triangle_count());
        for node in &data.nodes {
            if let NodeKind::Inner { left, right, .. } = node.kind {
                for child in [left, right] {
                    let c = data.nodes[child as usize].bounds;
                    assert!((0..3)
                        .all(|k| c.min[k] >= node.bounds.min[k] && c.max[k] <= node.bounds.max[k]));
                }
            }
        }
        // Every triangle's vertices lie inside its chunk's box.
        for c in &data.chunks {
            for t in c.tri_start..c.tri_start + c.tri_count {
                for &li in &data.local_indices[t as usize] {
                    assert!((li as u32) < c.vert_count);
                    let p = data.chunk_positions[(c.vert_start + li as u32) as usize];
                    assert!((0..3).all(|k| p[k] >= c.bounds.min[k] && p[k] <= c.bounds.max[k]));
                }
            }
        }
    }

    #[test]
    fn barycentric_gradients_recover_the_corners() {
        let scene = grid_scene(1);
        let data = SceneRenderData::new(&scene);
        for (t, li) in data.tris.iter().zip(&data.local_indices) {
            let c = &data.chunks[0];
            let p = li.map(|i| data.chunk_positions[(c.vert_start + i as u32) as usize]);
            assert_eq!(p[0], t.v0);
            let b = |q: [f32; 3]| (dot(t.g1, sub(q, t.v0)), dot(t.g2, sub(q, t.v0)));
            assert_eq!(b(p[1]), (1.0, 0.0));
            assert_eq!(b(p[2]), (0.0, 1.0));
            // Counter-clockwise seen from above: the normal points up.
            assert!(t.n[1] > 0.99);
        }
    }

    #[test]
    fn degenerate_and_out_of_range_triangles_are_skipped() {
        let mut scene = grid_scene(1);
        scene.meshes[0].triangles.push([0, 0, 1]);
        scene.meshes[0].triangles.push([0, 1, 99]);
        scene.meshes[0].positions[3] = [f32::NAN, 0.0, 0.0];
        let data = SceneRenderData::new(&scene);
        // Both original triangles use vertex 3 ([a,b,d] and [a,d,c] with d = 3).
        assert_eq!(data.triangle_count(), 0);
        assert_eq!(data.skipped_triangles(), 4);
        assert!(data.bounds().is_empty());
    }

    #[test]
    fn lighting_separates_wall_orientations_and_front_from_back() {
        let l = normalize_lighting(Lighting::default());
        let walls = [
            [1.0, 0.0, 0.0],
            [-1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0],
            [0.0, 0.0, -1.0],
        ]
        .map(|n| l.intensity(n));
        for i in 0..4 {
            for j in 0..i {
                assert!((walls[i] - walls[j]).abs() > 0.05, "{walls:?}");
            }
        }
        assert!(l.intensity([0.0, 1.0, 0.0]) > l.intensity([0.0, -1.0, 0.0]));
        assert_eq!(Lighting::UNLIT.intensity([0.3, -0.2, 0.9]), 1.0);
    }
}
