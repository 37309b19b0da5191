//! Walks over hand-built workflows with fake invokers (no Wasm anywhere).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use sealed_snapshot::Limits;
use serde_json::json;

/// A manifest-form task node (CT unless `kind` says otherwise).
fn task(kind: &str, inputs: Value, next: Value) -> Value {
    json!({ "kind": kind, "component": "c".repeat(64), "inputs": inputs, "grants": [],
            "limits": Limits::default(), "next": next })
}

fn terminal(status: &str, ok: bool) -> Value {
    json!({ "kind": "terminal", "status": status, "ok": ok })
}

fn workflow(entry: &str, max: u32, nodes: Value) -> Workflow {
    serde_json::from_value(json!({ "entry": entry, "admission": true, "max_nodes_visited": max, "nodes": nodes }))
        .unwrap()
}

/// a → b → done, with a VIOLATION branch from a to `invalid`.
fn linear() -> Workflow {
    workflow(
        "a",
        10,
        json!({
            "a": task("CT", json!({ "actor": { "path": "$.payload.actor", "required": true },
                                    "prefix": { "const": "AC_" } }),
                      json!({ "SUCCESS": "b", "VIOLATION": "invalid" })),
            "b": task("CS", json!({ "key": { "path": "$.results.a.id", "required": true },
                                    "value": { "path": "$.payload.actor", "required": true } }),
                      json!({ "SUCCESS": "done" })),
            "done": terminal("REGISTERED", true),
            "invalid": terminal("INVALID", false),
        }),
    )
}

/// Invoker driven by a closure; records every call.
struct Fake<F> {
    f: F,
    calls: Vec<(String, Value)>,
}

impl<F: FnMut(&str, &Value) -> Result<Returned, String>> NodeInvoker for Fake<F> {
    type Error = String;
    fn invoke(&mut self, node: &str, _task: &TaskNode, input: Value) -> Result<Returned, String> {
        self.calls.push((node.to_string(), input.clone()));
        (self.f)(node, &input)
    }
}

fn fake<F: FnMut(&str, &Value) -> Result<Returned, String>>(f: F) -> Fake<F> {
    Fake { f, calls: Vec::new() }
}

fn ret(outcome: &str, output: Value) -> Result<Returned, String> {
    Ok(Returned {
        outcome: outcome.into(),
        output,
    })
}

fn run<F: FnMut(&str, &Value) -> Result<Returned, String>>(
    wf: &Workflow,
    payload: Value,
    invoker: &mut Fake<F>,
) -> (Walk<String>, Vec<Step>) {
    let mut seen = Vec::new();
    let walk = walk(wf, &payload, invoker, &mut |s: &Step| seen.push(s.clone()));
    (walk, seen)
}

