//! Decoding glTF accessors into plain arrays, with every offset and length checked.
//!
//! Written by hand instead of using `gltf::mesh::Reader` because that reader assumes the accessor's type
//! matches the attribute (a `debug_assert` otherwise) and computes `count - 1` and slice ends unchecked, so
//! a malformed file could panic or silently read garbage. Here a bad accessor is an error message that the
//! loader wraps with the file, mesh and attribute names.

use gltf::json;
use json::accessor::{ComponentType, Type};
use json::validation::Checked;

/// Upper bound on the elements of all accessors without a buffer view (all zeros plus sparse
/// substitutions) decoded from one file, summed over every node and primitive that uses them: such an
/// accessor costs memory without costing file bytes, and a per-accessor cap multiplies by every node
/// that instances its mesh. 2^22 elements are ~50 MB of positions and normals.
pub const MAX_VIEWLESS_ELEMENTS: usize = 1 << 22;

/// Upper bound on the accessor elements (vertex attributes and indices) decoded from one file, summed
/// over every node that instances a mesh. The largest habitat scenes (HM3D, Gibson) decode to a few tens
/// of millions; this leaves headroom while bounding what instancing a mesh many times can cost.
pub const MAX_DECODED_ELEMENTS: usize = 1 << 27;

/// What is left to decode from one file (see [`MAX_VIEWLESS_ELEMENTS`], [`MAX_DECODED_ELEMENTS`]).
pub(crate) struct Budget {
    viewless: usize,
    elements: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            viewless: MAX_VIEWLESS_ELEMENTS,
            elements: MAX_DECODED_ELEMENTS,
        }
    }
}

impl Budget {
    /// Takes `count` elements (and as many viewless ones when `viewless`) before they are allocated.
    fn charge(&mut self, count: usize, viewless: bool) -> Result<(), String> {
        if viewless {
            self.viewless = self.viewless.checked_sub(count).ok_or_else(|| {
                format!(
                    "{count} elements without a buffer view exceed what is left of the file's limit of \
                     {MAX_VIEWLESS_ELEMENTS} (summed over every node using them)"
                )
            })?;
        }
        self.elements = self.elements.checked_sub(count).ok_or_else(|| {
            format!(
                "{count} elements exceed what is left of the file's limit of {MAX_DECODED_ELEMENTS} decoded \
                 elements (summed over every node instancing a mesh)"
            )
        })?;
        Ok(())
    }
}

/// Resolved buffer contents, indexed like `root.buffers`.
pub(crate) type Buffers = [Vec<u8>];

fn component_size(ct: ComponentType) -> usize {
    match ct {
        ComponentType::I8 | ComponentType::U8 => 1,
        ComponentType::I16 | ComponentType::U16 => 2,
        ComponentType::U32 | ComponentType::F32 => 4,
    }
}

fn dimensions(ty: Type) -> Result<usize, String> {
    match ty {
        Type::Scalar => Ok(1),
        Type::Vec2 => Ok(2),
        Type::Vec3 => Ok(3),
        Type::Vec4 => Ok(4),
        other => Err(format!(
            "matrix type {other:?} is not a vertex attribute or index type"
        )),
    }
}

fn type_name(ct: ComponentType) -> &'static str {
    match ct {
        ComponentType::I8 => "BYTE",
        ComponentType::U8 => "UNSIGNED_BYTE",
        ComponentType::I16 => "SHORT",
        ComponentType::U16 => "UNSIGNED_SHORT",
        ComponentType::U32 => "UNSIGNED_INT",
        ComponentType::F32 => "FLOAT",
    }
}

/// The bytes of a buffer view, checked against the real buffer length.
fn view_bytes<'b>(
    root: &json::Root,
    buffers: &'b Buffers,
    view: usize,
) -> Result<&'b [u8], String> {
    let v = root.buffers_view(view)?;
    let data = buffers
        .get(v.buffer.value())
        .ok_or_else(|| format!("buffer view {view} names a missing buffer"))?;
    let start = v.byte_offset.map_or(0, |o| o.0) as usize;
    let len = v.byte_length.0 as usize;
    start
        .checked_add(len)
        .and_then(|end| data.get(start..end))
        .ok_or_else(|| {
            format!(
                "buffer view {view} spans bytes {start}..{} but buffer {} holds {} bytes",
                start as u128 + len as u128,
                v.buffer.value(),
                data.len()
            )
        })
}

