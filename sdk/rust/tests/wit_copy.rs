//! The SDK carries its own copy of the contract (`sdk/rust/wit/capability.wit`) so that it builds outside
//! the repository; the canonical file is `wit/capability.wit`. A change to one without the other fails
//! here: copy the canonical file over the SDK's (`cp wit/capability.wit sdk/rust/wit/`).

#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn the_sdk_wit_is_byte_identical_to_the_canonical_contract() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR"));
    let canonical = sdk.join("../../wit/capability.wit");
    let copy = sdk.join("wit/capability.wit");
    let (a, b) = (std::fs::read(&canonical).unwrap(), std::fs::read(&copy).unwrap());
    assert!(
        a == b,
        "{} differs from {}: run `cp wit/capability.wit sdk/rust/wit/capability.wit`",
        copy.display(),
        canonical.display()
    );
    // The SDK's WIT directory holds that one file: a second one would become part of the package.
    let entries: Vec<_> = std::fs::read_dir(sdk.join("wit"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, ["capability.wit"]);
}
