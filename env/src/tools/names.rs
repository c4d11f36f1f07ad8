//! The one place where ids from data files (episode ids, trajectory keys) become file or directory names.
//! Ids come from downloaded datasets: `..`, `/`, a leading `.` or a 10 kB id must never name something
//! outside (or beside) the directory a user gave.

use sha2::{Digest, Sha256};

/// Longest id used as a name unchanged (file systems allow 255 bytes; suffixes such as `@p3` and
/// `.tmp-` prefixes need room).
pub const MAX_ID_NAME_LEN: usize = 128;

/// An id is safe as a file or directory name unchanged when it is short plain ASCII without separators
/// and does not start with '.' (so neither `.`, `..` nor a hidden temp directory).
pub fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_NAME_LEN
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The file name for `id`: the id itself when [`is_safe_id`], otherwise its safe characters (others
/// replaced by '_', at most 64 of them, a leading '.' too) and a hash of the whole id, so that two
/// different ids never share a name (`a/b` and `a_b`).
pub fn file_name_for_id(id: &str) -> String {
    if is_safe_id(id) {
        return id.to_owned();
    }
    let readable: String = id
        .chars()
        .take(64)
        .enumerate()
        .map(|(i, c)| match c {
            '.' if i == 0 => '_',
            c if c.is_ascii_alphanumeric() || "-_.".contains(c) => c,
            _ => '_',
        })
        .collect();
    let hash: String = Sha256::digest(id.as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{readable}-{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_ids_are_kept_and_others_become_distinct_plain_names() {
        for ok in ["1", "ep_2-b.c"] {
            assert!(is_safe_id(ok), "{ok}");
            assert_eq!(file_name_for_id(ok), ok);
        }
        for bad in [
            "",
            ".",
            "..",
            ".tmp-1",
            "a/b",
            "a\\b",
            "é",
            &"x".repeat(129),
        ] {
            assert!(!is_safe_id(bad), "{bad}");
            assert!(
                is_safe_id(&file_name_for_id(bad)),
                "{bad} -> {}",
                file_name_for_id(bad)
            );
        }
        assert_ne!(file_name_for_id("a/b"), file_name_for_id("a_b"));
        assert!(file_name_for_id("..").starts_with("_.-"));
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

        /// Whatever the id, its name is one plain path component.
        #[test]
        fn every_id_becomes_one_plain_component(id in any::<String>()) {
            let name = file_name_for_id(&id);
            prop_assert!(is_safe_id(&name), "{:?} -> {:?}", id, name);
            let path = std::path::Path::new(&name);
            prop_assert_eq!(path.components().count(), 1);
            prop_assert!(matches!(path.components().next(), Some(std::path::Component::Normal(_))));
        }
    }
}
