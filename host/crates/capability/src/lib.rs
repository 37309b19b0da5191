//! The host side of the `sealed:capability` storage contract, independent of Wasm and of SQLite.
//!
//! * [`StorageRequest`] / [`StorageResponse`] / [`StorageError`]: one value per WIT call and result.
//! * [`StorageBackend`]: what actually stores (SQLite in a run, the journal in a replay, memory in tests).
//! * [`Gate`]: the only path from a guest to a backend. It checks the node's grants (interface × label
//!   × operation) and budgets *before* the backend sees a request, and journals every call with its
//!   result, refused or not. A refused call never reaches the backend.
//!
//! This crate must never touch a file, a clock or a database itself.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sealed_snapshot::{Grant, Interface, Limits, Op, RunLimits};
use serde::{Deserialize, Serialize};

mod bytes;

/// One storage call, exactly as the guest made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum StorageRequest {
    #[serde(rename = "registry.insert")]
    RegistryInsert {
        label: String,
        key: String,
        #[serde(with = "bytes")]
        value: Vec<u8>,
    },
    #[serde(rename = "registry.get")]
    RegistryGet { label: String, key: String },
    #[serde(rename = "registry.exists")]
    RegistryExists { label: String, key: String },
    /// Contract 0.1.1.
    #[serde(rename = "registry.remove")]
    RegistryRemove { label: String, key: String },
    #[serde(rename = "events.append")]
    EventsAppend {
        label: String,
        key: String,
        #[serde(with = "bytes")]
        payload: Vec<u8>,
    },
    #[serde(rename = "events.read")]
    EventsRead {
        label: String,
        key: String,
        from_seq: u64,
        max_count: u32,
    },
    #[serde(rename = "state.load")]
    StateLoad { label: String, key: String },
    #[serde(rename = "state.store")]
    StateStoreIfVersion {
        label: String,
        key: String,
        expected_version: u64,
        #[serde(with = "bytes")]
        value: Vec<u8>,
    },
    /// Contract 0.1.1 (`state.list-keys`). It names no key: `start_after` is a cursor, absent for the
    /// first page.
    #[serde(rename = "state.list")]
    StateList {
        label: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        start_after: Option<String>,
        max_count: u32,
    },
}

impl StorageRequest {
    pub fn interface(&self) -> Interface {
        match self {
            Self::RegistryInsert { .. }
            | Self::RegistryGet { .. }
            | Self::RegistryExists { .. }
            | Self::RegistryRemove { .. } => Interface::Registry,
            Self::EventsAppend { .. } | Self::EventsRead { .. } => Interface::Events,
            Self::StateLoad { .. } | Self::StateStoreIfVersion { .. } | Self::StateList { .. } => Interface::State,
        }
    }

    pub fn op(&self) -> Op {
        match self {
            Self::RegistryInsert { .. } => Op::Insert,
            Self::RegistryGet { .. } => Op::Get,
            Self::RegistryExists { .. } => Op::Exists,
            Self::EventsAppend { .. } => Op::Append,
            Self::EventsRead { .. } => Op::Read,
            Self::StateLoad { .. } => Op::Load,
            Self::StateStoreIfVersion { .. } => Op::Store,
            Self::RegistryRemove { .. } => Op::Remove,
            Self::StateList { .. } => Op::List,
        }
    }

    pub fn label(&self) -> &str {
        match self {
            Self::RegistryInsert { label, .. }
            | Self::RegistryGet { label, .. }
            | Self::RegistryExists { label, .. }
            | Self::EventsAppend { label, .. }
            | Self::EventsRead { label, .. }
            | Self::StateLoad { label, .. }
            | Self::StateStoreIfVersion { label, .. }
            | Self::RegistryRemove { label, .. }
            | Self::StateList { label, .. } => label,
        }
    }

    /// The key the call names; for `state.list`, its cursor (`""` on the first page).
    pub fn key(&self) -> &str {
        match self {
            Self::RegistryInsert { key, .. }
            | Self::RegistryGet { key, .. }
            | Self::RegistryExists { key, .. }
            | Self::RegistryRemove { key, .. }
            | Self::EventsAppend { key, .. }
            | Self::EventsRead { key, .. }
            | Self::StateLoad { key, .. }
            | Self::StateStoreIfVersion { key, .. } => key,
            Self::StateList { start_after, .. } => start_after.as_deref().unwrap_or(""),
        }
    }

