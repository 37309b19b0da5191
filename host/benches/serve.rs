//! Load benchmark of `host serve`: `cargo bench -p sealed-host --bench serve` (release).
//!
//! Cargo builds the `host` binary with the bench profile (release) and hands its path to this benchmark
//! (`CARGO_BIN_EXE_host`, i.e. `target/release/host`); no separate build step. For each store size (a store
//! pre-filled with 100 and with 100,000 registrations) and each store (SQLite in the data root with one
//! host; one PostgreSQL database shared by 1, 2 and 3 hosts, each host with its own data root) it starts
//! the hosts (`host serve --listen 127.0.0.1:0`), warms them up, then runs a bounded load: each client is a
//! thread with one keep-alive TCP connection to one host (round-robin) posting register-actor payloads with
//! a unique email (every run takes the `REGISTERED` path: three nodes, one registry insert, one event, a
//! durable commit, trace fsync, attestation) for a fixed time, then stops. 1 and 16 clients against one
//! host, 16 against several. It prints runs/s, p50 and p99 latency per cell, and the median of each run
//! phase from the runs' `<run-id>.timing.json`, to show what bounds throughput.
//!
//! The pre-fill is written through the store's own API in one transaction (one run transaction inserting
//! n registrations and their events, committed as one run): the rows a store has after n runs, with a
//! valid ledger, without paying for n runs (100,000 runs through the server would take over half an hour
//! here); SQLite's is then checkpointed (`PRAGMA wal_checkpoint(TRUNCATE)`) so the first cell does not pay
//! for folding its WAL.
//!
//! Knobs: `SEALED_SERVE_BENCH_SECS` (seconds per cell, default 10), `SEALED_SERVE_BENCH_SIZES` (comma
//! separated, default `100,100000`), `SEALED_SERVE_BENCH_STORES` (comma separated `sqlite` / `pgN` for N
//! hosts on one database; default `sqlite,pg1,pg2,pg3` when a PostgreSQL is available: `SEALED_TEST_PG`
//! or `cargo xtask pg start`, else `sqlite`, and it says so), `SEALED_SERVE_BENCH_WORKERS` (`--workers`,
//! default the server's own). Under `cargo test --benches` (no `--bench` argument) it runs a seconds-long
//! smoke version on SQLite.
//!
//! Needs `cargo xtask build-components` (the snapshot's components, for the compiled-component cache).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/http.rs"]
mod http;

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const HOST: &str = env!("CARGO_BIN_EXE_host");
const RUN_PATH: &str = "/v1/runs/register-actor/register_actor";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn snapshot_dir() -> PathBuf {
    workspace().join("snapshots/register-actor/sealed")
}

/// Where the hosts of a cell keep their store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// SQLite in the host's data root (the default store); always one host.
    Sqlite,
    /// One fresh PostgreSQL database shared by `hosts` hosts, each with its own data root.
    Postgres { hosts: usize },
}

impl Backend {
    fn parse(s: &str) -> Backend {
        match s.trim() {
            "sqlite" => Backend::Sqlite,
            pg => match pg.strip_prefix("pg").and_then(|n| n.parse().ok()) {
                Some(hosts) if hosts > 0 => Backend::Postgres { hosts },
                _ => panic!("SEALED_SERVE_BENCH_STORES: {pg:?} is neither `sqlite` nor `pgN` (N hosts, N >= 1)"),
            },
        }
    }

    fn hosts(self) -> usize {
        match self {
            Backend::Sqlite => 1,
            Backend::Postgres { hosts } => hosts,
        }
    }

    fn label(self) -> String {
        match self {
            Backend::Sqlite => "SQLite, 1 host".into(),
            Backend::Postgres { hosts: 1 } => "PostgreSQL, 1 host".into(),
            Backend::Postgres { hosts } => format!("PostgreSQL, {hosts} hosts"),
        }
    }
}

/// The PostgreSQL server the bench may use: `SEALED_TEST_PG`, else the one `cargo xtask pg start` started.
fn pg_available() -> bool {
    std::env::var("SEALED_TEST_PG").is_ok_and(|v| !v.trim().is_empty())
        || std::fs::read_to_string(workspace().join("target/pg-test/url")).is_ok_and(|v| !v.trim().is_empty())
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(data: &Path, store: Option<&str>, cache: &Path, workers: Option<&str>) -> Server {
        let mut cmd = Command::new(HOST);
        cmd.args(["serve", "--snapshot"])
            .arg(snapshot_dir())
            .arg("--trust")
            .arg(workspace().join("snapshots/trust.json"))
            .arg("--data-root")
            .arg(data)
            .arg("--cache-dir")
            .arg(cache)
            .args(["--listen", "127.0.0.1:0", "--queue", "64"]);
        if let Some(w) = workers {
            cmd.args(["--workers", w]);
        }
        if let Some(url) = store {
            cmd.args(["--store", url]);
        }
        let mut child = cmd
            .env_remove("SEALED_CACHE_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Server { child, addr }
    }

    /// CPU time (user + system) the server process has used so far, seconds (Linux `/proc`).
    fn cpu_secs(&self) -> f64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // After the command name (in parentheses) come `state` (field 3), ...; utime and stime are fields 14 and 15.
        let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let f: Vec<&str> = after.split_whitespace().collect();
        let field = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        let ticks = field(11) + field(12);
        ticks / 100.0 // USER_HZ
    }

    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one load cell measured.
struct Cell {
    backend: Backend,
    /// Server CPU time (user + system) of all the cell's hosts during the cell, seconds.
    cpu_secs: f64,
    clients: usize,
    store: usize,
    runs: usize,
    other: usize,
    secs: f64,
    latencies_us: Vec<u64>,
}

fn payload(tag: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"actor": {"email": format!("{tag}@bench.example"), "first_name": "B", "last_name": "Q"}}),
    )
    .unwrap()
}

