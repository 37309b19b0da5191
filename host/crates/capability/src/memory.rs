//! [`MemoryBackend`]: an in-memory [`StorageBackend`] with exactly the semantics the WIT contract states.
//!
//! It is the reference backend for engine tests, the conformance-vector runner and replay, so it must
//! agree with the SQLite store call for call:
//!
//! * registry: write-once. Inserting the same bytes again is `already-exists`; different bytes are a
//!   `conflict` and change nothing. `remove` unbinds a key (and answers with the digest of the bytes it
//!   unbound, none if nothing was bound); the key is then free for a later insert. The removed bindings
//!   are kept, in order, like the store's `registry_removed` table.
//! * events: every stream (label, key) numbers its events from 1 without gaps; `read` returns at most
//!   `max-count` events with `seq >= from-seq`, in order (`from-seq` 0 reads from the start).
//! * state: compare-and-swap. Versions start at 1; `expected-version` 0 means "absent"; any other
//!   mismatch is a `conflict` and changes nothing. `list` returns the keys of a label in ascending
//!   byte order after the cursor, at most `max-count`.
//!
//! Policy (grants, budgets, key length) is not checked here: [`crate::Gate`] does that before a request
//! arrives. Empty labels and keys are still refused with `invalid-argument`, because a backend must never
//! store something the contract calls malformed, whoever calls it.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::{Event, InsertOutcome, StorageBackend, StorageError, StorageRequest, StorageResponse, Versioned};

/// (label, key): every namespace of the contract is per label.
type Slot = (String, String);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryBackend {
    registry: BTreeMap<Slot, Vec<u8>>,
    events: BTreeMap<Slot, Vec<Vec<u8>>>,
    state: BTreeMap<Slot, Versioned>,
    /// Every binding `remove` unbound, in the order of removal: (label, key, bytes).
    removed: Vec<(String, String, Vec<u8>)>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes bound to `key` under `label` in the registry, if any.
    pub fn registry_value(&self, label: &str, key: &str) -> Option<&[u8]> {
        self.registry.get(&slot(label, key)).map(Vec::as_slice)
    }

    /// Every payload of the stream `key` under `label`; the event with seq `n` is at index `n - 1`.
    pub fn event_stream(&self, label: &str, key: &str) -> &[Vec<u8>] {
        self.events.get(&slot(label, key)).map_or(&[], Vec::as_slice)
    }

    /// The current versioned value of `key` under `label`, if it was ever stored.
    pub fn state_value(&self, label: &str, key: &str) -> Option<&Versioned> {
        self.state.get(&slot(label, key))
    }

    /// Every registry binding that was removed, oldest first: (label, key, the bytes it was bound to).
    pub fn removed_bindings(&self) -> &[(String, String, Vec<u8>)] {
        &self.removed
    }

    /// Whether nothing at all is stored (nor was ever removed).
    pub fn is_empty(&self) -> bool {
        self.registry.is_empty() && self.events.is_empty() && self.state.is_empty() && self.removed.is_empty()
    }
}

fn slot(label: &str, key: &str) -> Slot {
    (label.to_string(), key.to_string())
}

fn checked(label: &str, key: &str) -> Result<Slot, StorageError> {
    if label.is_empty() {
        return Err(StorageError::InvalidArgument("label must not be empty".into()));
    }
    if key.is_empty() {
        return Err(StorageError::InvalidArgument("key must not be empty".into()));
    }
    Ok(slot(label, key))
}