    /// Whether the call names a key (every call but `state.list`, whose cursor may be absent).
    pub fn names_key(&self) -> bool {
        !matches!(self, Self::StateList { .. })
    }

    /// The value bytes the call carries into the store, if any.
    pub fn value(&self) -> Option<&[u8]> {
        match self {
            Self::RegistryInsert { value, .. } | Self::StateStoreIfVersion { value, .. } => Some(value),
            Self::EventsAppend { payload, .. } => Some(payload),
            _ => None,
        }
    }

    /// Whether the call writes.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Self::RegistryInsert { .. }
                | Self::RegistryRemove { .. }
                | Self::EventsAppend { .. }
                | Self::StateStoreIfVersion { .. }
        )
    }

    /// The request with its label, key and value cut to at most `max` bytes each (on a character
    /// boundary), and the original sizes when anything was cut.
    pub fn elide(self, max: usize) -> (Self, Option<Elided>) {
        let sizes = Elided {
            label_bytes: self.label().len() as u64,
            key_bytes: self.key().len() as u64,
            value_bytes: self.value().map_or(0, |v| v.len() as u64),
        };
        if sizes.label_bytes as usize <= max && sizes.key_bytes as usize <= max && sizes.value_bytes as usize <= max {
            return (self, None);
        }
        let text = |s: String| -> String {
            let cut = sealed_snapshot::quote::floor_char_boundary(&s, max);
            let mut s = s;
            s.truncate(cut);
            s
        };
        let bytes = |mut v: Vec<u8>| -> Vec<u8> {
            v.truncate(max);
            v
        };
        let cut = match self {
            Self::RegistryInsert { label, key, value } => Self::RegistryInsert {
                label: text(label),
                key: text(key),
                value: bytes(value),
            },
            Self::RegistryGet { label, key } => Self::RegistryGet {
                label: text(label),
                key: text(key),
            },
            Self::RegistryExists { label, key } => Self::RegistryExists {
                label: text(label),
                key: text(key),
            },
            Self::RegistryRemove { label, key } => Self::RegistryRemove {
                label: text(label),
                key: text(key),
            },
            Self::StateList {
                label,
                start_after,
                max_count,
            } => Self::StateList {
                label: text(label),
                start_after: start_after.map(text),
                max_count,
            },
            Self::EventsAppend { label, key, payload } => Self::EventsAppend {
                label: text(label),
                key: text(key),
                payload: bytes(payload),
            },
            Self::EventsRead {
                label,
                key,
                from_seq,
                max_count,
            } => Self::EventsRead {
                label: text(label),
                key: text(key),
                from_seq,
                max_count,
            },
            Self::StateLoad { label, key } => Self::StateLoad {
                label: text(label),
                key: text(key),
            },
            Self::StateStoreIfVersion {
                label,
                key,
                expected_version,
                value,
            } => Self::StateStoreIfVersion {
                label: text(label),
                key: text(key),
                expected_version,
                value: bytes(value),
            },
        };
        (cut, Some(sizes))
    }

    /// `interface.op` as in grants and traces, e.g. `registry.insert`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.interface().as_str(), self.op().as_str())
    }
}

/// A successful storage result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum StorageResponse {
    /// registry.insert
    Insert(InsertOutcome),
    /// registry.get
    Value(#[serde(with = "bytes::option")] Option<Vec<u8>>),
    /// registry.exists
    Exists(bool),
    /// events.append: the new sequence number
    Seq(u64),
    /// events.read
    Events(Vec<Event>),
    /// state.load
    State(Option<Versioned>),
    /// state.store: the new version
    Version(u64),
    /// registry.remove (0.1.1): the sha256 (lowercase hex) of the bytes that were unbound, or none when
    /// nothing was bound. The guest sees only whether something was removed; the digest is what the
    /// write-set records, so a replay rebuilds the removal's write from the journal alone.
    Removed(Option<String>),
    /// state.list (0.1.1): keys in ascending byte order.
    Keys(Vec<String>),
}

