//! The persistent compiled-component cache: a warm engine loads instead of compiling; an entry compiled
//! under another profile never loads; every kind of damaged, swapped or foreign entry is detected, deleted
//! and rewritten, never loaded; an unsafe directory is refused; eight processes on a cold cache leave one
//! valid entry per component; `list` and `clear` report and remove only what they own.
//!
//! Every engine here uses on-demand allocation: a pooling engine falls back to on-demand when the machine
//! runs out of address space (tests run in parallel), and the effective profile is part of the key.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use sealed_capability::Gate;
use sealed_engine::cache::{FORMAT_VERSION, HEADER_LEN, MAGIC};
use sealed_engine::{Allocator, CacheStats, DiskCache, Engine, EngineProfile, WarmOutcome};
use sealed_snapshot::{VerifiedComponent, World};
use sealed_storage::memory::MemoryBackend;

fn profile() -> EngineProfile {
    EngineProfile {
        allocator: Allocator::OnDemand,
        ..EngineProfile::default()
    }
}

fn cached_engine(dir: &Path, profile: EngineProfile) -> Engine {
    let cache = DiskCache::open(dir).unwrap();
    let engine = Engine::new_with_cache(profile, Some(cache)).unwrap();
    assert_eq!(engine.disk_cache().map(DiskCache::dir), Some(dir));
    engine
}

/// A fresh cache directory (not created yet: `DiskCache::open` creates it).
fn fresh_dir() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("cache");
    (tmp, dir)
}

/// The entry files (`*.cwasm`) of `dir`, sorted.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    out.sort();
    out
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp"))
        .collect()
}

fn stats(memory_hits: u64, disk_hits: u64, misses: u64, invalid: u64, writes: u64) -> CacheStats {
    CacheStats {
        memory_hits,
        disk_hits,
        misses,
        invalid,
        writes,
        write_errors: 0,
    }
}

const GENERATE_ID_INPUT: &str = r#"{"data": {"b": 1.0, "a": "x"}, "prefix": "AC_", "length": 16}"#;

/// Prepares `component` as a transform on `engine` and runs it once: (output text, fuel used).
fn run(engine: &Engine, component: &VerifiedComponent, input: &str) -> (String, u64) {
    let prepared = engine.prepare(component, World::Transform, &[]).unwrap();
    let limits = test_limits();
    let inv = prepared.invoke(input, &limits, Gate::new(&[], &limits, MemoryBackend::new()));
    let out = inv.result.unwrap();
    assert_eq!(out.outcome, "SUCCESS");
    (out.output, inv.fuel_used)
}

/// What an engine without a disk cache outputs for generate-id (the reference for every cached run).
fn reference_generate_id() -> (String, u64) {
    let engine = Engine::new(profile()).unwrap();
    let out = run(&engine, &built_component("generate-id"), GENERATE_ID_INPUT);
    assert_eq!(
        engine.cache_stats(),
        stats(0, 0, 1, 0, 0),
        "no disk cache: no disk activity"
    );
    out
}

