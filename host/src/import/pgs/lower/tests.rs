#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use super::*;
use crate::import::pgs::{Maps, Workspace};

/// The PGS workspace beside the repository (`../shared/pgs/workspace`, as in CI), or
/// `SEALED_PGS_WORKSPACE=DIR`.
pub(crate) fn workspace() -> Workspace {
    let root = std::env::var_os("SEALED_PGS_WORKSPACE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/pgs/workspace"));
    assert!(
        root.join("protocol_snapshot").is_dir(),
        "{} is missing: the PGS workspace comes with the shared reference material (../shared/pgs), or set SEALED_PGS_WORKSPACE",
        root.display()
    );
    Workspace::new(root)
}

/// The side-effect map as the contract between the importer and the components specifies it (the committed
/// `capabilities/pgs/side_effects.json` is what the tests use; this checks it still names the same components).
pub(crate) fn contract_side_effects() -> Value {
    json!({
        "capability_side_effects::CS_REGISTRY_V0": {"component": "pgs-registry", "ops": {
            "REGISTER": {"grants": [{"interface": "registry", "ops": ["insert"]}], "outcomes": ["SUCCESS", "ALREADY_EXISTS", "VIOLATION"]},
            "RESOLVE": {"grants": [{"interface": "registry", "ops": ["get"]}], "outcomes": ["SUCCESS", "NOT_FOUND", "VIOLATION"]},
            "DEREGISTER": {"grants": [{"interface": "registry", "ops": ["get", "insert"]}], "outcomes": ["SUCCESS", "NOT_FOUND", "VIOLATION"]}
        }},
        "capability_side_effects::CS_APPENDONLY_JSONL_V0": {"component": "pgs-appendonly", "ops": {
            "APPEND": {"grants": [{"interface": "events", "ops": ["append"]}], "outcomes": ["SUCCESS", "VIOLATION"]}
        }},
        "capability_side_effects::CS_MUTABLE_JSON_V0": {"component": "pgs-mutable", "ops": {
            "READ": {"grants": [{"interface": "state", "ops": ["load"]}], "outcomes": ["SUCCESS", "NOT_FOUND", "VIOLATION"]},
            "WRITE": {"grants": [{"interface": "state", "ops": ["load", "store"]}], "outcomes": ["SUCCESS", "VIOLATION"]}
        }}
    })
}

pub(crate) fn maps() -> Maps {
    let atoms_file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../capabilities/pgs/atoms.json");
    let a: Value = serde_json::from_slice(&std::fs::read(atoms_file).unwrap()).unwrap();
    let atoms = a["atoms"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    let se_file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../capabilities/pgs/side_effects.json");
    let se: Value = serde_json::from_slice(&std::fs::read(se_file).unwrap()).unwrap();
    assert_eq!(
        se["side_effects"]["capability_side_effects::CS_REGISTRY_V0"]["component"],
        contract_side_effects()["capability_side_effects::CS_REGISTRY_V0"]["component"]
    );
    Maps {
        atoms,
        side_effects: se["side_effects"].clone(),
    }
}

fn entry(world: &str, outcomes: &[&str]) -> CatalogEntry {
    CatalogEntry {
        world: world.into(),
        outcomes: outcomes.iter().map(|s| s.to_string()).collect(),
        wasm: "x.wasm".into(),
        file: None,
        sha256: "0".repeat(64),
    }
}

pub(crate) fn catalog() -> Catalog {
    let mut c = Catalog::new();
    for (_, comp) in maps().atoms {
        c.insert(comp, entry("transform", &["SUCCESS", "VIOLATION"]));
    }
    c.insert("pgs-assemble".into(), entry("transform", &["SUCCESS"]));
    c.insert("pgs-evaluate".into(), entry("transform", &["TRUE", "FALSE"]));
    c.insert(
        "pgs-registry".into(),
        entry("side-effect", &["SUCCESS", "ALREADY_EXISTS", "NOT_FOUND", "VIOLATION"]),
    );
    c.insert("pgs-appendonly".into(), entry("side-effect", &["SUCCESS", "VIOLATION"]));
    c.insert(
        "pgs-mutable".into(),
        entry("side-effect", &["SUCCESS", "NOT_FOUND", "VIOLATION"]),
    );
    c
}

fn opts(domain: &str) -> LowerOptions {
    LowerOptions {
        domain: domain.into(),
        now: None,
        seeds: vec![],
    }
}

fn import(domain: &str, wf: &str) -> Result<Source, ImportError> {
    lower(&workspace(), &maps(), &catalog(), &[wf.to_string()], &opts(domain))
}

fn wf(s: &Source) -> &SourceWorkflow {
    s.workflows.values().next().unwrap()
}

fn task<'s>(w: &'s SourceWorkflow, node: &str) -> &'s SourceTask {
    match w.nodes.get(node) {
        Some(SourceNode::Transform(t) | SourceNode::SideEffect(t)) => t,
        other => panic!("{node}: {other:?}"),
    }
}