impl StorageBackend for MemoryBackend {
    fn execute(&mut self, request: &StorageRequest) -> Result<StorageResponse, StorageError> {
        match request {
            StorageRequest::RegistryInsert { label, key, value } => {
                let slot = checked(label, key)?;
                match self.registry.get(&slot) {
                    Some(existing) if existing == value => Ok(StorageResponse::Insert(InsertOutcome::AlreadyExists)),
                    Some(_) => Err(StorageError::Conflict(format!(
                        "registry key {key:?} under label {label:?} is already bound to different bytes"
                    ))),
                    None => {
                        self.registry.insert(slot, value.clone());
                        Ok(StorageResponse::Insert(InsertOutcome::Inserted))
                    }
                }
            }
            StorageRequest::RegistryGet { label, key } => {
                let slot = checked(label, key)?;
                Ok(StorageResponse::Value(self.registry.get(&slot).cloned()))
            }
            StorageRequest::RegistryExists { label, key } => {
                let slot = checked(label, key)?;
                Ok(StorageResponse::Exists(self.registry.contains_key(&slot)))
            }
            StorageRequest::RegistryRemove { label, key } => {
                let slot = checked(label, key)?;
                match self.registry.remove(&slot) {
                    Some(value) => {
                        let digest = hex::encode(Sha256::digest(&value));
                        self.removed.push((slot.0, slot.1, value));
                        Ok(StorageResponse::Removed(Some(digest)))
                    }
                    None => Ok(StorageResponse::Removed(None)),
                }
            }
            StorageRequest::StateList {
                label,
                start_after,
                max_count,
            } => {
                if label.is_empty() {
                    return Err(StorageError::InvalidArgument("label must not be empty".into()));
                }
                // Keys of one label are a contiguous range of the (label, key) order.
                let from = (label.clone(), start_after.clone().unwrap_or_default());
                let keys = self
                    .state
                    .range(from..)
                    .map(|((l, k), _)| (l, k))
                    .take_while(|(l, _)| *l == label)
                    .filter(|(_, k)| start_after.as_ref().is_none_or(|after| *k > after))
                    .take(*max_count as usize)
                    .map(|(_, k)| k.clone())
                    .collect();
                Ok(StorageResponse::Keys(keys))
            }
            StorageRequest::EventsAppend { label, key, payload } => {
                let slot = checked(label, key)?;
                let stream = self.events.entry(slot).or_default();
                stream.push(payload.clone());
                Ok(StorageResponse::Seq(stream.len() as u64))
            }
            StorageRequest::EventsRead {
                label,
                key,
                from_seq,
                max_count,
            } => {
                let slot = checked(label, key)?;
                // seq n lives at index n - 1; from-seq 0 means "from the first event".
                let skip = usize::try_from(from_seq.saturating_sub(1)).unwrap_or(usize::MAX);
                let events = self
                    .events
                    .get(&slot)
                    .map(|stream| {
                        stream
                            .iter()
                            .enumerate()
                            .skip(skip)
                            .take(*max_count as usize)
                            .map(|(i, payload)| Event {
                                seq: i as u64 + 1,
                                payload: payload.clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                Ok(StorageResponse::Events(events))
            }
            StorageRequest::StateLoad { label, key } => {
                let slot = checked(label, key)?;
                Ok(StorageResponse::State(self.state.get(&slot).cloned()))
            }
            StorageRequest::StateStoreIfVersion {
                label,
                key,
                expected_version,
                value,
            } => {
                let slot = checked(label, key)?;
                let current = self.state.get(&slot).map_or(0, |v| v.version);
                if current != *expected_version {
                    return Err(StorageError::Conflict(format!(
                        "state key {key:?} under label {label:?}: expected version {expected_version}, \
                         current version is {current}"
                    )));
                }
                let version = current + 1;
                self.state.insert(
                    slot,
                    Versioned {
                        version,
                        value: value.clone(),
                    },
                );
                Ok(StorageResponse::Version(version))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insert(b: &mut MemoryBackend, key: &str, value: &[u8]) -> Result<StorageResponse, StorageError> {
        b.execute(&StorageRequest::RegistryInsert {
            label: "l".into(),
            key: key.into(),
            value: value.to_vec(),
        })
    }

    #[test]
    fn registry_is_write_once() {
        let mut b = MemoryBackend::new();
        assert_eq!(
            insert(&mut b, "k", b"v"),
            Ok(StorageResponse::Insert(InsertOutcome::Inserted))
        );
        assert_eq!(
            insert(&mut b, "k", b"v"),
            Ok(StorageResponse::Insert(InsertOutcome::AlreadyExists))
        );
        assert!(matches!(insert(&mut b, "k", b"w"), Err(StorageError::Conflict(_))));
        assert_eq!(b.registry_value("l", "k"), Some(&b"v"[..]));
        let get = |b: &mut MemoryBackend, label: &str| {
            b.execute(&StorageRequest::RegistryGet {
                label: label.into(),
                key: "k".into(),
            })
        };
        assert_eq!(get(&mut b, "l"), Ok(StorageResponse::Value(Some(b"v".to_vec()))));
        // Labels are separate namespaces.
        assert_eq!(get(&mut b, "other"), Ok(StorageResponse::Value(None)));
        assert_eq!(
            b.execute(&StorageRequest::RegistryExists {
                label: "l".into(),
                key: "k".into()
            }),
            Ok(StorageResponse::Exists(true))
        );
    }

    #[test]
    fn events_are_numbered_from_one_without_gaps() {
        let mut b = MemoryBackend::new();
        for (i, p) in ["a", "b", "c"].iter().enumerate() {
            let r = b.execute(&StorageRequest::EventsAppend {
                label: "l".into(),
                key: "s".into(),
                payload: p.as_bytes().to_vec(),
            });
            assert_eq!(r, Ok(StorageResponse::Seq(i as u64 + 1)));
        }
        let read = |b: &mut MemoryBackend, from_seq, max_count| match b.execute(&StorageRequest::EventsRead {
            label: "l".into(),
            key: "s".into(),
            from_seq,
            max_count,
        }) {
            Ok(StorageResponse::Events(e)) => e.iter().map(|e| (e.seq, e.payload.clone())).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            read(&mut b, 0, 10),
            vec![(1, b"a".to_vec()), (2, b"b".to_vec()), (3, b"c".to_vec())]
        );
        assert_eq!(read(&mut b, 2, 1), vec![(2, b"b".to_vec())]);
        assert_eq!(read(&mut b, 4, 10), vec![]);
        assert_eq!(read(&mut b, u64::MAX, 10), vec![]);
        assert_eq!(read(&mut b, 1, 0), vec![]);
    }

    #[test]
    fn state_is_compare_and_swap() {
        let mut b = MemoryBackend::new();
        let store = |b: &mut MemoryBackend, expected_version, v: &[u8]| {
            b.execute(&StorageRequest::StateStoreIfVersion {
                label: "l".into(),
                key: "k".into(),
                expected_version,
                value: v.to_vec(),
            })
        };
        assert_eq!(
            b.execute(&StorageRequest::StateLoad {
                label: "l".into(),
                key: "k".into()
            }),
            Ok(StorageResponse::State(None))
        );
        assert!(matches!(store(&mut b, 1, b"x"), Err(StorageError::Conflict(_))));
        assert_eq!(store(&mut b, 0, b"x"), Ok(StorageResponse::Version(1)));
        assert!(matches!(store(&mut b, 0, b"y"), Err(StorageError::Conflict(_))));
        assert_eq!(store(&mut b, 1, b"y"), Ok(StorageResponse::Version(2)));
        assert_eq!(
            b.execute(&StorageRequest::StateLoad {
                label: "l".into(),
                key: "k".into()
            }),
            Ok(StorageResponse::State(Some(Versioned {
                version: 2,
                value: b"y".to_vec()
            })))
        );
    }

    #[test]
    fn empty_label_or_key_is_invalid() {
        let mut b = MemoryBackend::new();
        assert!(matches!(
            insert(&mut b, "", b"v"),
            Err(StorageError::InvalidArgument(_))
        ));
        assert!(b.is_empty());
    }
}