fn failed(walk: &Walk<String>) -> (&str, &WalkError<String>) {
    match walk {
        Walk::Failed { node, error, .. } => (node, error),
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn linear_flow_reaches_its_terminal() {
    let wf = linear();
    let mut inv = fake(|node, input| match node {
        "a" => ret(
            "SUCCESS",
            json!({ "id": format!("{}1", input["prefix"].as_str().unwrap()) }),
        ),
        "b" => ret("SUCCESS", json!({ "inserted": true })),
        _ => unreachable!(),
    });
    let (walk, seen) = run(&wf, json!({ "actor": "alice" }), &mut inv);
    assert!(matches!(&walk, Walk::Terminal { node, status, ok: true, .. } if node == "done" && status == "REGISTERED"));
    assert!(walk.is_ok());
    assert_eq!(
        walk.steps(),
        seen,
        "the observer sees exactly the recorded steps, in order"
    );
    assert_eq!(walk.steps().len(), 2);
    let (a, b) = (&walk.steps()[0], &walk.steps()[1]);
    assert_eq!(
        (a.seq, a.node.as_str(), a.kind, a.next.as_deref()),
        (1, "a", "CT", Some("b"))
    );
    assert_eq!(a.input, json!({ "actor": "alice", "prefix": "AC_" }));
    assert_eq!(b.input, json!({ "key": "AC_1", "value": "alice" }));
    assert_eq!(
        (b.seq, b.kind, b.outcome.as_str(), b.next.as_deref()),
        (2, "CS", "SUCCESS", Some("done"))
    );
    assert_eq!(a.component, "c".repeat(64));
    // The step input is exactly what the invoker was given.
    assert_eq!(
        inv.calls,
        vec![("a".into(), a.input.clone()), ("b".into(), b.input.clone())]
    );
    assert_eq!(walk.results()["a"], &json!({ "id": "AC_1" }));
}

#[test]
fn branches_on_outcome() {
    let wf = linear();
    let mut inv = fake(|node, _| match node {
        "a" => ret("VIOLATION", json!({ "reason": "bad" })),
        _ => panic!("b must not run"),
    });
    let (walk, _) = run(&wf, json!({ "actor": "x" }), &mut inv);
    assert!(
        matches!(&walk, Walk::Terminal { node, status, ok: false, .. } if node == "invalid" && status == "INVALID")
    );
    assert!(!walk.is_ok());
    assert_eq!(walk.steps().len(), 1);
    assert_eq!(inv.calls.len(), 1);
}

#[test]
fn unrouted_outcome_fails_closed() {
    let wf = linear();
    let mut inv = fake(|_, _| ret("MAYBE", json!(null)));
    let (walk, seen) = run(&wf, json!({ "actor": "x" }), &mut inv);
    let (node, error) = failed(&walk);
    assert_eq!(node, "a");
    let WalkError::Graph(g) = error else {
        panic!("{error:?}")
    };
    assert_eq!(g.code(), "OUTCOME_UNROUTED");
    assert_eq!(
        g.to_string(),
        "node `a` returned outcome `MAYBE`, which is not routed (routed: SUCCESS, VIOLATION)"
    );
    // The node did run: its step is recorded, with no next.
    assert_eq!(seen.len(), 1);
    assert_eq!(walk.steps()[0].next, None);
    assert_eq!(walk.steps()[0].outcome, "MAYBE");
}

#[test]
fn missing_required_input_fails_closed_and_names_the_path() {
    let wf = linear();
    let mut inv = fake(|_, _| panic!("must not be invoked"));
    let (walk, seen) = run(&wf, json!({ "name": "alice" }), &mut inv);
    let (node, error) = failed(&walk);
    assert_eq!(node, "a");
    assert_eq!(
        *error,
        WalkError::Graph(GraphError::InputMissing {
            node: "a".into(),
            field: "actor".into(),
            path: "$.payload.actor".into()
        })
    );
    let WalkError::Graph(g) = error else { unreachable!() };
    assert_eq!(g.code(), "INPUT_MISSING");
    assert_eq!(
        g.to_string(),
        "node `a`: required input `actor` is missing: JSONPath `$.payload.actor` matched nothing"
    );
    assert!(seen.is_empty());
    assert!(matches!(walk, Walk::Failed { input: None, .. }));
}

#[test]
fn missing_result_of_earlier_node_fails_closed() {
    let wf = linear();
    // a returns an output without `id`: b's required `$.results.a.id` matches nothing.
    let mut inv = fake(|_, _| ret("SUCCESS", json!({ "other": 1 })));
    let (walk, _) = run(&wf, json!({ "actor": "x" }), &mut inv);
    let (node, error) = failed(&walk);
    assert_eq!(node, "b");
    assert!(
        matches!(error, WalkError::Graph(GraphError::InputMissing { field, path, .. })
        if field == "key" && path == "$.results.a.id")
    );
    assert_eq!(walk.steps().len(), 1);
}

#[test]
fn optional_input_is_omitted() {
    let wf = workflow(
        "a",
        10,
        json!({
            "a": task("CT", json!({ "note": { "path": "$.payload.note", "required": false },
                                    "actor": { "path": "$.payload.actor", "required": true } }),
                      json!({ "SUCCESS": "done" })),
            "done": terminal("OK", true),
        }),
    );
    let mut inv = fake(|_, _| ret("SUCCESS", json!({})));
    let (walk, _) = run(&wf, json!({ "actor": "a" }), &mut inv);
    assert!(walk.is_ok());
    assert_eq!(
        walk.steps()[0].input,
        json!({ "actor": "a" }),
        "absent optional field is left out, not null"
    );
    let (walk, _) = run(&wf, json!({ "actor": "a", "note": null }), &mut inv);
    assert_eq!(
        walk.steps()[0].input,
        json!({ "actor": "a", "note": null }),
        "a present null is a value"
    );
}

#[test]
fn several_matches_yield_an_array() {
    let wf = workflow(
        "a",
        10,
        json!({
            "a": task("CT", json!({ "names": { "path": "$.payload.people[*].name", "required": true } }),
                      json!({ "SUCCESS": "done" })),
            "done": terminal("OK", true),
        }),
    );
    let mut inv = fake(|_, _| ret("SUCCESS", json!({})));
    let payload = json!({ "people": [{ "name": "ann" }, { "name": "bob" }, { "age": 3 }] });
    let (walk, _) = run(&wf, payload, &mut inv);
    assert_eq!(walk.steps()[0].input, json!({ "names": ["ann", "bob"] }));
    // Exactly one match is the value itself (ARCHITECTURE.md: "exactly one match yields that value").
    let (walk, _) = run(&wf, json!({ "people": [{ "name": "ann" }] }), &mut inv);
    assert_eq!(walk.steps()[0].input, json!({ "names": "ann" }));
}

#[test]
fn invoker_error_propagates_with_its_input() {
    let wf = linear();
    let mut inv = fake(|node, _| {
        if node == "b" {
            Err("trap: unreachable".to_string())
        } else {
            ret("SUCCESS", json!({ "id": "I" }))
        }
    });
    let (walk, _) = run(&wf, json!({ "actor": "x" }), &mut inv);
    match &walk {
        Walk::Failed { node, input, error, .. } => {
            assert_eq!(node, "b");
            assert_eq!(input.as_ref(), Some(&json!({ "key": "I", "value": "x" })));
            assert_eq!(*error, WalkError::Invoke("trap: unreachable".to_string()));
            assert_eq!(error.to_string(), "trap: unreachable");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(walk.steps().len(), 1, "only the node that returned is a step");
}

#[test]
fn max_nodes_visited_is_enforced() {
    let mut wf = linear();
    let mut inv = fake(|_, _| ret("SUCCESS", json!({ "id": "I" })));
    // a, b, done = 3 visits (terminals count).
    wf.max_nodes_visited = 3;
    assert!(run(&wf, json!({ "actor": "x" }), &mut inv).0.is_ok());
    wf.max_nodes_visited = 2;
    let (walk, _) = run(&wf, json!({ "actor": "x" }), &mut inv);
    let (node, error) = failed(&walk);
    assert_eq!(node, "done");
    assert_eq!(
        *error,
        WalkError::Graph(GraphError::MaxNodesVisited {
            node: "done".into(),
            limit: 2
        })
    );
    let WalkError::Graph(g) = error else { unreachable!() };
    assert_eq!(g.code(), "MAX_NODES_VISITED");
    assert_eq!(walk.steps().len(), 2);
}

#[test]
fn max_nodes_visited_stops_a_cycle() {
    // Closure checks refuse cycles; the walk must still terminate on one.
    let wf = workflow("a", 5, json!({ "a": task("CT", json!({}), json!({ "AGAIN": "a" })) }));
    let mut inv = fake(|_, _| ret("AGAIN", json!(1)));
    let (walk, _) = run(&wf, json!({}), &mut inv);
    assert_eq!(walk.steps().len(), 5);
    assert!(matches!(
        failed(&walk).1,
        WalkError::Graph(GraphError::MaxNodesVisited { limit: 5, .. })
    ));
}

#[test]
fn unknown_nodes_fail_closed() {
    let mut wf = linear();
    wf.entry = "start".into();
    let mut inv = fake(|_, _| panic!("must not run"));
    let (walk, _) = run(&wf, json!({}), &mut inv);
    let WalkError::Graph(g) = failed(&walk).1 else { panic!() };
    assert_eq!(g.code(), "SNAPSHOT_CLOSURE");
    assert!(g.to_string().contains("no node `start` (referenced by entry)"), "{g}");

    let wf = workflow(
        "a",
        10,
        json!({ "a": task("CT", json!({}), json!({ "SUCCESS": "gone" })) }),
    );
    let mut inv = fake(|_, _| ret("SUCCESS", json!({})));
    let (walk, _) = run(&wf, json!({}), &mut inv);
    let (node, WalkError::Graph(g)) = failed(&walk) else {
        panic!()
    };
    assert_eq!(node, "gone");
    assert!(
        g.to_string().contains("referenced by node `a`, outcome `SUCCESS`"),
        "{g}"
    );
}

#[test]
fn invalid_path_is_a_typed_error() {
    let wf = workflow(
        "a",
        10,
        json!({ "a": task("CT", json!({ "x": { "path": "$.payload[", "required": true } }), json!({ "S": "a" })) }),
    );
    let mut inv = fake(|_, _| panic!("must not run"));
    let (walk, _) = run(&wf, json!({}), &mut inv);
    let WalkError::Graph(g) = failed(&walk).1 else { panic!() };
    assert!(matches!(g, GraphError::PathInvalid { field, .. } if field == "x"));
    assert_eq!(g.code(), "SNAPSHOT_CLOSURE");
}

/// resolve_inputs, one binding at a time: (path, required, expected field value or None if omitted, or
/// Err for INPUT_MISSING).
#[test]
fn resolve_inputs_table() {
    let payload = json!({
        "actor": { "name": "ann", "tags": ["a", "b"], "empty": [], "zero": 0, "null": null },
        "list": [1, 2, 3],
        "odd key": "spaced",
    });
    let mut results = BTreeMap::new();
    results.insert(
        "make_id".to_string(),
        json!({ "id": "AC_1", "n": [{ "v": 1 }, { "v": 2 }] }),
    );
    results.insert("solo".to_string(), json!("scalar"));

    #[allow(clippy::type_complexity)]
    let cases: Vec<(&str, bool, Result<Option<Value>, ()>)> = vec![
        ("$.payload.actor.name", true, Ok(Some(json!("ann")))),
        ("$.payload.actor", true, Ok(Some(payload["actor"].clone()))),
        ("$.payload", true, Ok(Some(payload.clone()))),
        ("$.payload.actor.tags", true, Ok(Some(json!(["a", "b"])))),
        ("$.payload.actor.tags[*]", true, Ok(Some(json!(["a", "b"])))),
        ("$.payload.actor.tags[0]", true, Ok(Some(json!("a")))),
        ("$.payload.actor.tags[5]", true, Err(())),
        ("$.payload.actor.tags[5]", false, Ok(None)),
        ("$.payload.actor.empty", true, Ok(Some(json!([])))),
        ("$.payload.actor.empty[*]", true, Err(())),
        ("$.payload.actor.empty[*]", false, Ok(None)),
        ("$.payload.actor.zero", true, Ok(Some(json!(0)))),
        ("$.payload.actor.null", true, Ok(Some(Value::Null))),
        ("$.payload.actor.missing", true, Err(())),
        ("$.payload.actor.missing", false, Ok(None)),
        ("$.payload.list[?@ > 1]", true, Ok(Some(json!([2, 3])))),
        ("$.payload.list[?@ > 2]", true, Ok(Some(json!(3)))),
        ("$.payload['odd key']", true, Ok(Some(json!("spaced")))),
        ("$.results.make_id.id", true, Ok(Some(json!("AC_1")))),
        ("$['results']['make_id']['id']", true, Ok(Some(json!("AC_1")))),
        ("$.results.make_id.n[*].v", true, Ok(Some(json!([1, 2])))),
        ("$.results.solo", true, Ok(Some(json!("scalar")))),
        ("$.results.not_run.id", true, Err(())),
        ("$.results.not_run.id", false, Ok(None)),
    ];
    for (path, required, expected) in cases {
        let task: TaskNode = serde_json::from_value(json!({
            "component": "c".repeat(64), "limits": Limits::default(), "next": {},
            "inputs": { "f": { "path": path, "required": required }, "k": { "const": { "fixed": [1] } } },
        }))
        .unwrap();
        let got = resolve_inputs(&task, "n", &payload, &results);
        match expected {
            Ok(value) => {
                let input = got.unwrap_or_else(|e| panic!("{path}: {e}"));
                assert_eq!(input.get("f"), value.as_ref(), "{path} (required: {required})");
                assert_eq!(input["k"], json!({ "fixed": [1] }), "constants are copied verbatim");
            }
            Err(()) => assert_eq!(
                got,
                Err(GraphError::InputMissing {
                    node: "n".into(),
                    field: "f".into(),
                    path: path.into()
                }),
                "{path}"
            ),
        }
    }
}
