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

/// Largest texture side transcoded (HM3D's textures are at most 4096). Beyond it, and at
/// [`MAX_TEXTURE_PIXELS`], a KTX2 is refused before `basisu` sees it: a few header bytes would otherwise
/// size the RGBA output (and 65536x65536 wraps a `u32` inside that crate).
pub const MAX_TEXTURE_SIDE: u32 = 16384;

/// Largest texel count of level 0 (8192 x 8192): 256 MiB of RGBA8.
pub const MAX_TEXTURE_PIXELS: u64 = 1 << 26;

/// The KTX2 limit on mip levels (a 2^31 side has 32).
const MAX_LEVELS: u32 = 32;

/// Supercompression schemes (KTX2 section 3.12): BasisLZ carries ETC1S codebooks in the global data.
const SCHEME_BASIS_LZ: u32 = 1;

/// Bytes of the fixed header (identifier, nine u32 fields, the DFD / KVD / SGD index) before the level index.
const HEADER_BYTES: u64 = 80;

/// Bytes per level-index entry: byteOffset, byteLength, uncompressedByteLength (u64 each).
const LEVEL_ENTRY_BYTES: u64 = 24;

/// Bytes of the BasisLZ global data header and of each of its image descriptors.
const BASIS_LZ_HEADER_BYTES: u64 = 20;
const BASIS_LZ_IMAGE_BYTES: u64 = 20;

fn u32_at(bytes: &[u8], at: u64) -> Result<u32, String> {
    usize::try_from(at)
        .ok()
        .and_then(|a| bytes.get(a..a.checked_add(4)?))
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("truncated: no 4-byte field at byte {at} of {}", bytes.len()))
}

fn u64_at(bytes: &[u8], at: u64) -> Result<u64, String> {
    Ok(u64::from(u32_at(bytes, at)?) | (u64::from(u32_at(bytes, at + 4)?) << 32))
}

/// That `offset..offset + length` lies inside the file; `what` names the header field.
fn check_range(what: &str, offset: u64, length: u64, file_len: u64) -> Result<(), String> {
    match offset.checked_add(length) {
        Some(end) if end <= file_len => Ok(()),
        _ => Err(format!(
            "{what} spans bytes {offset}..{} but the file has {file_len}",
            offset as u128 + length as u128
        )),
    }
}

/// One level-index entry.
struct Level {
    offset: u64,
    length: u64,
    uncompressed: u64,
}

/// Checks every size and offset of a KTX2 header against the bytes present and the limits above, so that
/// `basisu` (which adds and multiplies them unchecked) only ever sees a consistent file. Returns level 0's
/// width and height; Err names the field.
pub(crate) fn check_header(bytes: &[u8]) -> Result<(u32, u32), String> {
    let file_len = bytes.len() as u64;
    if !bytes.starts_with(KTX2_MAGIC) || file_len < HEADER_BYTES {
        return Err(format!(
            "not a KTX2 file or truncated header ({file_len} bytes)"
        ));
    }
    let field = |at: u64| u32_at(bytes, at);
    let (width, height) = (field(20)?, field(24)?);
    let (layers, faces, level_count, scheme) = (field(32)?, field(36)?, field(40)?, field(44)?);
    if width == 0 || height == 0 || width > MAX_TEXTURE_SIDE || height > MAX_TEXTURE_SIDE {
        return Err(format!(
            "pixelWidth x pixelHeight {width}x{height} is outside 1..={MAX_TEXTURE_SIDE}"
        ));
    }
    if u64::from(width) * u64::from(height) > MAX_TEXTURE_PIXELS {
        return Err(format!(
            "{width}x{height} texels exceed the limit of {MAX_TEXTURE_PIXELS}"
        ));
    }
    if layers > 1 || !(faces == 1 || faces == 6) {
        return Err(format!(
            "layerCount {layers} / faceCount {faces}: only plain 2D textures or cube maps are read"
        ));
    }
    if level_count > MAX_LEVELS {
        return Err(format!("levelCount {level_count} exceeds {MAX_LEVELS}"));
    }
    check_range(
        "the data format descriptor (dfdByteOffset/Length)",
        field(48)?.into(),
        field(52)?.into(),
        file_len,
    )?;
    let (kvd_offset, kvd_length) = (u64::from(field(56)?), u64::from(field(60)?));
    check_range(
        "the key/value data (kvdByteOffset/Length)",
        kvd_offset,
        kvd_length,
        file_len,
    )?;
    check_key_values(bytes, kvd_offset, kvd_offset + kvd_length)?;
    let (sgd_offset, sgd_length) = (u64_at(bytes, 64)?, u64_at(bytes, 72)?);
    check_range(
        "the supercompression global data (sgdByteOffset/Length)",
        sgd_offset,
        sgd_length,
        file_len,
    )?;

    // Every level decompresses to at most level 0's blocks (4x4 texels, 16 bytes each) per face.
    let level0_bytes =
        u64::from(width.div_ceil(4)) * u64::from(height.div_ceil(4)) * 16 * u64::from(faces);
    let mut levels = Vec::new();
    for i in 0..u64::from(level_count.max(1)) {
        let at = HEADER_BYTES + i * LEVEL_ENTRY_BYTES;
        let level = Level {
            offset: u64_at(bytes, at)?,
            length: u64_at(bytes, at + 8)?,
            uncompressed: u64_at(bytes, at + 16)?,
        };
        check_range(
            &format!("level {i} (byteOffset/byteLength)"),
            level.offset,
            level.length,
            file_len,
        )?;
        if level.uncompressed > level0_bytes {
            return Err(format!(
                "level {i} uncompressedByteLength {} exceeds the {level0_bytes} bytes of a {width}x{height} texture",
                level.uncompressed
            ));
        }
        levels.push(level);
    }
    if scheme == SCHEME_BASIS_LZ {
        check_basis_lz(bytes, sgd_offset, sgd_length, &levels, u64::from(faces))?;
    }
    Ok((width, height))
}

