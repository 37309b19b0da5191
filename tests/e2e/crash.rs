//! Crash consistency of a data root: `host run` processes are killed with SIGKILL at random moments, one
//! after another on the same data root, and then every invariant of the store and of the traces is
//! checked ([`harness::audit`]): no half-committed run, no orphan row, gap-free streams, a ledger that
//! counts and chains exactly the committed runs, and no trace that claims a commit the store lacks.
//!
//! Each iteration starts two runs at once on the data root (so kills also hit a lock holder while the
//! other run waits for the lock, and the survivor must commit on top of what the dead one left), each
//! chosen by a seeded PRNG: register-actor with a new email (3 nodes) or an already registered one (2
//! nodes), review-claim with a new small claim (5 nodes, the widest commit window: a registry insert and a
//! state compare-and-swap), an already approved one (4 nodes) or a large one (3 nodes, an event append).
//! Each process gets its own fate:
//! * 10% never killed (its exact status is checked);
//! * 15% killed 0-40 ms after spawn (process start, engine, keys, trace creation);
//! * 20% killed anywhere within a whole run's duration (measured by two calibration runs first);
//! * 30% killed 0-1 ms after its trace holds the last node's line: in the commit or right after it;
//! * 15% killed 0-1 ms after a node line that is not the last: while a node executes;
//! * 10% killed 0-1 ms after `run_start` or `admission`: verify, prepare, waiting for the lock.
//!
//! Each kill is classified post mortem by what the trace and the store show (startup, before the first
//! node, executing, commit not yet durable, committed but trace unfinished, after `run_end`); in CI mode
//! the first four must all have been hit, so the test cannot quietly stop testing the commit window.
//! Runs that finish before their kill must have the exact status their payload implies.
//!
//! CI mode: 200 kills (about 2-3 minutes on 2 cores; every `host run` compiles its components). Longer:
//! `SEALED_CRASH_KILLS=2000 cargo test -p sealed-tests --test e2e crash:: -- --nocapture`. The schedule is
//! reproducible: the seed is printed, and `SEALED_CRASH_SEED=<n>` replays it (up to timing).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::harness;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use harness::{Outcome, Rng, RunSpec, actor, claim, complete_lines, payload_file};
use sealed_store::Store;

const CI_KILLS: u64 = 200;
const DEFAULT_SEED: u64 = 0x5EA1_ED0C_4A5B_0001;
const CUSTOMERS: [&str; 3] = ["acme", "globex", "initech"];

/// Where a kill landed, judged from the evidence it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    /// No complete trace line yet: process start, engine, keys, trace file creation.
    Startup,
    /// `run_start` (and maybe `admission`) written, no node yet: verify, admission, prepare, lock.
    BeforeNodes,
    /// Some but not all nodes of the run's path recorded; nothing committed.
    Executing,
    /// Every node recorded, the run not in the store: killed in or just before the commit.
    CommitNotDurable,
    /// In the store, but the trace has no `run_end`: killed after COMMIT, before the trace was finished.
    CommittedTraceOpen,
    /// The trace was complete: killed while exiting (attestation, timing file, process exit).
    AfterRunEnd,
}

/// One planned run: what to start, how many nodes its path visits, and the status it must end with.
struct Plan {
    spec: RunSpec,
    nodes: usize,
    status: &'static str,
    /// Remembered when the run commits, so later runs can re-use it as a duplicate.
    registers: Option<String>,
    approves: Option<String>,
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

fn lines_written(trace: &Path) -> usize {
    std::fs::read(trace)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0)
}

