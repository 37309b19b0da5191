//! Progress bars for long work (sealing, inspecting or, in `host run`, compiling many components), on stderr,
//! only for a person.
//!
//! A bar is drawn only when stderr is a terminal: piped or redirected output (CI, `--json` consumers,
//! scripts) gets no bar and no escape codes, so stdout and stderr stay machine-readable. `SEALED_NO_PROGRESS`
//! (any value) turns bars off on a terminal too. This module must never write to stdout.

use std::io::IsTerminal;

/// A progress bar, or nothing.
pub struct Progress(Option<indicatif::ProgressBar>);

/// Whether bars are drawn in this process: stderr is a terminal and `SEALED_NO_PROGRESS` is unset.
pub fn enabled() -> bool {
    std::env::var_os("SEALED_NO_PROGRESS").is_none() && std::io::stderr().is_terminal()
}

impl Progress {
    /// A bar of `len` steps labelled `msg`; a no-op unless [`enabled`].
    pub fn new(len: u64, msg: &str) -> Self {
        if !enabled() {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{msg:>12} [{bar:32}] {pos}/{len} {prefix}") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(msg.to_string());
        // Draw at once: the first step may take seconds (compiling a component).
        bar.tick();
        Self(Some(bar))
    }

    /// A bar that draws nothing (for callers that decide themselves).
    pub fn hidden() -> Self {
        Self(None)
    }

    pub fn is_visible(&self) -> bool {
        self.0.is_some()
    }

    /// What is being worked on now (shown after the count).
    pub fn set_item(&self, item: &str) {
        if let Some(b) = &self.0 {
            b.set_prefix(item.to_string());
        }
    }

    pub fn set_position(&self, pos: u64) {
        if let Some(b) = &self.0 {
            b.set_position(pos);
        }
    }

    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.0 {
            b.inc(n);
        }
    }

    /// Removes the bar from the terminal, leaving the lines printed around it.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.0
            && !b.is_finished()
        {
            b.finish_and_clear();
        }
    }
}
