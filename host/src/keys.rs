//! Where the host finds its keys and trust roots.
//!
//! The run-signer key is the host's identity for one data root: `<data-root>/keys/run-signer.key`
//! (0600), created on first use; its public half, `run-signer.pub.json`, is what auditors put in their trust
//! root (`run-signer.pub.pem` and `run-signer.pub.ssl.json`, written beside it, are the same key for
//! standard tools; as `--trust` they need `run-signer=` since they carry no role). This module must never
//! print or trace a private key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sealed_attest::{PrivateKey, Role, TrustRoot};

use crate::Failure;

pub const RUN_KEY_NAME: &str = "run-signer";

fn attest_failure(e: sealed_attest::AttestError) -> Failure {
    Failure::new(e.code(), e.to_string())
}

/// The private key at `path`, or the data root's run-signer key (created if it does not exist yet).
/// Returns the key and the path of its public file.
pub fn run_key(data_root: &Path, path: Option<&Path>) -> Result<(Arc<PrivateKey>, PathBuf), Failure> {
    let (key_path, pub_path) = match path {
        Some(p) => (p.to_path_buf(), p.with_extension("pub.json")),
        None => {
            let dir = data_root.join("keys");
            let key = dir.join(format!("{RUN_KEY_NAME}.key"));
            if !key.exists() {
                create_key_dir(data_root, &dir)?;
            }
            (key, dir.join(format!("{RUN_KEY_NAME}.pub.json")))
        }
    };
    let key = sealed_attest::load_private_key(&key_path).map_err(attest_failure)?;
    if key.role() != Role::RunSigner {
        return Err(Failure::new(
            "WRONG_ROLE",
            format!(
                "{} is a {} key; runs are signed by a run-signer key",
                key_path.display(),
                key.role().as_str()
            ),
        ));
    }
    Ok((Arc::new(key), pub_path))
}

/// Creates `<data-root>/keys/` holding a fresh run-signer key pair, atomically: the pair is written into
/// a private temporary directory and renamed into place, so a process killed half-way leaves only an unused
/// temporary directory, and of two first runs racing, one directory wins and both use it.
fn create_key_dir(data_root: &Path, dir: &Path) -> Result<(), Failure> {
    let io = |what: &str, e: std::io::Error| Failure::new("KEY_IO", format!("{what}: {e}"));
    std::fs::create_dir_all(data_root).map_err(|e| io(&format!("creating {}", data_root.display()), e))?;
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(|e| Failure::new("RANDOM_UNAVAILABLE", format!("no OS randomness: {e}")))?;
    let tmp = data_root.join(format!(".keys-{}", hex::encode(rnd)));
    sealed_attest::keygen(&tmp, Role::RunSigner, RUN_KEY_NAME).map_err(attest_failure)?;
    match std::fs::rename(&tmp, dir) {
        Ok(()) => Ok(()),
        // Another process created it first (or it already existed): use theirs.
        Err(_) if dir.is_dir() => {
            let _ = std::fs::remove_dir_all(&tmp);
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            Err(io(&format!("publishing {}", dir.display()), e))
        }
    }
}

/// A trust root from one or more `--trust` arguments: a trust root (`sealed-trust/v1`) or a public key
/// file written by `host keygen` (`*.pub.json`), or `ROLE=PATH` for its role-less `*.pub.pem` and
/// `*.pub.ssl.json` (see `sealed_attest::trust`).
pub fn trust(paths: &[PathBuf]) -> Result<TrustRoot, Failure> {
    if paths.is_empty() {
        return Err(Failure::new("TRUST_ROOT_INVALID", "no trust root given (--trust FILE)"));
    }
    TrustRoot::from_args(paths).map_err(attest_failure)
}