fn payload(rel: &str) -> Value {
    let dir = std::env::var_os("SEALED_PGS_WORKSPACE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/pgs/workspace"));
    let p = dir.join("../payloads").join(rel);
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

fn refused(domain: &str, wf: &str) -> ImportError {
    match import(domain, wf) {
        Ok(_) => panic!("{wf} was imported"),
        Err(e) => e,
    }
}

const RA: &str = "blockchain::WF_REGISTER_ACTOR_UNVERIFIED_V0";

#[test]
fn register_actor_flattens_pipelines_and_follows_named_steps() {
    let s = import("blockchain", RA).unwrap();
    let w = wf(&s);
    assert_eq!(w.entry, "CC_GENERATE_ACTOR_ID_V0__generate_actor_id");
    // The KYC CC's step routes name `register_actor_id`: the authored intent is "go there", so both
    // registrations happen (two registry rows, as pgs_runtime 0.6.0 writes), on SUCCESS and ALREADY_EXISTS.
    let kyc = task(w, "CC_REGISTER_ACTOR_KYC_V0__register_kyc_mapping");
    assert_eq!(kyc.next["SUCCESS"], "CC_REGISTER_ACTOR_KYC_V0__register_actor_id__in");
    assert_eq!(
        kyc.next["ALREADY_EXISTS"],
        "CC_REGISTER_ACTOR_KYC_V0__register_actor_id__in"
    );
    assert_eq!(kyc.next["VIOLATION"], "EXIT_VIOLATION");
    // An outcome REGISTER never returns (the component declares it for RESOLVE) ends at a failing terminal.
    assert_eq!(kyc.next["NOT_FOUND"], OP_CONTRACT_BROKEN);
    // The CC's own exits follow the WF edges: both SUCCESS and ALREADY_EXISTS append the event.
    let actor = task(w, "CC_REGISTER_ACTOR_KYC_V0__register_actor_id");
    assert_eq!(
        actor.next["SUCCESS"],
        "CC_APPEND_ACTOR_EVENT_V0__append_actor_event__in"
    );
    assert_eq!(
        actor.next["ALREADY_EXISTS"],
        "CC_APPEND_ACTOR_EVENT_V0__append_actor_event__in"
    );
    // Grants: exactly the op used, on the store's label.
    assert_eq!(
        serde_json::to_value(&actor.grants).unwrap(),
        json!([{"interface": "registry", "label": "actor", "ops": ["insert"]}])
    );
    assert_eq!(
        actor.inputs["op"],
        SourceBinding::Const {
            value: json!("REGISTER")
        }
    );
    assert_eq!(actor.inputs["label"], SourceBinding::Const { value: json!("actor") });
    let append = task(w, "CC_APPEND_ACTOR_EVENT_V0__append_actor_event");
    assert_eq!(append.grants[0].label, "actor_events");
    assert_eq!(append.next["SUCCESS"], "EXIT");
    // The KYC key's nested `data` is assembled from the payload's leaves (dotted paths → JSONPath).
    let asm = task(w, "CC_REGISTER_ACTOR_KYC_V0__generate_kyc_key__in");
    assert_eq!(asm.component, ASSEMBLE);
    assert_eq!(
        asm.inputs["/data/email"],
        SourceBinding::Short("$.payload.actor_record.email_registration".into())
    );
    // WF exits: EXIT (reason EXITED) reached on SUCCESS is an ok terminal; on VIOLATION a failing one.
    assert_eq!(
        w.nodes["EXIT"],
        SourceNode::Terminal(Terminal {
            status: "EXIT".into(),
            ok: true
        })
    );
    assert_eq!(
        w.nodes["EXIT_VIOLATION"],
        SourceNode::Terminal(Terminal {
            status: "EXIT_VIOLATION".into(),
            ok: false
        })
    );
}

