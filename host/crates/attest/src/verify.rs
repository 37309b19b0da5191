//! Offline verification of a run: trace + attestation (+ optionally the snapshot) against a trust root.
//!
//! [`verify_run`] never stops at the first problem: it runs every check it can and reports each one
//! with pass/fail and a message naming the file, line and field that did not match. A check whose
//! inputs are unavailable (because an earlier one failed) is reported as failed with `not checked: …`,
//! so `ok` is true only when every check actually ran and passed.
//!
//! Checks, in order (the `name` of each [`Check`]):
//!
//! 1. `trace-file`: the trace is readable and named `<run-id>.jsonl`.
//! 2. `attestation-present`: the bundle `<run-id>.jsonl.intoto.jsonl` exists in the same directory (or,
//!    for runs recorded before that name, `<run-id>.intoto.jsonl`).
//! 3. `attestation-signature`: at least one line is a DSSE envelope signed by a trusted **run-signer**
//!    key, and no line is one of ours edited: a signature naming a trusted key that does not verify, a
//!    trusted key of the wrong role, or a malformed payload/signature fails. As the in-toto bundle spec
//!    requires, lines that are not DSSE envelopes and envelopes from keys outside the trust root are
//!    ignored (listed in the detail), and so are unknown fields in an envelope (DSSE).
//! 4. `attestation-keyid-hint`: each signature's keyid hint names the key that verified (in either keyid
//!    form). DSSE treats the hint as unauthenticated (and an absent one as empty, which passes), and
//!    [`crate::dsse::verify`] tries every key when it misses; but this project's signer always writes
//!    the right hint, so a wrong one means the file was edited.
//! 5. `payload-type`: `application/vnd.in-toto+json`.
//! 6. `statement-type`: `_type` is exactly `https://in-toto.io/Statement/v1`.
//! 7. `predicate-type`: exactly one statement has predicateType `https://sealed.dev/execution/v1` and a
//!    subject named `<run-id>.jsonl`. Statements of other predicate types, and execution statements
//!    about other artifacts, are ignored (bundle spec: unrecognised predicates and subjects).
//! 8. `subject-trace-digest`: subject `<run-id>.jsonl` = sha256 of the trace bytes.
//! 9. `trace-chain`: `sealed_trace::parse_and_verify` (line and field on failure).
//! 10. `subject-chain-head`: subject `trace-chain-head` = the recomputed chain head.
//! 11. `subjects`: `payload` and `ledger-after` are exactly those the trace implies, nothing else.
//! 12. `run-id`: the file name, `run_start.run_id` and the predicate's `run_id` agree.
//! 13. `predicate-matches-trace`: the predicate equals the one recomputed from the trace, field by field
//!     (run_id, workflow, status, snapshot_digest, each node's outcome/fuel/storage calls, …).
//! 14. `recorded-digests`: `run_start.payload_digest` and `engine_profile_digest` equal the digests of the
//!     payload and the engine profile recorded beside them (recomputed, never taken from the trace).
//! 15. `recorded-ledger`: `run_end.committed` and the ledger it records follow from the journal: a
//!     committed run reached a terminal without error, its `write_set_digest` is the digest of the writes
//!     its storage journal made (`sealed_ledger::write_of`, as the store computed it) and its
//!     `ledger_after` chains from `ledger_before` over that digest; a run that committed nothing records no
//!     write-set and leaves the ledger where it was. Only `ledger_before` (prior state) is taken as recorded.
//!
//! With a snapshot directory:
//!
//! 16. `snapshot-verified`: the snapshot loads (`manifest.json` read once; when the trace claims a signed
//!     snapshot, its signature is checked over those bytes first, and an unauthenticated manifest is not
//!     parsed at all).
//! 17. `snapshot-digest`: its digest = the predicate's `snapshot_digest` = `run_start.snapshot_digest`.
//! 18. `components-pinned`: every node's component in the trace is pinned by the manifest, at that node
//!     of that workflow.
//! 19. `snapshot-signature`: when `run_start.snapshot_trust` is `signed:<keyid>` (either keyid form),
//!     `snapshot.sig.json` verifies against the trust root's snapshot-signer keys and was made by that key.
//!
//! With the auditor policy [`VerifyReport::require_signed_snapshot`] (`host verify
//! --require-signed-snapshot`):
//!
//! 20. `snapshot-trust`: the run verified a snapshot signature (it did not use the development opt-out).
//!
//! This module must never read a data root, run Wasm, or reach the network.

use std::path::Path;

