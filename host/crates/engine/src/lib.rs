//! All WebAssembly execution of the sealed host.
//!
//! This crate owns: the wasmtime 48 configuration (the deterministic [`EngineProfile`]), component
//! inspection, the static import gate, the in-memory cache of compiled components and the persistent
//! on-disk one ([`DiskCache`], module [`cache`]), one `InstancePre` per prepared node, one fresh `Store`
//! per invocation with fuel / memory / wall-clock limits, and the storage host imports, which go through
//! [`sealed_capability::Gate`] and nowhere else.
//!
//! It must never: link WASI (or anything but `sealed:capability`); compile bytes that are not a
//! [`VerifiedComponent`] — the one exception is [`Engine::inspect`], used by `host seal` / `host inspect`
//! on bytes that are about to be pinned; load a compiled component from disk that has not passed every
//! check of [`cache`] (the crate's only hand-written `unsafe` is that load, `cache::deserialize_checked`;
//! the other `allow(unsafe_code)` covers the wasmtime-generated bindings); or let a guest keep state
//! between invocations.
//!
//! Flow: [`Engine::new`] (or [`Engine::new_with_cache`]) → [`Engine::prepare`] (hash re-check, compiled
//! component from memory, from the disk cache, or compiled by Cranelift and written to the disk cache;
//! import gate, linker, `InstancePre`) → [`Prepared::invoke`] any number of times (fresh store each time;
//! the backend always comes back in the [`Invocation`], even after a trap).

use std::collections::{BTreeSet, HashMap};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, InstanceAllocationStrategy, PoolingAllocationConfig, Store, Trap};

use sealed_capability::{Gate, JournalEntry, Refusal, StorageBackend};
use sealed_snapshot::{Grant, Interface, Limits, VerifiedComponent, World};

mod bindings;
pub mod budget;
pub mod cache;
mod capabilities;
pub mod error;
mod host;
pub mod inspect;
pub mod profile;

pub use budget::CompileBudget;
pub use cache::{CacheEntryReport, CacheError, CacheListing, CacheStats, DiskCache, WarmOutcome};
pub use error::{EngineError, InvokeError};
pub use inspect::{ComponentInfo, InferredWorld, ItemInfo};
pub use profile::{Allocator, EngineProfile, PoolingProfile, WASMTIME_VERSION};

use bindings::SideEffectPre;
use bindings::exports::sealed::capability::node::RunError;
use cache::{CacheKey, Counters};
use host::{ErasedGate, HostState};

/// A configured wasmtime engine plus what is shared by every component it runs. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("profile", &self.inner.profile)
            .field("pool_error", &self.inner.pool_error)
            .field("disk_cache", &self.inner.disk)
            .finish_non_exhaustive()
    }
}

struct Inner {
    wasmtime: wasmtime::Engine,
    profile: EngineProfile,
    /// `profile.digest()`, computed once.
    profile_digest: String,
    pool_error: Option<String>,
    /// Compiled components by sha256 of their bytes. Keyed by the hash the engine computed itself, so
    /// a cache hit is always the same bytes.
    compiled: Mutex<HashMap<String, Component>>,
    /// The persistent cache of compiled components, if any.
    disk: Option<DiskCache>,
    /// sha256 of wasmtime's `precompile_compatibility_hash` of `wasmtime`, part of every disk-cache key.
    compat_digest: [u8; 32],
    stats: Counters,
    /// Kept for its `Drop`: the ticker stops when the last `Engine` / `Prepared` is gone.
    _ticker: Ticker,
}

/// The epoch ticker: increments the engine's epoch every `epoch_tick_ms` so that a store's epoch
/// deadline is a wall-clock bound. Dropping it stops and joins the thread.
struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: wasmtime::Engine, tick: Duration) -> Result<Self, EngineError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sealed-epoch".into())
            .spawn(move || {
                // `recv_timeout` doubles as the sleep: a drop of the sender ends the loop at once instead
                // of after the next tick.
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                    engine.increment_epoch();
                }
            })
            .map_err(|e| EngineError::Init(format!("cannot start the epoch ticker thread: {e}")))?;
        Ok(Self {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // The thread only loops on a channel; a panic there has nothing to report.
            let _ = thread.join();
        }
    }
}

