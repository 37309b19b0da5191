//! The two operations of contract 0.1.1, executed by a `RunTx`: `registry.remove` (a deregistration that
//! frees the key but keeps the removed binding for audit, recorded in the write-set) and `state.list`
//! (keys of a label in ascending order, after a cursor, at most `max_count`). Each is also checked to
//! agree, call for call, with the in-memory reference backend that replay and conformance use.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use sealed_capability::{InsertOutcome, StorageBackend, StorageRequest};
use sealed_storage::memory::MemoryBackend;
use sealed_store::{SCHEMA_VERSION, Store, WriteKind, sha256_hex, write_set_digest};

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("data")).unwrap();
    (dir, store)
}

#[test]
fn remove_unbinds_a_key_and_a_second_remove_finds_nothing() {
    let (_dir, store) = store();
    commit_run(&store, "bind", |tx| {
        assert_eq!(insert(tx, "actors", "A_1", b"alice").unwrap(), InsertOutcome::Inserted);
    });
    let info = commit_run(&store, "deregister", |tx| {
        assert_eq!(remove(tx, "actors", "A_1"), Some(sha256_hex(b"alice")));
        // Within the run the key now resolves as absent.
        assert_eq!(get(tx, "actors", "A_1"), None);
        assert!(!exists(tx, "actors", "A_1"));
        // A second remove is the not-found case, and writes nothing.
        assert_eq!(remove(tx, "actors", "A_1"), None);
        // Removing a key that was never bound, or under another label, finds nothing either.
        assert_eq!(remove(tx, "actors", "A_2"), None);
        assert_eq!(remove(tx, "other", "A_1"), None);
    });
    // Exactly one write: the removal, with the digest of the bytes it unbound.
    assert_eq!(info.writes.len(), 1, "{:?}", info.writes);
    let w = &info.writes[0];
    assert_eq!(
        (
            w.kind,
            w.label.as_str(),
            w.key.as_str(),
            w.position,
            w.value_sha256.as_str()
        ),
        (
            WriteKind::RegistryRemove,
            "actors",
            "A_1",
            0,
            sha256_hex(b"alice").as_str()
        )
    );
    assert_eq!(info.write_set_digest, write_set_digest(&info.writes));
    // Committed: absent for readers, and the history names who bound and who removed.
    assert_eq!(store.registry_get("actors", "A_1").unwrap(), None);
    let history = store.registry_removed("actors", "A_1").unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (
            history[0].removal,
            history[0].value.as_slice(),
            history[0].bound_by.as_str(),
            history[0].removed_by.as_str()
        ),
        (1, &b"alice"[..], "bind", "deregister")
    );
}

#[test]
fn a_removed_key_can_be_bound_again_and_every_binding_stays_auditable() {
    let (_dir, store) = store();
    commit_run(&store, "r1", |tx| {
        insert(tx, "actors", "A_1", b"first").unwrap();
    });
    commit_run(&store, "r2", |tx| {
        remove(tx, "actors", "A_1").unwrap();
        // Free again: any bytes may be bound now, and the write-once rule holds for the new binding.
        assert_eq!(insert(tx, "actors", "A_1", b"second").unwrap(), InsertOutcome::Inserted);
        assert_eq!(
            insert(tx, "actors", "A_1", b"second").unwrap(),
            InsertOutcome::AlreadyExists
        );
        assert!(insert(tx, "actors", "A_1", b"third").is_err());
    });
    commit_run(&store, "r3", |tx| {
        assert_eq!(remove(tx, "actors", "A_1"), Some(sha256_hex(b"second")));
    });
    let history = store.registry_removed("actors", "A_1").unwrap();
    let seen: Vec<(u64, &[u8], &str, &str)> = history
        .iter()
        .map(|h| {
            (
                h.removal,
                h.value.as_slice(),
                h.bound_by.as_str(),
                h.removed_by.as_str(),
            )
        })
        .collect();
    assert_eq!(seen, [(1, &b"first"[..], "r1", "r2"), (2, &b"second"[..], "r2", "r3")]);
    assert_eq!(store.registry_get("actors", "A_1").unwrap(), None);
}

#[test]
fn a_removal_in_a_run_that_does_not_commit_changes_nothing() {
    let (_dir, store) = store();
    commit_run(&store, "bind", |tx| {
        insert(tx, "actors", "A_1", b"alice").unwrap();
    });
    let before = (store.content_digest().unwrap(), store.ledger_head().unwrap());
    let mut tx = store.begin_run("failed").unwrap();
    assert!(remove(&mut tx, "actors", "A_1").is_some());
    tx.rollback().unwrap();
    assert_eq!((store.content_digest().unwrap(), store.ledger_head().unwrap()), before);
    assert_eq!(
        store.registry_get("actors", "A_1").unwrap().as_deref(),
        Some(&b"alice"[..])
    );
    assert!(store.registry_removed("actors", "A_1").unwrap().is_empty());
}

#[test]
fn removals_change_the_content_digest() {
    let (_dir, store) = store();
    commit_run(&store, "bind", |tx| {
        insert(tx, "actors", "A_1", b"alice").unwrap();
    });
    let bound = store.content_digest().unwrap();
    commit_run(&store, "unbind", |tx| {
        remove(tx, "actors", "A_1").unwrap();
    });
    let unbound = store.content_digest().unwrap();
    assert_ne!(bound, unbound);
    // Bound again to the same bytes: the live table is as before, the history is not.
    commit_run(&store, "rebind", |tx| {
        insert(tx, "actors", "A_1", b"alice").unwrap();
    });
    let rebound = store.content_digest().unwrap();
    assert_ne!(rebound, bound);
    assert_ne!(rebound, unbound);
}

