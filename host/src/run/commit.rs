//! Commit: the run's store transaction either commits as a whole at its terminal node or is rolled back.
//!
//! Owns turning the store's answer into the ledger account the trace records. It must never commit a run
//! that did not reach a terminal node.

use sealed_storage::{RunRecord, RunTransaction};

use super::record::Ledger;
use crate::Failure;

/// Commits `tx` (the run reached a terminal with `status`); on success the ledger heads and write-set.
pub(crate) fn commit(
    tx: Box<dyn RunTransaction>,
    snapshot_digest: &str,
    workflow: &str,
    status: &str,
) -> Result<Ledger, Failure> {
    let record = RunRecord {
        snapshot_digest: snapshot_digest.to_string(),
        workflow: workflow.to_string(),
        status: status.to_string(),
    };
    tx.commit(record)
        .map(|info| Ledger {
            before: info.ledger_before,
            after: info.ledger_after,
            write_set: Some(info.write_set_digest),
        })
        .map_err(|e| Failure::new(e.code(), e.to_string()).nondeterministic())
}

/// Rolls `tx` back (the run failed while holding the store); the state after is the state it held.
pub(crate) fn roll_back(tx: Box<dyn RunTransaction>) -> Ledger {
    let ledger = Ledger::unchanged(tx.ledger_before());
    drop(tx.rollback());
    ledger
}
