//! The backend conformance suite on PostgreSQL (a fresh database per test on the test server), and what
//! only this backend has: migrations and connection failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use sealed_storage::DataStore;
use sealed_storage::conformance::Fresh;
use sealed_store_postgres::PgStore;
use sealed_store_postgres::testing::FreshDb;

const WAIT: Duration = Duration::from_secs(30);

fn fresh() -> Fresh {
    let db = FreshDb::create();
    let url = db.url.clone();
    let store = PgStore::open(&url, WAIT).unwrap();
    Fresh {
        store: Arc::new(store),
        keep: Box::new(db),
        reopen: Box::new(move || Arc::new(PgStore::open(&url, WAIT).unwrap())),
    }
}

sealed_storage::conformance_suite!(fresh);

#[test]
fn reopening_applies_no_migration_twice_and_keeps_the_data() {
    let f = fresh();
    let mut tx = f.store.begin_run("r").unwrap();
    sealed_storage::conformance::insert(&mut tx, "l", "k", b"v").unwrap();
    tx.commit(sealed_storage::conformance::record("OK")).unwrap();
    let again = (f.reopen)();
    assert_eq!(again.registry_get("l", "k").unwrap().as_deref(), Some(&b"v"[..]));
    let db = f.keep.downcast_ref::<FreshDb>().unwrap();
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    let rows = c
        .query("SELECT version, name FROM sealed_migrations ORDER BY version", &[])
        .unwrap();
    let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(1, "init".to_string()), (2, "registry_removed".to_string())]);
}

#[test]
fn a_database_of_a_newer_schema_is_refused() {
    let db = FreshDb::create();
    drop(PgStore::open(&db.url, WAIT).unwrap());
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    c.execute(
        "INSERT INTO sealed_migrations (version, name) VALUES (99, 'future')",
        &[],
    )
    .unwrap();
    let err = PgStore::open(&db.url, WAIT).unwrap_err();
    assert_eq!(err.code(), "STORE_SCHEMA", "{err}");
    assert!(err.to_string().contains("version 99"), "{err}");
}

#[test]
fn a_database_with_foreign_tables_is_refused_and_left_alone() {
    let db = FreshDb::create();
    let mut c = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    c.batch_execute("CREATE TABLE runs (x int); INSERT INTO runs VALUES (7)")
        .unwrap();
    let err = PgStore::open(&db.url, WAIT).unwrap_err();
    assert_eq!(err.code(), "STORE_SCHEMA", "{err}");
    let n: i64 = c.query_one("SELECT count(*) FROM runs", &[]).unwrap().get(0);
    assert_eq!(n, 1);
}

#[test]
fn an_unreachable_server_is_store_open_without_the_password() {
    let err = PgStore::open("postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2", WAIT).unwrap_err();
    assert_eq!(err.code(), "STORE_OPEN", "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let err = PgStore::open("postgres://[", WAIT).unwrap_err();
    assert_eq!(err.code(), "STORE_OPEN", "{err}");
}

#[test]
fn sslmode_require_is_refused_saying_this_build_has_no_tls() {
    let err = PgStore::open("postgres://u:hunter2@127.0.0.1:1/db?sslmode=require", WAIT).unwrap_err();
    assert_eq!(err.code(), "STORE_OPEN", "{err}");
    let msg = err.to_string();
    assert!(msg.contains("without TLS") && msg.contains("sslmode=disable"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
}

#[test]
fn a_held_lock_makes_another_run_wait_then_fail_with_store_busy() {
    let db = FreshDb::create();
    let store = PgStore::open(&db.url, WAIT).unwrap();
    let impatient = PgStore::open(&db.url, Duration::from_millis(300)).unwrap();
    let holder = store.begin_run("holder").unwrap();
    let t = std::time::Instant::now();
    let err = impatient.begin_run("waiter").unwrap_err();
    assert_eq!(err.code(), "STORE_BUSY", "{err}");
    assert!(t.elapsed() >= Duration::from_millis(250), "{:?}", t.elapsed());
    drop(holder);
    impatient
        .begin_run("waiter")
        .unwrap()
        .commit(sealed_storage::conformance::record("OK"))
        .unwrap();
}

#[test]
fn a_connection_killed_mid_run_leaves_nothing_and_frees_the_lock() {
    let db = FreshDb::create();
    let store = PgStore::open(&db.url, WAIT).unwrap();
    let before = store.content_digest().unwrap();
    let mut tx = store.begin_run("doomed").unwrap();
    sealed_storage::conformance::insert(&mut tx, "l", "k", b"v").unwrap();
    // Another session terminates the run's backend (what a host killed with -9 amounts to).
    let mut admin = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'",
            &[],
        )
        .unwrap();
    let err = sealed_storage::conformance::insert(&mut tx, "l", "k2", b"v").unwrap_err();
    assert!(matches!(err, sealed_capability::StorageError::Other(_)), "{err:?}");
    assert_eq!(
        tx.commit(sealed_storage::conformance::record("OK")).unwrap_err().code(),
        "STORE_TX_ABORTED"
    );
    assert_eq!(store.content_digest().unwrap(), before);
    assert_eq!(store.run("doomed").unwrap(), None);
    // The next run takes the lock at once and may use the id.
    let tx = store.begin_run("doomed").unwrap();
    tx.commit(sealed_storage::conformance::record("OK")).unwrap();
}
