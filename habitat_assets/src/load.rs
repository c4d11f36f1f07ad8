//! glTF 2.0 (`.glb` and `.gltf`) to [`Scene`]: every node of every scene flattened to world space.
//!
//! The `gltf` crate parses and validates the JSON; buffers, images and accessors are resolved here so that
//! every failure (truncated file, missing external file, accessor out of range, unsupported compression)
//! is an [`AssetError`] naming the file, never a panic. Memory is the file plus the decoded mesh and
//! textures: each buffer is held once and each image is decoded once, only if a material uses it.
//!
//! The file's axes are mapped onto the world by a [`SceneFrame`] applied above the root nodes: habitat's
//! convention (up +Z, front +Y, what every R2R-CE / RxR-CE coordinate assumes) unless told otherwise.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use gltf::json;
use json::mesh::{Mode, Semantic};
use json::validation::Checked;

use crate::accessor::{self, Buffers};
use crate::error::AssetError;
use crate::frame::SceneFrame;
use crate::fsutil::confined_relative;
use crate::glb;
use crate::ktx2;
use crate::ktx2::MAX_TEXTURE_PIXELS;
use crate::lighting::{lighting_from_extras, SceneLighting};
use crate::scene::{Material, Mesh, Scene, Texture, MAX_WORLD_COORD};

/// What loading did besides producing the scene.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    pub path: PathBuf,
    pub file_bytes: u64,
    /// Primitives that are not triangles (points, lines, line loops/strips) or have no positions: skipped.
    pub skipped_primitives: usize,
    /// Required extensions that do not change geometry or base color (e.g. `KHR_materials_unlit`), ignored.
    pub ignored_extensions: Vec<String>,
    /// Wall time from opening the file to the finished scene.
    pub load_time: Duration,
    /// The frame the file was read in.
    pub frame: SceneFrame,
    /// How its frames are shaded: lit only when the file carries our mark (see [`crate::lighting`]).
    pub lighting: SceneLighting,
}

/// How to read a file.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LoadOptions {
    /// The file's axes (default: habitat's, up +Z, front +Y).
    pub frame: SceneFrame,
}

/// Upper bound on the texels of all images decoded from one file (2^30: 4 GiB of RGBA8, above the few
/// hundred million of the largest textured scans). Each image is also held to
/// [`MAX_TEXTURE_PIXELS`](crate::limits::MAX_TEXTURE_PIXELS); both are checked from the image's header,
/// before it is decoded, so a small file naming large images many times cannot ask for more.
pub const MAX_SCENE_TEXELS: u64 = 1 << 30;

/// Required extensions whose meaning does not affect what we read (geometry, base color, UVs).
const IGNORABLE_REQUIRED: &[&str] = &[
    "KHR_materials_unlit",
    "KHR_materials_emissive_strength",
    "KHR_materials_ior",
    "KHR_materials_specular",
    "KHR_materials_transmission",
    "KHR_materials_volume",
    "KHR_materials_clearcoat",
    "KHR_materials_sheen",
    "KHR_materials_variants",
    "KHR_lights_punctual",
];

/// Required extensions we implement.
const SUPPORTED_REQUIRED: &[&str] = &["KHR_texture_transform"];

/// Loads a `.glb` or `.gltf` file in habitat's convention (up +Z, front +Y).
pub fn load_scene(path: impl AsRef<Path>) -> Result<Scene, AssetError> {
    load_scene_with_report(path).map(|(scene, _)| scene)
}

/// Loads a `.glb` or `.gltf` file in habitat's convention and reports skipped content and the load time.
pub fn load_scene_with_report(path: impl AsRef<Path>) -> Result<(Scene, LoadReport), AssetError> {
    load_scene_with(path, &LoadOptions::default())
}

