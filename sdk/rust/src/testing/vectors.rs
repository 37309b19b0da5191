//! Runs a capability's conformance vectors (`capabilities/<name>/vectors.json`) against its Rust function.
//!
//! The file format is defined in `capabilities/README.md`. The host runs the same files against the built
//! components (`tests/e2e/conformance.rs`), so this module parses them as strictly as the host does (unknown
//! fields are errors; storage requests and grants use the host's JSON forms, bytes as standard base64):
//! a vector that passes here but that the host cannot read would be a silent gap.
//!
//! Besides the expectations of each vector it checks the file against the crate's
//! `[package.metadata.sealed]`: the component name, every vector's outcome is declared, every declared
//! outcome is exercised, and there are at least [`MIN_VECTORS`] vectors including an error case.
//!
//! Native only (it reads files); not a stable API. Usage, in a capability crate's tests:
//!
//! ```ignore
//! sealed_sdk::testing::vectors::check_transform(env!("CARGO_MANIFEST_DIR"), run);
//! sealed_sdk::testing::vectors::check_side_effect(env!("CARGO_MANIFEST_DIR"), run::<VectorStorage>);
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;

use super::MemoryStorage;
use crate::storage::{Event, InsertOutcome, Storage, StorageError, Versioned};
use crate::{Error, Outcome, Value, json};

/// Fewest vectors a component may ship.
pub const MIN_VECTORS: usize = 4;

/// A whole `vectors.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    pub component: String,
    pub vectors: Vec<Vector>,
}

/// One input with its expected result.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vector {
    pub name: String,
    pub input: Value,
    /// Write requests applied, in order, to an empty store before the run. Each must succeed.
    #[serde(default)]
    pub setup: Vec<Request>,
    /// The node's grants. Absent: whatever the component uses is granted.
    #[serde(default)]
    pub grants: Option<Vec<Grant>>,
    pub expect: Expect,
    /// Read requests made after the run, with the response each must get.
    #[serde(default)]
    pub expect_storage: Vec<StorageCheck>,
}

/// What the run must return.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Expect {
    Outcome(ExpectOutcome),
    Error(ExpectError),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectOutcome {
    pub outcome: String,
    pub output: Value,
}

/// `invalid-input` or `internal` (the WIT `run-error` cases), or an engine error code. Natively only the
/// code `NOT_GRANTED` can be checked (a storage call was refused for want of a grant, which fails the run
/// whatever the component then returns); fuel, memory and size limits are the engine's own business and
/// belong in the host's tests, not in a component's vectors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectError {
    pub error: String,
}

/// The JSON form of `sealed_snapshot::Grant`: `{"interface": "registry", "label": "actors", "ops":
/// ["insert"]}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub interface: String,
    pub label: String,
    pub ops: Vec<String>,
}

/// A read after the run and the expected response, in the JSON form of
/// `sealed_capability::StorageResponse` (for example `{"value": "<base64>"}`, `{"state": null}`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageCheck {
    pub request: Request,
    pub response: Value,
}

/// The JSON form of `sealed_capability::StorageRequest` (mirrored, not imported: the SDK must not depend
/// on the host). Byte fields are standard base64 with padding.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "op", deny_unknown_fields)]
pub enum Request {
    #[serde(rename = "registry.insert")]
    RegistryInsert {
        label: String,
        key: String,
        #[serde(deserialize_with = "base64_bytes")]
        value: Vec<u8>,
    },
    #[serde(rename = "registry.get")]
    RegistryGet { label: String, key: String },
    #[serde(rename = "registry.exists")]
    RegistryExists { label: String, key: String },
    #[serde(rename = "registry.remove")]
    RegistryRemove { label: String, key: String },
    #[serde(rename = "events.append")]
    EventsAppend {
        label: String,
        key: String,
        #[serde(deserialize_with = "base64_bytes")]
        payload: Vec<u8>,
    },
    #[serde(rename = "events.read")]
    EventsRead {
        label: String,
        key: String,
        from_seq: u64,
        max_count: u32,
    },
    #[serde(rename = "state.load")]
    StateLoad { label: String, key: String },
    #[serde(rename = "state.store")]
    StateStoreIfVersion {
        label: String,
        key: String,
        expected_version: u64,
        #[serde(deserialize_with = "base64_bytes")]
        value: Vec<u8>,
    },
    #[serde(rename = "state.list")]
    StateList {
        label: String,
        #[serde(default)]
        start_after: Option<String>,
        max_count: u32,
    },
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

fn base64_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    STANDARD.decode(text.as_bytes()).map_err(serde::de::Error::custom)
}

