//! Safetensors checkpoints in Hugging Face layout: reading (single file or sharded index, both key layouts,
//! bf16/f16/f32) into a `VarStore`, and writing one atomically. Pickle checkpoints are refused, never executed.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, TensorView, View};
use safetensors::SafeTensors;
use serde_json::Value;
use tch::nn::VarStore;
use tch::{Device, Kind, Tensor};

use crate::error::{AgentError, Result};

/// The safetensors files of a checkpoint directory.
pub fn checkpoint_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join("model.safetensors");
    if single.exists() {
        return Ok(vec![single]);
    }
    let index = dir.join("model.safetensors.index.json");
    if index.exists() {
        let text = std::fs::read_to_string(&index).map_err(|e| AgentError::io(&index, e))?;
        let v: Value = serde_json::from_str(&text).map_err(|e| AgentError::Json {
            path: index.clone(),
            source: e,
        })?;
        let map = v
            .get("weight_map")
            .and_then(Value::as_object)
            .ok_or_else(|| AgentError::config(&index, "weight_map", "missing or not an object"))?;
        let mut files = BTreeSet::new();
        for (name, file) in map {
            let file = file.as_str().ok_or_else(|| {
                AgentError::config(&index, format!("weight_map.{name}"), "expected a file name")
            })?;
            files.insert(file.to_string());
        }
        let files: Vec<PathBuf> = files.into_iter().map(|f| dir.join(f)).collect();
        if let Some(missing) = files.iter().find(|f| !f.exists()) {
            return Err(AgentError::checkpoint(
                &index,
                format!(
                    "shard {} listed in weight_map does not exist",
                    missing.display()
                ),
            ));
        }
        return Ok(files);
    }
    let pickle = [
        "pytorch_model.bin",
        "model.pt",
        "pytorch_model.bin.index.json",
    ]
    .iter()
    .find(|f| dir.join(f).exists());
    Err(AgentError::checkpoint(
        dir,
        match pickle {
            Some(f) => format!("only safetensors checkpoints are supported ({f} is a pickle file; convert it with transformers' save_pretrained(safe_serialization=True))"),
            None => "no model.safetensors or model.safetensors.index.json".into(),
        },
    ))
}

/// Maps the newer in-memory layout (`model.language_model.*`, `model.visual.*`) to the checkpoint layout
/// (`model.*`, `visual.*`) used as variable names here.
pub fn canonical_name(key: &str) -> String {
    if let Some(rest) = key.strip_prefix("model.language_model.") {
        format!("model.{rest}")
    } else if let Some(rest) = key.strip_prefix("model.visual.") {
        format!("visual.{rest}")
    } else {
        key.to_string()
    }
}

/// Canonical names of every tensor in the checkpoint (headers only; no data is read).
pub fn tensor_names(dir: &Path) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for file in checkpoint_files(dir)? {
        let f = std::fs::File::open(&file).map_err(|e| AgentError::io(&file, e))?;
        // SAFETY: read-only map dropped before returning.
        let mmap = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| AgentError::io(&file, e))?;
        let (_, meta) = SafeTensors::read_metadata(&mmap).map_err(|e| {
            AgentError::checkpoint(&file, format!("not a valid safetensors file: {e}"))
        })?;
        names.extend(meta.tensors().keys().map(|k| canonical_name(k)));
    }
    Ok(names)
}

fn kind_of(dtype: Dtype) -> Option<Kind> {
    match dtype {
        Dtype::F32 => Some(Kind::Float),
        Dtype::F16 => Some(Kind::Half),
        Dtype::BF16 => Some(Kind::BFloat16),
        _ => None,
    }
}

/// Copies every variable of `vs` from the checkpoint in `dir`, converting dtype and device. Every variable must
/// be present with its exact shape; extra tensors (e.g. a `lm_head.weight` kept next to tied embeddings) are
/// ignored as transformers ignores them.
pub fn load_var_store(vs: &VarStore, dir: &Path) -> Result<()> {
    let files = checkpoint_files(dir)?;
    let vars = vs.variables();
    let mut loaded: HashMap<String, PathBuf> = HashMap::new();
    for file in &files {
        let f = std::fs::File::open(file).map_err(|e| AgentError::io(file, e))?;
        // SAFETY: the map is read-only and lives until the end of this iteration; a checkpoint being rewritten
        // while it is loaded is the caller's race, as with any reader.
        let mmap = unsafe { memmap2::Mmap::map(&f) }.map_err(|e| AgentError::io(file, e))?;
        let st = SafeTensors::deserialize(&mmap).map_err(|e| {
            AgentError::checkpoint(file, format!("not a valid safetensors file: {e}"))
        })?;
        for (key, view) in st.tensors() {
            let name = canonical_name(&key);
            let Some(var) = vars.get(&name) else { continue };
            if let Some(prev) = loaded.get(&name) {
                return Err(AgentError::checkpoint(
                    file,
                    format!("tensor `{name}` appears twice (also in {})", prev.display()),
                ));
            }
            copy_into(var, &view, &key, file)?;
            loaded.insert(name, file.clone());
        }
    }
    let mut missing: Vec<&String> = vars.keys().filter(|k| !loaded.contains_key(*k)).collect();
    missing.sort();
    if let Some(first) = missing.first() {
        let path = if files.len() == 1 {
            files[0].clone()
        } else {
            dir.to_path_buf()
        };
        let more = if missing.len() > 1 {
            format!(" (and {} more)", missing.len() - 1)
        } else {
            String::new()
        };
        return Err(AgentError::MissingTensor {
            path,
            tensor: format!("{first}{more}"),
        });
    }
    Ok(())
}