#[test]
fn register_actor_admission_rejects_the_empty_payload_and_admits_the_seed() {
    let s = import("blockchain", RA).unwrap();
    let schema = &wf(&s).admission;
    assert!(
        sealed_snapshot::schema_keywords::unknown_keywords(schema).is_empty(),
        "admission uses keywords outside the strict set: {schema}"
    );
    assert!(
        !crate::admission::check(schema, &json!({})).is_empty(),
        "{{}} must be REJECTED"
    );
    assert!(!crate::admission::check(schema, &json!({"actor_record": {"first_name": "A"}})).is_empty());
    assert!(
        !crate::admission::check(
            schema,
            &json!({"actor_record": {"first_name": "A", "last_name": "B", "email_registration": "not-an-email"}})
        )
        .is_empty()
    );
    let seed = payload("blockchain/register_actor_unverified_payload.json");
    assert_eq!(crate::admission::check(schema, &seed), vec![]);
}

#[test]
fn import_is_deterministic() {
    let a = crate::import::pgs::source_bytes(&import("blockchain", RA).unwrap()).unwrap();
    let b = crate::import::pgs::source_bytes(&import("blockchain", RA).unwrap()).unwrap();
    assert_eq!(a, b);
    // And parses back as the source format `host seal` reads.
    let parsed = sealed_snapshot::source::parse(&a).unwrap();
    assert_eq!(parsed.workflows.len(), 1);
}

#[test]
fn quota_and_training_gates_route_false_to_the_denial() {
    let s = import("ai_governance", "ai_governance::WF_PROVISION_AI_LICENSING_V0").unwrap();
    let w = wf(&s);
    let quota = task(w, "CC_VALIDATE_ELIGIBILITY_V0__check_quota_available");
    assert_eq!(
        quota.next["SUCCESS"],
        "CC_VALIDATE_ELIGIBILITY_V0__check_quota_available__gate"
    );
    let gate = task(w, "CC_VALIDATE_ELIGIBILITY_V0__check_quota_available__gate");
    assert_eq!(gate.component, EVALUATE);
    assert_eq!(
        gate.inputs["left"],
        SourceBinding::Short("$.results.CC_VALIDATE_ELIGIBILITY_V0__check_quota_available.quota_available".into())
    );
    assert_eq!(gate.next["TRUE"], "CC_PROVISION_LICENSE_V0__register_license__in");
    assert_eq!(
        gate.next["FALSE"],
        "CC_APPEND_AUDIT_EVENT_DENIED__append_audit_event__in"
    );
    let training = task(w, "CC_VALIDATE_ELIGIBILITY_V0__check_training_status__gate");
    assert_eq!(
        training.next["FALSE"],
        "CC_APPEND_AUDIT_EVENT_DENIED__append_audit_event__in"
    );
    // Registry label from the runtime binding's path (the step has no `store:`).
    let reg = task(w, "CC_PROVISION_LICENSE_V0__register_license");
    assert_eq!(reg.grants[0].label, "license_registry");
    // ALREADY_EXISTS goes to EXIT_ERROR (reason FAILED): a failing terminal, as the WF declares.
    assert_eq!(reg.next["ALREADY_EXISTS"], "EXIT_ERROR");
    assert_eq!(
        w.nodes["EXIT_ERROR"],
        SourceNode::Terminal(Terminal {
            status: "EXIT_ERROR".into(),
            ok: false
        })
    );
    assert_eq!(
        w.nodes["EXIT_DENIED"],
        SourceNode::Terminal(Terminal {
            status: "EXIT_DENIED".into(),
            ok: true
        })
    );
}

