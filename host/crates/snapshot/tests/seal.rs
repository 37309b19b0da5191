//! Sealing and loading: one test per closure violation (each asserting its message), and round trips
//! through `load_verified` with tampering.
//!
//! Components here are fake: their bytes are a small JSON document naming imports and exports, and the
//! fake `inspect` reads it back. The seal never looks inside the bytes itself, so this exercises every
//! path the real engine inspection would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use sealed_snapshot::canonical::{sha256_hex, to_vec};
use sealed_snapshot::seal::{ComponentImports, SealReport, seal};
use sealed_snapshot::{Binding, Node, PathBinding, SnapshotError, load_verified};
use serde_json::{Value, json};

const NODE: &str = "sealed:capability/node@0.1.0";
const REGISTRY: &str = "sealed:capability/registry@0.1.0";
const TYPES: &str = "sealed:capability/types@0.1.0";

fn fake_component(tag: &str, imports: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({"tag": tag, "imports": imports, "exports": [NODE]})).unwrap()
}

fn fake_inspect(bytes: &[u8], _limits: &sealed_snapshot::RunLimits) -> Result<ComponentImports, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not a component: {e}"))?;
    let names = |k: &str| {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let problems = v
        .get("problems")
        .map(|p| vec![p.as_str().unwrap().to_string()])
        .unwrap_or_default();
    Ok(ComponentImports {
        imports: names("imports"),
        exports: names("exports"),
        problems,
    })
}

struct Fixture {
    dir: tempfile::TempDir,
    source: Value,
    /// component file name → bytes (written to `<dir>/wasm/<name>.wasm`).
    wasm: Vec<(String, Vec<u8>)>,
}

impl Fixture {
    /// The register-actor example of ARCHITECTURE.md, sealed as is.
    fn new() -> Self {
        let gen_id = fake_component("generate-id", &[]);
        let insert = fake_component("registry-insert", &[TYPES, REGISTRY]);
        let source = json!({
            "format": "sealed-source/v1",
            "name": "register-actor",
            "defaults": { "limits": { "fuel": 50_000_000 } },
            "components": {
                "generate-id": { "wasm": "../wasm/generate-id.wasm", "sha256": sha256_hex(&gen_id),
                                 "world": "transform", "outcomes": ["SUCCESS", "VIOLATION"] },
                "registry-insert": { "wasm": "../wasm/registry-insert.wasm", "sha256": sha256_hex(&insert),
                                     "world": "side-effect", "outcomes": ["SUCCESS", "ALREADY_EXISTS"] }
            },
            "workflows": {
                "register": {
                    "entry": "make_id",
                    "admission": { "type": "object", "required": ["actor"] },
                    "max_nodes_visited": 100,
                    "nodes": {
                        "make_id": { "kind": "CT", "component": "generate-id",
                                     "inputs": { "data": "$.payload.actor", "prefix": { "const": "AC_" },
                                                 "note": { "path": "$.payload.note", "required": false } },
                                     "next": { "SUCCESS": "register", "VIOLATION": "invalid" } },
                        "register": { "kind": "CS", "component": "registry-insert",
                                      "inputs": { "label": { "const": "actors" }, "key": "$.results.make_id.id",
                                                  "value": "$.payload.actor" },
                                      "grants": [ { "interface": "registry", "label": "actors", "ops": ["insert"] } ],
                                      "limits": { "fuel": 10_000_000 },
                                      "next": { "SUCCESS": "done", "ALREADY_EXISTS": "exists" } },
                        "done": { "kind": "terminal", "status": "REGISTERED", "ok": true },
                        "exists": { "kind": "terminal", "status": "ALREADY_REGISTERED", "ok": true },
                        "invalid": { "kind": "terminal", "status": "INVALID_ACTOR", "ok": false }
                    }
                }
            }
        });
        Fixture {
            dir: tempfile::tempdir().unwrap(),
            source,
            wasm: vec![("generate-id".into(), gen_id), ("registry-insert".into(), insert)],
        }
    }

