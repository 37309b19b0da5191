//! Load benchmark of `host serve`: `cargo bench -p sealed-host --bench serve` (release).
//!
//! Cargo builds the `host` binary with the bench profile (release) and hands its path to this benchmark
//! (`CARGO_BIN_EXE_host`, i.e. `target/release/host`); no separate build step. For each store size (a data
//! root pre-filled with 100 and with 100,000 registrations) it starts `host serve --listen 127.0.0.1:0`, warms
//! it up, then for 1 and for 16 concurrent clients runs a bounded load: each client is a thread with one
//! keep-alive TCP connection posting register-actor payloads with a unique email (every run takes the
//! `REGISTERED` path: three nodes, one registry insert, one event, a durable commit, trace fsync, attestation)
//! for a fixed time, then stops. It prints runs/s, p50 and p99 latency per cell, and the median of each run
//! phase from the runs' `<run-id>.timing.json`, to show what bounds throughput.
//!
//! The pre-fill is written through the store's own API in one transaction (one `RunTx` inserting n
//! registrations and their events, committed as one run): the rows a store has after n runs, with a valid
//! ledger, without paying for n runs (100,000 runs through the server would take over half an hour here),
//! then checkpointed (`PRAGMA wal_checkpoint(TRUNCATE)`) so the first cell does not pay for folding its WAL.
//!
//! Knobs: `SEALED_SERVE_BENCH_SECS` (seconds per cell, default 10), `SEALED_SERVE_BENCH_SIZES` (comma
//! separated, default `100,100000`), `SEALED_SERVE_BENCH_WORKERS` (`--workers`, default the server's own).
//! Under `cargo test --benches` (no `--bench` argument) it runs a seconds-long smoke version.
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

fn prefill(dir: &Path, n: usize) {
    common::prefill(dir, &snapshot_dir(), n);
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(data: &Path, cache: &Path, workers: Option<&str>) -> Server {
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
    /// Server CPU time (user + system) spent during the cell, seconds.
    cpu_secs: f64,
    clients: usize,
    store: usize,
    runs: usize,
    other: usize,
    secs: f64,
    latencies_us: Vec<u64>,
    run_ids: Vec<String>,
}

fn payload(tag: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"actor": {"email": format!("{tag}@bench.example"), "first_name": "B", "last_name": "Q"}}),
    )
    .unwrap()
}

/// `clients` threads, each one keep-alive connection, posting unique payloads until `limit` passed or
/// `max_each` requests were made.
fn load(
    addr: SocketAddr,
    clients: usize,
    limit: Duration,
    max_each: usize,
    tag: &str,
) -> (Vec<(u64, Option<String>)>, f64) {
    let started = Instant::now();
    let deadline = started + limit;
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let tag = format!("{tag}-{c}");
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
                    let id = (r.status == 200 && r.json()["data"]["status"] == "REGISTERED")
                        .then(|| r.json()["data"]["run_id"].as_str().unwrap_or_default().to_string());
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

/// Median of each phase of the runs' `<run-id>.timing.json`, plus the part outside the named phases
/// (run id, trace open, `run_start`, and recording: `run_end`, trace fsync, attestation).
fn phases(data: &Path, ids: &[String]) -> BTreeMap<String, f64> {
    let mut by_phase: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for id in ids {
        let path = data.join("traces").join(id).join(format!("{id}.timing.json"));
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
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let t = Instant::now();
        prefill(&data, size);
        println!("pre-filled {size} registrations in {:.2} s", t.elapsed().as_secs_f64());
        let server = Server::start(&data, &cache, workers.as_deref());
        // Warm-up: first runs open connections, fault in the pool's memory, fill SQLite's page cache.
        let _ = load(server.addr, 2, Duration::from_secs(2), 10, &format!("warm-{size}"));
        for clients in [1usize, 16] {
            let cpu_before = server.cpu_secs();
            let (results, elapsed) = load(
                server.addr,
                clients,
                Duration::from_secs(secs),
                max_each,
                &format!("s{size}-c{clients}"),
            );
            let mut latencies: Vec<u64> = results
                .iter()
                .filter(|(_, id)| id.is_some())
                .map(|(us, _)| *us)
                .collect();
            latencies.sort_unstable();
            let run_ids: Vec<String> = results.iter().filter_map(|(_, id)| id.clone()).collect();
            cells.push(Cell {
                cpu_secs: server.cpu_secs() - cpu_before,
                clients,
                store: size,
                runs: run_ids.len(),
                other: results.len() - run_ids.len(),
                secs: elapsed,
                latencies_us: latencies,
                run_ids,
            });
        }
        for c in cells.iter().filter(|c| c.store == size) {
            phase_tables.push((size, c.clients, phases(&data, &c.run_ids)));
        }
        server.stop();
    }

    let cpus = std::thread::available_parallelism().map_or(1, usize::from) as f64;
    println!(
        "\n| clients | store size | runs | runs/s | p50 ms | p99 ms | server CPU ms/run | server CPU use (of {cpus} CPUs) | other answers |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for c in &cells {
        println!(
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.0}% | {} |",
            c.clients,
            c.store,
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
        .flat_map(|(_, _, p)| p.keys().cloned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    println!("| store | clients | {} |", names.join(" | "));
    println!("|---|---|{}", "---|".repeat(names.len()));
    for (size, clients, p) in &phase_tables {
        let row: Vec<String> = names
            .iter()
            .map(|n| p.get(n).map_or("-".into(), |v| format!("{v:.2}")))
            .collect();
        println!("| {size} | {clients} | {} |", row.join(" | "));
    }
    assert!(
        cells.iter().all(|c| c.runs > 0 && c.other == 0),
        "every request must be a REGISTERED run"
    );
}