#[test]
fn evaluation_blocks_become_explicit_routing() {
    // CC_VERIFY_TERMINATION_V0 declares `evaluate_conjecture` (dropped by the PGS compiler): here it decides.
    let mut m = maps();
    m.atoms.insert(
        "ai_governance::CT_PURE_COLLATZ_STEP_V0".into(),
        "pgs-collatz-step".into(),
    );
    m.atoms.insert(
        "ai_governance::CT_PURE_TERMINATION_CHECK_V0".into(),
        "pgs-termination-check".into(),
    );
    let mut c = catalog();
    c.insert("pgs-collatz-step".into(), entry("transform", &["SUCCESS", "VIOLATION"]));
    c.insert(
        "pgs-termination-check".into(),
        entry("transform", &["SUCCESS", "VIOLATION"]),
    );
    let s = lower(
        &workspace(),
        &m,
        &c,
        &["ai_governance::WF_DEMO_COLLATZ_CONJECTURE_V0".into()],
        &opts("ai_governance"),
    )
    .unwrap();
    let w = wf(&s);
    let check = task(w, "CC_VERIFY_TERMINATION_V0__check_termination");
    assert_eq!(check.next["SUCCESS"], "CC_VERIFY_TERMINATION_V0__evaluate_conjecture");
    assert_eq!(check.next["VIOLATION"], "EXIT_CONJECTURE_VIOLATED_VIOLATION");
    let ev = task(w, "CC_VERIFY_TERMINATION_V0__evaluate_conjecture");
    assert_eq!(ev.component, EVALUATE);
    assert_eq!(
        ev.inputs["left"],
        SourceBinding::Short("$.results.CC_VERIFY_TERMINATION_V0__check_termination.all_terminate".into())
    );
    assert_eq!(ev.inputs["op"], SourceBinding::Const { value: json!("==") });
    assert_eq!(ev.inputs["right"], SourceBinding::Const { value: json!(true) });
    assert_eq!(ev.next["TRUE"], "CC_STORE_RESULTS_V0__store_results__in");
    // on_false VIOLATION → the WF's EXIT_CONJECTURE_VIOLATED (reason COMPLETED, reached on VIOLATION).
    assert_eq!(ev.next["FALSE"], "EXIT_CONJECTURE_VIOLATED_VIOLATION");
}

#[test]
fn a_clock_reading_atom_needs_a_payload_date() {
    let e = refused("ai_governance", "ai_governance::WF_AUTO_RECLAIM_V0");
    assert_eq!(e.code(), "IMPORT_UNSUPPORTED");
    let m = e.to_string();
    assert!(
        m.contains("CC_RECLAIM_UNUSED_LICENSE_V0") && m.contains("CT_PURE_EVALUATE_INACTIVITY_V0"),
        "{m}"
    );
    assert!(m.contains("wall clock"), "{m}");
    // With --now the date comes from the payload, and admission requires it.
    let o = LowerOptions {
        domain: "ai_governance".into(),
        now: Some("$.payload.context.current_date".into()),
        seeds: vec![],
    };
    let s = lower(
        &workspace(),
        &maps(),
        &catalog(),
        &["ai_governance::WF_AUTO_RECLAIM_V0".into()],
        &o,
    )
    .unwrap();
    let w = wf(&s);
    let ct = task(w, "CC_RECLAIM_UNUSED_LICENSE_V0__evaluate_inactivity");
    assert_eq!(
        ct.inputs["current_date"],
        SourceBinding::Short("$.payload.context.current_date".into())
    );
    let mut p = payload("ai_licensing/auto_reclaim_payload.json");
    assert_eq!(crate::admission::check(&w.admission, &p), vec![]);
    p["context"].as_object_mut().unwrap().remove("current_date");
    assert!(!crate::admission::check(&w.admission, &p).is_empty());
}

#[test]
fn refuses_a_loop_workflow() {
    let e = refused("blockchain", "blockchain::WF_RUN_CONSENSUS_LOOP_V0");
    assert_eq!(e.code(), "IMPORT_UNSUPPORTED");
    assert!(
        e.to_string().contains("CC_RUN_SLOT_SEQUENCE_V0") && e.to_string().contains("loop workflow"),
        "{e}"
    );
}

#[test]
fn refuses_a_nested_workflow() {
    let e = refused("blockchain", "blockchain::WF_PROCESS_SLOT_V0");
    assert_eq!(e.code(), "IMPORT_UNSUPPORTED");
    assert!(
        e.to_string().contains("CS_WORKFLOW_GATEWAY_V0") && e.to_string().contains("nested workflow"),
        "{e}"
    );
}