use sealed_snapshot::VerifiedSnapshot;
use sealed_snapshot::canonical::sha256_hex;
use sealed_trace::{TraceEvent, VerifiedTrace, parse_and_verify_observed};
use serde::Serialize;
use serde_json::Value;

use crate::dsse::{Envelope, VerifiedPayload, verify};
use crate::error::AttestError;
use crate::keys::Role;
use crate::run::{
    CHAIN_HEAD_SUBJECT, attestation_path, execution_predicate, execution_subjects, find_attestation, run_id_of,
};
use crate::snapshot_sig::{SIGNATURE_FILE, read_capped, verify_snapshot_signature_over};
use crate::statement::{EXECUTION_PREDICATE, IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE, Statement};
use crate::trust::TrustRoot;

/// Traces and bundles larger than these are refused unread (a verifier must not be made to exhaust
/// memory by a hostile file).
const MAX_TRACE_BYTES: u64 = sealed_trace::MAX_TRACE_BYTES;
const MAX_ATTESTATION_BYTES: u64 = 64 << 20;
/// Values quoted in a message are cut to this many characters.
const MAX_QUOTE: usize = 160;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// True only if every check ran and passed.
    pub ok: bool,
    /// From the trace's file name.
    pub run_id: Option<String>,
    /// The run's final status, from the verified trace (or the attestation if the trace did not verify).
    pub status: Option<String>,
    /// The trusted run-signer key that signed the execution statement.
    pub signer: Option<String>,
    /// How the run established the snapshot's authenticity, from the verified trace's `run_start`:
    /// `signed:<keyid>`, or the development opt-out (`UNSIGNED …`), which an auditor should see.
    pub snapshot_trust: Option<String>,
    pub checks: Vec<Check>,
}

impl VerifyReport {
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.ok)
    }
    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }

    /// Auditor policy: the run must have used a snapshot signed by a trusted snapshot signer (not the
    /// development opt-out). Adds the `snapshot-trust` check; `ok` then also requires it.
    pub fn require_signed_snapshot(&mut self) {
        let (ok, detail) = match self.snapshot_trust.as_deref() {
            Some(t) if t.starts_with("signed:") => (true, format!("the run verified the snapshot signature ({t})")),
            Some(t) => (
                false,
                format!("the run did not verify a snapshot signature: run_start.snapshot_trust is {t:?}"),
            ),
            None => (false, "not checked: the trace did not verify".to_string()),
        };
        self.checks.push(Check {
            name: "snapshot-trust".into(),
            ok,
            detail,
        });
        self.ok &= ok;
    }
}

#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn push(&mut self, name: &str, ok: bool, detail: impl Into<String>) {
        self.0.push(Check {
            name: name.to_string(),
            ok,
            detail: detail.into(),
        });
    }
    fn pass(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, true, detail);
    }
    fn fail(&mut self, name: &str, detail: impl Into<String>) {
        self.push(name, false, detail);
    }
    fn skip(&mut self, name: &str, why: &str) {
        self.push(name, false, format!("not checked: {why}"));
    }
    /// Passes with `ok_detail` when `problems` is empty, else fails listing them all.
    fn all(&mut self, name: &str, problems: Vec<String>, ok_detail: impl Into<String>) {
        if problems.is_empty() {
            self.pass(name, ok_detail);
        } else {
            self.fail(name, problems.join("; "));
        }
    }
}

fn quote(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= MAX_QUOTE {
        s
    } else {
        format!("{}…", s.chars().take(MAX_QUOTE).collect::<String>())
    }
}

/// A parsed statement: (bundle line, signing keyid, statement).
type LineStatement = (usize, String, Statement);

/// A statement from one bundle line, with where it came from.
struct Line {
    n: usize,
    verified: VerifiedPayload,
}

/// Verifies a run offline. See the module docs for the checks.
pub fn verify_run(trace_path: &Path, trust: &TrustRoot, snapshot: Option<&Path>) -> VerifyReport {
    verify_run_observed(trace_path, trust, snapshot, &mut |_, _| {})
}