/// The wasmtime `Config` this host builds for `profile` (allocator included), for embedders and
/// benchmarks that must measure exactly the engine the host runs. [`Engine::new`] uses the same.
pub fn wasmtime_config(profile: &EngineProfile) -> Result<Config, EngineError> {
    let mut cfg = base_config(profile)?;
    cfg.allocation_strategy(match profile.allocator {
        Allocator::Pooling => InstanceAllocationStrategy::Pooling(pooling_config(&profile.pooling)),
        Allocator::OnDemand => InstanceAllocationStrategy::OnDemand,
    });
    Ok(cfg)
}

fn base_config(profile: &EngineProfile) -> Result<Config, EngineError> {
    let unsupported = |what: &str| Err(EngineError::ProfileUnsupported(what.to_string()));
    if profile.wasmtime_version != WASMTIME_VERSION {
        return unsupported(&format!(
            "profile is for wasmtime {}, this host runs wasmtime {WASMTIME_VERSION}",
            profile.wasmtime_version
        ));
    }
    if !profile.fuel {
        return unsupported("fuel must be on: it is the deterministic CPU budget");
    }
    if !profile.epoch_interruption || profile.epoch_tick_ms == 0 {
        return unsupported("epoch interruption must be on with a tick > 0 ms: it is the wall-clock backstop");
    }
    if profile.threads {
        return unsupported("threads: this host is built without the wasmtime `threads` feature");
    }
    if profile.pooling.pagemap_scan != "auto"
        && profile.pooling.pagemap_scan != "yes"
        && profile.pooling.pagemap_scan != "no"
    {
        return unsupported("pooling.pagemap_scan must be auto, yes or no");
    }
    let stack = usize::try_from(profile.max_wasm_stack)
        .map_err(|_| EngineError::ProfileUnsupported("max_wasm_stack does not fit this machine".into()))?;

    let mut cfg = Config::new();
    cfg.wasm_component_model(true)
        .cranelift_nan_canonicalization(profile.nan_canonicalization)
        .wasm_relaxed_simd(profile.relaxed_simd)
        .relaxed_simd_deterministic(profile.relaxed_simd_deterministic)
        .max_wasm_stack(stack)
        .consume_fuel(true)
        .epoch_interruption(true);
    Ok(cfg)
}

fn pooling_config(p: &PoolingProfile) -> PoolingAllocationConfig {
    let size = |v: u64| usize::try_from(v).unwrap_or(usize::MAX);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(p.total_component_instances)
        .total_core_instances(p.total_core_instances)
        .total_memories(p.total_memories)
        .total_tables(p.total_tables)
        .max_core_instances_per_component(p.max_core_instances_per_component)
        .max_memories_per_component(p.max_memories_per_component)
        .max_tables_per_component(p.max_tables_per_component)
        .max_memory_size(size(p.max_memory_size))
        .table_elements(size(p.table_elements))
        .max_component_instance_size(size(p.max_component_instance_size))
        .max_core_instance_size(size(p.max_core_instance_size))
        // Keeping a resident prefix and resetting it with PAGEMAP_SCAN is what makes a fresh instance per
        // invocation cheap (~13 µs instead of ~40 µs on-demand, see the wasm recipe).
        .linear_memory_keep_resident(size(p.linear_memory_keep_resident))
        .table_keep_resident(size(p.table_keep_resident))
        .pagemap_scan(match p.pagemap_scan.as_str() {
            "yes" => Enabled::Yes,
            "no" => Enabled::No,
            _ => Enabled::Auto,
        });
    pool
}

impl Engine {
    /// Builds the engine for `profile`, without a disk cache (every process compiles every component once).
    /// With `allocator: pooling`, falls back to on-demand allocation when the pool cannot be created on
    /// this machine (too little address space, for example); the effective choice is recorded in
    /// [`Engine::profile`] and the reason in [`Engine::pool_error`].
    pub fn new(profile: EngineProfile) -> Result<Engine, EngineError> {
        Engine::new_with_cache(profile, None)
    }

