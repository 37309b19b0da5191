//! Count lines of the crash and concurrency harnesses, kept where `cargo xtask test` shows them.
//!
//! `cargo test` hides what a passing test prints, yet the counts of a passing harness run (kills, runs,
//! violations) are the evidence a reader of the CI log wants. Each line is printed as usual and appended to
//! `target/harness-reports/<harness>.txt`, which the test command prints in its summary. It must never
//! decide a test's outcome: a report that cannot be written is reported on stderr and ignored.

use std::io::Write;
use std::path::PathBuf;

/// `target/harness-reports` of this workspace (cleared by `cargo xtask test` before the tests run).
pub fn dir() -> PathBuf {
    crate::harness::workspace_root().join("target").join("harness-reports")
}

/// Prints `line` and appends it to `<dir>/<harness>.txt`.
pub fn say(harness: &str, line: &str) {
    println!("{line}");
    let dir = dir();
    let appended = std::fs::create_dir_all(&dir).and_then(|()| {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{harness}.txt")))?;
        // One write per line: lines from tests running in parallel never interleave within a line.
        f.write_all(format!("{line}\n").as_bytes())
    });
    if let Err(e) = appended {
        eprintln!("harness report {harness}: {e}");
    }
}

/// `say!("crash", "{} kills", n)`: [`say`] with `format!` arguments.
#[macro_export]
macro_rules! say {
    ($harness:expr, $($arg:tt)*) => {
        $crate::report::say($harness, &format!($($arg)*))
    };
}