impl StorageResponse {
    /// Bytes the response carries back to the guest.
    pub fn bytes_len(&self) -> usize {
        match self {
            Self::Value(Some(v)) => v.len(),
            Self::Events(e) => e.iter().map(|e| e.payload.len() + 8).sum(),
            Self::State(Some(v)) => v.value.len() + 8,
            Self::Keys(keys) => keys.iter().map(|k| k.len() + 8).sum(),
            _ => 8,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InsertOutcome {
    Inserted,
    AlreadyExists,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub seq: u64,
    #[serde(with = "bytes")]
    pub payload: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Versioned {
    pub version: u64,
    #[serde(with = "bytes")]
    pub value: Vec<u8>,
}

/// The closed set of refusals a guest can see (mirrors the WIT `storage-error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", content = "detail", rename_all = "kebab-case")]
pub enum StorageError {
    #[error("not-granted: {0}")]
    NotGranted(String),
    #[error("invalid-argument: {0}")]
    InvalidArgument(String),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("limit-exceeded: {0}")]
    LimitExceeded(String),
    #[error("other: {0}")]
    Other(String),
}

/// Something that executes storage requests. Implementations hold no policy: grants and budgets are
/// enforced by [`Gate`] before a request arrives here.
pub trait StorageBackend {
    fn execute(&mut self, request: &StorageRequest) -> Result<StorageResponse, StorageError>;
}

impl<T: StorageBackend + ?Sized> StorageBackend for Box<T> {
    fn execute(&mut self, request: &StorageRequest) -> Result<StorageResponse, StorageError> {
        (**self).execute(request)
    }
}

/// One journaled storage call: the request and what the guest got back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalEntry {
    pub request: StorageRequest,
    pub result: Result<StorageResponse, StorageError>,
    /// Set when the request was refused and its label, key or value was cut to a short prefix before it
    /// was journaled: the sizes the guest actually sent. A refused request never reached a backend, so
    /// its full bytes mean nothing to a replay, and journaling them whole would let a guest make the
    /// trace as large as its memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elided: Option<Elided>,
}

/// The sizes, in bytes, of the parts of a refused request that its journal entry holds only a prefix of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Elided {
    pub label_bytes: u64,
    pub key_bytes: u64,
    pub value_bytes: u64,
}

/// How much of each part of a refused request its journal entry keeps.
pub const ELIDED_PREFIX_BYTES: usize = 64;

/// The most events one `events.read` returns, whatever `max-count` asks for: with the default value cap
/// that bounds one response at 16 MiB. The WIT promises "at most `max-count`", and a reader pages with
/// `from-seq`, so a smaller page is within the contract.
pub const MAX_READ_EVENTS: u32 = 64;

/// The most keys one `state.list-keys` returns, whatever `max-count` asks for (with the 4096-byte key
/// cap, at most 256 KiB of keys per call). The WIT says so, and a lister pages with `start-after`.
pub const MAX_LIST_KEYS: u32 = 64;

/// Why the gate refused a call in a way that must fail the run, even if the guest carries on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Refusal {
    NotGranted {
        interface: Interface,
        label: String,
        op: Op,
    },
    TooManyCalls {
        limit: u32,
    },
    ValueTooLarge {
        bytes: u64,
        limit: u64,
    },
    KeyInvalid {
        detail: String,
    },
    /// The run's storage calls, over all its nodes, would pass `run_limits.max_storage_calls`.
    RunTooManyCalls {
        limit: u64,
    },
    /// The request's label, key and value would take the bytes the run moved through storage past
    /// `run_limits.max_storage_bytes` (`used` before this call, `bytes` of this request).
    RunBytesExceeded {
        used: u64,
        bytes: u64,
        limit: u64,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotGranted { interface, label, op } => write!(
                f,
                "{}.{} on label {label:?} is not granted to this node",
                interface.as_str(),
                op.as_str()
            ),
            Refusal::TooManyCalls { limit } => write!(f, "more than {limit} storage calls in one invocation"),
            Refusal::ValueTooLarge { bytes, limit } => write!(f, "value of {bytes} bytes exceeds the limit of {limit}"),
            Refusal::KeyInvalid { detail } => write!(f, "invalid key or label: {detail}"),
            Refusal::RunTooManyCalls { limit } => write!(
                f,
                "more than {limit} storage calls in one run, all nodes together (run_limits.max_storage_calls)"
            ),
            Refusal::RunBytesExceeded { used, bytes, limit } => write!(
                f,
                "a {bytes}-byte request would take the bytes this run moved through storage ({used} so far, both \
                 ways, all nodes) past {limit} (run_limits.max_storage_bytes)"
            ),
        }
    }
}

