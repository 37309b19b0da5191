//! The standard-tools check: sealed's evidence must verify with securesystemslib 1.x, in-toto 3.1 and
//! in-toto-attestation 0.9 as written, with no adapter in between.
//!
//! 1. A Python venv at `target/standard-tools-venv` with the exact pins of
//!    `tests/standard_tools/requirements.txt` (reused while the pins and the Python version are unchanged;
//!    a stamp file inside records both).
//! 2. With the built `host` binary: `host keygen` (snapshot-signer), `host seal --sign` of the
//!    register-actor example (its pinned components taken from the committed sealed copy, so no component
//!    build is needed), `host run` trusting the new key through its PEM file, all under
//!    `target/standard-tools-run` (wiped first).
//! 3. `tests/standard_tools/verify_attestation.py` on that run's trace, bundle and the PEM / securesystemslib
//!    key files exactly as `host keygen` wrote them.
//!
//! Python 3 with `venv` is the one thing outside cargo this needs. As root (CI on Debian) a missing one is
//! installed with apt-get, saying so; otherwise the step fails naming what to install. It never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

const VENV: &str = "standard-tools-venv";
const RUN_DIR: &str = "standard-tools-run";
const APT_PACKAGES: &[&str] = &["python3", "python3-venv"];
const RUN_ID: &str = "standard-tools-1";

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// What of Python is missing: the interpreter, or its `venv`/`ensurepip` modules (Debian splits those into
/// python3-venv).
fn missing_python() -> Option<String> {
    match Command::new("python3").args(["-c", "import venv, ensurepip"]).output() {
        Err(_) => Some("`python3` on PATH".into()),
        Ok(o) if !o.status.success() => Some(format!(
            "the python3 `venv` and `ensurepip` modules ({})",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Ok(_) => None,
    }
}

fn ensure_python() -> Result<()> {
    let Some(missing) = missing_python() else {
        return Ok(());
    };
    let install = format!("apt-get install -y --no-install-recommends {}", APT_PACKAGES.join(" "));
    if !is_root() {
        bail!(
            "the standard-tools check needs {missing}; install it (Debian) with\n    \
             sudo apt-get update && sudo {install}"
        );
    }
    eprintln!("xtask: the standard-tools check needs {missing}");
    eprintln!("xtask: running `apt-get update && {install}`");
    crate::apt_install(APT_PACKAGES)?;
    if let Some(still) = missing_python() {
        bail!("still missing after `{install}`: {still}");
    }
    Ok(())
}

/// The venv with the pinned packages, rebuilt only when the pins or the interpreter changed. Returns its
/// python.
fn ensure_venv(root: &Path, target: &Path) -> Result<PathBuf> {
    let requirements = root.join("tests/standard_tools/requirements.txt");
    let pins = std::fs::read(&requirements).with_context(|| format!("reading {}", requirements.display()))?;
    let version = Command::new("python3")
        .arg("--version")
        .output()
        .context("running python3 --version")?;
    let stamp_text = format!(
        "{}\n{}",
        hex::encode(Sha256::digest(&pins)),
        String::from_utf8_lossy(&version.stdout).trim()
    );
    let venv = target.join(VENV);
    let python = venv.join("bin").join("python");
    let stamp = venv.join(".sealed-pins");
    if python.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(stamp_text.as_str()) {
        eprintln!("xtask: reusing {} (pins unchanged)", venv.display());
        return Ok(python);
    }
    let _ = std::fs::remove_dir_all(&venv);
    crate::status(Command::new("python3").arg("-m").arg("venv").arg(&venv))?;
    crate::status(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "--quiet",
                "--requirement",
            ])
            .arg(&requirements),
    )
    .context("installing the pinned standard tools from PyPI")?;
    // Written last: an interrupted install leaves no stamp, so the next run starts over.
    std::fs::write(&stamp, stamp_text).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(python)
}

