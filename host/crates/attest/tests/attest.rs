//! Keys, DSSE, snapshot signatures, run attestations and `verify_run`, including the tamper corpus:
//! every single-byte flip of the trace and of the attestation must make verification fail, with a
//! message naming the file (and line) that broke.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sealed_attest::dsse::{self, Envelope};
use sealed_attest::*;
use sealed_snapshot::canonical::{sha256_hex, to_vec};
use sealed_trace::*;
use serde_json::{Value, json};

const RUN_ID: &str = "r-attest";
const WORKFLOW: &str = "wf";

struct Keys {
    _dir: tempfile::TempDir,
    run: PrivateKey,
    snap: PrivateKey,
    trust: TrustRoot,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap();
    let run = keygen(dir.path(), Role::RunSigner, "run").unwrap();
    let snap = keygen(dir.path(), Role::SnapshotSigner, "snap").unwrap();
    let trust = TrustRoot::from_public_files(&[&run.public_path, &snap.public_path]).unwrap();
    Keys {
        run: load_private_key(&run.private_path).unwrap(),
        snap: load_private_key(&snap.private_path).unwrap(),
        trust,
        _dir: dir,
    }
}

/// A fake component: `load_verified` only hashes component bytes, it never parses them.
fn component_bytes(tag: &str) -> Vec<u8> {
    format!("\0asm fake component {tag}").into_bytes()
}

/// Writes a sealed snapshot by hand (workflow `wf`: a → b → done, both CT with one component) and
/// returns its directory, digest and component sha256.
fn write_snapshot(root: &Path, tag: &str) -> (PathBuf, String, String) {
    let dir = root.join(format!("snapshot-{tag}"));
    std::fs::create_dir_all(dir.join("components")).unwrap();
    let bytes = component_bytes(tag);
    let sha = sha256_hex(&bytes);
    std::fs::write(dir.join("components").join(format!("{sha}.wasm")), &bytes).unwrap();
    let limits = serde_json::to_value(sealed_snapshot::Limits::default()).unwrap();
    let task = |next: &str| {
        json!({"kind": "CT", "component": sha, "inputs": {}, "grants": [], "limits": limits,
               "next": {"SUCCESS": next}})
    };
    let manifest = json!({
        "format": "sealed-snapshot/v1",
        "name": format!("demo-{tag}"),
        "components": {sha.clone(): {"name": "comp", "world": "transform", "outcomes": ["SUCCESS"],
                                     "size": bytes.len()}},
        "workflows": {WORKFLOW: {"entry": "a", "admission": {"type": "object"}, "max_nodes_visited": 10,
            "nodes": {"a": task("b"), "b": task("done"),
                      "done": {"kind": "terminal", "status": "DONE", "ok": true}}}}
    });
    let manifest_bytes = to_vec(&manifest).unwrap();
    let digest = sha256_hex(&manifest_bytes);
    std::fs::write(dir.join("manifest.json"), &manifest_bytes).unwrap();
    std::fs::write(dir.join("snapshot.digest"), format!("sha256:{digest}\n")).unwrap();
    sealed_snapshot::load_verified(&dir).expect("the hand-written fixture snapshot verifies");
    (dir, digest, sha)
}

/// Writes `<root>/<run-id>/<run-id>.jsonl` for a run of `wf` over the given snapshot.
fn write_trace(root: &Path, run_id: &str, snapshot_digest: &str, component: &str, trust: &str) -> TraceSummary {
    let payload_digest = sealed_snapshot::canonical::digest_json(&json!({"a": 1})).unwrap();
    write_trace_with(root, run_id, snapshot_digest, component, trust, &payload_digest)
}

/// [`write_trace`] with the `payload_digest` it records (the right one, or not).
fn write_trace_with(
    root: &Path,
    run_id: &str,
    snapshot_digest: &str,
    component: &str,
    trust: &str,
    payload_digest: &str,
) -> TraceSummary {
    write_trace_ending(root, run_id, snapshot_digest, component, trust, payload_digest, &|_| {})
}

/// [`write_trace_with`], with `edit` applied to its `run_end` before it is written (and chained).
fn write_trace_ending(
    root: &Path,
    run_id: &str,
    snapshot_digest: &str,
    component: &str,
    trust: &str,
    payload_digest: &str,
    edit: &dyn Fn(&mut RunEnd),
) -> TraceSummary {
    let profile = json!({"wasmtime": "48.0.8"});
    let files = RunFiles::new(root, run_id);
    let mut w = TraceWriter::create(&files).unwrap();
    w.append(&TraceEvent::RunStart(RunStart {
        format: FORMAT.into(),
        run_id: run_id.into(),
        snapshot_name: Some("demo".into()),
        snapshot_digest: Some(snapshot_digest.into()),
        snapshot_trust: trust.into(),
        workflow: WORKFLOW.into(),
        payload_digest: Some(payload_digest.into()),
        payload: Some(json!({"a": 1})),
        engine_profile_digest: sealed_snapshot::canonical::digest_json(&profile).unwrap(),
        engine_profile: profile,
        host_version: "0.1.0".into(),
    }))
    .unwrap();
    w.append(&TraceEvent::Admission(Admission {
        ok: true,
        errors: vec![],
    }))
    .unwrap();
    for (node, fuel) in [("a", 42), ("b", 43)] {
        w.append(&TraceEvent::Node(NodeRecord {
            node: node.into(),
            kind: "CT".into(),
            component: component.into(),
            input_digest: Some("11".repeat(32)),
            outcome: Some("SUCCESS".into()),
            output_digest: Some("22".repeat(32)),
            output: Some(json!({"x": node})),
            fuel_used: fuel,
            storage: vec![],
            error: None,
        }))
        .unwrap();
    }
    let mut end = RunEnd {
        status: "DONE".into(),
        ok: true,
        terminal: Some("done".into()),
        error: None,
        path: vec!["a".into(), "b".into()],
        committed: true,
        ledger_before: Some("33".repeat(32)),
        // Both transforms wrote nothing: the empty write-set, chained as the store chains it.
        ledger_after: Some(sealed_ledger::next_ledger_head(
            &"33".repeat(32),
            run_id,
            &sealed_ledger::write_set_digest(&[]),
        )),
        write_set_digest: Some(sealed_ledger::write_set_digest(&[])),
    };
    edit(&mut end);
    w.append(&TraceEvent::RunEnd(end)).unwrap();
    w.finish().unwrap()
}

/// A trace with its attestation and the snapshot it ran on.
struct Run {
    tmp: tempfile::TempDir,
    keys: Keys,
    trace: PathBuf,
    attestation: PathBuf,
    snapshot: PathBuf,
}

fn attested_run() -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let keys = keys();
    let (snapshot, digest, component) = write_snapshot(tmp.path(), "one");
    let summary = write_trace(&tmp.path().join("traces"), RUN_ID, &digest, &component, "digest-file");
    let (_, attestation) = attest_run_to_file(&RunAttestationInputs::from_summary(&summary), &keys.run).unwrap();
    Run {
        tmp,
        keys,
        trace: summary.path,
        attestation,
        snapshot,
    }
}

