//! Errors of the store boundary: [`StoreError`] is backend-neutral (`sealed-storage`); what is SQLite's
//! own is telling a lock conflict from a failure.

pub use sealed_storage::StoreError;

/// Whether SQLite refused because another connection holds a lock (as opposed to a real failure).
pub(crate) fn is_busy(err: &rusqlite::Error) -> bool {
    matches!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}
