//! Process-level harness shared by `crash.rs` and `concurrency.rs`: the `host` binary, starting
//! `host --json run` as a child process, payload files, a seeded PRNG, and [`audit`], which checks every
//! invariant of a data root after arbitrary crashes or races.
//!
//! It owns only test plumbing; it must never repair, retry or otherwise change a data root it audits
//! (it opens the store the way any later run would, which lets SQLite recover its WAL, and then only reads).

// Each test binary includes this module and uses a different part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

use rusqlite::{Connection, OpenFlags};
use serde_json::{Value, json};

/// The checkout (this file is `tests/harness/mod.rs`; the crate root is `tests/`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

pub fn snapshot(name: &str) -> PathBuf {
    workspace().join("snapshots").join(name).join("sealed")
}

/// The `host` binary, built for the profile this test was built with.
///
/// `env!("CARGO_BIN_EXE_host")` exists only in the integration tests of the package that owns the binary
/// (sealed-host), not in a dependent package like this one (artifact dependencies, which would provide
/// it, are unstable). So the binary is found next to this test binary: `<target>/<profile>/deps/<test>`
/// → `<target>/<profile>/host`. It is (re)built with `cargo build -p sealed-host --bin host` first, every
/// time, not only when missing: `cargo test -p sealed-tests` builds the sealed-host *library* but not
/// its binary, so an existing `host` may predate the sources under test (cargo makes this a no-op when it
/// is fresh; the outer `cargo test` has released the build lock by the time tests run). If cargo itself
/// cannot be started (the test binary was run by hand), an existing binary is used with a warning.
pub fn host_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // `cargo xtask test` names the binary that `cargo test --workspace` built (with the workspace's
        // unified features). Building it again here with `-p sealed-host` alone would resolve features
        // differently and recompile a good part of the dependency tree (minutes on two cores).
        if let Some(bin) = std::env::var_os("SEALED_HOST_BIN").map(PathBuf::from) {
            assert!(bin.is_file(), "SEALED_HOST_BIN={} is not a file", bin.display());
            return bin;
        }
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("test binary lives in <target>/<profile>/deps")
            .to_path_buf();
        let target_dir = profile_dir.parent().expect("<target>/<profile>").to_path_buf();
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_string();
        let bin = profile_dir.join(format!("host{}", std::env::consts::EXE_SUFFIX));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "--quiet", "-p", "sealed-host", "--bin", "host"])
            .current_dir(workspace())
            .env("CARGO_TARGET_DIR", &target_dir);
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        match cmd.status() {
            Ok(s) if s.success() => {}
            Ok(s) => panic!("`cargo build -p sealed-host --bin host` failed ({s})"),
            Err(e) if bin.exists() => {
                eprintln!("warning: cannot run cargo ({e}); using the existing {}", bin.display());
            }
            Err(e) => panic!(
                "cannot run cargo to build the host binary ({e}) and {} is missing",
                bin.display()
            ),
        }
        assert!(bin.exists(), "{} missing after the build", bin.display());
        bin
    })
    .clone()
}

/// One `host --json run` invocation.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub snapshot: String,
    pub workflow: String,
    pub payload: PathBuf,
    pub data_root: PathBuf,
    pub run_id: String,
    /// `--run-key`; by default the host uses (and on first use creates) `<data-root>/keys/run-signer.key`.
    pub run_key: Option<PathBuf>,
    pub env: Vec<(String, String)>,
}

impl RunSpec {
    pub fn register(data_root: &Path, payload: PathBuf, run_id: &str) -> Self {
        Self::new("register-actor", "register_actor", data_root, payload, run_id)
    }

    pub fn review(data_root: &Path, payload: PathBuf, run_id: &str) -> Self {
        Self::new("review-claim", "review_claim", data_root, payload, run_id)
    }

    fn new(snapshot: &str, workflow: &str, data_root: &Path, payload: PathBuf, run_id: &str) -> Self {
        Self {
            snapshot: snapshot.into(),
            workflow: workflow.into(),
            payload,
            data_root: data_root.to_path_buf(),
            run_id: run_id.into(),
            run_key: None,
            env: Vec::new(),
        }
    }

