//! `host serve` end to end: the built binary on `127.0.0.1:0` (its `listening on` line gives the port),
//! driven by a small blocking HTTP client, on the committed register-actor example.
//!
//! Covers every endpoint and status code, back-pressure (503 + Retry-After, then recovery), the token rule
//! off loopback, graceful shutdown on SIGTERM (accepted runs finish, are answered and committed, exit 0),
//! SIGKILL under load (no answered run lost, nothing half-committed), concurrent identical registrations
//! (exactly one REGISTERED), and `host verify` / `host replay` of answered runs. Every server process shares
//! one compiled-component cache (`target/tmp/serve-cache`), so only the first compiles. Every wait is
//! bounded; all traffic goes to 127.0.0.1.
//!
//! Needs the components built (`cargo xtask build-components`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::http;
use crate::serve_process::{drain_stderr, wait_listening};

use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use http::Response;
use serde_json::{Value, json};

const HOST: &str = env!("CARGO_BIN_EXE_host");
const RUN_PATH: &str = "/v1/runs/register-actor/register_actor";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn snapshot() -> PathBuf {
    root().join("snapshots/register-actor/sealed")
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

fn example(name: &str) -> Vec<u8> {
    std::fs::read(root().join("snapshots/register-actor/payloads").join(name)).unwrap()
}

/// A valid payload whose actor no other test registers.
fn actor(tag: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"actor": {"email": format!("{tag}@example.org"), "first_name": "Ada", "last_name": "King"}}),
    )
    .unwrap()
}

fn trace_file(data: &Path, run_id: &str) -> PathBuf {
    data.join("traces").join(run_id).join(format!("{run_id}.jsonl"))
}

fn run_id_of(r: &Response) -> String {
    r.json()["data"]["run_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no run id in {}", r.text()))
        .to_string()
}

fn wait_exit(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// A running `host serve`. Dropping it kills the process.
struct Server {
    child: Child,
    addr: SocketAddr,
    stderr: Arc<Mutex<String>>,
}

fn command(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(HOST);
    cmd.args(["serve", "--snapshot", s(&snapshot()), "--data-root", s(data)])
        .args(["--cache-dir", s(&cache_dir())]);
    if !extra.contains(&"--trust") && !extra.contains(&"--insecure-allow-unsigned-snapshot") {
        cmd.args(["--trust", s(&trust())]);
    }
    if !extra.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    cmd.args(extra)
        .envs(env.iter().copied())
        .env_remove("SEALED_CACHE_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

impl Server {
    fn start(data: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(data, extra, &[])
    }

    fn start_with_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = command(data, extra, env).spawn().unwrap();
        let (addr, stderr) = wait_listening(&mut child);
        Server { child, addr, stderr }
    }

    fn post_to(&self, path: &str, body: &[u8]) -> Response {
        http::request(self.addr, "POST", path, &[], body).unwrap()
    }

    fn post(&self, body: &[u8]) -> Response {
        self.post_to(RUN_PATH, body)
    }

    fn get(&self, path: &str) -> Response {
        http::request(self.addr, "GET", path, &[], b"").unwrap()
    }

    fn metrics(&self) -> String {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "{}", r.text());
        r.text()
    }

    /// The value of the metric line `series` (exact name and labels).
    fn metric(&self, series: &str) -> Option<f64> {
        self.metrics().lines().find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.strip_prefix(' '))
                .and_then(|v| v.trim().parse::<f64>().ok())
        })
    }

    fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -TERM failed");
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `host serve` expecting it to refuse; returns its exit code and stderr.
fn refused_start(data: &Path, extra: &[&str]) -> (i32, String) {
    let mut child = command(data, extra, &[]).spawn().unwrap();
    let stderr = drain_stderr(&mut child);
    let status = wait_exit(&mut child, Duration::from_secs(60)).unwrap_or_else(|| {
        let _ = child.kill();
        panic!("serve did not exit; stderr: {}", stderr.lock().unwrap())
    });
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(!out.contains("listening on"), "{out}");
    std::thread::sleep(Duration::from_millis(100));
    let text = stderr.lock().unwrap().clone();
    (status.code().unwrap_or(-1), text)
}

