//! The lowering: PGS workflows (WF, CC, CT, CS, IN, RB, STRUCTURE artifacts) → one `sealed-source/v1`.
//!
//! Pure: it reads artifacts through [`Workspace`] and the maps it is given, and returns a [`Source`]; the
//! same inputs always give the same source (every map is ordered, nothing depends on the clock, the
//! environment or iteration order of a hash map). Every rule is documented in `docs/PGS.md` ("How `host
//! import pgs` lowers a workflow"); a construct without a rule is refused with [`ImportError`], never
//! dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use sealed_snapshot::manifest::{Grant, Terminal, World};
use sealed_snapshot::source::{
    Defaults, Source, SourceBinding, SourceComponent, SourceNode, SourceTask, SourceWorkflow,
};

use super::{ImportError, Maps, Workspace};

/// A built component as the importer sees it.
#[derive(Debug, Clone)]
pub struct CatalogEntry {
    pub world: String,
    pub outcomes: Vec<String>,
    /// The `wasm` path written into the source.
    pub wasm: String,
    /// The file, to pin (none in tests of the lowering alone).
    pub file: Option<PathBuf>,
    pub sha256: String,
}

pub type Catalog = BTreeMap<String, CatalogEntry>;

#[derive(Debug, Clone, Default)]
pub struct LowerOptions {
    /// The PGS domain (`blockchain`, `ai_governance`); the source is named `pgs-<domain>`.
    pub domain: String,
    /// JSONPath of the payload value clock-reading atoms get as `current_date` (`--now`).
    pub now: Option<String>,
    /// Store entities (e.g. `LICENSE_FACTS`) to add a seeding workflow `SEED_<ENTITY>` for (`--seed`).
    pub seeds: Vec<String>,
}

/// The component that builds nested inputs from pointer-named leaves.
const ASSEMBLE: &str = "pgs-assemble";
/// The component that evaluates a condition with Python semantics (TRUE / FALSE).
const EVALUATE: &str = "pgs-evaluate";
/// Terminal for an outcome a CS op's contract says it never returns (routed only because the component
/// declares it for another op).
const OP_CONTRACT_BROKEN: &str = "OP_CONTRACT_BROKEN";
/// Outcomes that end a run as a failure when they reach an EXIT the workflow did not declare `FAILED`.
const FAILING: &[&str] = &["VIOLATION", "BACKEND_ERROR", "NOT_FOUND", "PARTIAL_FAILURE"];
/// Atoms that read the clock or randomness in PGS: the input that makes them deterministic here.
const NONDETERMINISTIC: &[(&str, &str, &str)] = &[
    (
        "capability_transforms::CT_PURE_EVALUATE_INACTIVITY_V0",
        "current_date",
        "reads the wall clock (datetime.now) when `current_date` is not bound; bind it, or import with --now <payload JSONPath>",
    ),
    (
        "capability_transforms::CT_PURE_GENERATE_ENTROPY_V0",
        "entropy_seed",
        "draws os.urandom; sealed has no randomness: bind `entropy_seed` to a payload value",
    ),
];
/// CS FQDNs refused with the construct named.
const REFUSED_CS: &[(&str, &str)] = &[
    (
        "capability_side_effects::CS_WORKFLOW_LOOP_V0",
        "loop workflow (CS_WORKFLOW_LOOP_V0 runs nested workflows per item): nested workflows are not expressible",
    ),
    (
        "capability_side_effects::CS_WORKFLOW_GATEWAY_V0",
        "nested workflow (CS_WORKFLOW_GATEWAY_V0 runs another workflow): nested workflows are not expressible",
    ),
    (
        "capability_side_effects::CS_CONCURRENT_WORKFLOWS_V0",
        "concurrent workflows (CS_CONCURRENT_WORKFLOWS_V0 runs workflows in threads): not expressible",
    ),
    (
        "capability_side_effects::CS_SEND_EMAIL_V0",
        "SEND_EMAIL (CS_SEND_EMAIL_V0 uses ambient SMTP credentials and fails open): no e-mail capability",
    ),
    (
        "capability_side_effects::CS_NAME_REGISTRY_V0",
        "the platform name service (CS_NAME_REGISTRY_V0): not expressible",
    ),
];

/// A value being built: a constant, a JSONPath, or an object/array with paths inside.
#[derive(Debug, Clone, PartialEq)]
enum Tmpl {
    Const(Value),
    Path(String),
    Obj(BTreeMap<String, Tmpl>),
}

impl Tmpl {
    /// Objects whose members are all constants become one constant.
    fn normalise(self) -> Tmpl {
        match self {
            Tmpl::Obj(m) => {
                let m: BTreeMap<String, Tmpl> = m.into_iter().map(|(k, v)| (k, v.normalise())).collect();
                if m.values().all(|v| matches!(v, Tmpl::Const(_))) {
                    let obj: Map<String, Value> = m
                        .into_iter()
                        .map(|(k, v)| match v {
                            Tmpl::Const(c) => (k, c),
                            _ => (k, Value::Null),
                        })
                        .collect();
                    Tmpl::Const(Value::Object(obj))
                } else {
                    Tmpl::Obj(m)
                }
            }
            other => other,
        }
    }
}

