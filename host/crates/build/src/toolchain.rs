//! Where the interpreted languages' build tools live, and how they get there.
//!
//! Owns the toolchain directory (`$SEALED_TOOLCHAIN_DIR`, else `$XDG_CACHE_HOME/sealed/toolchains`, else
//! `~/.cache/sealed/toolchains`; the project's own tests point it under `target/`), the install-aside-then-
//! rename step under a lock that makes an interrupted install invisible and parallel builds install once, and installing a missing interpreter with apt
//! (as root only, announced on stderr). It must never install anything that is not pinned by an exact
//! version, modify a completed toolchain directory, or install system packages when not root (it names the
//! command instead, as [`BuildError::ToolMissing`]).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{BuildError, Language};

/// Environment variable overriding the toolchain directory.
pub const DIR_ENV: &str = "SEALED_TOOLCHAIN_DIR";
/// Written last into a finished toolchain directory: a directory without it is not used.
const COMPLETE: &str = ".sealed-toolchain-complete";

/// The directory holding every installed toolchain (`<root>/<tool>-<version>/`).
pub fn root() -> Result<PathBuf, BuildError> {
    if let Some(d) = std::env::var_os(DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("sealed").join("toolchains"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".cache").join("sealed").join("toolchains")),
        None => Err(BuildError::Failed {
            step: "locating the toolchain directory".into(),
            detail: format!("neither {DIR_ENV}, XDG_CACHE_HOME nor HOME is set"),
        }),
    }
}

/// `dir` holds a completed install.
pub fn is_complete(dir: &Path) -> bool {
    dir.join(COMPLETE).is_file()
}

