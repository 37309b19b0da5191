//! The WIT semantics of every storage request, executed by a `RunTx`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealed_capability::{InsertOutcome, StorageError};
use sealed_store::{GENESIS_HEAD, Store, StoreError, WriteKind, sha256_hex};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    (dir, store)
}

#[test]
fn open_creates_the_data_root_and_an_empty_ledger() {
    let (dir, store) = store();
    assert!(dir.path().join("data").join(sealed_store::DB_FILE).is_file());
    let ledger = store.ledger_head().unwrap();
    assert_eq!(ledger.head, GENESIS_HEAD);
    assert_eq!(ledger.runs_committed, 0);
    let stats = store.stats().unwrap();
    assert_eq!(
        (stats.registry_rows, stats.event_rows, stats.state_rows, stats.runs),
        (0, 0, 0, 0)
    );
    // Reopening an existing store works and changes nothing.
    let digest = store.content_digest().unwrap();
    drop(store);
    let store = Store::open(&dir.path().join("data")).unwrap();
    assert_eq!(store.content_digest().unwrap(), digest);
}

#[test]
fn registry_insert_is_write_once_and_idempotent() {
    let (_dir, store) = store();
    let mut tx = store.begin_run("r1").unwrap();
    assert!(!exists(&mut tx, "actors", "AC_1"));
    assert_eq!(get(&mut tx, "actors", "AC_1"), None);
    assert_eq!(
        insert(&mut tx, "actors", "AC_1", b"alice").unwrap(),
        InsertOutcome::Inserted
    );
    // Same bytes: already-exists (retry-safe). Different bytes: conflict.
    assert_eq!(
        insert(&mut tx, "actors", "AC_1", b"alice").unwrap(),
        InsertOutcome::AlreadyExists
    );
    let err = insert(&mut tx, "actors", "AC_1", b"bob").unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err:?}");
    // Labels are separate namespaces.
    assert_eq!(
        insert(&mut tx, "other", "AC_1", b"bob").unwrap(),
        InsertOutcome::Inserted
    );
    assert!(exists(&mut tx, "actors", "AC_1"));
    assert_eq!(get(&mut tx, "actors", "AC_1").as_deref(), Some(&b"alice"[..]));
    // Empty values are values.
    assert_eq!(
        insert(&mut tx, "actors", "empty", b"").unwrap(),
        InsertOutcome::Inserted
    );
    assert_eq!(get(&mut tx, "actors", "empty"), Some(Vec::new()));
    // Only effective inserts are writes; a conflict left the transaction usable.
    let kinds: Vec<_> = tx
        .writes()
        .iter()
        .map(|w| (w.kind, w.label.as_str(), w.key.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            (WriteKind::RegistryInsert, "actors", "AC_1"),
            (WriteKind::RegistryInsert, "other", "AC_1"),
            (WriteKind::RegistryInsert, "actors", "empty")
        ]
    );
    assert_eq!(tx.writes()[0].value_sha256, sha256_hex(b"alice"));
    assert_eq!(tx.writes()[0].position, 0);
    let info = tx.commit(record("OK")).unwrap();
    assert_eq!(info.writes.len(), 3);

    // Across runs: the binding persists; same bytes is already-exists, different bytes conflict.
    let mut tx = store.begin_run("r2").unwrap();
    assert_eq!(
        insert(&mut tx, "actors", "AC_1", b"alice").unwrap(),
        InsertOutcome::AlreadyExists
    );
    assert!(matches!(
        insert(&mut tx, "actors", "AC_1", b"mallory"),
        Err(StorageError::Conflict(_))
    ));
    let info = tx.commit(record("OK")).unwrap();
    assert!(info.writes.is_empty());
    assert_eq!(
        store.registry_get("actors", "AC_1").unwrap().as_deref(),
        Some(&b"alice"[..])
    );
    assert_eq!(store.stats().unwrap().registry_rows, 3);
}