/// Builds a header the way the format documents it (independently of the crate's encoder).
fn header(version: u32, key: &[u8], body: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(&MAGIC);
    h.extend_from_slice(&version.to_le_bytes());
    h.extend_from_slice(key);
    h.extend_from_slice(&sha256(body));
    h.extend_from_slice(&(body.len() as u64).to_le_bytes());
    assert_eq!(h.len(), HEADER_LEN);
    h
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

fn key_of(entry: &Path) -> Vec<u8> {
    hex::decode(entry.file_stem().unwrap().to_str().unwrap()).unwrap()
}

#[test]
fn a_cold_cache_compiles_and_a_new_engine_loads_from_disk() {
    let reference = reference_generate_id();
    let (_tmp, dir) = fresh_dir();
    let component = built_component("generate-id");

    let cold = cached_engine(&dir, profile());
    assert_eq!(cold.cache_stats(), CacheStats::default());
    let first = run(&cold, &component, GENERATE_ID_INPUT);
    assert_eq!(cold.cache_stats(), stats(0, 0, 1, 0, 1));
    assert_eq!(first, reference);
    // Same engine again: from memory, no disk read, no compile.
    run(&cold, &component, GENERATE_ID_INPUT);
    assert_eq!(cold.cache_stats(), stats(1, 0, 1, 0, 1));

    let files = entries(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(std::fs::metadata(&files[0]).unwrap().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    assert!(temp_files(&dir).is_empty());
    drop(cold);

    // A new engine (what a new process has): loads the entry, compiles nothing, runs the same.
    let warm = cached_engine(&dir, profile());
    let second = run(&warm, &component, GENERATE_ID_INPUT);
    assert_eq!(warm.cache_stats(), stats(0, 1, 0, 0, 0));
    assert_eq!(second, reference, "output and fuel of the loaded component");
    assert_eq!(warm.warm(&component).unwrap(), WarmOutcome::AlreadyCached);
    assert_eq!(warm.cache_stats(), stats(0, 2, 0, 0, 0));

    // `inspect` (unpinned bytes, hashed by the engine) finds the same entry.
    let inspector = cached_engine(&dir, profile());
    let info = inspector.inspect(component.bytes()).unwrap();
    assert!(info.exports_node_run);
    assert_eq!(inspector.cache_stats(), stats(0, 1, 0, 0, 0));
    assert_eq!(entries(&dir), files);
}

#[test]
fn warm_compiles_once_and_needs_a_disk_cache() {
    let (_tmp, dir) = fresh_dir();
    let component = echo();
    let engine = cached_engine(&dir, profile());
    assert_eq!(engine.warm(&component).unwrap(), WarmOutcome::Compiled);
    assert_eq!(engine.cache_stats(), stats(0, 0, 1, 0, 1));
    assert_eq!(engine.warm(&component).unwrap(), WarmOutcome::AlreadyCached);
    // Entry deleted behind the engine's back: rewritten from the compiled component in memory.
    std::fs::remove_file(&entries(&dir)[0]).unwrap();
    assert_eq!(engine.warm(&component).unwrap(), WarmOutcome::Compiled);
    assert_eq!(engine.cache_stats(), stats(0, 1, 1, 0, 2));
    assert_eq!(DiskCache::open(&dir).unwrap().list().unwrap().valid, 1);

    let err = Engine::new(profile()).unwrap().warm(&component).unwrap_err();
    assert_eq!(err.code(), "CACHE_IO");
}

/// nan-float returns NaN bit patterns; with canonicalisation off they are the CPU's, with it on the
/// canonical ones. An entry compiled with it off must never run in an engine that has it on.
#[test]
fn an_entry_compiled_without_nan_canonicalisation_never_loads_with_it_on() {
    let component = built_component("nan-float");
    let nan_off = EngineProfile {
        nan_canonicalization: false,
        ..profile()
    };
    let expected_on = run(&Engine::new(profile()).unwrap(), &component, "{}").0;
    let expected_off = run(&Engine::new(nan_off.clone()).unwrap(), &component, "{}").0;

    let (_tmp, dir) = fresh_dir();
    let off = cached_engine(&dir, nan_off);
    assert_eq!(run(&off, &component, "{}").0, expected_off);
    assert_eq!(off.cache_stats(), stats(0, 0, 1, 0, 1));
    let off_files = entries(&dir);
    assert_eq!(off_files.len(), 1);
    let off_entry = off_files[0].clone();

    // Same component, same wasmtime, NaN canonicalisation on: another key, so a miss and a second entry.
    let on = cached_engine(&dir, profile());
    assert_ne!(on.profile_digest(), off.profile_digest());
    assert_eq!(run(&on, &component, "{}").0, expected_on);
    assert_eq!(on.cache_stats(), stats(0, 0, 1, 0, 1));
    let on_files = entries(&dir);
    assert_eq!(on_files.len(), 2, "the two profiles must use two entries: {on_files:?}");
    let on_entry = on_files.into_iter().find(|f| *f != off_entry).unwrap();
    assert_ne!(key_of(&on_entry), key_of(&off_entry));

    // The profile digest is in the key, not only wasmtime's hash: a host-side setting that changes no
    // compiled code still selects another entry.
    let other_host_setting = cached_engine(
        &dir,
        EngineProfile {
            fuel_per_host_byte: 2,
            ..profile()
        },
    );
    run(&other_host_setting, &component, "{}");
    assert_eq!(other_host_setting.cache_stats(), stats(0, 0, 1, 0, 1));
    let third = entries(&dir)
        .into_iter()
        .find(|f| *f != off_entry && *f != on_entry)
        .unwrap();
    std::fs::remove_file(third).unwrap();

    // The swap: the NaN-off entry put under the NaN-on name. Detected (its header names the other key),
    // counted, deleted, recompiled; the run gives the canonical NaNs.
    std::fs::copy(&off_entry, &on_entry).unwrap();
    let swapped = cached_engine(&dir, profile());
    assert_eq!(run(&swapped, &component, "{}").0, expected_on);
    assert_eq!(swapped.cache_stats(), stats(0, 0, 1, 1, 1));
    let listing = DiskCache::open(&dir).unwrap().list().unwrap();
    assert_eq!((listing.entries, listing.valid), (2, 2), "{listing:?}");
    assert_ne!(std::fs::read(&on_entry).unwrap(), std::fs::read(&off_entry).unwrap());
    if expected_on == expected_off {
        println!("note: this CPU gives canonical NaNs even without canonicalisation; only the keys were compared");
    }
}

/// One way of damaging the entry file, given its path and its original bytes.
type Tamper = Box<dyn Fn(&Path, &[u8])>;

#[test]
fn damaged_swapped_and_foreign_entries_are_detected_deleted_and_rewritten() {
    let reference = reference_generate_id();
    let component = built_component("generate-id");
    let (_tmp, dir) = fresh_dir();
    let filler = cached_engine(&dir, profile());
    run(&filler, &component, GENERATE_ID_INPUT);
    let entry = entries(&dir).pop().unwrap();
    let original = std::fs::read(&entry).unwrap();
    assert!(original.len() > HEADER_LEN + 1000);

    // The entry of another component, to copy under generate-id's name.
    filler.warm(&echo()).unwrap();
    let echo_entry = entries(&dir).into_iter().find(|f| *f != entry).unwrap();
    let echo_bytes = std::fs::read(&echo_entry).unwrap();

    let write = |path: &Path, bytes: &[u8]| std::fs::write(path, bytes).unwrap();
    // (case, whether `list()` sees it: it checks everything but what only wasmtime can, the body's content)
    let cases: Vec<(&str, bool, Tamper)> = vec![
        (
            "a flipped byte in the body",
            true,
            Box::new(move |p, b| {
                let mut b = b.to_vec();
                let mid = HEADER_LEN + (b.len() - HEADER_LEN) / 2;
                b[mid] ^= 0x01;
                write(p, &b)
            }),
        ),
        (
            "a flipped byte in the stored digest",
            true,
            Box::new(move |p, b| {
                let mut b = b.to_vec();
                b[8 + 4 + 32] ^= 0x01;
                write(p, &b)
            }),
        ),
        (
            "truncated body",
            true,
            Box::new(move |p, b| write(p, &b[..b.len() - 100])),
        ),
        (
            "truncated header",
            true,
            Box::new(move |p, b| write(p, &b[..HEADER_LEN / 2])),
        ),
        ("empty file", true, Box::new(move |p, _| write(p, b""))),
        (
            "extended",
            true,
            Box::new(move |p, b| {
                let mut b = b.to_vec();
                b.extend_from_slice(b"trailing");
                write(p, &b)
            }),
        ),
        (
            "another component's entry under this name",
            true,
            Box::new(move |p, _| write(p, &echo_bytes)),
        ),
        (
            "another format version",
            true,
            Box::new(move |p, b| {
                let mut b = b.to_vec();
                b[8..12].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
                write(p, &b)
            }),
        ),
        (
            "a consistent entry for a foreign key (other wasmtime / engine)",
            true,
            Box::new(move |p, b| {
                let body = &b[HEADER_LEN..];
                let mut e = header(FORMAT_VERSION, &sha256(b"another wasmtime build"), body);
                e.extend_from_slice(body);
                write(p, &e)
            }),
        ),
        (
            "garbage with a correct key and self-digest",
            false,
            Box::new(move |p, b| {
                let body = b"\x7fELF not really compiled code".repeat(1000);
                let mut e = header(FORMAT_VERSION, &b[12..44], &body);
                e.extend_from_slice(&body);
                write(p, &e)
            }),
        ),
        (
            "the real body re-digested after a byte flip",
            false,
            Box::new(move |p, b| {
                let mut body = b[HEADER_LEN..].to_vec();
                body[..16].copy_from_slice(b"not wasmtime elf");
                let mut e = header(FORMAT_VERSION, &b[12..44], &body);
                e.extend_from_slice(&body);
                write(p, &e)
            }),
        ),
        (
            "group-writable entry",
            true,
            Box::new(move |p, b| {
                write(p, b);
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o620)).unwrap();
            }),
        ),
        (
            "a symbolic link to a valid entry",
            true,
            Box::new(move |p, b| {
                let elsewhere = p.with_file_name("elsewhere.bin");
                write(&elsewhere, b);
                std::fs::remove_file(p).unwrap();
                std::os::unix::fs::symlink(&elsewhere, p).unwrap();
            }),
        ),
        (
            "a FIFO (must not block the reader)",
            true,
            Box::new(move |p, _| {
                std::fs::remove_file(p).unwrap();
                let status = Command::new("mkfifo").arg(p).status().unwrap();
                assert!(status.success());
            }),
        ),
    ];

    for (case, list_sees_it, tamper) in cases {
        tamper(&entry, &original);
        let before = DiskCache::open(&dir).unwrap().list().unwrap();
        let report = before.files.iter().find(|f| dir.join(&f.file) == entry).unwrap();
        assert_eq!(!report.valid, list_sees_it, "{case}: {report:?}");
        println!(
            "{case}: {}",
            report.problem.as_deref().unwrap_or("only wasmtime can tell")
        );

        let engine = cached_engine(&dir, profile());
        let started = Instant::now();
        let out = run(&engine, &component, GENERATE_ID_INPUT);
        assert!(started.elapsed() < Duration::from_secs(60), "{case}: took too long");
        assert_eq!(
            engine.cache_stats(),
            stats(0, 0, 1, 1, 1),
            "{case}: must be counted invalid, never loaded, compiled and rewritten"
        );
        assert_eq!(out, reference, "{case}: the node still runs correctly");

        let meta = std::fs::symlink_metadata(&entry).unwrap();
        assert!(meta.file_type().is_file(), "{case}: rewritten as a regular file");
        assert_eq!(meta.mode() & 0o777, 0o600, "{case}");
        let after = DiskCache::open(&dir).unwrap().list().unwrap();
        let report = after.files.iter().find(|f| dir.join(&f.file) == entry).unwrap();
        assert!(report.valid, "{case}: rewritten entry not valid: {report:?}");
        assert_eq!(after.invalid, 0, "{case}: {after:?}");

        // And the rewritten entry loads.
        let again = cached_engine(&dir, profile());
        assert_eq!(run(&again, &component, GENERATE_ID_INPUT), reference, "{case}");
        assert_eq!(again.cache_stats(), stats(0, 1, 0, 0, 0), "{case}");
        let _ = std::fs::remove_file(dir.join("elsewhere.bin"));
    }
}

#[test]
fn an_unsafe_cache_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shared");
    DiskCache::open(&dir).unwrap();
    for mode in [0o770, 0o777, 0o720, 0o702] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let err = DiskCache::open(&dir).unwrap_err();
        assert_eq!(err.code(), "CACHE_DIR_INSECURE", "{mode:o}");
        let msg = err.to_string();
        assert!(msg.contains(&dir.display().to_string()), "{msg}");
        assert!(msg.contains(&format!("chmod 700 {}", dir.display())), "{msg}");
    }
    // Readable by others is not a risk: nobody else can write.
    for mode in [0o700, 0o750, 0o755] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        DiskCache::open(&dir).unwrap_or_else(|e| panic!("{mode:o}: {e}"));
    }

    // A symbolic link as the cache directory (to a directory that is itself fine).
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    let err = DiskCache::open(&link).unwrap_err();
    assert_eq!(err.code(), "CACHE_DIR_INSECURE");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(err.to_string().contains(&link.display().to_string()), "{err}");

    // Missing parents are created, all 0700 at most.
    let deep = tmp.path().join("a/b/c");
    let cache = DiskCache::open(&deep).unwrap();
    assert_eq!(cache.dir(), deep);
    for d in [tmp.path().join("a"), tmp.path().join("a/b"), deep.clone()] {
        assert_eq!(std::fs::metadata(&d).unwrap().mode() & 0o077, 0, "{}", d.display());
    }

    // A regular file where the directory should be.
    let file = tmp.path().join("file");
    std::fs::write(&file, b"").unwrap();
    assert_eq!(DiskCache::open(&file).unwrap_err().code(), "CACHE_IO");

    // Owned by someone else. The process's uid is the owner of the directory it just created.
    let me = std::fs::metadata(&dir).unwrap().uid();
    if me == 0 {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&dir, Some(65534), None).unwrap();
        let err = DiskCache::open(&dir).unwrap_err();
        assert_eq!(err.code(), "CACHE_DIR_INSECURE");
        let msg = err.to_string();
        assert!(
            msg.contains("uid 65534") && msg.contains(&dir.display().to_string()),
            "{msg}"
        );
    } else {
        println!(
            "SKIPPED (not checked): a cache directory owned by another uid is refused; this needs root to chown \
             (running as uid {me})"
        );
    }
}

