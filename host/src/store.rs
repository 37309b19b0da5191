//! Which store a command uses, and opening it: the SQLite database in the data root (the default) or a
//! PostgreSQL database shared by many hosts (`--store postgres://…`).
//!
//! Owns parsing `--store` and choosing the backend; after [`StoreLocation::open`] the rest of the host
//! sees only [`sealed_storage::DataStore`]. It must never hold storage semantics (those live in
//! `sealed-storage`) and never print a password (locations are shown redacted).

use std::path::Path;
use std::sync::Arc;

use sealed_storage::DataStore;

use crate::Failure;

/// Where a command's store is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum StoreLocation {
    /// `<data-root>/sealed.db` (SQLite).
    #[default]
    DataRoot,
    /// A PostgreSQL connection string (`postgres://…` or `postgresql://…`, or `key=value` pairs).
    Postgres(String),
}

impl StoreLocation {
    /// Parses a `--store` value: `data-root` (the default), or a PostgreSQL URL.
    pub fn parse(value: &str) -> Result<StoreLocation, String> {
        let v = value.trim();
        if v == "data-root" || v == "sqlite" {
            Ok(StoreLocation::DataRoot)
        } else if v.starts_with("postgres://") || v.starts_with("postgresql://") {
            Ok(StoreLocation::Postgres(v.to_string()))
        } else {
            Err(format!(
                "unknown store {value:?}: use `data-root` (SQLite in the data root, the default) or a \
                 PostgreSQL URL such as postgres://user@host:5432/sealed"
            ))
        }
    }

    pub fn is_data_root(&self) -> bool {
        matches!(self, StoreLocation::DataRoot)
    }

    /// Opens the store (creating or migrating its schema if needed).
    pub fn open(&self, data_root: &Path) -> Result<Arc<dyn DataStore>, Failure> {
        let opened: Result<Arc<dyn DataStore>, sealed_storage::StoreError> = match self {
            StoreLocation::DataRoot => sealed_store::Store::open_with(data_root, crate::run::execute::store_options())
                .map(|s| Arc::new(s) as _),
            StoreLocation::Postgres(url) => {
                sealed_store_postgres::PgStore::open(url, crate::run::execute::store_options().busy_wait)
                    .map(|s| Arc::new(s) as _)
            }
        };
        opened.map_err(|e| Failure::new(e.code(), e.to_string()).nondeterministic())
    }
}

/// The value parser of `--store` for clap.
pub fn parse_store_arg(value: &str) -> Result<StoreLocation, String> {
    StoreLocation::parse(value)
}
