//! Ed25519 signing keys and their public halves, on disk.
//!
//! Files written by [`keygen`] into `out_dir`:
//!
//! ```text
//! <name>.key          {"algorithm":"ed25519","keyid":..,"role":..,"seed":"<base64 of 32 bytes>"}  mode 0600
//! <name>.pub.json     {"algorithm":"ed25519","keyid":..,"public_key":"<base64 of 32 bytes>","role":..}
//! <name>.pub.pem      -----BEGIN PUBLIC KEY----- (SubjectPublicKeyInfo, RFC 8410), no role
//! <name>.pub.ssl.json {"keytype":"ed25519","scheme":"ed25519","keyval":{"public":"<hex of 32 bytes>"}}, no role
//! ```
//!
//! The last two are for standard tools, read as they are: securesystemslib loads the PEM with
//! `SSlibKey.from_crypto(load_pem_public_key(..))` and the JSON with `SSlibKey.from_dict(keyid, ..)`.
//! They carry no role, so a trust argument naming one must say which role it has (see [`crate::trust`]).
//!
//! `keyid` follows securesystemslib (`signer._utils.compute_default_keyid`, which in-toto uses too): the
//! lowercase hex sha256 of the OLPC canonical JSON of the public-key dict,
//! `{"keytype":"ed25519","keyval":{"public":"<hex>"},"scheme":"ed25519"}` ([`keyid_of`]), i.e. the
//! sha256 of the canonical form of `<name>.pub.ssl.json`. With the same keyid in DSSE
//! `signatures[].keyid`, securesystemslib's `Envelope.verify` (which only tries a key whose keyid equals
//! the hint) accepts our envelopes unchanged.
//!
//! Before that, the keyid was the hex sha256 of the raw 32-byte key ([`legacy_keyid_of`]). Key files,
//! trust roots, envelopes and traces written then still carry it, so every reader accepts either form for
//! the same key ([`keyid_matches`]) and every writer uses the new one. Either way it is derived, never
//! chosen: loaders recompute it and refuse a file whose `keyid` does not match its key.
//!
//! This module owns key generation and loading; it must never print, log, trace or serialise a seed
//! except into the `.key` file itself ([`PrivateKey`]'s `Debug` is redacted for that reason).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::b64;
use crate::error::{AttestError, Result};

pub const ALGORITHM: &str = "ed25519";
/// A key file is a few hundred bytes; anything larger is not one of ours and is refused before parsing.
const MAX_KEY_FILE_BYTES: u64 = 64 << 10;

/// What a key may sign. A verifier asks for a role, so a run-signer key can never vouch for a snapshot
/// (or the reverse) even when both are in the same trust root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    #[serde(rename = "snapshot-signer")]
    SnapshotSigner,
    #[serde(rename = "run-signer")]
    RunSigner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::SnapshotSigner => "snapshot-signer",
            Role::RunSigner => "run-signer",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "snapshot-signer" => Ok(Role::SnapshotSigner),
            "run-signer" => Ok(Role::RunSigner),
            other => Err(format!(
                "unknown role {other:?} (expected snapshot-signer or run-signer)"
            )),
        }
    }
}

/// securesystemslib's `keytype` and `scheme` for an ed25519 key.
pub const SSL_KEYTYPE: &str = "ed25519";
pub const SSL_SCHEME: &str = "ed25519";

/// The securesystemslib public-key dict of `public` as OLPC canonical JSON (keys sorted, no
/// whitespace). Every value here is a fixed ASCII word or lowercase hex, which canonical JSON writes
/// verbatim, so the formatted string below *is* the canonical encoding, byte for byte.
pub fn ssl_public_json(public: &VerifyingKey) -> String {
    format!(
        r#"{{"keytype":"{SSL_KEYTYPE}","keyval":{{"public":"{}"}},"scheme":"{SSL_SCHEME}"}}"#,
        hex::encode(public.as_bytes())
    )
}