fn copy_into(var: &Tensor, view: &TensorView, key: &str, file: &Path) -> Result<()> {
    let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
    if shape != var.size() {
        return Err(AgentError::TensorShape {
            path: file.to_path_buf(),
            tensor: key.to_string(),
            found: shape,
            expected: var.size(),
        });
    }
    let kind = kind_of(view.dtype()).ok_or_else(|| AgentError::TensorDtype {
        path: file.to_path_buf(),
        tensor: key.to_string(),
        dtype: format!("{:?}", view.dtype()),
    })?;
    let src = Tensor::f_from_data_size(view.data(), &shape, kind)?;
    let mut dst = var.shallow_clone();
    tch::no_grad(|| dst.f_copy_(&src))?;
    Ok(())
}

/// A tensor staged on the CPU in a contiguous layout, for safetensors' writer.
struct StagedTensor {
    tensor: Tensor,
    dtype: Dtype,
    shape: Vec<usize>,
}

impl View for &StagedTensor {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        let mut buf = vec![0u8; self.data_len()];
        self.tensor.copy_data_u8(&mut buf, self.tensor.numel());
        buf.into()
    }
    fn data_len(&self) -> usize {
        self.tensor.numel() * self.tensor.kind().elt_size_in_bytes()
    }
}

/// Writes `tensors` to `path` as safetensors with transformers' `{"format": "pt"}` metadata, atomically
/// (temporary file in the same directory, then rename).
pub fn write_safetensors(tensors: &[(String, Tensor)], path: &Path) -> Result<()> {
    let staged: Vec<(String, StagedTensor)> = tensors
        .iter()
        .map(|(name, t)| {
            let tensor = t.detach().to_device(Device::Cpu).contiguous();
            let dtype = match tensor.kind() {
                Kind::Float => Dtype::F32,
                Kind::Half => Dtype::F16,
                Kind::BFloat16 => Dtype::BF16,
                Kind::Int64 => Dtype::I64,
                k => {
                    return Err(AgentError::checkpoint(
                        path,
                        format!("cannot write tensor `{name}` of kind {k:?}"),
                    ))
                }
            };
            let shape = tensor.size().iter().map(|&d| d as usize).collect();
            Ok((
                name.clone(),
                StagedTensor {
                    tensor,
                    dtype,
                    shape,
                },
            ))
        })
        .collect::<Result<_>>()?;
    let metadata: HashMap<String, String> = [("format".to_string(), "pt".to_string())].into();
    let tmp = temp_path(path);
    let views = staged.iter().map(|(n, t)| (n.as_str(), t));
    safetensors::serialize_to_file(views, Some(metadata), &tmp)
        .map_err(|e| AgentError::checkpoint(path, format!("writing safetensors: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| AgentError::io(path, e))
}

/// Writes `contents` to `path` atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    std::fs::write(&tmp, contents).map_err(|e| AgentError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| AgentError::io(path, e))
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_key_layouts_map_to_checkpoint_names() {
        assert_eq!(
            canonical_name("model.language_model.layers.0.mlp.up_proj.weight"),
            "model.layers.0.mlp.up_proj.weight"
        );
        assert_eq!(
            canonical_name("model.visual.blocks.1.attn.qkv.bias"),
            "visual.blocks.1.attn.qkv.bias"
        );
        assert_eq!(
            canonical_name("model.layers.0.input_layernorm.weight"),
            "model.layers.0.input_layernorm.weight"
        );
        assert_eq!(canonical_name("lm_head.weight"), "lm_head.weight");
    }

    #[test]
    fn pickle_checkpoints_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pytorch_model.bin"), b"not loaded").unwrap();
        let err = checkpoint_files(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("pytorch_model.bin") && err.contains("safetensors"),
            "{err}"
        );
    }
}
