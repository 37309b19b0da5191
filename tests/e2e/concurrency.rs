//! Concurrent `host run` processes on one data root: SQLite's write lock, held by each run from its
//! first storage call to its commit, must make them behave as if they ran one after another.
//!
//! * `eight_processes_register_the_same_actor_exactly_once`: 8 processes, one payload, a fresh data root.
//! * `mixed_workflows_from_eight_processes_lose_no_write`: 8 workers × 4 runs of register-actor (new and
//!   shared emails) and review-claim (new, shared and escalated claims), every invariant audited after.
//! * `a_held_write_lock_fails_the_run_with_store_busy_and_says_so`: a run that cannot get the lock within
//!   `SEALED_BUSY_WAIT_MS` fails closed with `STORE_BUSY`, an untouched store and a trace that says so.
//!
//! Every process gets the same explicit `--run-key` (made once per test): creating the default key in a
//! fresh data root is not what these tests are about (see the report on its first-use race).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use harness::{Outcome, RunSpec, actor, claim, payload_file, workspace};
use sealed_attest::Role;
use sealed_store::Store;
use serde_json::Value;

fn run_key(dir: &Path) -> PathBuf {
    sealed_attest::keygen(dir, Role::RunSigner, "run-signer").unwrap();
    dir.join("run-signer.key")
}

fn with_key(mut spec: RunSpec, key: &Path) -> RunSpec {
    spec.run_key = Some(key.to_path_buf());
    spec
}

/// `(started_unix_ms, ended_unix_ms)` of a run, from its timing file.
fn lifetime(data: &Path, run_id: &str) -> (f64, f64) {
    let path = data.join("traces").join(run_id).join(format!("{run_id}.timing.json"));
    let t: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let start = t["started_unix_ms"].as_f64().unwrap();
    (start, start + t["total_ms"].as_f64().unwrap())
}

/// The id `make_id` generated in a finished run (from its verified trace).
fn generated_id(data: &Path, run_id: &str) -> String {
    let bytes = std::fs::read(harness::trace_path(data, run_id)).unwrap();
    let trace = sealed_trace::parse_and_verify(&bytes).unwrap();
    let node = trace.nodes().find(|n| n.node == "make_id").unwrap();
    node.output.as_ref().unwrap()["id"].as_str().unwrap().to_string()
}

