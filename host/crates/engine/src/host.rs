//! What a guest can reach: the store data of one invocation ([`HostState`]), its resource limiter, and
//! the storage imports, each a thin wrapper around [`Gate::call`].
//!
//! The linker built here holds nothing but `sealed:capability/{types,registry,events,state}`, and only
//! the storage interfaces the node is granted: a missing function is a link error, so an ungranted
//! interface cannot be reached even if the static import gate had a bug.

use std::any::Any;

use sealed_capability::{Gate, StorageBackend, StorageError, StorageRequest, StorageResponse};
use sealed_snapshot::{Interface, Limits};
use wasmtime::component::{Linker, LinkerInstance};
use wasmtime::{ResourceLimiter, StoreContextMut, StoreLimits, StoreLimitsBuilder, Trap};

use crate::bindings::sealed::capability::{events, registry, state, types};

/// The `types` interface holds only the `storage-error` type; a side effect that uses any storage
/// interface imports it too. Defined at the contract's current version: an import of an older
/// compatible version (`@0.1.0`) resolves to it through wasmtime's semver-compatible lookup.
fn types_import() -> String {
    sealed_snapshot::contract_item_name("types")
}

/// [`Gate`] with its backend type erased, so that one `InstancePre<HostState>` (built once per
/// prepared component) serves invocations with any backend. [`crate::Prepared::invoke`] recovers the
/// concrete `Gate<B>` afterwards by downcasting (it is the only value ever put in).
pub(crate) trait ErasedGate: Any {
    fn call(&mut self, request: StorageRequest) -> Result<StorageResponse, StorageError>;
    fn bytes_moved(&self) -> u64;
    fn refused(&self) -> bool;
}

impl<B: StorageBackend + 'static> ErasedGate for Gate<B> {
    fn call(&mut self, request: StorageRequest) -> Result<StorageResponse, StorageError> {
        Gate::call(self, request)
    }
    fn bytes_moved(&self) -> u64 {
        Gate::bytes_moved(self)
    }
    fn refused(&self) -> bool {
        !Gate::refusals(self).is_empty()
    }
}

/// The data of one store = one invocation.
pub(crate) struct HostState {
    pub(crate) gate: Box<dyn ErasedGate>,
    pub(crate) limiter: Limiter,
    /// Fuel charged per byte moved by a storage call.
    fuel_per_byte: u64,
    /// Set when the backend failed (`other`) or answered with the wrong kind of response: the WIT
    /// contract says the host fails the run after such an error, whatever the guest does with it.
    pub(crate) storage_failure: Option<String>,
}

impl HostState {
    pub(crate) fn new(gate: Box<dyn ErasedGate>, limits: &Limits, fuel_per_byte: u64) -> Self {
        Self {
            gate,
            limiter: Limiter::new(limits),
            fuel_per_byte,
            storage_failure: None,
        }
    }
}

/// `StoreLimits` plus two things it cannot do: a budget for the *sum* of all linear memories (the
/// manifest's `memory_bytes` is per component, `StoreLimits::memory_size` is per memory), and a record
/// of which limit bit, so that the resulting error is reported as `MEMORY_LIMIT` and not as a generic trap.
pub(crate) struct Limiter {
    inner: StoreLimits,
    memory_budget: u64,
    memory_total: u64,
    pub(crate) hit: Option<String>,
}

impl Limiter {
    fn new(limits: &Limits) -> Self {
        let count = usize::try_from(limits.instances).unwrap_or(usize::MAX);
        let inner = StoreLimitsBuilder::new()
            .memory_size(usize::try_from(limits.memory_bytes).unwrap_or(usize::MAX))
            .table_elements(usize::try_from(limits.table_elements).unwrap_or(usize::MAX))
            .instances(count)
            // The manifest has no separate table/memory counts: a core instance rarely defines more
            // than one of each, so the instance budget bounds them too.
            .tables(count)
            .memories(count)
            // A failed grow traps instead of returning -1: a guest that cannot get memory is over its
            // budget, and Rust guests would abort anyway, with a less precise message.
            .trap_on_grow_failure(true)
            .build();
        Self {
            inner,
            memory_budget: limits.memory_bytes,
            memory_total: 0,
            hit: None,
        }
    }