    fn node(&mut self, name: &str) -> &mut Value {
        &mut self.source["workflows"]["register"]["nodes"][name]
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn source_path(&self) -> PathBuf {
        self.dir.path().join("src").join("source.json")
    }

    fn write_inputs(&self) {
        let src = self.source_path();
        std::fs::create_dir_all(src.parent().unwrap()).unwrap();
        std::fs::write(&src, serde_json::to_vec_pretty(&self.source).unwrap()).unwrap();
        let wasm = self.dir.path().join("wasm");
        std::fs::create_dir_all(&wasm).unwrap();
        for (name, bytes) in &self.wasm {
            std::fs::write(wasm.join(format!("{name}.wasm")), bytes).unwrap();
        }
    }

    fn seal(&self) -> Result<SealReport, SnapshotError> {
        self.write_inputs();
        seal(&self.source_path(), &self.out(), &fake_inspect)
    }

    /// Seals, expecting exactly one closure violation, and returns its message.
    fn one_violation(&self) -> String {
        match self.seal() {
            Err(SnapshotError::Closure(v)) => {
                assert_eq!(v.len(), 1, "expected exactly one violation, got {v:#?}");
                v.into_iter().next().unwrap()
            }
            other => panic!("expected a closure violation, got {other:?}"),
        }
    }

    fn source_error(&self) -> String {
        match self.seal() {
            Err(e @ SnapshotError::Source(_)) => {
                assert_eq!(e.code(), "SEAL_SOURCE_INVALID");
                e.to_string()
            }
            other => panic!("expected a source error, got {other:?}"),
        }
    }
}

fn assert_has(msg: &str, parts: &[&str]) {
    for p in parts {
        assert!(msg.contains(p), "message lacks {p:?}:\n{msg}");
    }
}

// ---------------------------------------------------------------------------------------------------
// The example itself seals.

#[test]
fn example_seals_and_loads() {
    let f = Fixture::new();
    let report = f.seal().unwrap();
    assert_eq!(report.workflows, vec!["register".to_string()]);
    assert_eq!(report.components.len(), 2);
    let snap = load_verified(&f.out()).unwrap();
    assert_eq!(snap.digest(), report.digest);
    assert_eq!(
        std::fs::read_to_string(f.out().join("snapshot.digest")).unwrap(),
        format!("sha256:{}\n", report.digest)
    );
    assert_eq!(
        sha256_hex(&std::fs::read(f.out().join("manifest.json")).unwrap()),
        report.digest
    );

    // Limits: node override > defaults.limits > built-in defaults, fully resolved.
    let wf = &snap.manifest().workflows["register"];
    let builtin = sealed_snapshot::Limits::default();
    let make_id = wf.nodes["make_id"].task().unwrap();
    let register = wf.nodes["register"].task().unwrap();
    assert_eq!(make_id.limits.fuel, 50_000_000);
    assert_eq!(register.limits.fuel, 10_000_000);
    assert_eq!(make_id.limits.memory_bytes, builtin.memory_bytes);
    // Bindings normalised.
    assert_eq!(
        make_id.inputs["data"],
        Binding::Path(PathBinding {
            path: "$.payload.actor".into(),
            required: true
        })
    );
    assert_eq!(
        make_id.inputs["note"],
        Binding::Path(PathBinding {
            path: "$.payload.note".into(),
            required: false
        })
    );
    // Components keyed and stored by sha256.
    for c in &report.components {
        assert!(f.out().join("components").join(format!("{}.wasm", c.sha256)).is_file());
        assert_eq!(snap.component(&c.sha256).unwrap().name(), c.name);
    }
    assert_eq!(
        report
            .components
            .iter()
            .find(|c| c.name == "registry-insert")
            .unwrap()
            .imports,
        vec![REGISTRY.to_string(), TYPES.to_string()]
    );
}

#[test]
fn sealing_is_deterministic_and_replaces_a_previous_snapshot() {
    let f = Fixture::new();
    let first = f.seal().unwrap();
    let second = f.seal().unwrap(); // same out dir: a previous snapshot is replaced
    assert_eq!(first.digest, second.digest);
    load_verified(&f.out()).unwrap();
    // No temporary directories left behind.
    let leftovers: Vec<_> = std::fs::read_dir(f.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn bracket_form_paths_are_accepted() {
    let mut f = Fixture::new();
    f.node("register")["inputs"]["key"] = json!("$['results']['make_id']['id']");
    f.seal().unwrap();
}

#[test]
fn refuses_to_overwrite_a_directory_it_did_not_write() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.out()).unwrap();
    std::fs::write(f.out().join("notes.txt"), "mine").unwrap();
    let e = f.seal().unwrap_err();
    assert_eq!(e.code(), "SNAPSHOT_IO");
    assert_has(&e.to_string(), &["refusing to overwrite", "not a sealed snapshot"]);
    assert_eq!(std::fs::read_to_string(f.out().join("notes.txt")).unwrap(), "mine");
}

#[test]
fn seals_into_an_existing_empty_directory() {
    let f = Fixture::new();
    std::fs::create_dir_all(f.out()).unwrap();
    f.seal().unwrap();
    load_verified(&f.out()).unwrap();
}

#[test]
fn a_refused_seal_writes_nothing() {
    let mut f = Fixture::new();
    f.source["workflows"]["register"]["entry"] = json!("nope");
    assert!(f.seal().is_err());
    assert!(!f.out().exists());
}

// ---------------------------------------------------------------------------------------------------
// Closure violations, one per test.

#[test]
fn rule1_unknown_entry() {
    let mut f = Fixture::new();
    f.source["workflows"]["register"]["entry"] = json!("start");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`",
            "entry `start` is not a node",
            "set `entry` to one of",
            "`make_id`",
        ],
    );
}

#[test]
fn rule1_missing_next_target() {
    let mut f = Fixture::new();
    f.node("make_id")["next"]["VIOLATION"] = json!("nowhere");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `make_id`",
            "outcome `VIOLATION` routes to `nowhere`",
            "not a node of this workflow",
            "route it to one of",
        ],
    );
}

#[test]
fn rule2_cycle_is_reported_with_its_path() {
    let mut f = Fixture::new();
    f.node("register")["next"]["ALREADY_EXISTS"] = json!("make_id");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`: cycle `make_id` → `register` → `make_id`",
            "a workflow is a DAG",
        ],
    );
}