/// The storage budgets of one whole run (`run_limits.max_storage_calls` and `max_storage_bytes`), shared
/// by the [`Gate`] of every node the run visits: each gate charges it before its backend sees a request.
///
/// Calls: every call a gate journals counts. Bytes, both ways: a request's label, key and value are
/// charged (and refused when they do not fit) *before* the backend runs; a response is charged when it
/// arrives. `events.read` returns only the longest prefix of its page whose bytes fit what is left (at
/// least one event, so that a non-empty stream never reads as empty): the WIT promises "at most
/// `max-count`" and a reader pages with `from-seq`. A response can therefore take the count past the
/// budget by at most one value or event; every later request of the run is then refused. A run is
/// sequential, so the counters only need to be shared, not ordered (relaxed atomics).
#[derive(Debug)]
pub struct RunBudget {
    max_calls: u64,
    max_bytes: u64,
    calls: AtomicU64,
    bytes: AtomicU64,
}

impl RunBudget {
    pub fn new(max_calls: u64, max_bytes: u64) -> Arc<Self> {
        Arc::new(Self {
            max_calls,
            max_bytes,
            calls: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        })
    }

    /// The storage budgets of a workflow's run limits.
    pub fn of(limits: &RunLimits) -> Arc<Self> {
        Self::new(limits.max_storage_calls, limits.max_storage_bytes)
    }

    /// No run-wide limit (a gate used alone, in tests and conformance vectors).
    pub fn unlimited() -> Arc<Self> {
        Self::new(u64::MAX, u64::MAX)
    }

    /// Storage calls charged so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Bytes charged so far (requests and responses).
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    fn remaining_bytes(&self) -> u64 {
        self.max_bytes.saturating_sub(self.bytes())
    }

    fn charge_bytes(&self, bytes: u64) {
        // Sequential within a run: a load and a store cannot race.
        self.bytes.store(self.bytes().saturating_add(bytes), Ordering::Relaxed);
    }

    fn check(&self, request_bytes: u64) -> Result<(), Refusal> {
        if self.calls() >= self.max_calls {
            return Err(Refusal::RunTooManyCalls { limit: self.max_calls });
        }
        if request_bytes > self.remaining_bytes() {
            return Err(Refusal::RunBytesExceeded {
                used: self.bytes(),
                bytes: request_bytes,
                limit: self.max_bytes,
            });
        }
        Ok(())
    }
}

/// Bytes of a request's label, key and value: what the run-wide byte budget charges before the backend.
fn request_bytes(request: &StorageRequest) -> u64 {
    request.value().map_or(0, |v| v.len() as u64) + request.key().len() as u64 + request.label().len() as u64
}

/// Cuts a `state.list` page to the longest prefix whose bytes fit in `remaining`, keeping at least the
/// first key (as [`fit_events`] does for events).
fn fit_keys(keys: &mut Vec<String>, remaining: u64) {
    let mut total: u64 = 0;
    let keep = keys
        .iter()
        .position(|k| {
            total = total.saturating_add(k.len() as u64 + 8);
            total > remaining
        })
        .unwrap_or(keys.len())
        .max(1);
    keys.truncate(keep);
}

/// Cuts an `events.read` page to the longest prefix whose bytes (as [`StorageResponse::bytes_len`] counts
/// them) fit in `remaining`, keeping at least the first event.
fn fit_events(events: &mut Vec<Event>, remaining: u64) {
    let mut total: u64 = 0;
    let keep = events
        .iter()
        .position(|e| {
            total = total.saturating_add(e.payload.len() as u64 + 8);
            total > remaining
        })
        .unwrap_or(events.len())
        .max(1);
    events.truncate(keep);
}

/// Grants and budgets of one node invocation, in front of a backend.
pub struct Gate<B> {
    grants: BTreeSet<(Interface, String, Op)>,
    max_calls: u32,
    max_value_bytes: u64,
    backend: B,
    journal: Vec<JournalEntry>,
    refusals: Vec<Refusal>,
    bytes_moved: u64,
    run: Arc<RunBudget>,
}

impl<B: StorageBackend> Gate<B> {
    pub fn new(grants: &[Grant], limits: &Limits, backend: B) -> Self {
        let grants = grants
            .iter()
            .flat_map(|g| g.ops.iter().map(move |op| (g.interface, g.label.clone(), *op)))
            .collect();
        Self {
            grants,
            max_calls: limits.max_storage_calls,
            max_value_bytes: limits.max_value_bytes,
            backend,
            journal: Vec::new(),
            refusals: Vec::new(),
            bytes_moved: 0,
            run: RunBudget::unlimited(),
        }
    }