impl Request {
    fn is_write(&self) -> bool {
        matches!(
            self,
            Self::RegistryInsert { .. }
                | Self::RegistryRemove { .. }
                | Self::EventsAppend { .. }
                | Self::StateStoreIfVersion { .. }
        )
    }

    /// Executes the request and renders the result in the JSON form of `StorageResponse`.
    fn execute(&self, s: &mut MemoryStorage) -> Result<Value, StorageError> {
        let b64 = |b: &[u8]| STANDARD.encode(b);
        Ok(match self {
            Self::RegistryInsert { label, key, value } => {
                let o = s.registry_insert(label, key, value)?;
                json!({ "insert": if o == InsertOutcome::Inserted { "inserted" } else { "already_exists" } })
            }
            Self::RegistryGet { label, key } => json!({ "value": s.registry_get(label, key)?.map(|v| b64(&v)) }),
            Self::RegistryExists { label, key } => json!({ "exists": s.registry_exists(label, key)? }),
            Self::RegistryRemove { label, key } => {
                // The host answers with the digest of the bytes unbound: computed the same way here.
                let before = s.registry.get(&(label.clone(), key.clone())).cloned();
                s.registry_remove(label, key)?;
                json!({ "removed": before.map(|v| sha256_hex(&v)) })
            }
            Self::StateList {
                label,
                start_after,
                max_count,
            } => json!({ "keys": s.state_list_keys(label, start_after.as_deref(), *max_count)? }),
            Self::EventsAppend { label, key, payload } => json!({ "seq": s.events_append(label, key, payload)? }),
            Self::EventsRead {
                label,
                key,
                from_seq,
                max_count,
            } => {
                let events = s.events_read(label, key, *from_seq, *max_count)?;
                let events: Vec<Value> = events
                    .iter()
                    .map(|e| json!({ "seq": e.seq, "payload": b64(&e.payload) }))
                    .collect();
                json!({ "events": events })
            }
            Self::StateLoad { label, key } => json!({
                "state": s.state_load(label, key)?.map(|v| json!({ "version": v.version, "value": b64(&v.value) }))
            }),
            Self::StateStoreIfVersion {
                label,
                key,
                expected_version,
                value,
            } => {
                json!({ "version": s.state_store_if_version(label, key, *expected_version, value)? })
            }
        })
    }
}

/// Loads `<manifest_dir>/vectors.json`, checks it against `<manifest_dir>/Cargo.toml` and runs every
/// vector of a transform. Panics with every failure listed. Call with `env!("CARGO_MANIFEST_DIR")`.
pub fn check_transform(manifest_dir: &str, run: impl Fn(Value) -> Result<Outcome, Error>) {
    check(manifest_dir, false, |input, _| run(input));
}

/// Like [`check_transform`], for a side effect (pass `run::<VectorStorage>`): each vector runs on a fresh
/// in-memory store with its `setup` applied and its `grants` enforced, and its `expect_storage` reads are
/// checked afterwards.
pub fn check_side_effect(manifest_dir: &str, run: impl Fn(Value, &mut VectorStorage) -> Result<Outcome, Error>) {
    check(manifest_dir, true, run);
}

fn check(manifest_dir: &str, storage: bool, run: impl Fn(Value, &mut VectorStorage) -> Result<Outcome, Error>) {
    let dir = Path::new(manifest_dir);
    let text = std::fs::read_to_string(dir.join("vectors.json"))
        .unwrap_or_else(|e| panic!("reading {}/vectors.json: {e}", dir.display()));
    let file: VectorFile =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}/vectors.json: {e}", dir.display()));
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml"))
        .unwrap_or_else(|e| panic!("reading {}/Cargo.toml: {e}", dir.display()));
    let meta = Metadata::parse(&manifest);

    let mut failures = Vec::new();
    let mut fail = |msg: String| failures.push(msg);
    if file.component != meta.component {
        fail(format!(
            "`component` is {:?}, the crate builds component {:?}",
            file.component, meta.component
        ));
    }
    if file.vectors.len() < MIN_VECTORS {
        fail(format!(
            "{} vectors; at least {MIN_VECTORS} are required",
            file.vectors.len()
        ));
    }
    if !file.vectors.iter().any(|v| matches!(v.expect, Expect::Error(_))) {
        fail("no vector expects an error".into());
    }
    let mut names = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for v in &file.vectors {
        if !names.insert(v.name.as_str()) {
            fail(format!("duplicate vector name {:?}", v.name));
        }
        if let Expect::Outcome(e) = &v.expect {
            seen.insert(e.outcome.clone());
            if !meta.outcomes.contains(&e.outcome) {
                fail(format!(
                    "{:?}: outcome {:?} is not declared in Cargo.toml",
                    v.name, e.outcome
                ));
            }
        }
        if let Err(msg) = check_one(v, storage, &run) {
            fail(format!("{:?}: {msg}", v.name));
        }
    }
    for o in meta.outcomes.difference(&seen) {
        fail(format!("declared outcome {o:?} is exercised by no vector"));
    }
    if !failures.is_empty() {
        panic!(
            "{}/vectors.json: {} failure(s):\n  {}",
            dir.display(),
            failures.len(),
            failures.join("\n  ")
        );
    }
}

