//! The loader on small hand-made glTF files (written by `tests/fixtures/make_fixtures.py`, independently of
//! our writer): transforms, primitive modes, normals, colors, textures, and every kind of broken file.

use std::path::{Path, PathBuf};

use habitat_assets::{
    load_scene_from_bytes, load_scene_with, AssetError, LoadOptions, LoadReport, Scene, SceneFrame,
};

/// The fixtures are authored Y-up, as glTF tools write them: read as authored (`--scene-up y`).
const AS_AUTHORED: LoadOptions = LoadOptions {
    frame: SceneFrame::Y_UP,
};

fn load_scene(path: PathBuf) -> Result<Scene, AssetError> {
    load_scene_with(path, &AS_AUTHORED).map(|(scene, _)| scene)
}

fn load_scene_with_report(path: PathBuf) -> Result<(Scene, LoadReport), AssetError> {
    load_scene_with(path, &AS_AUTHORED)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn close(a: [f32; 3], b: [f32; 3]) -> bool {
    (0..3).all(|k| (a[k] - b[k]).abs() < 1e-5)
}

fn sorted_positions(scene: &Scene, mesh: &str) -> Vec<[f32; 3]> {
    let m = scene
        .meshes
        .iter()
        .find(|m| m.name == mesh)
        .unwrap_or_else(|| panic!("no mesh {mesh}"));
    let mut p = m.positions.clone();
    p.sort_by(|a, b| a.partial_cmp(b).unwrap());
    p
}

/// Every triangle's winding agrees with its vertex normals (front faces stay front faces).
fn assert_winding_matches_normals(scene: &Scene) {
    for m in &scene.meshes {
        for t in &m.triangles {
            let [a, b, c] = t.map(|i| m.positions[i as usize]);
            let e1 = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            let e2 = [c[0] - a[0], c[1] - a[1], c[2] - a[2]];
            let n = [
                e1[1] * e2[2] - e1[2] * e2[1],
                e1[2] * e2[0] - e1[0] * e2[2],
                e1[0] * e2[1] - e1[1] * e2[0],
            ];
            for &i in t {
                let v = m.normals[i as usize];
                assert!(
                    n[0] * v[0] + n[1] * v[1] + n[2] * v[2] > 0.0,
                    "{}: winding disagrees with normal {v:?}",
                    m.name
                );
            }
        }
    }
}

#[test]
fn nested_rotation_scale_and_matrix_transforms_flatten_to_world() {
    let scene = load_scene(fixture("nested_transforms.glb")).unwrap();
    assert_eq!(scene.meshes.len(), 3);
    assert_eq!(scene.triangle_count(), 3);
    assert_eq!(scene.vertex_count(), 9);
    // parent: translate (10,0,0) * rotate 90 deg about +Y; child: translate (0,2,0) * scale 2.
    let child = sorted_positions(&scene, "child");
    for (got, want) in child
        .iter()
        .zip([[8.0, 2.0, 0.0], [10.0, 2.0, -2.0], [10.0, 2.0, 0.0]])
    {
        assert!(close(*got, want), "child {child:?}");
    }
    let m = sorted_positions(&scene, "matrix_node");
    for (got, want) in m
        .iter()
        .zip([[0.0, 0.0, 4.0], [0.0, 0.0, 5.0], [3.0, 0.0, 5.0]])
    {
        assert!(close(*got, want), "matrix node {m:?}");
    }
    let b = scene.bounds();
    assert!(
        close(b.min, [-1.0, 0.0, -2.0]) && close(b.max, [10.0, 2.0, 5.0]),
        "{b:?}"
    );
    // Rotated, scaled and mirrored copies all keep an upward normal and a matching winding.
    for mesh in &scene.meshes {
        assert!(
            mesh.normals.iter().all(|n| close(*n, [0.0, 1.0, 0.0])),
            "{}: {:?}",
            mesh.name,
            mesh.normals
        );
    }
    assert_winding_matches_normals(&scene);
}

#[test]
fn strips_fans_and_non_indexed_triangles_load_and_lines_are_skipped() {
    let (scene, report) = load_scene_with_report(fixture("primitives.gltf")).unwrap();
    assert_eq!(report.skipped_primitives, 1);
    assert_eq!(scene.meshes.len(), 3);
    assert_eq!(scene.triangle_count(), 6);
    let b = scene.bounds();
    assert!(
        close(b.min, [0.0, 0.0, -1.0]) && close(b.max, [1.0, 2.0, 0.0]),
        "line vertices leaked: {b:?}"
    );
    // No NORMAL attribute: computed from the faces, all facing up.
    for m in &scene.meshes {
        assert!(
            m.normals.iter().all(|n| close(*n, [0.0, 1.0, 0.0])),
            "{:?}",
            m.normals
        );
    }
    assert_winding_matches_normals(&scene);
}

#[test]
fn normalized_byte_and_float_vertex_colors() {
    let scene = load_scene(fixture("vertex_colors.gltf")).unwrap();
    let want = [
        [1.0, 0.0, 0.0, 1.0],
        [0.0, 1.0, 0.0, 1.0],
        [0.0, 0.0, 1.0, 0.2],
    ];
    for (got, want) in scene.meshes[0].colors.iter().zip(want) {
        assert!(
            (0..4).all(|k| (got[k] - want[k]).abs() < 1e-6),
            "{got:?} != {want:?}"
        );
    }
    assert_eq!(scene.meshes[1].colors, vec![[0.25, 0.5, 0.75, 1.0]; 3]);
    assert_eq!(
        scene.materials.len(),
        1,
        "primitives without a material share the default"
    );
}

#[test]
fn embedded_png_texture_with_texture_transform() {
    let scene = load_scene(fixture("textured_embedded.gltf")).unwrap();
    assert_eq!(scene.textures.len(), 1);
    let t = &scene.textures[0];
    assert_eq!((t.width, t.height), (2, 2));
    assert_eq!(&t.rgba[..8], &[255, 0, 0, 255, 0, 255, 0, 255]);
    let mat = &scene.materials[scene.meshes[0].material];
    assert_eq!(mat.base_color, [0.5, 1.0, 1.0, 1.0]);
    assert_eq!(mat.base_color_texture, Some(0));
    // KHR_texture_transform offset (0.5, 0) is applied to the UVs.
    assert_eq!(
        scene.meshes[0].uvs,
        vec![[0.5, 1.0], [1.5, 1.0], [1.5, 0.0], [0.5, 0.0]]
    );
}

#[test]
fn external_buffer_and_percent_encoded_jpeg() {
    let scene = load_scene(fixture("textured_external.gltf")).unwrap();
    assert_eq!(scene.triangle_count(), 2);
    let t = &scene.textures[0];
    assert_eq!((t.width, t.height, t.rgba.len()), (8, 8, 256));
    // A 4x4 light block at the top-left, dark at the top-right (JPEG is lossy: loose bounds).
    assert!(t.rgba[0] > 200 && t.rgba[4 * 7] < 60, "{:?}", &t.rgba[..32]);
    assert!(scene.materials[0].double_sided);
}

fn expect_err(name: &str) -> AssetError {
    match load_scene(fixture(name)) {
        Ok(_) => panic!("{name} loaded"),
        Err(e) => {
            assert!(
                e.to_string().contains(name),
                "message does not name the file: {e}"
            );
            e
        }
    }
}

#[test]
fn missing_external_buffer_names_the_uri() {
    match expect_err("missing_buffer.gltf") {
        AssetError::MissingExternal { uri, .. } => assert_eq!(uri, "does_not_exist.bin"),
        e => panic!("{e}"),
    }
}

#[test]
fn required_draco_is_reported_as_unsupported() {
    let e = expect_err("draco_required.gltf");
    assert!(
        matches!(e, AssetError::Unsupported { .. })
            && e.to_string().contains("KHR_draco_mesh_compression"),
        "{e}"
    );
}

#[test]
fn accessor_past_its_view_and_index_out_of_range_are_errors() {
    let e = expect_err("bad_accessor.gltf");
    assert!(
        matches!(e, AssetError::Accessor { .. }) && e.to_string().contains("POSITION"),
        "{e}"
    );
    let e = expect_err("bad_index.gltf");
    assert!(e.to_string().contains("index 7 out of range"), "{e}");
}

#[test]
fn truncated_glb_is_an_error() {
    let e = expect_err("truncated.glb");
    assert!(e.to_string().contains("truncated"), "{e}");
}

#[test]
fn every_prefix_of_a_glb_fails_cleanly() {
    let bytes = std::fs::read(fixture("nested_transforms.glb")).unwrap();
    let origin = fixture("nested_transforms.glb");
    for n in 0..bytes.len() {
        assert!(
            load_scene_from_bytes(&bytes[..n], &origin).is_err(),
            "prefix of {n} bytes loaded"
        );
    }
    // A GLB whose header was patched to the cut length: the binary chunk or buffer is short instead.
    for cut in [bytes.len() - 4, bytes.len() - 40] {
        let mut b = bytes[..cut].to_vec();
        let len = b.len() as u32;
        b[8..12].copy_from_slice(&len.to_le_bytes());
        assert!(
            load_scene_from_bytes(&b, &origin).is_err(),
            "patched cut at {cut} loaded"
        );
    }
}
