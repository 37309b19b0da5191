//! The bearer token: loaded from `--token-file` once, compared in constant time on every request.
//!
//! Owns what an acceptable token file is (a regular file only its owner can read or write, holding one
//! token of [`MIN_TOKEN_LEN`]+ visible ASCII characters) and the `Authorization: Bearer` check. It must never
//! log, print or echo the token, nor compare it in a way whose timing depends on where it differs.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use subtle::ConstantTimeEq;

use crate::Failure;

/// Shortest token accepted (e.g. `openssl rand -hex 32` gives 64).
pub const MIN_TOKEN_LEN: usize = 32;
/// A token file larger than this is not a token file.
const MAX_TOKEN_FILE: u64 = 4096;

/// A bearer token. Its `Debug` does not show it.
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

fn refuse(path: &Path, why: impl std::fmt::Display) -> Failure {
    Failure::new("SERVE_CONFIG", format!("token file {}: {why}", path.display()))
}

impl Token {
    /// Reads and checks `path`: a regular file, not readable or writable by group or others, holding one
    /// token (surrounding whitespace ignored) of at least [`MIN_TOKEN_LEN`] visible ASCII characters.
    pub fn load(path: &Path) -> Result<Token, Failure> {
        // One open; the type, the mode and the bytes all come from that handle.
        let file = sealed_files::open_regular(path).map_err(|e| refuse(path, e.to_string()))?;
        let meta = file
            .metadata()
            .map_err(|e| refuse(path, format!("cannot read it: {e}")))?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(refuse(
                path,
                format!(
                    "is accessible by group or others (mode {mode:04o}); anyone on this machine could read the \
                     token. Fix it with `chmod 600 {}`",
                    path.display()
                ),
            ));
        }
        let bytes = sealed_files::read_all_capped(file, MAX_TOKEN_FILE).map_err(|e| match e {
            sealed_files::CapError::TooLarge => {
                refuse(path, format!("is larger than {MAX_TOKEN_FILE} bytes: not a token"))
            }
            sealed_files::CapError::Io(e) => refuse(path, format!("cannot read it: {e}")),
        })?;
        let token = bytes.trim_ascii();
        if !token.iter().all(|b| b.is_ascii_graphic()) {
            return Err(refuse(
                path,
                "must hold one token of visible ASCII characters (no spaces or control characters inside)",
            ));
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err(refuse(
                path,
                format!(
                    "the token is {} characters; at least {MIN_TOKEN_LEN} are required (e.g. `umask 077; openssl rand \
                     -hex 32 > FILE`)",
                    token.len()
                ),
            ));
        }
        Ok(Token(token.to_vec()))
    }

    /// Whether an `Authorization` header value carries this token (`Bearer <token>`, scheme case-insensitive).
    /// The token bytes are compared in constant time.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(value) = authorization else {
            return false;
        };
        let Some((scheme, presented)) = split_scheme(value) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(b"bearer") {
            return false;
        }
        // `ct_eq` on slices of different lengths is false without looking at the bytes; the length of the
        // configured token is not a secret worth hiding (it is at least MIN_TOKEN_LEN random characters).
        bool::from(presented.trim_ascii().ct_eq(&self.0))
    }
}

fn split_scheme(value: &[u8]) -> Option<(&[u8], &[u8])> {
    let value = value.trim_ascii();
    let at = value.iter().position(|b| *b == b' ')?;
    Some((&value[..at], &value[at + 1..]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn token_file(mode: u32, text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        (dir, path)
    }

    #[test]
    fn a_private_long_token_is_accepted_and_checked() {
        let secret = "0123456789abcdef0123456789abcdef";
        let (_d, path) = token_file(0o600, &format!("{secret}\n"));
        let t = Token::load(&path).unwrap();
        assert!(t.admits(Some(format!("Bearer {secret}").as_bytes())));
        assert!(t.admits(Some(format!("bearer  {secret} ").as_bytes())));
        assert!(!t.admits(Some(format!("Bearer {secret}x").as_bytes())));
        assert!(!t.admits(Some(format!("Basic {secret}").as_bytes())));
        assert!(!t.admits(Some(b"Bearer")));
        assert!(!t.admits(None));
        assert!(!format!("{t:?}").contains(secret));
    }

    #[test]
    fn unsafe_or_short_tokens_are_refused() {
        let (_d, path) = token_file(0o644, "0123456789abcdef0123456789abcdef");
        let e = Token::load(&path).unwrap_err();
        assert!(e.code == "SERVE_CONFIG" && e.message.contains("chmod 600"), "{e:?}");
        let (_d, path) = token_file(0o600, "short");
        assert!(Token::load(&path).unwrap_err().message.contains("at least 32"));
        let (_d, path) = token_file(0o600, "\n");
        assert!(Token::load(&path).is_err());
        let (_d, path) = token_file(0o600, "0123456789abcdef 0123456789abcdef");
        assert!(Token::load(&path).is_err());
    }
}
