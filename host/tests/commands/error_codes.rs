//! The README's "Error codes" section is the contract of `--json` and of the trace's `error.code`: every
//! code the host can emit must be documented there, and every documented code must still exist.
//!
//! Codes are found where the source assigns them: `=> "CODE"` (a `code()` match arm), `Failure::new("CODE"`
//! and `failure(…, "CODE"` (possibly with the arguments on the lines below). A new code that is not documented
//! fails this test, naming the file and line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A string literal that looks like a stable code: SCREAMING_SNAKE, or one of the single-word ones.
fn is_code(s: &str) -> bool {
    s.len() >= 3
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && s.as_bytes()[0].is_ascii_uppercase()
        && (s.contains('_') || ["CLI", "USAGE", "INTERNAL"].contains(&s))
}

/// The first string literal of `text`, if any.
fn first_literal(text: &str) -> Option<&str> {
    let start = text.find('"')? + 1;
    let len = text[start..].find('"')?;
    Some(&text[start..start + len])
}

/// Every code assigned in the non-test source of the host, with one place it is assigned.
fn emitted() -> BTreeMap<String, String> {
    let mut files = Vec::new();
    rust_files(&root().join("host/src"), &mut files);
    for entry in std::fs::read_dir(root().join("host/crates")).unwrap() {
        let src = entry.unwrap().path().join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    let mut codes = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Unit tests live at the end of a file, after `#[cfg(test)]`; their strings are not emitted codes.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let mut candidates = Vec::new();
            if let Some(at) = line.find("=> \"") {
                candidates.extend(first_literal(&line[at..]));
            }
            for opener in ["Failure::new(", "failure("] {
                if let Some(at) = line.find(opener) {
                    let rest = &line[at + opener.len()..];
                    if rest.trim().is_empty() {
                        // Arguments on the lines below: the code is the first code-like literal among the
                        // next three (`Envelope::failure(` puts its data argument first).
                        candidates.extend(
                            lines[i + 1..lines.len().min(i + 4)]
                                .iter()
                                .filter_map(|next| first_literal(next))
                                .find(|c| is_code(c)),
                        );
                    } else if opener == "Failure::new(" {
                        candidates.extend(first_literal(rest).filter(|_| rest.trim_start().starts_with('"')));
                    } else if let Some(comma) = rest.find(", \"") {
                        candidates.extend(first_literal(&rest[comma..]));
                    }
                }
            }
            for c in candidates.into_iter().filter(|c| is_code(c)) {
                codes
                    .entry(c.to_string())
                    .or_insert_with(|| format!("{}:{}", file.display(), i + 1));
            }
        }
    }
    codes
}

/// The codes of the README's "Error codes" section (backticked SCREAMING_SNAKE words in its table).
fn documented() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Error codes")
        .nth(1)
        .expect("README has an `## Error codes` section");
    let section = section.split("\n## ").next().unwrap_or_default();
    section
        .lines()
        .filter(|l| l.starts_with('|'))
        .flat_map(|l| l.split('`').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>())
        .filter(|w| is_code(w))
        .collect()
}

#[test]
fn every_emitted_code_is_documented_and_every_documented_code_exists() {
    let emitted = emitted();
    let documented = documented();
    // The scan itself must find the codes everyone knows, or it proves nothing.
    for known in [
        "SNAPSHOT_DIGEST_MISMATCH",
        "FUEL_EXHAUSTED",
        "NOT_GRANTED",
        "RUN_ID_REUSED",
        "USAGE",
        "KEY_ROLE",
    ] {
        assert!(emitted.contains_key(known), "the scan missed {known}");
    }
    assert!(emitted.len() > 60, "only {} codes found", emitted.len());

    let undocumented: Vec<String> = emitted
        .iter()
        .filter(|(c, _)| !documented.contains(*c))
        .map(|(c, at)| format!("{c} (assigned at {at})"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "codes missing from the README's Error codes table:\n  {}",
        undocumented.join("\n  ")
    );
    let stale: Vec<&String> = documented.iter().filter(|c| !emitted.contains_key(*c)).collect();
    assert!(stale.is_empty(), "documented codes the host never emits: {stale:?}");
}