#[test]
fn rule3_declared_outcome_without_route() {
    let mut f = Fixture::new();
    f.node("make_id")["next"].as_object_mut().unwrap().remove("VIOLATION");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `make_id`",
            "component `generate-id` declares outcome `VIOLATION` but `next` has no route for it",
            "add \"VIOLATION\"",
        ],
    );
}

#[test]
fn rule3_route_for_undeclared_outcome() {
    let mut f = Fixture::new();
    f.node("make_id")["next"]["TIMEOUT"] = json!("invalid");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `make_id`",
            "`next` routes outcome `TIMEOUT`, which component `generate-id` never returns",
            "`SUCCESS`, `VIOLATION`",
        ],
    );
}

#[test]
fn rule4_unreachable_node() {
    let mut f = Fixture::new();
    *f.node("orphan") = json!({ "kind": "CT", "component": "generate-id", "inputs": {},
                                "next": { "SUCCESS": "done", "VIOLATION": "invalid" } });
    let m = f.one_violation();
    assert_has(
        &m,
        &["workflow `register`, node `orphan`", "unreachable from entry `make_id`"],
    );
}

#[test]
fn rule4_terminal_with_next_is_refused_by_the_source_type() {
    let mut f = Fixture::new();
    f.node("done")["next"] = json!({ "SUCCESS": "exists" });
    let m = f.source_error();
    assert_has(&m, &["unknown field `next`", "`status`", "`ok`"]);
}

#[test]
fn rule5_jsonpath_that_does_not_parse() {
    let mut f = Fixture::new();
    f.node("make_id")["inputs"]["data"] = json!("$.payload[");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `make_id`, input `data`",
            "JSONPath `$.payload[` does not parse",
            "at column 11",
        ],
    );
}

#[test]
fn rule5_jsonpath_with_bad_root() {
    let mut f = Fixture::new();
    f.node("make_id")["inputs"]["data"] = json!("$.body.actor");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `make_id`, input `data`",
            "JSONPath `$.body.actor` must start with `$.payload` or `$.results.<node>`",
        ],
    );
}

#[test]
fn rule5_jsonpath_with_wildcard_node() {
    let mut f = Fixture::new();
    f.node("register")["inputs"]["key"] = json!("$.results.*.id");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "node `register`, input `key`",
            "must start with `$.payload` or `$.results.<node>`",
        ],
    );
}

#[test]
fn rule5_jsonpath_referencing_a_non_dominating_node() {
    let mut f = Fixture::new();
    // make_id --VIOLATION--> fix --SUCCESS--> register: `fix` runs on one branch only.
    f.node("make_id")["next"]["VIOLATION"] = json!("fix");
    *f.node("fix") = json!({ "kind": "CT", "component": "generate-id", "inputs": { "data": "$.payload.actor" },
                             "next": { "SUCCESS": "register", "VIOLATION": "invalid" } });
    f.node("register")["inputs"]["key"] = json!("$.results.fix.id");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `register`, input `key`",
            "JSONPath `$.results.fix.id` reads the result of `fix`, which does not run on every path",
            "does not dominate `register`",
            "(`make_id`)",
        ],
    );
}

#[test]
fn rule5_jsonpath_referencing_a_terminal() {
    let mut f = Fixture::new();
    f.node("register")["inputs"]["key"] = json!("$.results.done.id");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "node `register`, input `key`",
            "reads the result of `done`, a terminal node",
        ],
    );
}

#[test]
fn rule5_jsonpath_referencing_an_unknown_node() {
    let mut f = Fixture::new();
    f.node("register")["inputs"]["key"] = json!("$.results.mkae_id.id");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "node `register`, input `key`",
            "`mkae_id`, which is not a node of this workflow",
        ],
    );
}