fn check_one(
    v: &Vector,
    storage: bool,
    run: &impl Fn(Value, &mut VectorStorage) -> Result<Outcome, Error>,
) -> Result<(), String> {
    if !storage && (!v.setup.is_empty() || v.grants.is_some() || !v.expect_storage.is_empty()) {
        return Err("a transform has no storage: `setup`, `grants` and `expect_storage` must be absent".into());
    }
    if !v.input.is_object() {
        return Err("`input` must be a JSON object (a node's input always is)".into());
    }
    if let Expect::Error(e) = &v.expect
        && !matches!(e.error.as_str(), "invalid-input" | "internal" | "NOT_GRANTED")
    {
        return Err(format!(
            "error {:?} is the engine's to decide and cannot be checked natively",
            e.error
        ));
    }
    let grants = v.grants.as_deref().map(parse_grants).transpose()?;
    let mut store = VectorStorage {
        inner: MemoryStorage::new(),
        grants,
        refused: false,
    };
    for (i, req) in v.setup.iter().enumerate() {
        if !req.is_write() {
            return Err(format!("setup[{i}] is a read; setup holds only writes"));
        }
        req.execute(&mut store.inner)
            .map_err(|e| format!("setup[{i}] failed: {e:?}"))?;
    }

    let result = run(v.input.clone(), &mut store);
    // As in the engine, a refused call fails the run whatever the component made of the refusal.
    let (pass, got) = match (&v.expect, &result) {
        _ if store.refused => {
            let pass = matches!(&v.expect, Expect::Error(e) if e.error == "NOT_GRANTED");
            (pass, "error NOT_GRANTED".to_string())
        }
        (_, Ok(o)) => {
            let pass = matches!(&v.expect, Expect::Outcome(e) if e.outcome == o.name && e.output == o.output);
            (pass, format!("{} {}", o.name, o.output))
        }
        (Expect::Error(e), Err(err)) => {
            let kind = match err {
                Error::InvalidInput(_) => "invalid-input",
                Error::Internal(_) => "internal",
            };
            (e.error == kind, format!("error {err}"))
        }
        (Expect::Outcome(_), Err(err)) => (false, format!("error {err}")),
    };
    if !pass {
        let want = match &v.expect {
            Expect::Outcome(o) => format!("{} {}", o.outcome, o.output),
            Expect::Error(e) => format!("error {}", e.error),
        };
        return Err(format!("expected {want}, got {got}"));
    }

    for (i, check) in v.expect_storage.iter().enumerate() {
        if check.request.is_write() {
            return Err(format!("expect_storage[{i}] is a write; it holds only reads"));
        }
        let got = check
            .request
            .execute(&mut store.inner)
            .map_err(|e| format!("expect_storage[{i}] failed: {e:?}"))?;
        if got != check.response {
            return Err(format!("expect_storage[{i}]: expected {}, got {got}", check.response));
        }
    }
    Ok(())
}

/// A vector's grants as (interface, label, op) triples, checked against the interfaces of the WIT.
fn parse_grants(list: &[Grant]) -> Result<BTreeSet<(String, String, String)>, String> {
    let mut set = BTreeSet::new();
    for g in list {
        let ops: &[&str] = match g.interface.as_str() {
            "registry" => &["insert", "get", "exists", "remove"],
            "events" => &["append", "read"],
            "state" => &["load", "store", "list"],
            other => return Err(format!("a grant names the unknown interface {other:?}")),
        };
        for op in &g.ops {
            if !ops.contains(&op.as_str()) {
                return Err(format!("a grant names op {op:?}, which {} does not have", g.interface));
            }
            set.insert((g.interface.clone(), g.label.clone(), op.clone()));
        }
    }
    Ok(set)
}