/// Walks the key/value entries as `basisu` does (a u32 length, the entry, padding to 4 bytes) and refuses
/// an entry whose padding runs past `end`: that crate then subtracts past zero and reads out of bounds.
/// An entry `basisu` would stop at (too short, longer than what is left) ends the walk, as there.
fn check_key_values(bytes: &[u8], start: u64, end: u64) -> Result<(), String> {
    let mut p = start;
    while end - p > 4 {
        let len = u64::from(u32_at(bytes, p)?);
        p += 4;
        if len < 2 || end - p < len {
            return Ok(());
        }
        p += len;
        p += (4 - (p & 3)) & 3;
        if p > end {
            return Err(format!(
                "a key/value entry padded to byte {p} runs past the key/value data (kvdByteOffset + kvdByteLength = {end})"
            ));
        }
    }
    Ok(())
}

/// The BasisLZ global data: its header, one image descriptor per (level, face), the three codebook
/// payloads inside `sgdByteLength`, and each image's slices inside its level's bytes.
fn check_basis_lz(
    bytes: &[u8],
    sgd_offset: u64,
    sgd_length: u64,
    levels: &[Level],
    faces: u64,
) -> Result<(), String> {
    let images = levels.len() as u64 * faces;
    let descs = BASIS_LZ_HEADER_BYTES + images * BASIS_LZ_IMAGE_BYTES;
    let payloads: u64 = [4, 8, 12]
        .into_iter()
        .map(|at| u32_at(bytes, sgd_offset + at).map(u64::from))
        .sum::<Result<u64, String>>()?;
    if descs + payloads > sgd_length {
        return Err(format!(
            "BasisLZ global data needs {} bytes (header, {images} image descriptors, codebooks) but sgdByteLength is {sgd_length}",
            descs + payloads
        ));
    }
    for image in 0..images {
        let at = sgd_offset + BASIS_LZ_HEADER_BYTES + image * BASIS_LZ_IMAGE_BYTES;
        let level = &levels[(image / faces) as usize];
        for (what, ofs_at) in [("rgbSlice", at + 4), ("alphaSlice", at + 12)] {
            let (ofs, len) = (
                u64::from(u32_at(bytes, ofs_at)?),
                u64::from(u32_at(bytes, ofs_at + 4)?),
            );
            if len > 0 && ofs + len > level.length {
                return Err(format!(
                    "BasisLZ image {image} {what} spans bytes {ofs}..{} of a level of {} bytes",
                    ofs + len,
                    level.length
                ));
            }
        }
    }
    Ok(())
}

