//! The embedded font (Noto Sans regular and bold, from the `ttf-noto-sans` crate) and text measurement.
//!
//! The graph is laid out around its labels, so boxes must be as wide as the text the renderer will draw:
//! measuring with the very font resvg renders with (glyph advances via `skrifa`) keeps labels inside their
//! boxes. No system font is ever consulted, so a PNG does not depend on the machine that drew it.

use skrifa::instance::{LocationRef, Size};
use skrifa::{FontRef, MetadataProvider};

/// The family name both embedded faces declare.
pub const FAMILY: &str = "Noto Sans";

pub fn regular_bytes() -> &'static [u8] {
    ttf_noto_sans::REGULAR
}

pub fn bold_bytes() -> &'static [u8] {
    ttf_noto_sans::BOLD
}

/// Width in pixels of `text` at `size` px. Falls back to an estimate of 0.6 em per character if the
/// embedded font cannot be read (it always can; this only keeps the function total).
pub fn text_width(text: &str, size: f64, bold: bool) -> f64 {
    let bytes = if bold { bold_bytes() } else { regular_bytes() };
    let Ok(font) = FontRef::new(bytes) else {
        return text.chars().count() as f64 * size * 0.6;
    };
    let charmap = font.charmap();
    let metrics = font.glyph_metrics(Size::new(size as f32), LocationRef::default());
    text.chars()
        .map(|c| {
            let gid = charmap.map(c).unwrap_or_default();
            metrics.advance_width(gid).map(f64::from).unwrap_or(size * 0.6)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_come_from_the_font() {
        let narrow = text_width("iiii", 14.0, false);
        let wide = text_width("MMMM", 14.0, false);
        assert!(narrow > 0.0 && wide > 2.0 * narrow, "i {narrow} vs M {wide}");
        assert!(text_width("approve", 14.0, true) > text_width("approve", 14.0, false));
        assert!((text_width("abc", 28.0, false) - 2.0 * text_width("abc", 14.0, false)).abs() < 0.01);
    }
}