/// The trust root a run verifier needs: the run-signer key only (one signature check per envelope,
/// which keeps the tamper corpus quick in debug builds).
fn run_trust(run: &Run) -> TrustRoot {
    TrustRoot::from_keys(vec![run.keys.trust.get(run.keys.run.keyid()).unwrap().clone()]).unwrap()
}

fn failed<'a>(report: &'a VerifyReport, name: &str) -> &'a Check {
    let check = report
        .check(name)
        .unwrap_or_else(|| panic!("no check {name}: {report:#?}"));
    assert!(!check.ok, "check {name} passed: {report:#?}");
    check
}

// ---------------------------------------------------------------------------------------------------
// DSSE

#[test]
fn pae_matches_the_dsse_spec_vector() {
    assert_eq!(
        pae("http://example.com/HelloWorld", b"hello world"),
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
    );
}

#[test]
fn sign_verify_round_trip_returns_the_signed_bytes() {
    let k = keys();
    let payload = br#"{"hello":"world"}"#;
    let env = Envelope::sign("application/example", payload, &k.run);
    let v = dsse::verify(&env, &k.trust, Role::RunSigner).unwrap();
    assert_eq!(v.payload, payload);
    assert_eq!(v.payload_type, "application/example");
    assert_eq!(v.keyid, k.run.keyid());
    assert_eq!(v.hint, k.run.keyid());

    // Through JSON and back.
    let parsed = Envelope::parse(&env.to_json().unwrap()).unwrap();
    assert_eq!(
        dsse::verify(&parsed, &k.trust, Role::RunSigner).unwrap().payload,
        payload
    );
}

#[test]
fn url_safe_and_unpadded_base64_are_accepted() {
    let k = keys();
    // A payload whose standard base64 contains '+' and '/'.
    let payload: Vec<u8> = (0u8..=255).collect();
    let mut env = Envelope::sign("t", &payload, &k.run);
    let url = |s: &str| s.replace('+', "-").replace('/', "_").trim_end_matches('=').to_string();
    assert!(env.payload.contains('+') || env.payload.contains('/'));
    env.payload = url(&env.payload);
    env.signatures[0].sig = url(&env.signatures[0].sig);
    assert_eq!(dsse::verify(&env, &k.trust, Role::RunSigner).unwrap().payload, payload);
}

#[test]
fn the_keyid_is_only_a_hint() {
    let k = keys();
    for hint in ["", "not-a-key", &"00".repeat(32)] {
        let mut env = Envelope::sign("t", b"x", &k.run);
        env.signatures[0].keyid = hint.to_string();
        let v = dsse::verify(&env, &k.trust, Role::RunSigner).unwrap();
        assert_eq!((v.keyid.as_str(), v.hint.as_str()), (k.run.keyid(), hint));
    }
}

#[test]
fn a_key_of_the_wrong_role_is_rejected() {
    let k = keys();
    let env = Envelope::sign("t", b"x", &k.snap);
    let e = dsse::verify(&env, &k.trust, Role::RunSigner).unwrap_err();
    assert_eq!(e.code(), "WRONG_ROLE", "{e}");
    assert!(e.to_string().contains(k.snap.keyid()), "{e}");

    // And signing with the wrong role is refused where the mistake is made.
    let tmp = tempfile::tempdir().unwrap();
    let (dir, digest, comp) = write_snapshot(tmp.path(), "role");
    let s = write_trace(tmp.path(), "r-role", &digest, &comp, "digest-file");
    assert_eq!(
        attest_run(&RunAttestationInputs::new(&s.path), &k.snap)
            .unwrap_err()
            .code(),
        "WRONG_ROLE"
    );
    assert_eq!(sign_snapshot(&dir, &k.run).unwrap_err().code(), "WRONG_ROLE");
}

#[test]
fn an_untrusted_key_is_rejected() {
    let k = keys();
    let stranger = PrivateKey::from_seed(&[7u8; 32], Role::RunSigner);
    let env = Envelope::sign("t", b"x", &stranger);
    let e = dsse::verify(&env, &k.trust, Role::RunSigner).unwrap_err();
    assert_eq!(e.code(), "UNTRUSTED_KEY", "{e}");
    assert!(e.to_string().contains(stranger.keyid()), "{e}");

    let e = dsse::verify(
        &Envelope::sign("t", b"x", &k.run),
        &TrustRoot::default(),
        Role::RunSigner,
    )
    .unwrap_err();
    assert_eq!(e.code(), "UNTRUSTED_KEY", "{e}");
}

