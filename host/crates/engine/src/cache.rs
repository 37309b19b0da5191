//! The persistent cache of compiled components: what `Component::serialize` produced for a component, kept
//! on disk so that the next `host` process deserializes it (tens of microseconds) instead of compiling it
//! with Cranelift again (hundreds of milliseconds).
//!
//! Loading compiled code is the one place this host trusts bytes it did not just produce: wasmtime maps
//! them as executable machine code without validating them. Everything in this module exists to make that
//! trust hold:
//!
//! * **The directory** ([`DiskCache::open`]) is created 0700 and refused when it is a symbolic link, is
//!   owned by another uid than the process's effective uid, or is writable by group or others: then
//!   nobody but this user can add, replace, rename or delete an entry.
//! * **Each entry** is `<key hex>.cwasm`, written by this code only, to a 0600 temporary file in the same
//!   directory that is synced and then atomically renamed onto its name (two processes writing the same key
//!   both write complete entries; the last rename wins). On load the file must be a regular file (opened
//!   without following a symbolic link, FIFOs and devices refused through the opened handle), owned by
//!   this user, not writable by group or others, and at most [`MAX_ENTRY_BYTES`].
//! * **The header** ([`HEADER_LEN`] bytes: [`MAGIC`], [`FORMAT_VERSION`], the key, the sha256 of the
//!   body, the body length) is checked before anything else: a truncated, extended, corrupted or copied
//!   entry, or one of another format version, is refused.
//! * **The key** is a sha256 over the format tag ([`KEY_TAG`]), the sha256 of the component's bytes (as
//!   the engine computed it), the wasmtime version, wasmtime's `precompile_compatibility_hash` of the
//!   engine, and the host's engine-profile digest. wasmtime's own load-time check is not enough: it
//!   ignores NaN canonicalisation, so code compiled without it loads silently into an engine that has it
//!   on. (The compatibility hash of wasmtime 48.0.8 covers that flag; the profile digest covers it, and
//!   every other profile setting, whatever a wasmtime release hashes.)
//!
//! Any entry that fails a check (or that wasmtime itself refuses) is counted as invalid, deleted, and
//! replaced by a fresh compilation. A cache failure never fails a run: a write error is counted and
//! logged, and the compiled component is used from memory.

use std::fs::{File, Permissions};
use std::hash::Hasher;
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use serde::Serialize;
use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use crate::profile::WASMTIME_VERSION;

/// First bytes of every entry.
pub const MAGIC: [u8; 8] = *b"SEALEDCW";
/// Version of the entry layout (header + body). An entry of another version is invalid.
pub const FORMAT_VERSION: u32 = 1;
/// The format tag hashed into every key.
pub const KEY_TAG: &str = "sealed-cwasm/v1";
/// Header length: magic (8), format version (u32 LE), key (32), sha256 of the body (32), body length
/// (u64 LE).
pub const HEADER_LEN: usize = 8 + 4 + 32 + 32 + 8;
/// Largest entry file that is read at all (header included). Compiled capabilities are a few MiB.
pub const MAX_ENTRY_BYTES: u64 = 512 << 20;
/// Suffix of entry files (`<64 hex>.cwasm`).
pub const ENTRY_SUFFIX: &str = ".cwasm";
/// Prefix of the temporary files entries are written to before their rename.
pub const TEMP_PREFIX: &str = ".tmp-";

/// Why the cache directory cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// The directory could be written (or swapped) by someone else than this user: loading machine code
    /// from it would let them run code in this process.
    #[error("compiled-component cache directory {} is not safe to load code from: {why}", .dir.display())]
    Insecure { dir: PathBuf, why: String },
    /// Creating, listing, clearing or writing the cache failed.
    #[error("compiled-component cache: cannot {action} {}: {detail}", .path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        detail: String,
    },
    /// [`crate::Engine::warm`] on an engine built without a disk cache.
    #[error("this engine has no compiled-component cache directory (build it with Engine::new_with_cache)")]
    NotConfigured,
}

