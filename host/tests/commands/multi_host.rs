//! Many hosts, one PostgreSQL store: three `host serve` processes, each with its own data root (keys,
//! traces), on one database (`--store postgres://…`, a fresh database on the test server).
//!
//! * 8 identical registrations per host, all released at once: exactly one REGISTERED, 23
//!   ALREADY_REGISTERED, one registry row;
//! * escalated claims of one customer from every host: one gap-free event stream, in ledger order;
//! * one ledger chain over all hosts' runs; every trace verifies and replays on the host that ran it,
//!   with no database;
//! * `kill -9` of one host under load: no partial write (every committed registration has its event, and
//!   nothing else is stored), the other hosts keep serving.
//!
//! Needs the components built (`cargo xtask build-components`) and the test PostgreSQL
//! (`cargo xtask pg start`, or `SEALED_TEST_PG`): fails naming them otherwise, never skips.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::http;
use crate::serve_process::wait_listening;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use http::Response;
use sealed_storage::DataStore;
use sealed_store_postgres::PgStore;
use sealed_store_postgres::testing::FreshDb;
use serde_json::json;

const HOST: &str = env!("CARGO_BIN_EXE_host");
const REGISTER: &str = "/v1/runs/register-actor/register_actor";
const CLAIM: &str = "/v1/runs/review-claim/review_claim";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn snapshot(name: &str) -> PathBuf {
    root().join("snapshots").join(name).join("sealed")
}

fn trust() -> PathBuf {
    root().join("snapshots/trust.json")
}

fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("serve-cache")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn actor(tag: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"actor": {"email": format!("{tag}@example.org"), "first_name": "Ada", "last_name": "King"}}),
    )
    .unwrap()
}

fn claim(id: u32) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"claim": {"id": format!("CL-{id:04}"), "customer": "shared-customer", "amount": 5000, "currency": "EUR"}}),
    )
    .unwrap()
}

/// One host: a `host serve` with its own data root on the shared store. Dropping it kills the process.
struct Host {
    child: Child,
    addr: SocketAddr,
    data: PathBuf,
    stderr: Arc<Mutex<String>>,
}