/// `host verify` (run-signer key of the data root and the snapshot trust root) and, with `replay`,
/// `host replay` of one run.
fn verify(data: &Path, run_id: &str, replay: bool) {
    let trace = trace_file(data, run_id);
    let o = Command::new(HOST)
        .args(["verify", s(&trace), "--snapshot", s(&snapshot())])
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
    if replay {
        let o = Command::new(HOST)
            .args([
                "replay",
                s(&trace),
                "--snapshot",
                s(&snapshot()),
                "--cache-dir",
                s(&cache_dir()),
            ])
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
}

fn store(data: &Path) -> sealed_store::Store {
    sealed_store::Store::open(data).unwrap()
}

/// Posts `bodies` from one thread each, all released at once; answers in order of `bodies`.
fn concurrent_posts(addr: SocketAddr, bodies: Vec<Vec<u8>>) -> Vec<Response> {
    let barrier = Arc::new(Barrier::new(bodies.len()));
    let threads: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                http::request(addr, "POST", RUN_PATH, &[], &body).unwrap()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

fn wait_until(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn runs_are_answered_with_the_status_of_their_end() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &[]);

    // Any content type is accepted: the body is the payload.
    let r = http::request(
        server.addr,
        "POST",
        RUN_PATH,
        &[("content-type", "text/plain")],
        &example("valid.json"),
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    let env = r.json();
    assert_eq!(env["ok"], true, "{env}");
    assert_eq!(env["error"], Value::Null);
    assert_eq!(env["data"]["status"], "REGISTERED");
    assert_eq!(env["data"]["end"], "succeeded");
    assert_eq!(env["data"]["committed"], true);
    let registered = run_id_of(&r);
    // Durable before the answer: committed, trace and attestation on disk when the 200 arrives.
    assert!(store(&data).run(&registered).unwrap().is_some());
    assert!(trace_file(&data, &registered).is_file());
    assert!(
        trace_file(&data, &registered)
            .with_extension("jsonl.intoto.jsonl")
            .is_file()
    );

    let r = server.post(&example("valid.json"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        (r.json()["ok"].clone(), r.json()["data"]["status"].clone()),
        (json!(true), json!("ALREADY_REGISTERED"))
    );
    let already = run_id_of(&r);

    // A terminal declared ok:false is a business outcome: 200, ok:false, the status as the code.
    let r = server.post(&example("conflict.json"));
    assert_eq!(r.status, 200, "{}", r.text());
    let env = r.json();
    assert_eq!(
        (env["ok"].clone(), env["error"]["code"].clone()),
        (json!(false), json!("CONFLICTING_ACTOR"))
    );
    assert_eq!(env["data"]["end"], "completed");
    let conflict = run_id_of(&r);

    let r = server.post(&example("invalid.json"));
    assert_eq!(r.status, 422, "{}", r.text());
    let env = r.json();
    assert_eq!(env["error"]["code"], "PAYLOAD_INVALID");
    assert_eq!(env["data"]["end"], "rejected");
    assert!(!env["data"]["admission_errors"].as_array().unwrap().is_empty(), "{env}");

    for (body, why) in [
        (b"{not json".to_vec(), "not JSON"),
        (
            format!("{}{}", "[".repeat(100), "]".repeat(100)).into_bytes(),
            "100 levels deep",
        ),
        (
            br#"{"actor": {"n": 9007199254740993}}"#.to_vec(),
            "an integer beyond 2^53",
        ),
    ] {
        let r = server.post(&body);
        assert_eq!(r.status, 400, "{why}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "PAYLOAD_INVALID", "{why}");
        assert_eq!(r.json()["data"]["end"], "refused", "{why}");
    }

    verify(&data, &registered, true);
    verify(&data, &already, true);
    verify(&data, &conflict, false);
}

#[test]
fn requests_that_are_not_runs_are_refused_without_a_trace() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &["--max-body-bytes", "1024"]);

    let r = server.get("/healthz");
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));

    let r = server.post_to("/v1/runs/no-such-snapshot/register_actor", &example("valid.json"));
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "SNAPSHOT_UNKNOWN");
    assert_eq!(r.json()["data"]["snapshots"], json!(["register-actor"]));

    let r = server.post_to("/v1/runs/register-actor/no_such_workflow", &example("valid.json"));
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "WORKFLOW_UNKNOWN");
    assert_eq!(r.json()["data"]["workflows"], json!(["register_actor"]));

    // Over the cap with a declared length: refused.
    let r = server.post(&vec![b' '; 2048]);
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "BODY_TOO_LARGE");
    // ... before the body is read: 17 MiB declared, 100 bytes sent, and the answer comes anyway.
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        conn,
        "POST {RUN_PATH} HTTP/1.1\r\nhost: x\r\ncontent-length: 17825792\r\n\r\n"
    )
    .unwrap();
    conn.write_all(&[b' '; 100]).unwrap();
    let r = http::read_response(&mut BufReader::new(conn)).unwrap();
    assert_eq!(r.status, 413, "{}", r.text());
    // ... and a chunked body (no declared length) as soon as it passes the cap.
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        conn,
        "POST {RUN_PATH} HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .unwrap();
    for _ in 0..3 {
        write!(conn, "200\r\n{}\r\n", " ".repeat(0x200)).unwrap();
    }
    let r = http::read_response(&mut BufReader::new(conn)).unwrap();
    assert_eq!(r.status, 413, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "BODY_TOO_LARGE");

    let r = server.get("/v1/runs/r20200101T000000Z-0000000000000000");
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], "RUN_UNKNOWN");
    for bad in ["..", "a.b", "%2e%2e", "..%2F..%2Fetc%2Fpasswd", "x%00"] {
        for suffix in ["", "/trace", "/attestation"] {
            let r = server.get(&format!("/v1/runs/{bad}{suffix}"));
            assert_eq!(r.status, 400, "{bad}{suffix}: {}", r.text());
            assert_eq!(r.json()["error"]["code"], "RUN_ID_INVALID");
        }
    }
    // Unnormalised dot segments never reach the file system either.
    for path in [
        "/v1/runs/../../etc/passwd",
        "/v1/runs/../sealed.db",
        "/v1/runs/x/../../../keys/run-signer.key",
    ] {
        let r = server.get(path);
        assert!(r.status == 404 || r.status == 400, "{path}: {} {}", r.status, r.text());
        assert_ne!(r.header("content-type"), Some("application/x-ndjson"));
    }
    let r = server.get("/v1/runs/some-run/nope");
    assert_eq!((r.status, r.json()["error"]["code"].clone()), (404, json!("NOT_FOUND")));
    let r = server.get("/nope");
    assert_eq!((r.status, r.json()["error"]["code"].clone()), (404, json!("NOT_FOUND")));
    let r = http::request(server.addr, "DELETE", "/v1/runs/some-run", &[], b"").unwrap();
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (405, json!("METHOD_NOT_ALLOWED"))
    );
    let r = server.get(RUN_PATH);
    assert_eq!(r.status, 404, "a GET of a run path is not a run: {}", r.text());

    // None of these was a run: no run directory was made.
    let traces = data.join("traces");
    let made = std::fs::read_dir(&traces).map(|d| d.count()).unwrap_or(0);
    assert_eq!(made, 0, "run directories in {}", traces.display());
}

