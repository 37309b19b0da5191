//! Per-run cost does not grow with the size of the store. Ignored by default (timing-based); run with
//! `cargo test -p sealed-store --release --test cost -- --ignored --nocapture`.
//! The structural guarantee (every run-path statement is an index search) is the unit test
//! `run::tests::run_path_statements_use_indexes`; this measures it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use sealed_store::Store;

/// A typical run: a registry insert, an append to a long-lived stream, a state CAS, and a commit.
fn runs(store: &Store, tag: &str, n: usize) -> Duration {
    let started = Instant::now();
    for i in 0..n {
        let mut tx = store.begin_run(&format!("{tag}-{i}")).unwrap();
        insert(
            &mut tx,
            "actors",
            &format!("{tag}-{i}"),
            b"some actor record of moderate size",
        )
        .unwrap();
        append(&mut tx, "audit", "hot-stream", b"an audit event");
        let v = load(&mut tx, "acct", "hot").map_or(0, |v| v.version);
        store_if(&mut tx, "acct", "hot", v, b"balance").unwrap();
        tx.commit(record("OK")).unwrap();
    }
    started.elapsed() / n as u32
}

#[test]
#[ignore = "timing measurement"]
fn per_run_cost_does_not_grow_with_store_size() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let n = 300;
    let small = runs(&store, "small", n);

    // Grow the store by two orders of magnitude in one bulk run.
    let rows = 200_000;
    let started = Instant::now();
    commit_run(&store, "bulk", |tx| {
        for i in 0..rows {
            insert(
                tx,
                "actors",
                &format!("bulk-{i}"),
                b"some actor record of moderate size",
            )
            .unwrap();
            append(tx, "audit", "hot-stream", b"an audit event");
            store_if(tx, "acct", &format!("bulk-{i}"), 0, b"balance").unwrap();
        }
    });
    let bulk = started.elapsed();
    let big = runs(&store, "big", n);
    let stats = store.stats().unwrap();
    println!(
        "per run (insert + append + load + CAS + commit, synchronous=FULL): {small:?} with {} rows before, \
         {big:?} with {} registry / {} event / {} state rows; bulk fill of {rows}x3 rows in one run: {bulk:?}",
        n * 3,
        stats.registry_rows,
        stats.event_rows,
        stats.state_rows
    );
    assert!(
        big < small * 3 + Duration::from_millis(2),
        "per-run cost grew: {small:?} -> {big:?}"
    );
}