impl Host {
    fn start(data: &Path, store: &str) -> Host {
        let mut child = Command::new(HOST)
            .args(["serve", "--snapshot", s(&snapshot("register-actor"))])
            .args(["--snapshot", s(&snapshot("review-claim"))])
            .args(["--data-root", s(data), "--store", store])
            .args(["--trace-dir", s(&data.join("traces"))])
            .args(["--cache-dir", s(&cache_dir()), "--trust", s(&trust())])
            .args(["--listen", "127.0.0.1:0", "--workers", "2", "--queue", "64"])
            .env_remove("SEALED_CACHE_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (addr, stderr) = wait_listening(&mut child);
        Host {
            child,
            addr,
            data: data.to_path_buf(),
            stderr,
        }
    }

    fn kill9(&mut self) {
        let ok = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -KILL failed");
        let _ = self.child.wait();
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run_id_of(r: &Response) -> String {
    r.json()["data"]["run_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no run id in {}", r.text()))
        .to_string()
}

fn status_of(r: &Response) -> String {
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["data"]["status"].as_str().unwrap().to_string()
}

/// Posts every (host address, path, body) from its own thread, all released at once.
fn race(requests: Vec<(SocketAddr, &'static str, Vec<u8>)>) -> Vec<Response> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let threads: Vec<_> = requests
        .into_iter()
        .map(|(addr, path, body)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                http::request(addr, "POST", path, &[], &body).unwrap()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// `host verify` with the host's own run-signer key and `host replay`, neither given a store.
fn verify_and_replay(data: &Path, snapshot_name: &str, run_id: &str) {
    let trace = data.join("traces").join(run_id).join(format!("{run_id}.jsonl"));
    let o = Command::new(HOST)
        .args(["verify", s(&trace), "--snapshot", s(&snapshot(snapshot_name))])
        .args([
            "--trust",
            s(&data.join("keys/run-signer.pub.json")),
            "--trust",
            s(&trust()),
        ])
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "host verify {run_id}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let o = Command::new(HOST)
        .args(["replay", s(&trace), "--snapshot", s(&snapshot(snapshot_name))])
        .args(["--cache-dir", s(&cache_dir())])
        .env_remove("SEALED_CACHE_DIR")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "host replay {run_id}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The ledger over all hosts is one chain: ordered by position, each run's before is the previous after.
fn assert_one_chain(db: &FreshDb, store: &PgStore) {
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let rows = c
        .query(
            "SELECT position, ledger_before, ledger_after FROM runs ORDER BY position",
            &[],
        )
        .unwrap();
    let mut head = sealed_storage::GENESIS_HEAD.to_string();
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r.get::<_, i64>(0), i as i64 + 1, "positions are gap-free");
        assert_eq!(r.get::<_, String>(1), head, "run at position {} chains", i + 1);
        head = r.get(2);
    }
    let ledger = store.ledger_head().unwrap();
    assert_eq!((ledger.head, ledger.runs_committed), (head, rows.len() as u64));
}

#[test]
fn three_hosts_share_one_store_exactly_once_and_gap_free() {
    let db = FreshDb::create();
    let tmp = tempfile::tempdir().unwrap();
    let hosts: Vec<Host> = (0..3)
        .map(|i| Host::start(&tmp.path().join(format!("host-{i}")), &db.url))
        .collect();
    let store = PgStore::open(&db.url, Duration::from_secs(30)).unwrap();

    // 24 identical registrations, 8 per host, released together.
    let mut requests = Vec::new();
    for h in &hosts {
        for _ in 0..8 {
            requests.push((h.addr, REGISTER, actor("the-same-actor")));
        }
    }
    let answers = race(requests);
    let statuses: Vec<String> = answers.iter().map(status_of).collect();
    let registered = statuses.iter().filter(|s| *s == "REGISTERED").count();
    let already = statuses.iter().filter(|s| *s == "ALREADY_REGISTERED").count();
    assert_eq!((registered, already), (1, 23), "{statuses:?}");
    let stats = store.stats().unwrap();
    assert_eq!((stats.registry_rows, stats.event_rows, stats.runs), (1, 1, 24));

    // Escalations of one customer from every host: one stream, seqs 1..=18, no gap, no duplicate.
    let mut requests = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        for j in 0..6 {
            requests.push((h.addr, CLAIM, claim(1000 + (i * 6 + j) as u32)));
        }
    }
    let claims = race(requests);
    for r in &claims {
        assert_eq!(status_of(r), "ESCALATED", "{}", r.text());
    }
    let events = store.events_read("escalations", "shared-customer", 1, 100).unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=18).collect::<Vec<_>>());
    let mut claim_ids: Vec<String> = events
        .iter()
        .map(|e| {
            let v: serde_json::Value = serde_json::from_slice(&e.payload).unwrap();
            v["id"].as_str().unwrap().to_string()
        })
        .collect();
    claim_ids.sort();
    claim_ids.dedup();
    assert_eq!(claim_ids.len(), 18, "every claim's event exactly once");
    assert_one_chain(&db, &store);

    // Every run's trace verifies and replays on the host that ran it (no database needed).
    for (i, h) in hosts.iter().enumerate() {
        for r in &answers[i * 8..i * 8 + 8] {
            verify_and_replay(&h.data, "register-actor", &run_id_of(r));
        }
        for r in &claims[i * 6..i * 6 + 6] {
            verify_and_replay(&h.data, "review-claim", &run_id_of(r));
        }
    }
    for h in &hosts {
        assert!(
            !h.stderr.lock().unwrap().contains("panicked"),
            "{}",
            h.stderr.lock().unwrap()
        );
    }
}

#[test]
fn killing_one_host_mid_run_leaves_no_partial_write_and_the_others_keep_serving() {
    let db = FreshDb::create();
    let tmp = tempfile::tempdir().unwrap();
    let mut hosts: Vec<Host> = (0..3)
        .map(|i| Host::start(&tmp.path().join(format!("host-{i}")), &db.url))
        .collect();
    let store = PgStore::open(&db.url, Duration::from_secs(30)).unwrap();

    // Load on every host; host 0 is killed while its runs are in flight.
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(Mutex::new(Vec::<(usize, String)>::new()));
    let mut load = Vec::new();
    for (i, h) in hosts.iter().enumerate() {
        for t in 0..3 {
            let (addr, stop, answered) = (h.addr, stop.clone(), answered.clone());
            load.push(std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let body = actor(&format!("kill-{i}-{t}-{n}"));
                    match http::request(addr, "POST", REGISTER, &[], &body) {
                        Ok(r) if r.status == 200 => answered.lock().unwrap().push((i, status_of(&r))),
                        // The killed host's connections fail; that is the point.
                        _ if i == 0 => break,
                        Ok(r) => panic!("host {i} answered {}: {}", r.status, r.text()),
                        Err(e) => panic!("host {i} failed: {e}"),
                    }
                }
            }));
        }
    }
    // Until host 0 has answered some runs, then kill it mid-stream.
    let deadline = Instant::now() + Duration::from_secs(120);
    while answered.lock().unwrap().iter().filter(|(i, _)| *i == 0).count() < 4 {
        assert!(Instant::now() < deadline, "host 0 answered nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
    hosts[0].kill9();
    let killed_at = answered.lock().unwrap().len();
    // The other hosts keep serving: more runs are answered after the kill.
    let deadline = Instant::now() + Duration::from_secs(120);
    while answered.lock().unwrap().len() < killed_at + 10 {
        assert!(Instant::now() < deadline, "the surviving hosts stopped serving");
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    for t in load {
        t.join().unwrap();
    }
    let answered = answered.lock().unwrap().clone();
    assert!(answered.iter().all(|(_, s)| s == "REGISTERED"), "{answered:?}");

    // No partial write: every committed run registered one actor and appended its one event, and every
    // stored row belongs to a committed run (the foreign keys say so; the counts say nothing else exists).
    let stats = store.stats().unwrap();
    assert_eq!(stats.registry_rows, stats.runs, "{stats:?}");
    assert_eq!(stats.event_rows, stats.runs, "{stats:?}");
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let unpaired: i64 = c
        .query_one(
            "SELECT count(*) FROM registry r WHERE r.label = 'actors' AND NOT EXISTS \
             (SELECT 1 FROM events e WHERE e.label = 'actor-events' AND e.key = r.key AND e.seq = 1 AND e.run_id = r.run_id)",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(unpaired, 0, "a registration without its event");
    assert!(
        stats.runs as usize >= answered.len(),
        "every answered run is committed ({} answered, {} committed)",
        answered.len(),
        stats.runs
    );
    assert_one_chain(&db, &store);

    // The killed host's data root comes back: its interrupted runs are completed at start, it serves again.
    let data0 = hosts[0].data.clone();
    drop(hosts.remove(0));
    let again = Host::start(&data0, &db.url);
    let r = http::request(again.addr, "POST", REGISTER, &[], &actor("after-the-kill")).unwrap();
    assert_eq!(status_of(&r), "REGISTERED");
    assert!(
        !data0.join("pending").read_dir().is_ok_and(|mut d| d.next().is_some()),
        "interrupted runs of the killed host were recovered at restart"
    );
}

/// `host run --store postgres://…` from two data roots: a run id used on one host is refused on the other
/// (`RUN_ID_REUSED`, consumed in the shared store), the registration made by one is ALREADY_REGISTERED
/// on the other, and each trace verifies and replays with no database.
#[test]
fn host_run_on_two_data_roots_shares_run_ids_and_data() {
    let db = FreshDb::create();
    let tmp = tempfile::tempdir().unwrap();
    let payload = tmp.path().join("actor.json");
    std::fs::write(&payload, actor("one-shot")).unwrap();
    let run = |data: &Path, run_id: &str| {
        let o = Command::new(HOST)
            .args(["--json", "run", "--snapshot", s(&snapshot("register-actor"))])
            .args(["--wf", "register_actor", "--payload", s(&payload)])
            .args(["--data-root", s(data), "--store", &db.url, "--run-id", run_id])
            .args(["--trust", s(&trust()), "--cache-dir", s(&cache_dir())])
            .env_remove("SEALED_CACHE_DIR")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        });
        (o.status.code(), v)
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let (code, v) = run(&a, "shared-id-1");
    assert_eq!(
        (code, v["data"]["status"].as_str()),
        (Some(0), Some("REGISTERED")),
        "{v}"
    );
    let (code, v) = run(&b, "shared-id-1");
    assert_eq!(v["error"]["code"].as_str(), Some("RUN_ID_REUSED"), "{v}");
    assert_ne!(code, Some(0));
    assert!(
        !b.join("traces/shared-id-1").exists(),
        "a refused run id starts no trace"
    );
    let (code, v) = run(&b, "shared-id-2");
    assert_eq!(
        (code, v["data"]["status"].as_str()),
        (Some(0), Some("ALREADY_REGISTERED")),
        "{v}"
    );
    verify_and_replay(&a, "register-actor", "shared-id-1");
    verify_and_replay(&b, "register-actor", "shared-id-2");
    let store = PgStore::open(&db.url, Duration::from_secs(30)).unwrap();
    assert_eq!(store.ledger_head().unwrap().runs_committed, 2);
}