#[test]
fn evidence_endpoints_serve_the_files_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // A run made by `host run` before the server existed.
    let o = Command::new(HOST)
        .args(["--json", "run", "--snapshot", s(&snapshot()), "--wf", "register_actor"])
        .args([
            "--payload",
            s(&root().join("snapshots/register-actor/payloads/valid-2.json")),
        ])
        .args([
            "--data-root",
            s(&data),
            "--trust",
            s(&trust()),
            "--cache-dir",
            s(&cache_dir()),
        ])
        .env_remove("SEALED_CACHE_DIR")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let earlier: Value = serde_json::from_slice(&o.stdout).unwrap();
    let earlier = earlier["data"]["run_id"].as_str().unwrap().to_string();

    let server = Server::start(&data, &[]);
    let r = server.post(&actor("evidence"));
    assert_eq!(r.status, 200, "{}", r.text());
    let run = r.json();
    let id = run_id_of(&r);

    let r = server.get(&format!("/v1/runs/{id}"));
    assert_eq!(r.status, 200, "{}", r.text());
    let sum = r.json();
    assert_eq!(sum["ok"], true);
    let d = &sum["data"];
    assert_eq!(d["run_id"], id.as_str());
    assert_eq!(d["status"], "REGISTERED");
    assert_eq!(d["end"], "succeeded");
    assert_eq!(d["ok"], true);
    assert_eq!(d["workflow"], "register_actor");
    assert_eq!(d["committed"], true);
    assert_eq!(d["in_store"], true);
    assert_eq!(d["snapshot"]["name"], "register-actor");
    assert_eq!(d["snapshot"]["digest"], run["data"]["snapshot_digest"]);
    assert_eq!(d["chain_head"], run["data"]["trace"]["chain_head"]);
    assert_eq!(d["ledger_after"], run["data"]["ledger_after"]);
    assert_eq!(d["path"], json!(["make_id", "register", "record_event", "registered"]));
    assert_eq!(d["files"]["trace"], s(&trace_file(&data, &id)));

    let r = server.get(&format!("/v1/runs/{id}/trace"));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/x-ndjson"));
    assert_eq!(r.body, std::fs::read(trace_file(&data, &id)).unwrap());
    let r = server.get(&format!("/v1/runs/{id}/attestation"));
    assert_eq!(r.status, 200);
    let bundle = trace_file(&data, &id).with_extension("jsonl.intoto.jsonl");
    assert_eq!(r.body, std::fs::read(&bundle).unwrap());
    assert_eq!(d["files"]["attestation"], s(&bundle));
    // A run recorded before the in-toto bundle naming (`<run-id>.intoto.jsonl`) is still served.
    let legacy = trace_file(&data, &id).with_extension("intoto.jsonl");
    std::fs::rename(&bundle, &legacy).unwrap();
    let r = server.get(&format!("/v1/runs/{id}/attestation"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.body, std::fs::read(&legacy).unwrap());
    assert_eq!(
        server.get(&format!("/v1/runs/{id}")).json()["data"]["files"]["attestation"],
        s(&legacy)
    );
    std::fs::rename(&legacy, &bundle).unwrap();
    let r = server.get(&format!("/v1/runs/{id}/report.md"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").unwrap().starts_with("text/markdown"));
    assert!(
        r.text().contains(&id) && r.text().contains("REGISTERED"),
        "{}",
        r.text()
    );
    let r = server.get(&format!("/v1/runs/{id}/report.png"));
    assert_eq!((r.status, r.header("content-type")), (200, Some("image/png")));
    assert!(r.body.starts_with(b"\x89PNG\r\n\x1a\n") && r.body.len() > 1000);
    // Rendered in memory: nothing is written beside the trace.
    assert!(!trace_file(&data, &id).with_extension("png").exists());

    // The earlier run, made before the server started.
    let r = server.get(&format!("/v1/runs/{earlier}"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["status"], "REGISTERED");
    assert_eq!(r.json()["data"]["in_store"], true);
    let r = server.get(&format!("/v1/runs/{earlier}/trace"));
    assert_eq!(r.body, std::fs::read(trace_file(&data, &earlier)).unwrap());

    // A rejected run says so.
    let r = server.post(&example("invalid.json"));
    let rejected = run_id_of(&r);
    let r = server.get(&format!("/v1/runs/{rejected}"));
    assert_eq!(
        (r.json()["data"]["end"].clone(), r.json()["data"]["committed"].clone()),
        (json!("rejected"), json!(false))
    );

    // A trace cut short (no run_end) is not described: 409.
    let cut = "cut-short-run";
    let dir = data.join("traces").join(cut);
    std::fs::create_dir_all(&dir).unwrap();
    let first_line: Vec<u8> = std::fs::read(trace_file(&data, &id))
        .unwrap()
        .split_inclusive(|b| *b == b'\n')
        .next()
        .unwrap()
        .to_vec();
    std::fs::write(dir.join(format!("{cut}.jsonl")), first_line).unwrap();
    let r = server.get(&format!("/v1/runs/{cut}"));
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (409, json!("TRACE_INVALID"))
    );
    let r = server.get(&format!("/v1/runs/{cut}/attestation"));
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (404, json!("ATTESTATION_MISSING"))
    );
}

#[test]
fn metrics_count_runs_latency_fuel_and_the_component_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &[]);
    assert_eq!(server.post(&actor("metrics")).status, 200);
    assert_eq!(server.post(&example("invalid.json")).status, 422);

    let r = server.get("/metrics");
    assert_eq!(r.status, 200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let labels = r#"snapshot="register-actor",workflow="register_actor""#;
    assert_eq!(
        server.metric(&format!("sealed_runs_total{{{labels},status=\"REGISTERED\"}}")),
        Some(1.0)
    );
    assert_eq!(
        server.metric(&format!("sealed_runs_total{{{labels},status=\"REJECTED\"}}")),
        Some(1.0)
    );
    assert_eq!(
        server.metric(&format!("sealed_run_duration_seconds_count{{{labels}}}")),
        Some(2.0)
    );
    assert_eq!(
        server.metric(&format!("sealed_run_duration_seconds_bucket{{{labels},le=\"+Inf\"}}")),
        Some(2.0)
    );
    assert!(server.metric(&format!("sealed_fuel_used_total{{{labels}}}")).unwrap() > 0.0);
    // Three components prepared at start-up: each a disk hit (warm shared cache) or a compile.
    let disk = server
        .metric("sealed_component_cache_hits_total{tier=\"disk\"}")
        .unwrap();
    let misses = server.metric("sealed_component_cache_misses_total").unwrap();
    assert_eq!(disk + misses, 3.0, "{}", server.metrics());
    assert_eq!(server.metric("sealed_queue_depth"), Some(0.0));
    assert_eq!(server.metric("sealed_runs_in_flight"), Some(0.0));
    assert_eq!(server.metric("sealed_rejected_busy_total"), Some(0.0));
    assert!(server.metric("sealed_http_responses_total{code=\"422\"}") == Some(1.0));
}

