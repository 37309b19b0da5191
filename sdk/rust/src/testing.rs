//! An in-memory [`Storage`] with the host's semantics, for native unit tests of capability logic.
//!
//! It mirrors the host's rules (write-once registry with conflict detection, gap-free event sequences
//! starting at 1, versioned compare-and-swap state, removal of registry keys that frees them, key listing
//! in ascending order, and at most 64 keys or events per call as the host pages) and can refuse labels, so a capability's handling of
//! `not-granted` is testable too. It is not the host: grants, limits and atomic commit live there.

use std::collections::{BTreeMap, BTreeSet};

use crate::storage::{Event, InsertOutcome, Storage, StorageError, Versioned};

/// Conformance-vector runner shared by every capability crate's tests (native only).
#[doc(hidden)]
#[cfg(not(target_arch = "wasm32"))]
pub mod vectors;

#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    pub registry: BTreeMap<(String, String), Vec<u8>>,
    pub events: BTreeMap<(String, String), Vec<Vec<u8>>>,
    pub state: BTreeMap<(String, String), Versioned>,
    /// Every registry binding removed, oldest first: (label, key, bytes).
    pub removed: Vec<(String, String, Vec<u8>)>,
    denied: BTreeSet<String>,
}

impl MemoryStorage {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every call on `label` is refused with `not-granted` from now on.
    pub fn deny_label(&mut self, label: &str) -> &mut Self {
        self.denied.insert(label.to_string());
        self
    }

    fn check(&self, label: &str, key: &str) -> Result<(String, String), StorageError> {
        if self.denied.contains(label) {
            return Err(StorageError::NotGranted(format!("label {label:?}")));
        }
        if key.is_empty() {
            return Err(StorageError::InvalidArgument("empty key".into()));
        }
        Ok((label.to_string(), key.to_string()))
    }
}

impl Storage for MemoryStorage {
    fn registry_insert(&mut self, label: &str, key: &str, value: &[u8]) -> Result<InsertOutcome, StorageError> {
        let k = self.check(label, key)?;
        match self.registry.get(&k) {
            Some(existing) if existing == value => Ok(InsertOutcome::AlreadyExists),
            Some(_) => Err(StorageError::Conflict(format!(
                "key {key:?} is bound to different bytes"
            ))),
            None => {
                self.registry.insert(k, value.to_vec());
                Ok(InsertOutcome::Inserted)
            }
        }
    }

    fn registry_get(&mut self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let k = self.check(label, key)?;
        Ok(self.registry.get(&k).cloned())
    }

    fn registry_exists(&mut self, label: &str, key: &str) -> Result<bool, StorageError> {
        let k = self.check(label, key)?;
        Ok(self.registry.contains_key(&k))
    }

    fn registry_remove(&mut self, label: &str, key: &str) -> Result<bool, StorageError> {
        let k = self.check(label, key)?;
        match self.registry.remove(&k) {
            Some(value) => {
                self.removed.push((k.0, k.1, value));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn events_append(&mut self, label: &str, key: &str, payload: &[u8]) -> Result<u64, StorageError> {
        let k = self.check(label, key)?;
        let stream = self.events.entry(k).or_default();
        stream.push(payload.to_vec());
        Ok(stream.len() as u64)
    }

    fn events_read(
        &mut self,
        label: &str,
        key: &str,
        from_seq: u64,
        max_count: u32,
    ) -> Result<Vec<Event>, StorageError> {
        let k = self.check(label, key)?;
        let from = from_seq.max(1);
        Ok(self
            .events
            .get(&k)
            .map(|s| {
                s.iter()
                    .enumerate()
                    .map(|(i, p)| Event {
                        seq: i as u64 + 1,
                        payload: p.clone(),
                    })
                    .filter(|e| e.seq >= from)
                    // As the host: at most 64 events per call, whatever `max_count` asks.
                    .take(max_count.min(MAX_READ_EVENTS) as usize)
                    .collect()
            })
            .unwrap_or_default())
    }

    fn state_load(&mut self, label: &str, key: &str) -> Result<Option<Versioned>, StorageError> {
        let k = self.check(label, key)?;
        Ok(self.state.get(&k).cloned())
    }

    fn state_store_if_version(
        &mut self,
        label: &str,
        key: &str,
        expected_version: u64,
        value: &[u8],
    ) -> Result<u64, StorageError> {
        let k = self.check(label, key)?;
        let current = self.state.get(&k).map_or(0, |v| v.version);
        if current != expected_version {
            return Err(StorageError::Conflict(format!(
                "expected version {expected_version}, current version is {current}"
            )));
        }
        let version = current + 1;
        self.state.insert(
            k,
            Versioned {
                version,
                value: value.to_vec(),
            },
        );
        Ok(version)
    }

    fn state_list_keys(
        &mut self,
        label: &str,
        start_after: Option<&str>,
        max_count: u32,
    ) -> Result<Vec<String>, StorageError> {
        if self.denied.contains(label) {
            return Err(StorageError::NotGranted(format!("label {label:?}")));
        }
        // As the host: at most 64 keys per call, whatever `max_count` asks.
        let max = max_count.min(MAX_LIST_KEYS) as usize;
        Ok(self
            .state
            .keys()
            .filter(|(l, k)| l == label && start_after.is_none_or(|after| k.as_str() > after))
            .take(max)
            .map(|(_, k)| k.clone())
            .collect())
    }
}

/// The most keys the host returns from one `state.list-keys` (as `sealed_capability::MAX_LIST_KEYS`).
pub const MAX_LIST_KEYS: u32 = 64;

/// The most events one `events.read` returns, whatever `max-count` asks for (the host's cap; a reader
/// pages on with `from-seq`).
pub const MAX_READ_EVENTS: u32 = 64;
