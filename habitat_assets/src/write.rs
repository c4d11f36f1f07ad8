//! Writing binary glTF: a small document builder (nodes with transforms, meshes with several primitives,
//! materials, PNG textures embedded in the binary chunk) and [`write_scene_glb`] for a flattened [`Scene`].
//!
//! The JSON is produced from `serde` structs rather than `serde_json::Value` maps so that the key order,
//! and therefore the bytes of a generated house, do not depend on which `serde_json` features the build
//! happens to unify (`preserve_order` changes map order).
//!
//! Callers give world coordinates (+Y up, habitat's); the file is written in habitat's `.glb` convention
//! (up +Z, front +Y, see [`SceneFrame::HABITAT`]), so that habitat-sim, and our loader by default, open it
//! with the caller's coordinates. The conversion is a signed permutation of axes: exact, no rounding.

use serde::Serialize;

use crate::frame::SceneFrame;
use crate::glb;
use crate::lighting::{AssetMark, SceneLighting};
use crate::scene::{Aabb, Scene, Texture};

/// One primitive's vertex data, in the node's local frame (world axes). `uvs` and `colors` are empty or one per vertex.
#[derive(Debug, Clone, Default)]
pub struct PrimitiveData {
    pub positions: Vec<[f32; 3]>,
    pub normals: Vec<[f32; 3]>,
    pub uvs: Vec<[f32; 2]>,
    pub colors: Vec<[f32; 4]>,
    pub triangles: Vec<[u32; 3]>,
    pub material: usize,
}

/// A node's transform: translation and a rotation quaternion `[x, y, z, w]` (glTF order).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeTransform {
    pub translation: [f32; 3],
    pub rotation: [f32; 4],
}

impl NodeTransform {
    pub const IDENTITY: NodeTransform = NodeTransform {
        translation: [0.0; 3],
        rotation: [0.0, 0.0, 0.0, 1.0],
    };

    /// A translation followed by a rotation of `yaw` radians about +Y.
    pub fn yaw(translation: [f32; 3], yaw: f32) -> NodeTransform {
        let (s, c) = (yaw / 2.0).sin_cos();
        NodeTransform {
            translation,
            rotation: [0.0, s, 0.0, c],
        }
    }

    /// Applies the transform to a point (rotation then translation).
    pub fn apply(&self, p: [f32; 3]) -> [f32; 3] {
        let [x, y, z, w] = self.rotation;
        // v' = v + 2w (q x v) + 2 q x (q x v)
        let q = [x, y, z];
        let cross = |a: [f32; 3], b: [f32; 3]| {
            [
                a[1] * b[2] - a[2] * b[1],
                a[2] * b[0] - a[0] * b[2],
                a[0] * b[1] - a[1] * b[0],
            ]
        };
        let t = cross(q, p).map(|v| 2.0 * v);
        let u = cross(q, t);
        let r = [
            p[0] + w * t[0] + u[0],
            p[1] + w * t[1] + u[1],
            p[2] + w * t[2] + u[2],
        ];
        [
            r[0] + self.translation[0],
            r[1] + self.translation[1],
            r[2] + self.translation[2],
        ]
    }

    /// `self` applied after `inner` (parent * child).
    pub fn then(&self, inner: &NodeTransform) -> NodeTransform {
        let [ax, ay, az, aw] = self.rotation;
        let [bx, by, bz, bw] = inner.rotation;
        let rotation = [
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
            aw * bw - ax * bx - ay * by - az * bz,
        ];
        NodeTransform {
            translation: self.apply(inner.translation),
            rotation,
        }
    }
}

#[derive(Serialize)]
struct Asset {
    version: &'static str,
    generator: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    extras: Option<AssetExtras>,
}

