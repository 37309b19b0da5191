//! The Rust SDK's `testing::MemoryStorage` (what capability authors unit-test against, natively, with no
//! host) answers every storage call as the host does: random call sequences go through it and through the
//! host's own path (the node's `Gate` over a run transaction of `sealed_storage::memory::MemoryStore`, the
//! semantics every backend shares), and every answer must be equal — values, sequence numbers, versions,
//! pages, and the kind of every refusal. A difference means an author's green unit test would lie.

use proptest::prelude::*;
use sealed_capability::{
    Gate, InsertOutcome as HostInsert, StorageError as HostError, StorageRequest, StorageResponse,
};
use sealed_sdk::testing::MemoryStorage;
use sealed_sdk::{InsertOutcome, Storage, StorageError};
use sealed_snapshot::{Grant, Interface, Limits};
use sealed_storage::DataStore;
use sealed_storage::memory::MemoryStore;

/// Labels the node is granted every operation on; `denied` it is not granted at all.
const GRANTED: [&str; 2] = ["a", "b"];

/// One answer, in a form both sides map onto (errors by kind: their wording is each side's own).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Inserted(bool),
    Value(Option<Vec<u8>>),
    Exists(bool),
    Removed(bool),
    Seq(u64),
    Events(Vec<(u64, Vec<u8>)>),
    State(Option<(u64, Vec<u8>)>),
    Version(u64),
    Keys(Vec<String>),
    Error(&'static str),
}

fn sdk_error(e: StorageError) -> Answer {
    Answer::Error(match e {
        StorageError::NotGranted(_) => "not-granted",
        StorageError::InvalidArgument(_) => "invalid-argument",
        StorageError::Conflict(_) => "conflict",
        StorageError::LimitExceeded(_) => "limit-exceeded",
        StorageError::Other(_) => "other",
    })
}

fn host_error(e: HostError) -> Answer {
    Answer::Error(match e {
        HostError::NotGranted(_) => "not-granted",
        HostError::InvalidArgument(_) => "invalid-argument",
        HostError::Conflict(_) => "conflict",
        HostError::LimitExceeded(_) => "limit-exceeded",
        HostError::Other(_) => "other",
    })
}

fn sdk_answer(s: &mut MemoryStorage, r: &StorageRequest) -> Answer {
    let out = match r {
        StorageRequest::RegistryInsert { label, key, value } => s
            .registry_insert(label, key, value)
            .map(|o| Answer::Inserted(o == InsertOutcome::Inserted)),
        StorageRequest::RegistryGet { label, key } => s.registry_get(label, key).map(Answer::Value),
        StorageRequest::RegistryExists { label, key } => s.registry_exists(label, key).map(Answer::Exists),
        StorageRequest::RegistryRemove { label, key } => s.registry_remove(label, key).map(Answer::Removed),
        StorageRequest::EventsAppend { label, key, payload } => s.events_append(label, key, payload).map(Answer::Seq),
        StorageRequest::EventsRead {
            label,
            key,
            from_seq,
            max_count,
        } => s
            .events_read(label, key, *from_seq, *max_count)
            .map(|v| Answer::Events(v.into_iter().map(|e| (e.seq, e.payload)).collect())),
        StorageRequest::StateLoad { label, key } => s
            .state_load(label, key)
            .map(|v| Answer::State(v.map(|v| (v.version, v.value)))),
        StorageRequest::StateStoreIfVersion {
            label,
            key,
            expected_version,
            value,
        } => s
            .state_store_if_version(label, key, *expected_version, value)
            .map(Answer::Version),
        StorageRequest::StateList {
            label,
            start_after,
            max_count,
        } => s
            .state_list_keys(label, start_after.as_deref(), *max_count)
            .map(Answer::Keys),
    };
    out.unwrap_or_else(sdk_error)
}

fn host_answer(response: Result<StorageResponse, HostError>) -> Answer {
    match response {
        Ok(StorageResponse::Insert(o)) => Answer::Inserted(o == HostInsert::Inserted),
        Ok(StorageResponse::Value(v)) => Answer::Value(v),
        Ok(StorageResponse::Exists(b)) => Answer::Exists(b),
        Ok(StorageResponse::Removed(d)) => Answer::Removed(d.is_some()),
        Ok(StorageResponse::Seq(n)) => Answer::Seq(n),
        Ok(StorageResponse::Events(v)) => Answer::Events(v.into_iter().map(|e| (e.seq, e.payload)).collect()),
        Ok(StorageResponse::State(v)) => Answer::State(v.map(|v| (v.version, v.value))),
        Ok(StorageResponse::Version(v)) => Answer::Version(v),
        Ok(StorageResponse::Keys(k)) => Answer::Keys(k),
        Err(e) => host_error(e),
    }
}