#[test]
fn a_full_queue_is_answered_503_at_once_and_the_server_recovers() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // The store's busy wait is longer than this test holds the lock.
    let server = Server::start_with_env(
        &data,
        &["--workers", "1", "--queue", "1"],
        &[("SEALED_BUSY_WAIT_MS", "120000")],
    );
    // Hold the store's write lock: the one worker blocks inside its run until it is released.
    let holder = store(&data);
    let tx = holder.begin_run("test-holds-the-lock").unwrap();

    let addr = server.addr;
    let first = std::thread::spawn(move || http::request(addr, "POST", RUN_PATH, &[], &actor("busy-first")).unwrap());
    wait_until("the first run on the worker", Duration::from_secs(30), || {
        server.metric("sealed_runs_in_flight") == Some(1.0)
    });
    // A burst of seven: one more fits in the queue; the other six are refused at once, while the worker is
    // still blocked.
    let started = Instant::now();
    let (tx_answers, answers) = mpsc::channel();
    let barrier = Arc::new(Barrier::new(7));
    let burst: Vec<_> = (0..7)
        .map(|i| {
            let (barrier, tx_answers) = (barrier.clone(), tx_answers.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let r = http::request(addr, "POST", RUN_PATH, &[], &actor(&format!("busy-{i}"))).unwrap();
                tx_answers.send(r.clone()).unwrap();
                r
            })
        })
        .collect();
    for _ in 0..6 {
        let r = answers
            .recv_timeout(Duration::from_secs(30))
            .expect("six immediate answers");
        assert_eq!(r.status, 503, "{}", r.text());
        assert_eq!(r.header("retry-after"), Some("1"));
        assert_eq!(r.json()["error"]["code"], "SERVE_BUSY");
    }
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "503s must not wait for the worker"
    );
    assert!(
        answers.recv_timeout(Duration::from_millis(500)).is_err(),
        "the queued request waits for the worker"
    );
    assert_eq!(server.metric("sealed_rejected_busy_total"), Some(6.0));
    assert_eq!(server.metric("sealed_queue_depth"), Some(1.0));

    tx.rollback().unwrap();
    let r = first.join().unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let queued: Vec<Response> = burst
        .into_iter()
        .map(|t| t.join().unwrap())
        .filter(|r| r.status != 503)
        .collect();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].status, 200, "{}", queued[0].text());
    wait_until("the queue to drain", Duration::from_secs(60), || {
        server.metric("sealed_queue_depth") == Some(0.0) && server.metric("sealed_runs_in_flight") == Some(0.0)
    });
    let r = server.post(&actor("after-the-burst"));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["status"], "REGISTERED");
}

