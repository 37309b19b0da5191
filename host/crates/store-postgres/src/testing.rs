//! Test support (feature `testing`): a fresh database per test on the test server.
//!
//! The server is the one `SEALED_TEST_PG` names, else the one `cargo xtask pg start` started (its URL in
//! `target/pg-test/url`). Without either, a test fails naming the command that provides one: it never
//! skips. Each [`FreshDb`] is a new database, dropped with it. Must never be used outside tests.

use std::sync::atomic::{AtomicU32, Ordering};

/// The test server's URL (a database on it the test user may connect to and CREATE DATABASE from).
pub fn server_url() -> String {
    if let Ok(url) = std::env::var("SEALED_TEST_PG")
        && !url.trim().is_empty()
    {
        return url.trim().to_string();
    }
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../target/pg-test/url");
    match std::fs::read_to_string(&file) {
        Ok(url) if !url.trim().is_empty() => url.trim().to_string(),
        _ => panic!(
            "no PostgreSQL for the tests: run `cargo xtask pg start` (a throwaway server under target/pg-test; \
             `cargo xtask test` does it itself) or set SEALED_TEST_PG=postgres://user@host:port/db"
        ),
    }
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    // postgres://user@host:port[/db]: the database is the path after the authority.
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[after_scheme..].find('/').map_or(base.len(), |i| after_scheme + i);
    format!("{}/{db}{query}", &base[..authority_end])
}

/// A new, empty database on the test server, dropped (with `FORCE`) when this is dropped.
#[derive(Debug)]
pub struct FreshDb {
    pub url: String,
    name: String,
    admin: String,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl FreshDb {
    #[allow(clippy::expect_used, clippy::missing_panics_doc)]
    pub fn create() -> FreshDb {
        let admin = server_url();
        let name = format!(
            "sealed_t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos())
        );
        let mut c = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL at {admin}: {e}"));
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("CREATE DATABASE on the test server");
        FreshDb {
            url: with_database(&admin, &name),
            name,
            admin,
        }
    }
}

impl Drop for FreshDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}
