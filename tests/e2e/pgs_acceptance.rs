//! Real PGS workflows, end to end: imported from the PGS workspace by `host import pgs`, committed sealed
//! and signed under `snapshots/pgs-<domain>/`, run, verified offline and replayed. Each test asserts the
//! node path with per-node outcomes, the final status and what the store holds (registry keys, event
//! bodies, state), with the ids PGS derives (`A_dc6e2a7ae93b8bae`, `A_KEY_94cee1398e1662e9`).
//!
//! Needs the components built (`cargo xtask build-components`) and the PGS workspace beside the repository
//! (`../shared/pgs/workspace`, or `SEALED_PGS_WORKSPACE`) for the drift check.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use sealed_engine::{Engine, EngineProfile};
use sealed_host::run::Job;
use sealed_host::{EndKind, PayloadSource, RunReport, RunRequest, TrustPolicy};
use sealed_store::Store;
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| Engine::new(EngineProfile::default()).expect("engine"))
}

fn signed() -> TrustPolicy {
    TrustPolicy::Require(Arc::new(
        sealed_host::keys::trust(&[root().join("snapshots/trust.json")]).expect("snapshots/trust.json"),
    ))
}

/// One run of `workflow` of `snapshots/<snapshot>/sealed` on `payload` (a file under its `payloads/`).
fn run(data_root: &Path, snapshot: &str, workflow: &str, payload: &str) -> RunReport {
    let dir = root().join("snapshots").join(snapshot);
    let (run_key, _) = sealed_host::keys::run_key(data_root, None).expect("run key");
    let req = RunRequest {
        snapshot: dir.join("sealed"),
        trust: signed(),
        job: Job {
            workflow: workflow.into(),
            payload: PayloadSource::File(dir.join("payloads").join(payload)),
            data_root: data_root.to_path_buf(),
            trace_dir: None,
            run_id: None,
            run_key,
        },
    };
    let r = sealed_host::run(engine(), &req).expect("run");
    if r.trace.is_some() {
        check_evidence(&r, data_root, &dir.join("sealed"));
    }
    r
}

/// Every run verifies offline (with the snapshot) and replays to the same chain head.
fn check_evidence(r: &RunReport, data_root: &Path, snapshot: &Path) {
    let trace = r.trace.as_ref().expect("trace").path.clone();
    let trust = sealed_host::keys::trust(&[
        data_root.join("keys/run-signer.pub.json"),
        root().join("snapshots/trust.json"),
    ])
    .expect("trust");
    let report = sealed_attest::verify_run(&trace, &trust, Some(snapshot));
    assert!(report.ok, "verify failed: {:?}", report.failures().collect::<Vec<_>>());
    let rep = sealed_host::replay::replay(engine(), &trace, snapshot).expect("replay");
    assert!(rep.ok, "replay diverged: {:?}", rep.divergences);
    assert_eq!(rep.replayed_chain_head, r.trace.as_ref().unwrap().chain_head);
}

/// The path as `node=OUTCOME`, without the importer's assembly nodes (`…__in`, always SUCCESS).
fn path(r: &RunReport) -> Vec<String> {
    r.steps
        .iter()
        .filter(|s| !s.node.ends_with("__in"))
        .map(|s| format!("{}={}", s.node, s.outcome.as_deref().unwrap_or("-")))
        .collect()
}

/// The output a node produced in this run.
fn output(r: &RunReport, node: &str) -> Value {
    let bytes = std::fs::read(&r.trace.as_ref().unwrap().path).unwrap();
    let t = sealed_trace::parse_and_verify(&bytes).unwrap();
    t.nodes()
        .find(|n| n.node == node)
        .and_then(|n| n.output.clone())
        .unwrap_or_else(|| panic!("{node} did not run"))
}

fn ended(r: &RunReport, end: EndKind, status: &str) {
    assert_eq!((r.end, r.status.as_str()), (end, status), "{:?} {:?}", r.error, path(r));
}

const BC: &str = "pgs-blockchain";
const AI: &str = "pgs-ai-governance";
const ACTOR: &str = "A_dc6e2a7ae93b8bae";
const KYC: &str = "A_KEY_94cee1398e1662e9";

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// `pgs-appendonly` keeps one stream per label (key `jsonl`), entries `{"actor_id", "stream_id", "record"}`.
fn event_records(store: &Store, label: &str) -> Vec<Value> {
    store
        .events_read(label, "jsonl", 1, 64)
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_slice(&e.payload).unwrap())
        .collect()
}