/// [`verify_run`], calling `on_line(done, total)` as the trace's hash chain is checked line by line (the
/// part that grows with the trace): progress for a large verify.
pub fn verify_run_observed(
    trace_path: &Path,
    trust: &TrustRoot,
    snapshot: Option<&Path>,
    on_line: &mut dyn FnMut(usize, usize),
) -> VerifyReport {
    let mut c = Checks::default();
    let tp = trace_path.display().to_string();

    // 1. The trace file.
    let run_id = run_id_of(trace_path).ok();
    let trace_bytes = read_capped(trace_path, MAX_TRACE_BYTES);
    match (&run_id, &trace_bytes) {
        (Some(id), Ok(bytes)) => c.pass("trace-file", format!("{tp}: run {id}, {} bytes", bytes.len())),
        (None, _) => c.fail("trace-file", format!("{tp}: the file name is not `<run-id>.jsonl`")),
        (_, Err(e)) => c.fail("trace-file", format!("{tp}: {e}")),
    }
    let trace_bytes = trace_bytes.ok();

    // 2. The attestation next to it: the bundle name, or the one runs used before it.
    let att_path = match run_id.as_ref().map(|_| find_attestation(trace_path)) {
        Some(Ok(found)) => Some(found),
        _ => None,
    };
    let ap = att_path
        .as_ref()
        .and_then(|p| p.as_ref())
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let att_bytes = match &att_path {
        None => {
            c.skip("attestation-present", "the run id is unknown (see trace-file)");
            None
        }
        Some(None) => {
            let expected = attestation_path(trace_path)
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            c.fail(
                "attestation-present",
                format!("ATTESTATION_MISSING: {expected} does not exist (nor the older <run-id>.intoto.jsonl)"),
            );
            None
        }
        Some(Some(p)) => match read_capped(p, MAX_ATTESTATION_BYTES) {
            Ok(bytes) => {
                c.pass("attestation-present", ap.clone());
                Some(bytes)
            }
            Err(e) => {
                c.fail("attestation-present", format!("{e}"));
                None
            }
        },
    };

    // 3. Every line's envelope and signature. The bundle spec says consumers MUST ignore lines they do
    // not recognise and attestations by keys they do not know; such lines are listed, not failed. What
    // can only come from editing our own lines is refused: a signature that names a trusted key but
    // does not verify (payload, payloadType or sig changed), a trusted key of the wrong role, a
    // malformed payload or signature.
    let mut lines: Vec<Line> = Vec::new();
    let mut ignored: Vec<String> = Vec::new();
    match &att_bytes {
        None => c.skip("attestation-signature", "no attestation to read"),
        Some(bytes) => {
            let mut problems = Vec::new();
            if bytes.is_empty() {
                problems.push(format!("{ap}: the file is empty"));
            } else if !bytes.ends_with(b"\n") {
                problems.push(format!("{ap}: does not end with a newline (truncated or edited?)"));
            }
            let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
            // An empty file has no lines (splitting it would yield one empty "line").
            let raw_lines = if bytes.is_empty() {
                Vec::new()
            } else {
                body.split(|b| *b == b'\n').collect()
            };
            for (i, raw) in raw_lines.into_iter().enumerate() {
                let n = i + 1;
                if raw.is_empty() {
                    ignored.push(format!("line {n}: empty"));
                    continue;
                }
                let envelope = match Envelope::parse(raw) {
                    Ok(e) => e,
                    Err(e) => {
                        ignored.push(format!("line {n}: not a DSSE envelope ({e})"));
                        continue;
                    }
                };
                match verify(&envelope, trust, Role::RunSigner) {
                    Ok(verified) => lines.push(Line { n, verified }),
                    Err(e @ AttestError::UntrustedKey { .. }) => {
                        ignored.push(format!("line {n}: {}: {e}", e.code()));
                    }
                    Err(e) => problems.push(format!("{ap} line {n}: {}: {e}", e.code())),
                }
            }
            let mut signers: Vec<String> = lines
                .iter()
                .map(|l| format!("line {}: trusted run-signer {}", l.n, l.verified.keyid))
                .collect();
            if problems.is_empty() && lines.is_empty() {
                // Nothing verified: what was ignored is the reason, so it is the failure.
                problems.push(format!("{ap}: no envelope signed by a trusted run-signer key"));
                problems.extend(ignored.iter().map(|i| format!("{ap} {i}")));
            } else if !ignored.is_empty() {
                signers.push(format!("ignored {}", ignored.join("; ")));
            }
            c.all("attestation-signature", problems, signers.join("; "));
        }
    }

    // 4. The keyid hints.
    if lines.is_empty() {
        c.skip("attestation-keyid-hint", "no verified envelope");
    } else {
        let problems = lines
            .iter()
            .filter(|l| !l.verified.hint.is_empty() && !l.verified.hint_names_signer)
            .map(|l| {
                format!(
                    "{ap} line {}: signatures[].keyid is {:?} but the signature was made by {} \
                     (the envelope was edited after signing)",
                    l.n, l.verified.hint, l.verified.keyid
                )
            })
            .collect();
        c.all(
            "attestation-keyid-hint",
            problems,
            "every keyid hint names its signing key",
        );
    }

    // 5-7. Types. Only the verified payload bytes are parsed from here on.
    let mut statements: Vec<LineStatement> = Vec::new();
    if lines.is_empty() {
        c.skip("payload-type", "no verified envelope");
        c.skip("statement-type", "no verified envelope");
        c.skip("predicate-type", "no verified envelope");
    } else {
        let mut type_problems = Vec::new();
        let mut stmt_problems = Vec::new();
        for l in &lines {
            if l.verified.payload_type != IN_TOTO_PAYLOAD_TYPE {
                type_problems.push(format!(
                    "{ap} line {}: payloadType is {:?}, expected {IN_TOTO_PAYLOAD_TYPE:?}",
                    l.n, l.verified.payload_type
                ));
                continue;
            }
            match Statement::parse(&l.verified.payload) {
                Ok(s) if s.type_ == STATEMENT_TYPE => statements.push((l.n, l.verified.keyid.clone(), s)),
                Ok(s) => stmt_problems.push(format!(
                    "{ap} line {}: _type is {:?}, expected {STATEMENT_TYPE:?}",
                    l.n, s.type_
                )),
                Err(e) => stmt_problems.push(format!("{ap} line {}: {e}", l.n)),
            }
        }
        c.all("payload-type", type_problems, IN_TOTO_PAYLOAD_TYPE);
        c.all("statement-type", stmt_problems, STATEMENT_TYPE);
    }
    // An execution statement about another artifact (no subject named for this trace) is not for this
    // trace: ignored, as the bundle spec says of unrecognised subjects. One that names this trace is
    // checked in full below, so it cannot disagree unnoticed.
    let trace_subject = run_id.as_ref().map(|id| format!("{id}.jsonl"));
    let (execution, elsewhere): (Vec<&LineStatement>, Vec<&LineStatement>) = statements
        .iter()
        .filter(|(_, _, s)| s.predicate_type == EXECUTION_PREDICATE)
        .partition(|(_, _, s)| {
            trace_subject
                .as_deref()
                .is_none_or(|name| s.subjects_named(name).next().is_some())
        });
    let elsewhere_note = if elsewhere.is_empty() {
        String::new()
    } else {
        let ns: Vec<usize> = elsewhere.iter().map(|(n, _, _)| *n).collect();
        format!(
            "; ignored line(s) {ns:?}: execution statements about other artifacts (no subject {:?})",
            trace_subject.as_deref().unwrap_or_default()
        )
    };
    let stmt = match execution.as_slice() {
        [one] => {
            c.pass(
                "predicate-type",
                format!("{EXECUTION_PREDICATE} (line {}){elsewhere_note}", one.0),
            );
            Some(*one)
        }
        [] if lines.is_empty() => None,
        [] => {
            let found: Vec<String> = statements
                .iter()
                .map(|(n, _, s)| format!("line {n}: {:?}", s.predicate_type))
                .collect();
            c.fail(
                "predicate-type",
                format!(
                    "{ap}: no statement has predicateType {EXECUTION_PREDICATE:?} and a subject {:?} (found \
                     {found:?}){elsewhere_note}",
                    trace_subject.as_deref().unwrap_or_default()
                ),
            );
            None
        }
        many => {
            let ns: Vec<usize> = many.iter().map(|(n, _, _)| *n).collect();
            c.fail(
                "predicate-type",
                format!("{ap}: lines {ns:?} each carry an execution statement for this trace; expected exactly one"),
            );
            None
        }
    };
    let signer = stmt.map(|(_, k, _)| k.clone());
    let stmt = stmt.map(|(n, _, s)| (*n, s));

    // 8. The trace file digest.
    let subject_digest = |s: &Statement, name: &str| -> Result<String, String> {
        let found: Vec<_> = s.subjects_named(name).collect();
        match found.as_slice() {
            [one] => one
                .sha256_digest()
                .map(String::from)
                .ok_or_else(|| format!("subject {name} has no sha256 digest")),
            other => Err(format!(
                "expected exactly one subject named {name:?}, found {}",
                other.len()
            )),
        }
    };
    match (stmt, &trace_bytes, &run_id) {
        (Some((n, s)), Some(bytes), Some(id)) => {
            let name = format!("{id}.jsonl");
            let actual = sha256_hex(bytes);
            match subject_digest(s, &name) {
                Ok(d) if d == actual => c.pass("subject-trace-digest", format!("{name} sha256 {actual}")),
                Ok(d) => c.fail(
                    "subject-trace-digest",
                    format!(
                        "{ap} line {n}: subject {name} has sha256 {d}, but {tp} hashes to {actual} \
                         (the trace was changed after it was attested)"
                    ),
                ),
                Err(e) => c.fail("subject-trace-digest", format!("{ap} line {n}: {e}")),
            }
        }
        _ => c.skip(
            "subject-trace-digest",
            "needs both the trace and a verified execution statement",
        ),
    }

    // 9. The chain, independent of the attestation.
    let total_lines = trace_bytes
        .as_ref()
        .map_or(0, |b| b.iter().filter(|x| **x == b'\n').count());
    let trace: Option<VerifiedTrace> = match &trace_bytes {
        None => {
            c.skip("trace-chain", "the trace could not be read");
            None
        }
        Some(bytes) => match parse_and_verify_observed(bytes, &mut |n| on_line(n, total_lines)) {
            Ok(t) => {
                c.pass(
                    "trace-chain",
                    format!("{} lines, chain head {}", t.lines.len(), t.chain_head),
                );
                Some(t)
            }
            Err(e) => {
                c.fail("trace-chain", format!("{tp}: {e}"));
                None
            }
        },
    };

    // 10. The chain head.
    match (stmt, &trace) {
        (Some((n, s)), Some(t)) => match subject_digest(s, CHAIN_HEAD_SUBJECT) {
            Ok(d) if d == t.chain_head => c.pass("subject-chain-head", d),
            Ok(d) => c.fail(
                "subject-chain-head",
                format!(
                    "{ap} line {n}: subject {CHAIN_HEAD_SUBJECT} is {d}, but the chain of {tp} ends at {} (line {})",
                    t.chain_head,
                    t.lines.len()
                ),
            ),
            Err(e) => c.fail("subject-chain-head", format!("{ap} line {n}: {e}")),
        },
        _ => c.skip(
            "subject-chain-head",
            "needs a verified trace and a verified execution statement",
        ),
    }

    // 11. The other subjects.
    match (stmt, &trace, &trace_bytes, &run_id) {
        (Some((n, s)), Some(t), Some(bytes), Some(id)) => {
            let trace_name = format!("{id}.jsonl");
            let expected = execution_subjects(id, bytes, t);
            let mut problems = Vec::new();
            for e in expected
                .iter()
                .filter(|e| e.name != trace_name && e.name != CHAIN_HEAD_SUBJECT)
            {
                let want = e.sha256_digest().unwrap_or_default();
                match subject_digest(s, &e.name) {
                    Ok(d) if d == want => {}
                    Ok(d) => problems.push(format!("subject {} is {d}, but the trace records {want}", e.name)),
                    Err(err) => problems.push(format!("{err} (the trace records {want})")),
                }
            }
            for extra in s.subject.iter().filter(|a| !expected.iter().any(|e| e.name == a.name)) {
                problems.push(format!("subject {:?} is not implied by the trace", extra.name));
            }
            let problems = problems.into_iter().map(|p| format!("{ap} line {n}: {p}")).collect();
            let names: Vec<&str> = expected.iter().map(|e| e.name.as_str()).collect();
            c.all("subjects", problems, names.join(", "));
        }
        _ => c.skip("subjects", "needs a verified trace and a verified execution statement"),
    }

    // 12. The run id, three ways.
    match (&run_id, &trace) {
        (Some(id), Some(t)) => {
            let mut problems = Vec::new();
            if let Some(start) = t.run_start().filter(|s| &s.run_id != id) {
                problems.push(format!(
                    "{tp} line 1: run_id is {:?}, but the file is named for {id:?}",
                    start.run_id
                ));
            }
            match stmt.map(|(n, s)| (n, s.predicate.get("run_id"))) {
                Some((_, Some(Value::String(p)))) if p == id => {}
                Some((n, other)) => problems.push(format!(
                    "{ap} line {n}: predicate.run_id is {}, but the file is named for {id:?}",
                    other.map(quote).unwrap_or_else(|| "missing".into())
                )),
                None => problems.push("no verified execution statement to compare with".into()),
            }
            c.all("run-id", problems, id.clone());
        }
        _ => c.skip("run-id", "needs a verified trace"),
    }

    // 13. The predicate, field by field.
    match (stmt, &trace) {
        (Some((n, s)), Some(t)) => match execution_predicate(t).and_then(|p| {
            serde_json::to_value(p).map_err(|e| crate::AttestError::Encode {
                what: "predicate",
                detail: e.to_string(),
            })
        }) {
            Ok(expected) => {
                let mut diffs = Vec::new();
                diff("predicate", &s.predicate, &expected, &mut diffs);
                let problems = diffs
                    .into_iter()
                    .map(|(path, msg)| format!("{ap} line {n}: {path}: {msg} ({})", where_in_trace(&path, t)))
                    .collect();
                c.all(
                    "predicate-matches-trace",
                    problems,
                    "every predicate field equals the trace",
                );
            }
            Err(e) => c.fail("predicate-matches-trace", e.to_string()),
        },
        _ => c.skip(
            "predicate-matches-trace",
            "needs a verified trace and a verified execution statement",
        ),
    }

    // 14. What the trace records with a digest beside it is recomputed, not trusted.
    match &trace {
        Some(t) => c.all(
            "recorded-digests",
            recorded_digest_problems(t, &tp),
            "payload_digest and engine_profile_digest recomputed from the recorded payload and profile",
        ),
        None => c.skip("recorded-digests", "needs a verified trace"),
    }

    // 15. What the run did to the store follows from its journal.
    match &trace {
        Some(t) => c.all(
            "recorded-ledger",
            ledger_problems(t, &tp),
            "committed, write_set_digest and ledger_after recomputed from the storage journal",
        ),
        None => c.skip("recorded-ledger", "needs a verified trace"),
    }

    // 16-19. The snapshot.
    if let Some(dir) = snapshot {
        check_snapshot(
            &mut c,
            dir,
            trust,
            trace.as_ref(),
            stmt.map(|(n, s)| (n, s, ap.as_str())),
            &tp,
        );
    }

    let status = trace
        .as_ref()
        .and_then(|t| t.run_end().map(|e| e.status.clone()))
        .or_else(|| stmt.and_then(|(_, s)| s.predicate.get("status").and_then(Value::as_str).map(String::from)));
    let snapshot_trust = trace
        .as_ref()
        .and_then(|t| t.run_start().map(|s| s.snapshot_trust.clone()));
    VerifyReport {
        ok: c.0.iter().all(|x| x.ok),
        run_id,
        status,
        signer,
        snapshot_trust,
        checks: c.0,
    }
}

