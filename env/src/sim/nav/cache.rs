//! The navigable surface cached on disk next to its scene: `<scene file>.navmesh.<config>-<scene>.bin`, where
//! `config` hashes the format version, the agent size and the build parameters and `scene` hashes the scene
//! file's bytes. A changed scene or config gives a new name, so a stale file is never read; when a scene
//! changes, its old caches for the same config are removed once the new one is written. Writes are atomic
//! (temp file in the same directory, then rename).
//!
//! Format (little-endian): magic, version, nx, nz, span count, island count, indoor flag, agent size and
//! build parameters, origin, then the arrays
//! `col_start`, `span_y`, `span_top`, `links`, `clearance`, `island`, `island_size`. The move table is derived on load.

use std::path::{Path, PathBuf};

use habitat_assets::Scene;
use sha2::{Digest, Sha256};

use crate::body::AgentConfig;
use crate::error::{EnvError, Result};
use crate::nav::surface::{NavParams, NavSurface, NONE};

const MAGIC: &[u8; 8] = b"VLNRNAV\0";
/// Bump whenever the build algorithm or the layout changes: old caches then miss.
const FORMAT_VERSION: u32 = 2;

/// Where the surface came from.
#[derive(Debug, Clone, PartialEq)]
pub enum CacheOutcome {
    /// Read from this cache file.
    Loaded(PathBuf),
    /// Built and written to this cache file.
    Built(PathBuf),
    /// The cache file was unreadable (the reason says why); rebuilt and overwritten.
    Rebuilt { path: PathBuf, reason: String },
    /// Built, but the cache could not be written (e.g. a read-only scene directory).
    Unwritten { path: PathBuf, error: String },
}

/// Hex key of everything the surface depends on besides the scene: format, agent size, build parameters.
pub fn config_key(agent: &AgentConfig, params: &NavParams) -> String {
    let mut h = Sha256::new();
    h.update(MAGIC);
    h.update(FORMAT_VERSION.to_le_bytes());
    for v in [
        agent.height,
        agent.radius,
        agent.max_step,
        params.cell_size,
        params.max_slope_deg,
    ] {
        h.update(v.to_le_bytes());
    }
    h.update([u8::from(params.indoor_only)]);
    hex8(&h.finalize())
}

/// Hex key of the scene file's bytes.
pub fn scene_key(scene_bytes: &[u8]) -> String {
    hex8(&Sha256::digest(scene_bytes))
}

/// Hex key of the scene file's bytes and how they were read (the axis frame): the same file read in
/// another frame is another scene.
pub fn scene_key_read_as(scene_bytes: &[u8], reading: &str) -> String {
    let mut h = Sha256::new();
    h.update(scene_bytes);
    h.update(reading.as_bytes());
    hex8(&h.finalize())
}

fn hex8(digest: &[u8]) -> String {
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The cache file of `scene_path`: `<scene file>.navmesh.<config key>-<scene key>.bin`.
pub fn cache_path(scene_path: &Path, config_key: &str, scene_key: &str) -> PathBuf {
    let mut name = scene_path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".navmesh.{config_key}-{scene_key}.bin"));
    scene_path.with_file_name(name)
}

/// Loads the cached surface of `scene_path` or builds it from `scene` (which must be that file's content)
/// and writes the cache.
pub fn load_or_build(
    scene_path: &Path,
    scene: &Scene,
    agent: &AgentConfig,
    params: &NavParams,
) -> Result<(NavSurface, CacheOutcome)> {
    load_or_build_read_as(scene_path, None, scene, agent, params)
}

/// [`load_or_build`] for a scene read in a stated way (`reading`, e.g. the axis frame), which joins the
/// scene key.
pub fn load_or_build_read_as(
    scene_path: &Path,
    reading: Option<&str>,
    scene: &Scene,
    agent: &AgentConfig,
    params: &NavParams,
) -> Result<(NavSurface, CacheOutcome)> {
    agent.validate()?;
    params.validate()?;
    let bytes = std::fs::read(scene_path).map_err(|source| EnvError::Io {
        path: scene_path.to_path_buf(),
        source,
    })?;
    let config = config_key(agent, params);
    let key = match reading {
        Some(r) => scene_key_read_as(&bytes, r),
        None => scene_key(&bytes),
    };
    let path = cache_path(scene_path, &config, &key);
    let mut unreadable = None;
    match read_regular(&path) {
        Ok(data) => match decode(&data, agent, params) {
            Ok(surface) => return Ok((surface, CacheOutcome::Loaded(path))),
            Err(reason) => unreadable = Some(reason),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => unreadable = Some(e.to_string()),
    }
    let surface = NavSurface::build(scene, agent, params)?;
    let bytes = encode(&surface);
    let outcome = match episodes::file::write_atomic(&path, |w| w.write_all(&bytes)) {
        Ok(()) => {
            remove_stale(scene_path, &config, &path);
            match unreadable {
                None => CacheOutcome::Built(path),
                Some(reason) => CacheOutcome::Rebuilt { path, reason },
            }
        }
        Err(e) => CacheOutcome::Unwritten {
            path,
            error: e.to_string(),
        },
    };
    Ok((surface, outcome))
}

/// A cache file's bytes, only from a regular file: the cache's name is predictable from the scene, so a
/// downloaded scene directory could hold a FIFO (a read that never returns) or a link to `/dev/zero` (one
/// that never ends) in its place. Those read as unreadable, and the cache is rebuilt over them.
fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    std::fs::read(path)
}