const REGISTER_PATH: &[&str] = &[
    "CC_GENERATE_ACTOR_ID_V0__generate_actor_id=SUCCESS",
    "CC_REGISTER_ACTOR_KYC_V0__generate_kyc_key=SUCCESS",
    "CC_REGISTER_ACTOR_KYC_V0__register_kyc_mapping=SUCCESS",
    "CC_REGISTER_ACTOR_KYC_V0__register_actor_id=SUCCESS",
    "CC_APPEND_ACTOR_EVENT_V0__append_actor_event=SUCCESS",
];

#[test]
fn register_actor_twice_then_empty() {
    let dir = tempfile::tempdir().unwrap();
    let first = run(
        dir.path(),
        BC,
        "WF_REGISTER_ACTOR_UNVERIFIED_V0",
        "register_actor_unverified_payload.json",
    );
    ended(&first, EndKind::Succeeded, "EXIT");
    assert_eq!(path(&first), strs(REGISTER_PATH));
    // The PGS ids, byte for byte.
    assert_eq!(
        output(&first, "CC_GENERATE_ACTOR_ID_V0__generate_actor_id"),
        json!({"id": ACTOR})
    );
    assert_eq!(
        output(&first, "CC_REGISTER_ACTOR_KYC_V0__generate_kyc_key"),
        json!({"id": KYC})
    );
    let store = Store::open(dir.path()).unwrap();
    // Two registry rows (the KYC key and the actor id): the authored step goto.
    for key in [KYC, ACTOR] {
        let row: Value = serde_json::from_slice(&store.registry_get("actor", key).unwrap().expect("row")).unwrap();
        assert_eq!(
            (row["key"].as_str(), row["target_ref"].as_str()),
            (Some(key), Some(ACTOR)),
            "{row}"
        );
        assert_eq!(row["target_cs"], "CS_APPENDONLY_JSONL_V0");
    }
    assert_eq!(store.stats().unwrap().registry_rows, 2);
    let events = event_records(&store, "actor_events");
    let seed = serde_json::from_slice::<Value>(
        &std::fs::read(
            root()
                .join("snapshots")
                .join(BC)
                .join("payloads/register_actor_unverified_payload.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let event = json!({"actor_id": ACTOR, "stream_id": ACTOR, "record": {
        "actor_id": ACTOR, "event_code": "EV_ACTOR_REGISTERED_UNVERIFIED_V0",
        "payload": seed["actor_record"], "timestamp": "2025-01-01T00:00:00Z"}});
    assert_eq!(events, vec![event.clone()]);
    let digest_after_first = store.content_digest().unwrap();

    let second = run(
        dir.path(),
        BC,
        "WF_REGISTER_ACTOR_UNVERIFIED_V0",
        "register_actor_unverified_payload.json",
    );
    ended(&second, EndKind::Succeeded, "EXIT");
    assert_eq!(
        path(&second),
        strs(&[
            "CC_GENERATE_ACTOR_ID_V0__generate_actor_id=SUCCESS",
            "CC_REGISTER_ACTOR_KYC_V0__generate_kyc_key=SUCCESS",
            "CC_REGISTER_ACTOR_KYC_V0__register_kyc_mapping=ALREADY_EXISTS",
            "CC_REGISTER_ACTOR_KYC_V0__register_actor_id=ALREADY_EXISTS",
            "CC_APPEND_ACTOR_EVENT_V0__append_actor_event=SUCCESS",
        ])
    );
    assert_eq!(store.stats().unwrap().registry_rows, 2);
    assert_eq!(
        event_records(&store, "actor_events"),
        vec![event.clone(), event],
        "the WF appends on ALREADY_EXISTS too"
    );
    assert_ne!(store.content_digest().unwrap(), digest_after_first);

    let empty = run(dir.path(), BC, "WF_REGISTER_ACTOR_UNVERIFIED_V0", "empty.json");
    assert_eq!(empty.end, EndKind::Rejected);
    assert!(empty.steps.is_empty());
    assert_eq!(
        store.stats().unwrap().registry_rows,
        2,
        "{{}} registers nothing (PGS registers A_1c197daef20de3f4)"
    );
}

