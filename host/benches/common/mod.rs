//! What the benches share: a store pre-filled with register-actor's rows.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use sealed_capability::StorageRequest;
use sealed_storage::{DataStore, RunRecord};
use sealed_store::Store;
use serde_json::json;

/// Writes `n` registrations into the SQLite store of `data_root` (see [`prefill_store`]), then
/// checkpoints the WAL so that no measurement pays for folding it.
pub fn prefill(data_root: &Path, snapshot: &Path, n: usize) {
    let store = Store::open(data_root).unwrap();
    prefill_store(&store, snapshot, n);
    store.checkpoint().unwrap();
}

/// Writes `n` registrations (a registry row and an event each, as register-actor writes them) into
/// `store` through one run transaction, so the ledger stays valid: the rows a store has after n runs,
/// without paying for n runs.
pub fn prefill_store(store: &dyn DataStore, snapshot: &Path, n: usize) {
    let mut tx = store.begin_run("prefill").unwrap();
    for i in 0..n {
        let key = format!("AC_prefill{i:014}");
        let value =
            serde_jcs::to_vec(&json!({"email": format!("p{i}@example.org"), "first_name": "P", "last_name": "Q"}))
                .unwrap();
        tx.execute(&StorageRequest::RegistryInsert {
            label: "actors".into(),
            key: key.clone(),
            value: value.clone(),
        })
        .unwrap();
        tx.execute(&StorageRequest::EventsAppend {
            label: "actor-events".into(),
            key,
            payload: value,
        })
        .unwrap();
    }
    let digest = std::fs::read_to_string(snapshot.join("snapshot.digest")).unwrap();
    tx.commit(RunRecord {
        snapshot_digest: digest.trim().to_string(),
        workflow: "register_actor".into(),
        status: "REGISTERED".into(),
    })
    .unwrap();
    assert_eq!(store.stats().unwrap().registry_rows, n as u64);
}
