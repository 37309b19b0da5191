//! [`MemoryStore`]: a complete [`DataStore`] in process memory, with the semantics of the SQL backends
//! (the capability modules decide every request) and the same content digest and ledger.
//!
//! For tests and tools that need a store without a database; it forgets everything when dropped. A run
//! works on a copy of the data and publishes it at commit (cost linear in the store's size: fine for the
//! sizes tests use, never for production). Must never be used where data must survive the process.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sealed_capability::{
    Event, InsertOutcome, StorageBackend, StorageError, StorageRequest, StorageResponse, Versioned,
};

use crate::content::{Cell, ContentDigest};
use crate::registry::{InsertDecision, decide_insert, next_removal};
use crate::state::{decide_store, list_is_empty};
use crate::{
    CommitInfo, DataStore, GENESIS_HEAD, Ledger, RemovedBinding, RunRecord, RunRow, RunTransaction, StoreError,
    StoreStats, Write, events, next_ledger_head, sha256_hex, write_of, write_set_digest,
};

type Slot = (String, String);

/// Everything committed (or, in a run's copy, everything the run sees).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Data {
    /// value, run id
    registry: BTreeMap<Slot, (Vec<u8>, String)>,
    /// per stream: (payload, run id); seq n at index n - 1
    events: BTreeMap<Slot, Vec<(Vec<u8>, String)>>,
    /// version, value, run id
    state: BTreeMap<Slot, (u64, Vec<u8>, String)>,
    /// per key, its removed bindings in removal order (removal n at index n - 1)
    removed: BTreeMap<Slot, Vec<RemovedBinding>>,
    runs: BTreeMap<String, RunRow>,
    ledger: Ledger,
}

impl Default for Data {
    fn default() -> Self {
        Data {
            registry: BTreeMap::new(),
            events: BTreeMap::new(),
            state: BTreeMap::new(),
            removed: BTreeMap::new(),
            runs: BTreeMap::new(),
            ledger: Ledger {
                head: GENESIS_HEAD.to_string(),
                runs_committed: 0,
            },
        }
    }
}

#[derive(Debug, Default)]
struct Shared {
    data: Data,
    /// A run holds the write lock.
    locked: bool,
    used_ids: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct Inner {
    shared: Mutex<Shared>,
    released: Condvar,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn release(&self, publish: Option<Data>) {
        let mut s = self.lock();
        if let Some(data) = publish {
            s.data = data;
        }
        s.locked = false;
        drop(s);
        self.released.notify_one();
    }
}

/// An in-memory data store. Cloning it gives another handle on the same store (like a second host).
#[derive(Debug, Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
    busy_wait: Duration,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore {
            inner: Arc::default(),
            busy_wait: Duration::from_secs(30),
        }
    }

    /// How long [`DataStore::begin_run`] waits for another run before [`StoreError::Busy`].
    pub fn with_busy_wait(mut self, wait: Duration) -> Self {
        self.busy_wait = wait;
        self
    }

    fn read<T>(&self, f: impl FnOnce(&Data) -> T) -> T {
        f(&self.inner.lock().data)
    }
}

fn slot(label: &str, key: &str) -> Slot {
    (label.to_string(), key.to_string())
}

impl DataStore for MemoryStore {
    fn location(&self) -> String {
        "memory".into()
    }

    fn begin_run(&self, run_id: &str) -> Result<Box<dyn RunTransaction>, StoreError> {
        if run_id.is_empty() {
            return Err(StoreError::RunIdInvalid(run_id.to_string()));
        }
        let started = Instant::now();
        let mut s = self.inner.lock();
        while s.locked {
            let left = self.busy_wait.saturating_sub(started.elapsed());
            if left.is_zero() {
                return Err(StoreError::Busy {
                    path: "memory".into(),
                    waited: started.elapsed(),
                });
            }
            s = self
                .inner
                .released
                .wait_timeout(s, left)
                .map(|(g, _)| g)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        if s.data.runs.contains_key(run_id) {
            return Err(StoreError::RunIdReused(run_id.to_string()));
        }
        s.locked = true;
        let work = s.data.clone();
        drop(s);
        Ok(Box::new(MemoryRunTx {
            inner: Some(self.inner.clone()),
            run_id: run_id.to_string(),
            position: work.ledger.runs_committed + 1,
            ledger_before: work.ledger.head.clone(),
            work,
            writes: Vec::new(),
        }))
    }

    fn consume_run_id(&self, run_id: &str) -> Result<(), StoreError> {
        if self.inner.lock().used_ids.insert(run_id.to_string()) {
            Ok(())
        } else {
            Err(StoreError::RunIdUsed {
                run_id: run_id.to_string(),
                place: "this in-memory store".into(),
            })
        }
    }

    fn ledger_head(&self) -> Result<Ledger, StoreError> {
        Ok(self.read(|d| d.ledger.clone()))
    }

    fn run(&self, run_id: &str) -> Result<Option<RunRow>, StoreError> {
        Ok(self.read(|d| d.runs.get(run_id).cloned()))
    }

    fn registry_get(&self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.read(|d| d.registry.get(&slot(label, key)).map(|(v, _)| v.clone())))
    }