/// `run_end`'s account of the store against the journal (check 15).
fn ledger_problems(t: &VerifiedTrace, tp: &str) -> Vec<String> {
    let (Some(start), Some(end)) = (t.run_start(), t.run_end()) else {
        return vec![format!("{tp}: no run_start or run_end line")];
    };
    let line = t.lines.len();
    let mut problems = Vec::new();
    let writes: Vec<sealed_ledger::Write> = t
        .nodes()
        .flat_map(|n| n.storage.iter())
        .filter_map(|e| {
            e.result
                .as_ref()
                .ok()
                .and_then(|r| sealed_ledger::write_of(&e.request, r))
        })
        .collect();
    if end.committed {
        if end.terminal.is_none() || end.error.is_some() {
            problems.push(format!(
                "{tp} line {line}: committed is true, but the run did not end at a terminal without error"
            ));
        }
        match (&end.ledger_before, &end.ledger_after, &end.write_set_digest) {
            (Some(before), Some(after), Some(recorded)) => {
                let digest = sealed_ledger::write_set_digest(&writes);
                if &digest != recorded {
                    problems.push(format!(
                        "{tp} line {line}: write_set_digest is {recorded}, but the {} write(s) in the storage \
                         journal digest to {digest}",
                        writes.len()
                    ));
                }
                let expected = sealed_ledger::next_ledger_head(before, &start.run_id, recorded);
                if &expected != after {
                    problems.push(format!(
                        "{tp} line {line}: ledger_after is {after}, but the head after {before} over this run's \
                         write-set is {expected}"
                    ));
                }
            }
            _ => problems.push(format!(
                "{tp} line {line}: committed is true, but ledger_before, ledger_after or write_set_digest is missing"
            )),
        }
    } else {
        if let Some(d) = &end.write_set_digest {
            problems.push(format!(
                "{tp} line {line}: nothing was committed, yet a write_set_digest {d} is recorded"
            ));
        }
        if end.ledger_after != end.ledger_before {
            problems.push(format!(
                "{tp} line {line}: nothing was committed, yet the ledger moved from {:?} to {:?}",
                end.ledger_before, end.ledger_after
            ));
        }
    }
    problems
}

