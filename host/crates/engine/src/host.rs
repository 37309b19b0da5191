//! The store data of one invocation ([`HostState`]): the node's [`Gate`] (type-erased) and its resource
//! limiter. The storage imports that reach the gate are linked by [`crate::capabilities`]. Must never
//! hold anything a guest could reach other than through the gate.

use std::any::Any;

use sealed_capability::{Gate, StorageBackend, StorageError, StorageRequest, StorageResponse};
use sealed_snapshot::Limits;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};

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
    pub(crate) fuel_per_byte: u64,
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
