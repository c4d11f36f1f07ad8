//! Reading and writing data files: gzip chosen by the `.gz` extension and checked against the magic bytes;
//! writes are atomic (temp file in the same directory, then rename), so a reader never sees half a file.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{EpisodeError, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether the name ends in `.gz`: that decides compression on write and what a read expects.
pub fn is_gzip_name(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Default cap on what one `.gz` file may inflate to: 1 GiB, above the largest public VLN-CE file
/// (RxR-CE's train gt). A gzip stream inflates up to ~1000x, so a few MB could otherwise ask for many GB.
/// `VLN_R1_MAX_INFLATED_MIB` overrides it for a dataset that needs more.
pub const MAX_INFLATED_BYTES: u64 = 1 << 30;

/// The environment variable that overrides [`MAX_INFLATED_BYTES`] (in MiB).
pub const MAX_INFLATED_ENV: &str = "VLN_R1_MAX_INFLATED_MIB";

/// [`MAX_INFLATED_BYTES`], or what [`MAX_INFLATED_ENV`] says (a bad value is an error naming it).
pub fn max_inflated_bytes() -> Result<u64> {
    match std::env::var(MAX_INFLATED_ENV) {
        Err(_) => Ok(MAX_INFLATED_BYTES),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .and_then(|mib| mib.checked_mul(1 << 20))
            .ok_or_else(|| {
                EpisodeError::config(MAX_INFLATED_ENV, format!("{v:?} is not a size in MiB"))
            }),
    }
}

/// The file's bytes, decompressed when it is a `.gz` (up to [`max_inflated_bytes`]). A name/content mismatch
/// is an error, so a plain JSON file renamed `.json.gz` (or the reverse) is caught instead of half-working.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    read_bytes_with_limit(path, max_inflated_bytes()?)
}

/// [`read_bytes`] with `.gz` files allowed to inflate to at most `limit` bytes.
pub fn read_bytes_with_limit(path: &Path, limit: u64) -> Result<Vec<u8>> {
    // Data files are found by name in downloaded directories: a FIFO would block the read forever and a
    // device (`/dev/zero`) never end it.
    let meta = fs::metadata(path).map_err(|e| EpisodeError::io(path, e))?;
    if !meta.is_file() {
        return Err(EpisodeError::invalid(
            path,
            "is not a regular file (a directory, FIFO or device)",
        ));
    }
    let raw = fs::read(path).map_err(|e| EpisodeError::io(path, e))?;
    let looks_gzip = raw.starts_with(&GZIP_MAGIC);
    match (is_gzip_name(path), looks_gzip) {
        (true, true) => inflate(path, &raw, limit),
        (true, false) => Err(EpisodeError::Compression {
            path: path.to_owned(),
            message: format!(
                "named .gz but is not gzip-compressed (starts with {})",
                describe_start(&raw)
            ),
        }),
        (false, true) => Err(EpisodeError::Compression {
            path: path.to_owned(),
            message: "is gzip-compressed but its name does not end in .gz".into(),
        }),
        (false, false) => Ok(raw),
    }
}

/// Inflates a gzip file's bytes, refusing (before holding more than `limit` + 1 bytes) a stream that
/// inflates past `limit`.
fn inflate(path: &Path, raw: &[u8], limit: u64) -> Result<Vec<u8>> {
    // Guess the inflated size to avoid regrowing the buffer: JSON of this kind compresses ~5-10x.
    let guess = (raw.len() as u64).saturating_mul(6).min(limit);
    let mut out = Vec::with_capacity(usize::try_from(guess).unwrap_or(0));
    MultiGzDecoder::new(raw)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| EpisodeError::Compression {
            path: path.to_owned(),
            message: format!("broken or truncated gzip stream: {e}"),
        })?;
    if out.len() as u64 > limit {
        return Err(EpisodeError::Compression {
            path: path.to_owned(),
            message: format!(
                "inflates to more than {limit} bytes (from {} compressed); set {MAX_INFLATED_ENV} (MiB) \
                 if the file is genuine",
                raw.len()
            ),
        });
    }
    Ok(out)
}

fn describe_start(raw: &[u8]) -> String {
    match raw.iter().find(|b| !b.is_ascii_whitespace()) {
        None => "nothing: the file is empty".into(),
        Some(b) if b.is_ascii_graphic() => format!("{:?}", *b as char),
        Some(b) => format!("byte 0x{b:02x}"),
    }
}