fn plan(rng: &mut Rng, i: u64, data: &Path, payloads: &Path, registered: &[String], approved: &[String]) -> Plan {
    let run_id = format!("crash-{i:05}");
    let roll = rng.below(100);
    let pick = |rng: &mut Rng, v: &[String]| v[rng.below(v.len() as u64) as usize].clone();
    let customer = CUSTOMERS[rng.below(CUSTOMERS.len() as u64) as usize];
    if roll < 20 && !registered.is_empty() {
        let email = pick(rng, registered);
        let p = payload_file(payloads, &run_id, &actor(&email));
        return Plan {
            spec: RunSpec::register(data, p, &run_id),
            nodes: 2,
            status: "ALREADY_REGISTERED",
            registers: None,
            approves: None,
        };
    }
    if roll < 24 && !approved.is_empty() {
        let id = pick(rng, approved);
        let p = payload_file(payloads, &run_id, &claim(&id, customer, 100));
        return Plan {
            spec: RunSpec::review(data, p, &run_id),
            nodes: 4,
            status: "ALREADY_DECIDED",
            registers: None,
            approves: None,
        };
    }
    if roll < 62 {
        let email = format!("crash{i}@example.org");
        let p = payload_file(payloads, &run_id, &actor(&email));
        return Plan {
            spec: RunSpec::register(data, p, &run_id),
            nodes: 3,
            status: "REGISTERED",
            registers: Some(email),
            approves: None,
        };
    }
    let id = format!("CL-{i:06}");
    if roll < 86 {
        let p = payload_file(payloads, &run_id, &claim(&id, customer, 1 + rng.below(1000)));
        Plan {
            spec: RunSpec::review(data, p, &run_id),
            nodes: 5,
            status: "APPROVED",
            registers: None,
            approves: Some(id),
        }
    } else {
        let p = payload_file(payloads, &run_id, &claim(&id, customer, 1001 + rng.below(100_000)));
        Plan {
            spec: RunSpec::review(data, p, &run_id),
            nodes: 3,
            status: "ESCALATED",
            registers: None,
            approves: None,
        }
    }
}

/// Checks a run that finished on its own: exit 0, the planned status, committed, and in the store as such.
fn check_completed(plan: &Plan, out: &Outcome, store: &Store, violations: &mut Vec<String>) {
    let id = &plan.spec.run_id;
    let row = store.run(id).unwrap();
    let ok = out.exit == Some(0)
        && out.status.as_deref() == Some(plan.status)
        && out.committed
        && row.as_ref().map(|r| r.status.as_str()) == Some(plan.status);
    if !ok {
        violations.push(format!(
            "run {id} finished with exit {:?}, status {} (committed {}), store row {:?}; expected {}\n{}{}",
            out.exit,
            out.status(),
            out.committed,
            row.map(|r| r.status),
            plan.status,
            out.stdout,
            out.stderr
        ));
    }
}

/// Classifies a kill by the trace and the store; a combination that cannot happen is a violation.
fn classify(plan: &Plan, store: &Store, violations: &mut Vec<String>) -> Phase {
    let id = &plan.spec.run_id;
    let lines = complete_lines(&plan.spec.trace());
    let nodes = lines.iter().filter(|l| l["type"] == "node").count();
    let ended = lines.iter().any(|l| l["type"] == "run_end");
    let committed = store.run(id).unwrap().is_some();
    if ended {
        return Phase::AfterRunEnd;
    }
    if committed {
        if nodes != plan.nodes {
            violations.push(format!(
                "run {id} is committed but its trace recorded {nodes} of {} nodes",
                plan.nodes
            ));
        }
        return Phase::CommittedTraceOpen;
    }
    match (lines.len(), nodes) {
        (0, _) => Phase::Startup,
        (_, 0) => Phase::BeforeNodes,
        (_, n) if n < plan.nodes => Phase::Executing,
        _ => Phase::CommitNotDurable,
    }
}

/// When to kill one process.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// Let it finish (its status is checked).
    Never,
    /// This long after spawn.
    After(Duration),
    /// `delay` after its trace has `lines` complete lines.
    AtLine { lines: usize, delay: Duration },
}