#[test]
fn provision_twice_then_quota_exceeded_is_denied_then_reclaim_twice() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let p = "ai_licensing/provision_ai_licensing_payload.json";
    let first = run(dir.path(), AI, "WF_PROVISION_AI_LICENSING_V0", p);
    ended(&first, EndKind::Succeeded, "EXIT_PROVISIONED");
    assert_eq!(
        path(&first),
        strs(&[
            "CC_VALIDATE_ELIGIBILITY_V0__check_training_status=SUCCESS",
            "CC_VALIDATE_ELIGIBILITY_V0__check_training_status__gate=TRUE",
            "CC_VALIDATE_ELIGIBILITY_V0__check_quota_available=SUCCESS",
            "CC_VALIDATE_ELIGIBILITY_V0__check_quota_available__gate=TRUE",
            "CC_PROVISION_LICENSE_V0__register_license=SUCCESS",
            "CC_APPEND_AUDIT_EVENT_SUCCESS__append_audit_event=SUCCESS",
        ])
    );
    assert!(store.registry_get("license_registry", "e-7526").unwrap().is_some());

    let second = run(dir.path(), AI, "WF_PROVISION_AI_LICENSING_V0", p);
    ended(&second, EndKind::Completed, "EXIT_ERROR");
    assert_eq!(
        path(&second).last().unwrap(),
        "CC_PROVISION_LICENSE_V0__register_license=ALREADY_EXISTS"
    );

    // assigned 10, cap 10: PGS provisions (quota_available false with SUCCESS); here the gate denies.
    let quota = run(
        dir.path(),
        AI,
        "WF_PROVISION_AI_LICENSING_V0",
        "ai_licensing/quota_exceeded_payload.json",
    );
    ended(&quota, EndKind::Succeeded, "EXIT_DENIED");
    assert_eq!(
        path(&quota),
        strs(&[
            "CC_VALIDATE_ELIGIBILITY_V0__check_training_status=SUCCESS",
            "CC_VALIDATE_ELIGIBILITY_V0__check_training_status__gate=TRUE",
            "CC_VALIDATE_ELIGIBILITY_V0__check_quota_available=SUCCESS",
            "CC_VALIDATE_ELIGIBILITY_V0__check_quota_available__gate=FALSE",
            "CC_APPEND_AUDIT_EVENT_DENIED__append_audit_event=SUCCESS",
        ])
    );
    assert_eq!(
        output(&quota, "CC_VALIDATE_ELIGIBILITY_V0__check_quota_available"),
        json!({"quota_available": false})
    );
    assert!(
        store.registry_get("license_registry", "e-9999").unwrap().is_none(),
        "quota exceeded: no licence"
    );

    let reclaim = run(
        dir.path(),
        AI,
        "WF_AUTO_RECLAIM_V0",
        "ai_licensing/auto_reclaim_payload.json",
    );
    ended(&reclaim, EndKind::Succeeded, "EXIT_RECLAIMED");
    assert_eq!(
        path(&reclaim),
        strs(&[
            "CC_RECLAIM_UNUSED_LICENSE_V0__evaluate_inactivity=SUCCESS",
            "CC_RECLAIM_UNUSED_LICENSE_V0__deregister_license=SUCCESS",
            "CC_APPEND_AUDIT_EVENT_RECLAIMED__append_audit_event=SUCCESS",
        ])
    );
    assert!(
        store.registry_get("license_registry", "e-7526").unwrap().is_none(),
        "deregistered"
    );
    let again = run(
        dir.path(),
        AI,
        "WF_AUTO_RECLAIM_V0",
        "ai_licensing/auto_reclaim_payload.json",
    );
    ended(&again, EndKind::Completed, "EXIT_ERROR");
    assert_eq!(
        path(&again).last().unwrap(),
        "CC_RECLAIM_UNUSED_LICENSE_V0__deregister_license=NOT_FOUND"
    );
}

#[test]
fn deny_provision_appends_the_denial() {
    let dir = tempfile::tempdir().unwrap();
    let r = run(
        dir.path(),
        AI,
        "WF_DENY_PROVISION_V0",
        "ai_licensing/deny_provision_payload.json",
    );
    ended(&r, EndKind::Succeeded, "EXIT_DENIED");
    assert_eq!(
        path(&r),
        strs(&["CC_APPEND_AUDIT_EVENT_V0__append_audit_event=SUCCESS"])
    );
}

fn seed_license_facts(data: &Path) {
    for who in ["EMP_STD_001", "EMP_ENT_001"] {
        let r = run(data, AI, "SEED_LICENSE_FACTS", &format!("seed-{who}.json"));
        ended(&r, EndKind::Succeeded, "SEEDED");
    }
}