    fn events_len(&self, label: &str, key: &str) -> Result<u64, StoreError> {
        Ok(self.read(|d| d.events.get(&slot(label, key)).map_or(0, |s| s.len() as u64)))
    }

    fn events_read(&self, label: &str, key: &str, from_seq: u64, max_count: u32) -> Result<Vec<Event>, StoreError> {
        Ok(self.read(|d| read_events(d, label, key, from_seq, max_count)))
    }

    fn state_get(&self, label: &str, key: &str) -> Result<Option<Versioned>, StoreError> {
        Ok(self.read(|d| {
            d.state.get(&slot(label, key)).map(|(version, value, _)| Versioned {
                version: *version,
                value: value.clone(),
            })
        }))
    }

    fn registry_removed(&self, label: &str, key: &str) -> Result<Vec<RemovedBinding>, StoreError> {
        Ok(self.read(|d| d.removed.get(&slot(label, key)).cloned().unwrap_or_default()))
    }

    fn state_keys(&self, label: &str, start_after: Option<&str>, max_count: u32) -> Result<Vec<String>, StoreError> {
        Ok(self.read(|d| list_keys(d, label, start_after, max_count)))
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        Ok(self.read(|d| StoreStats {
            registry_rows: d.registry.len() as u64,
            event_rows: d.events.values().map(|s| s.len() as u64).sum(),
            state_rows: d.state.len() as u64,
            runs: d.runs.len() as u64,
        }))
    }

    fn content_digest(&self) -> Result<String, StoreError> {
        Ok(self.read(|d| {
            let mut c = ContentDigest::new();
            c.table(1);
            for ((label, key), (value, run)) in &d.registry {
                let digest = sha256_hex(value);
                c.row(&[
                    Cell::Text(label),
                    Cell::Text(key),
                    Cell::Blob(value),
                    Cell::Text(&digest),
                    Cell::Text(run),
                ]);
            }
            c.table(2);
            for ((label, key), stream) in &d.events {
                for (i, (payload, run)) in stream.iter().enumerate() {
                    c.row(&[
                        Cell::Text(label),
                        Cell::Text(key),
                        Cell::Int(i as i64 + 1),
                        Cell::Blob(payload),
                        Cell::Text(run),
                    ]);
                }
            }
            c.table(3);
            for ((label, key), (version, value, run)) in &d.state {
                c.row(&[
                    Cell::Text(label),
                    Cell::Text(key),
                    Cell::Int(i64::try_from(*version).unwrap_or(i64::MAX)),
                    Cell::Blob(value),
                    Cell::Text(run),
                ]);
            }
            c.table(4);
            for ((label, key), removals) in &d.removed {
                for r in removals {
                    let digest = sha256_hex(&r.value);
                    c.row(&[
                        Cell::Text(label),
                        Cell::Text(key),
                        Cell::Int(i64::try_from(r.removal).unwrap_or(i64::MAX)),
                        Cell::Blob(&r.value),
                        Cell::Text(&digest),
                        Cell::Text(&r.bound_by),
                        Cell::Text(&r.removed_by),
                    ]);
                }
            }
            c.finish()
        }))
    }
}

fn list_keys(d: &Data, label: &str, start_after: Option<&str>, max_count: u32) -> Vec<String> {
    if list_is_empty(max_count) {
        return Vec::new();
    }
    let from = (label.to_string(), start_after.unwrap_or("").to_string());
    d.state
        .range((std::ops::Bound::Excluded(from), std::ops::Bound::Unbounded))
        .take_while(|((l, _), _)| l == label)
        .take(max_count as usize)
        .map(|((_, k), _)| k.clone())
        .collect()
}