/// Parses JSON bytes of `path` into `T`. On failure the document is parsed again with path tracking, so the
/// error names the exact field (`episodes[12].start_rotation`) without slowing down the successful path.
pub fn parse_json<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T> {
    let fast_err = match serde_json::from_slice(bytes) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    // Python's json writes NaN / Infinity, which JSON (and serde_json) reject with a bare syntax error.
    // Masking them as same-length strings keeps the error at the same place but lets the typed parse reach
    // it, so the path of the offending number is known.
    let (masked, non_finite) = mask_non_finite(bytes);
    let mut de = serde_json::Deserializer::from_slice(&masked);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => {
            let at = match e.path().to_string() {
                root if root == "." => "top level".to_owned(),
                at => at,
            };
            let source = e.into_inner();
            let message = source.to_string();
            match non_finite
                .iter()
                .find(|t| message.contains(&format!("string \"{}\"", t.masked)))
            {
                Some(t) => Err(EpisodeError::NonFinite {
                    path: path.to_owned(),
                    record: None,
                    at,
                    token: t.token.to_owned(),
                }),
                None => Err(EpisodeError::Json {
                    path: path.to_owned(),
                    record: None,
                    at,
                    source,
                }),
            }
        }
        // Only reachable if the masked document parses, i.e. never for a failing original; report as is.
        Ok(_) => Err(EpisodeError::Json {
            path: path.to_owned(),
            record: None,
            at: ".".into(),
            source: fast_err,
        }),
    }
}

/// A non-finite literal and the same-length string that stands in for it.
pub(crate) struct NonFiniteToken {
    pub token: &'static str,
    pub masked: &'static str,
}

const NON_FINITE: [NonFiniteToken; 3] = [
    NonFiniteToken {
        token: "-Infinity",
        masked: "-Infini",
    },
    NonFiniteToken {
        token: "Infinity",
        masked: "Infini",
    },
    NonFiniteToken {
        token: "NaN",
        masked: "N",
    },
];

/// Replaces `NaN`, `Infinity`, `-Infinity` outside strings by `"N"`, `"Infini"`, `"-Infini"` (same byte
/// length, so error positions do not move). Returns the tokens that occurred.
pub(crate) fn mask_non_finite(bytes: &[u8]) -> (Vec<u8>, Vec<&'static NonFiniteToken>) {
    let mut out = bytes.to_vec();
    let mut found: Vec<&'static NonFiniteToken> = Vec::new();
    let (mut i, mut in_string) = (0, false);
    while i < out.len() {
        let b = out[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if let Some(t) = NON_FINITE
            .iter()
            .find(|t| out[i..].starts_with(t.token.as_bytes()))
        {
            let replacement = format!("\"{}\"", t.masked);
            out[i..i + t.token.len()].copy_from_slice(replacement.as_bytes());
            if !found.iter().any(|f| f.token == t.token) {
                found.push(t);
            }
            i += t.token.len();
            continue;
        }
        i += 1;
    }
    (out, found)
}

/// Reads and parses a JSON (or `.json.gz`) file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    parse_json(path, &read_bytes(path)?)
}

/// Writes `value` as JSON (gzip when the name ends in `.gz`), atomically.
pub fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, |w| {
        serde_json::to_writer(w, value).map_err(io::Error::other)
    })
}