#[test]
fn a_tampered_payload_type_or_signature_is_rejected() {
    let k = keys();
    let env = Envelope::sign("t", b"pay 100", &k.run);

    let mut t = env.clone();
    t.payload = b64(b"pay 900");
    assert_eq!(
        dsse::verify(&t, &k.trust, Role::RunSigner).unwrap_err().code(),
        "SIGNATURE_INVALID"
    );

    let mut t = env.clone();
    t.payload_type = "u".into();
    assert_eq!(
        dsse::verify(&t, &k.trust, Role::RunSigner).unwrap_err().code(),
        "SIGNATURE_INVALID"
    );

    let mut t = env.clone();
    t.signatures[0].sig = b64(&[0u8; 64]);
    assert_eq!(
        dsse::verify(&t, &k.trust, Role::RunSigner).unwrap_err().code(),
        "SIGNATURE_INVALID"
    );

    let mut t = env.clone();
    t.signatures[0].sig = b64(&[0u8; 63]);
    assert_eq!(
        dsse::verify(&t, &k.trust, Role::RunSigner).unwrap_err().code(),
        "SIGNATURE_INVALID"
    );

    let mut t = env.clone();
    t.signatures.clear();
    assert_eq!(
        dsse::verify(&t, &k.trust, Role::RunSigner).unwrap_err().code(),
        "SIGNATURE_INVALID"
    );

    let mut t = env;
    t.payload = "!!!".into();
    assert_eq!(
        dsse::verify(&t, &k.trust, Role::RunSigner).unwrap_err().code(),
        "ENVELOPE_INVALID"
    );

    // A renamed required field is still refused (as missing).
    let e = Envelope::parse(br#"{"payload":"","payloadTypo":"t","signatures":[]}"#).unwrap_err();
    assert_eq!(e.code(), "ENVELOPE_INVALID");
}

/// DSSE envelope.md: "Consumers MUST ignore unrecognized fields", on the envelope and on a signature.
/// Only `payload`, `payloadType` and `sig` are verified, so an extra field cannot change the outcome.
#[test]
fn unknown_envelope_and_signature_fields_are_ignored() {
    let k = keys();
    let env = Envelope::sign("t", b"pay 100", &k.run);
    let mut v: Value = serde_json::from_slice(&env.to_json().unwrap()).unwrap();
    v["extra"] = json!({"note": "added by some other tool"});
    v["signatures"][0]["extension"] = json!({"kind": "x", "ext": {}});
    let parsed = Envelope::parse(&serde_json::to_vec(&v).unwrap()).unwrap();
    let verified = dsse::verify(&parsed, &k.trust, Role::RunSigner).unwrap();
    assert_eq!(verified.payload, b"pay 100");

    // An absent keyid is the same as an empty one (DSSE): still verified, by trying the trusted keys.
    v["signatures"][0].as_object_mut().unwrap().remove("keyid");
    let parsed = Envelope::parse(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(parsed.signatures[0].keyid, "");
    assert!(dsse::verify(&parsed, &k.trust, Role::RunSigner).is_ok());

    // An extra field does not rescue an altered payload.
    v["payload"] = json!(b64(b"pay 900"));
    let parsed = Envelope::parse(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert!(dsse::verify(&parsed, &k.trust, Role::RunSigner).is_err());
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---------------------------------------------------------------------------------------------------
// Keys and trust roots

#[test]
fn keygen_writes_0600_refuses_to_overwrite_and_never_shows_the_seed() {
    let dir = tempfile::tempdir().unwrap();
    let info = keygen(dir.path(), Role::RunSigner, "ci").unwrap();
    let mode = std::fs::metadata(&info.private_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(info.keyid.len(), 64);
    assert_eq!(info.algorithm, "ed25519");

    let before = std::fs::read(&info.private_path).unwrap();
    let e = keygen(dir.path(), Role::RunSigner, "ci").unwrap_err();
    assert_eq!(e.code(), "KEY_EXISTS");
    assert_eq!(
        std::fs::read(&info.private_path).unwrap(),
        before,
        "the existing key was changed"
    );

    // A stray public file alone also blocks, and nothing is half-written.
    std::fs::write(dir.path().join("other.pub.json"), b"{}").unwrap();
    assert_eq!(
        keygen(dir.path(), Role::RunSigner, "other").unwrap_err().code(),
        "KEY_EXISTS"
    );
    assert!(!dir.path().join("other.key").exists());

    // The private file round-trips, its Debug hides the seed, and the keyid is the securesystemslib one.
    let key = load_private_key(&info.private_path).unwrap();
    assert_eq!(key.keyid(), info.keyid);
    assert_eq!(keyid_of(&key.verifying_key()), info.keyid);
    let file: Value = serde_json::from_slice(&before).unwrap();
    let seed = file["seed"].as_str().unwrap();
    assert!(!format!("{key:?}").contains(seed));
    assert!(!serde_json::to_string(&info).unwrap().contains(seed));
    let public: Value = serde_json::from_slice(&std::fs::read(&info.public_path).unwrap()).unwrap();
    assert_eq!(public["role"], "run-signer");
    assert_eq!(public["keyid"], info.keyid.as_str());

    // Readable by others: refused, like ssh does.
    std::fs::set_permissions(&info.private_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        load_private_key(&info.private_path).unwrap_err().code(),
        "KEY_PERMISSIONS"
    );

    assert_eq!(
        keygen(dir.path(), Role::RunSigner, "../escape").unwrap_err().code(),
        "KEY_NAME_INVALID"
    );
}

#[test]
fn a_private_key_whose_keyid_does_not_match_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let info = keygen(dir.path(), Role::RunSigner, "k").unwrap();
    let mut file: Value = serde_json::from_slice(&std::fs::read(&info.private_path).unwrap()).unwrap();
    file["keyid"] = json!("00".repeat(32));
    std::fs::write(&info.private_path, serde_json::to_vec(&file).unwrap()).unwrap();
    let e = load_private_key(&info.private_path).unwrap_err();
    assert_eq!(e.code(), "KEY_INVALID");
    assert!(!e.to_string().contains(file["seed"].as_str().unwrap()));
}

#[test]
fn trust_roots_load_and_refuse_mismatched_keyids_and_duplicates() {
    let k = keys();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trust.json");
    std::fs::write(&path, k.trust.to_json().unwrap()).unwrap();
    let loaded = TrustRoot::load(&path).unwrap();
    assert_eq!(loaded, k.trust);
    assert_eq!(loaded.get(k.run.keyid()).unwrap().role, Role::RunSigner);

    let mut v: Value = serde_json::from_slice(&k.trust.to_json().unwrap()).unwrap();
    let good = v.clone();
    v["keys"][0]["keyid"] = json!("ab".repeat(32));
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    let e = TrustRoot::load(&path).unwrap_err();
    assert_eq!(e.code(), "TRUST_ROOT_INVALID");
    assert!(e.to_string().contains("keys[0]"), "{e}");

    let mut v = good.clone();
    v["format"] = json!("sealed-trust/v2");
    assert!(
        TrustRoot::parse(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .contains("format")
    );

    let mut v = good.clone();
    let first = v["keys"][0].clone();
    v["keys"].as_array_mut().unwrap().push(first);
    assert!(
        TrustRoot::parse(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .contains("more than once")
    );

    let mut v = good;
    v["keys"][0]["public_key"] = json!("AAAA");
    assert!(
        TrustRoot::parse(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .contains("32 bytes")
    );
}

// ---------------------------------------------------------------------------------------------------
// Snapshot signatures

#[test]
fn a_signed_snapshot_verifies_and_any_manifest_change_is_refused() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    let (dir, digest, _) = write_snapshot(tmp.path(), "sig");

    assert_eq!(
        verify_snapshot_signature(&dir, &k.trust).unwrap_err().code(),
        "SIGNATURE_MISSING"
    );
    let path = sign_snapshot(&dir, &k.snap).unwrap();
    assert_eq!(path, dir.join(SIGNATURE_FILE));
    let st = verify_snapshot_signature(&dir, &k.trust).unwrap();
    assert_eq!(
        (st.keyid.as_str(), st.digest.as_str()),
        (k.snap.keyid(), digest.as_str())
    );
    assert_eq!(st.label(), format!("signed:{}", k.snap.keyid()));
    assert_eq!(sign_snapshot(&dir, &k.snap).unwrap_err().code(), "ATTESTATION_EXISTS");

    // The statement is what the module docs say.
    let env = Envelope::parse(&std::fs::read(&path).unwrap()).unwrap();
    let v = dsse::verify(&env, &k.trust, Role::SnapshotSigner).unwrap();
    let s = Statement::parse(&v.payload).unwrap();
    assert_eq!(
        (s.type_.as_str(), s.predicate_type.as_str()),
        (STATEMENT_TYPE, SNAPSHOT_PREDICATE)
    );
    assert_eq!(s.subject, vec![Subject::sha256("manifest.json", &digest)]);
    assert_eq!(s.predicate["name"], "demo-sig");

    // Only a run-signer trusted: untrusted. The snapshot key listed as run-signer: wrong role.
    let run_only = TrustRoot::from_keys(vec![k.trust.get(k.run.keyid()).unwrap().clone()]).unwrap();
    assert_eq!(
        verify_snapshot_signature(&dir, &run_only).unwrap_err().code(),
        "UNTRUSTED_KEY"
    );
    let mut demoted = k.trust.get(k.snap.keyid()).unwrap().clone();
    demoted.role = Role::RunSigner;
    let demoted = TrustRoot::from_keys(vec![demoted]).unwrap();
    assert_eq!(
        verify_snapshot_signature(&dir, &demoted).unwrap_err().code(),
        "WRONG_ROLE"
    );

    // A different (even valid, canonical) manifest no longer matches the signed subject.
    let manifest_path = dir.join("manifest.json");
    let mut m: Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    m["name"] = json!("renamed");
    let renamed = to_vec(&m).unwrap();
    std::fs::write(&manifest_path, &renamed).unwrap();
    // Without a matching snapshot.digest the manifest is refused before the signature is even looked at.
    let e = verify_snapshot_signature(&dir, &k.trust).unwrap_err();
    assert_eq!(e.code(), "SNAPSHOT_DIGEST_MISMATCH", "{e}");
    // With one, the signature's subject is what no longer matches.
    let digest = sealed_snapshot::canonical::sha256_hex(&renamed);
    std::fs::write(dir.join("snapshot.digest"), format!("sha256:{digest}\n")).unwrap();
    let e = verify_snapshot_signature(&dir, &k.trust).unwrap_err();
    assert_eq!(e.code(), "SUBJECT_MISMATCH", "{e}");
    assert!(e.to_string().contains("manifest.json"), "{e}");
}

// ---------------------------------------------------------------------------------------------------
// Run attestations and verify_run

const ALL_CHECKS: [&str; 19] = [
    "trace-file",
    "attestation-present",
    "attestation-signature",
    "attestation-keyid-hint",
    "payload-type",
    "statement-type",
    "predicate-type",
    "subject-trace-digest",
    "trace-chain",
    "subject-chain-head",
    "subjects",
    "run-id",
    "predicate-matches-trace",
    "recorded-digests",
    "recorded-ledger",
    "snapshot-verified",
    "snapshot-digest",
    "components-pinned",
    "snapshot-signature",
];

#[test]
fn an_attested_run_verifies_with_every_check_passing() {
    let run = attested_run();
    // The in-toto bundle name for the trace artifact `<run-id>.jsonl`.
    assert_eq!(
        run.attestation,
        run.trace.with_file_name(format!("{RUN_ID}.jsonl.intoto.jsonl"))
    );
    let report = verify_run(&run.trace, &run.keys.trust, Some(&run.snapshot));
    assert!(report.ok, "{report:#?}");
    let names: Vec<&str> = report.checks.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ALL_CHECKS);
    assert_eq!(report.run_id.as_deref(), Some(RUN_ID));
    assert_eq!(report.status.as_deref(), Some("DONE"));
    assert_eq!(report.signer.as_deref(), Some(run.keys.run.keyid()));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["checks"].as_array().unwrap().len(), ALL_CHECKS.len());

    // Without a snapshot, the snapshot checks are simply not part of the report.
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.checks.len(), 15);
}

#[test]
fn a_payload_digest_that_is_not_the_payloads_fails_verification() {
    // Signed, chained and attested as written, but the recorded digest is not the recorded payload's:
    // verify recomputes it instead of taking the trace's word.
    let tmp = tempfile::tempdir().unwrap();
    let keys = keys();
    let (_, digest, component) = write_snapshot(tmp.path(), "one");
    let summary = write_trace_with(
        &tmp.path().join("traces"),
        RUN_ID,
        &digest,
        &component,
        "digest-file",
        &"cd".repeat(32),
    );
    attest_run_to_file(&RunAttestationInputs::from_summary(&summary), &keys.run).unwrap();
    let report = verify_run(&summary.path, &keys.trust, None);
    assert!(!report.ok);
    let check = failed(&report, "recorded-digests");
    assert!(check.detail.contains("payload_digest is cdcd"), "{}", check.detail);
    assert!(report.check("attestation-signature").unwrap().ok);
}

#[test]
fn a_ledger_the_journal_does_not_imply_fails_verification() {
    // Each trace is chained and attested as written; what it says about the store is not what its
    // storage journal (empty: two transforms) implies, and verify recomputes it.
    type Edit<'a> = &'a dyn Fn(&mut RunEnd);
    let cases: [(&str, Edit, &str); 4] = [
        (
            "a-write-set",
            &|e| e.write_set_digest = Some("55".repeat(32)),
            "write(s) in the storage journal digest to",
        ),
        (
            "a-head",
            &|e| e.ledger_after = Some("44".repeat(32)),
            "but the head after",
        ),
        (
            "committed-without-terminal",
            &|e| e.terminal = None,
            "did not end at a terminal without error",
        ),
        (
            "uncommitted-but-moved",
            &|e| e.committed = false,
            "nothing was committed, yet",
        ),
    ];
    for (name, edit, expected) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let keys = keys();
        let (_, digest, component) = write_snapshot(tmp.path(), "one");
        let payload_digest = sealed_snapshot::canonical::digest_json(&json!({"a": 1})).unwrap();
        let run_id = format!("r-{name}");
        let summary = write_trace_ending(
            &tmp.path().join("traces"),
            &run_id,
            &digest,
            &component,
            "digest-file",
            &payload_digest,
            edit,
        );
        attest_run_to_file(&RunAttestationInputs::from_summary(&summary), &keys.run).unwrap();
        let report = verify_run(&summary.path, &keys.trust, None);
        assert!(!report.ok, "{name}: verified");
        let check = failed(&report, "recorded-ledger");
        assert!(check.detail.contains(expected), "{name}: {}", check.detail);
        assert!(report.check("trace-chain").unwrap().ok, "{name}");
        assert!(report.check("attestation-signature").unwrap().ok, "{name}");
    }
}

#[test]
fn the_statement_carries_the_documented_subjects_and_predicate() {
    let run = attested_run();
    let line = std::fs::read(&run.attestation).unwrap();
    assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1, "one envelope per line");
    let env = Envelope::parse(line.strip_suffix(b"\n").unwrap()).unwrap();
    let v = dsse::verify(&env, &run.keys.trust, Role::RunSigner).unwrap();
    assert_eq!(v.payload_type, IN_TOTO_PAYLOAD_TYPE);
    let s = Statement::parse(&v.payload).unwrap();
    assert_eq!(s.type_, STATEMENT_TYPE);
    assert_eq!(s.predicate_type, EXECUTION_PREDICATE);
    let trace = std::fs::read(&run.trace).unwrap();
    let verified = parse_and_verify(&trace).unwrap();
    assert_eq!(
        s.subject,
        vec![
            Subject::sha256(&format!("{RUN_ID}.jsonl"), &sha256_hex(&trace)),
            Subject::sha256("trace-chain-head", &verified.chain_head),
            Subject::sha256(
                "payload",
                &sealed_snapshot::canonical::digest_json(&json!({"a": 1})).unwrap()
            ),
            Subject::sha256(
                "ledger-after",
                &sealed_ledger::next_ledger_head(&"33".repeat(32), RUN_ID, &sealed_ledger::write_set_digest(&[]))
            ),
        ]
    );
    let p = &s.predicate;
    assert_eq!(p["run_id"], RUN_ID);
    assert_eq!(p["workflow"], WORKFLOW);
    assert_eq!(p["status"], "DONE");
    assert_eq!((p["ok"].clone(), p["committed"].clone()), (json!(true), json!(true)));
    assert_eq!(p["trace_lines"], 5);
    assert_eq!(
        p["engine_profile"],
        json!({
            "digest": sealed_snapshot::canonical::digest_json(&json!({"wasmtime": "48.0.8"})).unwrap(),
            "profile": {"wasmtime": "48.0.8"}
        })
    );
    assert_eq!(p["nodes"][1]["node"], "b");
    assert_eq!(p["nodes"][1]["fuel_used"], 43);
    assert_eq!(p["nodes"][1]["storage_calls"], 0);
    assert_eq!(p["nodes"][1]["outcome"], "SUCCESS");
    // The typed form reads back.
    let typed: ExecutionPredicate = serde_json::from_value(p.clone()).unwrap();
    assert_eq!(typed, execution_predicate(&verified).unwrap());
}

#[test]
fn attest_run_refuses_a_trace_that_changed_or_does_not_verify() {
    let k = keys();
    let tmp = tempfile::tempdir().unwrap();
    let s = write_trace(tmp.path(), "r-x", &"ab".repeat(32), &"00".repeat(32), "digest-file");

    let mut inputs = RunAttestationInputs::from_summary(&s);
    inputs.expected_chain_head = Some("00".repeat(32));
    assert_eq!(attest_run(&inputs, &k.run).unwrap_err().code(), "TRACE_MISMATCH");

    let mut bytes = std::fs::read(&s.path).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&s.path, &bytes).unwrap();
    let e = attest_run(&RunAttestationInputs::new(&s.path), &k.run).unwrap_err();
    assert_eq!(e.code(), "TRACE_CHAIN", "{e}");
    assert!(e.to_string().contains("line 1"), "{e}");

    // A trace renamed to another run id.
    let s = write_trace(tmp.path(), "r-y", &"ab".repeat(32), &"00".repeat(32), "digest-file");
    let renamed = s.path.with_file_name("r-z.jsonl");
    std::fs::rename(&s.path, &renamed).unwrap();
    assert_eq!(
        attest_run(&RunAttestationInputs::new(&renamed), &k.run)
            .unwrap_err()
            .code(),
        "TRACE_MISMATCH"
    );

    // Evidence is never overwritten.
    let s = write_trace(tmp.path(), "r-w", &"ab".repeat(32), &"00".repeat(32), "digest-file");
    attest_run_to_file(&RunAttestationInputs::from_summary(&s), &k.run).unwrap();
    let e = attest_run_to_file(&RunAttestationInputs::from_summary(&s), &k.run).unwrap_err();
    assert_eq!(e.code(), "ATTESTATION_EXISTS");
}

