//! Loading a sealed directory and proving it is what was sealed.
//!
//! Order matters and is fail-fast: manifest bytes (read once) → digest file → (the caller's signature check
//! over that digest, see [`read_manifest`]) → closed parse → known format → canonical form → closure rules
//! → every component's bytes against its pin. Only then does a
//! [`VerifiedSnapshot`] exist; nothing else in the host can construct one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::canonical::{sha256_hex, to_vec};
use crate::manifest::{FORMAT_V1, Manifest};
use crate::{COMPONENTS_DIR, DIGEST_FILE, MANIFEST_FILE, SnapshotError};

/// A manifest is small; anything bigger than this is refused before parsing.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// Components larger than this are refused before hashing (the engine's compile budget is lower still).
pub const MAX_COMPONENT_BYTES: u64 = 256 << 20;

/// Component bytes whose sha256 equals their pin. Only [`load_verified`] and [`verify_component`] create
/// these, and both hash the bytes first: a `VerifiedComponent` always matches its pin.
#[derive(Clone)]
pub struct VerifiedComponent {
    sha256: String,
    name: String,
    bytes: Arc<[u8]>,
}

impl VerifiedComponent {
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl std::fmt::Debug for VerifiedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedComponent")
            .field("sha256", &self.sha256)
            .field("name", &self.name)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// Checks `bytes` against the pin `expected_sha256` (64 lowercase hex digits) and wraps them.
///
/// This is the narrow door for callers that hold a pin and bytes outside a sealed directory (the
/// component index of `cargo xtask build-components`, tests, the conformance runner). It keeps the
/// invariant of [`VerifiedComponent`]: the bytes hash to the pin, or there is no value.
pub fn verify_component(expected_sha256: &str, name: &str, bytes: Vec<u8>) -> Result<VerifiedComponent, SnapshotError> {
    if bytes.len() as u64 > MAX_COMPONENT_BYTES {
        return Err(SnapshotError::ComponentHashMismatch {
            name: name.to_string(),
            expected: expected_sha256.to_string(),
            actual: format!(
                "(not hashed: {} bytes exceeds the limit of {MAX_COMPONENT_BYTES})",
                bytes.len()
            ),
        });
    }
    let actual = sha256_hex(&bytes);
    if actual != expected_sha256 {
        return Err(SnapshotError::ComponentHashMismatch {
            name: name.to_string(),
            expected: expected_sha256.to_string(),
            actual,
        });
    }
    Ok(VerifiedComponent {
        sha256: actual,
        name: name.to_string(),
        bytes: bytes.into(),
    })
}

/// A snapshot whose manifest digest and component pins were all checked.
#[derive(Debug, Clone)]
pub struct VerifiedSnapshot {
    dir: PathBuf,
    manifest: Manifest,
    manifest_bytes: Arc<[u8]>,
    digest: String,
    components: BTreeMap<String, VerifiedComponent>,
}

impl VerifiedSnapshot {
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    /// The exact canonical bytes of manifest.json.
    pub fn manifest_bytes(&self) -> &[u8] {
        &self.manifest_bytes
    }
    /// Hex sha256 of manifest.json (the snapshot digest).
    pub fn digest(&self) -> &str {
        &self.digest
    }
    pub fn component(&self, sha256: &str) -> Option<&VerifiedComponent> {
        self.components.get(sha256)
    }
    pub fn components(&self) -> impl Iterator<Item = &VerifiedComponent> {
        self.components.values()
    }
}

fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, SnapshotError> {
    sealed_files::read_capped(path, cap).map_err(|e| match e {
        sealed_files::ReadError::Io { path, source } => SnapshotError::Io { path, source },
        other => SnapshotError::ManifestInvalid {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    })
}

/// Refuses any entry of the snapshot directory (or of its `components/`) that is not one of the sealed
/// files: the manifest, its digest, its signature, and the pinned components.
fn refuse_unpinned(dir: &Path, components: &BTreeMap<String, VerifiedComponent>) -> Result<(), SnapshotError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| SnapshotError::Io { path, source }
    };
    let known_top = [MANIFEST_FILE, DIGEST_FILE, crate::SIGNATURE_FILE, COMPONENTS_DIR];
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name();
        if !known_top.iter().any(|k| name == *k) {
            return Err(SnapshotError::UnpinnedFile { path: entry.path() });
        }
    }
    let components_dir = dir.join(COMPONENTS_DIR);
    let listing = match std::fs::read_dir(&components_dir) {
        // A snapshot that pins no component may have no components directory at all.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && components.is_empty() => return Ok(()),
        other => other.map_err(io(&components_dir))?,
    };
    for entry in listing {
        let entry = entry.map_err(io(&components_dir))?;
        let name = entry.file_name();
        let pinned = name
            .to_str()
            .and_then(|n| n.strip_suffix(".wasm"))
            .is_some_and(|sha| components.contains_key(sha));
        if !pinned {
            return Err(SnapshotError::UnpinnedFile { path: entry.path() });
        }
    }
    Ok(())
}

