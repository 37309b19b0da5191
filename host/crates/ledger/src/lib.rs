//! The write-set of a run, its canonical encoding, and the ledger chain.
//!
//! Everything here is a pure function of its inputs (no database): two stores that commit the same runs
//! with the same write-sets reach the same ledger heads, byte for byte. Owned here, outside any backend,
//! because four parties must compute it identically: the store that commits a run, `host replay` (from
//! the trace's journal), `host verify` (offline, with no data root) and every future storage backend. It
//! must never do I/O.

use sealed_capability::{InsertOutcome, StorageRequest, StorageResponse};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The ledger head of a store in which no run was ever committed.
pub const GENESIS_HEAD: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain tag of the write-set encoding: a digest of one encoding can never be mistaken for a digest of
/// another (e.g. the store's content digest), and a future v2 encoding gets a new tag.
const WRITE_SET_TAG: &[u8] = b"sealed-store/write-set/v1\0";

/// What kind of change a write made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WriteKind {
    /// A registry key was bound (only `inserted`; `already-exists` changes nothing and is no write).
    #[serde(rename = "registry.insert")]
    RegistryInsert,
    /// An event was appended.
    #[serde(rename = "events.append")]
    EventsAppend,
    /// A state value was stored (a new version).
    #[serde(rename = "state.store")]
    StateStore,
    /// A registry key was unbound (contract 0.1.1; only a remove that found a binding: removing a free
    /// key changes nothing and is no write). Its `value_sha256` is the digest of the bytes unbound.
    #[serde(rename = "registry.remove")]
    RegistryRemove,
}

impl WriteKind {
    /// The tag byte in the canonical encoding. Part of the format: never renumber.
    fn tag(self) -> u8 {
        match self {
            WriteKind::RegistryInsert => 1,
            WriteKind::EventsAppend => 2,
            WriteKind::StateStore => 3,
            WriteKind::RegistryRemove => 4,
        }
    }
}

/// One successful change a run made to the store, in the order it was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Write {
    pub kind: WriteKind,
    pub label: String,
    pub key: String,
    /// The event's `seq` for an append, the new `version` for a state store, 0 for a registry insert or
    /// remove (a registry binding has no position).
    pub position: u64,
    /// sha256 of the bytes written (lowercase hex); for a registry remove, of the bytes unbound.
    pub value_sha256: String,
}

/// The change a storage call made, if any, from its request and its successful response: the one
/// definition of a write. The run's transaction records writes with it, and a replay rebuilds a run's
/// write-set from the trace's journal with it, so both reach the same write-set digest and ledger head.
/// Reads, `already-exists` and refusals change nothing and are no write.
pub fn write_of(request: &StorageRequest, response: &StorageResponse) -> Option<Write> {
    let (kind, label, key, position, value) = match (request, response) {
        (StorageRequest::RegistryInsert { label, key, value }, StorageResponse::Insert(InsertOutcome::Inserted)) => {
            (WriteKind::RegistryInsert, label, key, 0, value)
        }
        (StorageRequest::EventsAppend { label, key, payload }, StorageResponse::Seq(seq)) => {
            (WriteKind::EventsAppend, label, key, *seq, payload)
        }
        (StorageRequest::StateStoreIfVersion { label, key, value, .. }, StorageResponse::Version(version)) => {
            (WriteKind::StateStore, label, key, *version, value)
        }
        (StorageRequest::RegistryRemove { label, key }, StorageResponse::Removed(Some(digest))) => {
            return Some(Write {
                kind: WriteKind::RegistryRemove,
                label: label.clone(),
                key: key.clone(),
                position: 0,
                value_sha256: digest.clone(),
            });
        }
        _ => return None,
    };
    Some(Write {
        kind,
        label: label.clone(),
        key: key.clone(),
        position,
        value_sha256: sha256_hex(value),
    })
}