impl CacheError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CacheError::Insecure { .. } => "CACHE_DIR_INSECURE",
            // Not configured is the caller asking to write a cache it has not given: the same remedy class
            // (nothing can be written to the cache).
            CacheError::Io { .. } | CacheError::NotConfigured => "CACHE_IO",
        }
    }
}

fn io_error(path: &Path, action: &'static str, e: impl std::fmt::Display) -> CacheError {
    CacheError::Io {
        path: path.to_path_buf(),
        action,
        detail: e.to_string(),
    }
}

/// Counters of one [`crate::Engine`] since it was built (all engine clones share them).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct CacheStats {
    /// Compiled components found in the engine's memory.
    pub memory_hits: u64,
    /// Entries loaded from the disk cache.
    pub disk_hits: u64,
    /// Components compiled with Cranelift.
    pub misses: u64,
    /// Disk entries found bad (any check, or wasmtime's own), deleted, and compiled again.
    pub invalid: u64,
    /// Entries written to the disk cache.
    pub writes: u64,
    /// Entries that could not be written (the run went on with the component compiled in memory).
    pub write_errors: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) memory_hits: AtomicU64,
    pub(crate) disk_hits: AtomicU64,
    pub(crate) misses: AtomicU64,
    pub(crate) invalid: AtomicU64,
    pub(crate) writes: AtomicU64,
    pub(crate) write_errors: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CacheStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CacheStats {
            memory_hits: get(&self.memory_hits),
            disk_hits: get(&self.disk_hits),
            misses: get(&self.misses),
            invalid: get(&self.invalid),
            writes: get(&self.writes),
            write_errors: get(&self.write_errors),
        }
    }
}

/// What [`crate::Engine::warm`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarmOutcome {
    /// A valid entry was already on disk (it was loaded to prove it).
    AlreadyCached,
    /// The entry was missing or invalid and has been written.
    Compiled,
}

/// One entry file of the cache, as [`DiskCache::list`] found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheEntryReport {
    /// File name inside the cache directory (`<key hex>.cwasm`).
    pub file: String,
    pub bytes: u64,
    /// The file passes every check that does not need an engine: regular file, owner and mode, size,
    /// magic, format version, key == file name, body length and body sha256.
    pub valid: bool,
    /// Why it is not valid.
    pub problem: Option<String>,
}

/// Every entry of a cache directory, with totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheListing {
    pub dir: String,
    /// Number of entry files.
    pub entries: u64,
    pub valid: u64,
    pub invalid: u64,
    /// Total size of the entry files.
    pub bytes: u64,
    /// Temporary files left by a write that never finished (a killed process); [`DiskCache::clear`]
    /// removes them.
    pub temp_files: u64,
    /// Sorted by file name.
    pub files: Vec<CacheEntryReport>,
}

/// A checked cache directory. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskCache {
    dir: PathBuf,
    /// The effective uid that owns the directory (and must own every entry).
    euid: u32,
}