/// Loads a `.glb` or `.gltf` file as `options` say.
pub fn load_scene_with(
    path: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<(Scene, LoadReport), AssetError> {
    let path = path.as_ref();
    let start = Instant::now();
    let bytes = std::fs::read(path).map_err(|e| AssetError::io(path, e))?;
    let (scene, mut report) = load_scene_from_bytes_with(&bytes, path, options)?;
    report.load_time = start.elapsed();
    Ok((scene, report))
}

/// Loads glTF from bytes in habitat's convention. `path` names the origin in messages, and relative URIs
/// resolve against its directory.
pub fn load_scene_from_bytes(bytes: &[u8], path: &Path) -> Result<(Scene, LoadReport), AssetError> {
    load_scene_from_bytes_with(bytes, path, &LoadOptions::default())
}

/// [`load_scene_from_bytes`] as `options` say.
pub fn load_scene_from_bytes_with(
    bytes: &[u8],
    path: &Path,
    options: &LoadOptions,
) -> Result<(Scene, LoadReport), AssetError> {
    let start = Instant::now();
    let gltf_err = |message: String| AssetError::Gltf {
        path: path.to_path_buf(),
        message,
    };
    let (json_bytes, bin) = if glb::is_glb(bytes) {
        let chunks = glb::split(bytes).map_err(gltf_err)?;
        (chunks.json, chunks.bin)
    } else {
        (bytes, None)
    };
    let mut root: json::Root =
        json::deserialize::from_slice(json_bytes).map_err(|e| gltf_err(format!("JSON: {e}")))?;

    let mut report = LoadReport {
        path: path.to_path_buf(),
        file_bytes: bytes.len() as u64,
        skipped_primitives: 0,
        ignored_extensions: Vec::new(),
        load_time: Duration::ZERO,
        frame: options.frame,
        lighting: lighting_from_extras(root.asset.extras.as_ref().map(|e| e.get())),
    };
    // Decide about required extensions before validation, which would reject them without naming why.
    let mut kept = Vec::new();
    for ext in std::mem::take(&mut root.extensions_required) {
        if IGNORABLE_REQUIRED.contains(&ext.as_str()) {
            report.ignored_extensions.push(ext);
        } else if SUPPORTED_REQUIRED.contains(&ext.as_str()) {
            kept.push(ext);
        } else if ext == ktx2::EXTENSION {
            // Decoded here (`ktx2`); the `gltf` validator does not know it, so it is not passed on.
        } else {
            return Err(AssetError::Unsupported {
                path: path.to_path_buf(),
                feature: describe_extension(&ext),
            });
        }
    }
    root.extensions_required = kept;
    ktx2::resolve_sources(&mut root).map_err(|message| AssetError::Invalid {
        path: path.to_path_buf(),
        message,
    })?;
    reject_sourceless_textures(&root, path)?;
    check_position_indices(&root).map_err(gltf_err)?;
    fill_missing_position_bounds(&mut root);

    let document = gltf::Document::from_json(root).map_err(|e| gltf_err(validation_message(e)))?;
    let root = document.as_json();
    let base_dir = path.parent().unwrap_or(Path::new(""));
    let buffers = resolve_buffers(root, bin, base_dir, path)?;

    let mut builder = SceneBuilder::new(root, &buffers, base_dir, path);
    for (node, world) in flatten_nodes(root, &frame_matrix(&options.frame), path)? {
        builder.add_node(node, &world, &mut report)?;
    }
    let scene = builder.finish();
    report.load_time = start.elapsed();
    Ok((scene, report))
}

/// A texture with no `source` names its image only through an extension this loader does not decode (WebP,
/// DDS; KHR_texture_basisu sources are resolved before): refuse the file rather than load it untextured.
fn reject_sourceless_textures(root: &json::Root, path: &Path) -> Result<(), AssetError> {
    let Some(i) = root
        .textures
        .iter()
        .position(|t| t.source.value() == u32::MAX as usize)
    else {
        return Ok(());
    };
    let used: Vec<&str> = root
        .extensions_used
        .iter()
        .map(String::as_str)
        .filter(|e| ["EXT_texture_webp", "MSFT_texture_dds"].contains(e))
        .collect();
    let feature = match used.first() {
        Some(ext) => format!(
            "texture {i} has no fallback image, only {}",
            describe_extension(ext)
        ),
        None => format!("texture {i} has no image source"),
    };
    Err(AssetError::Unsupported {
        path: path.to_path_buf(),
        feature,
    })
}

/// The frame rotation as a column-major 4x4 matrix (the parent of the file's root nodes).
fn frame_matrix(frame: &SceneFrame) -> Mat4 {
    let r = frame.file_to_world();
    let mut m = IDENTITY;
    for (c, col) in m.iter_mut().take(3).enumerate() {
        for (row, v) in col.iter_mut().take(3).enumerate() {
            *v = r[row][c];
        }
    }
    m
}

/// Every POSITION names an existing accessor. Checked before the `gltf` validator, whose primitive hook
/// indexes the accessors with it unchecked (a panic on a bad index).
fn check_position_indices(root: &json::Root) -> Result<(), String> {
    for (m, mesh) in root.meshes.iter().enumerate() {
        for (p, prim) in mesh.primitives.iter().enumerate() {
            if let Some(i) = prim.attributes.get(&Checked::Valid(Semantic::Positions)) {
                if i.value() >= root.accessors.len() {
                    return Err(format!(
                        "meshes[{m}].primitives[{p}].attributes.POSITION: accessor {} does not exist ({} accessors)",
                        i.value(),
                        root.accessors.len()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The spec requires `min`/`max` on POSITION accessors and the `gltf` validator enforces it, but some
/// exporters omit them. We never read them (bounds come from the data), so missing ones get a
/// placeholder instead of rejecting an otherwise readable file.
fn fill_missing_position_bounds(root: &mut json::Root) {
    let positions: Vec<usize> = root
        .meshes
        .iter()
        .flat_map(|m| m.primitives.iter())
        .filter_map(|p| {
            p.attributes
                .get(&Checked::Valid(Semantic::Positions))
                .map(|a| a.value())
        })
        .collect();
    for i in positions {
        if let Some(acc) = root.accessors.get_mut(i) {
            if acc.min.is_none() || acc.max.is_none() {
                acc.min = Some(json::Value::from(vec![0.0f32; 3]));
                acc.max = Some(json::Value::from(vec![0.0f32; 3]));
            }
        }
    }
}

fn describe_extension(ext: &str) -> String {
    let what = match ext {
        "KHR_draco_mesh_compression" => {
            " (Draco mesh compression; decompress the file first, e.g. with gltf-transform)"
        }
        "EXT_meshopt_compression" | "KHR_meshopt_compression" => " (meshopt buffer compression)",
        "KHR_mesh_quantization" => " (quantized vertex attributes)",
        "KHR_texture_basisu" => " (KTX2/Basis Universal textures)",
        "EXT_texture_webp" => " (WebP textures)",
        _ => "",
    };
    format!("required extension {ext}{what}")
}

fn validation_message(e: gltf::Error) -> String {
    match e {
        gltf::Error::Validation(errors) => {
            let mut parts: Vec<String> = errors
                .iter()
                .take(5)
                .map(|(p, e)| format!("{p}: {e}"))
                .collect();
            if errors.len() > 5 {
                parts.push(format!("and {} more", errors.len() - 5));
            }
            format!("validation failed: {}", parts.join("; "))
        }
        other => other.to_string(),
    }
}

/// Bytes named by a URI: a base64 `data:` URI or a file relative to the glTF file.
fn read_uri(uri: &str, base_dir: &Path, path: &Path) -> Result<Vec<u8>, AssetError> {
    if let Some(rest) = uri.strip_prefix("data:") {
        let (header, payload) = rest.split_once(',').ok_or_else(|| AssetError::Invalid {
            path: path.to_path_buf(),
            message: format!(
                "malformed data URI (no comma) starting {:?}",
                truncate(uri, 40)
            ),
        })?;
        if !header.ends_with(";base64") {
            return Err(AssetError::Unsupported {
                path: path.to_path_buf(),
                feature: format!("data URI without base64 encoding ({header:?})"),
            });
        }
        return base64::engine::general_purpose::STANDARD
            .decode(payload)
            .map_err(|e| AssetError::Invalid {
                path: path.to_path_buf(),
                message: format!("data URI with bad base64 ({e})"),
            });
    }
    if uri.contains("://") {
        return Err(AssetError::Unsupported {
            path: path.to_path_buf(),
            feature: format!("non-local URI {uri:?}"),
        });
    }
    let decoded = percent_encoding::percent_decode_str(uri).decode_utf8_lossy();
    let refused = |why: &str| AssetError::Invalid {
        path: path.to_path_buf(),
        message: format!("external file URI {uri:?} {why}"),
    };
    let relative = confined_relative(Path::new(decoded.as_ref())).ok_or_else(|| {
        refused("is empty or leaves the scene's directory (absolute, or `..` above it)")
    })?;
    let resolved = base_dir.join(relative);
    let missing = |source| AssetError::MissingExternal {
        path: path.to_path_buf(),
        uri: uri.to_string(),
        resolved: resolved.clone(),
        source,
    };
    // Checked before opening: a FIFO would block the open, a device (/dev/zero) would never end.
    if !std::fs::metadata(&resolved).map_err(missing)?.is_file() {
        return Err(refused(&format!(
            "names {}, which is not a regular file",
            resolved.display()
        )));
    }
    std::fs::read(&resolved).map_err(missing)
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn resolve_buffers(
    root: &json::Root,
    bin: Option<&[u8]>,
    base_dir: &Path,
    path: &Path,
) -> Result<Vec<Vec<u8>>, AssetError> {
    let mut out = Vec::with_capacity(root.buffers.len());
    for (i, b) in root.buffers.iter().enumerate() {
        let declared = b.byte_length.0;
        let data = match &b.uri {
            Some(uri) => read_uri(uri, base_dir, path)?,
            None => match bin {
                Some(bin) => bin.to_vec(),
                None => {
                    return Err(AssetError::Buffer {
                        path: path.to_path_buf(),
                        buffer: i,
                        message: "has no uri and the file has no GLB binary chunk".into(),
                    })
                }
            },
        };
        if (data.len() as u64) < declared {
            return Err(AssetError::Buffer {
                path: path.to_path_buf(),
                buffer: i,
                message: format!(
                    "declares {declared} bytes but only {} are present (truncated file?)",
                    data.len()
                ),
            });
        }
        out.push(data);
    }
    Ok(out)
}

/// A column-major 4x4 matrix, as glTF stores them.
type Mat4 = [[f32; 4]; 4];

const IDENTITY: Mat4 = [
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.0],
    [0.0, 0.0, 0.0, 1.0],
];

fn mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut m = [[0.0f32; 4]; 4];
    for (c, col) in m.iter_mut().enumerate() {
        for (r, v) in col.iter_mut().enumerate() {
            *v = (0..4).map(|k| a[k][r] * b[c][k]).sum();
        }
    }
    m
}

fn local_matrix(node: &json::scene::Node) -> Mat4 {
    if let Some(m) = node.matrix {
        return [
            [m[0], m[1], m[2], m[3]],
            [m[4], m[5], m[6], m[7]],
            [m[8], m[9], m[10], m[11]],
            [m[12], m[13], m[14], m[15]],
        ];
    }
    let t = node.translation.unwrap_or([0.0; 3]);
    let s = node.scale.unwrap_or([1.0; 3]);
    let [mut x, mut y, mut z, mut w] = node.rotation.map_or([0.0, 0.0, 0.0, 1.0], |q| q.0);
    let n = (x * x + y * y + z * z + w * w).sqrt();
    if n > 0.0 {
        (x, y, z, w) = (x / n, y / n, z / n, w / n);
    } else {
        (x, y, z, w) = (0.0, 0.0, 0.0, 1.0);
    }
    // Rotation matrix columns of the unit quaternion, scaled per axis, then the translation column.
    let r = [
        [
            1.0 - 2.0 * (y * y + z * z),
            2.0 * (x * y + z * w),
            2.0 * (x * z - y * w),
        ],
        [
            2.0 * (x * y - z * w),
            1.0 - 2.0 * (x * x + z * z),
            2.0 * (y * z + x * w),
        ],
        [
            2.0 * (x * z + y * w),
            2.0 * (y * z - x * w),
            1.0 - 2.0 * (x * x + y * y),
        ],
    ];
    [
        [r[0][0] * s[0], r[0][1] * s[0], r[0][2] * s[0], 0.0],
        [r[1][0] * s[1], r[1][1] * s[1], r[1][2] * s[1], 0.0],
        [r[2][0] * s[2], r[2][1] * s[2], r[2][2] * s[2], 0.0],
        [t[0], t[1], t[2], 1.0],
    ]
}

/// Every node reachable from the file's scenes (or, with no scenes, every node that is no one's child),
/// each once, with its world matrix. Iterative, so a deep hierarchy cannot overflow the stack; a node
/// reached twice (a cycle, or shared by two scenes) is visited once.
fn flatten_nodes(
    root: &json::Root,
    frame: &Mat4,
    path: &Path,
) -> Result<Vec<(usize, Mat4)>, AssetError> {
    let mut roots: Vec<usize> = root
        .scenes
        .iter()
        .flat_map(|s| s.nodes.iter().map(|n| n.value()))
        .collect();
    if root.scenes.is_empty() {
        let mut is_child = vec![false; root.nodes.len()];
        for n in &root.nodes {
            for c in n.children.iter().flatten() {
                is_child[c.value()] = true;
            }
        }
        roots = (0..root.nodes.len()).filter(|&i| !is_child[i]).collect();
    }
    let mut visited = vec![false; root.nodes.len()];
    let mut out = Vec::new();
    let mut stack: Vec<(usize, Mat4)> = roots.into_iter().rev().map(|n| (n, *frame)).collect();
    while let Some((n, parent)) = stack.pop() {
        if std::mem::replace(&mut visited[n], true) {
            continue;
        }
        let node = &root.nodes[n];
        let world = mul(&parent, &local_matrix(node));
        if world.iter().flatten().any(|v| !v.is_finite()) {
            return Err(AssetError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "node {n} ({:?}) has a non-finite transform",
                    node.name.as_deref().unwrap_or("")
                ),
            });
        }
        for c in node.children.iter().flatten().rev() {
            stack.push((c.value(), world));
        }
        out.push((n, world));
    }
    Ok(out)
}

/// Accumulates meshes, materials and textures, creating each material and texture on first use.
struct SceneBuilder<'a> {
    root: &'a json::Root,
    buffers: &'a Buffers,
    base_dir: &'a Path,
    path: &'a Path,
    scene: Scene,
    budget: accessor::Budget,
    materials: HashMap<Option<usize>, usize>,
    images: HashMap<usize, usize>,
    /// Textures of external files by URI: images naming the same file share one decoded texture.
    by_uri: HashMap<String, usize>,
    /// What is left of [`MAX_SCENE_TEXELS`].
    texels_left: u64,
}

impl<'a> SceneBuilder<'a> {
    fn new(root: &'a json::Root, buffers: &'a Buffers, base_dir: &'a Path, path: &'a Path) -> Self {
        SceneBuilder {
            root,
            buffers,
            base_dir,
            path,
            scene: Scene::default(),
            budget: accessor::Budget::default(),
            materials: HashMap::new(),
            images: HashMap::new(),
            by_uri: HashMap::new(),
            texels_left: MAX_SCENE_TEXELS,
        }
    }

    fn finish(self) -> Scene {
        self.scene
    }

    fn add_node(
        &mut self,
        node_index: usize,
        world: &Mat4,
        report: &mut LoadReport,
    ) -> Result<(), AssetError> {
        let node = &self.root.nodes[node_index];
        let Some(mesh_index) = node.mesh else {
            return Ok(());
        };
        let mesh = &self.root.meshes[mesh_index.value()];
        let base_name = node
            .name
            .clone()
            .or_else(|| mesh.name.clone())
            .unwrap_or_else(|| format!("node{node_index}"));
        for (p, prim) in mesh.primitives.iter().enumerate() {
            let name = if mesh.primitives.len() > 1 {
                format!("{base_name}/{p}")
            } else {
                base_name.clone()
            };
            let mode = match prim.mode {
                Checked::Valid(m) => m,
                Checked::Invalid => Mode::Triangles,
            };
            if !matches!(
                mode,
                Mode::Triangles | Mode::TriangleStrip | Mode::TriangleFan
            ) {
                report.skipped_primitives += 1;
                continue;
            }
            let Some(pos_acc) = prim.attributes.get(&Checked::Valid(Semantic::Positions)) else {
                // glTF 2.0, 3.7.2.1: a primitive without positions is not rendered.
                report.skipped_primitives += 1;
                continue;
            };
            let ctx = |attribute: &str, accessor: usize| {
                let mesh_name = mesh
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("#{}", mesh_index.value()));
                let attribute = attribute.to_string();
                let path = self.path.to_path_buf();
                move |message: String| AssetError::Accessor {
                    path,
                    mesh: mesh_name,
                    primitive: p,
                    attribute,
                    accessor,
                    message,
                }
            };
            let material = self.material(prim.material.map(|m| m.value()))?;
            let (tex_coord, uv_transform) =
                self.base_color_uv_set(prim.material.map(|m| m.value()));

            let pos_i = pos_acc.value();
            let (_, flat) = accessor::read_floats(
                self.root,
                self.buffers,
                pos_i,
                &accessor::POSITION,
                &mut self.budget,
            )
            .map_err(ctx("POSITION", pos_i))?;
            let n_vertices = flat.len() / 3;
            let mut positions: Vec<[f32; 3]> = flat
                .chunks_exact(3)
                .map(|c| transform_point(world, [c[0], c[1], c[2]]))
                .collect();
            drop(flat);
            if let Some((v, p)) = positions.iter().enumerate().find(|(_, p)| !within_world(p)) {
                return Err(ctx("POSITION", pos_i)(format!(
                    "vertex {v} lies at {p:?} under node {node_index} ({base_name:?})'s transform, \
                     beyond the world limit of {MAX_WORLD_COORD} m per axis"
                )));
            }

            let indices = match prim.indices {
                Some(acc) => {
                    let ix = accessor::read_indices(
                        self.root,
                        self.buffers,
                        acc.value(),
                        &mut self.budget,
                    )
                    .map_err(ctx("indices", acc.value()))?;
                    if let Some(bad) = ix.iter().find(|&&i| i as usize >= n_vertices) {
                        return Err(ctx("indices", acc.value())(format!(
                            "index {bad} out of range for {n_vertices} vertices"
                        )));
                    }
                    ix
                }
                None => (0..n_vertices as u32).collect(),
            };
            let mut triangles = assemble_triangles(&indices, mode);
            drop(indices);
            let mirrored = determinant3(world) < 0.0;
            if mirrored {
                for t in &mut triangles {
                    t.swap(1, 2);
                }
            }

            let normals = match prim.attributes.get(&Checked::Valid(Semantic::Normals)) {
                Some(acc) => {
                    let (_, flat) = accessor::read_floats(
                        self.root,
                        self.buffers,
                        acc.value(),
                        &accessor::NORMAL,
                        &mut self.budget,
                    )
                    .map_err(ctx("NORMAL", acc.value()))?;
                    if flat.len() != n_vertices * 3 {
                        return Err(ctx("NORMAL", acc.value())(format!(
                            "has {} elements for {n_vertices} vertices",
                            flat.len() / 3
                        )));
                    }
                    let normal_matrix = inverse_transpose3(world);
                    let mut fallback: Option<Vec<[f32; 3]>> = None;
                    let mut out = Vec::with_capacity(n_vertices);
                    for (v, c) in flat.chunks_exact(3).enumerate() {
                        let n = mat3_apply(&normal_matrix, [c[0], c[1], c[2]]);
                        match normalize(n) {
                            Some(n) => out.push(n),
                            None => {
                                let f = fallback
                                    .get_or_insert_with(|| face_normals(&positions, &triangles));
                                out.push(f[v]);
                            }
                        }
                    }
                    out
                }
                None => face_normals(&positions, &triangles),
            };

            let uvs = match prim
                .attributes
                .get(&Checked::Valid(Semantic::TexCoords(tex_coord)))
            {
                Some(acc) => {
                    let (_, flat) = accessor::read_floats(
                        self.root,
                        self.buffers,
                        acc.value(),
                        &accessor::TEXCOORD,
                        &mut self.budget,
                    )
                    .map_err(ctx("TEXCOORD", acc.value()))?;
                    if flat.len() != n_vertices * 2 {
                        return Err(ctx("TEXCOORD", acc.value())(format!(
                            "has {} elements for {n_vertices} vertices",
                            flat.len() / 2
                        )));
                    }
                    flat.chunks_exact(2)
                        .map(|c| uv_transform.apply([c[0], c[1]]))
                        .collect()
                }
                None => Vec::new(),
            };

            let colors = match prim.attributes.get(&Checked::Valid(Semantic::Colors(0))) {
                Some(acc) => {
                    let (dims, flat) = accessor::read_floats(
                        self.root,
                        self.buffers,
                        acc.value(),
                        &accessor::COLOR,
                        &mut self.budget,
                    )
                    .map_err(ctx("COLOR_0", acc.value()))?;
                    if flat.len() != n_vertices * dims {
                        return Err(ctx("COLOR_0", acc.value())(format!(
                            "has {} elements for {n_vertices} vertices",
                            flat.len() / dims
                        )));
                    }
                    flat.chunks_exact(dims)
                        .map(|c| [c[0], c[1], c[2], if dims == 4 { c[3] } else { 1.0 }])
                        .collect()
                }
                None => Vec::new(),
            };

            // Strips and fans may leave vertices unused; keep them (cheap) so indices stay the file's.
            positions.shrink_to_fit();
            self.scene.meshes.push(Mesh {
                name,
                positions,
                normals,
                uvs,
                colors,
                triangles,
                material,
            });
        }
        Ok(())
    }

    /// The texture coordinate set and transform that the base color texture of a material uses.
    fn base_color_uv_set(&self, material: Option<usize>) -> (u32, UvTransform) {
        let info = material.and_then(|m| {
            self.root.materials[m]
                .pbr_metallic_roughness
                .base_color_texture
                .as_ref()
        });
        match info {
            Some(info) => {
                let t = info
                    .extensions
                    .as_ref()
                    .and_then(|e| e.texture_transform.as_ref());
                let set = t.and_then(|t| t.tex_coord).unwrap_or(info.tex_coord);
                (set, t.map_or(UvTransform::IDENTITY, UvTransform::from_json))
            }
            None => (0, UvTransform::IDENTITY),
        }
    }

    fn material(&mut self, index: Option<usize>) -> Result<usize, AssetError> {
        if let Some(&m) = self.materials.get(&index) {
            return Ok(m);
        }
        let material = match index {
            None => Material {
                name: "default".into(),
                ..Material::default()
            },
            Some(i) => {
                let m = &self.root.materials[i];
                let pbr = &m.pbr_metallic_roughness;
                let texture = match &pbr.base_color_texture {
                    Some(info) => Some(self.texture(info.index.value())?),
                    None => None,
                };
                Material {
                    name: m.name.clone().unwrap_or_else(|| format!("material{i}")),
                    base_color: pbr.base_color_factor.0,
                    base_color_texture: texture,
                    double_sided: m.double_sided,
                }
            }
        };
        self.scene.materials.push(material);
        let id = self.scene.materials.len() - 1;
        self.materials.insert(index, id);
        Ok(id)
    }

    fn texture(&mut self, texture_index: usize) -> Result<usize, AssetError> {
        let image_index = self.root.textures[texture_index].source.value();
        if let Some(&t) = self.images.get(&image_index) {
            return Ok(t);
        }
        let image = &self.root.images[image_index];
        let err = |message: String| AssetError::Image {
            path: self.path.to_path_buf(),
            image: image_index,
            message,
        };
        let bytes: Vec<u8> = match (&image.buffer_view, &image.uri) {
            (Some(view), _) => {
                let v = &self.root.buffer_views[view.value()];
                let data = &self.buffers[v.buffer.value()];
                let start = v.byte_offset.map_or(0, |o| o.0) as usize;
                start
                    .checked_add(v.byte_length.0 as usize)
                    .and_then(|end| data.get(start..end))
                    .ok_or_else(|| {
                        err(format!(
                            "buffer view {} overruns buffer {}",
                            view.value(),
                            v.buffer.value()
                        ))
                    })?
                    .to_vec()
            }
            (None, Some(uri)) => {
                if let Some(&t) = self.by_uri.get(uri) {
                    self.images.insert(image_index, t);
                    return Ok(t);
                }
                read_uri(uri, self.base_dir, self.path)?
            }
            (None, None) => return Err(err("has neither a uri nor a bufferView".into())),
        };
        let (width, height) = image_dimensions(&bytes).map_err(&err)?;
        let texels = u64::from(width) * u64::from(height);
        if texels > MAX_TEXTURE_PIXELS || texels > self.texels_left {
            return Err(err(format!(
                "{width}x{height} texels exceed the limit of {MAX_TEXTURE_PIXELS} per image or what is left \
                 ({}) of {MAX_SCENE_TEXELS} per file",
                self.texels_left
            )));
        }
        self.texels_left -= texels;
        let decoded = if bytes.starts_with(ktx2::KTX2_MAGIC) {
            ktx2::decode(&bytes).map_err(|e| {
                err(format!(
                    "cannot decode its KTX2 / Basis Universal data ({}): {e}",
                    ktx2::EXTENSION
                ))
            })?
        } else {
            let image = image::load_from_memory(&bytes)
                .map_err(|e| err(format!("cannot decode ({e})")))?
                .to_rgba8();
            let (width, height) = image.dimensions();
            Texture {
                width,
                height,
                rgba: image.into_raw(),
            }
        };
        self.scene.textures.push(decoded);
        let id = self.scene.textures.len() - 1;
        self.images.insert(image_index, id);
        if let (None, Some(uri)) = (&image.buffer_view, &image.uri) {
            self.by_uri.insert(uri.clone(), id);
        }
        Ok(id)
    }
}

/// An image's width and height from its header (KTX2, or any format the `image` crate reads), without
/// decoding its texels.
fn image_dimensions(bytes: &[u8]) -> Result<(u32, u32), String> {
    if bytes.starts_with(ktx2::KTX2_MAGIC) {
        return ktx2::check_header(bytes).map_err(|e| {
            format!(
                "cannot decode its KTX2 / Basis Universal data ({}): {e}",
                ktx2::EXTENSION
            )
        });
    }
    image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| format!("cannot read its header ({e})"))?
        .into_dimensions()
        .map_err(|e| format!("cannot decode ({e})"))
}

/// KHR_texture_transform as `uv' = T * R * S * uv`.
#[derive(Debug, Clone, Copy)]
struct UvTransform {
    m: [[f32; 3]; 2],
}

impl UvTransform {
    const IDENTITY: UvTransform = UvTransform {
        m: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
    };

    fn from_json(t: &json::extensions::texture::TextureTransform) -> UvTransform {
        let (s, c) = t.rotation.0.sin_cos();
        let [sx, sy] = t.scale.0;
        let [ox, oy] = t.offset.0;
        UvTransform {
            m: [[c * sx, s * sy, ox], [-s * sx, c * sy, oy]],
        }
    }

    fn apply(&self, [u, v]: [f32; 2]) -> [f32; 2] {
        [
            self.m[0][0] * u + self.m[0][1] * v + self.m[0][2],
            self.m[1][0] * u + self.m[1][1] * v + self.m[1][2],
        ]
    }
}

fn assemble_triangles(indices: &[u32], mode: Mode) -> Vec<[u32; 3]> {
    let mut tris = Vec::with_capacity(indices.len() / 3 + 2);
    match mode {
        Mode::TriangleStrip => {
            for i in 2..indices.len() {
                // Alternate the winding so every triangle keeps the strip's orientation.
                let t = if i % 2 == 0 {
                    [indices[i - 2], indices[i - 1], indices[i]]
                } else {
                    [indices[i - 1], indices[i - 2], indices[i]]
                };
                if t[0] != t[1] && t[1] != t[2] && t[0] != t[2] {
                    tris.push(t);
                }
            }
        }
        Mode::TriangleFan => {
            for i in 2..indices.len() {
                tris.push([indices[0], indices[i - 1], indices[i]]);
            }
        }
        _ => tris.extend(indices.chunks_exact(3).map(|c| [c[0], c[1], c[2]])),
    }
    tris
}

/// Finite and within [`MAX_WORLD_COORD`] on every axis.
fn within_world(p: &[f32; 3]) -> bool {
    p.iter().all(|v| v.abs() <= MAX_WORLD_COORD)
}

fn transform_point(m: &Mat4, p: [f32; 3]) -> [f32; 3] {
    let mut out = [0.0; 3];
    for (r, o) in out.iter_mut().enumerate() {
        *o = m[0][r] * p[0] + m[1][r] * p[1] + m[2][r] * p[2] + m[3][r];
    }
    out
}

fn determinant3(m: &Mat4) -> f32 {
    m[0][0] * (m[1][1] * m[2][2] - m[2][1] * m[1][2])
        - m[1][0] * (m[0][1] * m[2][2] - m[2][1] * m[0][2])
        + m[2][0] * (m[0][1] * m[1][2] - m[1][1] * m[0][2])
}

/// The inverse transpose of the upper 3x3 (row-major result), which maps normals under non-uniform scale.
/// Scaled by the determinant rather than divided: only directions matter, and this stays finite.
fn inverse_transpose3(m: &Mat4) -> [[f32; 3]; 3] {
    // Cofactor matrix of A (A[r][c] = m[c][r]); the inverse transpose is cofactors / det.
    let a = |r: usize, c: usize| m[c][r];
    let cof = |r: usize, c: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
        a(r1, c1) * a(r2, c2) - a(r1, c2) * a(r2, c1)
    };
    let sign = if determinant3(m) < 0.0 { -1.0 } else { 1.0 };
    let mut out = [[0.0; 3]; 3];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = sign * cof(r, c);
        }
    }
    out
}

