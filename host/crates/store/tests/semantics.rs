//! The backend conformance suite (`sealed_storage::conformance`) on the SQLite store, and what only the
//! SQLite store has (a file in the data root, reopening, its error shapes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use sealed_storage::conformance::Fresh;
use sealed_store::{GENESIS_HEAD, Store, StoreError};

fn fresh() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let store = Store::open(&root).unwrap();
    Fresh {
        store: Arc::new(store),
        keep: Box::new(dir),
        reopen: Box::new(move || Arc::new(Store::open(&root).unwrap())),
    }
}

sealed_storage::conformance_suite!(fresh);

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
                source: Box::new(rusqlite::Error::InvalidQuery),
            },
            "STORE_IO",
        ),
        (StoreError::RunIdReused("r".into()), "RUN_ID_REUSED"),
        (
            StoreError::RunIdUsed {
                run_id: "r".into(),
                place: String::new(),
            },
            "RUN_ID_REUSED",
        ),
        (
            StoreError::RunIdIo {
                run_id: "r".into(),
                detail: String::new(),
            },
            "RUN_ID_IO",
        ),
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