#[test]
fn a_busy_store_is_503_with_retry_after() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_with_env(&data, &[], &[("SEALED_BUSY_WAIT_MS", "300")]);
    let holder = store(&data);
    let tx = holder.begin_run("test-holds-the-lock").unwrap();
    let r = server.post(&actor("store-busy"));
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.header("retry-after"), Some("1"));
    let env = r.json();
    assert_eq!(env["error"]["code"], "STORE_BUSY");
    assert_eq!(
        (env["data"]["end"].clone(), env["data"]["committed"].clone()),
        (json!("failed"), json!(false))
    );
    drop(tx);
    let r = server.post(&actor("store-busy"));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn off_loopback_a_token_is_required() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    let (code, err) = refused_start(&data, &["--listen", "0.0.0.0:0"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("SERVE_CONFIG") && err.contains("--token-file"), "{err}");
    assert!(!data.exists(), "refused before touching the data root");

    let token = "6f1c2e0b9d8a7c6b5a49382716f5e4d3c2b1a0f9e8d7c6b5";
    let loose = tmp.path().join("loose-token");
    std::fs::write(&loose, token).unwrap();
    std::fs::set_permissions(&loose, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (code, err) = refused_start(&data, &["--listen", "0.0.0.0:0", "--token-file", s(&loose)]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("chmod 600"), "{err}");
    let short = tmp.path().join("short-token");
    std::fs::write(&short, "abc123\n").unwrap();
    std::fs::set_permissions(&short, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let (code, err) = refused_start(&data, &["--listen", "0.0.0.0:0", "--token-file", s(&short)]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("at least 32"), "{err}");

    let good = tmp.path().join("token");
    std::fs::write(&good, format!("{token}\n")).unwrap();
    std::fs::set_permissions(&good, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let server = Server::start(&data, &["--listen", "0.0.0.0:0", "--token-file", s(&good)]);
    let bearer = format!("Bearer {token}");
    let wrong = format!("Bearer {}x", &token[..token.len() - 1]);

    assert_eq!(server.get("/healthz").status, 200, "healthz needs no token");
    for headers in [
        vec![],
        vec![("authorization", wrong.as_str())],
        vec![("authorization", "Basic YTpi")],
    ] {
        let r = http::request(server.addr, "POST", RUN_PATH, &headers, &actor("token")).unwrap();
        assert_eq!(r.status, 401, "{headers:?}: {}", r.text());
        assert_eq!(r.json()["error"]["code"], "AUTH_FAILED");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        let r = http::request(server.addr, "GET", "/metrics", &headers, b"").unwrap();
        assert_eq!(r.status, 401);
    }
    let auth = [("authorization", bearer.as_str())];
    let r = http::request(server.addr, "POST", RUN_PATH, &auth, &actor("token")).unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    let id = run_id_of(&r);
    assert_eq!(
        http::request(server.addr, "GET", &format!("/v1/runs/{id}"), &[], b"")
            .unwrap()
            .status,
        401
    );
    let r = http::request(server.addr, "GET", &format!("/v1/runs/{id}"), &auth, b"").unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        http::request(server.addr, "GET", "/metrics", &auth, b"")
            .unwrap()
            .status,
        200
    );
}

#[test]
fn start_up_refusals_and_the_unsigned_opt_out() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (code, err) = refused_start(&data, &["--snapshot", s(&snapshot())]);
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("SERVE_CONFIG") && err.contains("two snapshots are named"),
        "{err}"
    );

    let (code, err) = refused_start(&data, &["--trust", s(&tmp.path().join("missing.json"))]);
    assert_eq!(code, 5, "{err}");

    let server = Server::start(&data, &["--insecure-allow-unsigned-snapshot"]);
    assert!(
        server.stderr().contains("WARNING: --insecure-allow-unsigned-snapshot"),
        "{}",
        server.stderr()
    );
    let r = server.post(&actor("unsigned"));
    assert_eq!(r.status, 200, "{}", r.text());
    let id = run_id_of(&r);
    let r = server.get(&format!("/v1/runs/{id}"));
    let trust = r.json()["data"]["snapshot"]["trust"].as_str().unwrap().to_string();
    assert!(trust.starts_with("UNSIGNED"), "{trust}");
}