#[test]
fn events_are_numbered_from_one_and_read_in_order() {
    let (_dir, store) = store();
    let mut tx = store.begin_run("r1").unwrap();
    assert!(read(&mut tx, "log", "s", 1, 10).is_empty());
    assert_eq!(append(&mut tx, "log", "s", b"a"), 1);
    assert_eq!(append(&mut tx, "log", "s", b"b"), 2);
    assert_eq!(append(&mut tx, "log", "t", b"x"), 1, "streams are per key");
    assert_eq!(append(&mut tx, "other", "s", b"y"), 1, "streams are per label");
    assert_eq!(append(&mut tx, "log", "s", b"c"), 3);
    tx.commit(record("OK")).unwrap();

    let mut tx = store.begin_run("r2").unwrap();
    assert_eq!(append(&mut tx, "log", "s", b"d"), 4, "numbering continues across runs");
    let all = read(&mut tx, "log", "s", 1, 100);
    assert_eq!(
        all,
        [
            (1, b"a".to_vec()),
            (2, b"b".to_vec()),
            (3, b"c".to_vec()),
            (4, b"d".to_vec())
        ],
        "reads include this run's own append"
    );
    assert_eq!(
        read(&mut tx, "log", "s", 0, 100).len(),
        4,
        "from-seq 0 reads from the start"
    );
    assert_eq!(
        read(&mut tx, "log", "s", 2, 2),
        [(2, b"b".to_vec()), (3, b"c".to_vec())]
    );
    assert!(
        read(&mut tx, "log", "s", 5, 10).is_empty(),
        "nothing at or after from-seq"
    );
    assert!(read(&mut tx, "log", "s", 1, 0).is_empty(), "max-count 0");
    assert!(read(&mut tx, "log", "s", u64::MAX, 10).is_empty());
    let w = &tx.writes()[0];
    assert_eq!(
        (w.kind, w.position, w.value_sha256.as_str()),
        (WriteKind::EventsAppend, 4, sha256_hex(b"d").as_str())
    );
    tx.commit(record("OK")).unwrap();
    assert_eq!(store.events_len("log", "s").unwrap(), 4);
    let seqs: Vec<u64> = store
        .events_read("log", "s", 1, 100)
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
}