fn read_events(d: &Data, label: &str, key: &str, from_seq: u64, max_count: u32) -> Vec<Event> {
    if events::read_is_empty(from_seq, max_count) {
        return Vec::new();
    }
    let skip = usize::try_from(from_seq.saturating_sub(1)).unwrap_or(usize::MAX);
    d.events
        .get(&slot(label, key))
        .map(|stream| {
            stream
                .iter()
                .enumerate()
                .skip(skip)
                .take(max_count as usize)
                .map(|(i, (payload, _))| Event {
                    seq: i as u64 + 1,
                    payload: payload.clone(),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A run on a [`MemoryStore`]: holds the write lock and a private copy of the data until it ends.
#[derive(Debug)]
struct MemoryRunTx {
    /// `None` once ended.
    inner: Option<Arc<Inner>>,
    run_id: String,
    position: u64,
    ledger_before: String,
    work: Data,
    writes: Vec<Write>,
}

/// Executes `request` on `d` as run `run`: the contract's semantics (the decisions of [`crate::registry`],
/// [`crate::events`] and [`crate::state`]) on in-memory data, for [`MemoryStore`] runs and
/// [`MemoryBackend`] alike. Empty labels and keys are refused (`invalid-argument`) even though the gate
/// refuses them first: a backend never stores what the contract calls malformed, whoever calls it.
fn apply(d: &mut Data, run: &str, request: &StorageRequest) -> Result<StorageResponse, StorageError> {
    if request.label().is_empty() {
        return Err(StorageError::InvalidArgument("label must not be empty".into()));
    }
    if request.names_key() && request.key().is_empty() {
        return Err(StorageError::InvalidArgument("key must not be empty".into()));
    }
    let run = run.to_string();
    match request {
        StorageRequest::RegistryInsert { label, key, value } => {
            let s = slot(label, key);
            let existing = d.registry.get(&s).map(|(v, _)| v.as_slice());
            match decide_insert(label, key, existing, value)? {
                InsertDecision::AlreadyExists => Ok(StorageResponse::Insert(InsertOutcome::AlreadyExists)),
                InsertDecision::Insert => {
                    d.registry.insert(s, (value.clone(), run));
                    Ok(StorageResponse::Insert(InsertOutcome::Inserted))
                }
            }
        }
        StorageRequest::RegistryGet { label, key } => Ok(StorageResponse::Value(
            d.registry.get(&slot(label, key)).map(|(v, _)| v.clone()),
        )),
        StorageRequest::RegistryExists { label, key } => {
            Ok(StorageResponse::Exists(d.registry.contains_key(&slot(label, key))))
        }
        StorageRequest::RegistryRemove { label, key } => {
            let s = slot(label, key);
            let Some((value, bound_by)) = d.registry.remove(&s) else {
                return Ok(StorageResponse::Removed(None));
            };
            let digest = sha256_hex(&value);
            let history = d.removed.entry(s).or_default();
            let removal = next_removal(key, history.last().map(|r| r.removal))?;
            history.push(RemovedBinding {
                removal,
                value,
                bound_by,
                removed_by: run,
            });
            Ok(StorageResponse::Removed(Some(digest)))
        }
        StorageRequest::StateList {
            label,
            start_after,
            max_count,
        } => Ok(StorageResponse::Keys(list_keys(
            d,
            label,
            start_after.as_deref(),
            *max_count,
        ))),
        StorageRequest::EventsAppend { label, key, payload } => {
            let stream = d.events.entry(slot(label, key)).or_default();
            let last = (!stream.is_empty()).then_some(stream.len() as u64);
            let seq = events::next_seq(key, last)?;
            stream.push((payload.clone(), run));
            Ok(StorageResponse::Seq(seq))
        }
        StorageRequest::EventsRead {
            label,
            key,
            from_seq,
            max_count,
        } => Ok(StorageResponse::Events(read_events(
            d, label, key, *from_seq, *max_count,
        ))),
        StorageRequest::StateLoad { label, key } => Ok(StorageResponse::State(d.state.get(&slot(label, key)).map(
            |(version, value, _)| Versioned {
                version: *version,
                value: value.clone(),
            },
        ))),
        StorageRequest::StateStoreIfVersion {
            label,
            key,
            expected_version,
            value,
        } => {
            let s = slot(label, key);
            let current = d.state.get(&s).map(|(v, _, _)| *v);
            let version = decide_store(label, key, current, *expected_version)?.version();
            d.state.insert(s, (version, value.clone(), run));
            Ok(StorageResponse::Version(version))
        }
    }
}

impl StorageBackend for MemoryRunTx {
    fn execute(&mut self, request: &StorageRequest) -> Result<StorageResponse, StorageError> {
        if self.inner.is_none() {
            return Err(StorageError::Other("the run's store transaction is closed".into()));
        }
        let response = apply(&mut self.work, &self.run_id, request)?;
        if let Some(w) = write_of(request, &response) {
            self.writes.push(w);
        }
        Ok(response)
    }
}

impl RunTransaction for MemoryRunTx {
    fn run_id(&self) -> &str {
        &self.run_id
    }

    fn ledger_before(&self) -> &str {
        &self.ledger_before
    }

    fn writes(&self) -> &[Write] {
        &self.writes
    }

    fn commit(mut self: Box<Self>, record: RunRecord) -> Result<CommitInfo, StoreError> {
        let inner = self
            .inner
            .take()
            .ok_or_else(|| StoreError::TxAborted("the run transaction is closed".into()))?;
        let ws_digest = write_set_digest(&self.writes);
        let ledger_after = next_ledger_head(&self.ledger_before, &self.run_id, &ws_digest);
        let mut work = std::mem::take(&mut self.work);
        work.runs.insert(
            self.run_id.clone(),
            RunRow {
                run_id: self.run_id.clone(),
                position: self.position,
                snapshot_digest: record.snapshot_digest,
                workflow: record.workflow,
                status: record.status,
                write_count: self.writes.len() as u64,
                write_set_digest: ws_digest.clone(),
                ledger_before: self.ledger_before.clone(),
                ledger_after: ledger_after.clone(),
            },
        );
        work.ledger = Ledger {
            head: ledger_after.clone(),
            runs_committed: self.position,
        };
        inner.release(Some(work));
        Ok(CommitInfo {
            run_id: std::mem::take(&mut self.run_id),
            position: self.position,
            ledger_before: std::mem::take(&mut self.ledger_before),
            ledger_after,
            write_set_digest: ws_digest,
            writes: std::mem::take(&mut self.writes),
        })
    }

    fn rollback(mut self: Box<Self>) -> Result<(), StoreError> {
        if let Some(inner) = self.inner.take() {
            inner.release(None);
        }
        Ok(())
    }
}

impl Drop for MemoryRunTx {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            inner.release(None);
        }
    }
}

/// A bare in-memory backend: the semantics of a [`MemoryStore`] run (the same [`apply`]), without a store,
/// lock, ledger or commit around it. For the conformance-vector runner, engine tests and benchmarks, which
/// invoke one component against a backend they then inspect.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryBackend {
    data: Data,
    /// Every binding `remove` unbound, in the order of removal: (label, key, bytes).
    removed: Vec<(String, String, Vec<u8>)>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    /// The bytes bound to `key` under `label` in the registry, if any.
    pub fn registry_value(&self, label: &str, key: &str) -> Option<&[u8]> {
        self.data.registry.get(&slot(label, key)).map(|(v, _)| v.as_slice())
    }

    /// Every payload of the stream `key` under `label`; the event with seq `n` is at index `n - 1`.
    pub fn event_stream(&self, label: &str, key: &str) -> Vec<&[u8]> {
        self.data
            .events
            .get(&slot(label, key))
            .map(|s| s.iter().map(|(p, _)| p.as_slice()).collect())
            .unwrap_or_default()
    }

    /// The current versioned value of `key` under `label`, if it was ever stored.
    pub fn state_value(&self, label: &str, key: &str) -> Option<Versioned> {
        self.data
            .state
            .get(&slot(label, key))
            .map(|(version, value, _)| Versioned {
                version: *version,
                value: value.clone(),
            })
    }

    /// Every registry binding that was removed, oldest first: (label, key, the bytes it was bound to).
    pub fn removed_bindings(&self) -> &[(String, String, Vec<u8>)] {
        &self.removed
    }

    /// Whether nothing at all is stored (nor was ever removed).
    pub fn is_empty(&self) -> bool {
        self.data.registry.is_empty()
            && self.data.events.is_empty()
            && self.data.state.is_empty()
            && self.removed.is_empty()
    }
}

impl StorageBackend for MemoryBackend {
    fn execute(&mut self, request: &StorageRequest) -> Result<StorageResponse, StorageError> {
        let response = apply(&mut self.data, "", request)?;
        if let (StorageRequest::RegistryRemove { label, key }, StorageResponse::Removed(Some(_))) = (request, &response)
            && let Some(binding) = self.data.removed.get(&slot(label, key)).and_then(|h| h.last())
        {
            self.removed.push((label.clone(), key.clone(), binding.value.clone()));
        }
        Ok(response)
    }
}
