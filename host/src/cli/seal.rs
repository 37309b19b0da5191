//! `host seal`: seal a source declaration into a (optionally signed) snapshot directory.

use std::path::{Path, PathBuf};

use clap::Args;
use sealed_host::Failure;
use sealed_host::output::Envelope;

use super::{fail, new_engine};

// The command's doc comment (its `--help` text) is on `Command::Seal` in main.rs.
#[derive(Args)]
pub struct SealArgs {
    /// Source declaration (JSON, format sealed-source/v1).
    pub source: PathBuf,
    /// Output directory (created, or replaced if it holds a previous sealed snapshot).
    #[arg(long)]
    pub out: PathBuf,
    /// Sign the sealed snapshot with this snapshot-signer key (writes snapshot.sig.json).
    #[arg(long)]
    pub sign: Option<PathBuf>,
}

/// Seals (and signs) the snapshot; exit code 0, 1 if sealing refused the source, 5 for a key problem.
pub fn execute(args: SealArgs, json_mode: bool) -> anyhow::Result<u8> {
    seal(&args.source, &args.out, args.sign.as_deref(), json_mode)
}

pub(crate) fn seal(source: &Path, out: &Path, sign: Option<&Path>, json_mode: bool) -> anyhow::Result<u8> {
    let engine = new_engine()?;
    let key = match sign.map(sealed_attest::load_private_key).transpose() {
        Ok(k) => k,
        Err(e) => return Ok(fail(&Failure::new(e.code(), e.to_string()), json_mode)),
    };
    // Refused before anything is written: a signature `host run` would reject is no signature at all.
    if let Some(key) = key.as_ref().filter(|k| k.role() != sealed_attest::Role::SnapshotSigner) {
        let f = Failure::new(
            "KEY_ROLE",
            format!(
                "key {} has role {}; `host seal --sign` needs a snapshot-signer key (host keygen --role \
                 snapshot-signer)",
                key.keyid(),
                key.role().as_str()
            ),
        );
        return Ok(fail(&f, json_mode));
    }
    // One step per component (compiling each is the slow part); the count is read from the source, and a
    // source that does not parse gets no bar (seal reports why).
    let count = sealed_files::read_capped(source, sealed_snapshot::seal::MAX_SOURCE_BYTES)
        .ok()
        .and_then(|b| sealed_snapshot::source::parse(&b).ok())
        .map_or(0, |s| s.components.len());
    let progress = if count > 1 {
        sealed_host::progress::Progress::new(count as u64, "sealing")
    } else {
        sealed_host::progress::Progress::hidden()
    };
    let sealed = sealed_host::sealing::seal_observed(&engine, source, out, &|| progress.inc(1));
    progress.finish();
    match sealed {
        Ok(report) => {
            if let Some(key) = &key
                && let Err(e) = sealed_attest::sign_snapshot(out, key)
            {
                return Ok(fail(
                    &Failure::new(e.code(), format!("sealed, but signing failed: {e}")),
                    json_mode,
                ));
            }
            if json_mode {
                outln!("{}", Envelope::success(serde_json::to_value(&report)?).to_json_line());
            } else {
                outln!("sealed {} -> {}", source.display(), report.dir.display());
                outln!("  snapshot digest sha256:{}", report.digest);
                for c in &report.components {
                    outln!(
                        "  component {:<24} {:<12} {:>8} bytes  {}",
                        c.name,
                        c.world.as_str(),
                        c.size,
                        c.sha256
                    );
                }
                outln!("  workflows: {}", report.workflows.join(", "));
            }
            Ok(0)
        }
        Err(e) => {
            let hint = sealed_host::failure::hint_for(e.code()).map(String::from);
            if json_mode {
                outln!(
                    "{}",
                    Envelope::failure(serde_json::Value::Null, e.code(), e.to_string(), hint).to_json_line()
                );
            } else {
                eprintln!("host seal: {} {}", e.code(), e);
                if let sealed_snapshot::SnapshotError::Closure(v) = &e {
                    for m in v {
                        eprintln!("  - {m}");
                    }
                }
                if let Some(h) = hint {
                    eprintln!("  hint: {h}");
                }
            }
            Ok(1)
        }
    }
}