/// `run_start.payload_digest` and `engine_profile_digest` against the digests of the payload and profile
/// recorded beside them (RFC 8785 canonical JSON, as the host computes them when it writes them).
fn recorded_digest_problems(t: &VerifiedTrace, tp: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(start) = t.run_start() else {
        return vec![format!("{tp}: no run_start line")];
    };
    let digest = |v: &Value| sealed_snapshot::canonical::digest_json(v).map_err(|e| e.to_string());
    match (&start.payload, &start.payload_digest) {
        (Some(p), Some(d)) => match digest(p) {
            Ok(actual) if &actual == d => {}
            Ok(actual) => problems.push(format!(
                "{tp} line 1: payload_digest is {d}, but the recorded payload hashes to {actual}"
            )),
            Err(e) => problems.push(format!("{tp} line 1: the payload cannot be canonicalised: {e}")),
        },
        (None, None) => {}
        (Some(_), None) => problems.push(format!("{tp} line 1: a payload is recorded without its payload_digest")),
        (None, Some(d)) => problems.push(format!(
            "{tp} line 1: payload_digest {d} is recorded without the payload it would be the digest of"
        )),
    }
    match digest(&start.engine_profile) {
        Ok(actual) if actual == start.engine_profile_digest => {}
        Ok(actual) => problems.push(format!(
            "{tp} line 1: engine_profile_digest is {}, but the recorded engine_profile hashes to {actual}",
            start.engine_profile_digest
        )),
        Err(e) => problems.push(format!("{tp} line 1: the engine profile cannot be canonicalised: {e}")),
    }
    problems
}