#[test]
fn refuses_concurrent_workflows() {
    let e = refused("blockchain", "blockchain::WF_RUN_CHAIN_SIMULATION_V0");
    assert_eq!(e.code(), "IMPORT_UNSUPPORTED");
    assert!(
        e.to_string().contains("CC_DISPATCH_SIMULATION_WORKERS_V0") && e.to_string().contains("concurrent"),
        "{e}"
    );
}

#[test]
fn refuses_send_email() {
    let e = refused("blockchain", "blockchain::WF_CREATE_WALLET_V0");
    assert_eq!(e.code(), "IMPORT_UNSUPPORTED");
    assert!(e.to_string().contains("SEND_EMAIL"), "{e}");
}

#[test]
fn refuses_the_name_service() {
    let d = "pgs_capabilities.registry.name_service.workflows";
    let e = refused(d, &format!("{d}::WF_REGISTER_NAME_V0"));
    assert_eq!(e.code(), "IMPORT_UNSUPPORTED");
    assert!(
        e.to_string().contains("WF_REGISTER_NAME_V0") && e.to_string().contains("name service"),
        "{e}"
    );
}

#[test]
fn refuses_an_unknown_cs_op() {
    let e = refused("blockchain", "blockchain::WF_PROPOSE_BLOCK_V0");
    assert_eq!(e.code(), "IMPORT_UNSUPPORTED");
    assert!(
        e.to_string().contains("CC_CLAIM_MEMPOOL_TXS_V0") && e.to_string().contains("op UPDATE_WHERE"),
        "{e}"
    );
}

#[test]
fn refuses_a_ct_without_component() {
    let e = refused("blockchain", "blockchain::WF_COMMIT_BLOCK_V0");
    assert_eq!(e.code(), "IMPORT_UNSUPPORTED");
    assert!(e.to_string().contains("CT_PURE_EXTRACT_PREDECESSOR_HASH_V0"), "{e}");
}

#[test]
fn refuses_a_cs_absent_from_the_map() {
    let mut m = maps();
    m.side_effects
        .as_object_mut()
        .unwrap()
        .remove("capability_side_effects::CS_APPENDONLY_JSONL_V0");
    let e = lower(&workspace(), &m, &catalog(), &[RA.into()], &opts("blockchain")).unwrap_err();
    assert_eq!(e.code(), "IMPORT_UNSUPPORTED");
    assert!(
        e.to_string().contains("CS_APPENDONLY_JSONL_V0") && e.to_string().contains("side_effects.json"),
        "{e}"
    );
}

#[test]
fn refuses_a_missing_workflow_and_a_wrong_domain() {
    let e = refused("blockchain", "blockchain::WF_NOT_THERE_V0");
    assert_eq!(e.code(), "IMPORT_INVALID");
    let e = refused("ai_governance", RA);
    assert_eq!(e.code(), "IMPORT_INVALID");
}

#[test]
fn jsonpath_segments_are_rfc9535() {
    assert_eq!(join_path("$.payload", &["a", "b_2"]), "$.payload.a.b_2");
    assert_eq!(
        join_path("$.payload", &["0", "x-y", "it's"]),
        "$.payload['0']['x-y']['it\\'s']"
    );
}

#[test]
fn a_seed_workflow_writes_key_and_value_into_the_entity_label() {
    let o = LowerOptions {
        domain: "ai_governance".into(),
        now: None,
        seeds: vec!["LICENSE_FACTS".into()],
    };
    let s = lower(
        &workspace(),
        &maps(),
        &catalog(),
        &["ai_governance::WF_GOVERN_AGENT_ACTION_V0".into()],
        &o,
    )
    .unwrap();
    let seed = &s.workflows["SEED_LICENSE_FACTS"];
    let write = task(seed, "write");
    assert_eq!(write.inputs["op"], SourceBinding::Const { value: json!("WRITE") });
    assert_eq!(
        write.inputs["label"],
        SourceBinding::Const {
            value: json!("license_facts")
        }
    );
    assert_eq!(write.grants[0].label, "license_facts");
    assert_eq!(write.next["SUCCESS"], "SEEDED");
    // The governance workflow reads the same label.
    let read = task(
        &s.workflows["WF_GOVERN_AGENT_ACTION_V0"],
        "CC_RESOLVE_LICENSE_TIER_V0__read_license_record",
    );
    assert_eq!(
        read.inputs["label"],
        SourceBinding::Const {
            value: json!("license_facts")
        }
    );
    assert!(!crate::admission::check(&seed.admission, &json!({})).is_empty());
    assert_eq!(
        crate::admission::check(
            &seed.admission,
            &json!({"key": "EMP_STD_001", "value": {"license_tier": "standard"}})
        ),
        vec![]
    );
}