    /// [`Engine::new`] with a persistent cache of compiled components in `cache` (`None`: no disk cache).
    /// Entries are keyed by the component, the wasmtime build and configuration and the *effective*
    /// profile, so an engine that fell back from pooling to on-demand allocation uses other entries.
    pub fn new_with_cache(profile: EngineProfile, cache: Option<DiskCache>) -> Result<Engine, EngineError> {
        let mut profile = profile;
        let mut pool_error = None;
        let mut wasmtime = None;
        if profile.allocator == Allocator::Pooling {
            let mut cfg = base_config(&profile)?;
            cfg.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling_config(&profile.pooling)));
            match wasmtime::Engine::new(&cfg) {
                Ok(engine) => wasmtime = Some(engine),
                Err(e) => {
                    pool_error = Some(format!("{e:#}"));
                    profile.allocator = Allocator::OnDemand;
                }
            }
        }
        let wasmtime = match wasmtime {
            Some(engine) => engine,
            None => {
                let mut cfg = base_config(&profile)?;
                cfg.allocation_strategy(InstanceAllocationStrategy::OnDemand);
                wasmtime::Engine::new(&cfg).map_err(|e| EngineError::Init(format!("{e:#}")))?
            }
        };
        let profile_digest = profile
            .digest()
            .map_err(|e| EngineError::Init(format!("cannot serialise the engine profile: {e}")))?;
        let compat_digest = cache::compatibility_digest(&wasmtime);
        let ticker = Ticker::start(wasmtime.clone(), Duration::from_millis(profile.epoch_tick_ms))?;
        Ok(Engine {
            inner: Arc::new(Inner {
                wasmtime,
                profile,
                profile_digest,
                pool_error,
                compiled: Mutex::new(HashMap::new()),
                disk: cache,
                compat_digest,
                stats: Counters::default(),
                _ticker: ticker,
            }),
        })
    }

    /// The persistent cache of compiled components, if this engine has one.
    pub fn disk_cache(&self) -> Option<&DiskCache> {
        self.inner.disk.as_ref()
    }

    /// What the compiled-component caches did since this engine was built (shared by its clones).
    pub fn cache_stats(&self) -> CacheStats {
        self.inner.stats.snapshot()
    }

    /// Makes sure the disk cache holds a valid entry for `component`: loads it to prove it, or compiles
    /// the component (or takes it from memory) and writes it. Unlike a compile during [`Engine::prepare`],
    /// a write failure is an error here (`CACHE_IO`), as is an engine without a disk cache.
    pub fn warm(&self, component: &VerifiedComponent) -> Result<WarmOutcome, EngineError> {
        let disk = self
            .inner
            .disk
            .as_ref()
            .ok_or(EngineError::Cache(CacheError::NotConfigured))?;
        let digest = check_pin(component)?;
        let id = hex::encode(digest);
        let key = self.cache_key(&digest);
        if let Some(compiled) = self.load_entry(disk, &key, component.name()) {
            self.memory().entry(id).or_insert(compiled);
            return Ok(WarmOutcome::AlreadyCached);
        }
        let in_memory = self.memory().get(&id).cloned();
        let compiled = match in_memory {
            Some(compiled) => compiled,
            None => self.cranelift(component.name(), component.bytes(), &CompileBudget::HOST)?,
        };
        self.store_entry(disk, &key, &compiled).map_err(EngineError::Cache)?;
        self.memory().entry(id).or_insert(compiled);
        Ok(WarmOutcome::Compiled)
    }

    /// The effective profile (what traces record).
    pub fn profile(&self) -> &EngineProfile {
        &self.inner.profile
    }

    /// Lowercase hex sha256 of the effective profile's canonical JSON (recorded in traces).
    pub fn profile_digest(&self) -> &str {
        &self.inner.profile_digest
    }

    /// Why the pooling allocator could not be used, if it could not.
    pub fn pool_error(&self) -> Option<&str> {
        self.inner.pool_error.as_deref()
    }

    /// The compiled component for `bytes`, whose sha256 (computed by the engine, never by a caller) is
    /// `digest`: from memory, else from the disk cache, else compiled by Cranelift (and then written to the
    /// disk cache; a failed write is counted and logged, never an error).
    fn compile(
        &self,
        digest: &[u8; 32],
        name: &str,
        bytes: &[u8],
        budget: &CompileBudget,
    ) -> Result<Component, EngineError> {
        let id = hex::encode(digest);
        if let Some(c) = self.memory().get(&id) {
            Counters::bump(&self.inner.stats.memory_hits);
            return Ok(c.clone());
        }
        // Loaded or compiled outside the lock: Cranelift takes milliseconds to seconds, and two threads
        // compiling the same bytes at once only waste work.
        let component = match &self.inner.disk {
            None => self.cranelift(name, bytes, budget)?,
            Some(disk) => {
                let key = self.cache_key(digest);
                match self.load_entry(disk, &key, name) {
                    Some(component) => component,
                    None => {
                        let component = self.cranelift(name, bytes, budget)?;
                        // Counted and logged by `store_entry`; the component is good either way.
                        let _ = self.store_entry(disk, &key, &component);
                        component
                    }
                }
            }
        };
        self.memory().insert(id, component.clone());
        Ok(component)
    }

    /// Compiles `bytes` with Cranelift within `budget`: size and function count first, then the compilation
    /// itself on a helper thread, waited for at most `budget.max_ms`. Cranelift cannot be interrupted, so on
    /// expiry the compilation is *abandoned*: the thread runs to its end in the background (holding its
    /// copy of the bytes and the memory Cranelift uses) and its result is dropped, never cached. A one-shot
    /// `host run` exits soon after, ending it; `host serve` keeps the preparation failure for the
    /// workflow (every run of it reports it, none compiles again) and the thread ends by itself.
    fn cranelift(&self, name: &str, bytes: &[u8], budget: &CompileBudget) -> Result<Component, EngineError> {
        budget::check_within(name, bytes, budget)?;
        Counters::bump(&self.inner.stats.misses);
        let compile_error = |e: wasmtime::Error| EngineError::Compile {
            name: name.to_string(),
            detail: format!("{e:#}"),
        };
        let engine = self.inner.wasmtime.clone();
        let owned = bytes.to_vec();
        let (done, result) = mpsc::sync_channel(1);
        std::thread::Builder::new()
            .name("sealed-compile".into())
            .spawn(move || {
                // The receiver is gone when the compilation was abandoned: the result is dropped.
                let _ = done.send(Component::new(&engine, &owned));
            })
            .map_err(|e| EngineError::Init(format!("cannot start the compile thread: {e}")))?;
        match result.recv_timeout(Duration::from_millis(budget.max_ms)) {
            Ok(compiled) => compiled.map_err(compile_error),
            Err(RecvTimeoutError::Timeout) => Err(EngineError::CompileTimeout {
                name: name.to_string(),
                limit_ms: budget.max_ms,
            }),
            Err(RecvTimeoutError::Disconnected) => Err(EngineError::Compile {
                name: name.to_string(),
                detail: "the compile thread ended without a result (Cranelift panicked)".into(),
            }),
        }
    }

    fn cache_key(&self, digest: &[u8; 32]) -> CacheKey {
        CacheKey::new(digest, &self.inner.compat_digest, &self.inner.profile_digest)
    }

    /// The disk entry of `key` as a component, or `None` when there is none or it is invalid (then it is
    /// counted, logged and deleted).
    fn load_entry(&self, disk: &DiskCache, key: &CacheKey, name: &str) -> Option<Component> {
        let stats = &self.inner.stats;
        let (problem, identity) = match disk.read(key) {
            cache::Lookup::Missing => return None,
            cache::Lookup::Invalid { problem, identity } => (problem, identity),
            cache::Lookup::Valid(entry) => match cache::deserialize_checked(&self.inner.wasmtime, &entry) {
                Ok(component) => {
                    Counters::bump(&stats.disk_hits);
                    return Some(component);
                }
                Err(e) => (format!("wasmtime refused it: {e:#}"), Some(entry.identity)),
            },
        };
        Counters::bump(&stats.invalid);
        tracing::warn!(
            component = name,
            entry = %disk.entry_path(key).display(),
            "invalid compiled-component cache entry, deleted and compiled again: {problem}"
        );
        disk.discard(key, identity);
        None
    }

    /// Serialises `component` into the disk entry of `key`; a failure is counted and logged, and returned.
    fn store_entry(&self, disk: &DiskCache, key: &CacheKey, component: &Component) -> Result<(), CacheError> {
        let stats = &self.inner.stats;
        let written = component
            .serialize()
            .map_err(|e| CacheError::Io {
                path: disk.entry_path(key),
                action: "serialise the compiled component for",
                detail: format!("{e:#}"),
            })
            .and_then(|body| disk.write(key, &body));
        match &written {
            Ok(()) => Counters::bump(&stats.writes),
            Err(e) => {
                Counters::bump(&stats.write_errors);
                tracing::warn!("compiled-component cache not written (the component is used anyway): {e}");
            }
        }
        written
    }

    fn memory(&self) -> std::sync::MutexGuard<'_, HashMap<String, Component>> {
        // A panic while holding the lock cannot leave the map half-updated (one insert), so a poisoned
        // lock is still usable.
        self.inner
            .compiled
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Compiles arbitrary bytes (no pin: this is how a pin is made) and reports imports, exports, the
    /// world they fit and whether the entry point is there. Never instantiates anything.
    pub fn inspect(&self, bytes: &[u8]) -> Result<ComponentInfo, EngineError> {
        self.inspect_within(bytes, &CompileBudget::HOST)
    }

    /// [`Engine::inspect`] within `budget` (what `host seal` uses, with the run limits of the workflows
    /// using the component): over its size or function count, or compiling longer than its wall clock,
    /// is `COMPILE_BUDGET`. The size and function count are checked even when the component is cached.
    pub fn inspect_within(&self, bytes: &[u8], budget: &CompileBudget) -> Result<ComponentInfo, EngineError> {
        let digest: [u8; 32] = Sha256::digest(bytes).into();
        let sha256 = hex::encode(digest);
        let name = format!("sha256:{sha256}");
        budget::check_within(&name, bytes, budget)?;
        let component = self.compile(&digest, &name, bytes, budget)?;
        let engine = &self.inner.wasmtime;
        let (imports, exports) = inspect::items(engine, &component);
        let names: Vec<&str> = imports.iter().map(|i| i.name.as_str()).collect();
        let world = inspect::infer_world(&names);
        let node_run_problem = inspect::check_node_run(engine, &component).err();
        let import_type_problem = self.check_import_types(&component, &names);
        Ok(ComponentInfo {
            sha256,
            size: bytes.len() as u64,
            imports,
            exports,
            world,
            exports_node_run: node_run_problem.is_none(),
            node_run_problem,
            import_type_problem,
        })
    }

    /// The run's own type check, at seal time: links the component against every storage interface the
    /// host provides (the real linker `prepare` uses) without instantiating it. Only when every import
    /// name is one a side effect may use: a foreign name is reported, better, by the name check.
    fn check_import_types(&self, component: &Component, names: &[&str]) -> Option<String> {
        if names.is_empty() || !inspect::disallowed_imports(names, World::SideEffect).is_empty() {
            return None;
        }
        let mut linker = Linker::<HostState>::new(&self.inner.wasmtime);
        if let Err(e) = capabilities::add_storage(&mut linker, &Interface::ALL) {
            return Some(format!("cannot build the storage linker: {e:#}"));
        }
        linker.instantiate_pre(component).err().map(|e| {
            format!(
                "its imports have the contract's names but not its types (sealed:capability@0.1.x): {}",
                sealed_snapshot::quote::truncate(&format!("{e:#}"), 512)
            )
        })
    }

    /// Prepares `component` to run at a node of `world` holding `grants`.
    ///
    /// Order (fail-fast, nothing is instantiated): the bytes' sha256 is checked against the pin again
    /// (the bytes are shared and long-lived; the check costs ~1 ms/MB), compile or cache hit, static
    /// import gate (world, then grants), entry-point type, linker with exactly the granted storage
    /// interfaces (none for a transform), `InstancePre`.
    pub fn prepare(
        &self,
        component: &VerifiedComponent,
        world: World,
        grants: &[Grant],
    ) -> Result<Prepared, EngineError> {
        self.prepare_within(component, world, grants, &CompileBudget::HOST)
    }

    /// [`Engine::prepare`] within a compile budget (a workflow's `run_limits`): the size and function count
    /// are checked before anything else, cached or not; the wall clock applies when Cranelift runs.
    pub fn prepare_within(
        &self,
        component: &VerifiedComponent,
        world: World,
        grants: &[Grant],
        budget: &CompileBudget,
    ) -> Result<Prepared, EngineError> {
        let name = component.name();
        let digest = check_pin(component)?;
        let actual = hex::encode(digest);
        budget::check_within(name, component.bytes(), budget)?;
        let compiled = self.compile(&digest, name, component.bytes(), budget)?;
        let engine = &self.inner.wasmtime;

        let (imports, _) = inspect::items(engine, &compiled);
        let granted: BTreeSet<Interface> = grants
            .iter()
            .filter(|g| !g.ops.is_empty())
            .map(|g| g.interface)
            .collect();
        for import in &imports {
            if !inspect::disallowed_imports(&[import.name.as_str()], world).is_empty() {
                return Err(EngineError::ImportNotAllowed {
                    component: name.to_string(),
                    world: world.as_str(),
                    import: import.name.clone(),
                });
            }
            if let Some(interface) = inspect::storage_interface(&import.name)
                && !granted.contains(&interface)
            {
                let granted = if granted.is_empty() {
                    "no storage interface".to_string()
                } else {
                    granted
                        .iter()
                        .map(|i| format!("`{}`", i.as_str()))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                return Err(EngineError::ImportNotGranted {
                    component: name.to_string(),
                    import: import.name.clone(),
                    interface: interface.as_str(),
                    granted,
                });
            }
        }
        inspect::check_node_run(engine, &compiled).map_err(|detail| EngineError::Contract {
            component: name.to_string(),
            detail,
        })?;

        let mut linker = Linker::<HostState>::new(engine);
        if world == World::SideEffect {
            let interfaces: Vec<Interface> = granted.iter().copied().collect();
            capabilities::add_storage(&mut linker, &interfaces)
                .map_err(|e| EngineError::Init(format!("cannot build the storage linker: {e:#}")))?;
        }
        let contract = |e: wasmtime::Error| EngineError::Contract {
            component: name.to_string(),
            detail: format!("{e:#}"),
        };
        let pre = linker.instantiate_pre(&compiled).map_err(contract)?;
        let pre = SideEffectPre::new(pre).map_err(contract)?;
        Ok(Prepared {
            engine: self.clone(),
            pre,
            name: name.to_string(),
            sha256: actual,
            world,
            interfaces: granted,
            initial_memory_bytes: initial_memory_bytes(&compiled),
        })
    }

    /// [`Engine::prepare`] for a node with `limits`, plus the static memory gate: a component whose
    /// declared initial linear memory is already over `limits.memory_bytes` is refused here
    /// (`MEMORY_LIMIT`, [`EngineError::MemoryDeclared`]) instead of at its first instantiation.
    ///
    /// Why the gate is on the declared *minimum* and not on the declared *maximum*: Rust (and most other)
    /// toolchains emit memories without a maximum, so refusing "no maximum, or a maximum over the budget"
    /// would refuse every standard capability. Growth is bounded at run time instead, on every
    /// `memory.grow`, by the store's limiter (`MEMORY_LIMIT` too). The gate is sound but not complete: it
    /// compares the largest single memory's minimum with the budget (what wasmtime reports without
    /// instantiating), so a component whose memories are each under the budget but together over it
    /// still passes here and is stopped by the limiter at instantiation. A component that instantiates
    /// imported core modules has no static answer and is left to the limiter as well.
    pub fn prepare_node(
        &self,
        component: &VerifiedComponent,
        world: World,
        grants: &[Grant],
        limits: &Limits,
    ) -> Result<Prepared, EngineError> {
        self.prepare_node_within(component, world, grants, limits, &CompileBudget::HOST)
    }

    /// [`Engine::prepare_node`] within a compile budget (see [`Engine::prepare_within`]).
    pub fn prepare_node_within(
        &self,
        component: &VerifiedComponent,
        world: World,
        grants: &[Grant],
        limits: &Limits,
        budget: &CompileBudget,
    ) -> Result<Prepared, EngineError> {
        self.check_limits_supported(limits)?;
        let prepared = self.prepare_within(component, world, grants, budget)?;
        prepared.check_declared_memory(limits)?;
        Ok(prepared)
    }

    /// Refuses node limits the pooling allocator cannot honour: with a pool, each slot has fixed caps, and
    /// a budget above them would be cut short by the pool with a misleading "limit reached" message.
    fn check_limits_supported(&self, limits: &Limits) -> Result<(), EngineError> {
        let profile = self.profile();
        if profile.allocator != Allocator::Pooling {
            return Ok(());
        }
        let pool = &profile.pooling;
        let caps = [
            ("table_elements", u64::from(limits.table_elements), pool.table_elements),
            (
                "instances",
                u64::from(limits.instances),
                u64::from(pool.max_core_instances_per_component),
            ),
            ("memory_bytes", limits.memory_bytes, pool.max_memory_size),
        ];
        match caps.into_iter().find(|(_, value, cap)| value > cap) {
            Some((limit, value, cap)) => Err(EngineError::LimitUnsupported { limit, value, cap }),
            None => Ok(()),
        }
    }
}

