//! Typed access to the host's storage imports (`registry`, `events`, `state`).
//!
//! [`Storage`] is the seam that keeps capability logic testable: inside a component it is [`Host`], which
//! calls the WIT imports; in a native unit test it is [`crate::testing::MemoryStorage`].

use crate::Value;
#[cfg(target_arch = "wasm32")]
use crate::bindings::sealed::capability::{events, registry, state};

pub use crate::bindings::sealed::capability::types::StorageError;

/// What a registry insert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    Inserted,
    AlreadyExists,
}

/// One event of a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    pub payload: Vec<u8>,
}

/// A state value and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub version: u64,
    pub value: Vec<u8>,
}

/// The storage a side effect may use. Every call names a label the snapshot must grant to the node.
pub trait Storage {
    fn registry_insert(&mut self, label: &str, key: &str, value: &[u8]) -> Result<InsertOutcome, StorageError>;
    fn registry_get(&mut self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    fn registry_exists(&mut self, label: &str, key: &str) -> Result<bool, StorageError>;
    /// Unbinds `key` (contract 0.1.1): true if it was bound, false if nothing was. The key may be bound
    /// again later; the host keeps the removed binding for audit.
    fn registry_remove(&mut self, label: &str, key: &str) -> Result<bool, StorageError>;
    fn events_append(&mut self, label: &str, key: &str, payload: &[u8]) -> Result<u64, StorageError>;
    /// Events of stream `key` from `from_seq` on, at most `max_count`. The host returns at most 64 per
    /// call: page on from the last seq + 1 until an empty list comes back.
    fn events_read(
        &mut self,
        label: &str,
        key: &str,
        from_seq: u64,
        max_count: u32,
    ) -> Result<Vec<Event>, StorageError>;
    fn state_load(&mut self, label: &str, key: &str) -> Result<Option<Versioned>, StorageError>;
    fn state_store_if_version(
        &mut self,
        label: &str,
        key: &str,
        expected_version: u64,
        value: &[u8],
    ) -> Result<u64, StorageError>;
    /// State keys of `label` after `start_after`, ascending, at most `max_count` (contract 0.1.1). The host
    /// returns at most 64 per call: page on with the last key until an empty list comes back.
    fn state_list_keys(
        &mut self,
        label: &str,
        start_after: Option<&str>,
        max_count: u32,
    ) -> Result<Vec<String>, StorageError>;

    /// Inserts a JSON value, serialised compactly (`serde_json` key order, which is sorted).
    fn registry_insert_json(&mut self, label: &str, key: &str, value: &Value) -> Result<InsertOutcome, StorageError> {
        let bytes = serde_json::to_vec(value).map_err(|e| StorageError::InvalidArgument(e.to_string()))?;
        self.registry_insert(label, key, &bytes)
    }
}

/// The host's storage, reached through the component's imports. Only usable inside a component.
#[derive(Debug, Default, Clone, Copy)]
pub struct Host;

#[cfg(target_arch = "wasm32")]
impl Storage for Host {
    fn registry_insert(&mut self, label: &str, key: &str, value: &[u8]) -> Result<InsertOutcome, StorageError> {
        registry::insert(label, key, value).map(|o| match o {
            registry::InsertOutcome::Inserted => InsertOutcome::Inserted,
            registry::InsertOutcome::AlreadyExists => InsertOutcome::AlreadyExists,
        })
    }
    fn registry_get(&mut self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        registry::get(label, key)
    }
    fn registry_exists(&mut self, label: &str, key: &str) -> Result<bool, StorageError> {
        registry::exists(label, key)
    }
    fn registry_remove(&mut self, label: &str, key: &str) -> Result<bool, StorageError> {
        registry::remove(label, key)
    }
    fn events_append(&mut self, label: &str, key: &str, payload: &[u8]) -> Result<u64, StorageError> {
        events::append(label, key, payload)
    }
    fn events_read(
        &mut self,
        label: &str,
        key: &str,
        from_seq: u64,
        max_count: u32,
    ) -> Result<Vec<Event>, StorageError> {
        events::read(label, key, from_seq, max_count).map(|v| {
            v.into_iter()
                .map(|e| Event {
                    seq: e.seq,
                    payload: e.payload,
                })
                .collect()
        })
    }
    fn state_load(&mut self, label: &str, key: &str) -> Result<Option<Versioned>, StorageError> {
        state::load(label, key).map(|o| {
            o.map(|v| Versioned {
                version: v.version,
                value: v.value,
            })
        })
    }
    fn state_store_if_version(
        &mut self,
        label: &str,
        key: &str,
        expected_version: u64,
        value: &[u8],
    ) -> Result<u64, StorageError> {
        state::store_if_version(label, key, expected_version, value)
    }
    fn state_list_keys(
        &mut self,
        label: &str,
        start_after: Option<&str>,
        max_count: u32,
    ) -> Result<Vec<String>, StorageError> {
        state::list_keys(label, start_after, max_count)
    }
}

/// Outside a component there is no host: every call is refused, so native code cannot mistake this for
/// a working store. Use [`crate::testing::MemoryStorage`] in tests.
#[cfg(not(target_arch = "wasm32"))]
impl Storage for Host {
    fn registry_insert(&mut self, _: &str, _: &str, _: &[u8]) -> Result<InsertOutcome, StorageError> {
        Err(no_host())
    }
    fn registry_get(&mut self, _: &str, _: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Err(no_host())
    }
    fn registry_exists(&mut self, _: &str, _: &str) -> Result<bool, StorageError> {
        Err(no_host())
    }
    fn registry_remove(&mut self, _: &str, _: &str) -> Result<bool, StorageError> {
        Err(no_host())
    }
    fn events_append(&mut self, _: &str, _: &str, _: &[u8]) -> Result<u64, StorageError> {
        Err(no_host())
    }
    fn events_read(&mut self, _: &str, _: &str, _: u64, _: u32) -> Result<Vec<Event>, StorageError> {
        Err(no_host())
    }
    fn state_load(&mut self, _: &str, _: &str) -> Result<Option<Versioned>, StorageError> {
        Err(no_host())
    }
    fn state_store_if_version(&mut self, _: &str, _: &str, _: u64, _: &[u8]) -> Result<u64, StorageError> {
        Err(no_host())
    }
    fn state_list_keys(&mut self, _: &str, _: Option<&str>, _: u32) -> Result<Vec<String>, StorageError> {
        Err(no_host())
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn no_host() -> StorageError {
    StorageError::Other("no sealed host: Host storage only works inside a component".into())
}
