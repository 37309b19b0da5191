//! The [`Gate`] over a real backend: run-wide budgets across gates, request bytes refused before the
//! backend, reads cut to what fits, and the contract 0.1.1 calls (`registry.remove`, `state.list-keys`)
//! with and without their grants. (Moved here from `sealed-capability`, whose own tests cannot use a
//! backend of this crate.)

#![allow(clippy::unwrap_used, clippy::expect_used)]

use sealed_capability::*;
use sealed_snapshot::{Grant, Interface, Limits, Op};
use sealed_storage::memory::MemoryBackend;
use sha2::Digest as _;

mod run_budget_tests {
    use super::*;

    fn grants() -> Vec<Grant> {
        vec![
            Grant {
                interface: Interface::Registry,
                label: "actors".into(),
                ops: [Op::Insert, Op::Get].into(),
            },
            Grant {
                interface: Interface::Events,
                label: "log".into(),
                ops: [Op::Append, Op::Read].into(),
            },
        ]
    }

    fn insert(key: &str, value: &[u8]) -> StorageRequest {
        StorageRequest::RegistryInsert {
            label: "actors".into(),
            key: key.into(),
            value: value.to_vec(),
        }
    }

    #[test]
    fn calls_are_counted_across_gates() {
        let run = RunBudget::new(3, u64::MAX);
        let mut first = Gate::new(&grants(), &Limits::default(), MemoryBackend::new()).with_run_budget(run.clone());
        assert!(first.call(insert("a", b"1")).is_ok());
        assert!(first.call(insert("b", b"1")).is_ok());
        let (backend, _, refusals) = first.finish();
        assert!(refusals.is_empty());
        let mut second = Gate::new(&grants(), &Limits::default(), backend).with_run_budget(run.clone());
        assert!(second.call(insert("c", b"1")).is_ok());
        let err = second.call(insert("d", b"1")).unwrap_err();
        assert!(matches!(err, StorageError::LimitExceeded(_)), "{err:?}");
        assert_eq!(second.refusals(), &[Refusal::RunTooManyCalls { limit: 3 }]);
        assert!(err.to_string().contains("run_limits.max_storage_calls"), "{err}");
        assert_eq!(run.calls(), 4);
    }

    #[test]
    fn request_bytes_are_refused_before_the_backend() {
        // label 6 + key 1 + value 10 = 17 bytes, response 8: one insert costs 25.
        let run = RunBudget::new(u64::MAX, 40);
        let mut gate = Gate::new(&grants(), &Limits::default(), MemoryBackend::new()).with_run_budget(run.clone());
        assert!(gate.call(insert("a", &[0; 10])).is_ok());
        assert_eq!(run.bytes(), 25);
        let err = gate.call(insert("b", &[0; 10])).unwrap_err();
        assert!(matches!(err, StorageError::LimitExceeded(_)), "{err:?}");
        assert_eq!(
            gate.refusals(),
            &[Refusal::RunBytesExceeded {
                used: 25,
                bytes: 17,
                limit: 40
            }]
        );
        // Refused before the backend: the key was never stored.
        let get = StorageRequest::RegistryGet {
            label: "actors".into(),
            key: "b".into(),
        };
        assert_eq!(gate.backend_mut().execute(&get), Ok(StorageResponse::Value(None)));
    }

