//! `host serve`: a long-running HTTP service over preloaded sealed snapshots.
//!
//! Start-up ([`Server::start`]) checks the configuration (a non-loopback address needs a bearer token), loads
//! and verifies every snapshot once under the same signature policy as `host run`, prepares every workflow
//! (compiled components from the engine's caches), opens the store once, starts the fixed pool of run
//! workers and binds the listener. [`Server::run`] then answers requests until SIGTERM or SIGINT, finishes
//! every accepted run and returns.
//!
//! One module per job: [`config`] (options → a checked configuration), [`auth`] (the bearer token),
//! [`catalog`] (the loaded plans by snapshot name), [`pool`] (worker threads behind a bounded queue),
//! [`runs`] (`POST /v1/runs/{snapshot}/{workflow}`), [`evidence`] (`GET /v1/runs/{run-id}[/...]`),
//! [`metrics`] (`GET /metrics`), [`status`] (a run's end → an HTTP status), [`body`] (reading a request body
//! under its cap and deadline), [`reply`] (what a handler answers), [`routes`] (method and path → handler)
//! and [`http`] (connections, timeouts, graceful shutdown).
//!
//! This module owns the order of start-up and shutdown. It must never contain run semantics of its own:
//! a run is exactly `sealed_host::run::execute` against a preloaded plan, and a request is answered only
//! after `execute` returned (the run committed, its trace fsynced and its attestation written).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use sealed_storage::DataStore;

use crate::Failure;
use crate::run::TrustPolicy;

pub mod auth;
pub mod body;
pub mod catalog;
pub mod config;
pub mod evidence;
pub mod http;
pub mod metrics;
pub mod pool;
pub mod reply;
pub mod routes;
pub mod runs;
pub mod status;

pub use config::{DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES, ServeOptions};

/// Everything a request handler may use; shared by every connection.
pub struct State {
    pub catalog: catalog::Catalog,
    pub store: Arc<dyn DataStore>,
    pub pool: pool::Pool,
    pub metrics: Arc<metrics::Metrics>,
    pub engine: sealed_engine::Engine,
    /// Signs every run's attestation (role run-signer).
    pub run_key: Arc<sealed_attest::PrivateKey>,
    pub config: config::Config,
}

impl State {
    /// Where runs' directories are: `--trace-dir`, else `<data-root>/traces`.
    pub fn trace_root(&self) -> PathBuf {
        self.config
            .options
            .trace_dir
            .clone()
            .unwrap_or_else(|| self.config.options.data_root.join("traces"))
    }
}

/// A workflow that cannot run, found while preparing at start-up (its runs will fail with this failure).
#[derive(Debug, Clone)]
pub struct Unrunnable {
    pub snapshot: String,
    pub workflow: String,
    pub failure: Failure,
}

/// A started server: plans loaded, store open, workers running, listener bound. Nothing is answered until
/// [`Server::run`].
pub struct Server {
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
    state: Arc<State>,
    stop: http::StopSignal,
    unrunnable: Vec<Unrunnable>,
}

impl Server {
    /// Checks `options`, loads everything and binds the listener. Refuses (with a typed failure saying why
    /// and how to fix it) a non-loopback address without a token, an unusable token file, two snapshots of
    /// one name, a snapshot that does not verify under the trust policy, and an unusable store or address.
    pub fn start(options: ServeOptions, trust: TrustPolicy) -> Result<Server, Failure> {
        let config = config::Config::check(options)?;
        let engine = crate::engine::open_engine(config.options.cache.dir(Some(&config.options.data_root)).as_deref())?;
        let workers = config.worker_count(&engine)?;
        let queue = config.queue_len(workers)?;
        let run_key = crate::keys::run_key(&config.options.data_root, config.options.run_key.as_deref())?.0;

        let (catalog, unrunnable) = catalog::Catalog::load(&engine, &config.options.snapshots, &trust)?;
        for u in &unrunnable {
            tracing::info!(snapshot = %u.snapshot, workflow = %u.workflow, code = %u.failure.code,
                "workflow cannot run: {}", u.failure.message);
        }
        let store = config.options.store.open(&config.options.data_root)?;
        // Runs of an earlier server (or `host run`) that died before their evidence was complete; runs
        // dying later are completed by the next start or by `host recover`.
        for r in crate::run::recover(&config.options.data_root, &*store, &run_key) {
            tracing::warn!(run_id = %r.run_id, recovery = ?r.recovery, "interrupted run recovered at start");
        }
        let metrics = Arc::new(metrics::Metrics::default());
        let pool = pool::Pool::start(workers, queue, metrics.clone())?;

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            // Evidence reads and on-demand report rendering; runs never go here (they have the pool).
            .max_blocking_threads(2)
            .thread_name("sealed-serve-io")
            .build()
            .map_err(|e| Failure::new("SERVE_CONFIG", format!("cannot start the I/O runtime: {e}")))?;
        let (listener, local_addr, stop) = {
            let _guard = runtime.enter();
            let listener = http::bind(config.options.listen)?;
            let local_addr = listener
                .local_addr()
                .map_err(|e| Failure::new("SERVE_CONFIG", format!("cannot read the bound address: {e}")))?;
            (listener, local_addr, http::StopSignal::install()?)
        };
        tracing::info!(%local_addr, workers, queue, snapshots = ?catalog.names(), "serving");
        let state = Arc::new(State {
            catalog,
            store,
            pool,
            metrics,
            engine,
            run_key,
            config,
        });
        Ok(Server {
            runtime,
            listener,
            local_addr,
            state,
            stop,
            unrunnable,
        })
    }

    /// The address actually bound (the real port when `--listen` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The workflows found unable to run at start-up.
    pub fn unrunnable(&self) -> &[Unrunnable] {
        &self.unrunnable
    }

    /// Worker threads and queue length in use.
    pub fn capacity(&self) -> (usize, usize) {
        (self.state.pool.workers(), self.state.pool.queue_len())
    }

    /// Answers requests until SIGTERM or SIGINT; then stops accepting, lets every accepted request finish
    /// (its run executes and is answered), drains the queue and stops the workers.
    pub fn run(self) -> Result<(), Failure> {
        let Server {
            runtime,
            listener,
            state,
            stop,
            ..
        } = self;
        runtime.block_on(http::serve(listener, state.clone(), stop));
        // Every connection is closed (or the drain limit passed): no new job can arrive. Queued jobs still
        // run, then the workers stop.
        state.pool.close_and_join();
        drop(runtime);
        Ok(())
    }
}