#[test]
fn sigterm_finishes_every_accepted_run_and_exits_0() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start_with_env(
        &data,
        &["--workers", "2", "--queue", "8"],
        &[("SEALED_BUSY_WAIT_MS", "120000")],
    );
    let holder = store(&data);
    let tx = holder.begin_run("test-holds-the-lock").unwrap();

    let n = 6;
    let addr = server.addr;
    let clients: Vec<_> = (0..n)
        .map(|i| std::thread::spawn(move || http::request(addr, "POST", RUN_PATH, &[], &actor(&format!("term-{i}")))))
        .collect();
    wait_until("all runs accepted", Duration::from_secs(30), || {
        let m = (
            server.metric("sealed_runs_in_flight"),
            server.metric("sealed_queue_depth"),
        );
        matches!(m, (Some(a), Some(b)) if a + b == n as f64)
    });
    server.sigterm();
    // Accepting has stopped; the accepted runs are still waiting for the store.
    wait_until("the listener to close", Duration::from_secs(10), || {
        TcpStream::connect(addr).is_err()
    });
    let mut server = server;
    assert!(server.child.try_wait().unwrap().is_none(), "exited with runs pending");

    tx.rollback().unwrap();
    let answers: Vec<Response> = clients.into_iter().map(|c| c.join().unwrap().unwrap()).collect();
    let status = wait_exit(&mut server.child, Duration::from_secs(60)).expect("serve exits after draining");
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    let check = store(&data);
    for r in &answers {
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["data"]["status"], "REGISTERED");
        let id = run_id_of(r);
        assert!(check.run(&id).unwrap().is_some(), "{id} answered 200 but not committed");
        verify(&data, &id, false);
    }
    assert_eq!(check.stats().unwrap().runs, n as u64);
}

