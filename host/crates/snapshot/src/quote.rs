//! Quoting text that the host did not write (guest strings, payload values, file content) into messages,
//! traces' error details and reports: at most a short prefix, with the total length, and with every
//! control character escaped, so that an error message can never be as large as the offending value nor
//! carry terminal escapes.
//!
//! This module must never return more than about [`QUOTE_PREFIX_BYTES`] × 4 bytes, whatever its input.

/// Bytes of an offending value an error message quotes.
pub const QUOTE_PREFIX_BYTES: usize = 64;

/// `"<escaped prefix>"`, then `… (N bytes)` when the text was cut.
pub fn quote_prefix(text: &str) -> String {
    let cut = floor_char_boundary(text, QUOTE_PREFIX_BYTES);
    let mut out = String::with_capacity(cut + 16);
    out.push('"');
    for c in text[..cut].chars() {
        out.extend(c.escape_debug());
    }
    out.push('"');
    if cut < text.len() {
        out.push_str(&format!("… ({} bytes)", text.len()));
    }
    out
}

/// At most `max` bytes of `text`, cut on a character boundary, with `…` appended when cut. Unlike
/// [`quote_prefix`] nothing is escaped: for fields that are escaped where they are displayed.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let cut = floor_char_boundary(text, max);
    format!("{}…", &text[..cut])
}

/// The largest index `<= max` that is a char boundary of `text`.
pub fn floor_char_boundary(text: &str, max: usize) -> usize {
    if max >= text.len() {
        return text.len();
    }
    let mut i = max;
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_is_cut_and_escaped() {
        let q = quote_prefix(&format!("\u{1b}[2J{}", "é".repeat(1 << 20)));
        assert!(q.starts_with("\"\\u{1b}[2J"), "{q}");
        assert!(q.ends_with("(2097156 bytes)"), "{q}");
        assert!(q.len() < 200);
        assert_eq!(quote_prefix("ok"), "\"ok\"");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é…");
        assert_eq!(truncate("abc", 3), "abc");
    }
}

/// `text` with every control character (C0, DEL, C1: terminal escapes, carriage returns, bells) escaped as
/// `\u{..}`; for text the host did not write, shown on a terminal.
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod escape_tests {
    use super::*;

    #[test]
    fn terminal_escapes_are_made_visible() {
        assert_eq!(escape_control("plain é"), "plain é");
        assert_eq!(
            escape_control("\u{1b}[2Jcommitted: yes\r\n"),
            "\\u{1b}[2Jcommitted: yes\\u{d}\\u{a}"
        );
        assert_eq!(escape_control("\u{9b}31m"), "\\u{9b}31m");
    }
}