/// The sha256 of `component`'s bytes, computed here, after checking it against the pin again (the bytes
/// are shared and long-lived; the check costs ~1 ms/MB).
fn check_pin(component: &VerifiedComponent) -> Result<[u8; 32], EngineError> {
    let digest: [u8; 32] = Sha256::digest(component.bytes()).into();
    let actual = hex::encode(digest);
    if actual != component.sha256() {
        return Err(EngineError::HashMismatch {
            name: component.name().to_string(),
            expected: component.sha256().to_string(),
            actual,
        });
    }
    Ok(digest)
}

/// Size of a Wasm page. The engine enables no custom page sizes, so every memory uses 64 KiB pages.
const WASM_PAGE_BYTES: u64 = 64 << 10;

/// The largest initial size, in bytes, that any memory of `component` declares; `None` when it cannot be
/// known without instantiating (the component instantiates imported core modules) or there is no memory.
fn initial_memory_bytes(component: &Component) -> Option<u64> {
    component
        .resources_required()
        .and_then(|r| r.max_initial_memory_size)
        .map(|pages| pages.saturating_mul(WASM_PAGE_BYTES))
}

/// A component ready to run at one node: compiled, gated, linked. Invoke it any number of times.
#[derive(Clone)]
pub struct Prepared {
    engine: Engine,
    pre: SideEffectPre<HostState>,
    name: String,
    sha256: String,
    world: World,
    interfaces: BTreeSet<Interface>,
    /// See [`Prepared::initial_memory_bytes`].
    initial_memory_bytes: Option<u64>,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("name", &self.name)
            .field("sha256", &self.sha256)
            .field("world", &self.world)
            .field("interfaces", &self.interfaces)
            .field("initial_memory_bytes", &self.initial_memory_bytes)
            .finish()
    }
}

