//! `host import pgs` through the binary: a refused workflow leaves no source behind and says why in
//! `--json`, and an import writes the same bytes twice.
//!
//! Needs the PGS workspace beside the repository (`../shared/pgs/workspace`, or `SEALED_PGS_WORKSPACE`) and
//! the built components (`cargo xtask build-components`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

const HOST: &str = env!("CARGO_BIN_EXE_host");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn workspace() -> PathBuf {
    let ws = std::env::var_os("SEALED_PGS_WORKSPACE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/pgs/workspace"));
    assert!(
        ws.join("protocol_snapshot").is_dir(),
        "{} is missing: the PGS workspace comes with the shared reference material (../shared/pgs), or set \
         SEALED_PGS_WORKSPACE",
        ws.display()
    );
    ws
}

fn components() -> PathBuf {
    let c = root().join("target/components");
    assert!(
        c.join("index.json").is_file(),
        "run `cargo xtask build-components` first"
    );
    c
}

/// A side-effect map in the contract's format, naming only what the workflows below need.
fn side_effects(dir: &Path) -> PathBuf {
    let p = dir.join("side_effects.json");
    let map = json!({"format": "sealed-pgs-side-effects/v1", "side_effects": {
        "capability_side_effects::CS_APPENDONLY_JSONL_V0": {"component": "pgs-appendonly", "ops": {
            "APPEND": {"grants": [{"interface": "events", "ops": ["append"]}], "outcomes": ["SUCCESS", "VIOLATION"]}}}
    }});
    std::fs::write(&p, serde_json::to_vec(&map).unwrap()).unwrap();
    p
}

fn import(out: &Path, se: &Path, domain: &str, wf: &str) -> (i32, Value) {
    let o = Command::new(HOST)
        .args(["--json", "import", "pgs", "--domain", domain, "--wf", wf])
        .arg("--workspace")
        .arg(workspace())
        .arg("--out")
        .arg(out)
        .arg("--components")
        .arg(components())
        .arg("--atoms")
        .arg(root().join("capabilities/pgs/atoms.json"))
        .arg("--side-effects")
        .arg(se)
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&o.stdout);
    let v: Value = serde_json::from_str(line.lines().last().unwrap_or("null"))
        .unwrap_or_else(|e| panic!("{e}: {line} / {}", String::from_utf8_lossy(&o.stderr)));
    (o.status.code().unwrap(), v)
}

#[test]
fn a_refused_workflow_writes_nothing_and_names_the_construct() {
    let dir = tempfile::tempdir().unwrap();
    let se = side_effects(dir.path());
    let out = dir.path().join("out");
    let (code, v) = import(&out, &se, "blockchain", "blockchain::WF_RUN_CHAIN_SIMULATION_V0");
    assert_eq!(code, 1);
    assert_eq!(v["ok"], false);
    assert_eq!(v["error"]["code"], "IMPORT_UNSUPPORTED");
    let msg = v["error"]["message"].as_str().unwrap();
    assert!(
        msg.contains("CC_DISPATCH_SIMULATION_WORKERS_V0") && msg.contains("concurrent"),
        "{msg}"
    );
    assert!(!out.join("source.json").exists(), "a refused import left a source");
}

#[test]
fn a_missing_map_is_import_io() {
    let dir = tempfile::tempdir().unwrap();
    let (code, v) = import(
        &dir.path().join("out"),
        &dir.path().join("absent.json"),
        "ai_governance",
        "ai_governance::WF_DENY_PROVISION_V0",
    );
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "IMPORT_IO");
}
