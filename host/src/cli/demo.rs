//! `host demo`: run the example snapshots of `snapshots/demo.json` and check each ends as planned.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use sealed_host::engine::CacheLocation;
use sealed_host::output::Envelope;
use sealed_host::run::Job;
use sealed_host::{EndKind, PayloadSource, RunRequest, TrustPolicy};
use serde_json::json;

use super::{CacheArgs, print_run};

// The command's doc comment (its `--help` text) is on `Command::Demo` in main.rs.
#[derive(Args)]
pub struct DemoArgs {
    /// Directory with the example snapshots (default: this checkout's snapshots/).
    #[arg(long)]
    pub snapshots: Option<PathBuf>,
    /// Data root for the demo (default: target/demo-data in this checkout, wiped at start).
    #[arg(long)]
    pub data_root: Option<PathBuf>,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Makes the plan's runs in order; exit code 0 only if every run ended as expected.
pub fn execute(args: DemoArgs, json_mode: bool) -> anyhow::Result<u8> {
    demo(args.snapshots, args.data_root, &args.cache, json_mode)
}

fn checkout_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// `snapshots/demo.json`: which example runs the demo makes, in order, and how each must end. The plan is
/// data, like everything a run does: the host knows no example by name.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoPlan {
    format: String,
    runs: Vec<DemoRun>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoRun {
    what: String,
    /// A directory under the snapshots directory, holding `sealed/` and the payload.
    snapshot: String,
    workflow: String,
    /// Relative to the snapshot's directory.
    payload: PathBuf,
    expect: DemoExpect,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct DemoExpect {
    end: EndKind,
    status: String,
}

fn demo(
    snapshots: Option<PathBuf>,
    data_root: Option<PathBuf>,
    cache: &CacheArgs,
    json_mode: bool,
) -> anyhow::Result<u8> {
    let snapshots = snapshots.unwrap_or_else(|| checkout_dir().join("snapshots"));
    // The default data root is wiped at each start, so by default the compiled components are cached beside
    // it (target/cache), where a second demo finds them.
    let cache_dir = match (&data_root, cache.location()) {
        (None, CacheLocation::InDataRoot) => Some(checkout_dir().join("target").join("cache")),
        (_, location) => location.dir(data_root.as_deref()),
    };
    let data_root = match data_root {
        Some(d) => d,
        None => {
            let d = checkout_dir().join("target").join("demo-data");
            // Only the default location is wiped; a user-given data root is never deleted.
            if d.exists() {
                std::fs::remove_dir_all(&d).with_context(|| format!("clearing {}", d.display()))?;
            }
            d
        }
    };
    let engine = sealed_host::engine::open_engine(cache_dir.as_deref())
        .map_err(|f| anyhow::anyhow!("{}: {}", f.code, f.message))?;
    let plan_path = snapshots.join("demo.json");
    let plan: DemoPlan = serde_json::from_slice(
        &std::fs::read(&plan_path).with_context(|| format!("reading the demo plan {}", plan_path.display()))?,
    )
    .with_context(|| format!("{} is not a sealed-demo/v1 plan", plan_path.display()))?;
    if plan.format != "sealed-demo/v1" {
        anyhow::bail!(
            "{}: unknown format {:?} (expected \"sealed-demo/v1\")",
            plan_path.display(),
            plan.format
        );
    }
    let trust = sealed_host::keys::trust(&[snapshots.join("trust.json")])
        .map_err(|f| anyhow::anyhow!("{}: {}", f.code, f.message))?;
    let trust = TrustPolicy::Require(std::sync::Arc::new(trust));
    let (run_key, run_pub) =
        sealed_host::keys::run_key(&data_root, None).map_err(|f| anyhow::anyhow!("{}: {}", f.code, f.message))?;
    let mut reports = Vec::new();
    let mut as_expected = true;
    for step in &plan.runs {
        let (snap, wf, payload, what) = (&step.snapshot, &step.workflow, &step.payload, &step.what);
        let dir = snapshots.join(snap);
        let sealed = dir.join("sealed");
        let req = RunRequest {
            snapshot: sealed,
            trust: trust.clone(),
            job: Job {
                workflow: wf.clone(),
                payload: PayloadSource::File(dir.join(payload)),
                data_root: data_root.clone(),
                trace_dir: None,
                run_id: None,
                run_key: run_key.clone(),
            },
        };
        // The demo is read by a person: each run also gets its Markdown account and PNG of the path.
        let report = sealed_host::run::run_reported(&engine, &req, &|_| {}, true)
            .map_err(|f| anyhow::anyhow!("{}: {}", f.code, f.message))?;
        let matched = report.end == step.expect.end && report.status == step.expect.status;
        as_expected &= matched;
        if !json_mode {
            outln!("\n### {what}: {snap} / {wf} / {}", payload.display());
            print_run(&report, false);
            if !matched {
                outln!(
                    "  UNEXPECTED: the plan expects {:?} / {}",
                    step.expect.end,
                    step.expect.status
                );
            }
        }
        reports.push(report);
    }
    if json_mode {
        outln!(
            "{}",
            Envelope::success(json!({ "data_root": data_root, "runs": reports, "as_expected": as_expected }))
                .to_json_line()
        );
    } else {
        outln!(
            "\ndata root: {}  (store: sealed.db, traces: traces/<run-id>/)",
            data_root.display()
        );
        if let Some(t) = reports.first().and_then(|r| r.trace.as_ref()) {
            outln!("verify the first run offline (no data root needed):");
            outln!(
                "  cargo run -q -p sealed-host -- verify {} --trust {} --trust {} --snapshot {}",
                t.path.display(),
                run_pub.display(),
                snapshots.join("trust.json").display(),
                snapshots.join("register-actor/sealed").display()
            );
            outln!("replay it from its trace alone:");
            outln!(
                "  cargo run -q -p sealed-host -- replay {} --snapshot {}",
                t.path.display(),
                snapshots.join("register-actor/sealed").display()
            );
        }
        outln!(
            "demo {}",
            if as_expected {
                "finished as expected"
            } else {
                "did NOT behave as expected"
            }
        );
    }
    Ok(if as_expected { 0 } else { 1 })
}