#[test]
fn state_is_compare_and_swap_from_version_one() {
    let (_dir, store) = store();
    let mut tx = store.begin_run("r1").unwrap();
    assert_eq!(load(&mut tx, "acct", "k"), None);
    // Missing key with expected != 0: conflict.
    assert!(matches!(
        store_if(&mut tx, "acct", "k", 1, b"v"),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(store_if(&mut tx, "acct", "k", 0, b"v1").unwrap(), 1);
    // Existing key with expected 0 ("must not exist"): conflict.
    assert!(matches!(
        store_if(&mut tx, "acct", "k", 0, b"v"),
        Err(StorageError::Conflict(_))
    ));
    assert_eq!(store_if(&mut tx, "acct", "k", 1, b"v2").unwrap(), 2);
    // Stale and future versions: conflict, value unchanged.
    assert!(matches!(
        store_if(&mut tx, "acct", "k", 1, b"stale"),
        Err(StorageError::Conflict(_))
    ));
    assert!(matches!(
        store_if(&mut tx, "acct", "k", 3, b"future"),
        Err(StorageError::Conflict(_))
    ));
    assert!(matches!(
        store_if(&mut tx, "acct", "k", u64::MAX, b"huge"),
        Err(StorageError::Conflict(_))
    ));
    let v = load(&mut tx, "acct", "k").unwrap();
    assert_eq!((v.version, v.value.as_slice()), (2, &b"v2"[..]));
    let positions: Vec<_> = tx.writes().iter().map(|w| (w.kind, w.position)).collect();
    assert_eq!(positions, [(WriteKind::StateStore, 1), (WriteKind::StateStore, 2)]);
    tx.commit(record("OK")).unwrap();

    let mut tx = store.begin_run("r2").unwrap();
    assert_eq!(store_if(&mut tx, "acct", "k", 2, b"v3").unwrap(), 3);
    tx.commit(record("OK")).unwrap();
    let v = store.state_get("acct", "k").unwrap().unwrap();
    assert_eq!((v.version, v.value.as_slice()), (3, &b"v3"[..]));
}

#[test]
fn a_run_reads_its_own_writes_and_others_see_them_only_after_commit() {
    let (_dir, store) = store();
    let mut tx = store.begin_run("r1").unwrap();
    insert(&mut tx, "l", "k", b"v").unwrap();
    append(&mut tx, "l", "s", b"e");
    store_if(&mut tx, "l", "st", 0, b"x").unwrap();
    assert_eq!(get(&mut tx, "l", "k").as_deref(), Some(&b"v"[..]));
    assert!(exists(&mut tx, "l", "k"));
    assert_eq!(read(&mut tx, "l", "s", 1, 10), [(1, b"e".to_vec())]);
    assert_eq!(load(&mut tx, "l", "st").unwrap().version, 1);

    // The store's readers are not blocked by the open run and do not see its writes.
    assert_eq!(store.registry_get("l", "k").unwrap(), None);
    assert_eq!(store.events_len("l", "s").unwrap(), 0);
    assert_eq!(store.state_get("l", "st").unwrap(), None);
    assert_eq!(
        store.run("r1").unwrap(),
        None,
        "the claimed run id is invisible until commit"
    );

    let info = tx.commit(record("DONE")).unwrap();
    assert_eq!(store.registry_get("l", "k").unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(store.events_len("l", "s").unwrap(), 1);
    assert_eq!(store.state_get("l", "st").unwrap().unwrap().version, 1);
    let row = store.run("r1").unwrap().unwrap();
    assert_eq!(row.status, "DONE");
    assert_eq!(row.workflow, "wf");
    assert_eq!(row.position, 1);
    assert_eq!(row.write_count, 3);
    assert_eq!(row.write_set_digest, info.write_set_digest);
    assert_eq!(
        (row.ledger_before.as_str(), row.ledger_after.as_str()),
        (GENESIS_HEAD, info.ledger_after.as_str())
    );
}

#[test]
fn committed_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        commit_run(&store, "r1", |tx| {
            insert(tx, "l", "k", b"v").unwrap();
            append(tx, "l", "s", b"e");
        });
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.registry_get("l", "k").unwrap().as_deref(), Some(&b"v"[..]));
    assert_eq!(store.events_len("l", "s").unwrap(), 1);
    assert_eq!(store.ledger_head().unwrap().runs_committed, 1);
}

#[test]
fn a_run_id_is_committed_only_once() {
    let (_dir, store) = store();
    commit_run(&store, "r1", |tx| {
        insert(tx, "l", "k", b"v").unwrap();
    });
    let err = store.begin_run("r1").unwrap_err();
    assert_eq!(err.code(), "RUN_ID_REUSED", "{err}");
    assert!(matches!(err, StoreError::RunIdReused(ref id) if id == "r1"));
    assert_eq!(store.begin_run("").unwrap_err().code(), "RUN_ID_INVALID");

    // A failed (rolled back) run consumes nothing: its id can be used again.
    let mut tx = store.begin_run("r2").unwrap();
    insert(&mut tx, "l", "k2", b"v").unwrap();
    tx.rollback().unwrap();
    let mut tx = store.begin_run("r2").unwrap();
    insert(&mut tx, "l", "k2", b"w").unwrap();
    tx.commit(record("OK")).unwrap();
    assert_eq!(store.registry_get("l", "k2").unwrap().as_deref(), Some(&b"w"[..]));
    assert_eq!(store.begin_run("r2").unwrap_err().code(), "RUN_ID_REUSED");
    assert_eq!(store.ledger_head().unwrap().runs_committed, 2);
}

#[test]
fn a_run_without_writes_still_commits_and_chains() {
    let (_dir, store) = store();
    let mut tx = store.begin_run("read-only").unwrap();
    assert_eq!(get(&mut tx, "l", "k"), None);
    let info = tx.commit(record("NOTHING")).unwrap();
    assert_eq!(info.write_set_digest, sealed_store::write_set_digest(&[]));
    assert_eq!(info.ledger_before, GENESIS_HEAD);
    assert_eq!(
        info.ledger_after,
        sealed_store::next_ledger_head(GENESIS_HEAD, "read-only", &info.write_set_digest)
    );
    assert_eq!(store.ledger_head().unwrap().head, info.ledger_after);
    assert_eq!(store.run("read-only").unwrap().unwrap().write_count, 0);
}

#[test]
fn run_tx_is_static_and_send() {
    fn assert_static_send<T: Send + 'static>() {}
    fn assert_send_sync<T: Send + Sync>() {}
    assert_static_send::<sealed_store::RunTx>();
    assert_send_sync::<Store>();
    // And it can be used as a boxed backend, as the engine does.
    let (_dir, store) = store();
    let tx = store.begin_run("r").unwrap();
    let mut boxed: Box<dyn sealed_capability::StorageBackend + Send> = Box::new(tx);
    let r = boxed.execute(&sealed_capability::StorageRequest::RegistryExists {
        label: "l".into(),
        key: "k".into(),
    });
    assert_eq!(r, Ok(sealed_capability::StorageResponse::Exists(false)));
}

#[test]
fn a_tx_moved_to_another_thread_commits_there() {
    let (_dir, store) = store();
    let mut tx = store.begin_run("r").unwrap();
    insert(&mut tx, "l", "k", b"v").unwrap();
    let info = std::thread::spawn(move || {
        append(&mut tx, "l", "s", b"e");
        tx.commit(record("OK")).unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(info.writes.len(), 2);
    assert_eq!(store.events_len("l", "s").unwrap(), 1);
}

#[test]
fn error_codes_are_stable() {
    use std::path::PathBuf;
    use std::time::Duration;
    let p = PathBuf::from("/x");
    let cases = [
        (
            StoreError::Open {
                path: p.clone(),
                detail: String::new(),
            },
            "STORE_OPEN",
        ),
        (
            StoreError::Schema {
                path: p.clone(),
                detail: String::new(),
            },
            "STORE_SCHEMA",
        ),
        (
            StoreError::Busy {
                path: p.clone(),
                waited: Duration::ZERO,
            },
            "STORE_BUSY",
        ),
        (
            StoreError::Io {
                context: "x",
                source: rusqlite::Error::InvalidQuery,
            },
            "STORE_IO",
        ),
        (StoreError::RunIdReused("r".into()), "RUN_ID_REUSED"),
        (StoreError::RunIdInvalid(String::new()), "RUN_ID_INVALID"),
        (StoreError::TxAborted(String::new()), "STORE_TX_ABORTED"),
        (
            StoreError::Corrupt {
                path: p,
                detail: String::new(),
            },
            "STORE_CORRUPT",
        ),
    ];
    for (err, code) in cases {
        assert_eq!(err.code(), code);
    }
}