#[test]
fn rule5_jsonpath_referencing_itself() {
    let mut f = Fixture::new();
    f.node("register")["inputs"]["key"] = json!({ "path": "$.results.register.id", "required": false });
    let m = f.one_violation();
    assert_has(&m, &["node `register`, input `key`", "reads the node's own result"]);
}

#[test]
fn rule6_missing_component_file() {
    let mut f = Fixture::new();
    f.source["components"]["generate-id"]["wasm"] = json!("../wasm/nope.wasm");
    match f.seal() {
        Err(e @ SnapshotError::ComponentMissing { .. }) => {
            assert_eq!(e.code(), "COMPONENT_MISSING");
            assert_has(&e.to_string(), &["(generate-id) is missing", "nope.wasm"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rule6_component_hash_mismatch() {
    let mut f = Fixture::new();
    f.wasm[0].1.push(b' '); // bytes no longer match the pin in the source
    match f.seal() {
        Err(e @ SnapshotError::ComponentHashMismatch { .. }) => {
            assert_eq!(e.code(), "COMPONENT_HASH_MISMATCH");
            assert_has(&e.to_string(), &["component generate-id does not match its pin"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn rule6_world_kind_mismatch() {
    let mut f = Fixture::new();
    f.node("register")["kind"] = json!("CT");
    f.node("register").as_object_mut().unwrap().remove("grants");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `register`",
            "kind CT needs a component of world `transform`, but component `registry-insert` has world `side-effect`",
            "make the node CS",
        ],
    );
}

#[test]
fn rule6_transform_with_imports() {
    let mut f = Fixture::new();
    let bytes = fake_component("generate-id", &[REGISTRY]);
    f.source["components"]["generate-id"]["sha256"] = json!(sha256_hex(&bytes));
    f.wasm[0].1 = bytes;
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "component `generate-id`",
            "has world `transform` but imports [\"sealed:capability/registry@0.1.0\"]",
            "a transform must import nothing",
            "used by workflow `register`, node `make_id`",
        ],
    );
}

#[test]
fn rule6_side_effect_with_wasi_import() {
    let mut f = Fixture::new();
    let bytes = fake_component("registry-insert", &[REGISTRY, "wasi:clocks/wall-clock@0.2.0"]);
    f.source["components"]["registry-insert"]["sha256"] = json!(sha256_hex(&bytes));
    f.wasm[1].1 = bytes;
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "component `registry-insert`",
            "imports [\"wasi:clocks/wall-clock@0.2.0\"]",
            "may import only sealed:capability/{types,registry,events,state}@0.1.x",
            "node `register`",
        ],
    );
}

#[test]
fn rule6_component_without_node_export() {
    let mut f = Fixture::new();
    let bytes = serde_json::to_vec(&json!({"imports": [], "exports": ["run"]})).unwrap();
    f.source["components"]["generate-id"]["sha256"] = json!(sha256_hex(&bytes));
    f.wasm[0].1 = bytes;
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "component `generate-id`",
            "does not export `sealed:capability/node@0.1.1`",
        ],
    );
}

#[test]
fn rule6_problem_reported_by_the_inspector() {
    let mut f = Fixture::new();
    let bytes =
        serde_json::to_vec(&json!({"imports": [], "exports": [NODE], "problems": "`run` has the wrong type"})).unwrap();
    f.source["components"]["generate-id"]["sha256"] = json!(sha256_hex(&bytes));
    f.wasm[0].1 = bytes;
    let m = f.one_violation();
    assert_has(
        &m,
        &["component `generate-id`", "`run` has the wrong type", "node `make_id`"],
    );
}

#[test]
fn rule6_uninspectable_component() {
    let mut f = Fixture::new();
    let bytes = b"\0asm garbage".to_vec();
    f.source["components"]["generate-id"]["sha256"] = json!(sha256_hex(&bytes));
    f.wasm[0].1 = bytes;
    assert_has(&f.source_error(), &["component `generate-id`", "not a valid component"]);
}

#[test]
fn rule7_grant_on_ct_node() {
    let mut f = Fixture::new();
    f.node("make_id")["grants"] = json!([{ "interface": "registry", "label": "actors", "ops": ["get"] }]);
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `make_id`",
            "a CT node cannot hold grants",
            "remove `grants`",
        ],
    );
}

#[test]
fn rule7_grant_with_op_of_the_wrong_interface() {
    let mut f = Fixture::new();
    f.node("register")["grants"][0]["ops"] = json!(["insert", "append"]);
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `register`",
            "grant #0 on `registry` (label \"actors\") names op `append`, which `registry` does not have",
            "insert, get, exists",
        ],
    );
}

#[test]
fn rule7_grant_with_empty_label() {
    let mut f = Fixture::new();
    f.node("register")["grants"][0]["label"] = json!("");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `register`",
            "grant #0 (registry): a label must not be empty",
        ],
    );
}

