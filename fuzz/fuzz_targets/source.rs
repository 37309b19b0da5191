//! `source::parse` on arbitrary bytes: never panics; an accepted source has the one known format.
//! Seed the corpus with `snapshots/*/source.json` (see README.md).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sealed_snapshot::source;

fuzz_target!(|bytes: &[u8]| {
    if let Ok(s) = source::parse(bytes) {
        assert_eq!(s.format, source::SOURCE_FORMAT_V1);
    }
});
