//! Base64 as DSSE requires it: we write standard base64 with padding; we read standard or URL-safe,
//! padded or not ("verifiers MUST accept both"). Non-canonical trailing bits are refused, so each
//! decoded value has exactly one spelling per alphabet and a flipped low bit in the last character
//! cannot slip through unnoticed.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(false);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard or URL-safe base64. The error names which alphabet was tried last, which is all a
/// caller can act on.
pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    match STANDARD.decode(text) {
        Ok(bytes) => Ok(bytes),
        Err(standard) => URL_SAFE
            .decode(text)
            .map_err(|url| format!("not standard base64 ({standard}) nor URL-safe base64 ({url})")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn both_alphabets_and_both_paddings_decode() {
        let bytes = [0xfbu8, 0xff, 0xbf, 0x01];
        assert_eq!(encode(&bytes), "+/+/AQ==");
        for text in ["+/+/AQ==", "+/+/AQ", "-_-_AQ==", "-_-_AQ"] {
            assert_eq!(decode(text).unwrap(), bytes, "{text}");
        }
    }

    #[test]
    fn non_canonical_trailing_bits_and_mixed_alphabets_are_refused() {
        assert!(decode("AR==").is_err());
        assert!(decode("+_+_AQ==").is_err());
        assert!(decode("a b=").is_err());
    }
}
