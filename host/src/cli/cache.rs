//! `host cache`: fill, inspect and empty the compiled-component cache.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use sealed_host::output::Envelope;
use sealed_host::run::Plan;
use serde_json::json;

use super::{TrustArgs, fail};

// The command's doc comment (its `--help` text) is on `Command::Cache` in main.rs.
#[derive(Args)]
pub struct CacheCmdArgs {
    #[command(subcommand)]
    pub action: CacheAction,
}

/// Which cache: `--cache-dir` (or `SEALED_CACHE_DIR`), else the data root's `cache/`.
#[derive(Args)]
pub struct WhichCache {
    /// The cache directory.
    #[arg(
        long,
        env = "SEALED_CACHE_DIR",
        value_name = "DIR",
        required_unless_present = "data_root"
    )]
    pub cache_dir: Option<PathBuf>,
    /// A data root: its cache is <data-root>/cache.
    #[arg(long, value_name = "DIR")]
    pub data_root: Option<PathBuf>,
}

impl WhichCache {
    fn dir(&self) -> PathBuf {
        match (&self.cache_dir, &self.data_root) {
            (Some(d), _) => d.clone(),
            (None, Some(root)) => sealed_host::engine::default_cache_dir(root),
            // clap requires one of the two.
            (None, None) => PathBuf::from("cache"),
        }
    }
}

#[derive(Subcommand)]
pub enum CacheAction {
    /// Compile every component of the snapshots now (e.g. at deploy), so that the first run is fast.
    /// Verifies each snapshot first: only pinned, verified components are compiled.
    Warm {
        /// Sealed snapshot directory (repeatable).
        #[arg(long, required = true)]
        snapshot: Vec<PathBuf>,
        #[command(flatten)]
        trust: TrustArgs,
        #[command(flatten)]
        which: WhichCache,
    },
    /// List the cache's entries with their sizes, and check each one's integrity.
    Stats {
        #[command(flatten)]
        which: WhichCache,
    },
    /// Delete every cache entry (and stray temporary files); other files are left alone.
    Clear {
        #[command(flatten)]
        which: WhichCache,
    },
}

pub fn execute(args: CacheCmdArgs, json_mode: bool) -> anyhow::Result<u8> {
    match args.action {
        CacheAction::Warm { snapshot, trust, which } => warm(&snapshot, &trust, &which.dir(), json_mode),
        CacheAction::Stats { which } => {
            let dir = which.dir();
            let cache = match open(&dir) {
                Ok(c) => c,
                Err(f) => return Ok(fail(&f, json_mode)),
            };
            let listing = match cache.list() {
                Ok(l) => l,
                Err(e) => return Ok(fail(&sealed_host::Failure::new(e.code(), e.to_string()), json_mode)),
            };
            if json_mode {
                let data = json!({"dir": dir, "listing": listing});
                outln!("{}", Envelope::success(data).to_json_line());
            } else {
                outln!(
                    "cache {}: {} entries ({} valid, {} invalid), {} bytes",
                    dir.display(),
                    listing.entries,
                    listing.valid,
                    listing.invalid,
                    listing.bytes
                );
                for e in &listing.files {
                    let state = match &e.problem {
                        None => "ok".to_string(),
                        Some(p) => format!("INVALID: {p}"),
                    };
                    outln!("  {}  {:>10} bytes  {state}", e.file, e.bytes);
                }
            }
            Ok(0)
        }
        CacheAction::Clear { which } => {
            let dir = which.dir();
            let removed = open(&dir).and_then(|c| {
                c.clear()
                    .map_err(|e| sealed_host::Failure::new(e.code(), e.to_string()))
            });
            match removed {
                Ok(n) => {
                    if json_mode {
                        outln!(
                            "{}",
                            Envelope::success(json!({"dir": dir, "removed": n})).to_json_line()
                        );
                    } else {
                        outln!("cache {}: removed {n} file(s)", dir.display());
                    }
                    Ok(0)
                }
                Err(f) => Ok(fail(&f, json_mode)),
            }
        }
    }
}

fn open(dir: &Path) -> Result<sealed_engine::DiskCache, sealed_host::Failure> {
    sealed_engine::DiskCache::open(dir).map_err(|e| sealed_host::Failure::new(e.code(), e.to_string()))
}

fn warm(snapshots: &[PathBuf], trust: &TrustArgs, dir: &Path, json_mode: bool) -> anyhow::Result<u8> {
    let policy = match trust.policy() {
        Ok(p) => p,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let engine = match sealed_host::engine::open_engine(Some(dir)) {
        Ok(e) => e,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    let mut warmed = Vec::new();
    for snapshot in snapshots {
        let plan = match Plan::load(&engine, snapshot, &policy) {
            Ok(p) => p,
            Err(f) => return Ok(fail(&f, json_mode)),
        };
        for component in plan.snapshot().components() {
            match engine.warm(component) {
                Ok(outcome) => warmed.push(json!({
                    "snapshot": snapshot,
                    "component": component.name(),
                    "sha256": component.sha256(),
                    "outcome": outcome,
                })),
                Err(e) => return Ok(fail(&sealed_host::Failure::new(e.code(), e.to_string()), json_mode)),
            }
        }
    }
    if json_mode {
        let data = json!({"dir": dir, "components": warmed, "stats": engine.cache_stats()});
        outln!("{}", Envelope::success(data).to_json_line());
    } else {
        for w in &warmed {
            outln!(
                "  {:<28} {}  {}",
                w["component"].as_str().unwrap_or("?"),
                w["sha256"].as_str().map(|s| &s[..16.min(s.len())]).unwrap_or("?"),
                w["outcome"].as_str().unwrap_or("?")
            );
        }
        outln!("cache {}: {} component(s) ready", dir.display(), warmed.len());
    }
    Ok(0)
}