/// Writes through `fill` into a temp file beside `path`, gzip-compressing for `.gz` names, syncs it and
/// renames it over `path`. Either the old file or the complete new one is visible, never a partial one.
/// The workspace's one atomic writer for data files (env's trajectories, eval results and nav caches, the
/// demo's reports use it too).
pub fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    let dir = parent_dir(path);
    let err = |e: io::Error| EpisodeError::io(path, e);
    fs::create_dir_all(&dir).map_err(err)?;
    let mut builder = tempfile::Builder::new();
    builder.prefix(".tmp-");
    // Temp files are created private (0600); the renamed file is an ordinary output, so it gets the mode any
    // `File::create` gets (0666 less the umask).
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder.tempfile_in(&dir).map_err(err)?;
    {
        let mut buffered = io::BufWriter::with_capacity(1 << 20, tmp.as_file());
        if is_gzip_name(path) {
            let mut gz = GzEncoder::new(&mut buffered, Compression::default());
            fill(&mut gz).map_err(err)?;
            gz.finish().map_err(err)?;
        } else {
            fill(&mut buffered).map_err(err)?;
        }
        buffered.flush().map_err(err)?;
    }
    tmp.as_file().sync_all().map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_chosen_by_name_and_checked_by_magic() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("a.json.gz");
        let plain = dir.path().join("a.json");
        write_json(&gz, &vec![1, 2, 3]).unwrap();
        write_json(&plain, &vec![1, 2, 3]).unwrap();
        assert!(fs::read(&gz).unwrap().starts_with(&GZIP_MAGIC));
        assert_eq!(fs::read(&plain).unwrap(), b"[1,2,3]");
        assert_eq!(read_json::<Vec<i32>>(&gz).unwrap(), [1, 2, 3]);
        assert_eq!(read_json::<Vec<i32>>(&plain).unwrap(), [1, 2, 3]);

        let swapped_gz = dir.path().join("b.json.gz");
        fs::copy(&plain, &swapped_gz).unwrap();
        let err = read_bytes(&swapped_gz).unwrap_err().to_string();
        assert!(
            err.contains("b.json.gz") && err.contains("not gzip"),
            "{err}"
        );
        let swapped_plain = dir.path().join("b.json");
        fs::copy(&gz, &swapped_plain).unwrap();
        let err = read_bytes(&swapped_plain).unwrap_err().to_string();
        assert!(err.contains("is gzip-compressed"), "{err}");
    }

    #[test]
    fn truncated_gzip_is_an_error_not_a_short_read() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("t.json.gz");
        let big: Vec<u32> = (0..20_000).collect();
        write_json(&gz, &big).unwrap();
        let bytes = fs::read(&gz).unwrap();
        fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
        let err = read_bytes(&gz).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn a_gzip_bomb_is_refused_at_the_limit_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("bomb.json.gz");
        // 64 MiB of zeros compress to ~64 KB: inflating it under a 1 MiB limit stops at the limit.
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        for _ in 0..64 {
            enc.write_all(&[b' '; 1 << 20]).unwrap();
        }
        fs::write(&gz, enc.finish().unwrap()).unwrap();
        let err = read_bytes_with_limit(&gz, 1 << 20).unwrap_err().to_string();
        assert!(
            err.contains("bomb.json.gz")
                && err.contains("more than 1048576 bytes")
                && err.contains(MAX_INFLATED_ENV),
            "{err}"
        );
        // Exactly at the limit is fine.
        assert_eq!(
            read_bytes_with_limit(&gz, 64 << 20).unwrap().len(),
            64 << 20
        );
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_directories_are_refused_without_reading_them() {
        let dir = tempfile::tempdir().unwrap();
        let zero = dir.path().join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
        for path in [zero.as_path(), dir.path()] {
            let err = read_bytes(path).unwrap_err().to_string();
            assert!(err.contains("is not a regular file"), "{err}");
        }
    }

    #[test]
    fn atomic_write_leaves_no_temp_file_and_replaces_old_content() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.json");
        write_json(&p, "old").unwrap();
        write_json(&p, "new").unwrap();
        assert_eq!(read_json::<String>(&p).unwrap(), "new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["x.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn atomic_write_gives_the_mode_of_an_ordinary_new_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ordinary = dir.path().join("ordinary");
        fs::File::create(&ordinary).unwrap();
        let atomic = dir.path().join("atomic.json");
        write_json(&atomic, "x").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        // Not the temp file's private 0600: readable by whoever may read the user's other outputs.
        assert_eq!(mode(&atomic), mode(&ordinary));
    }

    #[test]
    fn parse_errors_carry_the_json_path() {
        #[derive(Debug, serde::Deserialize)]
        struct Doc {
            #[allow(dead_code)]
            items: Vec<Vec<f64>>,
        }
        let err = parse_json::<Doc>(Path::new("f.json"), br#"{"items": [[1], [2, "x"]]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("f.json: items[1][1]: invalid type"),
            "{err}"
        );
        let err = parse_json::<Doc>(
            Path::new("f.json"),
            br#"{"items": [["NaN"], [2, -Infinity]]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("f.json: items[0][0]: invalid type: string \"NaN\""),
            "{err}"
        );
        let err = parse_json::<Doc>(Path::new("f.json"), br#"{"items": [[1], [2, -Infinity]]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("f.json: items[1][1]: -Infinity is not a finite number"),
            "{err}"
        );
    }

    #[test]
    fn masking_keeps_strings_and_lengths() {
        let text = br#"{"a": "NaN and \"Infinity\"", "b": [NaN, -Infinity, Infinity]}"#;
        let (masked, found) = mask_non_finite(text);
        assert_eq!(masked.len(), text.len());
        assert_eq!(
            String::from_utf8(masked).unwrap(),
            r#"{"a": "NaN and \"Infinity\"", "b": ["N", "-Infini", "Infini"]}"#
        );
        assert_eq!(found.len(), 3);
    }
}