/// What a node returned when it ran to completion and passed every output check.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeOutput {
    pub outcome: String,
    /// The output JSON text exactly as the component wrote it (checked to parse as JSON).
    pub output: String,
    /// The same, parsed (it was parsed for the check anyway).
    pub value: serde_json::Value,
}

/// Everything one invocation produced. The backend, the journal and the refusals come back whatever
/// happened, so the caller can always roll back, record and replay.
#[derive(Debug)]
pub struct Invocation<B> {
    pub result: Result<NodeOutput, InvokeError>,
    /// Fuel consumed, Wasm execution plus host-call bytes (`limits.fuel` when it ran out).
    pub fuel_used: u64,
    pub backend: B,
    pub journal: Vec<JournalEntry>,
    pub refusals: Vec<Refusal>,
}

impl Prepared {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn sha256(&self) -> &str {
        &self.sha256
    }
    pub fn world(&self) -> World {
        self.world
    }
    /// The storage interfaces linked for this node.
    pub fn interfaces(&self) -> impl Iterator<Item = Interface> + '_ {
        self.interfaces.iter().copied()
    }
    /// The largest initial size, in bytes, declared by any of the component's linear memories (`None` when
    /// it has none, or when that cannot be known before instantiation).
    pub fn initial_memory_bytes(&self) -> Option<u64> {
        self.initial_memory_bytes
    }

    /// The static memory gate of [`Engine::prepare_node`]: refuses a component whose declared initial
    /// memory alone is over `limits.memory_bytes` (it could not even be instantiated).
    pub fn check_declared_memory(&self, limits: &Limits) -> Result<(), EngineError> {
        match self.initial_memory_bytes {
            Some(bytes) if bytes > limits.memory_bytes => Err(EngineError::MemoryDeclared {
                component: self.name.clone(),
                bytes,
                limit: limits.memory_bytes,
            }),
            _ => Ok(()),
        }
    }

    /// Runs the node once on `input` in a fresh store, within `limits`, with storage through `gate`.
    ///
    /// The result is checked in this order: the input size (before anything runs); then, after the
    /// call, the first gate refusal (a refused call fails the run even if the guest carried on), a
    /// backend failure, a trap (fuel, memory, wall clock, other), the guest's own `run-error`, and
    /// finally the output: size, then JSON syntax.
    pub fn invoke<B: StorageBackend + 'static>(&self, input: &str, limits: &Limits, gate: Gate<B>) -> Invocation<B> {
        if input.len() as u64 > limits.max_input_bytes {
            let (backend, journal, refusals) = gate.finish();
            return Invocation {
                result: Err(InvokeError::InputTooLarge {
                    bytes: input.len() as u64,
                    limit: limits.max_input_bytes,
                }),
                fuel_used: 0,
                backend,
                journal,
                refusals,
            };
        }

        let profile = self.engine.profile();
        let state = HostState::new(Box::new(gate), limits, profile.fuel_per_host_byte);
        let mut store = Store::new(&self.engine.inner.wasmtime, state);
        store.limiter(|s| &mut s.limiter);
        // The deadline is counted in ticks from now; +1 because the first tick may come at once.
        store.set_epoch_deadline(limits.wall_clock_ms.div_ceil(profile.epoch_tick_ms).saturating_add(1));
        store.epoch_deadline_trap();

        let called = store.set_fuel(limits.fuel).and_then(|()| {
            let instance = self.pre.instantiate(&mut store)?;
            instance.sealed_capability_node().call_run(&mut store, input)
        });
        // `get_fuel` only fails when fuel is off, which `Engine::new` rules out.
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));

        let state = store.into_data();
        let gate = recover_gate::<B>(state.gate);
        let (backend, journal, refusals) = gate.finish();

        let result = if let Some(first) = refusals.first() {
            Err(InvokeError::from_refusal(first.clone()))
        } else if let Some(detail) = state.storage_failure {
            Err(InvokeError::StorageFailed(detail))
        } else {
            match called {
                Err(e) => Err(trap_error(e, state.limiter.hit, limits)),
                Ok(Err(RunError::InvalidInput(m))) => Err(InvokeError::InvalidInput(guest_message(m))),
                Ok(Err(RunError::Internal(m))) => Err(InvokeError::Internal(guest_message(m))),
                Ok(Ok(result)) => check_output(result.outcome, result.output, limits),
            }
        };
        Invocation {
            result,
            fuel_used,
            backend,
            journal,
            refusals,
        }
    }
}

