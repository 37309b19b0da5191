//! DSSE v1 envelopes (secure-systems-lab/dsse `protocol.md`, `envelope.md`), signed with ed25519.
//!
//! The signature covers `PAE(payloadType, payload)` over the *decoded* payload bytes, never the JSON of
//! the envelope, and [`verify`] hands back exactly the bytes it verified: callers parse those, and must
//! never go back to the envelope's fields (DSSE: "MUST NOT re-parse the envelope after verification").
//!
//! `keyid` is an unauthenticated hint. It picks which trusted key to try first; when it misses, every
//! trusted key of the required role is tried. It never makes a signature acceptable on its own. New
//! envelopes carry the securesystemslib keyid ([`crate::keys::keyid_of`]), which securesystemslib's
//! `Envelope.verify` requires; a hint in the old raw-key form still names its key.
//!
//! Parsing is open, as DSSE `envelope.md` requires ("Consumers MUST ignore unrecognized fields"): an
//! extra field on the envelope or a signature is dropped. That cannot change what is verified, because
//! only `payload`, `payloadType` and `sig` enter the check, and all three are required.
//!
//! This module owns the envelope and its signing input; it must never decide what a payload means.

use ed25519_dalek::Signature;
use serde::{Deserialize, Serialize};

use crate::b64;
use crate::error::{AttestError, Result};
use crate::keys::{PrivateKey, Role};
use crate::trust::TrustRoot;

/// More signatures than this on one envelope are refused: each costs a verification per trusted key,
/// and this project signs with one.
const MAX_SIGNATURES: usize = 16;

/// DSSE's pre-authentication encoding:
/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths as ASCII decimal byte counts.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// The JSON envelope. Unknown fields are ignored (DSSE); a renamed required field is still refused, as
/// missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// Base64 of the payload bytes.
    pub payload: String,
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    pub signatures: Vec<EnvelopeSignature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    /// Hint only (optional in DSSE; empty when absent).
    #[serde(default)]
    pub keyid: String,
    /// Base64 of the 64-byte ed25519 signature.
    pub sig: String,
}

/// What a successful [`verify`] proves: `key` (trusted, with the required role) signed exactly
/// `payload` under `payload_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPayload {
    pub payload_type: String,
    pub payload: Vec<u8>,
    /// The trusted key that verified.
    pub keyid: String,
    /// The `keyid` hint of the signature that verified, as written (may differ from `keyid`: the hint
    /// is not signed). Strict callers such as [`crate::verify_run`] treat a mismatch as tampering.
    pub hint: String,
    /// Whether `hint` names the key that verified, in either keyid form.
    pub hint_names_signer: bool,
}

impl Envelope {
    /// Signs `payload` under `payload_type` with `key`.
    pub fn sign(payload_type: &str, payload: &[u8], key: &PrivateKey) -> Self {
        let sig = key.sign(&pae(payload_type, payload));
        Envelope {
            payload: b64::encode(payload),
            payload_type: payload_type.to_string(),
            signatures: vec![EnvelopeSignature {
                keyid: key.keyid().to_string(),
                sig: b64::encode(&sig),
            }],
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<Self> {
        serde_json::from_slice(bytes).map_err(|e| AttestError::EnvelopeInvalid { detail: e.to_string() })
    }

    /// Compact JSON, one line (the in-toto bundle form).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|e| AttestError::Encode {
            what: "DSSE envelope",
            detail: e.to_string(),
        })
    }
}

/// Verifies `envelope` against the trusted keys of `role` and returns the verified payload bytes.
///
/// Errors, most specific first: `WRONG_ROLE` (a trusted key of another role made the signature),
/// `SIGNATURE_INVALID` (the hint names a trusted key but the signature does not verify, i.e. something
/// was altered; or a signature is not 64 bytes of base64), `UNTRUSTED_KEY` (no trusted key of the role
/// made it).
pub fn verify(envelope: &Envelope, trust: &TrustRoot, role: Role) -> Result<VerifiedPayload> {
    if envelope.signatures.is_empty() {
        return Err(AttestError::SignatureInvalid {
            detail: "the envelope has no signatures".into(),
        });
    }
    if envelope.signatures.len() > MAX_SIGNATURES {
        return Err(AttestError::EnvelopeInvalid {
            detail: format!(
                "{} signatures exceeds the limit of {MAX_SIGNATURES}",
                envelope.signatures.len()
            ),
        });
    }
    let payload = b64::decode(&envelope.payload).map_err(|e| AttestError::EnvelopeInvalid {
        detail: format!("payload: {e}"),
    })?;
    let message = pae(&envelope.payload_type, &payload);

    let mut wrong_role = None;
    let mut altered = None;
    let mut malformed = None;
    for (i, s) in envelope.signatures.iter().enumerate() {
        let sig = match b64::decode(&s.sig).and_then(|b| {
            <[u8; 64]>::try_from(b.as_slice()).map_err(|_| format!("expected 64 bytes, found {}", b.len()))
        }) {
            Ok(bytes) => Signature::from_bytes(&bytes),
            Err(e) => {
                malformed.get_or_insert_with(|| format!("signatures[{i}].sig: {e}"));
                continue;
            }
        };
        // The hinted key first (the common case costs one verification), then every other key of the role.
        let hinted = trust.get(&s.keyid).filter(|k| k.role == role);
        let candidates = hinted
            .into_iter()
            .chain(trust.keys().iter().filter(|k| k.role == role && !k.matches(&s.keyid)));
        for key in candidates {
            if key.key.verify_strict(&message, &sig).is_ok() {
                return Ok(VerifiedPayload {
                    payload_type: envelope.payload_type.clone(),
                    payload,
                    keyid: key.keyid.clone(),
                    hint: s.keyid.clone(),
                    hint_names_signer: key.matches(&s.keyid),
                });
            }
        }
        if let Some(key) = trust
            .keys()
            .iter()
            .find(|k| k.role != role && k.key.verify_strict(&message, &sig).is_ok())
        {
            wrong_role.get_or_insert((key.keyid.clone(), key.role));
        } else if trust.get(&s.keyid).is_some() {
            altered.get_or_insert_with(|| {
                format!(
                    "signatures[{i}] names trusted key {} but does not verify over PAE(payloadType, payload): \
                     the payload, payloadType or signature was altered",
                    s.keyid
                )
            });
        }
    }
    if let Some((keyid, actual)) = wrong_role {
        return Err(AttestError::WrongRole {
            keyid,
            actual,
            required: role,
        });
    }
    if let Some(detail) = altered.or(malformed) {
        return Err(AttestError::SignatureInvalid { detail });
    }
    if !trust.keys().iter().any(|k| k.role == role) {
        return Err(AttestError::UntrustedKey {
            detail: format!("the trust root has no {role} key"),
        });
    }
    let hints: Vec<&str> = envelope.signatures.iter().map(|s| s.keyid.as_str()).collect();
    Err(AttestError::UntrustedKey {
        detail: format!("no trusted {role} key made the signature (keyid hints: {hints:?}, none in the trust root)"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn pae_matches_the_dsse_test_vector() {
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae("", b""), b"DSSEv1 0  0 ".to_vec());
    }
}
