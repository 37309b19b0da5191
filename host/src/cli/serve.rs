//! `host serve`: a long-running HTTP service over preloaded sealed snapshots (the server itself is
//! `sealed_host::serve`; this module only parses its flags and prints its start-up lines).

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use sealed_host::serve::{DEFAULT_LISTEN, DEFAULT_MAX_BODY_BYTES, ServeOptions, Server};

use super::{CacheArgs, TrustArgs, fail};

// The command's doc comment (its `--help` text) is on `Command::Serve` in main.rs.
#[derive(Args)]
pub struct ServeArgs {
    /// Sealed snapshot directory to serve (repeatable). Requests name it by its manifest name:
    /// POST /v1/runs/{name}/{workflow}. Two snapshots of one name are refused.
    #[arg(long, required = true)]
    pub snapshot: Vec<PathBuf>,
    /// Data root: holds the SQLite store (`sealed.db`) and, by default, `traces/`.
    #[arg(long)]
    pub data_root: PathBuf,
    /// Address and port to listen on. Any address but loopback requires --token-file.
    #[arg(long, default_value_t = DEFAULT_LISTEN, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub trust: TrustArgs,
    /// run-signer private key for the attestations (default: <data-root>/keys/run-signer.key, created on
    /// first use).
    #[arg(long)]
    pub run_key: Option<PathBuf>,
    /// Where run directories go (default: <data-root>/traces).
    #[arg(long)]
    pub trace_dir: Option<PathBuf>,
    #[command(flatten)]
    pub cache: CacheArgs,
    /// File holding the bearer token clients must send (`Authorization: Bearer <token>`) on every
    /// endpoint but /healthz. Must be mode 0600 (or stricter) and hold 32+ visible characters.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Run worker threads (default: one per CPU, at most what the engine's instance pool serves).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Runs accepted beyond those executing (default: 4 per worker); more concurrent requests are
    /// answered 503 with Retry-After.
    #[arg(long)]
    pub queue: Option<usize>,
    /// Largest request body accepted, bytes (413 beyond).
    #[arg(long, default_value_t = DEFAULT_MAX_BODY_BYTES, value_name = "N")]
    pub max_body_bytes: u64,
    /// The store: `data-root` (SQLite in the data root, the default) or a PostgreSQL URL
    /// (postgres://user@host:port/db) shared by many hosts. Keys and traces stay in the data root.
    #[arg(long, value_name = "STORE", default_value = "data-root", value_parser = sealed_host::store::parse_store_arg)]
    pub store: sealed_host::store::StoreLocation,
}

/// Starts the server, prints `listening on http://ADDR`, and serves until SIGTERM/SIGINT (exit 0). A server
/// that cannot start exits 5 with the reason.
pub fn execute(args: ServeArgs, json_mode: bool) -> anyhow::Result<u8> {
    let ServeArgs {
        snapshot,
        data_root,
        listen,
        trust,
        run_key,
        trace_dir,
        cache,
        token_file,
        workers,
        queue,
        max_body_bytes,
        store,
    } = args;
    let trust = match trust.policy() {
        Ok(t) => t,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let options = ServeOptions {
        snapshots: snapshot,
        data_root,
        listen,
        run_key,
        trace_dir,
        cache: cache.location(),
        token_file,
        workers,
        queue,
        max_body_bytes,
        store,
    };
    let server = match Server::start(options, trust) {
        Ok(s) => s,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    for u in server.unrunnable() {
        eprintln!(
            "host: WARNING: workflow {}/{} cannot run ({}: {}); its requests will fail",
            u.snapshot, u.workflow, u.failure.code, u.failure.message
        );
    }
    let (workers, queue) = server.capacity();
    eprintln!("host: serving with {workers} run workers and a queue of {queue}");
    // The one stdout line: tests and scripts read the real port from it.
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{}", server.local_addr())?;
    out.flush()?;
    drop(out);
    match server.run() {
        Ok(()) => Ok(0),
        Err(f) => Ok(fail(&f, json_mode)),
    }
}