impl DiskCache {
    /// Opens the cache at `dir`, creating it (and missing parents) with mode 0700 if absent.
    ///
    /// Refused with [`CacheError::Insecure`] when `dir` is a symbolic link, is owned by another uid than
    /// the process's effective uid, or is writable by group or others: anyone who can write into it could
    /// make this process run their machine code.
    pub fn open(dir: &Path) -> Result<DiskCache, CacheError> {
        let insecure = |why: String| CacheError::Insecure {
            dir: dir.to_path_buf(),
            why,
        };
        let symlink = || {
            insecure(
                "it is a symbolic link; give the directory it points to instead (what is checked must be what is \
                 used)"
                    .to_string(),
            )
        };
        match std::fs::symlink_metadata(dir) {
            Ok(meta) if meta.file_type().is_symlink() => return Err(symlink()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| io_error(dir, "create the directory", e))?,
            Err(e) => return Err(io_error(dir, "inspect the directory", e)),
        }
        // The checks below are made on the opened directory itself (never through a final symbolic
        // link), so what is checked is what was opened.
        let fd = match rustix::fs::open(
            dir,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::LOOP) => return Err(symlink()),
            Err(Errno::NOTDIR) => return Err(io_error(dir, "use", "it is not a directory")),
            Err(e) => return Err(io_error(dir, "open the directory", std::io::Error::from(e))),
        };
        let meta = File::from(fd)
            .metadata()
            .map_err(|e| io_error(dir, "inspect the directory", e))?;
        let euid = rustix::process::geteuid().as_raw();
        if meta.uid() != euid {
            return Err(insecure(format!(
                "it is owned by uid {}, not by this process's uid {euid}; use a directory of your own, or `chown \
                 {euid} {}` and `chmod 700 {}`",
                meta.uid(),
                dir.display(),
                dir.display()
            )));
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o022 != 0 {
            return Err(insecure(format!(
                "its mode is {mode:04o}: group or others can write into it; run `chmod 700 {}`",
                dir.display()
            )));
        }
        Ok(DiskCache {
            dir: dir.to_path_buf(),
            euid,
        })
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every entry file of the directory, checked without an engine (see [`CacheEntryReport::valid`]).
    /// Other files are not reported, except that stray temporary files are counted.
    pub fn list(&self) -> Result<CacheListing, CacheError> {
        let mut files = Vec::new();
        let mut temp_files = 0;
        for entry in std::fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, "list", e))? {
            let entry = entry.map_err(|e| io_error(&self.dir, "list", e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(TEMP_PREFIX) {
                temp_files += 1;
                continue;
            }
            let Some(key) = CacheKey::from_file_name(name) else {
                continue;
            };
            let path = self.dir.join(name);
            let (bytes, problem) = match self.read(&key) {
                Lookup::Valid(entry) => (entry.file_len, None),
                Lookup::Invalid { problem, .. } => (
                    std::fs::symlink_metadata(&path).map(|m| m.len()).unwrap_or(0),
                    Some(problem),
                ),
                // Removed between the listing and the read.
                Lookup::Missing => continue,
            };
            files.push(CacheEntryReport {
                file: name.to_string(),
                bytes,
                valid: problem.is_none(),
                problem,
            });
        }
        files.sort_by(|a, b| a.file.cmp(&b.file));
        let valid = files.iter().filter(|f| f.valid).count() as u64;
        Ok(CacheListing {
            dir: self.dir.display().to_string(),
            entries: files.len() as u64,
            valid,
            invalid: files.len() as u64 - valid,
            bytes: files.iter().map(|f| f.bytes).sum(),
            temp_files,
            files,
        })
    }

    /// Removes every entry file and stray temporary file; anything else in the directory (and any
    /// directory) is left alone. Returns the number of files removed.
    pub fn clear(&self) -> Result<u64, CacheError> {
        let mut removed = 0;
        for entry in std::fs::read_dir(&self.dir).map_err(|e| io_error(&self.dir, "list", e))? {
            let entry = entry.map_err(|e| io_error(&self.dir, "list", e))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !(name.starts_with(TEMP_PREFIX) || CacheKey::from_file_name(name).is_some()) {
                continue;
            }
            let path = self.dir.join(name);
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => continue,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error(&path, "inspect", e)),
            }
            match std::fs::remove_file(&path) {
                Ok(()) => removed += 1,
                // Another process removed or renamed it meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&path, "remove", e)),
            }
        }
        Ok(removed)
    }

    pub(crate) fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// Reads and checks the entry of `key`. Opens the file once, without following a symbolic link and
    /// without blocking on a FIFO, and makes every check on that handle.
    pub(crate) fn read(&self, key: &CacheKey) -> Lookup {
        let path = self.entry_path(key);
        let invalid = |problem: String, identity: Option<FileIdentity>| Lookup::Invalid { problem, identity };
        let fd = match rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Lookup::Missing,
            Err(Errno::LOOP) => return invalid("it is a symbolic link".into(), None),
            Err(e) => return invalid(format!("cannot open it: {}", std::io::Error::from(e)), None),
        };
        let file = File::from(fd);
        let meta = match file.metadata() {
            Ok(meta) => meta,
            Err(e) => return invalid(format!("cannot inspect it: {e}"), None),
        };
        let read_identity = FileIdentity {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        let identity = Some(read_identity);
        if !meta.file_type().is_file() {
            return invalid("it is not a regular file".into(), identity);
        }
        if meta.uid() != self.euid {
            return invalid(
                format!("it is owned by uid {}, not uid {}", meta.uid(), self.euid),
                identity,
            );
        }
        if meta.mode() & 0o022 != 0 {
            return invalid(
                format!("its mode {:04o} lets group or others write it", meta.mode() & 0o7777),
                identity,
            );
        }
        if meta.len() > MAX_ENTRY_BYTES {
            return invalid(
                format!("it is {} bytes, over the {MAX_ENTRY_BYTES}-byte cap", meta.len()),
                identity,
            );
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        if let Err(e) = file.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut bytes) {
            return invalid(format!("cannot read it: {e}"), identity);
        }
        if bytes.len() as u64 > MAX_ENTRY_BYTES {
            return invalid(
                format!("it grew over the {MAX_ENTRY_BYTES}-byte cap while read"),
                identity,
            );
        }
        match check_entry(&bytes, key) {
            Ok(()) => Lookup::Valid(CheckedEntry {
                file_len: bytes.len() as u64,
                bytes,
                identity: read_identity,
            }),
            Err(problem) => invalid(problem, identity),
        }
    }

    /// Deletes the entry of `key` after it was found invalid; when the file that was read is known, only
    /// if the name still refers to it (another process may have renamed a fresh entry onto the name
    /// meanwhile). A failure to delete is ignored: the entry is rewritten anyway.
    pub(crate) fn discard(&self, key: &CacheKey, identity: Option<FileIdentity>) {
        let path = self.entry_path(key);
        if let Some(read) = identity {
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.dev() == read.dev && meta.ino() == read.ino => {}
                _ => return,
            }
        }
        let _ = std::fs::remove_file(&path);
    }

    /// Writes the entry of `key` for `body` (the output of `Component::serialize`): a 0600 temporary
    /// file in the cache directory, synced, then atomically renamed onto the entry's name.
    pub(crate) fn write(&self, key: &CacheKey, body: &[u8]) -> Result<(), CacheError> {
        let path = self.entry_path(key);
        if (HEADER_LEN + body.len()) as u64 > MAX_ENTRY_BYTES {
            return Err(io_error(
                &path,
                "write",
                format!("the compiled component is over the {MAX_ENTRY_BYTES}-byte cap"),
            ));
        }
        let mut tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .permissions(Permissions::from_mode(0o600))
            .tempfile_in(&self.dir)
            .map_err(|e| io_error(&self.dir, "create a temporary file in", e))?;
        let tmp_path = tmp.path().to_path_buf();
        let write_err = |e: std::io::Error| io_error(&tmp_path, "write", e);
        tmp.write_all(&encode_header(key, body)).map_err(write_err)?;
        tmp.write_all(body).map_err(write_err)?;
        tmp.as_file().sync_all().map_err(write_err)?;
        // On failure the temporary file is deleted when the error (which owns it) is dropped.
        tmp.persist(&path)
            .map_err(|e| io_error(&path, "rename a temporary file onto", e.error))?;
        Ok(())
    }
}