#[test]
fn a_missing_attestation_is_reported_and_the_chain_still_checked() {
    let run = attested_run();
    std::fs::remove_file(&run.attestation).unwrap();
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(!report.ok);
    let c = failed(&report, "attestation-present");
    assert!(
        c.detail.contains("ATTESTATION_MISSING") && c.detail.contains("r-attest.jsonl.intoto.jsonl"),
        "{c:?}"
    );
    assert!(report.check("trace-chain").unwrap().ok);
    assert!(
        failed(&report, "predicate-matches-trace")
            .detail
            .starts_with("not checked")
    );
}

#[test]
fn an_untrusted_or_wrong_role_signer_fails_verification() {
    let run = attested_run();
    let run_only = TrustRoot::from_keys(vec![run.keys.trust.get(run.keys.snap.keyid()).unwrap().clone()]).unwrap();
    let report = verify_run(&run.trace, &run_only, None);
    assert!(
        failed(&report, "attestation-signature")
            .detail
            .contains("UNTRUSTED_KEY"),
        "{report:#?}"
    );

    let mut demoted = run.keys.trust.get(run.keys.run.keyid()).unwrap().clone();
    demoted.role = Role::SnapshotSigner;
    let report = verify_run(&run.trace, &TrustRoot::from_keys(vec![demoted]).unwrap(), None);
    assert!(
        failed(&report, "attestation-signature").detail.contains("WRONG_ROLE"),
        "{report:#?}"
    );
}