#[test]
fn rule7_grant_labels_follow_the_label_syntax() {
    // NUL, newline, a path, a look-alike and a 1 MB label are all refused at seal, each naming the rule,
    // and the message quotes at most a short prefix of the label.
    for (label, says) in [
        ("ac\0tors", r"contains '\0'"),
        ("actors\nCOMMITTED", r"contains '\n'"),
        ("../../etc", "must start with an ASCII letter or digit"),
        ("etc/passwd", "contains '/'"),
        ("acto\u{0433}s", "contains '\u{0433}'"),
        ("a..b", "contains `..`"),
    ] {
        let mut f = Fixture::new();
        f.node("register")["grants"][0]["label"] = json!(label);
        assert_has(
            &f.one_violation(),
            &["workflow `register`, node `register`", "grant #0 (registry)", says],
        );
    }
    let mut f = Fixture::new();
    f.node("register")["grants"][0]["label"] = json!("a".repeat(1 << 20));
    let m = f.one_violation();
    assert_has(&m, &["1048576 bytes, more than the 128 a label may have"]);
    assert!(
        m.len() < 2_000,
        "the message quotes a prefix, not the label: {} bytes",
        m.len()
    );
}

#[test]
fn rule7_grant_with_unknown_interface_is_a_source_error() {
    let mut f = Fixture::new();
    f.node("register")["grants"][0]["interface"] = json!("blobs");
    assert_has(&f.source_error(), &["unknown variant `blobs`", "`registry`"]);
}

#[test]
fn rule8_invalid_admission_schema() {
    let mut f = Fixture::new();
    f.source["workflows"]["register"]["admission"] = json!({ "type": "objekt" });
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`: admission is not a valid JSON Schema",
            "/type in the schema",
        ],
    );
}

#[test]
fn rule8_misspelled_admission_keywords_are_refused_at_seal() {
    // `jsonschema` ignores unknown keywords: sealed, this schema would admit `{}`.
    let mut f = Fixture::new();
    f.source["workflows"]["register"]["admission"] = json!({
        "type": "object",
        "requird": ["actor"],
        "propertes": { "actor": { "type": "string" } }
    });
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`: admission schema: unknown JSON Schema keyword",
            "\"propertes\" at the schema root",
            "\"requird\" at the schema root",
        ],
    );
    let mut f = Fixture::new();
    f.source["workflows"]["register"]["admission"] =
        json!({ "type": "object", "properties": { "actor": { "type": "string", "minLenght": 3 } } });
    assert_has(&f.one_violation(), &["\"minLenght\" at /properties/actor"]);
}

#[test]
fn unknown_component_name() {
    let mut f = Fixture::new();
    f.node("make_id")["component"] = json!("generate-idd");
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "workflow `register`, node `make_id`",
            "component `generate-idd` is not declared",
        ],
    );
}

// ---------------------------------------------------------------------------------------------------
// Malformed sources.

#[test]
fn unknown_field_in_source_node() {
    let mut f = Fixture::new();
    f.node("make_id")["retries"] = json!(3);
    assert_has(
        &f.source_error(),
        &[
            "source.json: workflow `register`, node `make_id`: unknown field `retries`",
            "`component`",
            "at line",
        ],
    );
}

#[test]
fn unknown_top_level_field_in_source() {
    let mut f = Fixture::new();
    f.source["version"] = json!(2);
    assert_has(&f.source_error(), &["unknown field `version`"]);
}

#[test]
fn unknown_limit_in_source() {
    let mut f = Fixture::new();
    f.node("register")["limits"]["fule"] = json!(1);
    assert_has(
        &f.source_error(),
        &["workflow `register`, node `register`: unknown field `fule`"],
    );
}

#[test]
fn bare_non_dollar_string_binding() {
    let mut f = Fixture::new();
    f.node("make_id")["inputs"]["prefix"] = json!("AC_");
    assert_has(
        &f.source_error(),
        &[
            "workflow `register`, node `make_id`, input `prefix`: binding \"AC_\" is a bare string",
            "{\"const\": \"AC_\"}",
        ],
    );
}

#[test]
fn unknown_source_format() {
    let mut f = Fixture::new();
    f.source["format"] = json!("sealed-source/v9");
    assert_has(&f.source_error(), &["unknown source format \"sealed-source/v9\""]);
}

#[test]
fn bad_pin_and_duplicate_outcomes() {
    let mut f = Fixture::new();
    f.source["components"]["generate-id"]["sha256"] = json!("ABC");
    f.source["components"]["registry-insert"]["outcomes"] = json!(["SUCCESS", "SUCCESS", "ALREADY_EXISTS"]);
    assert_has(
        &f.source_error(),
        &[
            "component `generate-id`: sha256 \"ABC\" is not 64 lowercase hex digits",
            "component `registry-insert`: outcomes listed twice: {\"SUCCESS\"}",
        ],
    );
}

