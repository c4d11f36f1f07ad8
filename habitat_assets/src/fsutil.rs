//! Atomic file writes: a temporary file in the destination directory, then a rename, so a reader never
//! sees a half-written scene.

use std::io::Write;
use std::path::Path;

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