#[test]
fn govern_agent_action_seven_payloads() {
    let dir = tempfile::tempdir().unwrap();
    seed_license_facts(dir.path());
    for (payload, status) in [
        ("01_valid_standard_action.json", "EXIT_SUCCESS"),
        ("02_no_license.json", "EXIT_UNAUTHORIZED_ACTOR"),
        ("03_standard_requests_premium.json", "EXIT_UNAUTHORIZED_TOOL"),
        ("04_enterprise_premium_allowed.json", "EXIT_SUCCESS"),
        ("05_undeclared_tool.json", "EXIT_UNDECLARED_TOOL"),
        ("06_parameter_violation.json", "EXIT_PARAMETER_VIOLATION"),
        ("07_shell_command_absent.json", "EXIT_UNDECLARED_TOOL"),
    ] {
        let r = run(
            dir.path(),
            AI,
            "WF_GOVERN_AGENT_ACTION_V0",
            &format!("agent_governance/{payload}"),
        );
        govern_ended(&r, status, dir.path());
    }
    // One audit record per request, in order: the decision or the denial's reason.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        audit_verdicts(&store),
        [
            json!("AUTHORIZED"),
            json!("UNAUTHORIZED_ACTOR"),
            json!("UNAUTHORIZED_TOOL"),
            json!("AUTHORIZED"),
            json!("UNDECLARED_TOOL"),
            json!("PARAMETER_VIOLATION"),
            json!("UNDECLARED_TOOL")
        ]
    );
}

/// Every request ends at its own EXIT and commits: an authorised one registers the action (with the
/// decision record the step passes as `metadata`, which PGS drops) and appends an AUTHORIZED audit record;
/// a denial appends its denial record and registers nothing.
fn govern_ended(r: &RunReport, status: &str, data_root: &Path) {
    ended(r, EndKind::Succeeded, status);
    assert!(r.committed);
    let registered = path(r).contains(&"CC_RECORD_GOVERNED_ACTION_V0__register_action=SUCCESS".to_string());
    assert_eq!(registered, status == "EXIT_SUCCESS", "{:?}", path(r));
    if registered {
        let id = output(r, "CC_RECORD_GOVERNED_ACTION_V0__generate_action_id")["id"].clone();
        let id = id.as_str().expect("action id");
        assert!(id.starts_with("AGOV_"), "{id}");
        let store = Store::open(data_root).unwrap();
        let bytes = store
            .registry_get("governance_actions", id)
            .unwrap()
            .expect("action registered");
        let rec: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(rec["key"], json!(id));
        assert_eq!(rec["metadata"]["decision"], json!("AUTHORIZED"));
    }
}

/// What each audit record says: the decision of an authorised request, the reason of a denial.
fn audit_verdicts(store: &Store) -> Vec<Value> {
    event_records(store, "governance_audit")
        .iter()
        .map(|e| {
            let rec = &e["record"];
            match rec.get("denial_reason") {
                Some(reason) => reason.clone(),
                None => rec["decision"].clone(),
            }
        })
        .collect()
}

