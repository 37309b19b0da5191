//! The syntax of a storage label, the namespace a grant names and a storage call addresses.
//!
//! A label is 1 to [`MAX_LABEL_BYTES`] bytes of ASCII letters, digits, `_`, `-` and `.`, starting with a
//! letter or a digit, and never containing `..`. The syntax is deliberately narrow: a label appears in
//! traces, reports, SQL parameters and (for other backends) perhaps in names, so it must never carry a
//! control character, a path separator or a look-alike. The seal checks every grant label with
//! [`check_label`]; the storage gate checks every label a guest sends with it, *before* looking it up or
//! copying it anywhere, so a guest cannot make the host hold a long label.
//!
//! This module must never allocate in proportion to the checked text beyond the short quoted prefix of
//! its error message.

use crate::quote::quote_prefix;

/// The longest label, in bytes.
pub const MAX_LABEL_BYTES: usize = 128;

/// Checks `label` against the label syntax; the error says what is wrong and quotes at most a short
/// prefix of the label.
pub fn check_label(label: &str) -> Result<(), String> {
    let bytes = label.as_bytes();
    if bytes.is_empty() {
        return Err("a label must not be empty".into());
    }
    if bytes.len() > MAX_LABEL_BYTES {
        return Err(format!(
            "label {} is {} bytes, more than the {MAX_LABEL_BYTES} a label may have",
            quote_prefix(label),
            bytes.len()
        ));
    }
    if !bytes[0].is_ascii_alphanumeric() {
        return Err(format!(
            "label {} must start with an ASCII letter or digit",
            quote_prefix(label)
        ));
    }
    if let Some(bad) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(format!(
            "label {} contains {bad:?}; a label is ASCII letters, digits, `_`, `-` and `.`",
            quote_prefix(label)
        ));
    }
    if label.contains("..") {
        return Err(format!("label {} contains `..`", quote_prefix(label)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_syntax() {
        for ok in [
            "actors",
            "actor-events",
            "ACTOR",
            "a",
            "v1.claims_2",
            &"x".repeat(MAX_LABEL_BYTES),
        ] {
            assert_eq!(check_label(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_else_with_a_bounded_message() {
        let long = "y".repeat(1 << 20);
        for bad in [
            "",
            "../../etc",
            "a/b",
            "a\0b",
            "a\nb",
            "-x",
            ".x",
            "a..b",
            "acto\u{0433}s",
            " actors",
            "a b",
            &long,
        ] {
            let err = check_label(bad).unwrap_err();
            assert!(err.len() < 300, "{err}");
        }
        assert!(check_label(&long).unwrap_err().contains("1048576 bytes"));
    }
}
