//! habitat's axis convention (a bare `.glb` is up +Z, front +Y), the `--scene-up y` reading, the lighting
//! mark of the files we write, and KTX2 / Basis Universal textures (decoded, or refused naming the file).

use std::path::{Path, PathBuf};

use habitat_assets::house::{generate_house, HouseOptions};
use habitat_assets::write::write_scene_glb_with;
use habitat_assets::{
    load_scene_from_bytes, load_scene_from_bytes_with, load_scene_with, AssetError, LoadOptions,
    Material, Mesh, Scene, SceneFrame, SceneLighting,
};

const Y_UP: LoadOptions = LoadOptions {
    frame: SceneFrame::Y_UP,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// One triangle in world coordinates: (1, 2, 3), (2, 2, 3), (1, 2, 2) (facing +Y).
fn triangle() -> Scene {
    Scene {
        meshes: vec![Mesh {
            name: "tri".into(),
            positions: vec![[1.0, 2.0, 3.0], [2.0, 2.0, 3.0], [1.0, 2.0, 2.0]],
            normals: vec![[0.0, 1.0, 0.0]; 3],
            triangles: vec![[0, 1, 2]],
            ..Mesh::default()
        }],
        materials: vec![Material::default()],
        textures: vec![],
    }
}

/// The positions as stored in the file, read by the `gltf` crate's own importer (not our loader).
fn raw_positions(glb: &[u8]) -> Vec<[f32; 3]> {
    let (doc, buffers, _) = gltf::import_slice(glb).unwrap();
    doc.meshes()
        .flat_map(|m| m.primitives().collect::<Vec<_>>())
        .flat_map(|p| {
            p.reader(|b| Some(&buffers[b.index()]))
                .read_positions()
                .unwrap()
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn we_write_z_up_files_that_load_back_in_world_coordinates() {
    let world = triangle();
    let glb = write_scene_glb_with(&world, SceneFrame::HABITAT, None);
    // In the file, world (x, y, z) is stored as (x, -z, y): up is the file's +Z.
    assert_eq!(
        raw_positions(&glb),
        vec![[1.0, -3.0, 2.0], [2.0, -3.0, 2.0], [1.0, -2.0, 2.0]]
    );
    // Read in habitat's convention (the default), the file gives the world back exactly, normals too.
    let (scene, report) = load_scene_from_bytes(&glb, Path::new("tri.glb")).unwrap();
    assert_eq!(report.frame, SceneFrame::HABITAT);
    assert_eq!(scene.meshes[0].positions, world.meshes[0].positions);
    assert_eq!(scene.meshes[0].normals, world.meshes[0].normals);
    assert_eq!(scene.meshes[0].triangles, world.meshes[0].triangles);
    // Read as authored (`--scene-up y`), the same file is the file's own coordinates.
    let (as_authored, _) = load_scene_from_bytes_with(&glb, Path::new("tri.glb"), &Y_UP).unwrap();
    assert_eq!(as_authored.meshes[0].positions, raw_positions(&glb));
}

#[test]
fn a_y_up_file_read_in_habitats_convention_is_turned_by_the_documented_mapping() {
    // The fixture is authored Y-up with nested rotations, scales and a matrix node.
    let (y_up, _) = load_scene_with(fixture("nested_transforms.glb"), &Y_UP).unwrap();
    let (habitat, report) =
        load_scene_with(fixture("nested_transforms.glb"), &LoadOptions::default()).unwrap();
    assert_eq!(report.frame, SceneFrame::HABITAT);
    for (a, b) in y_up.meshes.iter().zip(&habitat.meshes) {
        for (p, q) in a.positions.iter().zip(&b.positions) {
            // File point (X, Y, Z) is world point (X, Z, -Y).
            let want = [p[0], p[2], -p[1]];
            assert!(
                (0..3).all(|k| (q[k] - want[k]).abs() < 1e-5),
                "{q:?} != {want:?}"
            );
        }
    }
}

#[test]
fn a_file_written_y_up_reads_right_only_with_scene_up_y() {
    let world = triangle();
    let glb = write_scene_glb_with(&world, SceneFrame::Y_UP, None);
    assert_eq!(raw_positions(&glb), world.meshes[0].positions);
    let (scene, _) = load_scene_from_bytes_with(&glb, Path::new("y.glb"), &Y_UP).unwrap();
    assert_eq!(scene.meshes[0].positions, world.meshes[0].positions);
    // Without the flag it is read the habitat way: world (1, 2, 3) from file (1, 2, 3) lands at (1, 3, -2).
    let (turned, _) = load_scene_from_bytes(&glb, Path::new("y.glb")).unwrap();
    assert_eq!(turned.meshes[0].positions[0], [1.0, 3.0, -2.0]);
}

#[test]
fn our_houses_are_marked_lit_and_other_files_are_not() {
    let house = generate_house(1, &HouseOptions::default());
    let (scene, report) = load_scene_from_bytes(&house.glb, Path::new("house.glb")).unwrap();
    assert_eq!(report.lighting, SceneLighting::Lit);
    // The house loads in world coordinates: its floor is at y = 0 and it stands up +Y.
    let b = scene.bounds();
    assert_eq!(b, house.expected.bounds);
    assert!(b.min[1] > -0.5 && b.size()[1] > 2.0, "{b:?}");

    let (_, report) = load_scene_from_bytes(
        &write_scene_glb_with(&triangle(), SceneFrame::HABITAT, None),
        Path::new("t.glb"),
    )
    .unwrap();
    assert_eq!(report.lighting, SceneLighting::Baked);
    let (_, report) = load_scene_with(fixture("primitives.gltf"), &Y_UP).unwrap();
    assert_eq!(
        report.lighting,
        SceneLighting::Baked,
        "a file without our mark is a scan"
    );
}

/// A one-triangle glTF whose material's texture is given as `texture_json`, with one image of `image_uri`.
fn textured(texture_json: &str, image_uri: &str, used: &str) -> String {
    format!(
        r#"{{"asset": {{"version": "2.0"}}, {used}
        "buffers": [{{"byteLength": 36, "uri": "data:application/octet-stream;base64,AAAAAAAAAAAAAAAAAACAPwAAAAAAAAAAAAAAAAAAAAAAAIA/"}}],
        "bufferViews": [{{"buffer": 0, "byteLength": 36}}],
        "accessors": [{{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                        "min": [0, 0, 0], "max": [1, 0, 1]}}],
        "images": [{{"uri": "{image_uri}"}}],
        "textures": [{texture_json}],
        "materials": [{{"pbrMetallicRoughness": {{"baseColorTexture": {{"index": 0}}}}}}],
        "meshes": [{{"primitives": [{{"attributes": {{"POSITION": 0}}, "material": 0}}]}}],
        "nodes": [{{"mesh": 0}}], "scenes": [{{"nodes": [0]}}]}}"#
    )
}

/// The four quadrant colours of the KTX2 fixtures (`fixtures/make_ktx2.mjs`), top-left first.
const QUADRANTS: [[u8; 3]; 4] = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];

/// Writes `text` as `NAME.basis.gltf` beside a copy of the KTX2 fixture `ktx2` (as `tex.ktx2`) and loads it.
fn load_with_ktx2(dir: &Path, name: &str, text: &str, ktx2: &[u8]) -> Result<Scene, AssetError> {
    std::fs::write(dir.join("tex.ktx2"), ktx2).unwrap();
    let path = dir.join(format!("{name}.basis.gltf"));
    std::fs::write(&path, text).unwrap();
    load_scene_with(&path, &LoadOptions::default()).map(|(scene, _)| scene)
}

#[test]
fn basis_universal_textures_load_with_their_texels() {
    let dir = tempfile::tempdir().unwrap();
    // As HM3D's .basis.glb declare it: required, the texture's image only inside the extension.
    let required = textured(
        r#"{"extensions": {"KHR_texture_basisu": {"source": 0}}}"#,
        "tex.ktx2",
        r#""extensionsUsed": ["KHR_texture_basisu"], "extensionsRequired": ["KHR_texture_basisu"],"#,
    );
    // ETC1S is lossy (5-bit endpoints), UASTC nearly exact.
    for (file, tolerance) in [
        ("quadrants_etc1s.ktx2", 12),
        ("quadrants_uastc_zstd.ktx2", 2),
    ] {
        let bytes = std::fs::read(fixture(file)).unwrap();
        let scene = load_with_ktx2(dir.path(), "required", &required, &bytes)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let t = &scene.textures[0];
        assert_eq!((t.width, t.height), (8, 8), "{file}");
        for (q, want) in QUADRANTS.iter().enumerate() {
            let (x, y) = (2 + 4 * (q % 2), 2 + 4 * (q / 2));
            let texel = &t.rgba[(y * 8 + x) * 4..][..4];
            for c in 0..3 {
                assert!(
                    texel[c].abs_diff(want[c]) <= tolerance,
                    "{file}: quadrant {q} is {texel:?}, want {want:?}"
                );
            }
            assert_eq!(texel[3], 255, "{file}: opaque");
        }
    }
}

#[test]
fn a_basis_universal_image_wins_over_the_fallback_source() {
    let dir = tempfile::tempdir().unwrap();
    // `source` 1 is a PNG fallback for viewers without the extension; the KTX2 (image 0) is the one read.
    let text = textured(
        r#"{"source": 1, "extensions": {"KHR_texture_basisu": {"source": 0}}}"#,
        "tex.ktx2",
        r#""extensionsUsed": ["KHR_texture_basisu"],"#,
    )
    .replace(
        r#"[{"uri": "tex.ktx2"}]"#,
        r#"[{"uri": "tex.ktx2"}, {"uri": "missing.png"}]"#,
    );
    let bytes = std::fs::read(fixture("quadrants_uastc_zstd.ktx2")).unwrap();
    let scene = load_with_ktx2(dir.path(), "fallback", &text, &bytes).unwrap();
    assert_eq!(&scene.textures[0].rgba[..3], &QUADRANTS[0]);
}

#[test]
fn bad_basis_universal_textures_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let used = r#""extensionsUsed": ["KHR_texture_basisu"],"#;
    let corrupt = b"\xABKTX 20\xBB\r\n\x1A\n\0\0\0\0";
    let cases = [
        // A KTX2 file cut short, named by the extension or by a plain `source`.
        (
            "corrupt",
            textured(
                r#"{"extensions": {"KHR_texture_basisu": {"source": 0}}}"#,
                "tex.ktx2",
                used,
            ),
            "KHR_texture_basisu",
        ),
        (
            "direct",
            textured(r#"{"source": 0}"#, "tex.ktx2", ""),
            "KHR_texture_basisu",
        ),
        // The extension without an image index.
        (
            "no_source",
            textured(
                r#"{"extensions": {"KHR_texture_basisu": {}}}"#,
                "tex.ktx2",
                used,
            ),
            "texture 0: extensions.KHR_texture_basisu.source",
        ),
    ];
    for (name, text, want) in cases {
        let msg = load_with_ktx2(dir.path(), name, &text, corrupt)
            .unwrap_err()
            .to_string();
        let path = dir.path().join(format!("{name}.basis.gltf"));
        assert!(
            msg.contains(want) && msg.contains(&path.display().to_string()),
            "{name}: {msg}"
        );
    }
}