fn choose_kill(rng: &mut Rng, plan: &Plan, whole_run: Duration) -> Kill {
    let micros = |rng: &mut Rng, max: u64| Duration::from_micros(rng.below(max.max(1)));
    // Trace lines: run_start, admission, then one per node; the last node's line opens the commit window.
    let all = 2 + plan.nodes;
    match rng.below(100) {
        0..10 => Kill::Never,
        10..25 => Kill::After(micros(rng, 40_000)),
        25..45 => Kill::After(micros(rng, whole_run.as_micros() as u64 * 11 / 10)),
        45..75 => Kill::AtLine {
            lines: all,
            delay: micros(rng, 1_000),
        },
        75..90 => Kill::AtLine {
            lines: 3 + rng.below(plan.nodes as u64 - 1) as usize,
            delay: micros(rng, 1_000),
        },
        _ => Kill::AtLine {
            lines: 1 + rng.below(2) as usize,
            delay: micros(rng, 1_000),
        },
    }
}

/// A started process of the current iteration.
struct Live {
    plan: Plan,
    kill: Kill,
    child: std::process::Child,
    spawned: Instant,
    /// When it is to be killed, once known.
    due: Option<Instant>,
    done: bool,
}

/// Runs one register-actor and one 5-node review-claim to completion (they are the first runs of the data
/// root, so they also create its run-signer key, which is not what this test kills; see the report) and
/// returns the longer wall-clock duration: the window the timed kills cover.
fn calibrate(data: &Path, payloads: &Path, store: &Store, violations: &mut Vec<String>) -> Duration {
    let register = Plan {
        spec: RunSpec::register(
            data,
            payload_file(payloads, "calibrate-0", &actor("calibrate@example.org")),
            "calibrate-0",
        ),
        nodes: 3,
        status: "REGISTERED",
        registers: None,
        approves: None,
    };
    let review = Plan {
        spec: RunSpec::review(
            data,
            payload_file(payloads, "calibrate-1", &claim("CL-999999", "acme", 10)),
            "calibrate-1",
        ),
        nodes: 5,
        status: "APPROVED",
        registers: None,
        approves: None,
    };
    let mut longest = Duration::ZERO;
    for p in [register, review] {
        let t = Instant::now();
        let out = p.spec.run();
        longest = longest.max(t.elapsed());
        check_completed(&p, &out, store, violations);
    }
    longest
}