#[test]
fn eight_processes_register_the_same_actor_exactly_once() {
    const N: usize = 8;
    let tmp = tempfile::tempdir().unwrap();
    let key = run_key(&tmp.path().join("keys"));
    // Not created yet: the 8 processes also race to create the schema.
    let data = tmp.path().join("data");
    let payload = workspace().join("snapshots/register-actor/payloads/valid.json");
    harness::host_bin();

    let specs: Vec<RunSpec> = (0..N)
        .map(|i| with_key(RunSpec::register(&data, payload.clone(), &format!("same-{i}")), &key))
        .collect();
    let children: Vec<_> = specs.iter().map(RunSpec::spawn).collect();
    let outs: Vec<Outcome> = children
        .into_iter()
        .map(|c| Outcome::from_output(&c.wait_with_output().unwrap()))
        .collect();

    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    for (spec, out) in specs.iter().zip(&outs) {
        assert_eq!(out.exit, Some(0), "{}: {}{}", spec.run_id, out.stdout, out.stderr);
        assert!(out.committed, "{}: {}", spec.run_id, out.stdout);
        *by_status.entry(out.status().to_string()).or_default() += 1;
    }
    sealed_tests::say!("concurrency", "8 racing processes: {by_status:?}");
    assert_eq!(by_status.get("REGISTERED"), Some(&1), "{by_status:?}");
    assert_eq!(by_status.get("ALREADY_REGISTERED"), Some(&(N - 1)), "{by_status:?}");

    // They really ran at the same time: every process was alive when the last one started.
    let lives: Vec<(f64, f64)> = specs.iter().map(|s| lifetime(&data, &s.run_id)).collect();
    let last_start = lives.iter().map(|l| l.0).fold(f64::MIN, f64::max);
    let first_end = lives.iter().map(|l| l.1).fold(f64::MAX, f64::min);
    assert!(
        last_start < first_end,
        "the runs did not overlap (last start {last_start}, first end {first_end}): no race happened"
    );

    let winner = specs
        .iter()
        .zip(&outs)
        .find(|(_, o)| o.status() == "REGISTERED")
        .map(|(s, _)| s.run_id.clone())
        .unwrap();
    let id = generated_id(&data, &winner);
    let audit = harness::audit(&data);
    sealed_tests::say!("concurrency", "store: {}", audit.summary());
    audit.assert_clean();
    assert_eq!((audit.registry_rows, audit.event_rows), (1, 1), "{}", audit.summary());
    assert_eq!((audit.runs, audit.ledger_runs_committed), (N as u64, N as u64));
    let store = Store::open(&data).unwrap();
    let sent: Value = serde_json::from_slice(&std::fs::read(&payload).unwrap()).unwrap();
    let expected = sealed_snapshot::canonical::to_vec(&sent["actor"]).unwrap();
    let stored = store.registry_get("actors", &id).unwrap();
    assert_eq!(
        stored.as_deref().map(String::from_utf8_lossy),
        Some(String::from_utf8_lossy(&expected)),
        "the actor row under {id}"
    );
    assert_eq!(store.events_len("actor-events", &id).unwrap(), 1);

    // The evidence of every racer holds up offline: each attestation verifies against the run key and
    // the snapshot, and each run replays from its own journal to its chain head, the winner's insert and
    // the losers' ALREADY_EXISTS alike. Chained ledger heads differ per run but are recomputed exactly.
    let trust = sealed_host::keys::trust(&[
        tmp.path().join("keys/run-signer.pub.json"),
        workspace().join("snapshots/trust.json"),
    ])
    .unwrap();
    let snapshot = workspace().join("snapshots/register-actor/sealed");
    let engine = sealed_engine::Engine::new(sealed_engine::EngineProfile::default()).unwrap();
    for spec in &specs {
        let trace = harness::trace_path(&data, &spec.run_id);
        let report = sealed_attest::verify_run(&trace, &trust, Some(&snapshot));
        assert!(
            report.ok,
            "{}: {:?}",
            spec.run_id,
            report.failures().collect::<Vec<_>>()
        );
        let replay = sealed_host::replay::replay(&engine, &trace, &snapshot).unwrap();
        assert!(replay.ok, "{}: {:?}", spec.run_id, replay.divergences);
    }
    sealed_tests::say!(
        "concurrency",
        "registry rows=1 events=1 runs={N} verified={N} replayed={N} violations=0"
    );
}

/// What one run of the mixed test is and what it may end with.
#[derive(Clone)]
struct Job {
    spec: RunSpec,
    kind: &'static str,
    /// Several processes share this payload: exactly one of them does the work.
    shared: Option<String>,
}