fn recover_gate<B: StorageBackend + 'static>(gate: Box<dyn ErasedGate>) -> Gate<B> {
    let any: Box<dyn std::any::Any> = gate;
    match any.downcast::<Gate<B>>() {
        Ok(gate) => *gate,
        // `invoke` boxes exactly one `Gate<B>` into the store and takes it out again here, with the
        // same `B`: no other value can be in the box.
        Err(_) => unreachable!("the store of an invocation holds the Gate<B> it was given"),
    }
}

/// Classifies an error out of instantiation or the call.
fn trap_error(e: wasmtime::Error, limit_hit: Option<String>, limits: &Limits) -> InvokeError {
    match (e.downcast_ref::<Trap>(), limit_hit) {
        (Some(Trap::OutOfFuel), _) => InvokeError::FuelExhausted { limit: limits.fuel },
        (Some(Trap::Interrupt), _) => InvokeError::WallClock {
            limit_ms: limits.wall_clock_ms,
        },
        // A limiter refusal surfaces as a plain error (or, for some grow paths, as a trap): the flag
        // the limiter set is what identifies it.
        (_, Some(detail)) => InvokeError::MemoryLimit { detail },
        // Counts (instances, tables, memories) are refused by wasmtime itself while instantiating, with a
        // plain error and no limiter callback, so the message is the only mark (wasmtime is pinned; the
        // engine tests provoke it).
        (_, None) if format!("{e:#}").contains("resource limit exceeded") => InvokeError::MemoryLimit {
            detail: format!(
                "{e:#} (limits.instances = {} bounds the component's core instances, and its tables and \
                 memories)",
                limits.instances
            ),
        },
        _ => InvokeError::Trap {
            message: format!("{e:#}"),
        },
    }
}