#[test]
fn govern_agent_admission_six_payloads() {
    let dir = tempfile::tempdir().unwrap();
    seed_license_facts(dir.path());
    for (payload, status) in [
        ("01_web_search_authorized.json", "EXIT_SUCCESS"),
        ("02_no_license.json", "EXIT_UNAUTHORIZED_ACTOR"),
        ("03_standard_requests_write.json", "EXIT_UNAUTHORIZED_TOOL"),
        ("04_enterprise_write_authorized.json", "EXIT_SUCCESS"),
        ("05_undeclared_tool.json", "EXIT_UNDECLARED_TOOL"),
        ("06_parameter_violation.json", "EXIT_PARAMETER_VIOLATION"),
    ] {
        let r = run(
            dir.path(),
            AI,
            "WF_GOVERN_AGENT_ADMISSION_V0",
            &format!("agent_admission/{payload}"),
        );
        govern_ended(&r, status, dir.path());
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(
        audit_verdicts(&store),
        [
            json!("AUTHORIZED"),
            json!("UNAUTHORIZED_ACTOR"),
            json!("UNAUTHORIZED_TOOL"),
            json!("AUTHORIZED"),
            json!("UNDECLARED_TOOL"),
            json!("PARAMETER_VIOLATION")
        ]
    );
}

#[test]
fn chain_register_verify_register_validator() {
    let dir = tempfile::tempdir().unwrap();
    let before = run(dir.path(), BC, "WF_VERIFY_ACTOR_V0", "verify_actor_payload.json");
    ended(&before, EndKind::Completed, "EXIT_NOT_FOUND");
    let reg = run(
        dir.path(),
        BC,
        "WF_REGISTER_ACTOR_UNVERIFIED_V0",
        "register_actor_unverified_payload.json",
    );
    ended(&reg, EndKind::Succeeded, "EXIT");
    let verify = run(dir.path(), BC, "WF_VERIFY_ACTOR_V0", "verify_actor_payload.json");
    ended(&verify, EndKind::Succeeded, "EXIT");
    assert_eq!(
        path(&verify),
        strs(&[
            "CC_RESOLVE_ACTOR_ID_V0__generate_kyc_key=SUCCESS",
            "CC_RESOLVE_ACTOR_ID_V0__resolve_actor_from_kyc=SUCCESS",
            "CC_RECORD_ACTOR_STATE_V0__record_state_transition=SUCCESS",
            "CC_APPEND_ACTOR_EVENT_V0__append_actor_event=SUCCESS",
            // The PGS protocol bug, as authored: PERSIST re-registers the id registration wrote.
            "CC_PERSIST_VERIFIED_ACTOR_V0__register_verified_actor=ALREADY_EXISTS",
        ])
    );
    for shipped in [
        "register_validator_payload.json",
        "register_validator_payload_fixed_actor_id.json",
    ] {
        let r = run(dir.path(), BC, "WF_REGISTER_VALIDATOR_V0", shipped);
        assert_eq!(r.end, EndKind::Rejected, "{shipped}");
    }
    let v1 = run(
        dir.path(),
        BC,
        "WF_REGISTER_VALIDATOR_V0",
        "register_validator_conforming.json",
    );
    ended(&v1, EndKind::Succeeded, "EXIT");
    assert_eq!(
        path(&v1),
        strs(&[
            "CC_CHECK_ACTOR_EXISTS_V0__check_actor_exists=SUCCESS",
            "CC_CHECK_VALIDATOR_EXISTS_V0__check_validator_exists=NOT_FOUND",
            "CC_WRITE_VALIDATOR_RECORD_V0__write_validator_record=SUCCESS",
            "CC_APPEND_VALIDATOR_EVENT_V0__append_validator_event=SUCCESS",
        ])
    );
    let store = Store::open(dir.path()).unwrap();
    assert!(store.state_get("validator", ACTOR).unwrap().is_some());
    let v2 = run(
        dir.path(),
        BC,
        "WF_REGISTER_VALIDATOR_V0",
        "register_validator_conforming.json",
    );
    ended(&v2, EndKind::Succeeded, "EXIT");
    assert_eq!(
        path(&v2).last().unwrap(),
        "CC_CHECK_VALIDATOR_EXISTS_V0__check_validator_exists=SUCCESS"
    );
}

/// How each committed PGS snapshot was imported (the command in docs/PGS.md).
struct Imported {
    snapshot: &'static str,
    domain: &'static str,
    workflows: &'static [&'static str],
    now: Option<&'static str>,
    seeds: &'static [&'static str],
}

const IMPORTS: &[Imported] = &[
    Imported {
        snapshot: BC,
        domain: "blockchain",
        workflows: &[
            "blockchain::WF_REGISTER_ACTOR_UNVERIFIED_V0",
            "blockchain::WF_VERIFY_ACTOR_V0",
            "blockchain::WF_REGISTER_VALIDATOR_V0",
        ],
        now: None,
        seeds: &[],
    },
    Imported {
        snapshot: AI,
        domain: "ai_governance",
        workflows: &[
            "ai_governance::WF_PROVISION_AI_LICENSING_V0",
            "ai_governance::WF_DENY_PROVISION_V0",
            "ai_governance::WF_AUTO_RECLAIM_V0",
            "ai_governance::WF_GOVERN_AGENT_ACTION_V0",
            "ai_governance::WF_GOVERN_AGENT_ADMISSION_V0",
            "ai_governance::WF_DEMO_COLLATZ_CONJECTURE_V0",
        ],
        now: Some("$.payload.context.current_date"),
        seeds: &["LICENSE_FACTS"],
    },
];

fn pgs_workspace() -> PathBuf {
    let ws = std::env::var_os("SEALED_PGS_WORKSPACE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/pgs/workspace"));
    assert!(
        ws.join("protocol_snapshot").is_dir(),
        "{} is missing: the PGS workspace comes with the shared reference material (../shared/pgs), or set \
         SEALED_PGS_WORKSPACE",
        ws.display()
    );
    ws
}