fn label() -> impl Strategy<Value = String> {
    prop_oneof![8 => prop::sample::select(GRANTED.to_vec()), 1 => Just("denied")].prop_map(String::from)
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![10 => prop::sample::select(vec!["k1", "k2", "k3", "k10"]), 1 => Just("")].prop_map(String::from)
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![b"x".to_vec(), b"y".to_vec(), Vec::new(), b"{\"n\":1}".to_vec()])
}

fn count() -> impl Strategy<Value = u32> {
    prop::sample::select(vec![0u32, 1, 2, 3, 64, 65, u32::MAX])
}

fn request() -> impl Strategy<Value = StorageRequest> {
    prop_oneof![
        (label(), key(), bytes()).prop_map(|(label, key, value)| StorageRequest::RegistryInsert { label, key, value }),
        (label(), key()).prop_map(|(label, key)| StorageRequest::RegistryGet { label, key }),
        (label(), key()).prop_map(|(label, key)| StorageRequest::RegistryExists { label, key }),
        (label(), key()).prop_map(|(label, key)| StorageRequest::RegistryRemove { label, key }),
        (label(), key(), bytes()).prop_map(|(label, key, payload)| StorageRequest::EventsAppend {
            label,
            key,
            payload
        }),
        (
            label(),
            key(),
            prop::sample::select(vec![0u64, 1, 2, 3, 5, u64::MAX]),
            count()
        )
            .prop_map(|(label, key, from_seq, max_count)| StorageRequest::EventsRead {
                label,
                key,
                from_seq,
                max_count
            }),
        (label(), key()).prop_map(|(label, key)| StorageRequest::StateLoad { label, key }),
        (label(), key(), 0u64..4, bytes()).prop_map(|(label, key, expected_version, value)| {
            StorageRequest::StateStoreIfVersion {
                label,
                key,
                expected_version,
                value,
            }
        }),
        (label(), prop::option::of(key()), count()).prop_map(|(label, start_after, max_count)| {
            StorageRequest::StateList {
                label,
                start_after,
                max_count,
            }
        }),
    ]
}

fn grants() -> Vec<Grant> {
    let mut out = Vec::new();
    for interface in Interface::ALL {
        for label in GRANTED {
            out.push(Grant {
                interface,
                label: label.into(),
                ops: interface.ops().iter().copied().collect(),
            });
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn the_sdk_memory_storage_answers_every_call_as_the_host_does(
        seeded in any::<bool>(),
        random in prop::collection::vec(request(), 1..60)
    ) {
        // Seeded: more state keys and events than one call may return (64), so the caps are compared too.
        let mut calls: Vec<StorageRequest> = Vec::new();
        if seeded {
            for i in 0..70 {
                calls.push(StorageRequest::StateStoreIfVersion {
                    label: "b".into(),
                    key: format!("s{i:02}"),
                    expected_version: 0,
                    value: b"x".to_vec(),
                });
                calls.push(StorageRequest::EventsAppend {
                    label: "b".into(),
                    key: "k1".into(),
                    payload: vec![i],
                });
            }
        }
        calls.extend(random);
        let store = MemoryStore::new();
        let tx = store.begin_run("sdk-semantics").unwrap();
        let mut gate = Gate::new(&grants(), &Limits::default(), tx);
        let mut sdk = MemoryStorage::new();
        sdk.deny_label("denied");
        for (i, call) in calls.iter().enumerate() {
            let host = host_answer(gate.call(call.clone()));
            let mine = sdk_answer(&mut sdk, call);
            prop_assert_eq!(&mine, &host, "call {} {:?} (seeded {}) after {:?}", i, call, seeded, &calls[..i]);
            // The host stops a guest at its first refused call: nothing after it is comparable.
            if host == Answer::Error("not-granted") {
                break;
            }
        }
    }
}
