//! The one in-memory scene representation shared by the simulator (collision, navigation) and the renderer.
//!
//! Everything is flattened to world space at load time (node transforms applied), Y-up, metres, so that
//! consumers never walk a node graph.

/// Largest |coordinate| (metres) a scene vertex may have once its node transforms are applied: 10 km, where
/// the largest habitat scenes span ~100 m. Top-down maps and navigation grids are sized from the bounds, so
/// one stray vertex beyond it (or at 1e30) would size them in gigabytes; the loader refuses it instead.
pub const MAX_WORLD_COORD: f32 = 10_000.0;

/// An axis-aligned bounding box in world space (metres).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Aabb {
    pub min: [f32; 3],
    pub max: [f32; 3],
}

impl Aabb {
    /// The empty box: grows to the first point added.
    pub const EMPTY: Aabb = Aabb {
        min: [f32::INFINITY; 3],
        max: [f32::NEG_INFINITY; 3],
    };

    pub fn grow(&mut self, p: [f32; 3]) {
        for (k, v) in p.into_iter().enumerate() {
            self.min[k] = self.min[k].min(v);
            self.max[k] = self.max[k].max(v);
        }
    }

    pub fn union(&self, other: &Aabb) -> Aabb {
        let mut b = *self;
        b.grow(other.min);
        b.grow(other.max);
        b
    }

    pub fn is_empty(&self) -> bool {
        (0..3).any(|k| self.min[k] > self.max[k])
    }

    pub fn size(&self) -> [f32; 3] {
        [
            self.max[0] - self.min[0],
            self.max[1] - self.min[1],
            self.max[2] - self.min[2],
        ]
    }
}

/// An 8-bit RGBA texture in sRGB, row 0 at the top of the image (as decoded from PNG/JPEG).
/// glTF UV (0,0) is the top-left corner of the image, so `v` indexes rows directly. UVs may lie outside
/// [0, 1]: sample with wrap-around (glTF's default REPEAT), as procedural houses tile textures in metres.
#[derive(Debug, Clone, PartialEq)]
pub struct Texture {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
}

/// A glTF-style metallic-roughness material reduced to what an RGB renderer needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Material {
    pub name: String,
    /// Linear RGBA factor, multiplied with the texture and the vertex color.
    pub base_color: [f32; 4],
    /// Index into `Scene::textures`.
    pub base_color_texture: Option<usize>,
    pub double_sided: bool,
}

impl Default for Material {
    fn default() -> Self {
        Material {
            name: String::new(),
            base_color: [1.0; 4],
            base_color_texture: None,
            double_sided: false,
        }
    }
}

/// One triangle mesh in world space with a single material.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mesh {
    pub name: String,
    pub positions: Vec<[f32; 3]>,
    /// Unit normals, one per vertex (computed from faces when the file has none).
    pub normals: Vec<[f32; 3]>,
    /// Texture coordinates, one per vertex, or empty.
    pub uvs: Vec<[f32; 2]>,
    /// Linear RGBA vertex colors, one per vertex, or empty.
    pub colors: Vec<[f32; 4]>,
    /// Counter-clockwise triangles (glTF winding) indexing `positions`.
    pub triangles: Vec<[u32; 3]>,
    /// Index into `Scene::materials`.
    pub material: usize,
}

/// A loaded scene: flattened world-space meshes, their materials and textures.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scene {
    pub meshes: Vec<Mesh>,
    pub materials: Vec<Material>,
    pub textures: Vec<Texture>,
}

impl Scene {
    pub fn triangle_count(&self) -> usize {
        self.meshes.iter().map(|m| m.triangles.len()).sum()
    }

    pub fn vertex_count(&self) -> usize {
        self.meshes.iter().map(|m| m.positions.len()).sum()
    }

    pub fn bounds(&self) -> Aabb {
        let mut b = Aabb::EMPTY;
        for m in &self.meshes {
            for &p in &m.positions {
                b.grow(p);
            }
        }
        b
    }

    /// Iterates all triangles as world-space corner positions (what collision and navigation consume).
    pub fn triangles(&self) -> impl Iterator<Item = [[f32; 3]; 3]> + '_ {
        self.meshes.iter().flat_map(|m| {
            m.triangles.iter().map(move |t| {
                [
                    m.positions[t[0] as usize],
                    m.positions[t[1] as usize],
                    m.positions[t[2] as usize],
                ]
            })
        })
    }
}
