//! in-toto Statement v1 (in-toto/attestation `spec/v1/statement.md`) and the predicate type URIs this
//! project signs.
//!
//! A statement is serialised as RFC 8785 canonical JSON before signing, so the same content always gives
//! the same payload bytes. Reading is open (in-toto: unknown fields MUST be ignored); what a verifier
//! relies on is pinned by exact comparisons in [`crate::verify`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{AttestError, Result};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// The DSSE payloadType of an in-toto statement.
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
pub const SNAPSHOT_PREDICATE: &str = "https://sealed.dev/snapshot/v1";
pub const EXECUTION_PREDICATE: &str = "https://sealed.dev/execution/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    /// algorithm → lowercase hex.
    pub digest: BTreeMap<String, String>,
}

impl Subject {
    pub fn sha256(name: &str, hex: &str) -> Self {
        Subject {
            name: name.to_string(),
            digest: BTreeMap::from([("sha256".to_string(), hex.to_string())]),
        }
    }
    pub fn sha256_digest(&self) -> Option<&str> {
        self.digest.get("sha256").map(String::as_str)
    }
}

impl Statement {
    pub fn new(subject: Vec<Subject>, predicate_type: &str, predicate: Value) -> Self {
        Statement {
            type_: STATEMENT_TYPE.into(),
            subject,
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// Canonical JSON bytes: the DSSE payload.
    pub fn to_payload(&self) -> Result<Vec<u8>> {
        serde_jcs::to_vec(self).map_err(|e| AttestError::Encode {
            what: "in-toto statement",
            detail: e.to_string(),
        })
    }

    /// Parses verified payload bytes.
    pub fn parse(payload: &[u8]) -> Result<Self> {
        serde_json::from_slice(payload).map_err(|e| AttestError::StatementInvalid { detail: e.to_string() })
    }

    /// Checks `_type` and `predicateType` exactly (no prefix or version matching: a URI drift must be a
    /// visible refusal, not a silent reinterpretation).
    pub fn expect_types(&self, predicate_type: &str) -> Result<()> {
        if self.type_ != STATEMENT_TYPE {
            return Err(AttestError::StatementInvalid {
                detail: format!("_type is {:?}, expected {STATEMENT_TYPE:?}", self.type_),
            });
        }
        if self.predicate_type != predicate_type {
            return Err(AttestError::StatementInvalid {
                detail: format!(
                    "predicateType is {:?}, expected {predicate_type:?}",
                    self.predicate_type
                ),
            });
        }
        Ok(())
    }

    /// The subjects called `name`.
    pub fn subjects_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Subject> + 'a {
        self.subject.iter().filter(move |s| s.name == name)
    }
}