/// Replaces the attestation with one over `statement`, signed by the trusted run key: what a buggy or
/// dishonest signer could produce. Signature checks pass; the trace comparisons must not.
fn resign(run: &Run, statement: &Statement) {
    let env = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement.to_payload().unwrap(), &run.keys.run);
    std::fs::remove_file(&run.attestation).unwrap();
    write_attestation(&run.trace, &[env]).unwrap();
}

fn statement_of(run: &Run) -> Statement {
    let bytes = std::fs::read(&run.trace).unwrap();
    execution_statement(RUN_ID, &bytes, &parse_and_verify(&bytes).unwrap()).unwrap()
}

#[test]
fn a_signed_predicate_that_disagrees_with_the_trace_names_the_field_and_line() {
    let run = attested_run();
    let mut s = statement_of(&run);
    s.predicate["nodes"][1]["fuel_used"] = json!(1);
    s.predicate["status"] = json!("REGISTERED");
    s.predicate["extra"] = json!(true);
    resign(&run, &s);
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(report.check("attestation-signature").unwrap().ok);
    let d = &failed(&report, "predicate-matches-trace").detail;
    assert!(
        d.contains("predicate.nodes[1].fuel_used: attested 1, the trace has 43 (trace line 4)"),
        "{d}"
    );
    assert!(
        d.contains("predicate.status: attested \"REGISTERED\", the trace has \"DONE\" (trace line 5, run_end)"),
        "{d}"
    );
    assert!(d.contains("predicate.extra"), "{d}");
    assert_eq!(report.failures().count(), 1, "{report:#?}");
}

#[test]
fn signed_subjects_that_disagree_with_the_trace_are_named() {
    let run = attested_run();
    let mut s = statement_of(&run);
    s.subject[1].digest.insert("sha256".into(), "00".repeat(32));
    s.subject[3].digest.insert("sha256".into(), "99".repeat(32));
    s.subject.push(Subject::sha256("bonus", &"11".repeat(32)));
    resign(&run, &s);
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(
        failed(&report, "subject-chain-head")
            .detail
            .contains("trace-chain-head")
    );
    let d = &failed(&report, "subjects").detail;
    assert!(d.contains("ledger-after") && d.contains("\"bonus\""), "{d}");
    assert_eq!(report.failures().count(), 2, "{report:#?}");

    // Wrong predicate type: reported exactly.
    let mut s = statement_of(&run);
    s.predicate_type = "https://sealed.dev/execution/v2".into();
    resign(&run, &s);
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(
        failed(&report, "predicate-type").detail.contains("execution/v2"),
        "{report:#?}"
    );
}

