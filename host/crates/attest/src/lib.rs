//! Signed execution evidence for sealed: ed25519 keys with roles, trust roots, DSSE envelopes, in-toto
//! statements, snapshot signatures, run attestations, and their offline verification.
//!
//! Formats (see each module for the exact layout):
//!
//! * keys: `<name>.key` (private, 0600) and `<name>.pub.json` ([`keys`]);
//! * trust root: `sealed-trust/v1` JSON ([`trust`]);
//! * `snapshot.sig.json`: a DSSE envelope over a Statement with predicate `https://sealed.dev/snapshot/v1`
//!   ([`snapshot_sig`]);
//! * `<run-id>.intoto.jsonl`: an in-toto bundle, one DSSE envelope per line, over a Statement with
//!   predicate `https://sealed.dev/execution/v1` ([`run`]), checked by [`verify_run`] ([`verify`]).
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
    KeyInfo, PrivateKey, PublicKey, PublicKeyFile, Role, keygen, keyid_of, load_private_key, load_public_key,
};
pub use run::{
    ExecutionPredicate, RunAttestationInputs, attest_run, attest_run_to_file, attestation_path, execution_predicate,
    execution_statement, write_attestation,
};
pub use snapshot_sig::{
    SIGNATURE_FILE, SignedDigest, SnapshotTrust, sign_snapshot, verify_snapshot_signature,
    verify_snapshot_signature_over,
};
pub use statement::{
    EXECUTION_PREDICATE, IN_TOTO_PAYLOAD_TYPE, SNAPSHOT_PREDICATE, STATEMENT_TYPE, Statement, Subject,
};
pub use trust::{TRUST_FORMAT, TrustRoot};
pub use verify::{Check, VerifyReport, verify_run, verify_run_observed};