/// One JSONPath segment in RFC 9535 form: `.name` when it is a member-name shorthand, else `['…']`.
fn segment(seg: &str) -> String {
    let mut chars = seg.chars();
    let shorthand = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && seg.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if shorthand {
        format!(".{seg}")
    } else {
        format!("['{}']", seg.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

fn join_path(base: &str, rest: &[&str]) -> String {
    let mut p = base.to_string();
    for s in rest {
        p.push_str(&segment(s));
    }
    p
}

/// JSON pointer of a list of member names.
fn pointer(segs: &[String]) -> String {
    segs.iter()
        .map(|s| format!("/{}", s.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn obj<'a>(v: &'a Value, key: &str) -> Option<&'a Map<String, Value>> {
    v.get(key).and_then(Value::as_object)
}

/// A CC as lowered inside one workflow node.
struct CcCtx {
    /// The WF node key (several keys may share one CC).
    key: String,
    fqdn: String,
    core: Value,
    /// The WF node's bindings of the CC inputs.
    bindings: Map<String, Value>,
}

impl CcCtx {
    fn steps(&self) -> &[Value] {
        self.core
            .get("pipeline")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    fn step_index(&self, name: &str) -> Option<usize> {
        self.steps()
            .iter()
            .position(|s| s.get("step").and_then(Value::as_str) == Some(name))
    }

    fn node_of(&self, step: &str) -> String {
        format!("{}__{}", self.key, step)
    }
}

struct Lowering<'a> {
    ws: &'a Workspace,
    maps: &'a Maps,
    catalog: &'a Catalog,
    opts: &'a LowerOptions,
    wf_fqdn: String,
    wf_nodes: Map<String, Value>,
    nodes: BTreeMap<String, SourceNode>,
    used: BTreeSet<String>,
    /// Member-name paths under `$.payload` that a required binding reads (for admission).
    payload_paths: BTreeSet<Vec<String>>,
    /// CC artifacts by FQDN (read once).
    ccs: BTreeMap<String, Value>,
    /// RB bindings (CS FQDN → policy), for the label of a CS step without `store:`.
    rb: Map<String, Value>,
}

/// Lowers `workflows` (FQDNs) of one domain into one source named `pgs-<domain>`.
pub fn lower(
    ws: &Workspace,
    maps: &Maps,
    catalog: &Catalog,
    workflows: &[String],
    opts: &LowerOptions,
) -> Result<Source, ImportError> {
    if workflows.is_empty() {
        return Err(ImportError::invalid(&opts.domain, "no workflow to import"));
    }
    let mut out = BTreeMap::new();
    let mut used = BTreeSet::new();
    for fqdn in workflows {
        // Every refusal names the workflow too, when the artifact at fault is one of its CCs.
        let (name, wf, u) = lower_workflow(ws, maps, catalog, fqdn, opts).map_err(|e| match e {
            ImportError::Unsupported { artifact, construct } if artifact != *fqdn => ImportError::Unsupported {
                artifact: format!("{fqdn} > {artifact}"),
                construct,
            },
            ImportError::Invalid { artifact, problem } if artifact != *fqdn => ImportError::Invalid {
                artifact: format!("{fqdn} > {artifact}"),
                problem,
            },
            other => other,
        })?;
        used.extend(u);
        out.insert(name, wf);
    }
    for entity in &opts.seeds {
        let (name, wf, u) = seed_workflow(maps, catalog, entity)?;
        used.extend(u);
        out.insert(name, wf);
    }
    let mut components = BTreeMap::new();
    for name in used {
        let e = catalog
            .get(&name)
            .ok_or_else(|| ImportError::invalid(&name, "component not built (run `cargo xtask build-components`)"))?;
        let world = match e.world.as_str() {
            "transform" => World::Transform,
            "side-effect" => World::SideEffect,
            other => return Err(ImportError::invalid(&name, format!("unknown world {other:?}"))),
        };
        components.insert(
            name.clone(),
            SourceComponent {
                wasm: e.wasm.clone(),
                sha256: e.sha256.clone(),
                world,
                outcomes: e.outcomes.clone(),
            },
        );
    }
    Ok(Source {
        format: sealed_snapshot::source::SOURCE_FORMAT_V1.to_string(),
        name: format!("pgs-{}", opts.domain.replace('_', "-")),
        defaults: Defaults::default(),
        components,
        workflows: out,
    })
}

fn lower_workflow(
    ws: &Workspace,
    maps: &Maps,
    catalog: &Catalog,
    fqdn: &str,
    opts: &LowerOptions,
) -> Result<(String, SourceWorkflow, BTreeSet<String>), ImportError> {
    let (ns, code) = fqdn
        .split_once("::")
        .ok_or_else(|| ImportError::invalid(fqdn, "not an FQDN (`<namespace>::<CODE>`)"))?;
    if ns.contains("name_service") {
        return Err(ImportError::unsupported(
            fqdn,
            "the platform name service: not expressible",
        ));
    }
    if ns != opts.domain {
        return Err(ImportError::invalid(
            fqdn,
            format!("not a workflow of domain {:?}", opts.domain),
        ));
    }
    let art = ws.artifact(fqdn)?;
    let fm = art.get("frontmatter").cloned().unwrap_or(Value::Null);
    let core = fm.get("core").cloned().unwrap_or(Value::Null);
    let wf_nodes = obj(&core, "nodes")
        .cloned()
        .ok_or_else(|| ImportError::invalid(fqdn, "workflow has no `core.nodes`"))?;
    let start = core
        .get("start_node")
        .and_then(Value::as_str)
        .ok_or_else(|| ImportError::invalid(fqdn, "workflow has no `core.start_node`"))?
        .to_string();
    let rb = match fm.get("runtime_binding").and_then(Value::as_str) {
        Some(rb) => {
            let a = ws.artifact(rb)?;
            a.pointer("/frontmatter/core/bindings")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        }
        None => Map::new(),
    };
    let mut l = Lowering {
        ws,
        maps,
        catalog,
        opts,
        wf_fqdn: fqdn.to_string(),
        wf_nodes,
        nodes: BTreeMap::new(),
        used: BTreeSet::new(),
        payload_paths: BTreeSet::new(),
        ccs: BTreeMap::new(),
        rb,
    };
    // Refuse constructs before lowering anything, in node order, so the first message is stable.
    for (key, n) in l.wf_nodes.clone() {
        match n.get("type").and_then(Value::as_str) {
            Some("IN" | "CC" | "EXIT") => {}
            Some("TI") => {
                return Err(ImportError::unsupported(
                    fqdn,
                    format!("node {key}: transport ingress (TI)"),
                ));
            }
            other => {
                return Err(ImportError::invalid(
                    fqdn,
                    format!("node {key}: unknown node type {other:?}"),
                ));
            }
        }
        if let Some(next) = n.get("next").and_then(Value::as_object)
            && next.contains_key("default")
        {
            return Err(ImportError::unsupported(
                fqdn,
                format!("node {key}: `default` routing (an untyped edge) is not expressible"),
            ));
        }
    }
    // Constructs refused whatever else the workflow holds (nested, concurrent, e-mail, name service) are
    // looked for first, so the refusal names them rather than some other gap met on the way.
    for (key, n) in l.wf_nodes.clone() {
        if n.get("type").and_then(Value::as_str) != Some("CC") {
            continue;
        }
        let Some(cc) = n.get("fqdn_id").and_then(Value::as_str) else {
            continue;
        };
        let core = l.cc(cc)?;
        for step in core.get("pipeline").and_then(Value::as_array).into_iter().flatten() {
            let cs = step.get("side_effect").and_then(Value::as_str).unwrap_or_default();
            if let Some((_, why)) = REFUSED_CS.iter().find(|(f, _)| *f == cs) {
                let name = step.get("step").and_then(Value::as_str).unwrap_or_default();
                return Err(ImportError::unsupported(cc, format!("node {key}, step {name}: {why}")));
            }
        }
    }
    let start_node = l.wf_node(&start)?;
    let (entry, admission_in) = if start_node.get("type").and_then(Value::as_str) == Some("IN") {
        let ack = start_node
            .pointer("/next/ACK")
            .and_then(Value::as_str)
            .ok_or_else(|| ImportError::invalid(fqdn, format!("IN node {start} has no ACK edge")))?
            .to_string();
        let in_fqdn = start_node.get("fqdn_id").and_then(Value::as_str).map(String::from);
        (ack, in_fqdn)
    } else {
        (start.clone(), None)
    };
    let entry = l.goto_wf(&entry, "ACK")?;
    let mut admission = match &admission_in {
        Some(in_fqdn) => {
            let a = ws.artifact(in_fqdn)?;
            let inputs = a
                .pointer("/frontmatter/core/inputs")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            fields_schema(in_fqdn, &inputs)?
        }
        None => json!({"type": "object"}),
    };
    for p in &l.payload_paths {
        require_path(&mut admission, p);
    }
    if let Value::Object(m) = &mut admission {
        m.insert("$schema".into(), json!("https://json-schema.org/draft/2020-12/schema"));
    }
    let max = u32::try_from(l.nodes.len()).unwrap_or(u32::MAX);
    let wf = SourceWorkflow {
        entry,
        admission,
        max_nodes_visited: max,
        nodes: l.nodes,
        run_limits: Default::default(),
    };
    Ok((code.to_string(), wf, l.used))
}

/// `SEED_<ENTITY>`: one `CS_MUTABLE_JSON_V0` WRITE of `{key, value}` from the payload into the entity's
/// label. PGS seeds such stores by copying files into its data directory (`seeds/license_facts.json`);
/// here seeding is a run like any other: admitted, sealed, traced and attested.
fn seed_workflow(
    maps: &Maps,
    catalog: &Catalog,
    entity: &str,
) -> Result<(String, SourceWorkflow, BTreeSet<String>), ImportError> {
    const MUTABLE: &str = "capability_side_effects::CS_MUTABLE_JSON_V0";
    let artifact = format!("--seed {entity}");
    let spec = maps.side_effects.get(MUTABLE).ok_or_else(|| {
        ImportError::unsupported(
            &artifact,
            format!("{MUTABLE} has no component (not in side_effects.json)"),
        )
    })?;
    let component = spec
        .get("component")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let write = spec.pointer("/ops/WRITE").ok_or_else(|| {
        ImportError::unsupported(&artifact, format!("{MUTABLE} op WRITE is not supported by {component}"))
    })?;
    let label = entity.to_ascii_lowercase();
    sealed_snapshot::label::check_label(&label).map_err(|e| ImportError::invalid(&artifact, e))?;
    let mut grants = Vec::new();
    for g in write.get("grants").and_then(Value::as_array).into_iter().flatten() {
        let mut g = g.clone();
        if let Value::Object(m) = &mut g {
            m.insert("label".into(), json!(label));
        }
        grants
            .push(serde_json::from_value::<Grant>(g).map_err(|e| {
                ImportError::invalid(MUTABLE, format!("op WRITE: bad grant in side_effects.json: {e}"))
            })?);
    }
    let outcomes = catalog
        .get(&component)
        .map(|e| e.outcomes.clone())
        .ok_or_else(|| ImportError::invalid(&artifact, format!("component {component} is not built")))?;
    let mut nodes = BTreeMap::new();
    let mut next = BTreeMap::new();
    for o in &outcomes {
        let (name, ok) = if o == "SUCCESS" {
            ("SEEDED".to_string(), true)
        } else {
            (format!("SEED_{o}"), false)
        };
        nodes.insert(
            name.clone(),
            SourceNode::Terminal(Terminal {
                status: name.clone(),
                ok,
            }),
        );
        next.insert(o.clone(), name);
    }
    let mut args = BTreeMap::new();
    args.insert("/args/key".to_string(), SourceBinding::Short("$.payload.key".into()));
    args.insert(
        "/args/value".to_string(),
        SourceBinding::Short("$.payload.value".into()),
    );
    nodes.insert(
        "args".into(),
        SourceNode::Transform(SourceTask {
            component: ASSEMBLE.into(),
            inputs: args,
            grants: vec![],
            limits: Default::default(),
            next: BTreeMap::from([("SUCCESS".to_string(), "write".to_string())]),
        }),
    );
    nodes.insert(
        "write".into(),
        SourceNode::SideEffect(SourceTask {
            component: component.clone(),
            inputs: BTreeMap::from([
                ("op".to_string(), SourceBinding::Const { value: json!("WRITE") }),
                ("label".to_string(), SourceBinding::Const { value: json!(label) }),
                ("args".to_string(), SourceBinding::Short("$.results.args.args".into())),
            ]),
            grants,
            limits: Default::default(),
            next,
        }),
    );
    let admission = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"key": {"type": "string", "minLength": 1}, "value": {}},
        "required": ["key", "value"],
        "additionalProperties": false
    });
    let max = u32::try_from(nodes.len()).unwrap_or(u32::MAX);
    let wf = SourceWorkflow {
        entry: "args".into(),
        admission,
        max_nodes_visited: max,
        nodes,
        run_limits: Default::default(),
    };
    Ok((
        format!("SEED_{entity}"),
        wf,
        BTreeSet::from([component, ASSEMBLE.to_string()]),
    ))
}

/// IN `inputs` field specs → a JSON Schema object.
fn fields_schema(artifact: &str, fields: &Map<String, Value>) -> Result<Value, ImportError> {
    let mut props = Map::new();
    let mut required = Vec::new();
    for (name, spec) in fields {
        props.insert(name.clone(), field_schema(artifact, name, spec)?);
        if spec.get("required").and_then(Value::as_bool) == Some(true) {
            required.push(Value::String(name.clone()));
        }
    }
    let mut s = Map::new();
    s.insert("type".into(), json!("object"));
    s.insert("properties".into(), Value::Object(props));
    if !required.is_empty() {
        s.insert("required".into(), Value::Array(required));
    }
    Ok(Value::Object(s))
}

fn field_schema(artifact: &str, name: &str, spec: &Value) -> Result<Value, ImportError> {
    let mut s = Map::new();
    if let Some(t) = spec.get("type").and_then(Value::as_str) {
        let t = match t {
            "string" | "object" | "integer" | "boolean" | "array" | "number" => t,
            "any" => "",
            other => {
                return Err(ImportError::invalid(
                    artifact,
                    format!("input {name}: unknown type {other:?}"),
                ));
            }
        };
        if !t.is_empty() {
            s.insert("type".into(), json!(t));
        }
    }
    for k in [
        "enum",
        "minimum",
        "maximum",
        "items",
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
    ] {
        if let Some(v) = spec.get(k) {
            s.insert(k.into(), v.clone());
        }
    }
    if spec.get("format").and_then(Value::as_str) == Some("email") {
        // `format` only annotates in draft 2020-12; the legacy runtime checked e-mails, so assert a shape.
        s.insert("pattern".into(), json!("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$"));
    }
    if let Some(fields) = spec.get("fields").and_then(Value::as_object) {
        let sub = fields_schema(artifact, fields)?;
        if let Value::Object(m) = sub {
            s.extend(m);
        }
    }
    Ok(Value::Object(s))
}

/// Makes the member path `segs` required in `schema` (objects along the way).
fn require_path(schema: &mut Value, segs: &[String]) {
    let mut cur = schema;
    for seg in segs {
        let Value::Object(m) = cur else { return };
        match m.get("type").and_then(Value::as_str) {
            None => {
                m.insert("type".into(), json!("object"));
            }
            Some("object") => {}
            // Declared something else: the binding would fail at run time; admission keeps the IN's word.
            Some(_) => return,
        }
        let req = m.entry("required").or_insert_with(|| json!([]));
        if let Value::Array(a) = req
            && !a.iter().any(|v| v.as_str() == Some(seg))
        {
            a.push(Value::String(seg.clone()));
            a.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
        }
        let props = m.entry("properties").or_insert_with(|| json!({}));
        let Value::Object(p) = props else { return };
        cur = p.entry(seg.clone()).or_insert_with(|| json!({}));
    }
}

fn is_path(s: &str) -> bool {
    s.starts_with("$.")
}

impl Lowering<'_> {
    fn wf_node(&self, key: &str) -> Result<Value, ImportError> {
        self.wf_nodes
            .get(key)
            .cloned()
            .ok_or_else(|| ImportError::invalid(&self.wf_fqdn, format!("edge to unknown node {key:?}")))
    }

    fn cc(&mut self, fqdn: &str) -> Result<Value, ImportError> {
        if let Some(c) = self.ccs.get(fqdn) {
            return Ok(c.clone());
        }
        let a = self.ws.artifact(fqdn)?;
        let core = a
            .pointer("/frontmatter/core")
            .cloned()
            .ok_or_else(|| ImportError::invalid(fqdn, "capability contract has no `frontmatter.core`"))?;
        self.ccs.insert(fqdn.to_string(), core.clone());
        Ok(core)
    }

    fn ctx(&mut self, key: &str) -> Result<CcCtx, ImportError> {
        let n = self.wf_node(key)?;
        let fqdn = n
            .get("fqdn_id")
            .and_then(Value::as_str)
            .ok_or_else(|| ImportError::invalid(&self.wf_fqdn, format!("CC node {key} has no fqdn_id")))?
            .to_string();
        let core = self.cc(&fqdn)?;
        Ok(CcCtx {
            key: key.to_string(),
            fqdn,
            core,
            bindings: obj(&n, "inputs").cloned().unwrap_or_default(),
        })
    }

    fn add_terminal(&mut self, name: &str, status: &str, ok: bool) -> String {
        self.nodes.entry(name.to_string()).or_insert_with(|| {
            SourceNode::Terminal(Terminal {
                status: status.to_string(),
                ok,
            })
        });
        name.to_string()
    }

    /// The node a WF edge to `key` taken on `outcome` leads to (lowering the CC on first visit).
    fn goto_wf(&mut self, key: &str, outcome: &str) -> Result<String, ImportError> {
        let n = self.wf_node(key)?;
        match n.get("type").and_then(Value::as_str) {
            Some("EXIT") => {
                let failed = n.get("reason").and_then(Value::as_str) == Some("FAILED");
                if failed {
                    Ok(self.add_terminal(key, key, false))
                } else if FAILING.contains(&outcome) {
                    let name = format!("{key}_{outcome}");
                    Ok(self.add_terminal(&name, &name, false))
                } else {
                    Ok(self.add_terminal(key, key, true))
                }
            }
            Some("CC") => self.lower_cc(key),
            Some("IN") => Err(ImportError::unsupported(
                &self.wf_fqdn,
                format!("edge to IN node {key} after the start (a second admission gate)"),
            )),
            other => Err(ImportError::invalid(
                &self.wf_fqdn,
                format!("node {key}: type {other:?}"),
            )),
        }
    }

    /// Where the CC at WF node `key` goes when it ends with `status`.
    fn cc_exit(&mut self, key: &str, status: &str) -> Result<String, ImportError> {
        let n = self.wf_node(key)?;
        match n.pointer(&format!("/next/{status}")).and_then(Value::as_str) {
            Some(target) => {
                let target = target.to_string();
                self.goto_wf(&target, status)
            }
            None => {
                // The WF routes no edge for this status: PGS ends the run with the CC's status; here that
                // ending is an explicit terminal.
                let name = format!("END_{status}");
                let ok = matches!(status, "SUCCESS" | "ALREADY_EXISTS");
                Ok(self.add_terminal(&name, &name, ok))
            }
        }
    }

    /// Lowers the CC at WF node `key` (once); returns its entry node.
    fn lower_cc(&mut self, key: &str) -> Result<String, ImportError> {
        let ctx = self.ctx(key)?;
        if ctx.steps().is_empty() {
            return Err(ImportError::invalid(
                &ctx.fqdn,
                "capability contract has an empty pipeline",
            ));
        }
        // An `evaluation:` no step routes to would be dropped, as the PGS compiler drops them: refused.
        for name in obj(&ctx.core, "evaluation")
            .map(|m| m.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            let routed = ctx
                .steps()
                .iter()
                .any(|s| obj(s, "on_result").is_some_and(|r| r.values().any(|v| v.as_str() == Some(name.as_str()))));
            if !routed {
                return Err(ImportError::unsupported(
                    &ctx.fqdn,
                    format!("evaluation {name} is routed to by no step (its condition would be dropped)"),
                ));
            }
        }
        let first = self.step_entry_name(&ctx, 0);
        if self.nodes.contains_key(&first) {
            return Ok(self.entry_of(&first));
        }
        self.lower_step(&ctx, 0)
    }

    /// Name of the node that starts step `i` (its assembly node when it has one).
    fn step_entry_name(&self, ctx: &CcCtx, i: usize) -> String {
        let step = ctx.steps()[i].get("step").and_then(Value::as_str).unwrap_or_default();
        ctx.node_of(step)
    }

    /// Lowers step `i` of `ctx` and everything it routes to; returns the step's entry node.
    fn lower_step(&mut self, ctx: &CcCtx, i: usize) -> Result<String, ImportError> {
        let step = ctx.steps()[i].clone();
        let step_name = step
            .get("step")
            .and_then(Value::as_str)
            .ok_or_else(|| ImportError::invalid(&ctx.fqdn, format!("pipeline step {i} has no `step` name")))?
            .to_string();
        let node = ctx.node_of(&step_name);
        if self.nodes.contains_key(&node) || self.nodes.contains_key(&format!("{node}__in")) {
            return Ok(self.entry_of(&node));
        }
        // Reserve the name before routing (the graph is acyclic, so this only guards re-entry).
        let inputs = obj(&step, "inputs").cloned().unwrap_or_default();
        let (task, world, outcomes, op_outcomes, gate) = if let Some(ct) = step.get("transform").and_then(Value::as_str)
        {
            let (task, outcomes, gate) = self.ct_task(ctx, &step_name, &node, ct, &inputs)?;
            (task, "CT", outcomes, None, gate)
        } else if let Some(cs) = step.get("side_effect").and_then(Value::as_str) {
            let (task, outcomes, op_outcomes) = self.cs_task(ctx, &step_name, &node, cs, &step, &inputs)?;
            (task, "CS", outcomes, Some(op_outcomes), None)
        } else {
            return Err(ImportError::invalid(
                &ctx.fqdn,
                format!("step {step_name}: neither `transform` nor `side_effect`"),
            ));
        };
        // Placeholder so recursion sees the node exists.
        self.nodes.insert(
            node.clone(),
            SourceNode::Terminal(Terminal {
                status: String::new(),
                ok: false,
            }),
        );
        let on_result = obj(&step, "on_result").cloned().unwrap_or_default();
        let on_ct = obj(&step, "on_ct_result").cloned();
        let mut next = BTreeMap::new();
        for o in &outcomes {
            if let Some(allowed) = &op_outcomes
                && !allowed.contains(o)
            {
                next.insert(
                    o.clone(),
                    self.add_terminal(OP_CONTRACT_BROKEN, OP_CONTRACT_BROKEN, false),
                );
                continue;
            }
            // `on_ct_result` renames a CT's SUCCESS / VIOLATION to the CC's own statuses.
            let status = match (&on_ct, o.as_str()) {
                (Some(m), "SUCCESS") => m
                    .get("on_success")
                    .and_then(Value::as_str)
                    .unwrap_or("SUCCESS")
                    .to_string(),
                (Some(m), "VIOLATION") => m
                    .get("on_failure")
                    .and_then(Value::as_str)
                    .unwrap_or("VIOLATION")
                    .to_string(),
                _ => o.clone(),
            };
            let target = if o == "SUCCESS"
                && let Some(field) = &gate
            {
                let pass = self.act(ctx, i, &on_result, &status)?;
                let fail_status = match &on_ct {
                    Some(m) => m
                        .get("on_failure")
                        .and_then(Value::as_str)
                        .unwrap_or("VIOLATION")
                        .to_string(),
                    None => "VIOLATION".to_string(),
                };
                let fail = self.act(ctx, i, &on_result, &fail_status)?;
                let gate_node = format!("{node}__gate");
                self.used.insert(EVALUATE.to_string());
                let mut gi = BTreeMap::new();
                gi.insert(
                    "left".to_string(),
                    SourceBinding::Short(join_path(&format!("$.results{}", segment(&node)), &[field.as_str()])),
                );
                gi.insert("op".to_string(), SourceBinding::Const { value: json!("truthy") });
                self.nodes.insert(
                    gate_node.clone(),
                    SourceNode::Transform(SourceTask {
                        component: EVALUATE.to_string(),
                        inputs: gi,
                        grants: vec![],
                        limits: Default::default(),
                        next: BTreeMap::from([("TRUE".to_string(), pass), ("FALSE".to_string(), fail)]),
                    }),
                );
                gate_node
            } else {
                self.act(ctx, i, &on_result, &status)?
            };
            next.insert(o.clone(), target);
        }
        let mut task = task;
        task.next = next;
        let kind = if world == "CT" {
            SourceNode::Transform(task)
        } else {
            SourceNode::SideEffect(task)
        };
        self.nodes.insert(node.clone(), kind);
        Ok(self.entry_of(&node))
    }

    fn entry_of(&self, node: &str) -> String {
        let asm = format!("{node}__in");
        if self.nodes.contains_key(&asm) {
            asm
        } else {
            node.to_string()
        }
    }

    /// The node step `i`'s `on_result` sends `status` to.
    fn act(
        &mut self,
        ctx: &CcCtx,
        i: usize,
        on_result: &Map<String, Value>,
        status: &str,
    ) -> Result<String, ImportError> {
        let action = on_result.get(status).and_then(Value::as_str).unwrap_or("exit");
        match action {
            "exit" => self.cc_exit(&ctx.key, status),
            "continue" => {
                if i + 1 < ctx.steps().len() {
                    self.lower_step(ctx, i + 1)
                } else {
                    self.cc_exit(&ctx.key, status)
                }
            }
            name => {
                if let Some(j) = ctx.step_index(name) {
                    if j <= i {
                        return Err(ImportError::unsupported(
                            &ctx.fqdn,
                            format!("on_result {status} → step {name} goes backwards (a loop)"),
                        ));
                    }
                    // The authored intent: go to the named step (pgs_runtime 0.6.0 does; the legacy
                    // runtime exited the CC instead).
                    self.lower_step(ctx, j)
                } else if let Some(ev) = ctx.core.pointer(&format!("/evaluation/{name}")).cloned() {
                    self.evaluation(ctx, i, name, &ev)
                } else {
                    Err(ImportError::invalid(
                        &ctx.fqdn,
                        format!("on_result {status} → {name:?}: neither continue, exit, a step nor an evaluation"),
                    ))
                }
            }
        }
    }

    /// A CC `evaluation:` condition as a `pgs-evaluate` node routed TRUE → `on_true`, FALSE → `on_false`.
    fn evaluation(&mut self, ctx: &CcCtx, i: usize, name: &str, ev: &Value) -> Result<String, ImportError> {
        let node = format!("{}__{}", ctx.key, name);
        if self.nodes.contains_key(&node) {
            return Ok(node);
        }
        let cond = ev.get("condition").and_then(Value::as_str).unwrap_or_default();
        let ops = ["==", "!=", "<=", ">=", "<", ">"];
        let (left, op, right) = ops
            .iter()
            .find_map(|op| cond.split_once(op).map(|(l, r)| (l.trim(), *op, r.trim())))
            .ok_or_else(|| {
                ImportError::unsupported(
                    &ctx.fqdn,
                    format!("evaluation {name}: condition {cond:?} is not `a <op> b`"),
                )
            })?;
        let step = ctx.steps()[i]
            .get("step")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let mut inputs = BTreeMap::new();
        for (field, text) in [("left", left), ("right", right)] {
            let t = if let Some(rest) = text.strip_prefix("$.capability_result.") {
                let segs: Vec<&str> = rest.split('.').collect();
                Tmpl::Path(join_path(&format!("$.results{}", segment(&ctx.node_of(&step))), &segs))
            } else if text.starts_with("$.inputs.") {
                self.step_value(ctx, &Value::String(text.to_string()))?
            } else if let Some(rest) = text.strip_prefix("$.") {
                let segs: Vec<&str> = rest.split('.').collect();
                Tmpl::Path(join_path(&format!("$.results{}", segment(&ctx.node_of(&step))), &segs))
            } else {
                Tmpl::Const(serde_json::from_str(text).map_err(|_| {
                    ImportError::unsupported(
                        &ctx.fqdn,
                        format!("evaluation {name}: operand {text:?} is not a literal"),
                    )
                })?)
            };
            inputs.insert(field.to_string(), self.bind(t, &ctx.fqdn)?);
        }
        inputs.insert("op".into(), SourceBinding::Const { value: json!(op) });
        self.nodes.insert(
            node.clone(),
            SourceNode::Terminal(Terminal {
                status: String::new(),
                ok: false,
            }),
        );
        let on_true = ev
            .get("on_true")
            .and_then(Value::as_str)
            .unwrap_or("SUCCESS")
            .to_string();
        let on_false = ev
            .get("on_false")
            .and_then(Value::as_str)
            .unwrap_or("VIOLATION")
            .to_string();
        let t = self.cc_exit(&ctx.key, &on_true)?;
        let f = self.cc_exit(&ctx.key, &on_false)?;
        self.used.insert(EVALUATE.to_string());
        self.nodes.insert(
            node.clone(),
            SourceNode::Transform(SourceTask {
                component: EVALUATE.to_string(),
                inputs,
                grants: vec![],
                limits: Default::default(),
                next: BTreeMap::from([("TRUE".to_string(), t), ("FALSE".to_string(), f)]),
            }),
        );
        Ok(node)
    }

    /// A simple binding, or an error if the value needs assembly (only scalars are allowed here).
    fn bind(&mut self, t: Tmpl, artifact: &str) -> Result<SourceBinding, ImportError> {
        match t.normalise() {
            Tmpl::Const(v) => Ok(SourceBinding::Const { value: v }),
            Tmpl::Path(p) => Ok(SourceBinding::Short(p)),
            Tmpl::Obj(_) => Err(ImportError::unsupported(artifact, "an object operand in a condition")),
        }
    }

    /// Input bindings for `fields`, adding an assembly node `<node>__in` for fields with paths inside.
    fn bind_fields(
        &mut self,
        node: &str,
        fields: BTreeMap<String, Tmpl>,
    ) -> Result<BTreeMap<String, SourceBinding>, ImportError> {
        let mut out = BTreeMap::new();
        let mut leaves = BTreeMap::new();
        for (name, t) in fields {
            match t.normalise() {
                Tmpl::Const(v) => {
                    out.insert(name, SourceBinding::Const { value: v });
                }
                Tmpl::Path(p) => {
                    out.insert(name, SourceBinding::Short(p));
                }
                obj @ Tmpl::Obj(_) => {
                    flatten(&obj, &mut vec![name.clone()], &mut leaves);
                    out.insert(
                        name.clone(),
                        SourceBinding::Short(join_path(
                            &format!("$.results{}", segment(&format!("{node}__in"))),
                            &[&name],
                        )),
                    );
                }
            }
        }
        if !leaves.is_empty() {
            let asm = format!("{node}__in");
            self.used.insert(ASSEMBLE.to_string());
            self.nodes.insert(
                asm,
                SourceNode::Transform(SourceTask {
                    component: ASSEMBLE.to_string(),
                    inputs: leaves,
                    grants: vec![],
                    limits: Default::default(),
                    next: BTreeMap::from([("SUCCESS".to_string(), node.to_string())]),
                }),
            );
        }
        Ok(out)
    }

    fn ct_task(
        &mut self,
        ctx: &CcCtx,
        step: &str,
        node: &str,
        ct: &str,
        inputs: &Map<String, Value>,
    ) -> Result<(SourceTask, Vec<String>, Option<String>), ImportError> {
        let component = self.maps.atoms.get(ct).cloned().ok_or_else(|| {
            ImportError::unsupported(
                &ctx.fqdn,
                format!("step {step}: CT {ct} has no component (not in atoms.json)"),
            )
        })?;
        let art = self.ws.artifact(ct)?;
        let declared: BTreeSet<String> = art
            .pointer("/ct_ir/inputs")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let mut fields = BTreeMap::new();
        for (k, v) in inputs {
            if !declared.contains(k) {
                return Err(ImportError::invalid(
                    &ctx.fqdn,
                    format!("step {step}: CT {ct} has no input {k:?}"),
                ));
            }
            fields.insert(k.clone(), self.step_value(ctx, v)?);
        }
        for (atom, input, why) in NONDETERMINISTIC {
            if ct == *atom && !fields.contains_key(*input) {
                match (&self.opts.now, *input) {
                    (Some(now), "current_date") => {
                        if let Some(rest) = now.strip_prefix("$.payload.") {
                            self.payload_paths.insert(rest.split('.').map(String::from).collect());
                        }
                        fields.insert(input.to_string(), Tmpl::Path(now.clone()));
                    }
                    _ => {
                        return Err(ImportError::unsupported(
                            &ctx.fqdn,
                            format!("step {step}: non-deterministic atom {ct} {why}"),
                        ));
                    }
                }
            }
        }
        // A gate: a CT whose only declared output is a boolean gives its verdict as SUCCESS + false.
        let outs = art
            .pointer("/frontmatter/core/outputs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let gate = if outs.len() == 1 {
            outs.iter()
                .next()
                .filter(|(_, spec)| spec.get("type").and_then(Value::as_str) == Some("boolean"))
                .map(|(k, _)| k.clone())
        } else {
            None
        };
        let bindings = self.bind_fields(node, fields)?;
        let outcomes = self.outcomes_of(&component, &ctx.fqdn)?;
        self.used.insert(component.clone());
        Ok((
            SourceTask {
                component,
                inputs: bindings,
                grants: vec![],
                limits: Default::default(),
                next: BTreeMap::new(),
            },
            outcomes,
            gate,
        ))
    }

    fn outcomes_of(&self, component: &str, artifact: &str) -> Result<Vec<String>, ImportError> {
        self.catalog
            .get(component)
            .map(|e| e.outcomes.clone())
            .ok_or_else(|| ImportError::invalid(artifact, format!("component {component} is not built")))
    }

    fn cs_task(
        &mut self,
        ctx: &CcCtx,
        step: &str,
        node: &str,
        cs: &str,
        step_v: &Value,
        inputs: &Map<String, Value>,
    ) -> Result<(SourceTask, Vec<String>, BTreeSet<String>), ImportError> {
        if let Some((_, why)) = REFUSED_CS.iter().find(|(f, _)| *f == cs) {
            return Err(ImportError::unsupported(&ctx.fqdn, format!("step {step}: {why}")));
        }
        let entry = self.maps.side_effects.get(cs).ok_or_else(|| {
            ImportError::unsupported(
                &ctx.fqdn,
                format!("step {step}: side effect {cs} has no component (not in side_effects.json)"),
            )
        })?;
        let op = step_v
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| ImportError::invalid(&ctx.fqdn, format!("step {step}: CS step without `op`")))?;
        let component = entry
            .get("component")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let op_spec = entry.pointer(&format!("/ops/{op}")).ok_or_else(|| {
            ImportError::unsupported(
                &ctx.fqdn,
                format!("step {step}: {cs} op {op} is not supported by {component}"),
            )
        })?;
        let label = match step_v.get("store").and_then(Value::as_str) {
            Some(store) => store.to_ascii_lowercase(),
            None => {
                let path = self
                    .rb
                    .get(cs)
                    .and_then(|b| b.pointer("/policy/path"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ImportError::invalid(
                            &ctx.fqdn,
                            format!("step {step}: no `store:` and no runtime-binding path for {cs}"),
                        )
                    })?;
                let file = path.rsplit('/').next().unwrap_or(path);
                file.split('.').next().unwrap_or(file).to_ascii_lowercase()
            }
        };
        sealed_snapshot::label::check_label(&label)
            .map_err(|e| ImportError::invalid(&ctx.fqdn, format!("step {step}: storage label: {e}")))?;
        let mut grants = Vec::new();
        for g in op_spec.get("grants").and_then(Value::as_array).into_iter().flatten() {
            let interface = g
                .get("interface")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let ops: Vec<String> = g
                .get("ops")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
                .unwrap_or_default();
            grants.push(
                serde_json::from_value::<Grant>(json!({"interface": interface, "label": label, "ops": ops}))
                    .map_err(|e| ImportError::invalid(cs, format!("op {op}: bad grant in side_effects.json: {e}")))?,
            );
        }
        let op_outcomes: BTreeSet<String> = op_spec
            .get("outcomes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        let outcomes = self.outcomes_of(&component, &ctx.fqdn)?;
        if let Some(o) = op_outcomes.iter().find(|o| !outcomes.contains(o)) {
            return Err(ImportError::invalid(
                cs,
                format!("side_effects.json says {op} returns {o}, which {component} does not declare"),
            ));
        }
        let mut args = BTreeMap::new();
        for (k, v) in inputs {
            if k == "__store__" {
                continue;
            }
            args.insert(k.clone(), self.step_value(ctx, v)?);
        }
        let mut fields = BTreeMap::new();
        fields.insert("args".to_string(), Tmpl::Obj(args));
        let mut bindings = self.bind_fields(node, fields)?;
        bindings.insert("op".into(), SourceBinding::Const { value: json!(op) });
        bindings.insert("label".into(), SourceBinding::Const { value: json!(label) });
        self.used.insert(component.clone());
        Ok((
            SourceTask {
                component,
                inputs: bindings,
                grants,
                limits: Default::default(),
                next: BTreeMap::new(),
            },
            outcomes,
            op_outcomes,
        ))
    }

    /// A CC step input value (`$.inputs…`, `$.results.<step>…`, a literal, or an object of those).
    fn step_value(&mut self, ctx: &CcCtx, v: &Value) -> Result<Tmpl, ImportError> {
        match v {
            Value::String(s) if is_path(s) => {
                let segs: Vec<&str> = s[2..].split('.').collect();
                match segs.as_slice() {
                    ["inputs", name, rest @ ..] => self.cc_input(ctx, name, rest),
                    ["results", step, rest @ ..] => self.step_output(ctx, step, rest),
                    _ => Err(ImportError::unsupported(
                        &ctx.fqdn,
                        format!("step input path {s:?} (only $.inputs… and $.results…)"),
                    )),
                }
            }
            Value::String(s) => literal(&ctx.fqdn, s),
            Value::Object(m) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    out.insert(k.clone(), self.step_value(ctx, v)?);
                }
                Ok(Tmpl::Obj(out))
            }
            Value::Array(a) => {
                let items: Result<Vec<Tmpl>, ImportError> = a.iter().map(|x| self.step_value(ctx, x)).collect();
                all_const(&ctx.fqdn, items?)
            }
            other => Ok(Tmpl::Const(other.clone())),
        }
    }

    /// `$.inputs.<name>.<rest>` inside a CC: the WF node's binding of that input.
    fn cc_input(&mut self, ctx: &CcCtx, name: &str, rest: &[&str]) -> Result<Tmpl, ImportError> {
        let Some(b) = ctx.bindings.get(name).cloned() else {
            let required = ctx
                .core
                .pointer(&format!("/inputs/{name}/required"))
                .and_then(Value::as_bool)
                == Some(true);
            if required {
                return Err(ImportError::invalid(
                    &self.wf_fqdn,
                    format!("node {}: required input {name:?} of {} is not bound", ctx.key, ctx.fqdn),
                ));
            }
            // An optional input left unbound: PGS passes null.
            return Ok(Tmpl::Const(Value::Null));
        };
        let t = self.wf_value(&b)?;
        navigate(&self.wf_fqdn, t, rest)
    }

    /// `$.results.<step>.<rest>` inside a CC: a prior step's mapped output (or its raw result).
    fn step_output(&mut self, ctx: &CcCtx, step: &str, rest: &[&str]) -> Result<Tmpl, ImportError> {
        let idx = ctx
            .step_index(step)
            .ok_or_else(|| ImportError::invalid(&ctx.fqdn, format!("$.results.{step}: no such step")))?;
        let node = ctx.node_of(step);
        let base = format!("$.results{}", segment(&node));
        match rest {
            ["capability_result", more @ ..] => Ok(Tmpl::Path(join_path(&base, more))),
            [field, more @ ..] => {
                let expr = ctx.steps()[idx]
                    .pointer(&format!("/outputs/{field}"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| ImportError::invalid(&ctx.fqdn, format!("step {step} has no output {field:?}")))?
                    .to_string();
                let t = self.output_expr(ctx, &base, &expr)?;
                navigate(&ctx.fqdn, t, more)
            }
            [] => Err(ImportError::invalid(
                &ctx.fqdn,
                format!("$.results.{step} names no field"),
            )),
        }
    }

    /// A step `outputs` expression, relative to the step node's raw output at `base`.
    fn output_expr(&mut self, ctx: &CcCtx, base: &str, expr: &str) -> Result<Tmpl, ImportError> {
        let Some(rest) = expr.strip_prefix("$.") else {
            return literal(&ctx.fqdn, expr);
        };
        let segs: Vec<&str> = rest.split('.').collect();
        match segs.as_slice() {
            ["capability_result", more @ ..] => Ok(Tmpl::Path(join_path(base, more))),
            ["results", step, more @ ..] => self.step_output(ctx, step, more),
            ["result_status"] => Err(ImportError::unsupported(
                &ctx.fqdn,
                "an output mapped from `$.result_status` is read (a status is an outcome, not a value)",
            )),
            more => Ok(Tmpl::Path(join_path(base, more))),
        }
    }

    /// A WF-level binding (`$.payload…`, `$.inputs…` = payload, `$.results.<CC node>…`, literal, object).
    fn wf_value(&mut self, v: &Value) -> Result<Tmpl, ImportError> {
        match v {
            Value::String(s) if is_path(s) => {
                let segs: Vec<&str> = s[2..].split('.').collect();
                match segs.as_slice() {
                    ["payload" | "inputs", rest @ ..] => {
                        self.payload_paths.insert(rest.iter().map(|s| s.to_string()).collect());
                        Ok(Tmpl::Path(join_path("$.payload", rest)))
                    }
                    ["results", key, field, more @ ..] => {
                        let t = self.cc_surface(key, field)?;
                        navigate(&self.wf_fqdn, t, more)
                    }
                    _ => Err(ImportError::unsupported(&self.wf_fqdn, format!("binding path {s:?}"))),
                }
            }
            Value::String(s) => literal(&self.wf_fqdn, s),
            Value::Object(m) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    out.insert(k.clone(), self.wf_value(v)?);
                }
                Ok(Tmpl::Obj(out))
            }
            Value::Array(a) => {
                let items: Result<Vec<Tmpl>, ImportError> = a.iter().map(|x| self.wf_value(x)).collect();
                all_const(&self.wf_fqdn, items?)
            }
            other => Ok(Tmpl::Const(other.clone())),
        }
    }

    /// `$.results.<CC node key>.<field>` at WF level: the last pipeline step that maps `field`, or the CC's
    /// input of that name (PGS merges a CC's inputs into its surface).
    fn cc_surface(&mut self, key: &str, field: &str) -> Result<Tmpl, ImportError> {
        let ctx = self.ctx(key)?;
        for step in ctx.steps().iter().rev() {
            if let Some(expr) = step.pointer(&format!("/outputs/{field}")).and_then(Value::as_str) {
                let name = step.get("step").and_then(Value::as_str).unwrap_or_default();
                let base = format!("$.results{}", segment(&ctx.node_of(name)));
                let expr = expr.to_string();
                return self.output_expr(&ctx, &base, &expr);
            }
        }
        if ctx.core.pointer(&format!("/inputs/{field}")).is_some() {
            return self.cc_input(&ctx, field, &[]);
        }
        Err(ImportError::invalid(
            &self.wf_fqdn,
            format!("$.results.{key}.{field}: {} has no output or input {field:?}", ctx.fqdn),
        ))
    }
}