/// The keyid of `public`: lowercase hex sha256 of [`ssl_public_json`] (securesystemslib's default keyid).
pub fn keyid_of(public: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(ssl_public_json(public).as_bytes()))
}

/// The keyid this project used before it followed securesystemslib: lowercase hex sha256 of the raw
/// 32-byte key. Only read (old key files, trust roots, envelopes and traces), never written.
pub fn legacy_keyid_of(public: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(public.as_bytes()))
}

/// Whether `keyid` names `public`, in either form.
pub fn keyid_matches(keyid: &str, public: &VerifyingKey) -> bool {
    keyid == keyid_of(public) || keyid == legacy_keyid_of(public)
}

/// The public description of a key (the content of `<name>.pub.json`), plus where [`keygen`] wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    pub keyid: String,
    pub role: Role,
    /// Standard base64 of the 32-byte public key.
    pub public_key: String,
    pub algorithm: String,
    pub private_path: PathBuf,
    pub public_path: PathBuf,
    /// `<name>.pub.pem`: SubjectPublicKeyInfo PEM, for standard tools (no role).
    pub pem_path: PathBuf,
    /// `<name>.pub.ssl.json`: the securesystemslib public-key dict, for standard tools (no role).
    pub ssl_path: PathBuf,
}

/// `<name>.pub.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyFile {
    pub algorithm: String,
    pub keyid: String,
    pub public_key: String,
    pub role: Role,
}

/// `<name>.key`. Never constructed outside this module, so the seed cannot leak through a `Debug` or a
/// serialiser somewhere else.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateKeyFile {
    algorithm: String,
    keyid: String,
    role: Role,
    seed: String,
}