#[test]
fn list_returns_a_labels_keys_in_order_after_the_cursor() {
    let (_dir, store) = store();
    let mut tx = store.begin_run("r").unwrap();
    for key in ["b", "a", "c", "ab", "é", "B"] {
        store_if(&mut tx, "cfg", key, 0, b"v").unwrap();
    }
    store_if(&mut tx, "other", "aa", 0, b"v").unwrap();
    // Byte order: "B" (0x42) < "a" < "ab" < "b" < "c" < "é" (0xC3 0xA9).
    assert_eq!(list(&mut tx, "cfg", None, 100), ["B", "a", "ab", "b", "c", "é"]);
    assert_eq!(list(&mut tx, "cfg", None, 2), ["B", "a"]);
    assert_eq!(list(&mut tx, "cfg", Some("a"), 2), ["ab", "b"]);
    // The cursor need not be a stored key.
    assert_eq!(list(&mut tx, "cfg", Some("bz"), 100), ["c", "é"]);
    assert_eq!(list(&mut tx, "cfg", Some("é"), 100), Vec::<String>::new());
    assert_eq!(list(&mut tx, "cfg", None, 0), Vec::<String>::new());
    assert_eq!(list(&mut tx, "empty", None, 10), Vec::<String>::new());
    // Reads write nothing.
    let info = tx.commit(record("OK")).unwrap();
    assert_eq!(info.writes.len(), 7);
    assert_eq!(store.state_keys("cfg", Some("b"), 10).unwrap(), ["c", "é"]);
}

#[test]
fn paging_with_the_last_key_visits_every_key_once() {
    let (_dir, store) = store();
    let mut tx = store.begin_run("r").unwrap();
    let mut want: Vec<String> = (0..25).map(|i| format!("k{i:03}")).collect();
    for k in want.iter().rev() {
        store_if(&mut tx, "s", k, 0, b"v").unwrap();
    }
    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = list(&mut tx, "s", cursor.as_deref(), 7);
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 7);
        cursor = page.last().cloned();
        got.extend(page);
    }
    want.sort();
    assert_eq!(got, want);
}

/// The reference backend (replay, conformance vectors) must agree with the store call for call.
#[test]
fn the_memory_backend_agrees_with_the_store() {
    let (_dir, store) = store();
    let mut tx = store.begin_run("r").unwrap();
    let mut memory = MemoryBackend::new();
    let reqs = vec![
        StorageRequest::RegistryInsert {
            label: "l".into(),
            key: "k".into(),
            value: b"v".to_vec(),
        },
        StorageRequest::RegistryRemove {
            label: "l".into(),
            key: "k".into(),
        },
        StorageRequest::RegistryRemove {
            label: "l".into(),
            key: "k".into(),
        },
        StorageRequest::RegistryExists {
            label: "l".into(),
            key: "k".into(),
        },
        StorageRequest::RegistryInsert {
            label: "l".into(),
            key: "k".into(),
            value: b"w".to_vec(),
        },
        StorageRequest::RegistryGet {
            label: "l".into(),
            key: "k".into(),
        },
        StorageRequest::StateStoreIfVersion {
            label: "s".into(),
            key: "y".into(),
            expected_version: 0,
            value: b"1".to_vec(),
        },
        StorageRequest::StateStoreIfVersion {
            label: "s".into(),
            key: "x".into(),
            expected_version: 0,
            value: b"1".to_vec(),
        },
        StorageRequest::StateStoreIfVersion {
            label: "t".into(),
            key: "a".into(),
            expected_version: 0,
            value: b"1".to_vec(),
        },
        StorageRequest::StateList {
            label: "s".into(),
            start_after: None,
            max_count: 10,
        },
        StorageRequest::StateList {
            label: "s".into(),
            start_after: Some("x".into()),
            max_count: 10,
        },
        StorageRequest::StateList {
            label: "s".into(),
            start_after: None,
            max_count: 1,
        },
        StorageRequest::StateList {
            label: "s".into(),
            start_after: None,
            max_count: 0,
        },
    ];
    for r in &reqs {
        assert_eq!(tx.execute(r), memory.execute(r), "{r:?}");
    }
    assert_eq!(
        memory.removed_bindings(),
        [("l".to_string(), "k".to_string(), b"v".to_vec())]
    );
}

/// A data root written by a build of schema version 1 (no `registry_removed` table) is upgraded in place
/// on open, with its data and ledger untouched, and then supports removal.
#[test]
fn a_version_1_store_is_upgraded_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("data");
    let before = {
        let store = Store::open(&root).unwrap();
        commit_run(&store, "old", |tx| {
            insert(tx, "actors", "A_1", b"alice").unwrap();
        });
        let snapshot = (store.content_digest().unwrap(), store.ledger_head().unwrap());
        drop(store);
        // Make it exactly what a version-1 build left behind.
        let conn = rusqlite::Connection::open(root.join(sealed_store::DB_FILE)).unwrap();
        conn.execute_batch("DROP TABLE registry_removed; UPDATE schema_version SET version = 1;")
            .unwrap();
        snapshot
    };
    let store = Store::open(&root).unwrap();
    let conn = rusqlite::Connection::open(root.join(sealed_store::DB_FILE)).unwrap();
    let version: i64 = conn
        .query_row("SELECT version FROM schema_version WHERE id = 1", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!((store.content_digest().unwrap(), store.ledger_head().unwrap()), before);
    commit_run(&store, "new", |tx| {
        assert!(remove(tx, "actors", "A_1").is_some());
    });
    assert_eq!(store.registry_removed("actors", "A_1").unwrap().len(), 1);
}