/// The committed sources are exactly what the importer makes of the workspace today, and sealing a fresh
/// import gives the committed snapshot digest: the snapshots cannot drift from the importer, and import is
/// deterministic end to end.
#[test]
fn committed_sources_equal_a_fresh_import_and_seal_to_the_same_digest() {
    for imp in IMPORTS {
        let workflows: Vec<String> = imp.workflows.iter().map(|s| s.to_string()).collect();
        let seeds: Vec<String> = imp.seeds.iter().map(|s| s.to_string()).collect();
        let req = sealed_host::import::pgs::ImportRequest {
            workspace: &pgs_workspace(),
            domain: imp.domain,
            workflows: &workflows,
            atoms: &root().join("capabilities/pgs/atoms.json"),
            side_effects: &root().join("capabilities/pgs/side_effects.json"),
            components: &root().join("target/components"),
            wasm_prefix: "../../target/components/",
            now: imp.now,
            seeds: &seeds,
        };
        let a = sealed_host::import::pgs::source_bytes(&sealed_host::import::pgs::import(&req).unwrap()).unwrap();
        let b = sealed_host::import::pgs::source_bytes(&sealed_host::import::pgs::import(&req).unwrap()).unwrap();
        assert_eq!(a, b, "{}: two imports differ", imp.snapshot);
        let dir = root().join("snapshots").join(imp.snapshot);
        let committed = std::fs::read(dir.join("source.json")).unwrap();
        assert!(
            a == committed,
            "{}: snapshots/{}/source.json is not what `host import pgs` makes of the workspace now; re-import it",
            imp.snapshot,
            imp.snapshot
        );
        // The wasm paths are relative to the source (`../../target/components/`): seal the fresh import from
        // a directory at the same depth, with `target` linked to the repository's.
        let tmp = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(root().join("target"), tmp.path().join("target")).unwrap();
        let src_dir = tmp.path().join("snapshots").join(imp.snapshot);
        std::fs::create_dir_all(&src_dir).unwrap();
        std::fs::write(src_dir.join("source.json"), &a).unwrap();
        let digest = sealed_host::sealing::seal(engine(), &src_dir.join("source.json"), &tmp.path().join("sealed"))
            .unwrap()
            .digest;
        let committed_digest = std::fs::read_to_string(dir.join("sealed/snapshot.digest")).unwrap();
        assert_eq!(format!("sha256:{digest}"), committed_digest.trim(), "{}", imp.snapshot);
    }
}

#[test]
fn collatz_three_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let proven = [
        "CC_COMPUTE_SEQUENCES_V0__compute_sequences=SUCCESS",
        "CC_VERIFY_TERMINATION_V0__check_termination=SUCCESS",
        // The CC's `evaluation:` (dropped by the PGS compiler) decides here.
        "CC_VERIFY_TERMINATION_V0__evaluate_conjecture=TRUE",
        "CC_STORE_RESULTS_V0__store_results=SUCCESS",
    ];
    let store = Store::open(dir.path()).unwrap();
    let one = run(
        dir.path(),
        AI,
        "WF_DEMO_COLLATZ_CONJECTURE_V0",
        "collatz_conjecture/02_single_number.json",
    );
    ended(&one, EndKind::Succeeded, "EXIT_CONJECTURE_PROVEN");
    assert_eq!(path(&one), strs(&proven));
    let stored: Value = serde_json::from_slice(
        &store
            .state_get("collatz_results", "collatz_results")
            .unwrap()
            .expect("written")
            .value,
    )
    .unwrap();
    assert_eq!(stored["all_terminate"], true);
    assert_eq!(
        stored["sequences"]["27"].as_array().map(Vec::len),
        Some(112),
        "27 takes 111 steps"
    );
    assert_eq!(stored["timestamp"], "{{timestamp}}", "stored literally, as PGS does");

    let happy = run(
        dir.path(),
        AI,
        "WF_DEMO_COLLATZ_CONJECTURE_V0",
        "collatz_conjecture/01_happy_path.json",
    );
    ended(&happy, EndKind::Succeeded, "EXIT_CONJECTURE_PROVEN");
    assert_eq!(path(&happy), strs(&proven));

    let bad = run(
        dir.path(),
        AI,
        "WF_DEMO_COLLATZ_CONJECTURE_V0",
        "collatz_conjecture/03_invalid_nack.json",
    );
    ended(&bad, EndKind::Completed, "EXIT_ERROR");
    assert_eq!(
        path(&bad),
        strs(&["CC_COMPUTE_SEQUENCES_V0__compute_sequences=VIOLATION"])
    );
}