/// Installs a toolchain into `dir` unless it is already there. Installs are serialised by an exclusive
/// lock on `<dir>.lock` (parallel builds wait for the first one instead of installing twice); `install`
/// fills a fresh sibling directory, which is marked complete and then renamed into place, so a killed
/// install leaves only a `*.partial-*` directory that is never used (the next install removes it).
pub fn install_once(
    dir: &Path,
    what: &str,
    install: impl FnOnce(&Path) -> Result<(), BuildError>,
) -> Result<(), BuildError> {
    if is_complete(dir) {
        return Ok(());
    }
    let parent = dir.parent().ok_or_else(|| BuildError::Failed {
        step: format!("installing {what}"),
        detail: format!("{} has no parent directory", dir.display()),
    })?;
    std::fs::create_dir_all(parent).map_err(|e| BuildError::io(parent, e))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lock_path = parent.join(format!("{name}.lock"));
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| BuildError::io(&lock_path, e))?;
    lock.lock().map_err(|e| BuildError::io(&lock_path, e))?;
    if is_complete(dir) {
        return Ok(()); // installed by the build we waited for
    }
    // Leftovers of killed installs of this toolchain (no live install holds them: we hold the lock).
    if let Ok(entries) = std::fs::read_dir(parent) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(&format!("{name}.partial-")) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let partial = parent.join(format!("{name}.partial-{}", std::process::id()));
    eprintln!("sealed-build: installing {what} into {} (once)", dir.display());
    let started = std::time::Instant::now();
    if let Err(e) = install(&partial) {
        let _ = std::fs::remove_dir_all(&partial);
        return Err(e);
    }
    std::fs::write(partial.join(COMPLETE), what).map_err(|e| BuildError::io(&partial, e))?;
    if dir.exists() {
        // An incomplete directory under the final name (made by hand, or by an older layout).
        std::fs::remove_dir_all(dir).map_err(|e| BuildError::io(dir, e))?;
    }
    std::fs::rename(&partial, dir).map_err(|e| BuildError::io(dir, e))?;
    eprintln!(
        "sealed-build: installed {what} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Whether this process runs as root (and may therefore install system packages).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Makes `check` succeed by installing `packages` with apt when it fails: as root (CI, the project's
/// machines) the packages are installed, saying so on stderr; otherwise [`BuildError::ToolMissing`] names
/// `tool` and the command that installs it.
pub fn ensure_apt(
    language: Language,
    tool: &str,
    packages: &[&str],
    check: impl Fn() -> Result<(), String>,
) -> Result<(), BuildError> {
    let Err(why) = check() else {
        return Ok(());
    };
    let install = format!(
        "sudo apt-get update && sudo apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    );
    if !is_root() {
        return Err(BuildError::ToolMissing {
            language,
            tool: format!("{tool} ({why})"),
            install,
        });
    }
    eprintln!("sealed-build: the {language} build needs {tool} ({why})");
    eprintln!(
        "sealed-build: running `apt-get update && apt-get install -y --no-install-recommends {}`",
        packages.join(" ")
    );
    crate::run_step(
        "apt-get update",
        Command::new("apt-get")
            .args(["update", "-q"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    crate::run_step(
        "apt-get install",
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    check().map_err(|why| BuildError::ToolMissing {
        language,
        tool: format!("{tool} (still missing after apt-get install: {why})"),
        install,
    })
}

/// Runs `cmd` and returns its trimmed standard output, or why it could not.
pub fn output_of(cmd: &mut Command) -> Result<String, String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(String::from_utf8_lossy(&o.stdout).trim().to_string()),
        Ok(o) => Err(format!(
            "{:?} exited with {}: {}",
            cmd.get_program(),
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Err(format!("cannot start {:?}: {e}", cmd.get_program())),
    }
}

/// Copies the author's sources with one of `extensions` from `from` into `to`, recursively, skipping
/// hidden entries, `target/` and `node_modules/` (build outputs and installed packages are not sources),
/// and symbolic links (a link could pull files from outside the project into the component).
pub fn copy_sources(from: &Path, to: &Path, extensions: &[&str]) -> Result<usize, BuildError> {
    std::fs::create_dir_all(to).map_err(|e| BuildError::io(to, e))?;
    let mut copied = 0;
    let mut entries: Vec<_> = std::fs::read_dir(from)
        .map_err(|e| BuildError::io(from, e))?
        .filter_map(Result::ok)
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        let name_s = name.to_string_lossy();
        if name_s.starts_with('.') || name_s == "target" || name_s == "node_modules" || name_s == "__pycache__" {
            continue;
        }
        let ty = e.file_type().map_err(|err| BuildError::io(&e.path(), err))?;
        if ty.is_dir() {
            let n = copy_sources(&e.path(), &to.join(&name), extensions)?;
            if n == 0 {
                let _ = std::fs::remove_dir(to.join(&name));
            }
            copied += n;
        } else if ty.is_file() && extensions.iter().any(|x| name_s.ends_with(x)) {
            std::fs::copy(e.path(), to.join(&name)).map_err(|err| BuildError::io(&e.path(), err))?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// A fresh, empty work directory.
pub fn fresh_dir(dir: &Path) -> Result<(), BuildError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| BuildError::io(dir, e))?;
    }
    std::fs::create_dir_all(dir).map_err(|e| BuildError::io(dir, e))
}

/// Writes `(relative path, text)` files under `dir`.
pub fn write_files(dir: &Path, files: &[(&str, &str)]) -> Result<(), BuildError> {
    for (rel, text) in files {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| BuildError::io(parent, e))?;
        }
        std::fs::write(&p, text).map_err(|e| BuildError::io(&p, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_install_happens_once_and_a_failed_one_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tool-1.0");
        let err = install_once(&dir, "tool 1.0", |d| {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("half"), b"x").unwrap();
            Err(BuildError::Failed {
                step: "pip".into(),
                detail: "network down".into(),
            })
        })
        .unwrap_err();
        assert_eq!(err.code(), "BUILD_FAILED");
        assert!(!dir.exists() && !is_complete(&dir));
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".partial-"))
            .collect();
        assert!(left.is_empty(), "{left:?}");

        let mut calls = 0;
        for _ in 0..2 {
            install_once(&dir, "tool 1.0", |d| {
                calls += 1;
                std::fs::create_dir_all(d).unwrap();
                std::fs::write(d.join("bin"), b"ok").unwrap();
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(calls, 1, "a completed toolchain is never installed again");
        assert!(is_complete(&dir));
        assert_eq!(std::fs::read(dir.join("bin")).unwrap(), b"ok");
    }

    #[test]
    fn a_killed_install_is_ignored_and_cleaned_up() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tool-1.0");
        // What a killed install leaves: a partial sibling, and (older layouts) an unmarked final directory.
        std::fs::create_dir_all(tmp.path().join("tool-1.0.partial-999999")).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("stale"), b"x").unwrap();
        assert!(!is_complete(&dir));
        install_once(&dir, "tool 1.0", |d| {
            std::fs::create_dir_all(d).map_err(|e| BuildError::io(d, e))
        })
        .unwrap();
        assert!(is_complete(&dir) && !dir.join("stale").exists());
        assert!(!tmp.path().join("tool-1.0.partial-999999").exists());
    }

    #[test]
    fn only_sources_are_copied() {
        let tmp = tempfile::tempdir().unwrap();
        let (from, to) = (tmp.path().join("p"), tmp.path().join("out"));
        for (f, text) in [
            ("app.py", "x"),
            ("lib/util.py", "y"),
            ("lib/data.bin", "z"),
            ("target/sealed/app.py", "old"),
            ("node_modules/m/index.js", "m"),
            (".hidden/x.py", "h"),
            ("__pycache__/app.cpython.pyc", "c"),
            ("empty/readme.txt", "r"),
        ] {
            let p = from.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", from.join("passwd.py")).unwrap();
        assert_eq!(copy_sources(&from, &to, &[".py"]).unwrap(), 2);
        assert_eq!(std::fs::read_to_string(to.join("app.py")).unwrap(), "x");
        assert_eq!(std::fs::read_to_string(to.join("lib/util.py")).unwrap(), "y");
        for absent in [
            "lib/data.bin",
            "target",
            "node_modules",
            ".hidden",
            "__pycache__",
            "empty",
            "passwd.py",
        ] {
            assert!(!to.join(absent).exists(), "{absent}");
        }
    }
}