    #[test]
    fn events_read_returns_only_what_fits() {
        let mut backend = MemoryBackend::new();
        for _ in 0..5 {
            let append = StorageRequest::EventsAppend {
                label: "log".into(),
                key: "k".into(),
                payload: vec![7; 100],
            };
            backend.execute(&append).unwrap();
        }
        let read = StorageRequest::EventsRead {
            label: "log".into(),
            key: "k".into(),
            from_seq: 0,
            max_count: 10,
        };
        // The request costs 4 bytes; each event 108: 300 leaves room for two.
        let run = RunBudget::new(u64::MAX, 300);
        let mut gate = Gate::new(&grants(), &Limits::default(), backend).with_run_budget(run.clone());
        match gate.call(read.clone()).unwrap() {
            StorageResponse::Events(events) => assert_eq!(events.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(run.bytes(), 4 + 2 * 108);
        // 80 left: less than one event, which is still returned (a stream never reads as empty).
        match gate.call(read.clone()).unwrap() {
            StorageResponse::Events(events) => assert_eq!(events.len(), 1),
            other => panic!("{other:?}"),
        }
        assert!(run.bytes() > 300);
        // Then nothing more.
        assert!(matches!(gate.call(read), Err(StorageError::LimitExceeded(_))));
        assert!(matches!(gate.refusals(), [Refusal::RunBytesExceeded { .. }]));
    }
}

/// The operations of contract 0.1.1 behind the gate: grants name them (`remove`, `list`), and a list
/// is bounded whatever the guest asks.
mod contract_0_1_1_tests {
    use super::*;

    fn grant(interface: Interface, label: &str, ops: &[Op]) -> Grant {
        Grant {
            interface,
            label: label.into(),
            ops: ops.iter().copied().collect(),
        }
    }

    fn remove(key: &str) -> StorageRequest {
        StorageRequest::RegistryRemove {
            label: "actors".into(),
            key: key.into(),
        }
    }

    fn list(start_after: Option<&str>, max_count: u32) -> StorageRequest {
        StorageRequest::StateList {
            label: "cfg".into(),
            start_after: start_after.map(str::to_string),
            max_count,
        }
    }

    fn backend_with(keys: usize) -> MemoryBackend {
        let mut b = MemoryBackend::new();
        b.execute(&StorageRequest::RegistryInsert {
            label: "actors".into(),
            key: "A_1".into(),
            value: b"alice".to_vec(),
        })
        .unwrap();
        for i in 0..keys {
            b.execute(&StorageRequest::StateStoreIfVersion {
                label: "cfg".into(),
                key: format!("k{i:04}"),
                expected_version: 0,
                value: b"v".to_vec(),
            })
            .unwrap();
        }
        b
    }

    #[test]
    fn remove_without_its_grant_is_refused_before_the_backend() {
        // Every registry op but `remove`: the grant names the op, not the interface.
        let grants = [grant(Interface::Registry, "actors", &[Op::Insert, Op::Get, Op::Exists])];
        let mut gate = Gate::new(&grants, &Limits::default(), backend_with(0));
        let err = gate.call(remove("A_1")).unwrap_err();
        assert!(matches!(err, StorageError::NotGranted(_)), "{err:?}");
        assert_eq!(
            gate.refusals(),
            &[Refusal::NotGranted {
                interface: Interface::Registry,
                label: "actors".into(),
                op: Op::Remove
            }]
        );
        assert!(err.to_string().contains("registry.remove"), "{err}");
        let (backend, journal, _) = gate.finish();
        // Untouched store, and the refusal is journaled.
        assert_eq!(backend.registry_value("actors", "A_1"), Some(&b"alice"[..]));
        assert_eq!(journal.len(), 1);
        assert_eq!(journal[0].request, remove("A_1"));
        assert!(journal[0].result.is_err());
    }

    #[test]
    fn remove_with_its_grant_reaches_the_backend() {
        let grants = [grant(Interface::Registry, "actors", &[Op::Remove])];
        let mut gate = Gate::new(&grants, &Limits::default(), backend_with(0));
        let digest = match gate.call(remove("A_1")).unwrap() {
            StorageResponse::Removed(Some(d)) => d,
            other => panic!("{other:?}"),
        };
        assert_eq!(digest, hex::encode(sha2::Sha256::digest(b"alice")));
        assert_eq!(gate.call(remove("A_1")), Ok(StorageResponse::Removed(None)));
        assert!(gate.refusals().is_empty());
    }

    #[test]
    fn list_without_its_grant_is_refused() {
        let grants = [grant(Interface::State, "cfg", &[Op::Load, Op::Store])];
        let mut gate = Gate::new(&grants, &Limits::default(), backend_with(3));
        assert!(matches!(gate.call(list(None, 10)), Err(StorageError::NotGranted(_))));
        assert!(matches!(gate.refusals(), [Refusal::NotGranted { op: Op::List, .. }]));
    }

    #[test]
    fn a_list_returns_at_most_max_list_keys_whatever_it_asks() {
        let grants = [grant(Interface::State, "cfg", &[Op::List])];
        let mut gate = Gate::new(&grants, &Limits::default(), backend_with(200));
        let keys = match gate.call(list(None, u32::MAX)).unwrap() {
            StorageResponse::Keys(k) => k,
            other => panic!("{other:?}"),
        };
        assert_eq!(keys.len(), MAX_LIST_KEYS as usize);
        assert_eq!(keys.first().map(String::as_str), Some("k0000"));
        // The journal holds the request as the backend saw it (capped), so a replay asks the same.
        assert_eq!(gate.journal()[0].request, list(None, MAX_LIST_KEYS));
        // Paging on from the last key continues where the page ended.
        let next = match gate.call(list(Some("k0063"), 5)).unwrap() {
            StorageResponse::Keys(k) => k,
            other => panic!("{other:?}"),
        };
        assert_eq!(next, ["k0064", "k0065", "k0066", "k0067", "k0068"]);
    }

    #[test]
    fn a_list_is_cut_to_the_runs_remaining_bytes() {
        let grants = [grant(Interface::State, "cfg", &[Op::List])];
        // The request costs 3 bytes (label); each key 5 + 8. 3 + 3 * 13 = 42: three keys fit in 45.
        let run = RunBudget::new(u64::MAX, 45);
        let mut gate = Gate::new(&grants, &Limits::default(), backend_with(10)).with_run_budget(run);
        match gate.call(list(None, 10)).unwrap() {
            StorageResponse::Keys(k) => assert_eq!(k, ["k0000", "k0001", "k0002"]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            gate.call(list(Some("k0002"), 10)),
            Err(StorageError::LimitExceeded(_))
        ));
    }

    #[test]
    fn a_list_cursor_longer_than_a_key_is_invalid() {
        let grants = [grant(Interface::State, "cfg", &[Op::List])];
        let mut gate = Gate::new(&grants, &Limits::default(), backend_with(1));
        let long = "x".repeat(5000);
        assert!(matches!(
            gate.call(list(Some(&long), 1)),
            Err(StorageError::InvalidArgument(_))
        ));
        // Journaled elided, like any refused request.
        assert!(gate.journal()[0].elided.is_some());
    }

    #[test]
    fn the_new_requests_have_stable_json_forms() {
        // The journal (and so every trace and replay) carries these forms.
        assert_eq!(
            serde_json::to_value(remove("A_1")).unwrap(),
            serde_json::json!({"op": "registry.remove", "label": "actors", "key": "A_1"})
        );
        assert_eq!(
            serde_json::to_value(list(None, 3)).unwrap(),
            serde_json::json!({"op": "state.list", "label": "cfg", "max_count": 3})
        );
        assert_eq!(
            serde_json::to_value(StorageResponse::Removed(None)).unwrap(),
            serde_json::json!({"removed": null})
        );
        assert_eq!(
            serde_json::to_value(StorageResponse::Keys(vec!["a".into()])).unwrap(),
            serde_json::json!({"keys": ["a"]})
        );
    }
}
