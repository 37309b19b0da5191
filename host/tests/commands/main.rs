//! Tests of the `host` commands (run, seal, verify, serve, import, …) as a user drives them, one module
//! per concern, linked into one test binary: each binary links the whole host, so one per file cost a
//! link and 30-50 MB of disk each. Run one module with a filter: `cargo test -p sealed-host --test commands
//! serve::`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// The blocking HTTP client of the `host serve` tests (the serve benchmark includes it too).
#[path = "../support/http.rs"]
mod http;

mod cli;
mod cli_evidence;
mod error_codes;
mod fuzz_admission;
mod import_pgs;
mod multi_host;
mod serve;
mod serve_process;