#[test]
fn the_wrong_snapshot_is_detected() {
    let run = attested_run();
    let (other, other_digest, _) = write_snapshot(run.tmp.path(), "two");
    let report = verify_run(&run.trace, &run.keys.trust, Some(&other));
    assert!(report.check("snapshot-verified").unwrap().ok);
    let d = &failed(&report, "snapshot-digest").detail;
    assert!(
        d.contains("predicate.snapshot_digest") && d.contains("line 1: snapshot_digest"),
        "{d}"
    );
    assert!(d.contains(&other_digest), "{d}");
    let d = &failed(&report, "components-pinned").detail;
    assert!(d.contains("line 3: node \"a\"") && d.contains("does not pin"), "{d}");

    // A snapshot whose component was swapped fails to load at all.
    let comp = std::fs::read_dir(run.snapshot.join("components"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&comp, b"evil").unwrap();
    let report = verify_run(&run.trace, &run.keys.trust, Some(&run.snapshot));
    assert!(
        failed(&report, "snapshot-verified")
            .detail
            .contains("COMPONENT_HASH_MISMATCH"),
        "{report:#?}"
    );
}

#[test]
fn a_claimed_snapshot_signature_is_checked() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let (dir, digest, comp) = write_snapshot(tmp.path(), "signed");
    let st_label = {
        sign_snapshot(&dir, &k.snap).unwrap();
        verify_snapshot_signature(&dir, &k.trust).unwrap().label()
    };
    let s = write_trace(&tmp.path().join("t"), "r-signed", &digest, &comp, &st_label);
    attest_run_to_file(&RunAttestationInputs::from_summary(&s), &k.run).unwrap();
    let report = verify_run(&s.path, &k.trust, Some(&dir));
    assert!(report.ok, "{report:#?}");
    assert!(
        report
            .check("snapshot-signature")
            .unwrap()
            .detail
            .contains(k.snap.keyid())
    );

    // The trace claims a different signer.
    let s = write_trace(
        &tmp.path().join("t"),
        "r-other",
        &digest,
        &comp,
        &format!("signed:{}", "ab".repeat(32)),
    );
    attest_run_to_file(&RunAttestationInputs::from_summary(&s), &k.run).unwrap();
    let report = verify_run(&s.path, &k.trust, Some(&dir));
    assert!(
        failed(&report, "snapshot-signature").detail.contains("signed by"),
        "{report:#?}"
    );
}

// ---------------------------------------------------------------------------------------------------
// Tamper corpus

/// Positions to flip: all of them, or an even sample plus both ends when the file is over 20 KB.
fn positions(len: usize) -> Vec<usize> {
    if len <= 20 * 1024 {
        return (0..len).collect();
    }
    let step = len / 4096 + 1;
    let mut p: Vec<usize> = (0..len).step_by(step).chain(0..64).chain(len - 64..len).collect();
    p.sort_unstable();
    p.dedup();
    p
}

#[test]
fn every_single_byte_flip_of_the_trace_fails_verification() {
    let run = attested_run();
    let trust = run_trust(&run);
    let original = std::fs::read(&run.trace).unwrap();
    let tp = run.trace.display().to_string();
    for i in positions(original.len()) {
        let mut t = original.clone();
        t[i] ^= 0x01;
        std::fs::write(&run.trace, &t).unwrap();
        let report = verify_run(&run.trace, &trust, None);
        assert!(!report.ok, "flip at trace byte {i} went unnoticed");
        let c = failed(&report, "subject-trace-digest");
        assert!(
            c.detail.contains(&tp) && c.detail.contains("hashes to"),
            "byte {i}: {c:?}"
        );
        // Independently of the file digest: a flip breaks the chain at a named line, or (in the last
        // line, which no later line hashes) still parses but moves the chain head off the signed one.
        let chain = report.check("trace-chain").unwrap();
        if chain.ok {
            let head = failed(&report, "subject-chain-head");
            assert!(
                head.detail.contains("trace-chain-head") && head.detail.contains("line 5"),
                "byte {i}: {head:?}"
            );
        } else {
            assert!(chain.detail.contains("trace line"), "byte {i}: {chain:?}");
        }
    }
    std::fs::write(&run.trace, &original).unwrap();
    assert!(verify_run(&run.trace, &trust, None).ok);
}

#[test]
fn every_single_byte_flip_of_the_attestation_fails_verification() {
    let run = attested_run();
    let trust = run_trust(&run);
    let original = std::fs::read(&run.attestation).unwrap();
    let ap = run.attestation.display().to_string();
    // The one exception: the name of the optional, unsigned `keyid` field. Flipping a bit there turns it
    // into an unknown field (ignored, DSSE) and leaves the hint unset (treated as empty, DSSE), so the
    // envelope still verifies; nothing signed changed. Checked to verify, not skipped.
    let key_name = original
        .windows(7)
        .position(|w| w == b"\"keyid\"")
        .map(|p| p + 1..p + 6)
        .unwrap();
    for i in positions(original.len()) {
        let mut t = original.clone();
        t[i] ^= 0x01;
        std::fs::write(&run.attestation, &t).unwrap();
        let report = verify_run(&run.trace, &trust, None);
        if key_name.contains(&i) {
            assert!(report.ok, "flip at byte {i} of the keyid field name: {report:#?}");
            continue;
        }
        assert!(!report.ok, "flip at attestation byte {i} went unnoticed");
        let first = report.failures().next().unwrap();
        assert!(first.detail.contains(&ap), "byte {i}: {first:?}");
    }
    std::fs::write(&run.attestation, &original).unwrap();
    assert!(verify_run(&run.trace, &trust, None).ok);
}

#[test]
fn deleting_reordering_or_truncating_trace_lines_fails_verification() {
    let run = attested_run();
    let original = std::fs::read(&run.trace).unwrap();
    let lines: Vec<&[u8]> = original[..original.len() - 1].split(|b| *b == b'\n').collect();
    let join = |ls: &[&[u8]]| {
        let mut out = ls.join(&b"\n"[..]);
        out.push(b'\n');
        out
    };
    let check = |bytes: &[u8], expect: &str| {
        std::fs::write(&run.trace, bytes).unwrap();
        let report = verify_run(&run.trace, &run.keys.trust, None);
        assert!(!report.ok);
        assert!(!report.check("subject-trace-digest").unwrap().ok);
        let chain = failed(&report, "trace-chain");
        assert!(chain.detail.contains(expect), "expected {expect:?} in {chain:?}");
    };

    let mut deleted = lines.clone();
    deleted.remove(2);
    check(&join(&deleted), "trace line 3: seq");

    let mut swapped = lines.clone();
    swapped.swap(2, 3);
    check(&join(&swapped), "trace line 3: seq");

    check(&join(&lines[..4]), "trace line 4: type");
    check(&original[..original.len() - 1], "trace line 0: file");

    let mut duplicated = lines.clone();
    duplicated.insert(3, lines[2]);
    check(&join(&duplicated), "trace line 4: seq");
}

#[test]
fn an_appended_envelope_must_also_verify_and_only_one_execution_statement_counts() {
    let run = attested_run();
    let original = std::fs::read(&run.attestation).unwrap();

    // Another statement by the trusted run key with a different predicate type is verified and ignored.
    let other = Statement::new(
        vec![Subject::sha256("x", &"00".repeat(32))],
        "https://example.com/other/v1",
        json!({}),
    );
    let env = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &other.to_payload().unwrap(), &run.keys.run);
    let mut bytes = original.clone();
    bytes.extend_from_slice(&env.to_json().unwrap());
    bytes.push(b'\n');
    std::fs::write(&run.attestation, &bytes).unwrap();
    assert!(verify_run(&run.trace, &run.keys.trust, None).ok);

    // A line from a key outside the trust root is ignored (bundle spec: "Consumers MUST ignore
    // attestations with unrecognized keys"), and named in the detail.
    let stranger = PrivateKey::from_seed(&[9u8; 32], Role::RunSigner);
    let env = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &other.to_payload().unwrap(), &stranger);
    let mut bytes = original.clone();
    bytes.extend_from_slice(&env.to_json().unwrap());
    bytes.push(b'\n');
    std::fs::write(&run.attestation, &bytes).unwrap();
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(report.ok, "{report:#?}");
    let sig = report.check("attestation-signature").unwrap();
    assert!(sig.detail.contains("ignored line 2: UNTRUSTED_KEY"), "{sig:?}");

    // ... but a line naming the trusted key whose signature fails (an edited envelope) is refused.
    let mut edited: Value = serde_json::from_slice(&env.to_json().unwrap()).unwrap();
    edited["signatures"][0]["keyid"] = json!(run.keys.run.keyid());
    let mut bytes = original.clone();
    bytes.extend_from_slice(&serde_json::to_vec(&edited).unwrap());
    bytes.push(b'\n');
    std::fs::write(&run.attestation, &bytes).unwrap();
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(
        failed(&report, "attestation-signature")
            .detail
            .contains("line 2: SIGNATURE_INVALID"),
        "{report:#?}"
    );

    // The execution statement twice: ambiguous, refused.
    let mut bytes = original.clone();
    bytes.extend_from_slice(&original);
    std::fs::write(&run.attestation, &bytes).unwrap();
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(
        failed(&report, "predicate-type").detail.contains("[1, 2]"),
        "{report:#?}"
    );
}