/// The storage a side effect sees in a vector: [`MemoryStorage`] behind the vector's grants. As the
/// host's gate does, an ungranted call is refused with `not-granted`, and the refusal is remembered.
#[derive(Debug)]
pub struct VectorStorage {
    inner: MemoryStorage,
    /// `None`: everything is granted.
    grants: Option<BTreeSet<(String, String, String)>>,
    refused: bool,
}

impl VectorStorage {
    fn gate(&mut self, interface: &str, label: &str, op: &str) -> Result<(), StorageError> {
        let Some(grants) = &self.grants else { return Ok(()) };
        if grants.contains(&(interface.to_string(), label.to_string(), op.to_string())) {
            return Ok(());
        }
        self.refused = true;
        Err(StorageError::NotGranted(format!("{interface}.{op} on label {label:?}")))
    }
}

impl Storage for VectorStorage {
    fn registry_insert(&mut self, label: &str, key: &str, value: &[u8]) -> Result<InsertOutcome, StorageError> {
        self.gate("registry", label, "insert")?;
        self.inner.registry_insert(label, key, value)
    }
    fn registry_get(&mut self, label: &str, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.gate("registry", label, "get")?;
        self.inner.registry_get(label, key)
    }
    fn registry_exists(&mut self, label: &str, key: &str) -> Result<bool, StorageError> {
        self.gate("registry", label, "exists")?;
        self.inner.registry_exists(label, key)
    }
    fn registry_remove(&mut self, label: &str, key: &str) -> Result<bool, StorageError> {
        self.gate("registry", label, "remove")?;
        self.inner.registry_remove(label, key)
    }
    fn state_list_keys(
        &mut self,
        label: &str,
        start_after: Option<&str>,
        max_count: u32,
    ) -> Result<Vec<String>, StorageError> {
        self.gate("state", label, "list")?;
        self.inner.state_list_keys(label, start_after, max_count)
    }
    fn events_append(&mut self, label: &str, key: &str, payload: &[u8]) -> Result<u64, StorageError> {
        self.gate("events", label, "append")?;
        self.inner.events_append(label, key, payload)
    }
    fn events_read(
        &mut self,
        label: &str,
        key: &str,
        from_seq: u64,
        max_count: u32,
    ) -> Result<Vec<Event>, StorageError> {
        self.gate("events", label, "read")?;
        self.inner.events_read(label, key, from_seq, max_count)
    }
    fn state_load(&mut self, label: &str, key: &str) -> Result<Option<Versioned>, StorageError> {
        self.gate("state", label, "load")?;
        self.inner.state_load(label, key)
    }
    fn state_store_if_version(
        &mut self,
        label: &str,
        key: &str,
        expected_version: u64,
        value: &[u8],
    ) -> Result<u64, StorageError> {
        self.gate("state", label, "store")?;
        self.inner.state_store_if_version(label, key, expected_version, value)
    }
}

/// The parts of `Cargo.toml` the checks need. A deliberately tiny line reader (the SDK has no TOML
/// parser): `name = "cap-…"` under `[package]` and a one-line `outcomes = [...]` under
/// `[package.metadata.sealed]`, which is how every component crate writes them.
struct Metadata {
    component: String,
    outcomes: BTreeSet<String>,
}

impl Metadata {
    fn parse(manifest: &str) -> Self {
        let (mut section, mut name, mut outcomes) = ("", None, None);
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line;
            } else if let Some((k, v)) = line.split_once('=') {
                match (section, k.trim()) {
                    ("[package]", "name") => name = Some(v.trim().trim_matches('"').to_string()),
                    ("[package.metadata.sealed]", "outcomes") => {
                        let list = v.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']'));
                        let list = list.unwrap_or_else(|| panic!("Cargo.toml: `outcomes` must be a one-line array"));
                        outcomes = Some(
                            list.split(',')
                                .map(|s| s.trim().trim_matches('"').to_string())
                                .filter(|s| !s.is_empty())
                                .collect(),
                        );
                    }
                    _ => {}
                }
            }
        }
        let name = name.unwrap_or_else(|| panic!("Cargo.toml: no [package] name"));
        Self {
            component: name.strip_prefix("cap-").unwrap_or(&name).to_string(),
            outcomes: outcomes.unwrap_or_else(|| panic!("Cargo.toml: no [package.metadata.sealed] outcomes")),
        }
    }
}
