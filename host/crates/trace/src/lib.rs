//! The run trace: an append-only, hash-chained JSONL file, one event per line.
//!
//! Format `sealed-trace/v1`. Every line is RFC 8785 canonical JSON carrying `seq` (0, 1, 2, …) and `prev`
//! (the sha256 of the previous line's bytes; 64 zeros for line 0). The chain head is the sha256 of the last
//! line. Changing, deleting, inserting or reordering any line breaks the chain at a precise line.
//!
//! Determinism: a trace holds no wall-clock values. Timings go to a separate `<run-id>.timing.json`, so
//! the same snapshot + payload + prior state + run id gives a byte-identical trace and chain head.
//!
//! This crate owns the file format; it must never interpret a workflow or decide a run's outcome.

pub mod event;
pub mod read;

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use event::*;
pub use read::{ChainError, TraceLine, VerifiedTrace, parse_and_verify, parse_and_verify_observed, parse_unfinished};

pub const FORMAT: &str = "sealed-trace/v1";
/// The largest trace any reader of this host accepts (verify, replay, report, serve). Writers keep a run
/// under it, so that every trace the host writes can be read back.
pub const MAX_TRACE_BYTES: u64 = 1 << 30;
/// What every line but the last may use together: [`MAX_TRACE_BYTES`] less a reserve for the `run_end`
/// line (its error message is capped, its path at most `max_nodes_visited` names).
pub const TRACE_BODY_BUDGET: u64 = MAX_TRACE_BYTES - (8 << 20);
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("cannot write trace {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("trace {path} already exists: run ids are never reused")]
    Exists { path: PathBuf },
    #[error("cannot encode trace event: {0}")]
    Encode(String),
    /// The line would take the trace past its budget ([`TRACE_BODY_BUDGET`]); nothing was written. The
    /// budget keeps room for the run's last line, so a run that hits it still ends with evidence every
    /// reader accepts.
    #[error("a {bytes}-byte trace line would take the trace past its budget of {budget} bytes")]
    Budget { bytes: u64, budget: u64 },
}

impl TraceError {
    pub fn code(&self) -> &'static str {
        match self {
            TraceError::Io { .. } => "TRACE_IO",
            TraceError::Exists { .. } => "TRACE_EXISTS",
            TraceError::Encode(_) => "TRACE_ENCODE",
            TraceError::Budget { .. } => "TRACE_BUDGET",
        }
    }
}

/// Why an unfinished trace could not be reopened ([`TraceWriter::resume`]).
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    #[error(transparent)]
    Trace(TraceError),
    /// Its complete lines do not form a valid chain: it is not the host's own unfinished trace.
    #[error("the unfinished trace does not verify: {0}")]
    Chain(ChainError),
}

/// The file name of the in-toto bundle for the artifact file `artifact`: `<artifact>.intoto.jsonl`
/// (in-toto attestation spec, `bundle.md`: "A bundle of attestations relevant for `<filename>` SHOULD be
/// named `<filename>.intoto.jsonl`"). A run's artifact is its trace, so `r1.jsonl` gets
/// `r1.jsonl.intoto.jsonl`. Every place that names a bundle goes through this function.
pub fn bundle_file_name(artifact: &str) -> String {
    format!("{artifact}.intoto.jsonl")
}

/// The bundle name used before [`bundle_file_name`]: `<run-id>.intoto.jsonl`. Read only.
pub fn legacy_bundle_file_name(run_id: &str) -> String {
    format!("{run_id}.intoto.jsonl")
}

/// The files of one run: `<dir>/<run-id>/<run-id>.jsonl` and its siblings.
#[derive(Debug, Clone)]
pub struct RunFiles {
    pub dir: PathBuf,
    pub run_id: String,
}

impl RunFiles {
    pub fn new(trace_root: &Path, run_id: &str) -> Self {
        Self {
            dir: trace_root.join(run_id),
            run_id: run_id.to_string(),
        }
    }
    fn file(&self, ext: &str) -> PathBuf {
        self.dir.join(format!("{}.{ext}", self.run_id))
    }
    pub fn trace(&self) -> PathBuf {
        self.file("jsonl")
    }
    pub fn timing(&self) -> PathBuf {
        self.file("timing.json")
    }
    /// The run's in-toto bundle, `<run-id>.jsonl.intoto.jsonl` ([`bundle_file_name`] of the trace).
    pub fn attestation(&self) -> PathBuf {
        self.dir.join(bundle_file_name(&format!("{}.jsonl", self.run_id)))
    }
    /// Where runs recorded before the in-toto bundle naming put the bundle, `<run-id>.intoto.jsonl`: still
    /// read when [`Self::attestation`] is absent, never written.
    pub fn legacy_attestation(&self) -> PathBuf {
        self.dir.join(legacy_bundle_file_name(&self.run_id))
    }
    /// `<run-id>.recovered.json`: written beside the trace when a later process completed the run's
    /// evidence after its own process died (who and when: wall-clock data, never in the trace).
    pub fn recovery_note(&self) -> PathBuf {
        self.file("recovered.json")
    }
    pub fn summary(&self) -> PathBuf {
        self.file("md")
    }
    pub fn png(&self) -> PathBuf {
        self.file("png")
    }
}

/// sha256 hex of a line's bytes (without its newline).
pub fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// Encodes one event as a canonical line with `seq` and `prev`.
pub fn encode_line(event: &TraceEvent, seq: u64, prev: &str) -> Result<Vec<u8>, TraceError> {
    let mut value = serde_json::to_value(event).map_err(|e| TraceError::Encode(e.to_string()))?;
    let obj = value
        .as_object_mut()
        .ok_or_else(|| TraceError::Encode("event is not an object".into()))?;
    obj.insert("seq".into(), seq.into());
    obj.insert("prev".into(), prev.into());
    serde_jcs::to_vec(&value).map_err(|e| TraceError::Encode(e.to_string()))
}

