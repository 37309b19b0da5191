//! `host examine TRACE [--snapshot DIR]`: the account of one run, read from its verified trace.
//!
//! The account itself (facts, hints, the fix a failure calls for) is `sealed_report`'s; this module loads
//! the inputs (trace, optionally the snapshot for component names, budgets and grants), fills in the host's
//! generic hint where the report has no specific one, and formats the account as text. It must never run
//! anything or touch a data root: examining a run changes nothing (`--render` only writes the report files
//! beside the trace).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sealed_report::{Account, Fix};

use crate::failure::{Failure, hint_for};

/// Reads and verifies `trace`, and (with `snapshot`) loads and verifies that snapshot for its manifest,
/// which must be the one the run used.
pub fn examine(trace: &Path, snapshot: Option<&Path>) -> Result<Account, Failure> {
    let verified = sealed_report::read_trace(trace).map_err(|e| Failure::new(e.code(), e.to_string()))?;
    let loaded = snapshot
        .map(sealed_snapshot::load_verified)
        .transpose()
        .map_err(|e| Failure::new(e.code(), e.to_string()))?;
    let mut account = sealed_report::account(&verified, loaded.as_ref().map(|s| s.manifest()))
        .map_err(|e| Failure::new(e.code(), e.to_string()))?;
    if let Some(f) = &mut account.failure
        && f.hint.is_none()
    {
        f.hint = hint_for(&f.code).map(String::from);
    }
    Ok(account)
}

/// Writes `<run-id>.md` and `<run-id>.png` beside `trace` (see `sealed_report::write_run_report`).
pub fn render(trace: &Path, snapshot: Option<&Path>) -> Result<(PathBuf, PathBuf), Failure> {
    let loaded = snapshot
        .map(sealed_snapshot::load_verified)
        .transpose()
        .map_err(|e| Failure::new(e.code(), e.to_string()))?;
    sealed_report::write_run_report(trace, loaded.as_ref().map(|s| s.manifest()))
        .map_err(|e| Failure::new(e.code(), e.to_string()))
}

fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The account as text for a terminal.
pub fn to_text(a: &Account) -> String {
    let mut s = String::new();
    let snapshot = match (&a.snapshot.name, &a.snapshot.digest) {
        (Some(n), Some(d)) => format!("{n} sha256:{d}"),
        _ => "(not verified)".into(),
    };
    let _ = writeln!(s, "run {}  workflow {}", a.run_id, a.workflow);
    let _ = writeln!(s, "  snapshot {snapshot}  trust {}", a.snapshot.trust);
    let _ = writeln!(
        s,
        "  status {} ({}), {}",
        a.status,
        a.end.as_str(),
        if a.committed {
            "committed"
        } else {
            "nothing committed (store unchanged)"
        }
    );
    match &a.admission {
        Some(ad) if ad.ok => {
            let _ = writeln!(s, "  admission: payload accepted");
        }
        Some(ad) => {
            let _ = writeln!(s, "  admission: payload REFUSED ({} problem(s)):", ad.errors.len());
            for e in &ad.errors {
                let _ = writeln!(s, "    {:<20} {:<10} {}", e.field, e.keyword, e.message);
            }
        }
        None => {
            let _ = writeln!(s, "  admission: not reached");
        }
    }
    if !a.path.is_empty() {
        let _ = writeln!(s, "  path:");
    }
    for st in &a.path {
        let comp = st
            .component_name
            .clone()
            .unwrap_or_else(|| format!("sha256:{}…", st.component.chars().take(12).collect::<String>()));
        let route = match (&st.outcome, &st.next, &st.error) {
            (Some(o), Some(n), _) => format!("{o} -> {n}"),
            (Some(o), None, _) => o.clone(),
            (None, _, Some(e)) => format!("FAILED {e}"),
            (None, _, None) => "-".into(),
        };
        let fuel = match st.fuel_limit {
            Some(l) => format!("{} / {}", grouped(st.fuel_used), grouped(l)),
            None => grouped(st.fuel_used),
        };
        let _ = writeln!(
            s,
            "    {:>2}. {:<20} {:<2} {:<18} {:<32} fuel {fuel}",
            st.index, st.node, st.kind, comp, route
        );
        for e in &st.storage {
            let _ = writeln!(s, "          {} {:?} key {:?}: {}", e.op, e.label, e.key, e.result);
        }
    }
    if let Some(t) = &a.terminal {
        let _ = writeln!(s, "  => terminal {t}: {}", a.status);
    }
    let _ = writeln!(
        s,
        "  fuel {} total; storage: {} call(s), {} write(s){}, {} refused",
        grouped(a.fuel_used_total),
        a.storage.calls,
        a.storage.writes,
        if a.committed || a.storage.writes == 0 {
            ""
        } else {
            " (rolled back)"
        },
        a.storage.refused
    );
    if let Some(f) = &a.failure {
        let at = f.node.as_deref().map(|n| format!(" at node {n}")).unwrap_or_default();
        let _ = writeln!(s, "  failure {}{at}: {}", f.code, f.message);
        if !f.deterministic {
            let _ = writeln!(s, "    (machine-dependent: a replay may not reproduce it)");
        }
        if let Some(h) = &f.hint {
            let _ = writeln!(s, "  hint: {h}");
        }
        if let Some(Fix::Grant { node, grant, .. }) = &f.fix {
            let _ = writeln!(s, "  add to the grants of node {node}:\n    {grant}");
        }
    }
    // The chain proves the lines are intact relative to each other and to the head; only the attestation's
    // signature over the head proves the head itself, so say where that check lives.
    let _ = writeln!(
        s,
        "  trace: {} lines, hash chain verified, chain head {} (`host verify` checks its signature)",
        a.trace.lines, a.trace.chain_head
    );
    s
}