/// A loaded signing key with its role. `Debug` shows the key id and role only.
pub struct PrivateKey {
    keyid: String,
    role: Role,
    signing: SigningKey,
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrivateKey")
            .field("keyid", &self.keyid)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Builds a key from a 32-byte seed (ed25519's secret key). For tests and for callers that manage
    /// seeds themselves; [`keygen`] is the normal way to get one.
    pub fn from_seed(seed: &[u8; 32], role: Role) -> Self {
        let signing = SigningKey::from_bytes(seed);
        Self {
            keyid: keyid_of(&signing.verifying_key()),
            role,
            signing,
        }
    }

    pub fn keyid(&self) -> &str {
        &self.keyid
    }
    pub fn role(&self) -> Role {
        self.role
    }
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public half as written to `<name>.pub.json`.
    pub fn public_file(&self) -> PublicKeyFile {
        PublicKeyFile {
            algorithm: ALGORITHM.into(),
            keyid: self.keyid.clone(),
            public_key: b64::encode(self.signing.verifying_key().as_bytes()),
            role: self.role,
        }
    }

    /// Refuses to sign with a key of the wrong role: a signature the verifier would reject anyway is
    /// better refused where the mistake is made.
    pub(crate) fn require_role(&self, required: Role) -> Result<()> {
        if self.role != required {
            return Err(AttestError::WrongRole {
                keyid: self.keyid.clone(),
                actual: self.role,
                required,
            });
        }
        Ok(())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Writes `bytes` to a new file `path` with `mode`, never overwriting, and never leaving a partial file
/// under `path`: the bytes go to a temporary sibling first (fsynced), which is then hard-linked into place
/// (link fails if `path` exists, so a concurrent writer cannot be clobbered) and removed.
fn write_new(path: &Path, mode: u32, bytes: &[u8]) -> Result<()> {
    write_new_as(path, mode, bytes, |path| AttestError::KeyExists { path })
}

/// [`write_new`] for any evidence file: `exists` names the error when `path` is already there.
pub(crate) fn write_new_as(
    path: &Path,
    mode: u32,
    bytes: &[u8],
    exists: impl FnOnce(std::path::PathBuf) -> AttestError,
) -> Result<()> {
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd).map_err(|e| AttestError::Random { detail: e.to_string() })?;
    let tmp = path.with_extension(format!("tmp-{}", hex::encode(rnd)));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(AttestError::io(&tmp))?;
    // The umask may have removed bits from `mode` but never adds any, so 0600 stays 0600; set it again
    // anyway so the public file's mode does not depend on the caller's umask either.
    let written = file
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all());
    drop(file);
    let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    linked.map_err(|source| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            exists(path.to_path_buf())
        } else {
            AttestError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Generates a fresh ed25519 key for `role` and writes `<name>.key` (0600), `<name>.pub.json`,
/// `<name>.pub.pem` and `<name>.pub.ssl.json` into `out_dir` (created if missing). Refuses, writing
/// nothing, if any of them already exists.
pub fn keygen(out_dir: &Path, role: Role, name: &str) -> Result<KeyInfo> {
    if !valid_name(name) {
        return Err(AttestError::KeyNameInvalid { name: name.to_string() });
    }
    let private_path = out_dir.join(format!("{name}.key"));
    let public_path = out_dir.join(format!("{name}.pub.json"));
    let pem_path = out_dir.join(format!("{name}.pub.pem"));
    let ssl_path = out_dir.join(format!("{name}.pub.ssl.json"));
    // Checked up front so a refusal leaves nothing half-written; `create_new` below still closes the race.
    for path in [&private_path, &public_path, &pem_path, &ssl_path] {
        if path.symlink_metadata().is_ok() {
            return Err(AttestError::KeyExists { path: path.clone() });
        }
    }
    std::fs::create_dir_all(out_dir).map_err(AttestError::io(out_dir))?;

    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| AttestError::Random { detail: e.to_string() })?;
    let key = PrivateKey::from_seed(&seed, role);
    let file = PrivateKeyFile {
        algorithm: ALGORITHM.into(),
        keyid: key.keyid.clone(),
        role,
        seed: b64::encode(&seed),
    };
    let mut private_json = serde_json::to_vec_pretty(&file).map_err(|e| AttestError::Encode {
        what: "private key",
        detail: e.to_string(),
    })?;
    private_json.push(b'\n');
    write_new(&private_path, 0o600, &private_json)?;

    let public = key.public_file();
    let mut public_json = serde_json::to_vec_pretty(&public).map_err(|e| AttestError::Encode {
        what: "public key",
        detail: e.to_string(),
    })?;
    public_json.push(b'\n');
    write_new(&public_path, 0o644, &public_json)?;

    let verifying = key.verifying_key();
    write_new(&pem_path, 0o644, public_pem(&verifying)?.as_bytes())?;
    // The canonical form itself, so the keyid is the sha256 of this file minus its trailing newline.
    let mut ssl_json = ssl_public_json(&verifying).into_bytes();
    ssl_json.push(b'\n');
    write_new(&ssl_path, 0o644, &ssl_json)?;

    Ok(KeyInfo {
        keyid: public.keyid,
        role,
        public_key: public.public_key,
        algorithm: public.algorithm,
        private_path,
        public_path,
        pem_path,
        ssl_path,
    })
}

/// `public` as a SubjectPublicKeyInfo PEM (RFC 8410 `id-Ed25519`), the form OpenSSL and pyca/cryptography
/// read. Encoded by the RustCrypto `pkcs8`/`spki` implementation behind ed25519-dalek's `pem` feature.
pub fn public_pem(public: &VerifyingKey) -> Result<String> {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    public
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| AttestError::Encode {
            what: "public key PEM",
            detail: e.to_string(),
        })
}

fn read_small(path: &Path) -> Result<Vec<u8>> {
    sealed_files::read_capped(path, MAX_KEY_FILE_BYTES).map_err(|e| match e {
        sealed_files::ReadError::Io { path, source } => AttestError::Io { path, source },
        other => AttestError::KeyInvalid {
            path: path.to_path_buf(),
            detail: other.to_string(),
        },
    })
}

/// Decodes a base64 32-byte value.
pub(crate) fn decode_32(text: &str) -> std::result::Result<[u8; 32], String> {
    let bytes = b64::decode(text)?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| format!("expected 32 bytes, found {}", bytes.len()))
}

