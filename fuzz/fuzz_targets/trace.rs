//! `parse_and_verify` on arbitrary bytes: never panics, and a verified trace's head is the hash of its
//! last line. Seed the corpus with real traces (`<data-root>/traces/*/*.jsonl`, see README.md).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sealed_trace::{line_hash, parse_and_verify};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(t) = parse_and_verify(bytes) {
        let body = &bytes[..bytes.len() - 1];
        let last = body.rsplit(|b| *b == b'\n').next().unwrap_or(body);
        assert_eq!(t.chain_head, line_hash(last));
    }
});
