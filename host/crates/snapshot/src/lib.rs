//! Sealed snapshots: the manifest format, canonical JSON, sealing a source declaration, and verifying a
//! sealed directory before anything from it is used.
//!
//! This crate owns the trust boundary of the input: a [`VerifiedSnapshot`] can only be obtained from
//! [`verify::load_verified`], which checks the manifest (closed schema, canonical bytes, digest) and the
//! sha256 of every component it pins. It must never compile or execute anything, and never fall back to
//! a default when a field is missing or unknown.
//!
//! Layout of a sealed snapshot directory:
//!
//! ```text
//! manifest.json              canonical JSON (RFC 8785), format sealed-snapshot/v1
//! snapshot.digest            "sha256:<hex of sha256(manifest.json)>\n"
//! components/<sha256>.wasm   every component the manifest pins
//! snapshot.sig.json          optional: DSSE envelope by a snapshot-signer key (sealed-attest)
//! ```

pub mod canonical;
pub mod check;
pub mod error;
pub mod label;
pub mod manifest;
pub mod quote;
pub mod schema_keywords;
pub mod seal;
pub mod source;
pub mod verify;

pub use error::SnapshotError;
pub use manifest::*;
pub use verify::{MAX_COMPONENT_BYTES, VerifiedComponent, VerifiedSnapshot, load_verified};

pub const MANIFEST_FILE: &str = "manifest.json";
pub const DIGEST_FILE: &str = "snapshot.digest";
pub const COMPONENTS_DIR: &str = "components";
/// The DSSE signature over the snapshot digest (written by `host seal --sign`, see `sealed-attest`).
pub const SIGNATURE_FILE: &str = "snapshot.sig.json";
