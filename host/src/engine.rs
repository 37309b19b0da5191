//! The Wasm engine as the host's commands build it: the deterministic engine profile plus, unless turned
//! off, the persistent compiled-component cache (by default `<data-root>/cache/`).
//!
//! Owns where the cache lives and how a refusal to use it is reported. It must never weaken the cache's
//! own checks (directory ownership and mode, entry digests): those live in `sealed_engine::cache`.

use std::path::{Path, PathBuf};

use sealed_engine::{DiskCache, Engine, EngineProfile};

use crate::Failure;

/// Where compiled components are cached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheLocation {
    /// `<data-root>/cache/`.
    InDataRoot,
    /// An explicit directory (`--cache-dir`, `SEALED_CACHE_DIR`), e.g. one shared by several data roots.
    Dir(PathBuf),
    /// No persistent cache: every process compiles every component it runs (`--no-cache`).
    Off,
}

impl CacheLocation {
    /// From the command-line flags: `--no-cache` wins, then `--cache-dir`, else the data root's.
    pub fn from_flags(dir: Option<PathBuf>, off: bool) -> Self {
        match (off, dir) {
            (true, _) => CacheLocation::Off,
            (false, Some(d)) => CacheLocation::Dir(d),
            (false, None) => CacheLocation::InDataRoot,
        }
    }

    /// The directory, given the data root (`None` when off, or in the data root and there is none).
    pub fn dir(&self, data_root: Option<&Path>) -> Option<PathBuf> {
        match self {
            CacheLocation::InDataRoot => data_root.map(default_cache_dir),
            CacheLocation::Dir(d) => Some(d.clone()),
            CacheLocation::Off => None,
        }
    }
}

/// The default cache directory of a data root.
pub fn default_cache_dir(data_root: &Path) -> PathBuf {
    data_root.join("cache")
}

/// The engine with the default profile and a disk cache at `cache_dir` (none when `None`). A cache directory
/// that is unsafe to load native code from is refused (`CACHE_DIR_INSECURE`), never silently ignored.
pub fn open_engine(cache_dir: Option<&Path>) -> Result<Engine, Failure> {
    let disk = match cache_dir {
        Some(dir) => Some(DiskCache::open(dir).map_err(|e| Failure::new(e.code(), e.to_string()))?),
        None => None,
    };
    Engine::new_with_cache(EngineProfile::default(), disk)
        .map_err(|e| Failure::new(e.code(), format!("cannot start the Wasm engine: {e}")).nondeterministic())
}
