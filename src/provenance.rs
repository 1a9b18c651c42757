//! Where a result came from: SHA-256 digests of input files (scenario, catalog, any
//! document a result is computed from) and the build that produced it (version, git commit,
//! whether the tree was dirty). Summaries, bench documents and shard partials all use these
//! so the same input always yields the same digest; and when it was made (the UTC date
//! they record).

use sha2::{Digest, Sha256};

/// The current UTC time as RFC 3339 to the second, `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Lower-case hex SHA-256 of `bytes` (64 characters).
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Lower-case hex SHA-256 of a file's contents.
pub fn sha256_file(path: &std::path::Path) -> std::io::Result<String> {
    Ok(sha256_hex(&std::fs::read(path)?))
}

/// The build of this binary: recorded by `build.rs` from Cargo and git at compile time.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuildInfo {
    /// `CARGO_PKG_VERSION`.
    pub version: String,
    /// `git rev-parse --short=12 HEAD` at build time, or `unknown` outside a git checkout.
    pub commit: String,
    /// Whether tracked files differed from that commit at build time (`git status
    /// --porcelain --untracked-files=no` printed anything); `None` outside a git checkout.
    pub dirty: Option<bool>,
}

/// This binary's build.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        commit: env!("CLUSTERSWEEP_GIT_COMMIT").to_string(),
        dirty: match env!("CLUSTERSWEEP_GIT_DIRTY") {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_is_rfc3339_utc_to_the_second_and_now() {
        let before = std::time::SystemTime::now();
        let d = utc_now();
        assert_eq!(d.len(), 20, "{d}");
        assert!(d.ends_with('Z') && d.as_bytes()[10] == b'T', "{d}");
        let parsed = humantime::parse_rfc3339(&d).expect("RFC 3339");
        let drift = before
            .duration_since(parsed)
            .unwrap_or_else(|e| e.duration());
        assert!(drift.as_secs() <= 2, "{d} is not now");
    }

    #[test]
    fn sha256_matches_the_fips_180_2_examples() {
        // FIPS 180-2, appendix B.1 ("abc") and the empty message.
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn file_digest_is_the_digest_of_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.toml");
        std::fs::write(&p, "name = \"x\"\n").unwrap();
        assert_eq!(sha256_file(&p).unwrap(), sha256_hex(b"name = \"x\"\n"));
        assert!(sha256_file(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn build_info_names_this_package() {
        let b = build_info();
        assert_eq!(b.version, env!("CARGO_PKG_VERSION"));
        assert!(!b.commit.is_empty());
    }
}