#[test]
fn mixed_workflows_from_eight_processes_lose_no_write() {
    const WORKERS: usize = 8;
    const RUNS: usize = 4;
    let tmp = tempfile::tempdir().unwrap();
    let key = run_key(&tmp.path().join("keys"));
    let data = tmp.path().join("data");
    let payloads = tmp.path().join("payloads");
    harness::host_bin();
    let customers = ["acme", "globex", "initech"];

    // Worker w runs its 4 jobs in an order rotated by w, so every kind overlaps with every other.
    let mut plans: Vec<Vec<Job>> = Vec::new();
    for w in 0..WORKERS {
        let mut jobs = Vec::new();
        for r in 0..RUNS {
            let run_id = format!("w{w}-r{r}");
            let job = match (r + w) % RUNS {
                0 => Job {
                    spec: RunSpec::register(
                        &data,
                        payload_file(&payloads, &run_id, &actor(&format!("worker{w}@example.org"))),
                        &run_id,
                    ),
                    kind: "register-new",
                    shared: None,
                },
                1 => {
                    let email = format!("shared{}@example.org", w % 2);
                    Job {
                        spec: RunSpec::register(&data, payload_file(&payloads, &run_id, &actor(&email)), &run_id),
                        kind: "register-shared",
                        shared: Some(email),
                    }
                }
                2 => Job {
                    spec: RunSpec::review(
                        &data,
                        payload_file(
                            &payloads,
                            &run_id,
                            &claim(&format!("CL-1{w:03}"), customers[w % 3], 100 + w as u64),
                        ),
                        &run_id,
                    ),
                    kind: "claim-new",
                    shared: None,
                },
                _ if w % 2 == 0 => Job {
                    spec: RunSpec::review(
                        &data,
                        payload_file(&payloads, &run_id, &claim(&format!("CL-2{w:03}"), "acme", 5000)),
                        &run_id,
                    ),
                    kind: "claim-large",
                    shared: None,
                },
                _ => Job {
                    spec: RunSpec::review(
                        &data,
                        payload_file(&payloads, &run_id, &claim("CL-7777", "globex", 500)),
                        &run_id,
                    ),
                    kind: "claim-shared",
                    shared: Some("CL-7777".into()),
                },
            };
            jobs.push(Job {
                spec: with_key(job.spec.clone(), &key),
                ..job
            });
        }
        plans.push(jobs);
    }

    let started = Instant::now();
    let results: Vec<(Job, Outcome)> = std::thread::scope(|s| {
        let handles: Vec<_> = plans
            .iter()
            .map(|jobs| s.spawn(move || jobs.iter().map(|j| (j.clone(), j.spec.run())).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed();

    // Per-run outcomes, and exactly one winner per shared payload.
    let mut winners: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut successful = 0u64;
    for (job, out) in &results {
        let id = &job.spec.run_id;
        assert_eq!(out.exit, Some(0), "{id} ({}): {}{}", job.kind, out.stdout, out.stderr);
        assert!(out.committed, "{id}: {}", out.stdout);
        successful += 1;
        *by_status.entry(out.status().to_string()).or_default() += 1;
        let allowed: &[&str] = match job.kind {
            "register-new" => &["REGISTERED"],
            "register-shared" => &["REGISTERED", "ALREADY_REGISTERED"],
            "claim-new" => &["APPROVED"],
            "claim-shared" => &["APPROVED", "ALREADY_DECIDED"],
            _ => &["ESCALATED"],
        };
        assert!(
            allowed.contains(&out.status()),
            "{id} ({}) ended {}",
            job.kind,
            out.status()
        );
        if let Some(shared) = &job.shared
            && matches!(out.status(), "REGISTERED" | "APPROVED")
        {
            *winners.entry(shared.clone()).or_default() += 1;
        }
    }
    sealed_tests::say!(
        "concurrency",
        "{} runs from {WORKERS} workers in {:.1} s: {by_status:?}",
        results.len(),
        elapsed.as_secs_f64()
    );
    let expected_winners: BTreeMap<String, usize> = [
        ("CL-7777".to_string(), 1),
        ("shared0@example.org".to_string(), 1),
        ("shared1@example.org".to_string(), 1),
    ]
    .into();
    assert_eq!(
        winners, expected_winners,
        "each shared payload must be done exactly once"
    );

    // No lost write: every REGISTERED run's actor row is there with its bytes, and its event.
    let store = Store::open(&data).unwrap();
    for (job, out) in &results {
        if out.status() == "REGISTERED" {
            let id = generated_id(&data, &job.spec.run_id);
            assert!(
                store.registry_get("actors", &id).unwrap().is_some(),
                "{} lost its actor row",
                job.spec.run_id
            );
            assert_eq!(store.events_len("actor-events", &id).unwrap(), 1, "{}", job.spec.run_id);
        }
    }
    let ledger = store.ledger_head().unwrap();
    assert_eq!(
        ledger.runs_committed, successful,
        "ledger vs successful runs reported by the processes"
    );
    drop(store);

    let audit = harness::audit(&data);
    sealed_tests::say!("concurrency", "store: {}", audit.summary());
    audit.assert_clean();
    // No duplicate keys: exactly the distinct payloads' rows. 8 new + 2 shared actors; 8 new + 1 shared claims.
    assert_eq!(audit.registry_rows, 8 + 2 + 8 + 1, "{}", audit.summary());
    // Events: one per registered actor, one per escalation (4 on the one `acme` stream, seqs 1..=4).
    assert_eq!(audit.event_rows, 10 + 4, "{}", audit.summary());
    assert_eq!(audit.runs, successful);
    sealed_tests::say!(
        "concurrency",
        "runs={} ledger={} registry={} events={} violations=0",
        audit.runs,
        audit.ledger_runs_committed,
        audit.registry_rows,
        audit.event_rows
    );
}

#[test]
fn a_held_write_lock_fails_the_run_with_store_busy_and_says_so() {
    const WAIT_MS: u64 = 300;
    let tmp = tempfile::tempdir().unwrap();
    let key = run_key(&tmp.path().join("keys"));
    let data = tmp.path().join("data");
    let payloads = workspace().join("snapshots/register-actor/payloads");
    harness::host_bin();
    // A store with a committed run in it, so "untouched" compares real rows.
    let first = with_key(RunSpec::register(&data, payloads.join("valid.json"), "seed"), &key).run();
    assert_eq!(first.status(), "REGISTERED", "{}{}", first.stdout, first.stderr);

    let store = Store::open(&data).unwrap();
    let digest = store.content_digest().unwrap();
    let ledger = store.ledger_head().unwrap();
    let holder = store.begin_run("lock-holder").unwrap();

    let mut spec = with_key(RunSpec::register(&data, payloads.join("valid-2.json"), "busy"), &key);
    spec.env.push(("SEALED_BUSY_WAIT_MS".into(), WAIT_MS.to_string()));
    let t = Instant::now();
    let out = spec.run();
    let took = t.elapsed();
    let message = out.error_message.clone().unwrap_or_default();
    sealed_tests::say!(
        "concurrency",
        "busy run: exit {:?}, {} after {} ms: {message}",
        out.exit,
        out.status(),
        took.as_millis()
    );
    assert_eq!(out.exit, Some(4), "{}{}", out.stdout, out.stderr);
    assert_eq!(out.error_code.as_deref(), Some("STORE_BUSY"), "{}", out.stdout);
    assert_eq!(out.status(), "FAILED");
    assert!(!out.committed);
    assert!(
        message.contains("busy") && message.contains("write lock"),
        "the message must say what happened: {message}"
    );
    // It waited the configured time, not the 30 s default.
    let waited: u64 = message
        .split("after waiting ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no wait time in {message:?}"));
    assert!((WAIT_MS..5_000).contains(&waited), "waited {waited} ms");
    assert!(took >= Duration::from_millis(WAIT_MS), "{took:?}");

    // The evidence: a verified trace whose run_end records STORE_BUSY, no node ran, nothing committed.
    let bytes = std::fs::read(spec.trace()).unwrap();
    let trace = sealed_trace::parse_and_verify(&bytes).unwrap();
    let end = trace.run_end().unwrap();
    let error = end.error.as_ref().unwrap();
    assert_eq!(error.code, "STORE_BUSY");
    assert!(
        !error.deterministic,
        "a busy store is a property of the machine, not of the inputs"
    );
    assert!(!end.committed && end.ledger_after.is_none());
    assert_eq!(trace.nodes().count(), 0, "no node may run without the lock");

    // Untouched store (the holder wrote nothing; its rollback must leave the same state).
    holder.rollback().unwrap();
    assert_eq!(store.content_digest().unwrap(), digest);
    assert_eq!(store.ledger_head().unwrap(), ledger);
    assert!(store.run("busy").unwrap().is_none());

    // The lock was the only reason: once it is free, the same payload registers.
    let again = with_key(
        RunSpec::register(&data, payloads.join("valid-2.json"), "busy-retry"),
        &key,
    )
    .run();
    assert_eq!(again.status(), "REGISTERED", "{}{}", again.stdout, again.stderr);
    drop(store);
    harness::audit(&data).assert_clean();
    sealed_tests::say!(
        "concurrency",
        "STORE_BUSY after {waited} ms (limit {WAIT_MS} ms); store untouched; retry REGISTERED"
    );
}
