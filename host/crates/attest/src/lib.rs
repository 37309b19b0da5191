//! Signed execution evidence for sealed: ed25519 keys with roles, trust roots, DSSE envelopes, in-toto
//! statements, snapshot signatures, run attestations, and their offline verification.
//!
//! Formats (see each module for the exact layout):
//!
//! * keys: `<name>.key` (private, 0600), `<name>.pub.json` (public, with its role), and for standard tools
//!   `<name>.pub.pem` (SubjectPublicKeyInfo PEM) and `<name>.pub.ssl.json` (securesystemslib key dict)
//!   ([`keys`]);
//! * keyids: securesystemslib's default keyid, sha256 of the canonical JSON of the key dict
//!   ([`keyid_of`]); the older sha256-of-the-raw-key form ([`legacy_keyid_of`]) is still accepted wherever a
//!   keyid is read, and never written;
//! * trust root: `sealed-trust/v1` JSON, and `--trust` arguments (`FILE` or `ROLE=FILE` for the role-less
//!   PEM / securesystemslib files) ([`trust`]);
//! * `snapshot.sig.json`: a DSSE envelope over a Statement with predicate `https://sealed.dev/snapshot/v1`
//!   ([`snapshot_sig`]);
//! * `<run-id>.jsonl.intoto.jsonl`: the in-toto bundle for the trace `<run-id>.jsonl` (bundle spec naming,
//!   `<artifact>.intoto.jsonl`; runs recorded earlier have `<run-id>.intoto.jsonl`, still read), one DSSE
//!   envelope per line, over a Statement with predicate `https://sealed.dev/execution/v1` ([`run`]),
//!   checked by [`verify_run`] ([`verify`]).
//!
//! Everything written here is read by the standard tools as it is: securesystemslib 1.x verifies the DSSE
//! envelopes with the PEM or securesystemslib key files, in-toto 3.1 verifies them too, and
//! in-toto-attestation 0.9 parses the statements (`cargo xtask standard-tools`). Reading follows the specs'
//! "MUST ignore" rules (unknown envelope fields, unrecognised bundle lines, keys and subjects) without
//! ignoring anything that changes what is signed.
//!
//! This crate owns keys, signing and verification. It must never read a data root, run Wasm, or reach
//! the network, and never print, log or trace private key material.

mod b64;
pub mod dsse;
pub mod error;
pub mod keys;
pub mod run;
pub mod snapshot_sig;
pub mod statement;
pub mod trust;
pub mod verify;

pub use dsse::{Envelope, EnvelopeSignature, VerifiedPayload, pae};
pub use error::{AttestError, Result};
pub use keys::{
    KeyInfo, PrivateKey, PublicKey, PublicKeyFile, Role, keygen, keyid_matches, keyid_of, legacy_keyid_of,
    load_private_key, load_public_key, public_pem, ssl_public_json,
};
pub use run::{
    ExecutionPredicate, RunAttestationInputs, attest_run, attest_run_to_file, attestation_path, execution_predicate,
    execution_statement, find_attestation, legacy_attestation_path, write_attestation,
};
pub use snapshot_sig::{
    SIGNATURE_FILE, SignedDigest, SnapshotTrust, sign_snapshot, verify_snapshot_signature,
    verify_snapshot_signature_over,
};
pub use statement::{
    EXECUTION_PREDICATE, IN_TOTO_PAYLOAD_TYPE, SNAPSHOT_PREDICATE, STATEMENT_TYPE, Statement, Subject,
};
pub use trust::{TRUST_FORMAT, TrustRoot, load_trust_arg};
pub use verify::{Check, VerifyReport, verify_run, verify_run_observed};
