//! Rollback leaves no trace, commits chain deterministically, the schema is guarded, and a busy store
//! makes a run wait, then fail clearly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use sealed_capability::InsertOutcome;
use sealed_store::{DB_FILE, GENESIS_HEAD, Store, StoreOptions, next_ledger_head, write_set_digest};

fn with_wait(root: &Path, wait: Duration) -> Store {
    Store::open_with(root, StoreOptions { busy_wait: wait }).unwrap()
}

/// Writes of every kind, big enough to spill SQLite's page cache into the WAL before the end of the run.
fn heavy_run(tx: &mut sealed_store::RunTx) {
    let big = vec![0x5a; 4096];
    for i in 0..1500 {
        append(tx, "log", "s", &big);
        insert(tx, "reg", &format!("h{i}"), &big).unwrap();
    }
    store_if(tx, "acct", "a", 1, b"changed").unwrap();
}

#[test]
fn rollback_and_drop_leave_the_data_and_the_file_bytes_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    {
        let store = Store::open(root).unwrap();
        commit_run(&store, "r1", |tx| {
            insert(tx, "reg", "k0", b"v").unwrap();
            append(tx, "log", "s", b"e1");
            store_if(tx, "acct", "a", 0, b"initial").unwrap();
        });
        store.checkpoint().unwrap();
    }
    // All connections closed: the last close checkpoints and removes the WAL, so sealed.db is everything.
    let bytes_before = std::fs::read(root.join(DB_FILE)).unwrap();
    let (digest_before, ledger_before, stats_before) = {
        let store = Store::open(root).unwrap();
        let before = (
            store.content_digest().unwrap(),
            store.ledger_head().unwrap(),
            store.stats().unwrap(),
        );

        let mut tx = store.begin_run("r2").unwrap();
        heavy_run(&mut tx);
        assert_eq!(
            store.content_digest().unwrap(),
            before.0,
            "uncommitted writes are invisible"
        );
        tx.rollback().unwrap();

        let mut tx = store.begin_run("r3").unwrap();
        heavy_run(&mut tx);
        drop(tx); // no commit: same as rollback

        assert_eq!(store.content_digest().unwrap(), before.0);
        assert_eq!(store.ledger_head().unwrap(), before.1);
        assert_eq!(store.stats().unwrap(), before.2);
        assert_eq!(store.run("r2").unwrap(), None);
        assert_eq!(store.run("r3").unwrap(), None);
        store.checkpoint().unwrap();
        before
    };
    let bytes_after = std::fs::read(root.join(DB_FILE)).unwrap();
    assert!(
        bytes_before == bytes_after,
        "sealed.db changed although every run after r1 rolled back"
    );

    let store = Store::open(root).unwrap();
    assert_eq!(store.content_digest().unwrap(), digest_before);
    assert_eq!(store.ledger_head().unwrap(), ledger_before);
    assert_eq!(store.stats().unwrap(), stats_before);
}

#[test]
fn events_stay_gap_free_after_a_rolled_back_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    commit_run(&store, "a", |tx| assert_eq!(append(tx, "l", "s", b"1"), 1));
    let mut tx = store.begin_run("b").unwrap();
    assert_eq!(append(&mut tx, "l", "s", b"rolled back"), 2);
    assert_eq!(append(&mut tx, "l", "s", b"rolled back"), 3);
    tx.rollback().unwrap();
    commit_run(&store, "c", |tx| assert_eq!(append(tx, "l", "s", b"2"), 2));
    let events = store.events_read("l", "s", 1, 10).unwrap();
    let got: Vec<(u64, &[u8])> = events.iter().map(|e| (e.seq, e.payload.as_slice())).collect();
    assert_eq!(got, [(1, &b"1"[..]), (2, &b"2"[..])]);
}