/// Every shipped acceptance payload is admitted by its imported workflow (none of them is meant to be
/// rejected by the IN spec), and the empty payload by none.
#[test]
fn the_shipped_payloads_pass_admission() {
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "blockchain",
            "WF_REGISTER_ACTOR_UNVERIFIED_V0",
            &["blockchain/register_actor_unverified_payload.json"],
        ),
        (
            "blockchain",
            "WF_VERIFY_ACTOR_V0",
            &["blockchain/verify_actor_payload.json"],
        ),
        (
            "ai_governance",
            "WF_PROVISION_AI_LICENSING_V0",
            &[
                "ai_licensing/provision_ai_licensing_payload.json",
                "ai_licensing/quota_exceeded_payload.json",
            ],
        ),
        (
            "ai_governance",
            "WF_DENY_PROVISION_V0",
            &["ai_licensing/deny_provision_payload.json"],
        ),
        (
            "ai_governance",
            "WF_AUTO_RECLAIM_V0",
            &["ai_licensing/auto_reclaim_payload.json"],
        ),
        (
            "ai_governance",
            "WF_GOVERN_AGENT_ACTION_V0",
            &[
                "agent_governance/01_valid_standard_action.json",
                "agent_governance/02_no_license.json",
                "agent_governance/03_standard_requests_premium.json",
                "agent_governance/04_enterprise_premium_allowed.json",
                "agent_governance/05_undeclared_tool.json",
                "agent_governance/06_parameter_violation.json",
                "agent_governance/07_shell_command_absent.json",
            ],
        ),
        (
            "ai_governance",
            "WF_GOVERN_AGENT_ADMISSION_V0",
            &[
                "agent_admission/01_web_search_authorized.json",
                "agent_admission/02_no_license.json",
                "agent_admission/03_standard_requests_write.json",
                "agent_admission/04_enterprise_write_authorized.json",
                "agent_admission/05_undeclared_tool.json",
                "agent_admission/06_parameter_violation.json",
            ],
        ),
    ];
    for (domain, code, payloads) in cases {
        let o = LowerOptions {
            domain: domain.to_string(),
            now: Some("$.payload.context.current_date".into()),
            seeds: vec![],
        };
        let s = lower(&workspace(), &maps(), &catalog(), &[format!("{domain}::{code}")], &o).unwrap();
        let schema = &wf(&s).admission;
        assert!(
            !crate::admission::check(schema, &json!({})).is_empty(),
            "{code} admits {{}}"
        );
        for p in *payloads {
            let v = crate::admission::check(schema, &payload(p));
            assert!(v.is_empty(), "{code} rejects {p}: {v:?}");
        }
    }
}

/// The shipped REGISTER_VALIDATOR payloads break the workflow's own IN spec (`status` must be one of
/// ACTIVE_ONGOING, EXITED, SLASHED; `activation_epoch` an integer): the legacy runtime NACKed them, 0.6.0
/// ignores the IN; here they are rejected. The same record with those two fields conforming is admitted.
#[test]
fn the_shipped_validator_payloads_break_the_in_spec() {
    let s = import("blockchain", "blockchain::WF_REGISTER_VALIDATOR_V0").unwrap();
    let schema = &wf(&s).admission;
    for p in [
        "blockchain/register_validator_payload.json",
        "blockchain/register_validator_payload_fixed_actor_id.json",
    ] {
        let v = crate::admission::check(schema, &payload(p));
        let at: Vec<&str> = v.iter().map(|x| x.instance_path.as_str()).collect();
        assert_eq!(
            at,
            ["/validator_record/activation_epoch", "/validator_record/status"],
            "{p}"
        );
    }
    let mut fixed = payload("blockchain/register_validator_payload_fixed_actor_id.json");
    fixed["validator_record"]["status"] = json!("ACTIVE_ONGOING");
    fixed["validator_record"]["activation_epoch"] = json!(0);
    assert_eq!(crate::admission::check(schema, &fixed), vec![]);
}