    fn record(&mut self, what: String) {
        // The first limit that bit is the cause; later ones are consequences.
        if self.hit.is_none() {
            self.hit = Some(what);
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self
            .memory_total
            .saturating_sub(current as u64)
            .saturating_add(desired as u64);
        if total > self.memory_budget {
            let what = format!(
                "growing linear memory to {desired} bytes would use {total} bytes in total, more than the \
                 limit of {} bytes",
                self.memory_budget
            );
            self.record(what.clone());
            wasmtime::bail!("{what}");
        }
        match self.inner.memory_growing(current, desired, maximum) {
            Ok(true) => {
                self.memory_total = total;
                Ok(true)
            }
            other => {
                self.record(format!("growing linear memory to {desired} bytes was refused"));
                other
            }
        }
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.record(format!("growing linear memory failed: {error}"));
        self.inner.memory_grow_failed(error)
    }

    fn table_growing(&mut self, current: usize, desired: usize, maximum: Option<usize>) -> wasmtime::Result<bool> {
        let result = self.inner.table_growing(current, desired, maximum);
        if !matches!(result, Ok(true)) {
            self.record(format!("growing a table to {desired} elements was refused"));
        }
        result
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.record(format!("growing a table failed: {error}"));
        self.inner.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.inner.instances()
    }
    fn tables(&self) -> usize {
        self.inner.tables()
    }
    fn memories(&self) -> usize {
        self.inner.memories()
    }
}

/// Takes `bytes × fuel_per_byte` fuel from the store, or traps with `OutOfFuel` (leaving 0) when there is
/// not enough: a guest cannot move data for free by pushing it through storage calls.
fn charge(store: &mut StoreContextMut<'_, HostState>, bytes: u64) -> wasmtime::Result<()> {
    let cost = bytes.saturating_mul(store.data().fuel_per_byte);
    let fuel = store.get_fuel()?;
    if cost > fuel {
        store.set_fuel(0)?;
        return Err(Trap::OutOfFuel.into());
    }
    store.set_fuel(fuel - cost)
}

/// One storage call: charge the request bytes, pass it through the gate, charge the response bytes,
/// convert the response to the WIT type.
fn storage_call<R>(
    store: &mut StoreContextMut<'_, HostState>,
    request: StorageRequest,
    convert: impl FnOnce(StorageResponse) -> Option<R>,
) -> wasmtime::Result<Result<R, types::StorageError>> {
    // Refuse to even present a request whose own bytes cannot be paid for.
    let request_bytes =
        request.label().len() as u64 + request.key().len() as u64 + request.value().map_or(0, |v| v.len() as u64);
    let fuel = store.get_fuel()?;
    if request_bytes.saturating_mul(store.data().fuel_per_byte) > fuel {
        store.set_fuel(0)?;
        return Err(Trap::OutOfFuel.into());
    }

    let name = request.name();
    let host = store.data_mut();
    let before = host.gate.bytes_moved();
    let result = host.gate.call(request);
    let moved = host.gate.bytes_moved().saturating_sub(before);
    let result = match result {
        Ok(response) => {
            let kind = response_kind(&response);
            match convert(response) {
                Some(value) => Ok(value),
                None => {
                    let detail = format!("backend answered {name} with an unexpected response: {kind}");
                    host.storage_failure.get_or_insert_with(|| detail.clone());
                    Err(types::StorageError::Other(detail))
                }
            }
        }
        Err(err) => {
            if let StorageError::Other(detail) = &err {
                host.storage_failure.get_or_insert_with(|| format!("{name}: {detail}"));
            }
            Err(to_wit_error(err))
        }
    };
    charge(store, moved)?;
    // A refusal fails the invocation whatever the guest does next (the first refusal is its error), so
    // the guest is stopped here rather than told: letting it carry on could only make it loop on refused
    // calls, each one journaled and copied into the trace.
    if store.data().gate.refused() {
        return Err(wasmtime::Error::msg(REFUSAL_TRAP));
    }
    Ok(result)
}

/// The message of the trap that stops a guest at its first refused storage call (never shown: the
/// invocation's error is the refusal itself).
pub(crate) const REFUSAL_TRAP: &str = "storage call refused: the invocation stops at the first refusal";

fn response_kind(response: &StorageResponse) -> &'static str {
    match response {
        StorageResponse::Insert(_) => "insert",
        StorageResponse::Value(_) => "value",
        StorageResponse::Exists(_) => "exists",
        StorageResponse::Seq(_) => "seq",
        StorageResponse::Events(_) => "events",
        StorageResponse::State(_) => "state",
        StorageResponse::Version(_) => "version",
        StorageResponse::Removed(_) => "removed",
        StorageResponse::Keys(_) => "keys",
    }
}

fn to_wit_error(err: StorageError) -> types::StorageError {
    match err {
        StorageError::NotGranted(m) => types::StorageError::NotGranted(m),
        StorageError::InvalidArgument(m) => types::StorageError::InvalidArgument(m),
        StorageError::Conflict(m) => types::StorageError::Conflict(m),
        StorageError::LimitExceeded(m) => types::StorageError::LimitExceeded(m),
        StorageError::Other(m) => types::StorageError::Other(m),
    }
}