/// One answered request: its latency and, for a REGISTERED run, which host ran it and its run id.
type Answer = (u64, Option<(usize, String)>);

/// `clients` threads, each one keep-alive connection to one of `addrs` (round-robin: client `c` talks to
/// host `c % addrs.len()`), posting unique payloads until `limit` passed or `max_each` requests were made.
fn load(addrs: &[SocketAddr], clients: usize, limit: Duration, max_each: usize, tag: &str) -> (Vec<Answer>, f64) {
    let started = Instant::now();
    let deadline = started + limit;
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let tag = format!("{tag}-{c}");
            let host = c % addrs.len();
            let addr = addrs[host];
            std::thread::spawn(move || {
                let mut client = http::Client::new(addr);
                let mut out = Vec::new();
                for i in 0..max_each {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let body = payload(&format!("{tag}-{i}"));
                    let t = Instant::now();
                    let r = client.request("POST", RUN_PATH, &[], &body).unwrap();
                    let us = t.elapsed().as_micros() as u64;
                    let id = (r.status == 200 && r.json()["data"]["status"] == "REGISTERED").then(|| {
                        (
                            host,
                            r.json()["data"]["run_id"].as_str().unwrap_or_default().to_string(),
                        )
                    });
                    if id.is_none() {
                        eprintln!("non-REGISTERED answer {}: {}", r.status, r.text());
                    }
                    out.push((us, id));
                }
                out
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    (results, started.elapsed().as_secs_f64())
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median of each phase of the runs' `<run-id>.timing.json` (in the data root of the host that ran
/// each), plus the part outside the named phases (run id, trace open, `run_start`, and recording:
/// `run_end`, trace fsync, attestation).
fn phases(data_roots: &[PathBuf], ids: &[(usize, String)]) -> BTreeMap<String, f64> {
    let mut by_phase: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for (host, id) in ids {
        let path = data_roots[*host]
            .join("traces")
            .join(id)
            .join(format!("{id}.timing.json"));
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let t: Value = serde_json::from_slice(&bytes).unwrap();
        let total = t["total_ms"].as_f64().unwrap_or(0.0);
        let mut named = 0.0;
        for (phase, ms) in t["phases_ms"].as_object().into_iter().flatten() {
            let ms = ms.as_f64().unwrap_or(0.0);
            named += ms;
            by_phase.entry(phase.clone()).or_default().push(ms);
        }
        by_phase
            .entry("~other (id, trace, record)".into())
            .or_default()
            .push(total - named);
        by_phase.entry("~total".into()).or_default().push(total);
    }
    by_phase.into_iter().map(|(k, v)| (k, median(v))).collect()
}

/// The store of one cell: a SQLite data root, or a fresh PostgreSQL database (dropped with it).
struct CellStore {
    url: Option<String>,
    _db: Option<sealed_store_postgres::testing::FreshDb>,
}

/// Creates the cell's store, pre-filled with `size` registrations, and the hosts' data roots under `dir`.
fn cell_store(backend: Backend, dir: &Path, size: usize) -> (CellStore, Vec<PathBuf>) {
    let roots: Vec<PathBuf> = (0..backend.hosts()).map(|h| dir.join(format!("host-{h}"))).collect();
    let t = Instant::now();
    let store = match backend {
        Backend::Sqlite => {
            common::prefill(&roots[0], &snapshot_dir(), size);
            CellStore { url: None, _db: None }
        }
        Backend::Postgres { .. } => {
            let db = sealed_store_postgres::testing::FreshDb::create();
            let pg = sealed_store_postgres::PgStore::open(&db.url, Duration::from_secs(30)).unwrap();
            common::prefill_store(&pg, &snapshot_dir(), size);
            drop(pg);
            CellStore {
                url: Some(db.url.clone()),
                _db: Some(db),
            }
        }
    };
    println!(
        "{}: pre-filled {size} registrations in {:.2} s",
        backend.label(),
        t.elapsed().as_secs_f64()
    );
    (store, roots)
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let secs: u64 = std::env::var("SEALED_SERVE_BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if bench_mode { 10 } else { 1 });
    let sizes: Vec<usize> = std::env::var("SEALED_SERVE_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|s| s.trim().parse().ok()).collect())
        .unwrap_or_else(|| if bench_mode { vec![100, 100_000] } else { vec![100] });
    // PostgreSQL cells need a server: asked for explicitly, its absence fails the bench (FreshDb says
    // how to get one); by default they run when one is there, and the output says when they did not.
    let backends: Vec<Backend> = match std::env::var("SEALED_SERVE_BENCH_STORES") {
        Ok(v) => v.split(',').map(Backend::parse).collect(),
        Err(_) if bench_mode && pg_available() => vec![
            Backend::Sqlite,
            Backend::Postgres { hosts: 1 },
            Backend::Postgres { hosts: 2 },
            Backend::Postgres { hosts: 3 },
        ],
        Err(_) => {
            if bench_mode {
                println!(
                    "PostgreSQL cells NOT run: no server (`cargo xtask pg start`, or SEALED_TEST_PG); SQLite only"
                );
            }
            vec![Backend::Sqlite]
        }
    };
    let workers = std::env::var("SEALED_SERVE_BENCH_WORKERS").ok();
    let max_each = if bench_mode { 100_000 } else { 20 };
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-bench-cache");
    println!(
        "host serve load benchmark: binary {HOST}, {secs} s per cell, {} CPUs, workers {}",
        std::thread::available_parallelism().map_or(1, usize::from),
        workers.as_deref().unwrap_or("default (one per CPU)")
    );

    let mut cells = Vec::new();
    let mut phase_tables = Vec::new();
    for &size in &sizes {
        for &backend in &backends {
            let dir = tempfile::tempdir().unwrap();
            let (store, roots) = cell_store(backend, dir.path(), size);
            let servers: Vec<Server> = roots
                .iter()
                .map(|root| Server::start(root, store.url.as_deref(), &cache, workers.as_deref()))
                .collect();
            let addrs: Vec<SocketAddr> = servers.iter().map(|s| s.addr).collect();
            // Warm-up: first runs open connections, fault in the pool's memory, fill the page cache.
            let _ = load(
                &addrs,
                2 * addrs.len(),
                Duration::from_secs(2),
                10,
                &format!("warm-{size}"),
            );
            // One client only measures latency; with several hosts it would leave all but one idle.
            let levels: &[usize] = if backend.hosts() == 1 { &[1, 16] } else { &[16] };
            let cpu = |servers: &[Server]| servers.iter().map(Server::cpu_secs).sum::<f64>();
            for &clients in levels {
                let cpu_before = cpu(&servers);
                let tag = format!("s{size}-{}-c{clients}", backend.hosts());
                let (results, elapsed) = load(&addrs, clients, Duration::from_secs(secs), max_each, &tag);
                let mut latencies: Vec<u64> = results
                    .iter()
                    .filter(|(_, id)| id.is_some())
                    .map(|(us, _)| *us)
                    .collect();
                latencies.sort_unstable();
                let run_ids: Vec<(usize, String)> = results.iter().filter_map(|(_, id)| id.clone()).collect();
                phase_tables.push((backend, size, clients, phases(&roots, &run_ids)));
                cells.push(Cell {
                    backend,
                    cpu_secs: cpu(&servers) - cpu_before,
                    clients,
                    store: size,
                    runs: run_ids.len(),
                    other: results.len() - run_ids.len(),
                    secs: elapsed,
                    latencies_us: latencies,
                });
            }
            for server in servers {
                server.stop();
            }
            drop(store);
        }
    }

    let cpus = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    println!(
        "\n| store, hosts | store size | clients | runs | runs/s | p50 ms | p99 ms | server CPU ms/run | server CPU use (of {cpus} CPUs) | other answers |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for c in &cells {
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.0}% | {} |",
            c.backend.label(),
            c.store,
            c.clients,
            c.runs,
            c.runs as f64 / c.secs,
            percentile(&c.latencies_us, 0.50),
            percentile(&c.latencies_us, 0.99),
            c.cpu_secs * 1e3 / c.runs.max(1) as f64,
            c.cpu_secs / c.secs / cpus * 100.0,
            c.other
        );
    }
    println!(
        "\nmedian ms per run phase (from <run-id>.timing.json; lock = waiting for and taking the store's write lock)"
    );
    let names: Vec<String> = phase_tables
        .iter()
        .flat_map(|(_, _, _, p)| p.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!("| store, hosts | store size | clients | {} |", names.join(" | "));
    println!("|---|---|---|{}", "---|".repeat(names.len()));
    for (backend, size, clients, p) in &phase_tables {
        let row: Vec<String> = names
            .iter()
            .map(|n| p.get(n).map_or("-".into(), |v| format!("{v:.2}")))
            .collect();
        println!("| {} | {size} | {clients} | {} |", backend.label(), row.join(" | "));
    }
    assert!(
        cells.iter().all(|c| c.runs > 0 && c.other == 0),
        "every request must be a REGISTERED run"
    );
}
