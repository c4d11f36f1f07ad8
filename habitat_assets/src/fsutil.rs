//! Atomic file writes (a temporary file in the destination directory, then a rename, so a reader never
//! sees a half-written scene) and the confinement of relative paths named by files (URIs, scene ids).

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::error::AssetError;

pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), AssetError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        AssetError::io(path, e)
    })
}

/// `relative` as a path that stays inside the directory it is resolved against, normalised (`a/../b` is
/// `b`), or None when it is empty, absolute or climbs above it with `..`. Lexical: a symlink inside the
/// directory is the directory owner's choice and is followed.
pub fn confined_relative(relative: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in relative.components() {
        match c {
            Component::Normal(name) => out.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_stay_confined() {
        let c = |p: &str| confined_relative(Path::new(p)).map(|p| p.display().to_string());
        assert_eq!(c("a/./b/../c.bin").as_deref(), Some("a/c.bin"));
        for bad in ["", ".", "..", "../a", "a/../../b", "/dev/zero", "a/.."] {
            assert_eq!(c(bad), None, "{bad}");
        }
    }
}