fn check_snapshot(
    c: &mut Checks,
    dir: &Path,
    trust: &TrustRoot,
    trace: Option<&VerifiedTrace>,
    stmt: Option<(usize, &Statement, &str)>,
    tp: &str,
) {
    let dp = dir.display();
    // Read once; when the trace claims a signed snapshot, the signature is checked over these bytes before
    // anything parses them, and the deep checks then run on the very same bytes.
    let claimed_signed = trace
        .and_then(|t| t.run_start())
        .is_some_and(|s| s.snapshot_trust.starts_with("signed:"));
    let manifest = sealed_snapshot::verify::read_manifest(dir);
    let signed = match (&manifest, claimed_signed) {
        (Ok(bytes), true) => Some(verify_snapshot_signature_over(dir, trust, bytes)),
        _ => None,
    };
    let loaded = match (manifest, &signed) {
        (Err(e), _) => Err(e),
        // Not parsed: an unauthenticated manifest gets no deep checks (check 17 says why).
        (Ok(_), Some(Err(e))) => Err(sealed_snapshot::SnapshotError::ManifestInvalid {
            path: dir.join(sealed_snapshot::MANIFEST_FILE),
            detail: format!("not parsed: its signature did not verify ({}: {e})", e.code()),
        }),
        (Ok(bytes), _) => sealed_snapshot::verify::load_from(dir, bytes),
    };
    let snap: Option<VerifiedSnapshot> = match loaded {
        Ok(s) => {
            c.pass(
                "snapshot-verified",
                format!("{dp}: digest {}, {} components", s.digest(), s.components().count()),
            );
            Some(s)
        }
        Err(e) => {
            c.fail("snapshot-verified", format!("{dp}: {}: {e}", e.code()));
            None
        }
    };
    let Some(snap) = snap else {
        c.skip("snapshot-digest", "the snapshot did not verify");
        c.skip("components-pinned", "the snapshot did not verify");
        match signed {
            Some(Err(e)) => c.fail(
                "snapshot-signature",
                format!("{dp}/{SIGNATURE_FILE}: {}: {e}", e.code()),
            ),
            _ => c.skip("snapshot-signature", "the snapshot did not verify"),
        }
        return;
    };

    let digest = snap.digest();
    let mut problems = Vec::new();
    match stmt {
        Some((n, s, ap)) => match s.predicate.get("snapshot_digest") {
            Some(Value::String(d)) if d == digest => {}
            other => problems.push(format!(
                "{ap} line {n}: predicate.snapshot_digest is {}, but {dp} has digest {digest}",
                other.map(quote).unwrap_or_else(|| "missing".into())
            )),
        },
        None => problems.push("not compared with the attestation: no verified execution statement".into()),
    }
    match trace.and_then(|t| t.run_start()) {
        Some(start) if start.snapshot_digest.as_deref() == Some(digest) => {}
        Some(start) => problems.push(format!(
            "{tp} line 1: snapshot_digest is {:?}, but {dp} has digest {digest}",
            start.snapshot_digest
        )),
        None => problems.push("not compared with the trace: the trace did not verify".into()),
    }
    c.all("snapshot-digest", problems, digest);

    let Some(t) = trace else {
        c.skip("components-pinned", "the trace did not verify");
        c.skip("snapshot-signature", "the trace did not verify");
        return;
    };
    let manifest = snap.manifest();
    let workflow_name = t.run_start().map(|s| s.workflow.as_str()).unwrap_or_default();
    let workflow = manifest.workflows.get(workflow_name);
    let mut problems = Vec::new();
    if workflow.is_none() {
        problems.push(format!(
            "{tp} line 1: workflow {workflow_name:?} is not in {dp}/manifest.json"
        ));
    }
    let mut count = 0;
    for (i, line) in t.lines.iter().enumerate() {
        let TraceEvent::Node(node) = &line.event else { continue };
        count += 1;
        let at = format!("{tp} line {}: node {:?}", i + 1, node.node);
        if snap.component(&node.component).is_none() {
            problems.push(format!(
                "{at} ran component {}, which {dp}/manifest.json does not pin",
                node.component
            ));
            continue;
        }
        if let Some(wf) = workflow {
            match wf.nodes.get(&node.node).and_then(|n| n.task()) {
                Some(task) if task.component == node.component => {}
                Some(task) => problems.push(format!(
                    "{at} ran component {}, but workflow {workflow_name:?} pins {} at that node",
                    node.component, task.component
                )),
                None => problems.push(format!("{at} is not a task node of workflow {workflow_name:?}")),
            }
        }
    }
    c.all(
        "components-pinned",
        problems,
        format!("{count} node(s), each pinned by the manifest"),
    );

    let claimed = t.run_start().map(|s| s.snapshot_trust.as_str()).unwrap_or_default();
    match claimed.strip_prefix("signed:") {
        None => c.pass(
            "snapshot-signature",
            format!("the trace records snapshot trust {claimed:?}; no signature claimed"),
        ),
        // Traces written before the securesystemslib keyid name the key in the old form: either names it.
        Some(keyid) => match signed
            .unwrap_or_else(|| {
                Err(AttestError::SignatureInvalid {
                    detail: "the manifest could not be read".into(),
                })
            })
            .and_then(|s| s.check_manifest(snap.manifest()))
        {
            Ok(st) if trust.get(keyid).is_some_and(|k| k.keyid == st.keyid) => c.pass(
                "snapshot-signature",
                format!("signed by trusted snapshot-signer {keyid}"),
            ),
            Ok(st) => c.fail(
                "snapshot-signature",
                format!(
                    "{tp} line 1: snapshot_trust names key {keyid}, but {dp} is signed by {}",
                    st.keyid
                ),
            ),
            Err(e) => c.fail(
                "snapshot-signature",
                format!("{dp}/{SIGNATURE_FILE}: {}: {e}", e.code()),
            ),
        },
    }
}

