//! Helpers shared by the store's integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use sealed_capability::{InsertOutcome, StorageBackend, StorageError, StorageRequest, StorageResponse, Versioned};
use sealed_store::{CommitInfo, RunRecord, RunTx, Store};

pub fn record(status: &str) -> RunRecord {
    RunRecord {
        snapshot_digest: format!("sha256:{}", "ab".repeat(32)),
        workflow: "wf".into(),
        status: status.into(),
    }
}

pub fn insert(tx: &mut RunTx, label: &str, key: &str, value: &[u8]) -> Result<InsertOutcome, StorageError> {
    match tx.execute(&StorageRequest::RegistryInsert {
        label: label.into(),
        key: key.into(),
        value: value.to_vec(),
    })? {
        StorageResponse::Insert(o) => Ok(o),
        other => panic!("unexpected response {other:?}"),
    }
}

pub fn get(tx: &mut RunTx, label: &str, key: &str) -> Option<Vec<u8>> {
    match tx
        .execute(&StorageRequest::RegistryGet {
            label: label.into(),
            key: key.into(),
        })
        .unwrap()
    {
        StorageResponse::Value(v) => v,
        other => panic!("unexpected response {other:?}"),
    }
}

pub fn exists(tx: &mut RunTx, label: &str, key: &str) -> bool {
    match tx
        .execute(&StorageRequest::RegistryExists {
            label: label.into(),
            key: key.into(),
        })
        .unwrap()
    {
        StorageResponse::Exists(b) => b,
        other => panic!("unexpected response {other:?}"),
    }
}

pub fn append(tx: &mut RunTx, label: &str, key: &str, payload: &[u8]) -> u64 {
    match tx
        .execute(&StorageRequest::EventsAppend {
            label: label.into(),
            key: key.into(),
            payload: payload.to_vec(),
        })
        .unwrap()
    {
        StorageResponse::Seq(s) => s,
        other => panic!("unexpected response {other:?}"),
    }
}

pub fn read(tx: &mut RunTx, label: &str, key: &str, from_seq: u64, max_count: u32) -> Vec<(u64, Vec<u8>)> {
    match tx
        .execute(&StorageRequest::EventsRead {
            label: label.into(),
            key: key.into(),
            from_seq,
            max_count,
        })
        .unwrap()
    {
        StorageResponse::Events(e) => e.into_iter().map(|e| (e.seq, e.payload)).collect(),
        other => panic!("unexpected response {other:?}"),
    }
}

pub fn load(tx: &mut RunTx, label: &str, key: &str) -> Option<Versioned> {
    match tx
        .execute(&StorageRequest::StateLoad {
            label: label.into(),
            key: key.into(),
        })
        .unwrap()
    {
        StorageResponse::State(s) => s,
        other => panic!("unexpected response {other:?}"),
    }
}

pub fn store_if(
    tx: &mut RunTx,
    label: &str,
    key: &str,
    expected_version: u64,
    value: &[u8],
) -> Result<u64, StorageError> {
    match tx.execute(&StorageRequest::StateStoreIfVersion {
        label: label.into(),
        key: key.into(),
        expected_version,
        value: value.to_vec(),
    })? {
        StorageResponse::Version(v) => Ok(v),
        other => panic!("unexpected response {other:?}"),
    }
}

/// Runs `body` in run `run_id` and commits it.
pub fn commit_run(store: &Store, run_id: &str, body: impl FnOnce(&mut RunTx)) -> CommitInfo {
    let mut tx = store.begin_run(run_id).unwrap();
    body(&mut tx);
    tx.commit(record("OK")).unwrap()
}

/// `registry.remove`: the digest of the bytes unbound, or `None` when nothing was bound.
pub fn remove(tx: &mut RunTx, label: &str, key: &str) -> Option<String> {
    match tx
        .execute(&StorageRequest::RegistryRemove {
            label: label.into(),
            key: key.into(),
        })
        .unwrap()
    {
        StorageResponse::Removed(d) => d,
        other => panic!("unexpected response {other:?}"),
    }
}

/// `state.list`.
pub fn list(tx: &mut RunTx, label: &str, start_after: Option<&str>, max_count: u32) -> Vec<String> {
    match tx
        .execute(&StorageRequest::StateList {
            label: label.into(),
            start_after: start_after.map(str::to_string),
            max_count,
        })
        .unwrap()
    {
        StorageResponse::Keys(k) => k,
        other => panic!("unexpected response {other:?}"),
    }
}