// ---------------------------------------------------------------------------------------------------
// Standard-tool conventions: securesystemslib keyids, PEM / securesystemslib key files, bundle naming,
// and what a bundle consumer must ignore.

/// The worked example in the README, computed independently with securesystemslib 1.6.0
/// (`SSlibKey.from_crypto(Ed25519PrivateKey.from_private_bytes(bytes([7]*32)).public_key()).keyid`).
#[test]
fn the_keyid_is_securesystemslibs_default_keyid() {
    let key = PrivateKey::from_seed(&[7u8; 32], Role::RunSigner);
    let public = key.verifying_key();
    assert_eq!(
        ssl_public_json(&public),
        r#"{"keytype":"ed25519","keyval":{"public":"ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"},"scheme":"ed25519"}"#
    );
    assert_eq!(
        key.keyid(),
        "bfe1a83869e5bf574e3ff3acbb83f840de84a990d10059f3096f0bf4f2b90c10"
    );
    assert_eq!(keyid_of(&public), sha256_hex(ssl_public_json(&public).as_bytes()));
    // The old form: sha256 of the raw key. Still matches, never produced.
    assert_eq!(
        legacy_keyid_of(&public),
        "fe812c12f3ab4ce6ac5db69ac352f906cb1b11ef43fb33e252ef7ff552263889"
    );
    assert!(keyid_matches(&legacy_keyid_of(&public), &public));
    assert!(!keyid_matches(&"fe".repeat(32), &public));
    // New signatures carry the new keyid.
    assert_eq!(Envelope::sign("t", b"x", &key).signatures[0].keyid, key.keyid());
}

/// Rewrites the `keyid` of a JSON key file to `keyid`.
fn set_keyid(path: &Path, keyid: &str) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["keyid"] = json!(keyid);
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

#[test]
fn key_files_and_trust_roots_with_the_old_keyid_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let info = keygen(dir.path(), Role::RunSigner, "old").unwrap();
    let key = load_private_key(&info.private_path).unwrap();
    let legacy = legacy_keyid_of(&key.verifying_key());
    set_keyid(&info.private_path, &legacy);
    set_keyid(&info.public_path, &legacy);
    // Loaded under the old keyid, used under the new one.
    assert_eq!(load_private_key(&info.private_path).unwrap().keyid(), info.keyid);
    let public = load_public_key(&info.public_path).unwrap();
    assert_eq!(public.keyid, info.keyid);

    let root = TrustRoot::from_keys(vec![PublicKey {
        keyid: legacy.clone(),
        ..public
    }])
    .unwrap();
    let mut v: Value = serde_json::from_slice(&root.to_json().unwrap()).unwrap();
    v["keys"][0]["keyid"] = json!(legacy);
    let root = TrustRoot::parse(&serde_json::to_vec(&v).unwrap()).unwrap();
    assert_eq!(root.get(&legacy).unwrap().keyid, info.keyid);
    assert_eq!(root.get(&info.keyid).unwrap().keyid, info.keyid);

    // A keyid that is neither form is still refused, naming both.
    set_keyid(&info.public_path, &"ab".repeat(32));
    let e = load_public_key(&info.public_path).unwrap_err();
    assert!(
        e.to_string().contains(&info.keyid) && e.to_string().contains(&legacy),
        "{e}"
    );
}

#[test]
fn a_bundle_whose_hint_is_the_old_keyid_still_verifies() {
    let run = attested_run();
    let legacy = legacy_keyid_of(&run.keys.run.verifying_key());
    let text = std::fs::read_to_string(&run.attestation).unwrap();
    assert!(text.contains(run.keys.run.keyid()));
    std::fs::write(&run.attestation, text.replace(run.keys.run.keyid(), &legacy)).unwrap();
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(report.ok, "{report:#?}");
    assert_eq!(report.signer.as_deref(), Some(run.keys.run.keyid()));
}

#[test]
fn a_trace_recording_the_snapshot_signer_by_its_old_keyid_still_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let k = keys();
    let (dir, digest, comp) = write_snapshot(tmp.path(), "signed-old");
    sign_snapshot(&dir, &k.snap).unwrap();
    let legacy = legacy_keyid_of(&k.snap.verifying_key());
    let s = write_trace(
        &tmp.path().join("t"),
        "r-old",
        &digest,
        &comp,
        &format!("signed:{legacy}"),
    );
    attest_run_to_file(&RunAttestationInputs::from_summary(&s), &k.run).unwrap();
    let report = verify_run(&s.path, &k.trust, Some(&dir));
    assert!(report.ok, "{report:#?}");
}

