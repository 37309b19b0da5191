//! One `host run` per process, as an operator's script calls it: `cargo bench -p sealed-host --bench cli`.
//!
//! Runs the release `host` binary (the one `cargo bench` builds) on `snapshots/register-actor/sealed`,
//! each run with a fresh email (the REGISTERED path: three nodes, commit, trace, attestation), in three
//! variants measured in one session on one data root:
//!
//! * `no cache`: `--no-cache`, every process compiles every component (what every run paid before the
//!   compiled-component cache);
//! * `cold cache`: the cache directory is emptied before each run (compile, then write the entries);
//! * `warm cache`: the entries are there (deserialise only).
//!
//! Rounds interleave the variants so machine noise hits all of them alike. Prints a table of medians and
//! p90s, with ratios against `no cache`, plus the per-phase medians the warm runs wrote to their
//! `<run-id>.timing.json`. Under `cargo test --benches` (no `--bench` argument) it makes one round only.
//!
//! With `SEALED_BENCH_BASELINE=/path/to/an/older/host`, each round also makes warm runs with that binary
//! (its own data root and cache), alternated with this build's, and the table gains a `baseline warm` row
//! and the ratio between the two: a regression check of two builds timed in one session.
//!
//! Needs the committed example snapshot and trust root; nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

const HOST: &str = env!("CARGO_BIN_EXE_host");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

struct Setup {
    host: PathBuf,
    data_root: PathBuf,
    cache: PathBuf,
    payloads: PathBuf,
    counter: u64,
}

impl Setup {
    /// One run; returns its wall time in ms and its run directory.
    fn run(&mut self, cache_flag: &[&str]) -> (f64, PathBuf) {
        self.counter += 1;
        let payload = self.payloads.join(format!("p{}.json", self.counter));
        std::fs::write(
            &payload,
            format!(
                r#"{{"actor": {{"email": "cli{}@example.org", "first_name": "Bench", "last_name": "Mark"}}}}"#,
                self.counter
            ),
        )
        .unwrap();
        let ws = workspace();
        let t = Instant::now();
        let out = Command::new(&self.host)
            .args(["--json", "run", "--wf", "register_actor", "--snapshot"])
            .arg(ws.join("snapshots/register-actor/sealed"))
            .arg("--trust")
            .arg(ws.join("snapshots/trust.json"))
            .arg("--data-root")
            .arg(&self.data_root)
            .arg("--payload")
            .arg(&payload)
            .args(cache_flag)
            .env_remove("SEALED_CACHE_DIR")
            .output()
            .unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let env: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(env["data"]["status"], "REGISTERED", "{env}");
        let trace = PathBuf::from(env["data"]["trace"]["path"].as_str().unwrap());
        (ms, trace.parent().unwrap().to_path_buf())
    }
}

fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let tmp = tempfile::tempdir().unwrap();
    let setup = |host: PathBuf, name: &str| Setup {
        host,
        data_root: tmp.path().join(name).join("data"),
        cache: tmp.path().join(name).join("cache"),
        payloads: tmp.path().join(name).join("payloads"),
        counter: 0,
    };
    let mut s = setup(PathBuf::from(HOST), "this");
    std::fs::create_dir_all(&s.payloads).unwrap();
    let cache = s.cache.to_str().unwrap().to_string();
    // One run first: creates the data root, its run key and the store, outside the measurement.
    s.run(&["--cache-dir", &cache]);
    let mut baseline = std::env::var_os("SEALED_BENCH_BASELINE").map(|b| {
        let mut b = setup(PathBuf::from(b), "baseline");
        std::fs::create_dir_all(&b.payloads).unwrap();
        let cache = b.cache.to_str().unwrap().to_string();
        b.run(&["--cache-dir", &cache]);
        b
    });

    let rounds = if bench_mode { 15 } else { 1 };
    let warm_per_round = if bench_mode { 3 } else { 1 };
    let mut times: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut phases: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for _ in 0..rounds {
        let (ms, _) = s.run(&["--no-cache"]);
        times.entry("no cache").or_default().push(ms);

        std::fs::remove_dir_all(&s.cache).unwrap();
        let (ms, _) = s.run(&["--cache-dir", &cache]);
        times.entry("cold cache").or_default().push(ms);

        for _ in 0..warm_per_round {
            if let Some(b) = baseline.as_mut() {
                let cache = b.cache.to_str().unwrap().to_string();
                let (ms, _) = b.run(&["--cache-dir", &cache]);
                times.entry("baseline warm").or_default().push(ms);
            }
            let (ms, dir) = s.run(&["--cache-dir", &cache]);
            times.entry("warm cache").or_default().push(ms);
            let id = dir.file_name().unwrap().to_string_lossy().into_owned();
            let timing: Value =
                serde_json::from_slice(&std::fs::read(dir.join(format!("{id}.timing.json"))).unwrap()).unwrap();
            for (phase, v) in timing["phases_ms"].as_object().unwrap() {
                phases.entry(phase.clone()).or_default().push(v.as_f64().unwrap());
            }
            phases
                .entry("(in-process total)".into())
                .or_default()
                .push(timing["total_ms"].as_f64().unwrap());
        }
    }
    if !bench_mode {
        return;
    }
    let base = percentile(&times["no cache"], 0.5);
    println!(
        "\nhost run, register-actor, one run per process ({} rounds, interleaved)",
        rounds
    );
    println!(
        "  {:<12} {:>4} {:>12} {:>12} {:>10}",
        "variant", "n", "median ms", "p90 ms", "vs no cache"
    );
    for name in ["no cache", "cold cache", "warm cache", "baseline warm"] {
        let Some(v) = times.get(name) else { continue };
        let median = percentile(v, 0.5);
        println!(
            "  {name:<12} {:>4} {median:>12.1} {:>12.1} {:>9.3}x",
            v.len(),
            percentile(v, 0.9),
            median / base
        );
    }
    if let Some(b) = times.get("baseline warm") {
        println!(
            "  this build's warm runs / the baseline's: {:.3}x (medians)",
            percentile(&times["warm cache"], 0.5) / percentile(b, 0.5)
        );
    }
    println!("warm-cache runs, in-process phases (median ms, from <run-id>.timing.json)");
    for (phase, v) in &phases {
        println!("  {phase:<20} {:>8.2}", percentile(v, 0.5));
    }
}
