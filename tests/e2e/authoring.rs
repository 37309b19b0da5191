//! What a capability author does with the `host` binary, shared by `authors.rs` (Rust, C) and
//! `authors_interp.rs` (Python, JavaScript): `host --json` commands and their envelopes, a working
//! directory outside the checkout, and a one-node workflow sealed around a freshly built transform, run
//! with and without a trust root and verified offline.
//!
//! Test plumbing only: every check of what the host answered stays in the tests.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::harness::{host_bin, workspace};

/// `host --json ARGS` in `cwd` with `env` added; its one JSON envelope, exit code and raw output.
pub fn host_cmd(cwd: &Path, args: &[&str], env: &[(&str, &OsStr)]) -> (Value, i32, Output) {
    let mut cmd = Command::new(host_bin());
    cmd.current_dir(cwd).arg("--json").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("running host");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let envelope: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "host {args:?}: stdout is not one JSON envelope ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (envelope, out.status.code().unwrap_or(-1), out)
}

/// The `data` of a command that must have succeeded (exit 0, `ok: true`).
pub fn data_of(args: &[&str], (envelope, code, out): (Value, i32, Output)) -> Value {
    assert!(
        code == 0 && envelope["ok"] == true,
        "host {args:?} exited {code}: {envelope}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    envelope["data"].clone()
}

/// A temporary directory that is not inside the checkout.
pub fn outside() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let real = std::fs::canonicalize(t.path()).unwrap();
    assert!(
        !real.starts_with(std::fs::canonicalize(workspace()).unwrap()),
        "{} is inside the checkout",
        real.display()
    );
    t
}

pub fn sha256_file(p: &Path) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(std::fs::read(p).unwrap()))
}

/// A one-node workflow `main` around a built transform, sealed into `<project>/workflow/sealed` and signed
/// with a throwaway key made for it.
pub struct OneNode {
    pub sealed: PathBuf,
    pub signer_pub: PathBuf,
    /// The data root its runs use (`<work>/data-<name>`).
    pub data: PathBuf,
}

impl OneNode {
    /// Writes the source (the transform's node routes every declared outcome to a terminal of that
    /// name; its inputs are the payload's fields, all required by the admission schema) and the payload,
    /// then `host keygen` and `host seal` through `ok`. `run_limits`, when given, is the workflow's.
    pub fn seal(
        ok: &dyn Fn(&Path, &[&str]) -> Value,
        work: &Path,
        project: &Path,
        built: &Value,
        payload: &Value,
        run_limits: Option<Value>,
    ) -> OneNode {
        let name = built["name"].as_str().unwrap().to_string();
        let outcomes: Vec<String> = serde_json::from_value(built["outcomes"].clone()).unwrap();
        let flow = project.join("workflow");
        std::fs::create_dir_all(&flow).unwrap();
        let mut nodes = serde_json::Map::new();
        let mut next = serde_json::Map::new();
        for o in &outcomes {
            next.insert(o.clone(), json!(o.to_lowercase()));
            nodes.insert(o.to_lowercase(), json!({"kind": "terminal", "ok": true, "status": o}));
        }
        let fields: Vec<String> = payload.as_object().unwrap().keys().cloned().collect();
        let inputs: serde_json::Map<String, Value> = fields
            .iter()
            .map(|f| (f.clone(), json!(format!("$.payload.{f}"))))
            .collect();
        nodes.insert(
            "step".into(),
            json!({"kind": "CT", "component": name, "inputs": inputs, "next": next}),
        );
        let mut workflow = json!({
            "admission": {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": fields},
            "entry": "step",
            "nodes": nodes,
        });
        if let Some(limits) = run_limits {
            workflow["run_limits"] = limits;
        }
        let source = json!({
            "format": "sealed-source/v1",
            "name": name,
            "components": { &name: {
                "wasm": format!("../target/sealed/{name}.wasm"),
                "sha256": built["sha256"], "world": "transform", "outcomes": outcomes,
            }},
            "workflows": { "main": workflow }
        });
        std::fs::write(flow.join("source.json"), serde_json::to_vec_pretty(&source).unwrap()).unwrap();
        std::fs::write(flow.join("payload.json"), payload.to_string()).unwrap();
        let keys = work.join(format!("keys-{name}"));
        ok(
            work,
            &["keygen", "--out", keys.to_str().unwrap(), "--role", "snapshot-signer"],
        );
        let sealed = flow.join("sealed");
        ok(
            project,
            &[
                "seal",
                "workflow/source.json",
                "--out",
                sealed.to_str().unwrap(),
                "--sign",
                keys.join("snapshot-signer.key").to_str().unwrap(),
            ],
        );
        OneNode {
            sealed,
            signer_pub: keys.join("snapshot-signer.pub.json"),
            data: work.join(format!("data-{name}")),
        }
    }

    /// `host run` of the workflow on its payload (run in the project directory), with or without
    /// `--trust` naming the signer.
    pub fn run_args(&self, trusted: bool) -> Vec<String> {
        let mut args: Vec<String> = [
            "run",
            "--snapshot",
            self.sealed.to_str().unwrap(),
            "--wf",
            "main",
            "--payload",
            "workflow/payload.json",
            "--data-root",
            self.data.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec();
        if trusted {
            args.extend(["--trust".to_string(), self.signer_pub.to_str().unwrap().to_string()]);
        }
        args
    }

    /// `host verify` of a run's trace against the snapshot, trusting the data root's run signer and the
    /// snapshot signer; returns what it printed.
    pub fn verify(&self, ok: &dyn Fn(&Path, &[&str]) -> Value, work: &Path, trace: &str) -> Value {
        ok(
            work,
            &[
                "verify",
                trace,
                "--snapshot",
                self.sealed.to_str().unwrap(),
                "--trust",
                self.data.join("keys").join("run-signer.pub.json").to_str().unwrap(),
                "--trust",
                self.signer_pub.to_str().unwrap(),
            ],
        )
    }
}