/// Appends events to a new trace file. The file is created exclusively (`O_EXCL`), so two runs can never
/// share one; each line is written with a single `write` and the file is fsynced on finish.
pub struct TraceWriter {
    file: File,
    path: PathBuf,
    seq: u64,
    head: String,
    hasher: Sha256,
    written: u64,
    budget: u64,
}

/// What a finished trace is, for the run result and the attestation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceSummary {
    pub path: PathBuf,
    pub lines: u64,
    /// sha256 of the last line (the chain head).
    pub chain_head: String,
    /// sha256 of the whole file.
    pub file_sha256: String,
}

impl TraceWriter {
    pub fn create(files: &RunFiles) -> Result<Self, TraceError> {
        std::fs::create_dir_all(&files.dir).map_err(|source| TraceError::Io {
            path: files.dir.clone(),
            source,
        })?;
        let path = files.trace();
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    TraceError::Exists { path: path.clone() }
                } else {
                    TraceError::Io {
                        path: path.clone(),
                        source,
                    }
                }
            })?;
        Ok(Self {
            file,
            path,
            seq: 0,
            head: GENESIS.to_string(),
            hasher: Sha256::new(),
            written: 0,
            budget: TRACE_BODY_BUDGET,
        })
    }

    /// Reopens the unfinished trace of a run whose process died, to complete it: verifies its complete
    /// lines, cuts off a last line the crash left incomplete, and continues the chain after them. Returns
    /// the writer and the lines already there (the caller decides what the run's `run_end` is; a trace
    /// that already has one is returned as is and must not be appended to).
    ///
    /// The caller must own the run (hold its pending marker's lock): resuming a trace another process
    /// is still writing would interleave two chains.
    pub fn resume(path: &Path) -> Result<(Self, VerifiedTrace), ResumeError> {
        let io = |source| {
            ResumeError::Trace(TraceError::Io {
                path: path.to_path_buf(),
                source,
            })
        };
        let mut file = OpenOptions::new().read(true).write(true).open(path).map_err(io)?;
        let mut bytes = Vec::new();
        (&mut file)
            .take(MAX_TRACE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(io)?;
        if bytes.len() as u64 > MAX_TRACE_BYTES {
            return Err(ResumeError::Chain(ChainError {
                line: 0,
                field: "file".into(),
                detail: format!("larger than {MAX_TRACE_BYTES} bytes"),
            }));
        }
        let (trace, complete) = parse_unfinished(&bytes).map_err(ResumeError::Chain)?;
        let prefix = &bytes[..complete];
        if complete < bytes.len() {
            file.set_len(complete as u64).map_err(io)?;
        }
        file.seek(SeekFrom::Start(complete as u64)).map_err(io)?;
        let mut hasher = Sha256::new();
        hasher.update(prefix);
        let writer = Self {
            file,
            path: path.to_path_buf(),
            seq: trace.lines.len() as u64,
            head: trace.chain_head.clone(),
            hasher,
            written: complete as u64,
            budget: TRACE_BODY_BUDGET,
        };
        Ok((writer, trace))
    }

    /// Makes every line appended so far durable (`fdatasync`) without closing the trace: done before a
    /// run commits, so that the evidence of what ran never lags behind the effects in the store.
    pub fn sync_data(&self) -> Result<(), TraceError> {
        self.file.sync_data().map_err(|source| TraceError::Io {
            path: self.path.clone(),
            source,
        })
    }

    /// Sets the budget of [`TraceWriter::append`] (tests use a small one to provoke it).
    pub fn with_budget(mut self, budget: u64) -> Self {
        self.budget = budget;
        self
    }

    /// Lowers the budget of [`TraceWriter::append`] to `budget` (a workflow's `run_limits.max_trace_bytes`,
    /// known once the snapshot is verified); never raises it. Lines already written count toward it.
    pub fn limit_budget(&mut self, budget: u64) {
        self.budget = self.budget.min(budget);
    }

    /// The budget every line but the last must fit in, bytes (see [`TraceWriter::append`]).
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hash of the last line written (GENESIS before the first).
    pub fn head(&self) -> &str {
        &self.head
    }

    pub fn lines(&self) -> u64 {
        self.seq
    }

    /// Appends one event and returns its line hash. Every line but a `run_end` must fit in the budget;
    /// one that does not is refused ([`TraceError::Budget`]) before anything is written.
    pub fn append(&mut self, event: &TraceEvent) -> Result<String, TraceError> {
        let mut line = encode_line(event, self.seq, &self.head)?;
        let bytes = line.len() as u64 + 1;
        let limit = if matches!(event, TraceEvent::RunEnd(_)) {
            MAX_TRACE_BYTES
        } else {
            self.budget
        };
        if self.written.saturating_add(bytes) > limit {
            return Err(TraceError::Budget { bytes, budget: limit });
        }
        let hash = line_hash(&line);
        line.push(b'\n');
        self.file.write_all(&line).map_err(|source| TraceError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.hasher.update(&line);
        self.written += bytes;
        self.seq += 1;
        self.head = hash.clone();
        Ok(hash)
    }

    /// Flushes to disk and returns the summary.
    pub fn finish(self) -> Result<TraceSummary, TraceError> {
        self.file.sync_all().map_err(|source| TraceError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(TraceSummary {
            path: self.path,
            lines: self.seq,
            chain_head: self.head,
            file_sha256: hex::encode(self.hasher.finalize()),
        })
    }
}