/// The device and inode of a file that was read, to delete that file and no other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    dev: u64,
    ino: u64,
}

/// What [`DiskCache::read`] found.
pub(crate) enum Lookup {
    Missing,
    Invalid {
        problem: String,
        identity: Option<FileIdentity>,
    },
    Valid(CheckedEntry),
}

/// An entry that passed every check of [`DiskCache::read`]. Only `read` makes one, and
/// [`deserialize_checked`] takes nothing else.
pub(crate) struct CheckedEntry {
    bytes: Vec<u8>,
    file_len: u64,
    pub(crate) identity: FileIdentity,
}

impl CheckedEntry {
    fn body(&self) -> &[u8] {
        self.bytes.get(HEADER_LEN..).unwrap_or_default()
    }
}

/// The one hand-written `unsafe` of the crate (the other `allow(unsafe_code)` is on wasmtime's generated
/// bindings): turns a checked entry back into a compiled component.
#[allow(unsafe_code)]
pub(crate) fn deserialize_checked(engine: &wasmtime::Engine, entry: &CheckedEntry) -> wasmtime::Result<Component> {
    // SAFETY: `Component::deserialize` requires bytes that wasmtime itself produced with
    // `Component::serialize` (or `Engine::precompile_component`) for a compatible engine, unmodified since:
    // it maps them as machine code without validating them. That holds here because:
    // 1. the directory was checked at `DiskCache::open` to be a real directory (not a symbolic link) owned
    //    by this process's effective uid and not writable by group or others, so no other user can create,
    //    replace or rename a file in it;
    // 2. `DiskCache::read` opened the entry without following a symbolic link and checked, on that handle,
    //    that it is a regular file owned by the same uid and not writable by group or others, so no other
    //    user can have modified it in place;
    // 3. entries are written only by `DiskCache::write` (temporary file in that directory, synced, then an
    //    atomic rename), so a reader sees either a complete entry or none, and its header carries the
    //    sha256 of the body as this code wrote it: `check_entry` verified magic, format version, length
    //    and that digest, so the bytes are exactly the `Component::serialize` output this code wrote
    //    (not truncated, corrupted or half-written);
    // 4. the header's key equals the key computed for this lookup, a sha256 over the component bytes'
    //    sha256 (computed by the engine), the wasmtime version, this engine's
    //    `precompile_compatibility_hash` and the host's engine-profile digest, so the body was compiled
    //    from this exact component by this wasmtime build under this exact configuration; an entry copied
    //    under another name is refused;
    // 5. wasmtime's own header check (version, target, engine flags) is a further layer, and an error from
    //    it makes the caller treat the entry as invalid.
    unsafe { Component::deserialize(engine, entry.body()) }
}

