//! Versioned schema migrations of the PostgreSQL store (`migrations/*.sql`, embedded at build time).
//!
//! Owns applying them: in one transaction, under a transaction-scoped advisory lock (so hosts opening
//! a fresh database together apply each migration once), recorded in `sealed_migrations`. A database
//! migrated by a newer build (a version this build does not know) is refused, never misread.

use postgres::Client;
use sealed_storage::StoreError;

/// Every migration, in order: (version, name, SQL). Append only.
pub const MIGRATIONS: &[(i32, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (
        2,
        "registry_removed",
        include_str!("../migrations/0002_registry_removed.sql"),
    ),
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i32 = 2;

/// Advisory lock key of migrations ("SEALMIGR").
const MIGRATION_LOCK: i64 = 0x5345_414C_4D49_4752;

pub(crate) fn migrate(client: &mut Client, location: &str) -> Result<(), StoreError> {
    let schema_err = |detail: String| StoreError::Schema {
        path: location.into(),
        detail,
    };
    let mut tx = client
        .transaction()
        .map_err(StoreError::io("starting the schema migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(StoreError::io("locking the schema migration"))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS sealed_migrations (
            version    integer PRIMARY KEY,
            name       text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )",
    )
    .map_err(StoreError::io("creating the migrations table"))?;
    let applied: Option<i32> = tx
        .query_one("SELECT max(version) FROM sealed_migrations", &[])
        .and_then(|r| r.try_get(0))
        .map_err(StoreError::io("reading the schema version"))?;
    let applied = applied.unwrap_or(0);
    if applied > SCHEMA_VERSION {
        return Err(schema_err(format!(
            "the database is at schema version {applied}, written by a newer sealed host; this build knows \
             versions up to {SCHEMA_VERSION} (upgrade the host)"
        )));
    }
    if applied == 0 {
        // A database holding tables of ours without a migration record was not made by this store.
        let foreign: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name IN ('runs', 'registry', 'events', 'state', 'ledger'))",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(StoreError::io("inspecting the database"))?;
        if foreign {
            return Err(schema_err(
                "the database holds tables named like a sealed store's (runs, registry, events, state, ledger) but \
                 no sealed migration record: use an empty database"
                    .into(),
            ));
        }
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|(v, _, _)| *v > applied) {
        tx.batch_execute(sql)
            .map_err(|e| schema_err(format!("applying migration {version} ({name}) failed: {e}")))?;
        tx.execute(
            "INSERT INTO sealed_migrations (version, name) VALUES ($1, $2)",
            &[version, name],
        )
        .map_err(StoreError::io("recording a migration"))?;
    }
    tx.commit().map_err(StoreError::io("committing the schema migration"))
}