/// Transcodes level 0 of a KTX2 Basis Universal image to RGBA8, first texel top-left, after
/// [`check_header`].
pub(crate) fn decode(bytes: &[u8]) -> Result<Texture, String> {
    check_header(bytes)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ETC1S: &[u8] = include_bytes!("../tests/fixtures/quadrants_etc1s.ktx2");
    const UASTC_ZSTD: &[u8] = include_bytes!("../tests/fixtures/quadrants_uastc_zstd.ktx2");

    fn with_u32(bytes: &[u8], at: usize, v: u32) -> Vec<u8> {
        let mut b = bytes.to_vec();
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        b
    }

    fn with_u64(bytes: &[u8], at: usize, v: u64) -> Vec<u8> {
        let mut b = bytes.to_vec();
        b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        b
    }

    fn refused(bytes: &[u8], field: &str) {
        let err = decode(bytes).expect_err("crafted KTX2 accepted");
        assert!(err.contains(field), "{err:?} does not name {field}");
    }

    #[test]
    fn the_fixtures_pass_the_header_check() {
        check_header(ETC1S).unwrap();
        check_header(UASTC_ZSTD).unwrap();
    }

    #[test]
    fn a_terabyte_uncompressed_length_is_refused_before_basisu() {
        refused(
            &with_u64(UASTC_ZSTD, 96, 1 << 40),
            "level 0 uncompressedByteLength",
        );
    }

    #[test]
    fn offsets_that_wrap_or_overrun_are_refused() {
        refused(&with_u64(ETC1S, 64, u64::MAX - 8), "sgdByteOffset");
        refused(
            &with_u64(UASTC_ZSTD, 80, u64::MAX - 8),
            "level 0 (byteOffset",
        );
        refused(&with_u32(ETC1S, 48, u32::MAX - 8), "dfdByteOffset");
        // An ETC1S codebook length past the global data, and a slice past its level.
        refused(&with_u32(ETC1S, 184 + 4, u32::MAX), "sgdByteLength");
        refused(&with_u32(ETC1S, 184 + 20 + 4, 1000), "rgbSlice");
    }

    #[test]
    fn a_key_value_entry_padded_past_its_block_is_refused() {
        // The case proptest found: kvdByteLength 35 leaves the last entry's padding outside the block.
        refused(&with_u32(ETC1S, 60, 35), "key/value entry padded");
    }

    #[test]
    fn huge_dimensions_are_refused() {
        let wide = with_u32(&with_u32(ETC1S, 20, 65536), 24, 65536);
        refused(&wide, "65536x65536");
        let big = with_u32(&with_u32(UASTC_ZSTD, 20, 16384), 24, 16384);
        refused(&big, "exceed the limit");
        refused(&with_u32(ETC1S, 32, 1 << 20), "layerCount");
        refused(&with_u32(ETC1S, 40, 1 << 20), "levelCount");
    }

    /// 64 cases from a random seed in CI; `PROPTEST_CASES=N` runs N instead (and `PROPTEST_RNG_SEED=S` replays
    /// a run), e.g. overnight: `PROPTEST_CASES=1000000 cargo test -p habitat_assets -p episodes -p env never_panic`.
    fn fuzz_config() -> ProptestConfig {
        let mut config = ProptestConfig::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            config.cases = 64;
        }
        config
    }

    proptest! {
        #![proptest_config(fuzz_config())]

        /// Any header field set to anything: an error or a texture, never a panic.
        #[test]
        fn mutated_headers_never_panic(at in 12usize..184, value in any::<u32>(), uastc in any::<bool>()) {
            let base = if uastc { UASTC_ZSTD } else { ETC1S };
            let _ = decode(&with_u32(base, at & !3, value));
        }

        #[test]
        fn mutated_bytes_never_panic(flips in proptest::collection::vec((0usize..323, any::<u8>()), 1..8), uastc in any::<bool>()) {
            let mut bytes = if uastc { UASTC_ZSTD } else { ETC1S }.to_vec();
            for (at, v) in flips {
                let n = bytes.len();
                bytes[at % n] = v;
            }
            let _ = decode(&bytes);
        }

        #[test]
        fn arbitrary_bytes_after_the_magic_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut bytes = KTX2_MAGIC.to_vec();
            bytes.extend(tail);
            let _ = decode(&bytes);
        }
    }
}