    /// Also charges every call to the run-wide budget `run` (shared by the gates of all the run's nodes).
    pub fn with_run_budget(mut self, run: Arc<RunBudget>) -> Self {
        self.run = run;
        self
    }

    /// Checks, executes and journals one call.
    pub fn call(&mut self, mut request: StorageRequest) -> Result<StorageResponse, StorageError> {
        match &mut request {
            StorageRequest::EventsRead { max_count, .. } => *max_count = (*max_count).min(MAX_READ_EVENTS),
            StorageRequest::StateList { max_count, .. } => *max_count = (*max_count).min(MAX_LIST_KEYS),
            _ => {}
        }
        let refused = self.check(&request).err();
        self.run.calls.fetch_add(1, Ordering::Relaxed);
        let result = match &refused {
            Some(refusal) => Err(match refusal {
                Refusal::NotGranted { .. } => StorageError::NotGranted(refusal.to_string()),
                Refusal::KeyInvalid { .. } => StorageError::InvalidArgument(refusal.to_string()),
                Refusal::TooManyCalls { .. }
                | Refusal::ValueTooLarge { .. }
                | Refusal::RunTooManyCalls { .. }
                | Refusal::RunBytesExceeded { .. } => StorageError::LimitExceeded(refusal.to_string()),
            }),
            None => {
                self.run.charge_bytes(request_bytes(&request));
                let mut result = self.backend.execute(&request);
                match &mut result {
                    Ok(StorageResponse::Events(events)) => fit_events(events, self.run.remaining_bytes()),
                    Ok(StorageResponse::Keys(keys)) => fit_keys(keys, self.run.remaining_bytes()),
                    _ => {}
                }
                if let Ok(response) = &result {
                    self.run.charge_bytes(response.bytes_len() as u64);
                }
                result
            }
        };
        self.bytes_moved += request.value().map_or(0, |v| v.len() as u64)
            + request.key().len() as u64
            + request.label().len() as u64
            + result.as_ref().map_or(0, |r| r.bytes_len() as u64);
        let (request, elided) = match refused {
            Some(refusal) => {
                self.refusals.push(refusal);
                request.elide(ELIDED_PREFIX_BYTES)
            }
            None => (request, None),
        };
        self.journal.push(JournalEntry {
            request,
            result: result.clone(),
            elided,
        });
        result
    }

    fn check(&self, request: &StorageRequest) -> Result<(), Refusal> {
        if self.journal.len() as u64 >= u64::from(self.max_calls) {
            return Err(Refusal::TooManyCalls { limit: self.max_calls });
        }
        // Before the grant lookup, which would copy it: a label outside the syntax can match no grant.
        if let Err(detail) = sealed_snapshot::label::check_label(request.label()) {
            return Err(Refusal::KeyInvalid { detail });
        }
        let (interface, op, label) = (request.interface(), request.op(), request.label());
        if !self.grants.contains(&(interface, label.to_string(), op)) {
            return Err(Refusal::NotGranted {
                interface,
                label: label.to_string(),
                op,
            });
        }
        let key = request.key();
        // A list's cursor may be absent (""), but never longer than a key can be.
        let empty_ok = !request.names_key();
        if (key.is_empty() && !empty_ok) || key.len() as u64 > self.max_value_bytes.min(4096) {
            return Err(Refusal::KeyInvalid {
                detail: format!("key must be 1..=4096 bytes, got {}", key.len()),
            });
        }
        if let Some(v) = request.value()
            && v.len() as u64 > self.max_value_bytes
        {
            return Err(Refusal::ValueTooLarge {
                bytes: v.len() as u64,
                limit: self.max_value_bytes,
            });
        }
        self.run.check(request_bytes(request))
    }

    pub fn journal(&self) -> &[JournalEntry] {
        &self.journal
    }

    /// Refusals that fail the run (the first one is the run's error).
    pub fn refusals(&self) -> &[Refusal] {
        &self.refusals
    }

    /// Bytes moved across the boundary so far (keys, values, responses): the basis of host-call fuel.
    pub fn bytes_moved(&self) -> u64 {
        self.bytes_moved
    }

    pub fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// Ends the invocation: the backend, the journal and the refusals.
    pub fn finish(self) -> (B, Vec<JournalEntry>, Vec<Refusal>) {
        (self.backend, self.journal, self.refusals)
    }
}