trait ViewLookup {
    fn buffers_view(&self, view: usize) -> Result<&json::buffer::View, String>;
}

impl ViewLookup for json::Root {
    fn buffers_view(&self, view: usize) -> Result<&json::buffer::View, String> {
        self.buffer_views
            .get(view)
            .ok_or_else(|| format!("buffer view {view} does not exist"))
    }
}

/// A strided run of `count` elements of `elem_size` bytes inside a view, bounds-checked once.
struct Strided<'b> {
    bytes: &'b [u8],
    stride: usize,
}

impl<'b> Strided<'b> {
    fn new(
        root: &json::Root,
        buffers: &'b Buffers,
        view: usize,
        offset: usize,
        count: usize,
        elem_size: usize,
    ) -> Result<Self, String> {
        let bytes = view_bytes(root, buffers, view)?;
        let stride = match root.buffers_view(view)?.byte_stride {
            Some(s) if s.0 < elem_size => {
                return Err(format!(
                    "byteStride {} is smaller than the element size {elem_size}",
                    s.0
                ))
            }
            Some(s) => s.0,
            None => elem_size,
        };
        if count > 0 {
            let needed = (count - 1)
                .checked_mul(stride)
                .and_then(|n| n.checked_add(elem_size))
                .and_then(|n| n.checked_add(offset));
            match needed {
                Some(n) if n <= bytes.len() => {}
                _ => {
                    return Err(format!(
                        "{count} elements of {elem_size} bytes (stride {stride}) from byte offset {offset} overrun \
                         buffer view {view} of {} bytes",
                        bytes.len()
                    ))
                }
            }
        }
        Ok(Strided {
            bytes: &bytes[offset.min(bytes.len())..],
            stride,
        })
    }

    fn element(&self, i: usize) -> &'b [u8] {
        &self.bytes[i * self.stride..]
    }
}

fn read_component(bytes: &[u8], ct: ComponentType, normalized: bool) -> f32 {
    match ct {
        ComponentType::F32 => f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
        ComponentType::U8 if normalized => bytes[0] as f32 / 255.0,
        ComponentType::U8 => bytes[0] as f32,
        ComponentType::I8 if normalized => (bytes[0] as i8 as f32 / 127.0).max(-1.0),
        ComponentType::I8 => bytes[0] as i8 as f32,
        ComponentType::U16 if normalized => {
            u16::from_le_bytes([bytes[0], bytes[1]]) as f32 / 65535.0
        }
        ComponentType::U16 => u16::from_le_bytes([bytes[0], bytes[1]]) as f32,
        ComponentType::I16 if normalized => {
            (i16::from_le_bytes([bytes[0], bytes[1]]) as f32 / 32767.0).max(-1.0)
        }
        ComponentType::I16 => i16::from_le_bytes([bytes[0], bytes[1]]) as f32,
        ComponentType::U32 if normalized => {
            u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as f32 / u32::MAX as f32
        }
        ComponentType::U32 => u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as f32,
    }
}

fn read_index(bytes: &[u8], ct: ComponentType) -> Option<u32> {
    match ct {
        ComponentType::U8 => Some(bytes[0] as u32),
        ComponentType::U16 => Some(u16::from_le_bytes([bytes[0], bytes[1]]) as u32),
        ComponentType::U32 => Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        _ => None,
    }
}

/// What an attribute may look like: allowed widths and component types (glTF 2.0 core, section 3.7.2.1).
pub(crate) struct Expect {
    pub dims: &'static [usize],
    pub float: bool,
    pub normalized_unsigned: bool,
}