/// sha256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The canonical encoding of an ordered write-set.
///
/// ```text
/// "sealed-store/write-set/v1\0"
/// u64be  number of writes
/// per write, in order:
///   u8     kind (1 registry.insert, 2 events.append, 3 state.store, 4 registry.remove)
///   u64be  byte length of label, label (UTF-8)
///   u64be  byte length of key, key (UTF-8)
///   u64be  position
///   [32]   sha256 of the value (raw bytes; for a remove, of the bytes unbound)
/// ```
///
/// Every variable-length field is length-prefixed, so distinct write-sets never share an encoding.
pub fn encode_write_set(writes: &[Write]) -> Vec<u8> {
    let mut out = Vec::with_capacity(WRITE_SET_TAG.len() + 8 + writes.len() * 96);
    out.extend_from_slice(WRITE_SET_TAG);
    out.extend_from_slice(&(writes.len() as u64).to_be_bytes());
    for w in writes {
        out.push(w.kind.tag());
        put_bytes(&mut out, w.label.as_bytes());
        put_bytes(&mut out, w.key.as_bytes());
        out.extend_from_slice(&w.position.to_be_bytes());
        // value_sha256 is produced by `sha256_hex`, so it always decodes; an (impossible) undecodable one
        // is still encoded unambiguously, length-prefixed, rather than silently dropped.
        match hex::decode(&w.value_sha256) {
            Ok(raw) if raw.len() == 32 => out.extend_from_slice(&raw),
            _ => put_bytes(&mut out, w.value_sha256.as_bytes()),
        }
    }
    out
}

/// sha256 (hex) of the canonical encoding of the write-set.
pub fn write_set_digest(writes: &[Write]) -> String {
    sha256_hex(&encode_write_set(writes))
}

/// The ledger head after committing a run: `sha256(ledger_before_hex || run_id || write_set_digest_hex)`
/// over the ASCII/UTF-8 bytes. Both hex digests are exactly 64 characters, so the run id in the middle is
/// unambiguous. O(1) per run: the head chains runs without ever scanning the store.
pub fn next_ledger_head(ledger_before: &str, run_id: &str, write_set_digest: &str) -> String {
    let mut h = Sha256::new();
    h.update(ledger_before.as_bytes());
    h.update(run_id.as_bytes());
    h.update(write_set_digest.as_bytes());
    hex::encode(h.finalize())
}

/// Appends `u64be(len) || bytes`.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(kind: WriteKind, label: &str, key: &str, position: u64, value: &[u8]) -> Write {
        Write {
            kind,
            label: label.into(),
            key: key.into(),
            position,
            value_sha256: sha256_hex(value),
        }
    }

    #[test]
    fn empty_write_set_has_a_fixed_digest() {
        // Pinned: changing the encoding changes every ledger head ever written.
        let mut expected = WRITE_SET_TAG.to_vec();
        expected.extend_from_slice(&0u64.to_be_bytes());
        assert_eq!(encode_write_set(&[]), expected);
        assert_eq!(write_set_digest(&[]), sha256_hex(&expected));
    }

    #[test]
    fn encoding_is_unambiguous_across_field_boundaries() {
        let a = [w(WriteKind::RegistryInsert, "ab", "c", 0, b"x")];
        let b = [w(WriteKind::RegistryInsert, "a", "bc", 0, b"x")];
        assert_ne!(write_set_digest(&a), write_set_digest(&b));
    }

    #[test]
    fn order_kind_and_position_matter() {
        let x = w(WriteKind::EventsAppend, "l", "k", 1, b"p");
        let y = w(WriteKind::EventsAppend, "l", "k", 2, b"q");
        assert_ne!(
            write_set_digest(&[x.clone(), y.clone()]),
            write_set_digest(&[y.clone(), x.clone()])
        );
        let mut z = x.clone();
        z.kind = WriteKind::StateStore;
        assert_ne!(write_set_digest(std::slice::from_ref(&x)), write_set_digest(&[z]));
        let mut p = x.clone();
        p.position = 3;
        assert_ne!(write_set_digest(&[x]), write_set_digest(&[p]));
    }

    #[test]
    fn ledger_head_is_the_documented_formula() {
        let ws = write_set_digest(&[]);
        let head = next_ledger_head(GENESIS_HEAD, "run-1", &ws);
        assert_eq!(head, sha256_hex(format!("{GENESIS_HEAD}run-1{ws}").as_bytes()));
        assert_ne!(head, next_ledger_head(GENESIS_HEAD, "run-2", &ws));
        assert_eq!(head.len(), 64);
    }
}