/// Parses an ed25519 public key, refusing weak (small-order) points: a signature "by" such a key proves
/// nothing.
pub(crate) fn parse_public(text: &str) -> std::result::Result<VerifyingKey, String> {
    let bytes = decode_32(text).map_err(|e| format!("public_key: {e}"))?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|e| format!("public_key: not an ed25519 point: {e}"))?;
    if key.is_weak() {
        return Err("public_key: a weak (small-order) ed25519 key".into());
    }
    Ok(key)
}

/// Loads `<name>.key`. Refuses a file that other users can read (like ssh does): a leaked signing key
/// makes every signature it ever made worthless.
pub fn load_private_key(path: &Path) -> Result<PrivateKey> {
    let meta = std::fs::metadata(path).map_err(AttestError::io(path))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(AttestError::KeyPermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let bytes = read_small(path)?;
    let invalid = |detail: String| AttestError::KeyInvalid {
        path: path.to_path_buf(),
        detail,
    };
    // serde_json's error text quotes no input values for these types, but be explicit anyway: the
    // message must never echo the seed, so only the position is reported.
    let file: PrivateKeyFile = serde_json::from_slice(&bytes).map_err(|e| {
        invalid(format!(
            "not a sealed private key file (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if file.algorithm != ALGORITHM {
        return Err(invalid(format!(
            "algorithm {:?} is not supported (only {ALGORITHM})",
            file.algorithm
        )));
    }
    let seed = decode_32(&file.seed).map_err(|_| invalid("seed: expected base64 of 32 bytes".into()))?;
    let key = PrivateKey::from_seed(&seed, file.role);
    // Files written before the securesystemslib keyid carry the old form; both name the same key, and
    // the loaded key signs with the new one.
    if !keyid_matches(&file.keyid, &key.verifying_key()) {
        return Err(invalid(format!(
            "keyid {} does not match the key (its keyid is {}, or {} in the old raw-key form)",
            file.keyid,
            key.keyid,
            legacy_keyid_of(&key.verifying_key())
        )));
    }
    Ok(key)
}

/// A public key with its role, checked: the keyid matches the key bytes. `keyid` is always the
/// securesystemslib form ([`keyid_of`]), whichever form the file it came from used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub keyid: String,
    pub role: Role,
    pub key: VerifyingKey,
}

impl PublicKey {
    /// A key with its keyid computed.
    pub fn new(key: VerifyingKey, role: Role) -> Self {
        Self {
            keyid: keyid_of(&key),
            role,
            key,
        }
    }

    /// Checks a `(keyid, role, public_key)` triple as found in a `.pub.json` or a trust root entry. The
    /// keyid may be in either form ([`keyid_matches`]).
    pub(crate) fn parse(keyid: &str, role: Role, public_key: &str) -> std::result::Result<Self, String> {
        let key = parse_public(public_key)?;
        if !keyid_matches(keyid, &key) {
            return Err(format!(
                "keyid {keyid} does not match public_key (whose keyid is {}, or {} in the old raw-key form)",
                keyid_of(&key),
                legacy_keyid_of(&key)
            ));
        }
        Ok(Self::new(key, role))
    }

    /// Whether `keyid` names this key, in either form (a DSSE hint, a trace's `signed:<keyid>`).
    pub fn matches(&self, keyid: &str) -> bool {
        keyid_matches(keyid, &self.key)
    }

    /// The old raw-key keyid of this key, for messages.
    pub fn legacy_keyid(&self) -> String {
        legacy_keyid_of(&self.key)
    }
}

/// Refuses weak (small-order) points, which no honest key is.
fn strong(key: VerifyingKey) -> std::result::Result<VerifyingKey, String> {
    if key.is_weak() {
        return Err("a weak (small-order) ed25519 key".into());
    }
    Ok(key)
}

/// Parses a SubjectPublicKeyInfo PEM holding an ed25519 key (`<name>.pub.pem`).
pub fn parse_public_pem(text: &str) -> std::result::Result<VerifyingKey, String> {
    use ed25519_dalek::pkcs8::DecodePublicKey;
    let key = VerifyingKey::from_public_key_pem(text.trim())
        .map_err(|e| format!("not an ed25519 SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`): {e}"))?;
    strong(key)
}

/// The securesystemslib public-key dict (`<name>.pub.ssl.json`).
#[derive(Deserialize)]
struct SslKeyFile {
    keytype: String,
    scheme: String,
    keyval: SslKeyVal,
}

#[derive(Deserialize)]
struct SslKeyVal {
    public: String,
}

/// Parses a securesystemslib public-key dict (`{"keytype","scheme","keyval":{"public":<hex>}}`, as
/// `SSlibKey.to_dict()` writes it; other fields, such as a `keyid` some tools add, are ignored as
/// securesystemslib ignores them when computing the keyid).
pub fn parse_public_ssl(bytes: &[u8]) -> std::result::Result<VerifyingKey, String> {
    let file: SslKeyFile =
        serde_json::from_slice(bytes).map_err(|e| format!("not a securesystemslib public key dict ({e})"))?;
    if file.keytype != SSL_KEYTYPE || file.scheme != SSL_SCHEME {
        return Err(format!(
            "keytype {:?} / scheme {:?} is not supported (only {SSL_KEYTYPE}/{SSL_SCHEME})",
            file.keytype, file.scheme
        ));
    }
    let bytes = hex::decode(&file.keyval.public).map_err(|e| format!("keyval.public: not hex ({e})"))?;
    let raw = <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| format!("keyval.public: expected 32 bytes, found {}", bytes.len()))?;
    let key = VerifyingKey::from_bytes(&raw).map_err(|e| format!("keyval.public: not an ed25519 point: {e}"))?;
    strong(key)
}

/// The format of a public key or trust file, told from its content (never from its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicFileKind {
    /// `-----BEGIN PUBLIC KEY-----` (no role).
    Pem,
    /// securesystemslib JSON (no role).
    Ssl,
    /// `<name>.pub.json` (carries its role).
    Sealed,
    /// `sealed-trust/v1` (carries a role per key).
    TrustRoot,
}

/// Tells what kind of key file `bytes` is, or `None` if it is none of them.
pub fn classify(bytes: &[u8]) -> Option<PublicFileKind> {
    let text = std::str::from_utf8(bytes).ok()?.trim_start();
    if text.starts_with("-----BEGIN") {
        return Some(PublicFileKind::Pem);
    }
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let object = value.as_object()?;
    if object.contains_key("format") {
        Some(PublicFileKind::TrustRoot)
    } else if object.contains_key("keytype") {
        Some(PublicFileKind::Ssl)
    } else if object.contains_key("public_key") {
        Some(PublicFileKind::Sealed)
    } else {
        None
    }
}

/// Loads `<name>.pub.json`.
pub fn load_public_key(path: &Path) -> Result<PublicKey> {
    let bytes = read_small(path)?;
    let invalid = |detail: String| AttestError::KeyInvalid {
        path: path.to_path_buf(),
        detail,
    };
    let file: PublicKeyFile = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
    if file.algorithm != ALGORITHM {
        return Err(invalid(format!(
            "algorithm {:?} is not supported (only {ALGORITHM})",
            file.algorithm
        )));
    }
    PublicKey::parse(&file.keyid, file.role, &file.public_key).map_err(invalid)
}