/// Adds `types` and each interface of `interfaces` to `linker`, and nothing else.
pub(crate) fn add_storage(linker: &mut Linker<HostState>, interfaces: &[Interface]) -> wasmtime::Result<()> {
    // `types` defines only a type: its linker instance is empty, but it must exist for a component
    // that imports it.
    linker.instance(&types_import())?;
    for interface in interfaces {
        let name = interface.import_name();
        let mut inst = linker.instance(&name)?;
        match interface {
            Interface::Registry => add_registry(&mut inst)?,
            Interface::Events => add_events(&mut inst)?,
            Interface::State => add_state(&mut inst)?,
        }
    }
    Ok(())
}

type Store<'a> = StoreContextMut<'a, HostState>;

fn add_registry(inst: &mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> {
    inst.func_wrap(
        "insert",
        |mut store: Store<'_>, (label, key, value): (String, String, Vec<u8>)| {
            let request = StorageRequest::RegistryInsert { label, key, value };
            let r = storage_call(&mut store, request, |response| match response {
                StorageResponse::Insert(sealed_capability::InsertOutcome::Inserted) => {
                    Some(registry::InsertOutcome::Inserted)
                }
                StorageResponse::Insert(sealed_capability::InsertOutcome::AlreadyExists) => {
                    Some(registry::InsertOutcome::AlreadyExists)
                }
                _ => None,
            })?;
            Ok((r,))
        },
    )?;
    inst.func_wrap("get", |mut store: Store<'_>, (label, key): (String, String)| {
        let request = StorageRequest::RegistryGet { label, key };
        let r = storage_call(&mut store, request, |response| match response {
            StorageResponse::Value(value) => Some(value),
            _ => None,
        })?;
        Ok((r,))
    })?;
    inst.func_wrap("exists", |mut store: Store<'_>, (label, key): (String, String)| {
        let request = StorageRequest::RegistryExists { label, key };
        let r = storage_call(&mut store, request, |response| match response {
            StorageResponse::Exists(exists) => Some(exists),
            _ => None,
        })?;
        Ok((r,))
    })?;
    inst.func_wrap("remove", |mut store: Store<'_>, (label, key): (String, String)| {
        let request = StorageRequest::RegistryRemove { label, key };
        let r = storage_call(&mut store, request, |response| match response {
            StorageResponse::Removed(removed) => Some(removed.is_some()),
            _ => None,
        })?;
        Ok((r,))
    })?;
    Ok(())
}

fn add_events(inst: &mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> {
    inst.func_wrap(
        "append",
        |mut store: Store<'_>, (label, key, payload): (String, String, Vec<u8>)| {
            let request = StorageRequest::EventsAppend { label, key, payload };
            let r = storage_call(&mut store, request, |response| match response {
                StorageResponse::Seq(seq) => Some(seq),
                _ => None,
            })?;
            Ok((r,))
        },
    )?;
    inst.func_wrap(
        "read",
        |mut store: Store<'_>, (label, key, from_seq, max_count): (String, String, u64, u32)| {
            let request = StorageRequest::EventsRead {
                label,
                key,
                from_seq,
                max_count,
            };
            let r = storage_call(&mut store, request, |response| match response {
                StorageResponse::Events(list) => Some(
                    list.into_iter()
                        .map(|e| events::Event {
                            seq: e.seq,
                            payload: e.payload,
                        })
                        .collect::<Vec<_>>(),
                ),
                _ => None,
            })?;
            Ok((r,))
        },
    )?;
    Ok(())
}

fn add_state(inst: &mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> {
    inst.func_wrap("load", |mut store: Store<'_>, (label, key): (String, String)| {
        let request = StorageRequest::StateLoad { label, key };
        let r = storage_call(&mut store, request, |response| match response {
            StorageResponse::State(v) => Some(v.map(|v| state::Versioned {
                version: v.version,
                value: v.value,
            })),
            _ => None,
        })?;
        Ok((r,))
    })?;
    inst.func_wrap(
        "store-if-version",
        |mut store: Store<'_>, (label, key, expected_version, value): (String, String, u64, Vec<u8>)| {
            let request = StorageRequest::StateStoreIfVersion {
                label,
                key,
                expected_version,
                value,
            };
            let r = storage_call(&mut store, request, |response| match response {
                StorageResponse::Version(v) => Some(v),
                _ => None,
            })?;
            Ok((r,))
        },
    )?;
    inst.func_wrap(
        "list-keys",
        |mut store: Store<'_>, (label, start_after, max_count): (String, Option<String>, u32)| {
            let request = StorageRequest::StateList {
                label,
                start_after,
                max_count,
            };
            let r = storage_call(&mut store, request, |response| match response {
                StorageResponse::Keys(keys) => Some(keys),
                _ => None,
            })?;
            Ok((r,))
        },
    )?;
    Ok(())
}