/// Recursively compares `attested` with `expected`, collecting `(path, message)` for each difference.
fn diff(path: &str, attested: &Value, expected: &Value, out: &mut Vec<(String, String)>) {
    match (attested, expected) {
        (Value::Object(a), Value::Object(e)) => {
            for (k, ev) in e {
                let p = format!("{path}.{k}");
                match a.get(k) {
                    Some(av) => diff(&p, av, ev, out),
                    None => out.push((p, format!("missing from the attestation; the trace has {}", quote(ev)))),
                }
            }
            for (k, av) in a.iter().filter(|(k, _)| !e.contains_key(*k)) {
                out.push((
                    format!("{path}.{k}"),
                    format!("attested {} but the trace has no such field", quote(av)),
                ));
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                out.push((
                    path.to_string(),
                    format!("attested {} entries, the trace has {}", a.len(), e.len()),
                ));
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                diff(&format!("{path}[{i}]"), av, ev, out);
            }
        }
        (a, e) if a != e => out.push((
            path.to_string(),
            format!("attested {}, the trace has {}", quote(a), quote(e)),
        )),
        _ => {}
    }
}

/// Which trace line a predicate field comes from, for messages.
fn where_in_trace(path: &str, t: &VerifiedTrace) -> String {
    let last = t.lines.len();
    let field = path.strip_prefix("predicate.").unwrap_or(path);
    if let Some(rest) = field.strip_prefix("nodes[") {
        let index = rest.split(']').next().and_then(|i| i.parse::<usize>().ok());
        let line = index.and_then(|i| {
            t.lines
                .iter()
                .enumerate()
                .filter(|(_, l)| matches!(l.event, TraceEvent::Node(_)))
                .nth(i)
                .map(|(n, _)| n + 1)
        });
        return match line {
            Some(l) => format!("trace line {l}"),
            None => "no such node line in the trace".into(),
        };
    }
    let top = field.split(['.', '[']).next().unwrap_or(field);
    match top {
        "status" | "ok" | "committed" | "error" | "ledger_before" | "ledger_after" | "write_set_digest" => {
            format!("trace line {last}, run_end")
        }
        "trace_lines" | "nodes" => format!("the trace has {last} lines"),
        _ => "trace line 1, run_start".into(),
    }
}