/// The same runs with the same write-sets reach the same heads in two fresh stores, and the heads are
/// the documented chain.
#[test]
fn commits_advance_the_ledger_deterministically() {
    let script = |store: &Store| -> Vec<sealed_store::CommitInfo> {
        vec![
            commit_run(store, "run-1", |tx| {
                insert(tx, "actors", "AC_1", b"alice").unwrap();
                append(tx, "audit", "AC_1", b"created");
            }),
            commit_run(store, "run-2", |tx| {
                assert_eq!(
                    insert(tx, "actors", "AC_1", b"alice").unwrap(),
                    InsertOutcome::AlreadyExists
                );
            }),
            commit_run(store, "run-3", |tx| {
                store_if(tx, "acct", "AC_1", 0, b"10").unwrap();
                store_if(tx, "acct", "AC_1", 1, b"20").unwrap();
                append(tx, "audit", "AC_1", b"funded");
            }),
        ]
    };
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (s1, s2) = (Store::open(d1.path()).unwrap(), Store::open(d2.path()).unwrap());
    let (c1, c2) = (script(&s1), script(&s2));
    assert_eq!(c1, c2);
    assert_eq!(s1.ledger_head().unwrap(), s2.ledger_head().unwrap());
    assert_eq!(s1.content_digest().unwrap(), s2.content_digest().unwrap());

    let mut head = GENESIS_HEAD.to_string();
    for (i, c) in c1.iter().enumerate() {
        assert_eq!(c.position, i as u64 + 1);
        assert_eq!(c.ledger_before, head);
        assert_eq!(c.write_set_digest, write_set_digest(&c.writes));
        head = next_ledger_head(&head, &c.run_id, &c.write_set_digest);
        assert_eq!(c.ledger_after, head);
    }
    assert_eq!(s1.ledger_head().unwrap().head, head);
    assert_eq!(s1.ledger_head().unwrap().runs_committed, 3);
    // Different data, different digest; an empty write-set still moves the head (run-2).
    assert_ne!(c1[1].ledger_before, c1[1].ledger_after);
    let d3 = tempfile::tempdir().unwrap();
    let s3 = Store::open(d3.path()).unwrap();
    let other = commit_run(&s3, "run-1", |tx| {
        insert(tx, "actors", "AC_1", b"alicE").unwrap();
        append(tx, "audit", "AC_1", b"created");
    });
    assert_ne!(other.ledger_after, c1[0].ledger_after);
    assert_ne!(
        s3.content_digest().unwrap(),
        Store::open(tempfile::tempdir().unwrap().path())
            .unwrap()
            .content_digest()
            .unwrap()
    );
}

#[test]
fn a_newer_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::open(dir.path()).unwrap());
    {
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute("UPDATE schema_version SET version = 99", []).unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert_eq!(err.code(), "STORE_SCHEMA", "{err}");
    let msg = err.to_string();
    assert!(msg.contains("99") && msg.contains("newer"), "{msg}");
}

#[test]
fn a_foreign_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join(DB_FILE)).unwrap();
        conn.execute_batch("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
            .unwrap();
    }
    let err = Store::open(dir.path()).unwrap_err();
    assert_eq!(err.code(), "STORE_SCHEMA", "{err}");
    assert!(err.to_string().contains("not a sealed store"), "{err}");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(DB_FILE),
        "this is not a database, just some text. ".repeat(50),
    )
    .unwrap();
    let err = Store::open(dir.path()).unwrap_err();
    assert_eq!(err.code(), "STORE_OPEN", "{err}");
    assert!(err.to_string().contains("not an SQLite database"), "{err}");

    // A data root that is a file.
    let file = dir.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(Store::open(&file).unwrap_err().code(), "STORE_OPEN");
}

#[test]
fn a_busy_store_makes_a_run_wait_then_fail_with_store_busy() {
    let dir = tempfile::tempdir().unwrap();
    let holder = Store::open(dir.path()).unwrap();
    let tx = holder.begin_run("holder").unwrap();

    // Opening and reading do not wait for the writer.
    let started = Instant::now();
    let waiter = with_wait(dir.path(), Duration::from_millis(300));
    assert_eq!(waiter.ledger_head().unwrap().runs_committed, 0);
    assert!(
        started.elapsed() < Duration::from_millis(250),
        "open/read waited {:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let err = waiter.begin_run("waiter").unwrap_err();
    let waited = started.elapsed();
    assert_eq!(err.code(), "STORE_BUSY", "{err}");
    assert!(err.to_string().contains("busy"), "{err}");
    assert!(waited >= Duration::from_millis(300), "gave up after only {waited:?}");
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
    drop(tx);
    waiter.begin_run("waiter").unwrap().rollback().unwrap();
}

#[test]
fn a_waiting_run_proceeds_when_the_writer_commits_and_sees_its_writes() {
    let dir = tempfile::tempdir().unwrap();
    let holder = Store::open(dir.path()).unwrap();
    let mut tx = holder.begin_run("first").unwrap();
    assert_eq!(append(&mut tx, "l", "s", b"1"), 1);
    let root = dir.path().to_path_buf();
    let waiter = std::thread::spawn(move || {
        let store = with_wait(&root, Duration::from_secs(20));
        let started = Instant::now();
        let mut tx = store.begin_run("second").unwrap();
        let waited = started.elapsed();
        let seq = append(&mut tx, "l", "s", b"2");
        tx.commit(record("OK")).unwrap();
        (waited, seq)
    });
    std::thread::sleep(Duration::from_millis(300));
    tx.commit(record("OK")).unwrap();
    let (waited, seq) = waiter.join().unwrap();
    assert!(
        waited >= Duration::from_millis(200),
        "the second run did not wait: {waited:?}"
    );
    assert_eq!(seq, 2);
    assert_eq!(holder.ledger_head().unwrap().runs_committed, 2);
}