/// A literal string; PGS templates other than `{{timestamp}}` are computations and are refused.
fn literal(artifact: &str, s: &str) -> Result<Tmpl, ImportError> {
    if s.contains("{{") && s != "{{timestamp}}" {
        return Err(ImportError::unsupported(
            artifact,
            format!("template expression {s:?} (a computation PGS never evaluates)"),
        ));
    }
    Ok(Tmpl::Const(Value::String(s.to_string())))
}

fn all_const(artifact: &str, items: Vec<Tmpl>) -> Result<Tmpl, ImportError> {
    let mut out = Vec::new();
    for t in items {
        match t.normalise() {
            Tmpl::Const(v) => out.push(v),
            _ => {
                return Err(ImportError::unsupported(
                    artifact,
                    "a list with paths inside (only whole lists bind)",
                ));
            }
        }
    }
    Ok(Tmpl::Const(Value::Array(out)))
}

/// `t` followed by the member names `rest`.
fn navigate(artifact: &str, t: Tmpl, rest: &[&str]) -> Result<Tmpl, ImportError> {
    let Some((first, more)) = rest.split_first() else {
        return Ok(t);
    };
    match t {
        Tmpl::Path(p) => Ok(Tmpl::Path(join_path(&p, rest))),
        Tmpl::Obj(mut m) => match m.remove(*first) {
            Some(child) => navigate(artifact, child, more),
            None => Err(ImportError::invalid(
                artifact,
                format!("no member {first:?} in a bound object"),
            )),
        },
        Tmpl::Const(v) => match v.get(*first) {
            Some(child) => navigate(artifact, Tmpl::Const(child.clone()), more),
            None => Err(ImportError::invalid(
                artifact,
                format!("no member {first:?} in a literal"),
            )),
        },
    }
}

/// The leaves of an object template, as pointer-named bindings of an assembly node.
fn flatten(t: &Tmpl, at: &mut Vec<String>, out: &mut BTreeMap<String, SourceBinding>) {
    match t {
        Tmpl::Const(v) => {
            out.insert(pointer(at), SourceBinding::Const { value: v.clone() });
        }
        Tmpl::Path(p) => {
            out.insert(pointer(at), SourceBinding::Short(p.clone()));
        }
        Tmpl::Obj(m) => {
            if m.is_empty() {
                out.insert(pointer(at), SourceBinding::Const { value: json!({}) });
            }
            for (k, v) in m {
                at.push(k.clone());
                flatten(v, at, out);
                at.pop();
            }
        }
    }
}

#[cfg(test)]
mod tests;