fn host_json(host: &Path, args: &[&std::ffi::OsStr]) -> Result<serde_json::Value> {
    let out = Command::new(host)
        .arg("--json")
        .args(args)
        .env("SEALED_NO_PROGRESS", "1")
        .output()
        .with_context(|| format!("running {}", host.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let value: serde_json::Value = serde_json::from_str(text.trim())
        .with_context(|| format!("`host {args:?}` printed no JSON envelope: {text}"))?;
    if value["ok"] != serde_json::Value::Bool(true) || !out.status.success() {
        bail!("`host {args:?}` failed ({}): {value}", out.status);
    }
    Ok(value)
}

/// The whole check with the `host` binary at `host`.
pub fn run(root: &Path, target: &Path, host: &Path) -> Result<()> {
    if !host.is_file() {
        bail!(
            "{} does not exist: build it first (cargo build -p sealed-host)",
            host.display()
        );
    }
    ensure_python()?;
    let python = ensure_venv(root, target)?;

    let work = target.join(RUN_DIR);
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let keys = work.join("keys");
    host_json(
        host,
        &[
            "keygen".as_ref(),
            "--out".as_ref(),
            keys.as_os_str(),
            "--role".as_ref(),
            "snapshot-signer".as_ref(),
        ],
    )?;

    // The example's source with each component taken from the committed sealed copy (named by the same
    // sha256 the source pins), so sealing needs no component build.
    let example = root.join("snapshots/register-actor");
    let mut source: serde_json::Value = serde_json::from_slice(&std::fs::read(example.join("source.json"))?)?;
    let components = source["components"]
        .as_object_mut()
        .context("source.json has no components object")?;
    for (name, c) in components.iter_mut() {
        let sha = c["sha256"]
            .as_str()
            .with_context(|| format!("component {name} has no sha256"))?;
        let wasm = example.join("sealed/components").join(format!("{sha}.wasm"));
        c["wasm"] = serde_json::Value::String(wasm.display().to_string());
    }
    let source_path = work.join("source.json");
    std::fs::write(&source_path, serde_json::to_vec_pretty(&source)?)?;
    let sealed = work.join("sealed");
    host_json(
        host,
        &[
            "seal".as_ref(),
            source_path.as_os_str(),
            "--out".as_ref(),
            sealed.as_os_str(),
            "--sign".as_ref(),
            keys.join("snapshot-signer.key").as_os_str(),
        ],
    )?;

    let data = work.join("data");
    let trust = format!("snapshot-signer={}", keys.join("snapshot-signer.pub.pem").display());
    let run = host_json(
        host,
        &[
            "run".as_ref(),
            "--snapshot".as_ref(),
            sealed.as_os_str(),
            "--wf".as_ref(),
            "register_actor".as_ref(),
            "--payload".as_ref(),
            example.join("payloads/valid.json").as_os_str(),
            "--data-root".as_ref(),
            data.as_os_str(),
            "--trust".as_ref(),
            trust.as_ref(),
            "--run-id".as_ref(),
            RUN_ID.as_ref(),
            "--no-cache".as_ref(),
        ],
    )?;
    let trace = PathBuf::from(
        run["data"]["trace"]["path"]
            .as_str()
            .with_context(|| format!("`host run` reported no trace path: {run}"))?,
    );

    crate::status(
        Command::new(&python)
            .arg(root.join("tests/standard_tools/verify_attestation.py"))
            .arg("--trace")
            .arg(&trace)
            .arg("--run-pem")
            .arg(data.join("keys/run-signer.pub.pem"))
            .arg("--run-ssl")
            .arg(data.join("keys/run-signer.pub.ssl.json"))
            .arg("--snapshot")
            .arg(&sealed)
            .arg("--snapshot-pem")
            .arg(keys.join("snapshot-signer.pub.pem"))
            .arg("--snapshot-ssl")
            .arg(keys.join("snapshot-signer.pub.ssl.json")),
    )
    .context("the standard tools did not accept the evidence")
}