    pub fn command(&self) -> Command {
        let mut cmd = Command::new(host_bin());
        cmd.arg("--json")
            .arg("run")
            .arg("--snapshot")
            .arg(snapshot(&self.snapshot))
            .arg("--wf")
            .arg(&self.workflow)
            .arg("--payload")
            .arg(&self.payload)
            .arg("--data-root")
            .arg(&self.data_root)
            .arg("--run-id")
            .arg(&self.run_id)
            // The example snapshots are signed; their trust root is checked as in production.
            .arg("--trust")
            .arg(workspace().join("snapshots").join("trust.json"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(key) = &self.run_key {
            cmd.arg("--run-key").arg(key);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn spawn(&self) -> Child {
        self.command().spawn().expect("spawning host")
    }

    pub fn run(&self) -> Outcome {
        Outcome::from_output(&self.command().output().expect("running host"))
    }

    /// The run's trace file.
    pub fn trace(&self) -> PathBuf {
        trace_path(&self.data_root, &self.run_id)
    }
}

pub fn trace_path(data_root: &Path, run_id: &str) -> PathBuf {
    data_root.join("traces").join(run_id).join(format!("{run_id}.jsonl"))
}

/// What a finished `host --json run` said.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Option<i32>,
    pub status: Option<String>,
    pub committed: bool,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn from_output(out: &Output) -> Self {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let v: Value = serde_json::from_str(stdout.trim()).unwrap_or(Value::Null);
        Outcome {
            exit: out.status.code(),
            status: v["data"]["status"].as_str().map(String::from),
            committed: v["data"]["committed"].as_bool().unwrap_or(false),
            error_code: v["error"]["code"].as_str().map(String::from),
            error_message: v["error"]["message"].as_str().map(String::from),
            stdout,
            stderr,
        }
    }

    pub fn status(&self) -> &str {
        self.status.as_deref().unwrap_or("<none>")
    }
}

/// Writes `value` as `<dir>/<name>.json` and returns the path.
pub fn payload_file(dir: &Path, name: &str, value: &Value) -> PathBuf {
    std::fs::create_dir_all(dir).expect("payload dir");
    let path = dir.join(format!("{name}.json"));
    std::fs::write(&path, serde_json::to_vec(value).expect("payload JSON")).expect("writing payload");
    path
}

pub fn actor(email: &str) -> Value {
    json!({"actor": {"email": email, "first_name": "Test", "last_name": "Actor"}})
}

/// A claim; `amount` ≤ 1000 takes the 5-node approval path, above it the escalation path.
pub fn claim(id: &str, customer: &str, amount: u64) -> Value {
    json!({"claim": {"id": id, "customer": customer, "amount": amount, "currency": "EUR"}})
}

/// SplitMix64: a seeded, dependency-free PRNG (reproducible kill schedules).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The lines of a (possibly truncated) trace that were written completely, parsed as JSON. A SIGKILL
/// can only cut the file between `write` calls, and each line is one `write`; a torn tail is dropped.
pub fn complete_lines(trace: &Path) -> Vec<Value> {
    let Ok(bytes) = std::fs::read(trace) else {
        return Vec::new();
    };
    let end = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    bytes[..end]
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

/// The result of [`audit`]: counts, and every broken invariant (must be empty).
#[derive(Debug, Default)]
pub struct Audit {
    pub runs: u64,
    pub ledger_runs_committed: u64,
    pub registry_rows: u64,
    pub event_rows: u64,
    pub state_rows: u64,
    pub streams: u64,
    /// Committed runs per `workflow/status`.
    pub by_status: BTreeMap<String, u64>,
    /// Trace files found / complete (end with a verified `run_end`) / complete and `committed: true`.
    pub traces: u64,
    pub traces_complete: u64,
    pub traces_committed: u64,
    /// Runs in the store whose trace has no `run_end` (the process died between COMMIT and the last
    /// trace line, and no later open of the data root has completed it yet).
    pub committed_without_run_end: u64,
    /// Traces with at least one complete line but no `run_end` (any run, committed or not) — none is
    /// left once the data root was opened again (recovery completes them).
    pub traces_unfinished: u64,
    /// Complete traces without their attestation beside them.
    pub complete_without_attestation: u64,
    /// Published markers (`<run-id>.json`) left under `<data-root>/pending`: runs not yet recovered.
    pub pending_markers: u64,
    /// Unpublished markers (`<run-id>.tmp`) left by a process killed while creating its marker, before
    /// its run started. Recovery removes them only once older than its grace period, so a fresh one is
    /// expected; the audit checks that its run neither committed nor wrote a trace.
    pub unpublished_markers: u64,
    pub violations: Vec<String>,
}

impl Audit {
    pub fn summary(&self) -> String {
        format!(
            "runs={} ledger={} registry={} events={} (streams {}) state={} by_status={:?} traces={} \
             complete={} committed={} committed_without_run_end={} unfinished={} unattested={} pending={} \
             unpublished={} violations={}",
            self.runs,
            self.ledger_runs_committed,
            self.registry_rows,
            self.event_rows,
            self.streams,
            self.state_rows,
            self.by_status,
            self.traces,
            self.traces_complete,
            self.traces_committed,
            self.committed_without_run_end,
            self.traces_unfinished,
            self.complete_without_attestation,
            self.pending_markers,
            self.unpublished_markers,
            self.violations.len()
        )
    }

    fn violation(&mut self, v: String) {
        self.violations.push(v);
    }

    /// Panics with every violation if there is any.
    pub fn assert_clean(&self) {
        assert!(
            self.violations.is_empty(),
            "{} invariant violation(s):\n  {}\n{}",
            self.violations.len(),
            self.violations.join("\n  "),
            self.summary()
        );
    }
}

struct RunRowLite {
    run_id: String,
    position: i64,
    workflow: String,
    status: String,
    write_count: i64,
    write_set_digest: String,
    ledger_before: String,
    ledger_after: String,
}

/// Checks a data root written by the example workflows (register-actor, review-claim):
///
/// * SQLite `integrity_check` is ok; the ledger row counts exactly the `runs` rows;
/// * `runs` positions are 1..=n; each run chains from the previous one's ledger head and its own head is
///   `next_ledger_head(before, run_id, write_set_digest)`; the last head is the ledger's; no run is left
///   half-written (the placeholders of a claimed-but-uncommitted run);
/// * every committed run is complete: exactly the rows its terminal status implies exist, written by it
///   (REGISTERED: one `actors` row and one `actor-events` event under the same key with the same bytes;
///   APPROVED: one `approved-claims` row; ESCALATED: one `escalations` event; other statuses: nothing);
/// * every data row belongs to a committed run, and writes are conserved: Σ write_count = registry rows +
///   event rows + Σ state versions (registry and events are never overwritten; a state version counts
///   its writes);
/// * `last-approved-claim/<customer>` is at version = number of APPROVED runs for that customer (a lost
///   or duplicated compare-and-swap would break it);
/// * every event stream's seqs are exactly 1..=len (no gap, no duplicate);
/// * every trace that verifies and says `committed: true` names a run in `runs` with the same status,
///   write-set digest and ledger head; one that says `committed: false` names a run that is not there;
///   every committed run has a trace file.
pub fn audit(data_root: &Path) -> Audit {
    let mut a = Audit::default();
    // Opening as a run would: recovers the WAL of a killed writer, refuses a foreign or newer schema.
    let store = sealed_store::Store::open(data_root).expect("the store must open after any crash");
    let ledger = store.ledger_head().expect("ledger");
    a.ledger_runs_committed = ledger.runs_committed;
    let conn = Connection::open_with_flags(
        data_root.join(sealed_store::DB_FILE),
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .expect("opening sealed.db read-only");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    if integrity != "ok" {
        a.violation(format!("integrity_check: {integrity}"));
    }
    let count = |sql: &str| -> u64 {
        conn.query_row(sql, [], |r| r.get::<_, i64>(0))
            .map(|n| u64::try_from(n).unwrap_or(0))
            .expect(sql)
    };
    a.registry_rows = count("SELECT count(*) FROM registry");
    a.event_rows = count("SELECT count(*) FROM events");
    a.state_rows = count("SELECT count(*) FROM state");

    // Runs and the ledger chain.
    let mut stmt = conn
        .prepare(
            "SELECT run_id, position, workflow, status, write_count, write_set_digest, ledger_before, \
             ledger_after FROM runs ORDER BY position",
        )
        .expect("runs query");
    let runs: Vec<RunRowLite> = stmt
        .query_map([], |r| {
            Ok(RunRowLite {
                run_id: r.get(0)?,
                position: r.get(1)?,
                workflow: r.get(2)?,
                status: r.get(3)?,
                write_count: r.get(4)?,
                write_set_digest: r.get(5)?,
                ledger_before: r.get(6)?,
                ledger_after: r.get(7)?,
            })
        })
        .and_then(|rows| rows.collect())
        .expect("reading runs");
    drop(stmt);
    a.runs = runs.len() as u64;
    if a.runs != ledger.runs_committed {
        a.violation(format!(
            "ledger says {} runs committed, runs has {} rows",
            ledger.runs_committed, a.runs
        ));
    }
    let mut head = sealed_store::GENESIS_HEAD.to_string();
    for (i, run) in runs.iter().enumerate() {
        if run.position != i as i64 + 1 {
            a.violation(format!(
                "run {} at position {}, expected {}",
                run.run_id,
                run.position,
                i + 1
            ));
        }
        if run.status.is_empty() || run.ledger_after.is_empty() || run.workflow.is_empty() {
            a.violation(format!(
                "run {} is half-written (claimed but never finished)",
                run.run_id
            ));
        }
        if run.ledger_before != head {
            a.violation(format!("run {} does not chain from the previous head", run.run_id));
        }
        let expected = sealed_store::next_ledger_head(&run.ledger_before, &run.run_id, &run.write_set_digest);
        if run.ledger_after != expected {
            a.violation(format!("run {}: ledger_after is not the hash of its link", run.run_id));
        }
        head = run.ledger_after.clone();
        *a.by_status
            .entry(format!("{}/{}", run.workflow, run.status))
            .or_default() += 1;
    }
    if head != ledger.head {
        a.violation(format!("ledger head {} is not the last run's head {head}", ledger.head));
    }

    // Completeness of each committed run.
    // (label, key, bytes) of the registry rows or events a run wrote.
    let rows_of = |table: &str, run_id: &str| -> Vec<(String, String, Vec<u8>)> {
        let bytes = if table == "events" { "payload" } else { "value" };
        let sql = format!("SELECT label, key, {bytes} FROM {table} WHERE run_id = ?1 ORDER BY label, key");
        let mut s = conn.prepare(&sql).expect("rows query");
        s.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .and_then(|rows| rows.collect())
            .expect("reading rows")
    };
    let mut approved_per_customer: BTreeMap<String, u64> = BTreeMap::new();
    let mut writes_total: i64 = 0;
    for run in &runs {
        writes_total += run.write_count;
        let reg = rows_of("registry", &run.run_id);
        let ev = rows_of("events", &run.run_id);
        let labels = |rows: &[(String, String, Vec<u8>)]| rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>();
        let id = &run.run_id;
        match (run.workflow.as_str(), run.status.as_str()) {
            ("register_actor", "REGISTERED") => {
                let ok = run.write_count == 2
                    && reg.len() == 1
                    && ev.len() == 1
                    && reg[0].0 == "actors"
                    && ev[0].0 == "actor-events"
                    && reg[0].1 == ev[0].1
                    && reg[0].2 == ev[0].2;
                if !ok {
                    a.violation(format!(
                        "REGISTERED run {id} is incomplete: write_count {}, registry {:?}, events {:?}",
                        run.write_count,
                        labels(&reg),
                        labels(&ev)
                    ));
                }
                // The event is the first of its stream: an actor is registered once.
                if let Some((_, key, _)) = ev.first() {
                    let seq: i64 = conn
                        .query_row(
                            "SELECT seq FROM events WHERE label = 'actor-events' AND key = ?1 AND run_id = ?2",
                            [key, id],
                            |r| r.get(0),
                        )
                        .unwrap_or(-1);
                    if seq != 1 {
                        a.violation(format!(
                            "REGISTERED run {id}: its actor event has seq {seq}, expected 1"
                        ));
                    }
                }
            }
            ("review_claim", "APPROVED") => {
                let ok = run.write_count == 2 && reg.len() == 1 && ev.is_empty() && reg[0].0 == "approved-claims";
                if !ok {
                    a.violation(format!(
                        "APPROVED run {id} is incomplete: write_count {}, registry {:?}, events {:?}",
                        run.write_count,
                        labels(&reg),
                        labels(&ev)
                    ));
                }
                if let Some((_, _, value)) = reg.first() {
                    let decision: Value = serde_json::from_slice(value).unwrap_or(Value::Null);
                    match decision["customer"].as_str() {
                        Some(c) => *approved_per_customer.entry(c.to_string()).or_default() += 1,
                        None => a.violation(format!("APPROVED run {id}: decision without a customer")),
                    }
                }
            }
            ("review_claim", "ESCALATED") => {
                let ok = run.write_count == 1 && reg.is_empty() && ev.len() == 1 && ev[0].0 == "escalations";
                if !ok {
                    a.violation(format!(
                        "ESCALATED run {id} is incomplete: write_count {}, registry {:?}, events {:?}",
                        run.write_count,
                        labels(&reg),
                        labels(&ev)
                    ));
                }
            }
            ("register_actor", "ALREADY_REGISTERED" | "CONFLICTING_ACTOR" | "INVALID_ACTOR")
            | ("review_claim", "ALREADY_DECIDED" | "INVALID_CLAIM") => {
                if run.write_count != 0 || !reg.is_empty() || !ev.is_empty() {
                    a.violation(format!(
                        "{} run {id} wrote something: write_count {}, registry {:?}, events {:?}",
                        run.status,
                        run.write_count,
                        labels(&reg),
                        labels(&ev)
                    ));
                }
            }
            (wf, status) => a.violation(format!("run {id}: unexpected {wf}/{status}")),
        }
    }

    // Orphans and write conservation.
    for table in ["registry", "events", "state"] {
        let orphans = count(&format!(
            "SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = t.run_id)"
        ));
        if orphans > 0 {
            a.violation(format!("{orphans} {table} row(s) belong to no committed run"));
        }
    }
    let state_writes = count("SELECT coalesce(sum(version), 0) FROM state");
    let rows_written = a.registry_rows + a.event_rows + state_writes;
    if rows_written != u64::try_from(writes_total).unwrap_or(0) {
        a.violation(format!(
            "runs report {writes_total} writes, the tables hold {rows_written} (registry {} + events {} + \
             state versions {state_writes})",
            a.registry_rows, a.event_rows
        ));
    }
    let mut stmt = conn
        .prepare("SELECT key, version FROM state WHERE label = 'last-approved-claim'")
        .expect("state query");
    let versions: BTreeMap<String, u64> = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .expect("reading state")
        .into_iter()
        .map(|(k, v)| (k, u64::try_from(v).unwrap_or(0)))
        .collect();
    drop(stmt);
    if versions != approved_per_customer {
        a.violation(format!(
            "last-approved-claim versions {versions:?} != APPROVED runs per customer {approved_per_customer:?}"
        ));
    }

    // Event streams: seqs exactly 1..=len, checked through the Store API as a reader would see them.
    let mut stmt = conn
        .prepare("SELECT DISTINCT label, key FROM events ORDER BY label, key")
        .expect("streams query");
    let streams: Vec<(String, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect())
        .expect("reading streams");
    drop(stmt);
    a.streams = streams.len() as u64;
    for (label, key) in &streams {
        let events = store.events_read(label, key, 0, u32::MAX).expect("events_read");
        let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
        let expected: Vec<u64> = (1..=seqs.len() as u64).collect();
        if seqs != expected {
            a.violation(format!("stream {label}/{key} has seqs {seqs:?}"));
        }
        if store.events_len(label, key).expect("events_len") != seqs.len() as u64 {
            a.violation(format!("stream {label}/{key}: events_len disagrees with events_read"));
        }
    }

    // Traces against the store.
    let in_store: BTreeMap<&str, &RunRowLite> = runs.iter().map(|r| (r.run_id.as_str(), r)).collect();
    let mut with_trace: BTreeSet<String> = BTreeSet::new();
    let traces = data_root.join("traces");
    let dirs = std::fs::read_dir(&traces)
        .map(|d| d.flatten().collect::<Vec<_>>())
        .unwrap_or_default();
    for entry in dirs {
        let run_id = entry.file_name().to_string_lossy().into_owned();
        let path = trace_path(data_root, &run_id);
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        a.traces += 1;
        with_trace.insert(run_id.clone());
        match sealed_trace::parse_and_verify(&bytes) {
            Ok(t) => {
                let Some(end) = t.run_end() else { continue };
                a.traces_complete += 1;
                let bundle = path.with_file_name(format!("{run_id}.jsonl.intoto.jsonl"));
                if !bundle.exists() {
                    a.complete_without_attestation += 1;
                }
                let row = in_store.get(run_id.as_str());
                if end.committed {
                    a.traces_committed += 1;
                    match row {
                        None => a.violation(format!("trace {run_id} claims a commit the store does not have")),
                        Some(r) => {
                            let same = r.status == end.status
                                && end.ledger_after.as_deref() == Some(r.ledger_after.as_str())
                                && end.write_set_digest.as_deref() == Some(r.write_set_digest.as_str());
                            if !same {
                                a.violation(format!("trace {run_id} and its runs row disagree"));
                            }
                        }
                    }
                } else if row.is_some() {
                    a.violation(format!("trace {run_id} says not committed, but the store has the run"));
                }
            }
            Err(_) => {
                // Cut short by a kill: it can claim nothing.
                if in_store.contains_key(run_id.as_str()) {
                    a.committed_without_run_end += 1;
                }
                if bytes.contains(&b'\n') {
                    a.traces_unfinished += 1;
                }
            }
        }
    }
    let pending: Vec<String> = std::fs::read_dir(data_root.join("pending"))
        .map(|d| d.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    for name in &pending {
        if let Some(run_id) = name.strip_suffix(".tmp") {
            a.unpublished_markers += 1;
            if in_store.contains_key(run_id) || with_trace.contains(run_id) {
                a.violation(format!(
                    "run {run_id} left an unpublished marker but has a trace or a store row"
                ));
            }
        } else {
            a.pending_markers += 1;
        }
    }
    for run in &runs {
        if !with_trace.contains(&run.run_id) {
            a.violation(format!("committed run {} has no trace", run.run_id));
        }
    }
    a
}