/// The name of a compiled component in the cache: see the module documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CacheKey(pub(crate) [u8; 32]);

impl CacheKey {
    /// The key of the component whose bytes hash to `component_sha256`, for an engine whose
    /// wasmtime compatibility hash digests to `compat` and whose profile digest is `profile_digest`.
    pub(crate) fn new(component_sha256: &[u8; 32], compat: &[u8; 32], profile_digest: &str) -> CacheKey {
        key_for(KEY_TAG, component_sha256, WASMTIME_VERSION, compat, profile_digest)
    }

    pub(crate) fn hex(&self) -> String {
        hex::encode(self.0)
    }

    pub(crate) fn file_name(&self) -> String {
        format!("{}{ENTRY_SUFFIX}", self.hex())
    }

    /// The key an entry file name stands for: exactly 64 lowercase hex digits and `.cwasm`.
    pub(crate) fn from_file_name(name: &str) -> Option<CacheKey> {
        let hex = name.strip_suffix(ENTRY_SUFFIX)?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        let mut key = [0u8; 32];
        hex::decode_to_slice(hex, &mut key).ok()?;
        Some(CacheKey(key))
    }
}

/// sha256 of a canonical byte string: each field as its name and its value, each length-prefixed (u64
/// LE), in a fixed order, so that no two different field lists give the same bytes.
fn key_for(tag: &str, component_sha256: &[u8; 32], wasmtime: &str, compat: &[u8; 32], profile: &str) -> CacheKey {
    let mut h = Sha256::new();
    let fields: [(&str, &[u8]); 5] = [
        ("format", tag.as_bytes()),
        ("component-sha256", component_sha256),
        ("wasmtime-version", wasmtime.as_bytes()),
        ("wasmtime-compatibility-hash", compat),
        ("engine-profile-digest", profile.as_bytes()),
    ];
    for (name, value) in fields {
        for part in [name.as_bytes(), value] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part);
        }
    }
    CacheKey(h.finalize().into())
}

