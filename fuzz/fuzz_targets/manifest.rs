//! `parse_manifest` on arbitrary bytes: never panics, and accepts only bytes that are exactly the
//! canonical encoding of the manifest they parse to (the oracle of host/crates/snapshot/tests/fuzz.rs).
//! Seed the corpus with `snapshots/*/sealed/manifest.json` (see README.md).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sealed_snapshot::canonical::{sha256_hex, to_vec};
use sealed_snapshot::verify::parse_manifest;

fuzz_target!(|bytes: &[u8]| {
    if let Ok((manifest, digest)) = parse_manifest(Path::new("manifest.json"), bytes) {
        assert_eq!(
            to_vec(&manifest).ok().as_deref(),
            Some(bytes),
            "accepted a non-canonical spelling"
        );
        assert_eq!(digest, sha256_hex(bytes));
    }
});