#[test]
fn sigkill_under_load_loses_no_answered_run() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut server = Server::start(&data, &["--workers", "2", "--queue", "16"]);
    let addr = server.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let answered_count = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..6)
        .map(|c| {
            let stop = stop.clone();
            let count = answered_count.clone();
            std::thread::spawn(move || {
                let mut client = http::Client::new(addr);
                let mut answered = Vec::new();
                for i in 0..400 {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    match client.request("POST", RUN_PATH, &[], &actor(&format!("kill-{c}-{i}"))) {
                        Ok(r) if r.status == 200 => {
                            answered.push(run_id_of(&r));
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        Ok(r) => panic!("unexpected answer {}: {}", r.status, r.text()),
                        Err(_) => break, // the server is gone
                    }
                }
                answered
            })
        })
        .collect();
    wait_until("some answered runs", Duration::from_secs(60), || {
        answered_count.load(Ordering::SeqCst) >= 24
    });
    server.child.kill().unwrap(); // SIGKILL, mid-load
    server.child.wait().unwrap();
    stop.store(true, Ordering::SeqCst);
    let answered: Vec<String> = clients.into_iter().flat_map(|c| c.join().unwrap()).collect();
    assert!(answered.len() >= 24);

    let st = store(&data);
    // 1. Every answered run is committed and its evidence verifies (sampled: every third, at least 8).
    for id in &answered {
        assert!(
            st.run(id).unwrap().is_some(),
            "run {id} was answered 200 but is not in the store"
        );
    }
    for id in answered.iter().step_by((answered.len() / 8).max(1)) {
        verify(&data, id, false);
    }
    // 2. Every committed run has a run directory with a trace: the store's count equals the committed
    //    runs found among the trace directories.
    let mut committed_dirs = 0;
    let mut committed_incomplete = Vec::new();
    for entry in std::fs::read_dir(data.join("traces")).unwrap() {
        let id = entry.unwrap().file_name().to_string_lossy().into_owned();
        let row = st.run(&id).unwrap();
        let bytes = std::fs::read(trace_file(&data, &id)).unwrap_or_default();
        match (row, sealed_trace::parse_and_verify(&bytes)) {
            (Some(row), Ok(trace)) => {
                committed_dirs += 1;
                let end = trace.run_end().unwrap();
                assert!(end.committed, "{id}: in the store but its trace says not committed");
                assert_eq!(end.ledger_after.as_deref(), Some(row.ledger_after.as_str()), "{id}");
            }
            (Some(_), Err(_)) => {
                // Killed between the commit and the trace's run_end: the known crash window (the run is
                // committed, its evidence incomplete). Never a run that was answered.
                committed_dirs += 1;
                assert!(
                    !answered.contains(&id),
                    "{id} was answered before its trace was complete"
                );
                committed_incomplete.push(id);
            }
            (None, Ok(trace)) => {
                assert!(
                    !trace.run_end().unwrap().committed,
                    "{id}: trace claims a commit the store lacks"
                );
            }
            (None, Err(_)) => {} // killed before its commit: nothing in the store
        }
    }
    let stats = st.stats().unwrap();
    assert_eq!(stats.runs, committed_dirs, "every committed run has a run directory");
    assert_eq!(st.ledger_head().unwrap().runs_committed, stats.runs);
    assert_eq!(
        stats.registry_rows, stats.runs,
        "one registration per committed run, none half-written"
    );
    assert!(
        committed_incomplete.len() <= 2,
        "at most the runs in flight: {committed_incomplete:?}"
    );
    eprintln!(
        "sigkill: {} answered, {} committed, {} committed with incomplete evidence",
        answered.len(),
        stats.runs,
        committed_incomplete.len()
    );

    // The data root is usable again by a fresh server.
    let server = Server::start(&data, &[]);
    let r = server.post(&actor("after-the-kill"));
    assert_eq!(r.status, 200, "{}", r.text());
}

