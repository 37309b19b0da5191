//! Pending-run markers: `<data-root>/pending/<run-id>.json`, one per run in progress.
//!
//! A run creates its marker as soon as its id is consumed and holds an exclusive lock (`flock`) on it
//! until its evidence is complete; then it deletes the marker and only then lets the lock go. The kernel
//! drops the lock when the process dies, however it dies, so "a marker nobody holds" means exactly "a run
//! whose process ended before its evidence was complete": what [`super::recover`] completes. Listing
//! `pending/` costs one directory read per run, whatever the number of runs the data root has seen.
//!
//! Owns the marker's file, its lock and its content: one JSON line saying where the run's trace is,
//! written before the marker is published, and — appended just before COMMIT — a second line with the
//! ending the run is about to commit. Append-only, so a kill in the middle of the second line leaves the
//! first intact and the second visibly incomplete (and then the run cannot have committed). It must never decide how a run ends: the
//! store's record of a commit is what recovery trusts, the marker only says where to look.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::Failure;

pub const PENDING_DIR: &str = "pending";
const FORMAT: &str = "sealed-pending/v1";
/// A marker is a few hundred bytes; anything much larger is not one of ours.
pub(crate) const MAX_MARKER_BYTES: u64 = 64 << 10;

/// What a marker says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MarkerBody {
    pub run_id: String,
    /// Absolute path of the run's trace file.
    pub trace: PathBuf,
    /// The terminal the run reached, written (and made durable) just before its store transaction
    /// commits. Present whenever the store may hold the run's commit.
    pub ending: Option<PlannedEnding>,
}

/// The marker's first line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkerHead {
    format: String,
    run_id: String,
    trace: PathBuf,
}

/// The ending of a run that is about to commit: what its `run_end` says besides what the store records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlannedEnding {
    pub terminal: String,
    pub status: String,
    pub ok: bool,
}

/// The marker of a run in progress, locked by this process. Dropping it without [`Marker::release`]
/// leaves it in place (as a crash would): the run is then recovered by the next open of the data root.
#[derive(Debug)]
pub(crate) struct Marker {
    file: File,
    path: PathBuf,
    dir: PathBuf,
}

fn io_failure(what: &str, path: &Path, e: std::io::Error) -> Failure {
    Failure::new("RUN_ID_IO", format!("cannot {what} {}: {e}", path.display())).nondeterministic()
}

pub(crate) fn pending_dir(data_root: &Path) -> PathBuf {
    data_root.join(PENDING_DIR)
}

/// Whether `name` is a published marker (`<run-id>.json`); temporary files end in `.tmp`.
pub(crate) fn marker_run_id(name: &str) -> Option<&str> {
    name.strip_suffix(".json").filter(|id| super::id::valid_run_id(id))
}

impl Marker {
    /// Creates and locks the marker of `run_id` (whose id this process has just consumed).
    ///
    /// Written aside and renamed into place already locked, so that no other process can ever see a
    /// published marker that is unlocked while its run is alive, or one without content.
    pub(crate) fn create(data_root: &Path, run_id: &str, trace: &Path) -> Result<Marker, Failure> {
        let dir = pending_dir(data_root);
        std::fs::create_dir_all(&dir).map_err(|e| io_failure("create", &dir, e))?;
        let trace = std::path::absolute(trace).map_err(|e| io_failure("resolve", trace, e))?;
        let tmp = dir.join(format!("{run_id}.tmp"));
        let path = dir.join(format!("{run_id}.json"));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_failure("create", &tmp, e))?;
        file.lock().map_err(|e| io_failure("lock", &tmp, e))?;
        let mut marker = Marker {
            file,
            path: tmp.clone(),
            dir,
        };
        let head = MarkerHead {
            format: FORMAT.into(),
            run_id: run_id.to_string(),
            trace,
        };
        marker.append_line(&head)?;
        std::fs::rename(&tmp, &path).map_err(|e| io_failure("publish", &path, e))?;
        marker.path = path;
        Ok(marker)
    }

    fn append_line(&mut self, value: &impl Serialize) -> Result<(), Failure> {
        let mut bytes = serde_json::to_vec(value)
            .map_err(|e| Failure::new("INTERNAL", format!("encoding the pending marker: {e}")))?;
        bytes.push(b'\n');
        let path = &self.path;
        self.file
            .seek(SeekFrom::End(0))
            .and_then(|_| self.file.write_all(&bytes))
            .map_err(|e| io_failure("write", path, e))
    }

    /// Records the ending the run is about to commit and makes the marker durable (its content and its
    /// directory entry), before the caller commits.
    pub(crate) fn set_ending(&mut self, ending: PlannedEnding) -> Result<(), Failure> {
        self.append_line(&ending)?;
        self.file.sync_data().map_err(|e| io_failure("sync", &self.path, e))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_failure("sync", &self.dir, e))
    }

    /// The run's evidence is complete: deletes the marker, then releases the lock (by closing it), in that
    /// order, so a process that finds the file unlocked also finds it gone.
    pub(crate) fn release(self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), error = %e, "cannot delete the pending marker");
        }
        drop(self.file);
    }
}

/// A marker found unlocked: its run's process is gone. Holding this holds the lock.
pub(crate) struct Orphan {
    pub file: File,
    pub path: PathBuf,
}

/// Tries to take over the marker at `path`: `None` when its run is alive (the lock is held), or the file
/// is no longer there (its run finished meanwhile).
pub(crate) fn take_orphan(path: &Path) -> Result<Option<Orphan>, std::io::Error> {
    use std::os::unix::fs::MetadataExt;
    let file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(None),
        Err(TryLockError::Error(e)) => return Err(e),
    }
    // Locked, but the owner may have deleted it (and released the lock) after this process opened it.
    let held = file.metadata()?;
    match std::fs::metadata(path) {
        Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => Ok(Some(Orphan {
            file,
            path: path.to_path_buf(),
        })),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

impl Orphan {
    pub(crate) fn body(&self) -> Result<MarkerBody, String> {
        use std::io::Read;
        let mut bytes = Vec::new();
        (&self.file)
            .take(MAX_MARKER_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it: {e}"))?;
        if bytes.len() as u64 > MAX_MARKER_BYTES {
            return Err(format!("larger than {MAX_MARKER_BYTES} bytes"));
        }
        // Line 1 was complete before the marker was published; line 2 counts only if complete: a kill while
        // appending it happened before COMMIT.
        let mut lines = bytes.split_inclusive(|b| *b == b'\n');
        let head: MarkerHead = lines
            .next()
            .filter(|l| l.ends_with(b"\n"))
            .ok_or_else(|| "not a pending marker: no complete first line".to_string())
            .and_then(|l| serde_json::from_slice(l).map_err(|e| format!("not a pending marker: {e}")))?;
        if head.format != FORMAT {
            return Err(format!(
                "unknown format {:?} (this host writes {FORMAT:?})",
                head.format
            ));
        }
        let ending = match lines.next() {
            Some(l) if l.ends_with(b"\n") => {
                Some(serde_json::from_slice(l).map_err(|e| format!("its ending line is not valid: {e}"))?)
            }
            _ => None,
        };
        Ok(MarkerBody {
            run_id: head.run_id,
            trace: head.trace,
            ending,
        })
    }

    /// Deletes the marker, then releases its lock.
    pub(crate) fn remove(self) -> Result<(), std::io::Error> {
        std::fs::remove_file(&self.path)?;
        drop(self.file);
        Ok(())
    }
}