#[test]
fn sigkill_at_random_moments_never_breaks_the_store() {
    let kills_target = env_u64("SEALED_CRASH_KILLS").unwrap_or(CI_KILLS);
    let seed = env_u64("SEALED_CRASH_SEED").unwrap_or(DEFAULT_SEED);
    sealed_tests::say!(
        "crash",
        "crash harness: seed {seed:#x} (SEALED_CRASH_SEED), {kills_target} kills (SEALED_CRASH_KILLS)"
    );
    let mut rng = Rng::new(seed);
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let payloads = tmp.path().join("payloads");
    harness::host_bin(); // build before the clock starts
    let store = Store::open(&data).unwrap();
    let mut violations = Vec::new();
    let whole_run = calibrate(&data, &payloads, &store, &mut violations);
    sealed_tests::say!("crash", "one complete run takes up to {} ms", whole_run.as_millis());

    let mut registered: Vec<String> = Vec::new();
    let mut approved: Vec<String> = Vec::new();
    let mut phases: BTreeMap<Phase, u64> = BTreeMap::new();
    let mut completed_by_status: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut kills, mut completed, mut committed, mut i) = (0u64, 0u64, 0u64, 0u64);
    let started = Instant::now();
    while kills < kills_target {
        // Two runs at a time: a kill often hits the lock holder while the other run waits for the lock,
        // and the survivor must then commit on top of whatever the dead one left.
        let mut live: Vec<Live> = Vec::new();
        for _ in 0..2 {
            i += 1;
            let plan = plan(&mut rng, i, &data, &payloads, &registered, &approved);
            let kill = choose_kill(&mut rng, &plan, whole_run);
            let child = plan.spec.spawn();
            live.push(Live {
                plan,
                kill,
                child,
                spawned: Instant::now(),
                due: None,
                done: false,
            });
        }
        loop {
            let now = Instant::now();
            for l in live.iter_mut().filter(|l| !l.done) {
                if l.child.try_wait().unwrap().is_some() {
                    l.done = true;
                    continue;
                }
                assert!(
                    l.spawned.elapsed() < Duration::from_secs(120),
                    "{} hangs",
                    l.plan.spec.run_id
                );
                match l.kill {
                    Kill::Never => {}
                    Kill::After(d) => l.due = Some(l.spawned + d),
                    Kill::AtLine { lines, delay } => {
                        if l.due.is_none() && lines_written(&l.plan.spec.trace()) >= lines {
                            l.due = Some(now + delay);
                        }
                    }
                }
                if l.due.is_some_and(|due| now >= due) {
                    // SIGKILL (Child::kill on Unix); harmless if it exited meanwhile (not reaped yet).
                    l.child.kill().unwrap();
                    l.done = true;
                }
            }
            if live.iter().all(|l| l.done) {
                break;
            }
            std::thread::sleep(Duration::from_micros(100));
        }
        for l in live {
            let output = l.child.wait_with_output().unwrap();
            let in_store = store.run(&l.plan.spec.run_id).unwrap().is_some();
            if output.status.signal() == Some(9) {
                kills += 1;
                *phases.entry(classify(&l.plan, &store, &mut violations)).or_default() += 1;
            } else {
                completed += 1;
                check_completed(&l.plan, &Outcome::from_output(&output), &store, &mut violations);
                *completed_by_status.entry(l.plan.status).or_default() += 1;
            }
            // What later runs may treat as already there: only what the store really has.
            if in_store {
                committed += 1;
                registered.extend(l.plan.registers.clone());
                approved.extend(l.plan.approves.clone());
            }
        }
    }
    let elapsed = started.elapsed();

    // The data root still works: a new actor registers.
    let last = format!("after-{i}");
    let p = payload_file(&payloads, &last, &actor("after-the-crashes@example.org"));
    let after = Plan {
        spec: RunSpec::register(&data, p, &last),
        nodes: 3,
        status: "REGISTERED",
        registers: None,
        approves: None,
    };
    check_completed(&after, &after.spec.run(), &store, &mut violations);
    drop(store);

    let audit = harness::audit(&data);
    sealed_tests::say!(
        "crash",
        "crash harness: {kills} kills, {completed} runs completed before their kill ({completed_by_status:?}), \
         {} processes started in {:.1} s",
        i,
        elapsed.as_secs_f64()
    );
    sealed_tests::say!("crash", "kills by phase: {phases:?}");
    sealed_tests::say!("crash", "store: {}", audit.summary());
    sealed_tests::say!(
        "crash",
        "runs committed by the loop: {committed} (completed {completed}, killed after COMMIT {})",
        committed.saturating_sub(completed)
    );
    let distinct: BTreeSet<_> = registered.iter().collect();
    assert_eq!(distinct.len(), registered.len(), "a unique email was registered twice");
    assert!(violations.is_empty(), "violations:\n  {}", violations.join("\n  "));
    audit.assert_clean();
    sealed_tests::say!("crash", "violations=0");
    // Recovery: the last run opened the data root after every kill, so no run is left without evidence —
    // not the ones killed after COMMIT, not the ones killed mid-run (they end RUN_INTERRUPTED).
    assert_eq!(
        (
            audit.committed_without_run_end,
            audit.traces_unfinished,
            audit.complete_without_attestation,
            audit.pending_markers
        ),
        (0, 0, 0, 0),
        "runs left without complete evidence after recovery: {}",
        audit.summary()
    );
    let (verified, interrupted) = verify_every_trace(&data);
    sealed_tests::say!(
        "crash",
        "every complete trace verifies: {verified} ({interrupted} ended RUN_INTERRUPTED by recovery)"
    );
    assert!(
        kills_target < CI_KILLS || interrupted > 0,
        "no run was recovered as interrupted: the schedule no longer tests recovery"
    );
    // The store holds exactly the 2 calibration runs, the runs seen committed after each iteration (every
    // completed one and the killed ones that got past COMMIT), and the final one: nothing else appeared.
    assert_eq!(audit.runs, 2 + committed + 1, "{}", audit.summary());
    if kills_target >= CI_KILLS {
        for phase in [
            Phase::Startup,
            Phase::BeforeNodes,
            Phase::Executing,
            Phase::CommitNotDurable,
        ] {
            assert!(
                phases.get(&phase).copied().unwrap_or(0) > 0,
                "no kill landed in {phase:?} ({phases:?}): the schedule no longer covers the run"
            );
        }
    }
}