// ---------------------------------------------------------------------------------------------------
// Round trips through the loader, with tampering.

fn sealed() -> Fixture {
    let f = Fixture::new();
    f.seal().unwrap();
    f
}

fn manifest_path(f: &Fixture) -> PathBuf {
    f.out().join("manifest.json")
}

/// Rewrites manifest.json canonically from `edit(value)` and fixes the digest file, so only the edit is
/// under test.
fn rewrite_manifest(f: &Fixture, edit: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(manifest_path(f)).unwrap()).unwrap();
    edit(&mut v);
    let bytes = to_vec(&v).unwrap();
    std::fs::write(manifest_path(f), &bytes).unwrap();
    std::fs::write(
        f.out().join("snapshot.digest"),
        format!("sha256:{}\n", sha256_hex(&bytes)),
    )
    .unwrap();
}

fn component_file(f: &Fixture) -> PathBuf {
    let dir = f.out().join("components");
    std::fs::read_dir(dir).unwrap().next().unwrap().unwrap().path()
}

#[test]
fn tampered_manifest_byte_is_detected() {
    let f = sealed();
    let mut bytes = std::fs::read(manifest_path(&f)).unwrap();
    // Still canonical JSON, different content: the digest catches it.
    let at = bytes.windows(8).position(|w| w == b"register").unwrap();
    bytes[at] = b'R';
    std::fs::write(manifest_path(&f), &bytes).unwrap();
    let e = load_verified(&f.out()).unwrap_err();
    assert!(matches!(e, SnapshotError::DigestMismatch { .. }), "{e:?}");
    assert_eq!(e.code(), "SNAPSHOT_DIGEST_MISMATCH");
}

#[test]
fn non_canonical_manifest_is_detected() {
    let f = sealed();
    let mut bytes = std::fs::read(manifest_path(&f)).unwrap();
    bytes.insert(1, b' ');
    std::fs::write(manifest_path(&f), &bytes).unwrap();
    // The digest check comes first (before any parsing): with the old digest it is a mismatch; with a
    // matching digest, the canonical-form check is what refuses it.
    let e = load_verified(&f.out()).unwrap_err();
    assert!(matches!(e, SnapshotError::DigestMismatch { .. }), "{e:?}");
    let digest = sealed_snapshot::canonical::sha256_hex(&bytes);
    std::fs::write(f.out().join("snapshot.digest"), format!("sha256:{digest}\n")).unwrap();
    let e = load_verified(&f.out()).unwrap_err();
    assert!(matches!(e, SnapshotError::NotCanonical), "{e:?}");
}

#[test]
fn flipped_component_byte_is_detected() {
    let f = sealed();
    let path = component_file(&f);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let e = load_verified(&f.out()).unwrap_err();
    assert!(matches!(e, SnapshotError::ComponentHashMismatch { .. }), "{e:?}");
}

#[test]
fn deleted_component_is_detected() {
    let f = sealed();
    std::fs::remove_file(component_file(&f)).unwrap();
    let e = load_verified(&f.out()).unwrap_err();
    assert!(matches!(e, SnapshotError::ComponentMissing { .. }), "{e:?}");
}

#[test]
fn unknown_manifest_format_is_refused() {
    let f = sealed();
    rewrite_manifest(&f, |v| v["format"] = json!("sealed-snapshot/v2"));
    let e = load_verified(&f.out()).unwrap_err();
    assert!(
        matches!(e, SnapshotError::FormatUnknown { ref found, .. } if found == "sealed-snapshot/v2"),
        "{e:?}"
    );
}

#[test]
fn unknown_manifest_field_is_refused() {
    let f = sealed();
    rewrite_manifest(&f, |v| {
        v["workflows"]["register"]["nodes"]["make_id"]["retries"] = json!(3)
    });
    let e = load_verified(&f.out()).unwrap_err();
    assert!(matches!(e, SnapshotError::ManifestInvalid { .. }), "{e:?}");
    assert!(e.to_string().contains("unknown field `retries`"), "{e}");
}