#[test]
fn identical_concurrent_registrations_register_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &["--workers", "2", "--queue", "16"]);
    let answers = concurrent_posts(server.addr, vec![example("valid.json"); 16]);
    let mut statuses: Vec<String> = Vec::new();
    for r in &answers {
        assert_eq!(r.status, 200, "{}", r.text());
        statuses.push(r.json()["data"]["status"].as_str().unwrap().to_string());
    }
    assert_eq!(
        statuses.iter().filter(|s| *s == "REGISTERED").count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| *s == "ALREADY_REGISTERED").count(),
        15,
        "{statuses:?}"
    );
    let stats = store(&data).stats().unwrap();
    assert_eq!((stats.registry_rows, stats.event_rows, stats.runs), (1, 1, 16));
    // Sample: the registration and two duplicates verify and replay.
    let registered = answers
        .iter()
        .position(|r| r.json()["data"]["status"] == "REGISTERED")
        .unwrap();
    let others: Vec<usize> = (0..16).filter(|i| *i != registered).take(2).collect();
    for i in std::iter::once(registered).chain(others) {
        verify(&data, &run_id_of(&answers[i]), true);
    }
}

/// A server that starts on a data root holding a run whose process died after COMMIT (trace without
/// `run_end`, no attestation, an unlocked pending marker) completes that run before it serves: the trace
/// becomes the run's own again, byte for byte, and verifies and replays.
#[test]
fn a_server_start_recovers_a_run_left_by_a_killed_process() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let server = Server::start(&data, &[]);
    let r = server.post(&example("valid.json"));
    assert_eq!(r.status, 200, "{}", r.text());
    let env = r.json();
    let run_id = run_id_of(&r);
    drop(server);

    let trace = trace_file(&data, &run_id);
    let original = std::fs::read(&trace).unwrap();
    let cut = &original[..original[..original.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1];
    std::fs::write(&trace, cut).unwrap();
    std::fs::remove_file(trace.with_file_name(format!("{run_id}.jsonl.intoto.jsonl"))).unwrap();
    let pending = data.join("pending");
    std::fs::create_dir_all(&pending).unwrap();
    let head = serde_json::json!({"format": "sealed-pending/v1", "run_id": run_id, "trace": trace});
    let ending = serde_json::json!({"terminal": env["data"]["terminal"], "status": "REGISTERED", "ok": true});
    std::fs::write(pending.join(format!("{run_id}.json")), format!("{head}\n{ending}\n")).unwrap();

    let server = Server::start(&data, &[]);
    assert_eq!(
        std::fs::read(&trace).unwrap(),
        original,
        "the trace was not completed at start"
    );
    assert!(!pending.join(format!("{run_id}.json")).exists());
    // Its log says so (stderr is read by a background thread: wait for the line, bounded).
    wait_until("the recovery log line", Duration::from_secs(10), || {
        server.stderr().contains("interrupted run recovered at start")
    });
    let r = server.get(&format!("/v1/runs/{run_id}/attestation"));
    assert_eq!(r.status, 200, "{}", r.text());
    verify(&data, &run_id, true);
}