#[test]
fn keygen_writes_pem_and_securesystemslib_public_keys_that_trust_arguments_read_with_a_role() {
    let dir = tempfile::tempdir().unwrap();
    let info = keygen(dir.path(), Role::SnapshotSigner, "s").unwrap();
    assert_eq!(info.pem_path, dir.path().join("s.pub.pem"));
    assert_eq!(info.ssl_path, dir.path().join("s.pub.ssl.json"));
    let pem = std::fs::read_to_string(&info.pem_path).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    // The keyid is the sha256 of the securesystemslib file's canonical content (the file minus its newline).
    let ssl = std::fs::read(&info.ssl_path).unwrap();
    assert_eq!(sha256_hex(ssl.strip_suffix(b"\n").unwrap()), info.keyid);

    let key = load_private_key(&info.private_path).unwrap();
    for file in [&info.pem_path, &info.ssl_path] {
        let arg = PathBuf::from(format!("snapshot-signer={}", file.display()));
        let keys = load_trust_arg(&arg).unwrap();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].keyid, info.keyid);
        assert_eq!(keys[0].role, Role::SnapshotSigner);
        assert_eq!(keys[0].key, key.verifying_key());

        // No role: refused, saying how to give one.
        let e = load_trust_arg(file).unwrap_err();
        assert_eq!(e.code(), "TRUST_ROOT_INVALID");
        assert!(e.to_string().contains("--trust run-signer="), "{e}");
    }

    // The sealed public file carries its role: an agreeing prefix is fine, a conflicting one refused.
    let ok = PathBuf::from(format!("snapshot-signer={}", info.public_path.display()));
    assert_eq!(load_trust_arg(&ok).unwrap()[0].role, Role::SnapshotSigner);
    let bad = PathBuf::from(format!("run-signer={}", info.public_path.display()));
    let e = load_trust_arg(&bad).unwrap_err();
    assert!(e.to_string().contains("snapshot-signer key"), "{e}");

    // A trust root names a role per key: a prefix is ambiguous and refused.
    let root = dir.path().join("trust.json");
    std::fs::write(
        &root,
        TrustRoot::from_public_files(&[&info.public_path])
            .unwrap()
            .to_json()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(load_trust_arg(&root).unwrap().len(), 1);
    let e = load_trust_arg(&PathBuf::from(format!("run-signer={}", root.display()))).unwrap_err();
    assert!(e.to_string().contains("drop the `run-signer=` prefix"), "{e}");

    // The same key twice (PEM and .pub.json) is refused, as any duplicate.
    let e = TrustRoot::from_args(&[
        PathBuf::from(format!("snapshot-signer={}", info.pem_path.display())),
        info.public_path.clone(),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("more than once"), "{e}");

    // Something else entirely: named.
    let junk = dir.path().join("junk.json");
    std::fs::write(&junk, b"{\"hello\": 1}").unwrap();
    assert!(load_trust_arg(&junk).unwrap_err().to_string().contains(".pub.pem"));
    // A PEM of another key type is refused as a key error.
    let p256 = dir.path().join("p256.pem");
    std::fs::write(
        &p256,
        "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEVs/o5+uQbTjL3chynL4wXgUg2R9\nq9UU8I5mEovUf86QZ7kOBIjJwqnzD1omageEHWwHdBO6B+dFabmdT9POxg==\n-----END PUBLIC KEY-----\n",
    )
    .unwrap();
    let e = load_trust_arg(&PathBuf::from(format!("run-signer={}", p256.display()))).unwrap_err();
    assert_eq!(e.code(), "KEY_INVALID", "{e}");
}

#[test]
fn a_run_recorded_under_the_old_bundle_name_still_verifies() {
    let run = attested_run();
    let legacy = legacy_attestation_path(&run.trace).unwrap();
    assert_eq!(legacy, run.trace.with_file_name(format!("{RUN_ID}.intoto.jsonl")));
    std::fs::rename(&run.attestation, &legacy).unwrap();
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(report.ok, "{report:#?}");
    assert!(
        report
            .check("attestation-present")
            .unwrap()
            .detail
            .ends_with("r-attest.intoto.jsonl")
    );

    // When both exist the new name is read: a broken old file beside a good new one does not matter.
    std::fs::copy(&legacy, &run.attestation).unwrap();
    std::fs::write(&legacy, b"garbage\n").unwrap();
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(report.ok, "{report:#?}");
    assert_eq!(find_attestation(&run.trace).unwrap(), Some(run.attestation.clone()));
}

/// Appends `lines` to the run's bundle.
fn append(run: &Run, original: &[u8], lines: &[Vec<u8>]) {
    let mut bytes = original.to_vec();
    for l in lines {
        bytes.extend_from_slice(l);
        bytes.push(b'\n');
    }
    std::fs::write(&run.attestation, &bytes).unwrap();
}

#[test]
fn bundle_lines_that_are_not_for_this_trace_are_ignored() {
    let run = attested_run();
    let original = std::fs::read(&run.attestation).unwrap();

    // An execution statement by the trusted key about another trace: not for this one, ignored.
    let mut other = statement_of(&run);
    other.subject[0].name = "r-other.jsonl".into();
    other.predicate["run_id"] = json!("r-other");
    let env = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &other.to_payload().unwrap(), &run.keys.run);
    append(&run, &original, &[env.to_json().unwrap()]);
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(report.ok, "{report:#?}");
    let pt = report.check("predicate-type").unwrap();
    assert!(pt.detail.contains("ignored line(s) [2]"), "{pt:?}");

    // Lines that are not DSSE envelopes at all (some other tool's JSON, a blank line): ignored.
    append(
        &run,
        &original,
        &[b"{\"mediaType\":\"something/else\"}".to_vec(), Vec::new()],
    );
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(report.ok, "{report:#?}");
    let sig = report.check("attestation-signature").unwrap();
    assert!(sig.detail.contains("ignored line 2: not a DSSE envelope"), "{sig:?}");

    // Our own envelope with unknown fields added by another tool: still verifies.
    let mut v: Value = serde_json::from_slice(original.strip_suffix(b"\n").unwrap()).unwrap();
    v["x-annotations"] = json!({"by": "archiver"});
    v["signatures"][0]["x-cert"] = json!("none");
    std::fs::write(
        &run.attestation,
        [serde_json::to_vec(&v).unwrap(), b"\n".to_vec()].concat(),
    )
    .unwrap();
    assert!(verify_run(&run.trace, &run.keys.trust, None).ok);

    // Only other artifacts' statements: nothing is for this trace, refused with what was ignored.
    std::fs::write(&run.attestation, [env.to_json().unwrap(), b"\n".to_vec()].concat()).unwrap();
    let report = verify_run(&run.trace, &run.keys.trust, None);
    let d = &failed(&report, "predicate-type").detail;
    assert!(
        d.contains("subject \"r-attest.jsonl\"") && d.contains("ignored line(s) [1]"),
        "{d}"
    );
}

#[test]
fn what_changes_the_signed_content_is_still_refused_next_to_ignored_lines() {
    let run = attested_run();
    let original = std::fs::read(&run.attestation).unwrap();
    let ignorable = b"{\"not\":\"an envelope\"}".to_vec();
    let ours: Value = serde_json::from_slice(original.strip_suffix(b"\n").unwrap()).unwrap();

    // A changed payload or payloadType under our keyid: the signature fails, the bundle is refused.
    let mut payload = ours.clone();
    let mut statement = statement_of(&run);
    statement.predicate["status"] = json!("REGISTERED");
    payload["payload"] = json!(b64(&statement.to_payload().unwrap()));
    let mut payload_type = ours.clone();
    payload_type["payloadType"] = json!("application/json");
    for edited in [payload, payload_type] {
        std::fs::write(
            &run.attestation,
            [
                ignorable.clone(),
                b"\n".to_vec(),
                serde_json::to_vec(&edited).unwrap(),
                b"\n".to_vec(),
            ]
            .concat(),
        )
        .unwrap();
        let report = verify_run(&run.trace, &run.keys.trust, None);
        assert!(
            failed(&report, "attestation-signature")
                .detail
                .contains("line 2: SIGNATURE_INVALID"),
            "{report:#?}"
        );
    }

    // A second, disagreeing statement for this trace by the trusted key: ambiguous, refused.
    let env = Envelope::sign(IN_TOTO_PAYLOAD_TYPE, &statement.to_payload().unwrap(), &run.keys.run);
    append(&run, &original, &[ignorable, env.to_json().unwrap()]);
    let report = verify_run(&run.trace, &run.keys.trust, None);
    assert!(
        failed(&report, "predicate-type").detail.contains("[1, 3]"),
        "{report:#?}"
    );
}