fn mat3_apply(m: &[[f32; 3]; 3], v: [f32; 3]) -> [f32; 3] {
    [
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    ]
}

fn normalize(v: [f32; 3]) -> Option<[f32; 3]> {
    let n = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    (n > 1e-12 && n.is_finite()).then(|| [v[0] / n, v[1] / n, v[2] / n])
}

/// Area-weighted vertex normals from counter-clockwise faces; +Y for vertices on no proper face.
pub(crate) fn face_normals(positions: &[[f32; 3]], triangles: &[[u32; 3]]) -> Vec<[f32; 3]> {
    let mut acc = vec![[0.0f32; 3]; positions.len()];
    for t in triangles {
        let [a, b, c] = t.map(|i| positions[i as usize]);
        let e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let e2 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
        let n = [
            e1[1] * e2[2] - e1[2] * e2[1],
            e1[2] * e2[0] - e1[0] * e2[2],
            e1[0] * e2[1] - e1[1] * e2[0],
        ];
        for &i in t {
            for k in 0..3 {
                acc[i as usize][k] += n[k];
            }
        }
    }
    acc.into_iter()
        .map(|n| normalize(n).unwrap_or([0.0, 1.0, 0.0]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_and_fans_become_triangles_with_consistent_winding() {
        assert_eq!(
            assemble_triangles(&[0, 1, 2, 3], Mode::TriangleStrip),
            vec![[0, 1, 2], [2, 1, 3]]
        );
        assert_eq!(
            assemble_triangles(&[0, 1, 2, 3], Mode::TriangleFan),
            vec![[0, 1, 2], [0, 2, 3]]
        );
        assert_eq!(
            assemble_triangles(&[0, 1, 2, 3, 4], Mode::Triangles),
            vec![[0, 1, 2]]
        );
    }

    #[test]
    fn trs_matrix_matches_hand_computation() {
        // 90 degrees about +Y, scale 2, then translate (1,0,0): the local +X axis goes to world -Z.
        let h = std::f32::consts::FRAC_1_SQRT_2;
        let node: json::scene::Node = serde_json::from_str(&format!(
            r#"{{"translation":[1,0,0],"rotation":[0,{h},0,{h}],"scale":[2,2,2]}}"#
        ))
        .unwrap();
        let p = transform_point(&local_matrix(&node), [1.0, 0.0, 0.0]);
        assert!(
            (p[0] - 1.0).abs() < 1e-5 && p[1].abs() < 1e-5 && (p[2] + 2.0).abs() < 1e-5,
            "{p:?}"
        );
    }

    #[test]
    fn normals_under_nonuniform_scale_stay_perpendicular() {
        // Scale x by 4: a surface tilted 45 degrees in x-y gets flatter, so its normal tilts towards +x.
        let mut m = IDENTITY;
        m[0][0] = 4.0;
        let n = normalize(mat3_apply(&inverse_transpose3(&m), [1.0, 1.0, 0.0])).unwrap();
        let tangent = transform_point(&m, [1.0, -1.0, 0.0]);
        let dot = n[0] * tangent[0] + n[1] * tangent[1] + n[2] * tangent[2];
        assert!(dot.abs() < 1e-5, "{n:?} . {tangent:?} = {dot}");
    }
}