/// `host verify`'s checks (chain, attestation signature by the data root's run signer, subjects) on every
/// complete trace of `data`; returns how many verified and how many of them recovery ended as interrupted.
fn verify_every_trace(data: &Path) -> (u64, u64) {
    let trust = sealed_host::keys::trust(&[data.join("keys/run-signer.pub.json")]).unwrap();
    let (mut verified, mut interrupted) = (0, 0);
    for entry in std::fs::read_dir(data.join("traces")).unwrap().flatten() {
        let run_id = entry.file_name().to_string_lossy().into_owned();
        let trace = harness::trace_path(data, &run_id);
        let Ok(t) = sealed_trace::parse_and_verify(&std::fs::read(&trace).unwrap_or_default()) else {
            continue; // killed before its first line: nothing ran (the audit counted unfinished ones)
        };
        let report = sealed_attest::verify_run(&trace, &trust, None);
        assert!(
            report.ok,
            "trace {run_id} does not verify: {:?}",
            report.failures().collect::<Vec<_>>()
        );
        verified += 1;
        let end = t.run_end().unwrap();
        if end.error.as_ref().is_some_and(|e| e.code == "RUN_INTERRUPTED") {
            interrupted += 1;
        }
    }
    (verified, interrupted)
}

/// A kill while the first run of a fresh data root creates its run-signer key (`<data-root>/keys`) must
/// not make the data root unusable. It once did (an empty `run-signer.key` after a kill between create and
/// write: 8 bricked data roots in 40); `host/src/keys.rs` now builds the key directory aside and renames it
/// into place, and `keygen` publishes each file with a hard link from a complete temporary file.
#[test]
fn a_kill_while_the_first_run_creates_its_key_does_not_brick_the_data_root() {
    let mut rng = Rng::new(env_u64("SEALED_CRASH_SEED").unwrap_or(DEFAULT_SEED));
    let tmp = tempfile::tempdir().unwrap();
    let payload = harness::workspace().join("snapshots/register-actor/payloads/valid.json");
    harness::host_bin();
    let mut bricked = Vec::new();
    for i in 0..40 {
        let data = tmp.path().join(format!("data-{i}"));
        let mut child = RunSpec::register(&data, payload.clone(), "first").spawn();
        let spawned = Instant::now();
        while !data.join("keys").exists() && spawned.elapsed() < Duration::from_secs(30) {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_micros(20));
        }
        std::thread::sleep(Duration::from_micros(rng.below(300)));
        child.kill().unwrap();
        child.wait().unwrap();
        let next = RunSpec::register(&data, payload.clone(), "second").run();
        if next.exit != Some(0) {
            bricked.push(format!("data-{i}: {:?} {:?}", next.error_code, next.error_message));
        }
    }
    assert!(
        bricked.is_empty(),
        "{} of 40 data roots unusable after one kill:\n  {}",
        bricked.len(),
        bricked.join("\n  ")
    );
}
