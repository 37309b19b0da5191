//! The server's configuration: the options as given (`host serve` flags), checked into a [`Config`].
//!
//! Owns the rules that decide whether the server may start at all: listening on a non-loopback address
//! needs a bearer token, worker and queue sizes are within what the engine can serve, the body cap is
//! positive. It must never load a snapshot or touch the data root (that is [`super::Server::start`]'s order
//! of work), and every refusal says why and how to fix it (`SERVE_CONFIG`).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::Duration;

use sealed_engine::{Allocator, Engine};

use super::auth::Token;
use crate::Failure;
use crate::engine::CacheLocation;

/// `--listen` default: loopback only.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8080));
/// `--max-body-bytes` default: 16 MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 16 << 20;
/// `--queue` default, per worker.
pub const QUEUE_PER_WORKER: usize = 4;
/// Upper bound of `--queue` (a queued request holds its body in memory).
pub const MAX_QUEUE: usize = 4096;
/// How long a client may take to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to send a request's body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Open connections at most; further clients wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 1024;
/// After SIGTERM, how long open connections may take to finish (their runs are bounded by the node
/// budgets and the store's busy wait, so this is only a backstop).
pub const DRAIN_LIMIT: Duration = Duration::from_secs(300);

/// The options of `host serve`, as given.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub snapshots: Vec<PathBuf>,
    pub data_root: PathBuf,
    pub listen: SocketAddr,
    pub run_key: Option<PathBuf>,
    pub trace_dir: Option<PathBuf>,
    pub cache: CacheLocation,
    pub token_file: Option<PathBuf>,
    pub workers: Option<usize>,
    pub queue: Option<usize>,
    pub max_body_bytes: u64,
    /// The store: the data root's SQLite database (default) or a shared PostgreSQL database.
    pub store: crate::store::StoreLocation,
}

/// The checked configuration: the options as given, and the token loaded from `token_file`.
#[derive(Debug)]
pub struct Config {
    pub options: ServeOptions,
    /// When set, every endpoint but `/healthz` requires `Authorization: Bearer <token>`.
    pub token: Option<Token>,
}

fn refuse(message: impl Into<String>) -> Failure {
    Failure::new("SERVE_CONFIG", message)
}

impl Config {
    /// Checks the options that need nothing loaded: snapshots given, the token file (if any), the listen
    /// address against the token, the body cap.
    pub fn check(o: ServeOptions) -> Result<Config, Failure> {
        if o.snapshots.is_empty() {
            return Err(refuse("no snapshot to serve: give --snapshot DIR (repeatable)"));
        }
        if o.max_body_bytes == 0 {
            return Err(refuse("--max-body-bytes must be at least 1"));
        }
        let token = o.token_file.as_deref().map(Token::load).transpose()?;
        if !o.listen.ip().to_canonical().is_loopback() && token.is_none() {
            return Err(refuse(format!(
                "refusing to listen on {} without --token-file: that address is reachable from other machines, and \
                 anyone who reaches it could run workflows on this data root and read every run's trace. Either \
                 listen on loopback (--listen 127.0.0.1:PORT, the default) or give --token-file FILE: a file only \
                 you can read (chmod 600) holding a random token of at least {} characters, e.g. `umask 077; \
                 openssl rand -hex 32 > FILE`; clients then send `Authorization: Bearer <token>`",
                o.listen,
                super::auth::MIN_TOKEN_LEN
            )));
        }
        Ok(Config { options: o, token })
    }

    /// Worker threads: `--workers`, else one per CPU; never more than the engine's instance pool can serve
    /// at once (each run instantiates one component at a time).
    pub fn worker_count(&self, engine: &Engine) -> Result<usize, Failure> {
        let cap = instance_capacity(engine);
        let workers = match self.options.workers {
            Some(0) => return Err(refuse("--workers must be at least 1")),
            Some(n) => n,
            None => std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(1)
                .min(cap.unwrap_or(usize::MAX)),
        };
        match cap {
            Some(cap) if workers > cap => Err(refuse(format!(
                "--workers {workers} is more than the engine's instance pool can serve at once ({cap} component \
                 instances and memories); use --workers {cap} or fewer"
            ))),
            _ => Ok(workers),
        }
    }

    /// Queue length: `--queue`, else [`QUEUE_PER_WORKER`] per worker; 1 to [`MAX_QUEUE`].
    pub fn queue_len(&self, workers: usize) -> Result<usize, Failure> {
        match self.options.queue {
            Some(0) => Err(refuse(
                "--queue must be at least 1 (requests beyond workers + queue are answered 503)",
            )),
            Some(n) if n > MAX_QUEUE => Err(refuse(format!("--queue {n} is above the maximum of {MAX_QUEUE}"))),
            Some(n) => Ok(n),
            None => Ok((workers * QUEUE_PER_WORKER).min(MAX_QUEUE)),
        }
    }
}

/// How many runs the engine's instance pool can hold at once (`None`: on-demand allocation, no pool).
/// A run executes one node at a time, so one component instance and its memories per busy worker; the
/// register-actor components each have one memory.
pub fn instance_capacity(engine: &Engine) -> Option<usize> {
    let p = engine.profile();
    (p.allocator == Allocator::Pooling).then(|| {
        let n = p.pooling.total_component_instances.min(p.pooling.total_memories);
        usize::try_from(n).unwrap_or(usize::MAX).max(1)
    })
}