/// A `Hasher` that feeds everything it is given to a sha256: a digest of a `Hash` value that is the same
/// in every process (unlike `RandomState`), and 256 bits wide.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_le_bytes(first)
    }
}

/// sha256 of wasmtime's `precompile_compatibility_hash` of `engine` (its target, compiler flags,
/// tunables, features and module version).
pub(crate) fn compatibility_digest(engine: &wasmtime::Engine) -> [u8; 32] {
    let mut hasher = Sha256Hasher(Sha256::new());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hasher.0.finalize().into()
}

fn encode_header(key: &CacheKey, body: &[u8]) -> [u8; HEADER_LEN] {
    let mut header = [0u8; HEADER_LEN];
    let digest: [u8; 32] = Sha256::digest(body).into();
    let parts: [&[u8]; 5] = [
        &MAGIC,
        &FORMAT_VERSION.to_le_bytes(),
        &key.0,
        &digest,
        &(body.len() as u64).to_le_bytes(),
    ];
    let mut at = 0;
    for part in parts {
        header[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    header
}

/// Checks a whole entry (header + body) for `key`; the error says what is wrong, for the log and
/// [`DiskCache::list`].
fn check_entry(bytes: &[u8], key: &CacheKey) -> Result<(), String> {
    let (Some(header), Some(body)) = (bytes.get(..HEADER_LEN), bytes.get(HEADER_LEN..)) else {
        return Err(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        ));
    };
    let (magic, rest) = header.split_at(8);
    let (version, rest) = rest.split_at(4);
    let (entry_key, rest) = rest.split_at(32);
    let (digest, len) = rest.split_at(32);
    if magic != MAGIC {
        return Err("not a sealed compiled-component entry (bad magic)".into());
    }
    let mut v = [0u8; 4];
    v.copy_from_slice(version);
    let version = u32::from_le_bytes(v);
    if version != FORMAT_VERSION {
        return Err(format!(
            "entry format version {version}, this host reads version {FORMAT_VERSION}"
        ));
    }
    if entry_key != key.0 {
        return Err(format!(
            "the entry is for key {}, not {} (copied or renamed from another entry)",
            hex::encode(entry_key),
            key.hex()
        ));
    }
    let mut l = [0u8; 8];
    l.copy_from_slice(len);
    let declared = u64::from_le_bytes(l);
    if declared != body.len() as u64 {
        return Err(format!(
            "the header declares a body of {declared} bytes, the file holds {} (truncated or extended)",
            body.len()
        ));
    }
    if Sha256::digest(body).as_slice() != digest {
        return Err("the body does not match its sha256 (corrupted)".into());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn key(n: u8) -> CacheKey {
        CacheKey([n; 32])
    }

    fn entry(key: &CacheKey, body: &[u8]) -> Vec<u8> {
        let mut bytes = encode_header(key, body).to_vec();
        bytes.extend_from_slice(body);
        bytes
    }

    #[test]
    fn header_round_trips_and_has_the_documented_layout() {
        let body = b"compiled code".as_slice();
        let bytes = entry(&key(7), body);
        assert_eq!(bytes.len(), HEADER_LEN + body.len());
        assert_eq!(&bytes[..8], b"SEALEDCW");
        assert_eq!(&bytes[8..12], &1u32.to_le_bytes());
        assert_eq!(&bytes[12..44], &[7u8; 32]);
        assert_eq!(&bytes[44..76], Sha256::digest(body).as_slice());
        assert_eq!(&bytes[76..84], &(body.len() as u64).to_le_bytes());
        assert_eq!(check_entry(&bytes, &key(7)), Ok(()));
        // An empty body is a valid (if useless) entry; wasmtime refuses it later.
        assert_eq!(check_entry(&entry(&key(1), b""), &key(1)), Ok(()));
    }

    #[test]
    fn every_header_defect_is_refused() {
        let good = entry(&key(7), b"compiled code");
        let problem = |bytes: &[u8]| check_entry(bytes, &key(7)).unwrap_err();

        assert!(problem(&good[..HEADER_LEN - 1]).contains("truncated"));
        assert!(problem(&[]).contains("truncated"));
        let mut bad = good.clone();
        bad[0] ^= 1;
        assert!(problem(&bad).contains("magic"));
        let mut bad = good.clone();
        bad[8] = 2;
        assert!(problem(&bad).contains("format version 2"));
        assert!(check_entry(&good, &key(8)).unwrap_err().contains("copied or renamed"));
        assert!(problem(&good[..good.len() - 1]).contains("truncated or extended"));
        let mut longer = good.clone();
        longer.push(0);
        assert!(problem(&longer).contains("truncated or extended"));
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 0x80;
        assert!(problem(&bad).contains("corrupted"));
        let mut bad = good.clone();
        bad[50] ^= 1; // in the stored digest
        assert!(problem(&bad).contains("corrupted"));
    }

    #[test]
    fn the_key_depends_on_every_field() {
        let (c, w, p) = ([1u8; 32], [2u8; 32], "ab".repeat(32));
        let base = key_for(KEY_TAG, &c, WASMTIME_VERSION, &w, &p);
        assert_eq!(base, key_for(KEY_TAG, &c, WASMTIME_VERSION, &w, &p));
        assert_eq!(base, CacheKey::new(&c, &w, &p));
        let others = [
            key_for("sealed-cwasm/v2", &c, WASMTIME_VERSION, &w, &p),
            key_for(KEY_TAG, &[9; 32], WASMTIME_VERSION, &w, &p),
            key_for(KEY_TAG, &c, "48.0.9", &w, &p),
            key_for(KEY_TAG, &c, WASMTIME_VERSION, &[9; 32], &p),
            key_for(KEY_TAG, &c, WASMTIME_VERSION, &w, &"cd".repeat(32)),
        ];
        for other in others {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn entry_file_names_are_exactly_64_lowercase_hex_and_cwasm() {
        let k = key(0xab);
        assert_eq!(CacheKey::from_file_name(&k.file_name()), Some(k));
        for bad in [
            "notes.txt",
            ".tmp-abc",
            &format!("{}.cwasm", "AB".repeat(32)),
            &format!("{}.cwasm", "ab".repeat(31)),
            &format!("{}.wasm", "ab".repeat(32)),
            &format!("{}x.cwasm", "ab".repeat(32)),
        ] {
            assert_eq!(CacheKey::from_file_name(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_compatibility_digest_is_stable_and_config_sensitive() {
        let engine = |fuel: bool, nan: bool| {
            let mut cfg = wasmtime::Config::new();
            cfg.consume_fuel(fuel).cranelift_nan_canonicalization(nan);
            wasmtime::Engine::new(&cfg).unwrap()
        };
        let base = compatibility_digest(&engine(true, true));
        assert_eq!(
            base,
            compatibility_digest(&engine(true, true)),
            "same config, another engine"
        );
        assert_ne!(
            base,
            compatibility_digest(&engine(false, true)),
            "fuel changes compiled code"
        );
        // wasmtime 48.0.8 hashes every Cranelift flag, NaN canonicalisation included (its load-time check
        // ignores that flag). The key has the profile digest as well, so it would not rest on this.
        assert_ne!(base, compatibility_digest(&engine(true, false)), "NaN canonicalisation");
    }
}