#[derive(Serialize)]
struct AssetExtras {
    vln_r1: AssetMark,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BufferJson {
    byte_length: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ViewJson {
    buffer: usize,
    byte_offset: usize,
    byte_length: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    target: Option<u32>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccessorJson {
    buffer_view: usize,
    component_type: u32,
    count: usize,
    #[serde(rename = "type")]
    type_: &'static str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    normalized: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    min: Option<Vec<f32>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max: Option<Vec<f32>>,
}

#[derive(Serialize)]
struct Attributes {
    #[serde(rename = "POSITION")]
    position: usize,
    #[serde(rename = "NORMAL")]
    normal: usize,
    #[serde(rename = "TEXCOORD_0", skip_serializing_if = "Option::is_none")]
    texcoord: Option<usize>,
    #[serde(rename = "COLOR_0", skip_serializing_if = "Option::is_none")]
    color: Option<usize>,
}

#[derive(Serialize)]
struct PrimitiveJson {
    attributes: Attributes,
    indices: usize,
    material: usize,
}

#[derive(Serialize)]
struct MeshJson {
    name: String,
    primitives: Vec<PrimitiveJson>,
}

#[derive(Serialize)]
struct NodeJson {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    mesh: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    translation: Option<[f32; 3]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotation: Option<[f32; 4]>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    children: Vec<usize>,
}

#[derive(Serialize)]
struct TextureInfo {
    index: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Pbr {
    base_color_factor: [f32; 4],
    #[serde(skip_serializing_if = "Option::is_none")]
    base_color_texture: Option<TextureInfo>,
    metallic_factor: f32,
    roughness_factor: f32,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MaterialJson {
    name: String,
    pbr_metallic_roughness: Pbr,
    double_sided: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ImageJson {
    name: String,
    buffer_view: usize,
    mime_type: &'static str,
}

#[derive(Serialize)]
struct TextureJson {
    sampler: usize,
    source: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SamplerJson {
    mag_filter: u32,
    min_filter: u32,
    wrap_s: u32,
    wrap_t: u32,
}

#[derive(Serialize)]
struct SceneJson {
    nodes: Vec<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Root {
    asset: Asset,
    scene: usize,
    scenes: Vec<SceneJson>,
    nodes: Vec<NodeJson>,
    meshes: Vec<MeshJson>,
    materials: Vec<MaterialJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    textures: Vec<TextureJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<ImageJson>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    samplers: Vec<SamplerJson>,
    accessors: Vec<AccessorJson>,
    buffer_views: Vec<ViewJson>,
    buffers: Vec<BufferJson>,
}

const FLOAT: u32 = 5126;
const UNSIGNED_BYTE: u32 = 5121;
const UNSIGNED_SHORT: u32 = 5123;
const UNSIGNED_INT: u32 = 5125;
const ARRAY_BUFFER: u32 = 34962;
const ELEMENT_ARRAY_BUFFER: u32 = 34963;

/// Builds a glTF document and its binary chunk; [`GltfWriter::finish`] returns GLB bytes.
pub struct GltfWriter {
    bin: Vec<u8>,
    views: Vec<ViewJson>,
    accessors: Vec<AccessorJson>,
    meshes: Vec<MeshJson>,
    nodes: Vec<NodeJson>,
    materials: Vec<MaterialJson>,
    textures: Vec<TextureJson>,
    images: Vec<ImageJson>,
    drop_untextured_uvs: bool,
    frame: SceneFrame,
    lighting: Option<SceneLighting>,
}

impl Default for GltfWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl GltfWriter {
    pub fn new() -> GltfWriter {
        GltfWriter {
            bin: Vec::new(),
            views: Vec::new(),
            accessors: Vec::new(),
            meshes: Vec::new(),
            nodes: Vec::new(),
            materials: Vec::new(),
            textures: Vec::new(),
            images: Vec::new(),
            drop_untextured_uvs: false,
            frame: SceneFrame::HABITAT,
            lighting: None,
        }
    }

    /// Marks the file with how it is to be shaded (see [`crate::lighting`]); unmarked files render unlit.
    pub fn with_lighting(mut self, lighting: SceneLighting) -> Self {
        self.lighting = Some(lighting);
        self
    }

    /// Writes the file in another frame than habitat's (tests of the loader's `--scene-up y` reading).
    pub fn with_frame(mut self, frame: SceneFrame) -> Self {
        self.frame = frame;
        self
    }

    fn to_file(&self, points: &[[f32; 3]]) -> Vec<[f32; 3]> {
        points.iter().map(|&p| self.frame.to_file(p)).collect()
    }

    /// Leaves UVs out of primitives whose material has no texture (they would never be sampled); saves
    /// a quarter of the vertex bytes of generated houses. Materials must be added before such meshes.
    pub fn drop_untextured_uvs(mut self) -> Self {
        self.drop_untextured_uvs = true;
        self
    }

    fn push_view(&mut self, bytes: &[u8], target: Option<u32>) -> usize {
        while !self.bin.len().is_multiple_of(4) {
            self.bin.push(0);
        }
        self.views.push(ViewJson {
            buffer: 0,
            byte_offset: self.bin.len(),
            byte_length: bytes.len(),
            target,
        });
        self.bin.extend_from_slice(bytes);
        self.views.len() - 1
    }

    fn push_floats<const N: usize>(
        &mut self,
        data: &[[f32; N]],
        type_: &'static str,
        bounds: bool,
    ) -> usize {
        let mut bytes = Vec::with_capacity(data.len() * N * 4);
        for v in data {
            for x in v {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        let view = self.push_view(&bytes, Some(ARRAY_BUFFER));
        let (min, max) = if bounds {
            let mut min = vec![f32::INFINITY; N];
            let mut max = vec![f32::NEG_INFINITY; N];
            for v in data {
                for k in 0..N {
                    min[k] = min[k].min(v[k]);
                    max[k] = max[k].max(v[k]);
                }
            }
            (Some(min), Some(max))
        } else {
            (None, None)
        };
        self.accessors.push(AccessorJson {
            buffer_view: view,
            component_type: FLOAT,
            count: data.len(),
            type_,
            normalized: false,
            min,
            max,
        });
        self.accessors.len() - 1
    }

    /// Colors as normalized unsigned bytes (a quarter of the size of floats; 1/255 precision is plenty).
    fn push_colors(&mut self, data: &[[f32; 4]]) -> usize {
        let bytes: Vec<u8> = data
            .iter()
            .flatten()
            .map(|c| (c.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        let view = self.push_view(&bytes, Some(ARRAY_BUFFER));
        self.accessors.push(AccessorJson {
            buffer_view: view,
            component_type: UNSIGNED_BYTE,
            count: data.len(),
            type_: "VEC4",
            normalized: true,
            min: None,
            max: None,
        });
        self.accessors.len() - 1
    }

    fn push_indices(&mut self, triangles: &[[u32; 3]], vertex_count: usize) -> usize {
        let small = vertex_count <= u16::MAX as usize;
        let mut bytes = Vec::with_capacity(triangles.len() * 3 * if small { 2 } else { 4 });
        for &i in triangles.iter().flatten() {
            if small {
                bytes.extend_from_slice(&(i as u16).to_le_bytes());
            } else {
                bytes.extend_from_slice(&i.to_le_bytes());
            }
        }
        let view = self.push_view(&bytes, Some(ELEMENT_ARRAY_BUFFER));
        let component_type = if small { UNSIGNED_SHORT } else { UNSIGNED_INT };
        self.accessors.push(AccessorJson {
            buffer_view: view,
            component_type,
            count: triangles.len() * 3,
            type_: "SCALAR",
            normalized: false,
            min: None,
            max: None,
        });
        self.accessors.len() - 1
    }

    /// Adds an RGBA8 texture as an embedded PNG; returns the glTF texture index.
    pub fn add_texture(&mut self, name: &str, texture: &Texture) -> usize {
        let png = encode_png(texture);
        let view = self.push_view(&png, None);
        self.images.push(ImageJson {
            name: name.to_string(),
            buffer_view: view,
            mime_type: "image/png",
        });
        self.textures.push(TextureJson {
            sampler: 0,
            source: self.images.len() - 1,
        });
        self.textures.len() - 1
    }

    /// Adds a material; returns its index.
    pub fn add_material(
        &mut self,
        name: &str,
        base_color: [f32; 4],
        texture: Option<usize>,
        double_sided: bool,
    ) -> usize {
        self.materials.push(MaterialJson {
            name: name.to_string(),
            pbr_metallic_roughness: Pbr {
                base_color_factor: base_color,
                base_color_texture: texture.map(|index| TextureInfo { index }),
                metallic_factor: 0.0,
                roughness_factor: 0.9,
            },
            double_sided,
        });
        self.materials.len() - 1
    }

    /// Adds a mesh made of the given primitives (empty primitives are dropped); returns its index, or
    /// `None` when nothing is left.
    pub fn add_mesh(&mut self, name: &str, primitives: &[PrimitiveData]) -> Option<usize> {
        let mut prims = Vec::new();
        for p in primitives.iter().filter(|p| !p.triangles.is_empty()) {
            debug_assert_eq!(p.normals.len(), p.positions.len());
            let position = self.push_floats(&self.to_file(&p.positions), "VEC3", true);
            let normal = self.push_floats(&self.to_file(&p.normals), "VEC3", false);
            let textured = self
                .materials
                .get(p.material)
                .is_some_and(|m| m.pbr_metallic_roughness.base_color_texture.is_some());
            let keep_uvs = !p.uvs.is_empty() && (textured || !self.drop_untextured_uvs);
            let texcoord = keep_uvs.then(|| self.push_floats(&p.uvs, "VEC2", false));
            let color = (!p.colors.is_empty()).then(|| self.push_colors(&p.colors));
            let indices = self.push_indices(&p.triangles, p.positions.len());
            prims.push(PrimitiveJson {
                attributes: Attributes {
                    position,
                    normal,
                    texcoord,
                    color,
                },
                indices,
                material: p.material,
            });
        }
        if prims.is_empty() {
            return None;
        }
        self.meshes.push(MeshJson {
            name: name.to_string(),
            primitives: prims,
        });
        Some(self.meshes.len() - 1)
    }

    /// Adds a node; returns its index. Children must be added first. `transform` is in world axes; the
    /// file gets it conjugated into the file's frame (a rotation about +Y becomes one about the file's up).
    pub fn add_node(
        &mut self,
        name: &str,
        mesh: Option<usize>,
        transform: NodeTransform,
        children: Vec<usize>,
    ) -> usize {
        let [x, y, z, w] = transform.rotation;
        let [x, y, z] = self.frame.to_file([x, y, z]);
        let transform = NodeTransform {
            translation: self.frame.to_file(transform.translation),
            rotation: [x, y, z, w],
        };
        let translation = (transform.translation != [0.0; 3]).then_some(transform.translation);
        let rotation = (transform.rotation != [0.0, 0.0, 0.0, 1.0]).then_some(transform.rotation);
        self.nodes.push(NodeJson {
            name: name.to_string(),
            mesh,
            translation,
            rotation,
            children,
        });
        self.nodes.len() - 1
    }

    /// Serialises the document with the given root nodes as its one scene and returns GLB bytes.
    pub fn finish(self, roots: Vec<usize>) -> Vec<u8> {
        let has_textures = !self.textures.is_empty();
        let root = Root {
            asset: Asset {
                version: "2.0",
                generator: "vln-r1 habitat_assets",
                extras: self.lighting.map(|lighting| AssetExtras {
                    vln_r1: AssetMark { lighting },
                }),
            },
            scene: 0,
            scenes: vec![SceneJson { nodes: roots }],
            nodes: self.nodes,
            meshes: self.meshes,
            materials: self.materials,
            textures: self.textures,
            images: self.images,
            // Linear filtering, repeat wrapping: procedural textures tile in metres.
            samplers: if has_textures {
                vec![SamplerJson {
                    mag_filter: 9729,
                    min_filter: 9987,
                    wrap_s: 10497,
                    wrap_t: 10497,
                }]
            } else {
                Vec::new()
            },
            accessors: self.accessors,
            buffer_views: self.views,
            buffers: vec![BufferJson {
                byte_length: self.bin.len(),
            }],
        };
        let json = serde_json::to_vec(&root).expect("glTF JSON structs always serialise");
        glb::assemble(&json, &self.bin)
    }
}

/// Encodes RGBA8 as PNG. Deterministic: same pixels, same bytes (for a fixed `png` crate version).
pub fn encode_png(texture: &Texture) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut out);
    image::ImageEncoder::write_image(
        encoder,
        &texture.rgba,
        texture.width,
        texture.height,
        image::ExtendedColorType::Rgba8,
    )
    .expect("encoding RGBA8 of matching size into memory cannot fail");
    out
}

/// Writes a flattened scene as GLB in habitat's convention, unmarked (rendered unlit, as a scan): one node
/// per mesh, all at the identity transform.
pub fn write_scene_glb(scene: &Scene) -> Vec<u8> {
    write_scene_glb_with(scene, SceneFrame::HABITAT, None)
}

/// [`write_scene_glb`] in `frame`, with an optional lighting mark.
pub fn write_scene_glb_with(
    scene: &Scene,
    frame: SceneFrame,
    lighting: Option<SceneLighting>,
) -> Vec<u8> {
    let mut w = GltfWriter::new().with_frame(frame);
    w.lighting = lighting;
    let textures: Vec<usize> = scene
        .textures
        .iter()
        .enumerate()
        .map(|(i, t)| w.add_texture(&format!("texture{i}"), t))
        .collect();
    for m in &scene.materials {
        w.add_material(
            &m.name,
            m.base_color,
            m.base_color_texture.map(|t| textures[t]),
            m.double_sided,
        );
    }
    if scene.materials.is_empty() {
        w.add_material("default", [1.0; 4], None, false);
    }
    let mut roots = Vec::new();
    for m in &scene.meshes {
        let prim = PrimitiveData {
            positions: m.positions.clone(),
            normals: m.normals.clone(),
            uvs: m.uvs.clone(),
            colors: m.colors.clone(),
            triangles: m.triangles.clone(),
            material: m.material,
        };
        if let Some(mesh) = w.add_mesh(&m.name, &[prim]) {
            roots.push(w.add_node(&m.name, Some(mesh), NodeTransform::IDENTITY, Vec::new()));
        }
    }
    w.finish(roots)
}

/// The world-space bounds of points under a transform (used to predict what the loader must report).
pub fn transformed_bounds(points: &[[f32; 3]], t: &NodeTransform) -> Aabb {
    let mut b = Aabb::EMPTY;
    for &p in points {
        b.grow(t.apply(p));
    }
    b
}
