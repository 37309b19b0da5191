//! `resolve_inputs` with an arbitrary path string (the first line of the input) over an arbitrary JSON
//! document (the rest): never panics, and every error has a known code.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use sealed_graph::resolve_inputs;
use sealed_snapshot::{Binding, Limits, PathBinding, TaskNode};

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else { return };
    let (path, doc) = text.split_once('\n').unwrap_or((text, "null"));
    let Ok(payload) = serde_json::from_str::<serde_json::Value>(doc) else {
        return;
    };
    let mut inputs = BTreeMap::new();
    inputs.insert(
        "f".to_string(),
        Binding::Path(PathBinding {
            path: path.to_string(),
            required: true,
        }),
    );
    let task = TaskNode {
        component: "c".repeat(64),
        inputs,
        grants: vec![],
        limits: Limits::default(),
        next: BTreeMap::new(),
    };
    let mut results = BTreeMap::new();
    results.insert("n".to_string(), payload.clone());
    if let Err(e) = resolve_inputs(&task, "node", &payload, &results) {
        assert!(matches!(e.code(), "INPUT_MISSING" | "SNAPSHOT_CLOSURE"), "{e}");
    }
});
