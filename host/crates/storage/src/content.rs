//! The content digest: one encoding of all registry, events and state rows, so that two backends holding
//! the same data report the same digest (the conformance suite pins it).
//!
//! Tables in this order, each introduced by its tag byte, rows in primary-key order, every cell a type tag
//! and a length-prefixed value, and the table closed by its row count (so rows cannot migrate between
//! tables unnoticed):
//! 1. registry: label, key, value, value_sha256, run_id
//! 2. events: label, key, seq, payload, run_id
//! 3. state: label, key, version, value, run_id
//! 4. registry_removed: label, key, removal, value, value_sha256, bound_by, removed_by
//!
//! Owns the encoding only; must never read a database.

use sha2::{Digest, Sha256};

/// Domain tag of the content digest.
const CONTENT_TAG: &[u8] = b"sealed-store/content/v1\0";

/// One cell of a row.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// Builds the digest: [`ContentDigest::table`] for each table in order, its rows, then
/// [`ContentDigest::finish`].
pub struct ContentDigest {
    h: Sha256,
    open: Option<u64>,
}

impl Default for ContentDigest {
    fn default() -> Self {
        Self::new()
    }
}

impl ContentDigest {
    pub fn new() -> Self {
        let mut h = Sha256::new();
        h.update(CONTENT_TAG);
        ContentDigest { h, open: None }
    }

    /// Starts table `tag` (1 registry, 2 events, 3 state), closing the previous one.
    pub fn table(&mut self, tag: u8) {
        self.close();
        self.h.update([tag]);
        self.open = Some(0);
    }

    /// One row of the current table.
    pub fn row(&mut self, cells: &[Cell<'_>]) {
        let mut buf = Vec::new();
        for cell in cells {
            encode_cell(&mut buf, *cell);
        }
        self.h.update(&buf);
        if let Some(n) = self.open.as_mut() {
            *n += 1;
        }
    }

    fn close(&mut self) {
        if let Some(count) = self.open.take() {
            self.h.update(count.to_be_bytes());
        }
    }

    /// Lowercase hex.
    pub fn finish(mut self) -> String {
        self.close();
        hex::encode(self.h.finalize())
    }
}

/// Appends one cell: a type tag, then a fixed-size or length-prefixed value.
fn encode_cell(out: &mut Vec<u8>, cell: Cell<'_>) {
    match cell {
        Cell::Null => out.push(0),
        Cell::Int(i) => {
            out.push(1);
            out.extend_from_slice(&i.to_be_bytes());
        }
        Cell::Real(f) => {
            out.push(2);
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Cell::Text(t) => {
            out.push(3);
            sealed_ledger::put_bytes(out, t.as_bytes());
        }
        Cell::Blob(b) => {
            out.push(4);
            sealed_ledger::put_bytes(out, b);
        }
    }
}
