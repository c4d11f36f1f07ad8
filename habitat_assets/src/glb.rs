//! The binary glTF (GLB) container: a 12-byte header, a JSON chunk and an optional BIN chunk.
//!
//! Written by hand because it is 60 lines and the `gltf` crate's own splitter subtracts the header size from
//! the declared length unchecked (a panic in debug builds on a corrupt header); here every length is checked
//! and every failure says what was expected.

const MAGIC: &[u8; 4] = b"glTF";
const CHUNK_JSON: u32 = 0x4E4F_534A;
const CHUNK_BIN: u32 = 0x004E_4942;

/// The two chunks of a GLB file, borrowed from the file bytes.
#[derive(Debug)]
pub struct GlbChunks<'a> {
    pub json: &'a [u8],
    pub bin: Option<&'a [u8]>,
}

/// True when the bytes start like a GLB file (otherwise they are treated as `.gltf` JSON).
pub fn is_glb(bytes: &[u8]) -> bool {
    bytes.starts_with(MAGIC)
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Splits a GLB file into its chunks. Errors are plain messages; the caller adds the file name.
pub fn split(bytes: &[u8]) -> Result<GlbChunks<'_>, String> {
    if !is_glb(bytes) {
        return Err("missing GLB magic \"glTF\"".into());
    }
    let version = read_u32(bytes, 4).ok_or("truncated GLB header (shorter than 12 bytes)")?;
    if version != 2 {
        return Err(format!(
            "GLB version {version} (only version 2 is supported)"
        ));
    }
    let declared =
        read_u32(bytes, 8).ok_or("truncated GLB header (shorter than 12 bytes)")? as usize;
    if declared > bytes.len() {
        return Err(format!(
            "truncated file: the GLB header declares {declared} bytes but the file has {}",
            bytes.len()
        ));
    }
    if declared < 20 {
        return Err(format!(
            "GLB header declares a total length of {declared} bytes, too short for a JSON chunk"
        ));
    }
    let bytes = &bytes[..declared];
    let (json_type, json) = chunk(bytes, 12).map_err(|e| format!("JSON chunk: {e}"))?;
    if json_type != CHUNK_JSON {
        return Err(format!(
            "the first GLB chunk has type 0x{json_type:08x}, expected JSON"
        ));
    }
    let mut at = 12 + 8 + json.len();
    let mut bin = None;
    // Chunks of unknown type after the JSON chunk must be ignored (glTF 2.0 spec, section 4.4.3.2).
    while at < bytes.len() {
        let (ty, data) = chunk(bytes, at).map_err(|e| format!("chunk at byte {at}: {e}"))?;
        if ty == CHUNK_BIN && bin.is_none() {
            bin = Some(data);
        }
        at += 8 + data.len();
    }
    Ok(GlbChunks { json, bin })
}

fn chunk(bytes: &[u8], at: usize) -> Result<(u32, &[u8]), String> {
    let len = read_u32(bytes, at).ok_or("truncated chunk header")? as usize;
    let ty = read_u32(bytes, at + 4).ok_or("truncated chunk header")?;
    let start = at + 8;
    let data = start
        .checked_add(len)
        .and_then(|end| bytes.get(start..end))
        .ok_or_else(|| {
            format!(
                "truncated chunk: declares {len} bytes, {} remain",
                bytes.len().saturating_sub(start)
            )
        })?;
    Ok((ty, data))
}

/// Assembles a GLB file from JSON text and the binary buffer, padding both chunks to 4 bytes as the spec
/// requires (JSON with spaces, BIN with zeros).
pub fn assemble(json: &[u8], bin: &[u8]) -> Vec<u8> {
    let pad = |n: usize| (4 - n % 4) % 4;
    let json_len = json.len() + pad(json.len());
    let bin_len = bin.len() + pad(bin.len());
    let total = 12 + 8 + json_len + if bin.is_empty() { 0 } else { 8 + bin_len };
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(json_len as u32).to_le_bytes());
    out.extend_from_slice(&CHUNK_JSON.to_le_bytes());
    out.extend_from_slice(json);
    out.resize(out.len() + pad(json.len()), b' ');
    if !bin.is_empty() {
        out.extend_from_slice(&(bin_len as u32).to_le_bytes());
        out.extend_from_slice(&CHUNK_BIN.to_le_bytes());
        out.extend_from_slice(bin);
        out.resize(out.len() + pad(bin.len()), 0);
    }
    debug_assert_eq!(out.len(), total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assemble_then_split_round_trips_and_pads() {
        let glb = assemble(br#"{"asset":{"version":"2.0"}}"#, &[1, 2, 3, 4, 5]);
        assert_eq!(glb.len() % 4, 0);
        let c = split(&glb).unwrap();
        assert!(c.json.starts_with(br#"{"asset""#));
        assert_eq!(&c.bin.unwrap()[..5], &[1, 2, 3, 4, 5]);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let glb = assemble(br#"{"asset":{"version":"2.0"}}"#, &[7; 33]);
        for n in 0..glb.len() {
            assert!(split(&glb[..n]).is_err(), "prefix of {n} bytes accepted");
        }
    }

    #[test]
    fn short_declared_length_is_rejected() {
        let mut glb = assemble(b"{}", &[]);
        glb[8..12].copy_from_slice(&4u32.to_le_bytes());
        assert!(split(&glb).unwrap_err().contains("too short"));
    }
}