pub(crate) const POSITION: Expect = Expect {
    dims: &[3],
    float: true,
    normalized_unsigned: false,
};
pub(crate) const NORMAL: Expect = Expect {
    dims: &[3],
    float: true,
    normalized_unsigned: false,
};
pub(crate) const TEXCOORD: Expect = Expect {
    dims: &[2],
    float: true,
    normalized_unsigned: true,
};
pub(crate) const COLOR: Expect = Expect {
    dims: &[3, 4],
    float: true,
    normalized_unsigned: true,
};

/// Reads a vertex attribute as `dims` floats per element, flattened. Returns (dims, values).
pub(crate) fn read_floats(
    root: &json::Root,
    buffers: &Buffers,
    index: usize,
    expect: &Expect,
    budget: &mut Budget,
) -> Result<(usize, Vec<f32>), String> {
    let acc = root
        .accessors
        .get(index)
        .ok_or_else(|| format!("accessor {index} does not exist"))?;
    let (ct, dims) = kinds(acc)?;
    if !expect.dims.contains(&dims) {
        return Err(format!(
            "has {dims} components per element, expected {:?}",
            expect.dims
        ));
    }
    let ok_type = (expect.float && ct == ComponentType::F32)
        || (expect.normalized_unsigned
            && acc.normalized
            && matches!(ct, ComponentType::U8 | ComponentType::U16));
    if !ok_type {
        return Err(format!(
            "component type {}{} is not allowed here",
            if acc.normalized { "normalized " } else { "" },
            type_name(ct)
        ));
    }
    let count = acc.count.0 as usize;
    let csize = component_size(ct);
    let elem_size = csize * dims;
    budget.charge(count, acc.buffer_view.is_none())?;
    let mut out = match acc.buffer_view {
        Some(view) => {
            let run = Strided::new(
                root,
                buffers,
                view.value(),
                acc.byte_offset.map_or(0, |o| o.0) as usize,
                count,
                elem_size,
            )?;
            let mut out = Vec::with_capacity(count * dims);
            for i in 0..count {
                let e = run.element(i);
                for c in 0..dims {
                    out.push(read_component(&e[c * csize..], ct, acc.normalized));
                }
            }
            out
        }
        None => vec![0.0; count * dims],
    };
    if let Some(sparse) = &acc.sparse {
        let n = sparse.count.0 as usize;
        let ict = match sparse.indices.component_type {
            Checked::Valid(t) => t.0,
            Checked::Invalid => return Err("sparse indices have an invalid component type".into()),
        };
        let isize_ = component_size(ict);
        let idx = Strided::new(
            root,
            buffers,
            sparse.indices.buffer_view.value(),
            sparse.indices.byte_offset.0 as usize,
            n,
            isize_,
        )?;
        let vals = Strided::new(
            root,
            buffers,
            sparse.values.buffer_view.value(),
            sparse.values.byte_offset.0 as usize,
            n,
            elem_size,
        )?;
        for s in 0..n {
            let i = read_index(idx.element(s), ict)
                .ok_or("sparse indices must be unsigned integers")? as usize;
            if i >= count {
                return Err(format!(
                    "sparse index {i} is out of range for {count} elements"
                ));
            }
            let e = vals.element(s);
            for c in 0..dims {
                out[i * dims + c] = read_component(&e[c * csize..], ct, acc.normalized);
            }
        }
    }
    if let Some(bad) = out.iter().position(|v| !v.is_finite()) {
        return Err(format!("element {} has a non-finite value", bad / dims));
    }
    Ok((dims, out))
}

