//! KTX2 / Basis Universal textures (`KHR_texture_basisu`, HM3D's `.basis.glb`): the texture names its KTX2
//! image inside the extension; level 0 is transcoded to RGBA8 by the `basisu` crate (ETC1S/BasisLZ and
//! UASTC, Zstandard supercompression included). Mip levels are not read: the renderer samples level 0.

use gltf::json;

use crate::scene::Texture;

/// The identifier that opens every KTX2 file.
pub(crate) const KTX2_MAGIC: &[u8] = b"\xABKTX 20\xBB\r\n\x1A\n";

/// The glTF extension that carries a texture's KTX2 image.
pub(crate) const EXTENSION: &str = "KHR_texture_basisu";

/// Points every texture that has a `KHR_texture_basisu` image at it. It takes precedence over a plain
/// `source`, which the spec keeps as a fallback for viewers without the extension (habitat-sim reads the
/// KTX2 too). Err names the texture when the extension has no valid `source`.
pub(crate) fn resolve_sources(root: &mut json::Root) -> Result<(), String> {
    for (i, texture) in root.textures.iter_mut().enumerate() {
        let Some(ext) = texture
            .extensions
            .as_ref()
            .and_then(|e| e.others.get(EXTENSION))
        else {
            continue;
        };
        let source = ext
            .get("source")
            .and_then(|s| s.as_u64())
            .and_then(|s| u32::try_from(s).ok())
            .ok_or_else(|| {
                format!("texture {i}: extensions.{EXTENSION}.source is not an image index ({ext})")
            })?;
        texture.source = json::Index::new(source);
    }
    Ok(())
}

/// Transcodes level 0 of a KTX2 (or `.basis`) Basis Universal image to RGBA8, first texel top-left.
pub(crate) fn decode(bytes: &[u8]) -> Result<Texture, String> {
    let what = |e: basisu::Error| match e {
        basisu::Error::InvalidData => {
            "not a Basis Universal texture (ETC1S or UASTC payload) or corrupt".to_string()
        }
        other => format!("{other:?}"),
    };
    let texture = basisu::Transcoder::new(bytes).map_err(what)?;
    let info = texture.image_level_info(0).map_err(what)?;
    let rgba = texture
        .transcode(0, basisu::TargetFormat::Rgba32, basisu::DecodeFlags::NONE)
        .map_err(what)?;
    Ok(Texture {
        width: info.width,
        height: info.height,
        rgba,
    })
}
