//! Racing runs: 8 separate processes (this test binary re-executed as children) and 8 threads, each with
//! its own `Store`, race on one registry key and on one event stream. The write lock held by each run
//! makes the registry insert exactly-once and the stream gap-free.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use sealed_capability::InsertOutcome;
use sealed_store::Store;

const RACERS: usize = 8;
const ENV_ROLE: &str = "SEALED_STORE_RACE_ROLE";
const ENV_ROOT: &str = "SEALED_STORE_RACE_ROOT";
const ENV_ID: &str = "SEALED_STORE_RACE_ID";
const RESULT_PREFIX: &str = "RACE-RESULT ";

/// One racer's work: one run that either inserts the shared registry key or appends to the shared
/// stream, holding the lock a little to make the others wait. Returns what the guest would have seen.
fn race_once(root: &Path, role: &str, id: &str) -> String {
    let store = Store::open(root).unwrap();
    let started = Instant::now();
    let mut tx = store.begin_run(&format!("{role}-{id}")).unwrap();
    let waited_ms = started.elapsed().as_millis();
    let outcome = match role {
        "registry" => match insert(&mut tx, "actors", "AC_shared", b"the same bytes").unwrap() {
            InsertOutcome::Inserted => "inserted".to_string(),
            InsertOutcome::AlreadyExists => "already_exists".to_string(),
        },
        "events" => append(&mut tx, "audit", "stream", id.as_bytes()).to_string(),
        other => panic!("unknown role {other}"),
    };
    std::thread::sleep(Duration::from_millis(10));
    tx.commit(record("OK")).unwrap();
    format!("{outcome} {waited_ms}")
}

/// Splits the racers' "<outcome> <waited ms>" lines, and checks that they really contended: with every
/// run holding the lock for 10 ms, whoever came last waited for the others.
fn outcomes(results: &[String]) -> Vec<&str> {
    let mut max_wait = 0u64;
    let out = results
        .iter()
        .map(|r| {
            let (outcome, waited) = r.split_once(' ').unwrap();
            max_wait = max_wait.max(waited.parse().unwrap());
            outcome
        })
        .collect();
    assert!(
        max_wait >= 10,
        "no racer ever waited for the lock ({results:?}): the race did not happen"
    );
    out
}

/// The child side: does nothing unless started by `race_processes` (ignored so that a normal test run
/// does not list it as a test of its own).
#[test]
#[ignore = "child process of the race tests"]
fn race_child() {
    let (Ok(role), Ok(root), Ok(id)) = (std::env::var(ENV_ROLE), std::env::var(ENV_ROOT), std::env::var(ENV_ID)) else {
        return;
    };
    let root = PathBuf::from(root);
    // Barrier: announce readiness, then wait for the parent's go so that all racers start together.
    std::fs::write(root.join(format!("ready-{id}")), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !root.join("go").exists() {
        assert!(Instant::now() < deadline, "no go signal");
        std::thread::sleep(Duration::from_millis(1));
    }
    let result = race_once(&root.join("data"), &role, &id);
    println!("{RESULT_PREFIX}{result}");
}

fn race_processes(role: &str) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    // Created up front so that the racers race on runs, not on creating the schema (tested separately).
    drop(Store::open(&dir.path().join("data")).unwrap());
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..RACERS)
        .map(|i| {
            Command::new(&exe)
                .args(["race_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"])
                .env(ENV_ROLE, role)
                .env(ENV_ROOT, dir.path())
                .env(ENV_ID, i.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while (0..RACERS).any(|i| !dir.path().join(format!("ready-{i}")).exists()) {
        assert!(Instant::now() < deadline, "racers did not get ready");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::write(dir.path().join("go"), b"").unwrap();
    let results = children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "racer failed: {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
            stdout
                .lines()
                // libtest prints "test race_child ... " without a newline before the test's output.
                .find_map(|l| l.split_once(RESULT_PREFIX).map(|(_, r)| r.trim()))
                .unwrap_or_else(|| panic!("racer printed no result: {stdout}"))
                .to_string()
        })
        .collect();
    (dir, results)
}

fn race_threads(role: &'static str) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    drop(Store::open(&root).unwrap());
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(RACERS));
    let handles: Vec<_> = (0..RACERS)
        .map(|i| {
            let (root, barrier) = (root.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                race_once(&root, role, &i.to_string())
            })
        })
        .collect();
    (dir, handles.into_iter().map(|h| h.join().unwrap()).collect())
}

fn check_registry(dir: &Path, results: &[String]) {
    let results = outcomes(results);
    let inserted = results.iter().filter(|r| **r == "inserted").count();
    let existing = results.iter().filter(|r| **r == "already_exists").count();
    assert_eq!((inserted, existing), (1, RACERS - 1), "{results:?}");
    let store = Store::open(&dir.join("data")).unwrap();
    assert_eq!(store.stats().unwrap().registry_rows, 1);
    assert_eq!(
        store.registry_get("actors", "AC_shared").unwrap().as_deref(),
        Some(&b"the same bytes"[..])
    );
    assert_eq!(store.ledger_head().unwrap().runs_committed, RACERS as u64);
}

fn check_events(dir: &Path, results: &[String]) {
    let mut seqs: Vec<u64> = outcomes(results).iter().map(|r| r.parse().unwrap()).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=RACERS as u64).collect::<Vec<_>>(), "{results:?}");
    let store = Store::open(&dir.join("data")).unwrap();
    let stored: Vec<u64> = store
        .events_read("audit", "stream", 1, 100)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(stored, (1..=RACERS as u64).collect::<Vec<_>>());
    assert_eq!(store.events_len("audit", "stream").unwrap(), RACERS as u64);
    assert_eq!(store.ledger_head().unwrap().runs_committed, RACERS as u64);
}

#[test]
fn racing_processes_insert_a_registry_key_exactly_once() {
    let (dir, results) = race_processes("registry");
    check_registry(dir.path(), &results);
}

#[test]
fn racing_processes_append_gap_free() {
    let (dir, results) = race_processes("events");
    check_events(dir.path(), &results);
}

#[test]
fn racing_threads_insert_a_registry_key_exactly_once() {
    let (dir, results) = race_threads("registry");
    check_registry(dir.path(), &results);
}

#[test]
fn racing_threads_append_gap_free() {
    let (dir, results) = race_threads("events");
    check_events(dir.path(), &results);
}

/// Several stores opening one fresh data root at once: exactly one creates the schema, all succeed.
#[test]
fn racing_opens_of_a_fresh_data_root_all_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("fresh");
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(RACERS));
    let handles: Vec<_> = (0..RACERS)
        .map(|i| {
            let (root, barrier) = (root.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let store = Store::open(&root).unwrap();
                commit_run(&store, &format!("open-{i}"), |tx| {
                    append(tx, "l", "s", b"x");
                });
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let store = Store::open(&root).unwrap();
    assert_eq!(store.events_len("l", "s").unwrap(), RACERS as u64);
    assert_eq!(store.ledger_head().unwrap().runs_committed, RACERS as u64);
}