const ENV_CHILD_DIR: &str = "SEALED_CACHE_TEST_CHILD_DIR";
const ENV_CHILD_ID: &str = "SEALED_CACHE_TEST_CHILD_ID";
const RESULT_PREFIX: &str = "CACHE-CHILD-RESULT ";
const RACERS: usize = 8;

fn race_components() -> [VerifiedComponent; 3] {
    [built_component("generate-id"), built_component("compare"), echo()]
}

/// The child side of `eight_processes_on_a_cold_cache_leave_one_valid_entry_per_component`: does nothing
/// unless started by it (ignored so that a normal run does not list it as a test of its own).
#[test]
#[ignore = "child process of the cache race test"]
fn cache_child() {
    let (Ok(root), Ok(id)) = (std::env::var(ENV_CHILD_DIR), std::env::var(ENV_CHILD_ID)) else {
        return;
    };
    let root = PathBuf::from(root);
    let components = race_components();
    std::fs::write(root.join(format!("ready-{id}")), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !root.join("go").exists() {
        assert!(Instant::now() < deadline, "no go signal");
        std::thread::sleep(Duration::from_millis(1));
    }
    let engine = cached_engine(&root.join("cache"), profile());
    let outcomes: Vec<WarmOutcome> = components.iter().map(|c| engine.warm(c).unwrap()).collect();
    let result = serde_json::json!({ "outcomes": outcomes, "stats": engine.cache_stats() });
    println!("{RESULT_PREFIX}{result}");
}

#[test]
fn eight_processes_on_a_cold_cache_leave_one_valid_entry_per_component() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    // The child's test name as libtest knows it: its module path without the crate (`cache::cache_child`
    // in the `engine` test binary), so a move to another module or binary cannot make it match nothing.
    let child_test = format!(
        "{}::cache_child",
        module_path!().split_once("::").map_or("", |(_, m)| m)
    );
    let mut children: Vec<_> = (0..RACERS)
        .map(|i| {
            Command::new(&exe)
                .args([
                    child_test.as_str(),
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ENV_CHILD_DIR, tmp.path())
                .env(ENV_CHILD_ID, i.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while (0..RACERS).any(|i| !tmp.path().join(format!("ready-{i}")).exists()) {
        assert!(Instant::now() < deadline, "children did not get ready");
        // A child that ended before it got ready ran no test at all (e.g. its name filter matched none).
        for (i, child) in children.iter_mut().enumerate() {
            if !tmp.path().join(format!("ready-{i}")).exists() && child.try_wait().unwrap().is_some() {
                let out = children.swap_remove(i).wait_with_output().unwrap();
                panic!(
                    "child {i} ended before it got ready:\n{}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    std::fs::write(tmp.path().join("go"), b"").unwrap();

    let mut total = CacheStats::default();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let line = stdout
            .lines()
            .find_map(|l| l.split_once(RESULT_PREFIX).map(|(_, r)| r.trim()))
            .unwrap_or_else(|| panic!("child printed no result: {stdout}"));
        let result: serde_json::Value = serde_json::from_str(line).unwrap();
        let s = &result["stats"];
        let n = |k: &str| s[k].as_u64().unwrap();
        assert_eq!(n("invalid"), 0, "a child saw a partial or bad entry: {result}");
        assert_eq!(n("write_errors"), 0, "{result}");
        assert_eq!(n("disk_hits") + n("misses"), 3, "{result}");
        total.disk_hits += n("disk_hits");
        total.misses += n("misses");
        total.writes += n("writes");
    }
    assert_eq!(total.writes, total.misses, "every compile was written");

    let cache_dir = tmp.path().join("cache");
    let listing = DiskCache::open(&cache_dir).unwrap().list().unwrap();
    assert_eq!(
        (listing.entries, listing.valid, listing.temp_files),
        (3, 3, 0),
        "{listing:?}"
    );
    assert!(temp_files(&cache_dir).is_empty(), "{:?}", temp_files(&cache_dir));

    // Exactly the three entries a fresh engine looks for, and they load.
    let engine = cached_engine(&cache_dir, profile());
    for c in race_components() {
        assert_eq!(engine.warm(&c).unwrap(), WarmOutcome::AlreadyCached, "{}", c.name());
    }
    assert_eq!(engine.cache_stats(), stats(0, 3, 0, 0, 0));
    println!("8 processes: {} compiles, {} disk hits", total.misses, total.disk_hits);
}

#[test]
fn list_reports_entries_and_clear_removes_only_entries_and_temp_files() {
    let (_tmp, dir) = fresh_dir();
    let engine = cached_engine(&dir, profile());
    engine.warm(&echo()).unwrap();
    engine.warm(&reject()).unwrap();
    let cache = engine.disk_cache().unwrap().clone();

    let listing = cache.list().unwrap();
    assert_eq!((listing.entries, listing.valid, listing.invalid), (2, 2, 0));
    let sizes: u64 = entries(&dir).iter().map(|p| std::fs::metadata(p).unwrap().len()).sum();
    assert_eq!(listing.bytes, sizes);
    for f in &listing.files {
        assert_eq!(f.bytes, std::fs::metadata(dir.join(&f.file)).unwrap().len());
        assert!(f.valid && f.problem.is_none(), "{f:?}");
    }

    // Things that are not (valid) entries.
    std::fs::write(dir.join("notes.txt"), b"mine").unwrap();
    std::fs::write(dir.join("ABC.cwasm"), b"not an entry name").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join(".tmp-crashed"), b"half a write").unwrap();
    let bogus = format!("{}.cwasm", "0".repeat(64));
    std::fs::write(dir.join(&bogus), b"garbage").unwrap();

    let listing = cache.list().unwrap();
    assert_eq!(
        (listing.entries, listing.valid, listing.invalid, listing.temp_files),
        (3, 2, 1, 1),
        "{listing:?}"
    );
    assert_eq!(listing.bytes, sizes + 7);
    let bad = listing.files.iter().find(|f| f.file == bogus).unwrap();
    assert!(
        !bad.valid && bad.problem.as_deref().unwrap().contains("truncated"),
        "{bad:?}"
    );
    let json = serde_json::to_value(&listing).unwrap();
    assert_eq!(json["files"].as_array().unwrap().len(), 3);

    assert_eq!(cache.clear().unwrap(), 4, "3 entries and 1 temporary file");
    let left: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = ["notes.txt", "ABC.cwasm", "sub"].map(String::from).into();
    assert_eq!(left, expected);
    assert_eq!(std::fs::read(dir.join("notes.txt")).unwrap(), b"mine");
    let listing = cache.list().unwrap();
    assert_eq!((listing.entries, listing.bytes, listing.temp_files), (0, 0, 0));
    assert_eq!(cache.clear().unwrap(), 0);

    // After a clear, a new engine compiles again.
    let after = cached_engine(&dir, profile());
    after.warm(&echo()).unwrap();
    assert_eq!(after.cache_stats(), stats(0, 0, 1, 0, 1));
}