/// The longest outcome name a component may return. Outcomes are edge names declared in the snapshot; a
/// longer one could never route, and would only be copied into the trace, the report and the terminal.
pub const MAX_OUTCOME_BYTES: usize = 128;

/// How much of a guest's `run-error` message the host keeps (the rest is cut, marked with `…`): the
/// message is copied into the trace, the report and `--json`, so its size is the host's to bound.
pub const MAX_GUEST_MESSAGE_BYTES: usize = 4096;

fn guest_message(message: String) -> String {
    if message.len() <= MAX_GUEST_MESSAGE_BYTES {
        return message;
    }
    format!(
        "{} (message cut: {} bytes in all)",
        sealed_snapshot::quote::truncate(&message, MAX_GUEST_MESSAGE_BYTES),
        message.len()
    )
}

fn check_output(outcome: String, output: String, limits: &Limits) -> Result<NodeOutput, InvokeError> {
    if outcome.len() > MAX_OUTCOME_BYTES {
        return Err(InvokeError::OutcomeTooLong {
            prefix: sealed_snapshot::quote::quote_prefix(&outcome),
            bytes: outcome.len() as u64,
            limit: MAX_OUTCOME_BYTES as u64,
        });
    }
    if output.len() as u64 > limits.max_output_bytes {
        return Err(InvokeError::OutputTooLarge {
            bytes: output.len() as u64,
            limit: limits.max_output_bytes,
        });
    }
    let value = serde_json::from_str(&output).map_err(|e| InvokeError::OutputNotJson { detail: e.to_string() })?;
    Ok(NodeOutput { outcome, output, value })
}