/// Reads an index accessor (unsigned scalar integers).
pub(crate) fn read_indices(
    root: &json::Root,
    buffers: &Buffers,
    index: usize,
    budget: &mut Budget,
) -> Result<Vec<u32>, String> {
    let acc = root
        .accessors
        .get(index)
        .ok_or_else(|| format!("accessor {index} does not exist"))?;
    let (ct, dims) = kinds(acc)?;
    if dims != 1
        || !matches!(
            ct,
            ComponentType::U8 | ComponentType::U16 | ComponentType::U32
        )
    {
        return Err(format!(
            "indices must be unsigned integer scalars, found {} with {dims} components",
            type_name(ct)
        ));
    }
    if acc.sparse.is_some() {
        return Err("sparse index accessors are not supported".into());
    }
    let count = acc.count.0 as usize;
    let view = acc
        .buffer_view
        .ok_or("an index accessor must have a buffer view")?;
    let size = component_size(ct);
    budget.charge(count, false)?;
    let run = Strided::new(
        root,
        buffers,
        view.value(),
        acc.byte_offset.map_or(0, |o| o.0) as usize,
        count,
        size,
    )?;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        out.push(read_index(run.element(i), ct).expect("unsigned type checked above"));
    }
    Ok(out)
}

fn kinds(acc: &json::Accessor) -> Result<(ComponentType, usize), String> {
    let ct = match acc.component_type {
        Checked::Valid(t) => t.0,
        Checked::Invalid => return Err("invalid component type".into()),
    };
    let dims = match acc.type_ {
        Checked::Valid(t) => dimensions(t)?,
        Checked::Invalid => return Err("invalid accessor type".into()),
    };
    Ok((ct, dims))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root_with(
        accessor: serde_json::Value,
        view: serde_json::Value,
        buffer_len: usize,
    ) -> json::Root {
        let doc = serde_json::json!({
            "asset": {"version": "2.0"},
            "buffers": [{"byteLength": buffer_len}],
            "bufferViews": [view],
            "accessors": [accessor],
        });
        json::deserialize::from_str(&doc.to_string()).unwrap()
    }

    #[test]
    fn reads_interleaved_floats_with_stride() {
        let mut buf = Vec::new();
        for v in [[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]] {
            for x in v {
                buf.extend_from_slice(&x.to_le_bytes());
            }
            buf.extend_from_slice(&[0; 4]); // 4 bytes of another attribute
        }
        let root = root_with(
            serde_json::json!({"bufferView": 0, "componentType": 5126, "count": 2, "type": "VEC3"}),
            serde_json::json!({"buffer": 0, "byteLength": 32, "byteStride": 16}),
            32,
        );
        let (dims, v) = read_floats(&root, &[buf], 0, &POSITION, &mut Budget::default()).unwrap();
        assert_eq!(dims, 3);
        assert_eq!(v, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn overrun_and_wrong_type_are_errors() {
        let root = root_with(
            serde_json::json!({"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"}),
            serde_json::json!({"buffer": 0, "byteLength": 24}),
            24,
        );
        let err =
            read_floats(&root, &[vec![0; 24]], 0, &POSITION, &mut Budget::default()).unwrap_err();
        assert!(err.contains("overrun"), "{err}");
        let err =
            read_floats(&root, &[vec![0; 24]], 0, &TEXCOORD, &mut Budget::default()).unwrap_err();
        assert!(err.contains("expected [2]"), "{err}");
        // The declared view is longer than the real buffer.
        let err =
            read_floats(&root, &[vec![0; 10]], 0, &POSITION, &mut Budget::default()).unwrap_err();
        assert!(err.contains("holds 10 bytes"), "{err}");
    }

    #[test]
    fn normalized_colors_and_sparse_substitution() {
        let buf = vec![
            255u8, 0, 51, 255, 0, 0, 0, 0, /* sparse idx */ 1, 0, 0, 0, /* value */ 0,
            255, 0, 255,
        ];
        let root = root_with(
            serde_json::json!({"bufferView": 0, "componentType": 5121, "normalized": true, "count": 2, "type": "VEC4",
                "sparse": {"count": 1, "indices": {"bufferView": 0, "byteOffset": 8, "componentType": 5121},
                           "values": {"bufferView": 0, "byteOffset": 12}}}),
            serde_json::json!({"buffer": 0, "byteLength": 16}),
            16,
        );
        let (_, v) = read_floats(&root, &[buf], 0, &COLOR, &mut Budget::default()).unwrap();
        assert_eq!(v, vec![1.0, 0.0, 0.2, 1.0, 0.0, 1.0, 0.0, 1.0]);
    }
}