/// Removes the caches of older versions of the scene for the same configuration (other agent sizes and
/// parameters keep theirs).
fn remove_stale(scene_path: &Path, config_key: &str, keep: &Path) {
    let (Some(dir), Some(name)) = (scene_path.parent(), scene_path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.navmesh.{config_key}-", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        let other = entry.path();
        if file.starts_with(&prefix)
            && file.ends_with(".bin")
            && other.file_name() != keep.file_name()
        {
            // Best effort: a leftover stale file is never read, because its key cannot match.
            let _ = std::fs::remove_file(other);
        }
    }
}

/// Serialises a surface.
pub fn encode(s: &NavSurface) -> Vec<u8> {
    let n = s.span_y.len();
    let mut out = Vec::with_capacity(64 + s.col_start.len() * 4 + n * 32 + s.island_size.len() * 4);
    out.extend_from_slice(MAGIC);
    for v in [
        FORMAT_VERSION,
        s.nx,
        s.nz,
        n as u32,
        s.island_size.len() as u32,
        u32::from(s.params.indoor_only),
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for v in [
        s.agent.height,
        s.agent.radius,
        s.agent.max_step,
        s.params.cell_size,
        s.params.max_slope_deg,
        s.origin[0],
        s.origin[1],
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    s.col_start
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    s.span_y
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    s.span_top
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    s.links
        .iter()
        .flatten()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    s.clearance
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    s.island
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    s.island_size
        .iter()
        .for_each(|v| out.extend_from_slice(&v.to_le_bytes()));
    out
}

/// Little-endian reader that reports truncation.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn bytes(&mut self, n: usize) -> std::result::Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or("truncated")?;
        let b = &self.data[self.pos..end];
        self.pos = end;
        Ok(b)
    }

    fn u32(&mut self) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.bytes(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn f32(&mut self) -> std::result::Result<f32, String> {
        Ok(f32::from_le_bytes(
            self.bytes(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u32s(&mut self, n: usize) -> std::result::Result<Vec<u32>, String> {
        let b = self.bytes(n.checked_mul(4).ok_or("size overflow")?)?;
        Ok(b.chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
            .collect())
    }

    fn f32s(&mut self, n: usize) -> std::result::Result<Vec<f32>, String> {
        Ok(self.u32s(n)?.into_iter().map(f32::from_bits).collect())
    }
}

/// Parses and validates a cache file for the expected agent size and parameters.
pub fn decode(
    data: &[u8],
    agent: &AgentConfig,
    params: &NavParams,
) -> std::result::Result<NavSurface, String> {
    let mut r = Reader { data, pos: 0 };
    if r.bytes(8)? != MAGIC {
        return Err("not a navmesh cache file".into());
    }
    let version = r.u32()?;
    if version != FORMAT_VERSION {
        return Err(format!(
            "format version {version}, expected {FORMAT_VERSION}"
        ));
    }
    let (nx, nz, n, islands) = (r.u32()?, r.u32()?, r.u32()? as usize, r.u32()? as usize);
    if r.u32()? != u32::from(params.indoor_only) {
        return Err(format!("built with indoor_only = {}", !params.indoor_only));
    }
    let stored = [r.f32()?, r.f32()?, r.f32()?, r.f32()?, r.f32()?];
    let expected = [
        agent.height,
        agent.radius,
        agent.max_step,
        params.cell_size,
        params.max_slope_deg,
    ];
    if stored.map(f32::to_bits) != expected.map(f32::to_bits) {
        return Err(format!(
            "built for agent/params {stored:?}, expected {expected:?}"
        ));
    }
    let origin = [r.f32()?, r.f32()?];
    let columns = (nx as usize)
        .checked_mul(nz as usize)
        .ok_or("grid size overflow")?;
    let col_start = r.u32s(columns + 1)?;
    let span_y = r.f32s(n)?;
    let span_top = r.f32s(n)?;
    let flat_links = r.u32s(n * 4)?;
    let clearance = r.f32s(n)?;
    let island = r.u32s(n)?;
    let island_size = r.u32s(islands)?;
    if r.pos != data.len() {
        return Err(format!("{} trailing bytes", data.len() - r.pos));
    }
    if col_start.first() != Some(&0)
        || col_start.last() != Some(&(n as u32))
        || col_start.windows(2).any(|w| w[0] > w[1])
    {
        return Err("column offsets are not a partition of the spans".into());
    }
    if flat_links.iter().any(|&l| l != NONE && l as usize >= n)
        || island.iter().any(|&i| i != NONE && i as usize >= islands)
    {
        return Err("link or island index out of range".into());
    }
    if !origin
        .iter()
        .chain(&span_y)
        .chain(&clearance)
        .all(|v| v.is_finite())
    {
        return Err("non-finite coordinates".into());
    }
    let mut span_col = Vec::with_capacity(n);
    for (c, w) in col_start.windows(2).enumerate() {
        span_col.extend(std::iter::repeat_n(c as u32, (w[1] - w[0]) as usize));
    }
    let links = flat_links
        .chunks_exact(4)
        .map(|c| [c[0], c[1], c[2], c[3]])
        .collect();
    let mut surface = NavSurface {
        agent: *agent,
        params: *params,
        origin,
        nx,
        nz,
        col_start,
        span_y,
        span_top,
        span_col,
        links,
        clearance,
        island,
        island_size,
        span_h: Vec::new(),
        moves: Vec::new(),
        nav_links: Vec::new(),
    };
    surface.derive();
    Ok(surface)
}