#[test]
fn closure_is_rechecked_at_load() {
    let f = sealed();
    rewrite_manifest(&f, |v| {
        v["workflows"]["register"]["nodes"]["make_id"]["next"]
            .as_object_mut()
            .unwrap()
            .remove("VIOLATION");
    });
    match load_verified(&f.out()).unwrap_err() {
        SnapshotError::Closure(v) => {
            assert_eq!(v.len(), 1, "{v:?}");
            assert!(
                v[0].contains("declares outcome `VIOLATION` but `next` has no route"),
                "{v:?}"
            );
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn missing_digest_file_is_refused() {
    let f = sealed();
    std::fs::remove_file(f.out().join("snapshot.digest")).unwrap();
    assert_eq!(load_verified(&f.out()).unwrap_err().code(), "SNAPSHOT_DIGEST_FILE");
}

#[test]
fn manifest_nodes_round_trip_through_serde() {
    let f = sealed();
    let snap = load_verified(&f.out()).unwrap();
    let wf = &snap.manifest().workflows["register"];
    assert!(matches!(wf.nodes["register"], Node::SideEffect(_)));
    assert!(matches!(wf.nodes["done"], Node::Terminal(_)));
}

#[test]
fn a_long_or_deeply_nested_jsonpath_is_refused_before_the_parser_runs() {
    let mut f = Fixture::new();
    f.node("make_id")["inputs"]["data"] = json!(format!("$.payload{}", "[0]".repeat(50_000)));
    assert_has(&f.one_violation(), &["bytes, more than the 1024 a binding may have"]);
    let mut f = Fixture::new();
    f.node("make_id")["inputs"]["data"] = json!(format!("$.payload{}", "[[[[[[[[[[".repeat(4)));
    assert_has(&f.one_violation(), &["nests brackets 40 levels deep, more than 32"]);
}

// ---------------------------------------------------------------------------------------------------
// Run limits: resolved at seal, capped by the host ceilings, optional in older manifests.

#[test]
fn run_limits_are_resolved_at_seal() {
    let mut f = Fixture::new();
    f.source["defaults"]["run_limits"] = json!({ "max_storage_calls": 500, "compile_ms": 5_000 });
    f.source["workflows"]["register"]["run_limits"] = json!({ "max_storage_calls": 20 });
    f.seal().unwrap();
    let snap = load_verified(&f.out()).unwrap();
    let limits = snap.manifest().workflows["register"]
        .run_limits
        .expect("always written by the seal");
    let builtin = sealed_snapshot::RunLimits::default();
    assert_eq!(limits.max_storage_calls, 20);
    assert_eq!(limits.compile_ms, 5_000);
    assert_eq!(limits.max_storage_bytes, builtin.max_storage_bytes);
    assert_eq!(limits.max_trace_bytes, builtin.max_trace_bytes);
    // Written in full, field by field.
    let manifest: Value = serde_json::from_slice(&std::fs::read(f.out().join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["workflows"]["register"]["run_limits"]
            .as_object()
            .unwrap()
            .len(),
        7
    );
}

#[test]
fn run_limits_above_the_host_ceiling_are_refused_naming_the_field() {
    let ceiling = sealed_snapshot::RunLimits::CEILING;
    let mut f = Fixture::new();
    f.source["workflows"]["register"]["run_limits"] = json!({ "max_payload_bytes": ceiling.max_payload_bytes + 1 });
    let e = f.source_error();
    assert_has(
        &e,
        &[
            "workflow `register`",
            "run_limits.max_payload_bytes",
            &format!("{}", ceiling.max_payload_bytes + 1),
            "host ceiling",
        ],
    );
    assert!(!f.out().exists(), "nothing is written");

    let mut f = Fixture::new();
    f.source["defaults"]["run_limits"] = json!({ "compile_ms": ceiling.compile_ms * 2 });
    assert_has(&f.source_error(), &["defaults", "run_limits.compile_ms"]);
}

#[test]
fn run_limits_of_zero_are_refused_where_no_run_could_meet_them() {
    let mut f = Fixture::new();
    f.source["workflows"]["register"]["run_limits"] = json!({ "max_trace_bytes": 0 });
    assert_has(&f.source_error(), &["run_limits.max_trace_bytes is 0"]);
    // No storage at all is a meaningful budget.
    let mut f = Fixture::new();
    f.source["workflows"]["register"]["run_limits"] = json!({ "max_storage_calls": 0, "max_storage_bytes": 0 });
    f.seal().unwrap();
}

#[test]
fn unknown_run_limit_field_is_refused() {
    let mut f = Fixture::new();
    f.source["workflows"]["register"]["run_limits"] = json!({ "max_storage_cals": 1 });
    assert_has(&f.source_error(), &["unknown field `max_storage_cals`"]);
}

#[test]
fn component_over_the_size_budget_is_refused_at_seal() {
    let mut f = Fixture::new();
    f.source["workflows"]["register"]["run_limits"] = json!({ "max_component_bytes": 10 });
    assert_has(
        &f.source_error(),
        &[
            "run_limits.max_component_bytes = 10",
            "workflow `register`, node `make_id`",
        ],
    );
}

#[test]
fn manifest_with_run_limits_above_the_ceiling_is_refused_at_load() {
    let f = Fixture::new();
    f.seal().unwrap();
    let path = f.out().join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["workflows"]["register"]["run_limits"]["max_storage_bytes"] = json!(1u64 << 40);
    let bytes = to_vec(&manifest).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    std::fs::write(
        f.out().join("snapshot.digest"),
        format!("sha256:{}\n", sha256_hex(&bytes)),
    )
    .unwrap();
    match load_verified(&f.out()) {
        Err(SnapshotError::Closure(v)) => assert_has(&v.join("; "), &["run_limits.max_storage_bytes", "ceiling"]),
        other => panic!("expected a closure violation, got {other:?}"),
    }
}

/// The snapshots committed under `snapshots/*/sealed` load byte for byte (same digest) and run with the
/// default run limits; and a manifest sealed before `run_limits` existed (each committed one with the
/// field taken out: they were re-sealed for contract 0.1.1, which now writes it) still loads, with the
/// defaults.
#[test]
fn committed_snapshots_load_and_manifests_without_run_limits_get_the_defaults() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../snapshots");
    let mut seen = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let sealed = entry.unwrap().path().join("sealed");
        if !sealed.is_dir() {
            continue;
        }
        let snap = load_verified(&sealed).unwrap();
        let recorded = std::fs::read_to_string(sealed.join("snapshot.digest")).unwrap();
        assert_eq!(recorded.trim(), format!("sha256:{}", snap.digest()));
        for wf in snap.manifest().workflows.values() {
            assert_eq!(wf.run_limits(), sealed_snapshot::RunLimits::default());
        }

        let old = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(old.path().join("components")).unwrap();
        for c in std::fs::read_dir(sealed.join("components")).unwrap() {
            let c = c.unwrap().path();
            std::fs::copy(&c, old.path().join("components").join(c.file_name().unwrap())).unwrap();
        }
        let mut manifest: Value =
            serde_json::from_slice(&std::fs::read(sealed.join("manifest.json")).unwrap()).unwrap();
        for wf in manifest["workflows"].as_object_mut().unwrap().values_mut() {
            wf.as_object_mut().unwrap().remove("run_limits");
        }
        let bytes = to_vec(&manifest).unwrap();
        std::fs::write(old.path().join("manifest.json"), &bytes).unwrap();
        std::fs::write(
            old.path().join("snapshot.digest"),
            format!("sha256:{}\n", sha256_hex(&bytes)),
        )
        .unwrap();
        let snap = load_verified(old.path()).unwrap();
        for wf in snap.manifest().workflows.values() {
            assert_eq!(wf.run_limits, None, "{}", sealed.display());
            assert_eq!(wf.run_limits(), sealed_snapshot::RunLimits::default());
        }
        seen += 1;
    }
    assert!(seen >= 2, "no committed snapshots under {}", root.display());
}

/// Contract 0.1.1 only added functions to 0.1.0: a component of either version seals (the fixture's
/// fakes are 0.1.0 components; this one is 0.1.1, exporting `node@0.1.1`), and a 0.2.0 name, another
/// contract, is refused.
#[test]
fn rule6_contract_versions_0_1_0_and_0_1_1_are_both_accepted_and_0_2_0_is_not() {
    let mut f = Fixture::new();
    let bytes = serde_json::to_vec(&json!({
        "tag": "registry-insert-0.1.1",
        "imports": ["sealed:capability/types@0.1.1", "sealed:capability/registry@0.1.1"],
        "exports": ["sealed:capability/node@0.1.1"]
    }))
    .unwrap();
    f.source["components"]["registry-insert"]["sha256"] = json!(sha256_hex(&bytes));
    f.wasm[1].1 = bytes;
    f.seal().unwrap();

    let mut f = Fixture::new();
    let bytes = fake_component("registry-insert", &["sealed:capability/registry@0.2.0"]);
    f.source["components"]["registry-insert"]["sha256"] = json!(sha256_hex(&bytes));
    f.wasm[1].1 = bytes;
    let m = f.one_violation();
    assert_has(&m, &["imports [\"sealed:capability/registry@0.2.0\"]"]);
}

/// Grants may name the ops of contract 0.1.1 (`registry.remove`, `state.list`), and only on their own
/// interface.
#[test]
fn rule7_grants_may_name_remove_and_list() {
    let mut f = Fixture::new();
    f.node("register")["grants"][0]["ops"] = json!(["insert", "remove"]);
    f.seal().unwrap();

    let mut f = Fixture::new();
    f.node("register")["grants"][0]["ops"] = json!(["insert", "list"]);
    let m = f.one_violation();
    assert_has(
        &m,
        &[
            "names op `list`, which `registry` does not have",
            "insert, get, exists, remove",
        ],
    );
}