/// Parses manifest bytes with every check that needs no other file: closed schema, known format,
/// canonical form, closure rules. Returns the manifest and its digest.
pub fn parse_manifest(path: &Path, bytes: &[u8]) -> Result<(Manifest, String), SnapshotError> {
    let (manifest, digest) = parse_manifest_form(path, bytes)?;
    crate::check::validate(&manifest).map_err(SnapshotError::Closure)?;
    Ok((manifest, digest))
}

/// [`parse_manifest`] without the closure rules: the form of the bytes only.
fn parse_manifest_form(path: &Path, bytes: &[u8]) -> Result<(Manifest, String), SnapshotError> {
    // Parse as a Value first to read `format`: an unknown format should be reported as such, not as
    // whatever field the newer format added.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| SnapshotError::ManifestInvalid {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    match value.get("format").and_then(|f| f.as_str()) {
        Some(FORMAT_V1) => {}
        Some(other) => {
            return Err(SnapshotError::FormatUnknown {
                found: other.to_string(),
                expected: FORMAT_V1,
            });
        }
        None => {
            return Err(SnapshotError::ManifestInvalid {
                path: path.to_path_buf(),
                detail: "missing string field `format`".into(),
            });
        }
    }
    let manifest: Manifest = serde_json::from_value(value.clone()).map_err(|e| SnapshotError::ManifestInvalid {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    let canonical = to_vec(&value).map_err(|e| SnapshotError::ManifestInvalid {
        path: path.to_path_buf(),
        detail: format!("cannot canonicalise: {e}"),
    })?;
    if canonical != bytes {
        return Err(SnapshotError::NotCanonical);
    }
    // Canonical JSON is not enough: serde also reads a struct from an array of its fields (`[null]` for
    // `{"const": null}`) and fills `#[serde(default)]` fields that are absent, so other canonical byte
    // strings (other digests) would parse to this same manifest. Accept only the bytes `seal` writes for
    // it, so a manifest has exactly one byte form and one digest. (Found by tests/fuzz.rs.)
    let reencoded = to_vec(&manifest).map_err(|e| SnapshotError::ManifestInvalid {
        path: path.to_path_buf(),
        detail: format!("cannot canonicalise: {e}"),
    })?;
    if reencoded != bytes {
        return Err(SnapshotError::NotCanonical);
    }
    Ok((manifest, sha256_hex(bytes)))
}

/// Reads `snapshot.digest` (`sha256:<hex>`).
pub fn read_digest_file(dir: &Path) -> Result<String, SnapshotError> {
    let path = dir.join(DIGEST_FILE);
    // `sha256:` + 64 hex digits + a newline; anything much longer is not a digest file.
    let text = sealed_files::read_capped_string(&path, 256).map_err(|e| SnapshotError::DigestFile {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    let hex = text
        .trim()
        .strip_prefix("sha256:")
        .ok_or_else(|| SnapshotError::DigestFile {
            path: path.clone(),
            detail: "expected `sha256:<64 hex digits>`".into(),
        })?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(SnapshotError::DigestFile {
            path,
            detail: "expected `sha256:<64 lowercase hex digits>`".into(),
        });
    }
    Ok(hex.to_string())
}

/// The bytes of a snapshot's `manifest.json`, read once (capped, from the opened handle), whose sha256 is
/// the one `snapshot.digest` names. Nothing in them has been parsed yet: this is what a signature is
/// checked against *before* the host spends any parsing on the manifest (a JSON Schema compile, JSONPath,
/// the graph checks), so an unsigned or forged manifest costs a hash, not a parse.
#[derive(Debug, Clone)]
pub struct ManifestBytes {
    bytes: Arc<[u8]>,
    digest: String,
}

impl ManifestBytes {
    /// Hex sha256 of the bytes (equal to `snapshot.digest`).
    pub fn digest(&self) -> &str {
        &self.digest
    }
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads `manifest.json` once and checks its sha256 against `snapshot.digest`; parses nothing.
pub fn read_manifest(dir: &Path) -> Result<ManifestBytes, SnapshotError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let bytes = read_capped(&manifest_path, MAX_MANIFEST_BYTES)?;
    let digest = sha256_hex(&bytes);
    // The digest before any parsing: an edited manifest is reported as what it is (not what was sealed),
    // not as whichever rule the edit happened to break.
    let expected = read_digest_file(dir)?;
    if expected != digest {
        return Err(SnapshotError::DigestMismatch {
            expected,
            actual: digest,
        });
    }
    Ok(ManifestBytes {
        bytes: bytes.into(),
        digest,
    })
}

/// Loads and verifies a sealed snapshot directory. See the module docs for the order of checks. A caller
/// that also checks a signature uses [`read_manifest`], checks the signature over its digest, then
/// [`load_from`]: this is those two steps with no signature in between.
pub fn load_verified(dir: &Path) -> Result<VerifiedSnapshot, SnapshotError> {
    load_from(dir, read_manifest(dir)?)
}

/// The deep checks of a snapshot whose manifest bytes were read (and perhaps authenticated) already:
/// closed parse, known format, canonical form, closure rules, then every component against its pin.
pub fn load_from(dir: &Path, manifest: ManifestBytes) -> Result<VerifiedSnapshot, SnapshotError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let ManifestBytes { bytes, digest } = manifest;
    let (manifest, parsed_digest) = parse_manifest_form(&manifest_path, &bytes)?;
    debug_assert_eq!(parsed_digest, digest);
    crate::check::validate(&manifest).map_err(SnapshotError::Closure)?;

    let mut components = BTreeMap::new();
    for (sha, decl) in &manifest.components {
        let path = dir.join(COMPONENTS_DIR).join(format!("{sha}.wasm"));
        if !path.is_file() {
            return Err(SnapshotError::ComponentMissing {
                sha256: sha.clone(),
                name: decl.name.clone(),
                path,
            });
        }
        let bytes = read_capped(&path, MAX_COMPONENT_BYTES)?;
        let actual = sha256_hex(&bytes);
        if &actual != sha {
            return Err(SnapshotError::ComponentHashMismatch {
                name: decl.name.clone(),
                expected: sha.clone(),
                actual,
            });
        }
        components.insert(
            sha.clone(),
            VerifiedComponent {
                sha256: sha.clone(),
                name: decl.name.clone(),
                bytes: bytes.into(),
            },
        );
    }
    refuse_unpinned(dir, &components)?;
    Ok(VerifiedSnapshot {
        dir: dir.to_path_buf(),
        manifest,
        manifest_bytes: bytes,
        digest,
        components,
    })
}
