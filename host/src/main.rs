//! The `host` command line. Parses arguments, calls the library, prints results; nothing else.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use sealed_host::output::Envelope;
use sealed_host::{EndKind, Failure, PayloadSource, RunReport, RunRequest, TrustPolicy};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "host",
    version,
    about = "Run sealed workflow snapshots with every node sandboxed in WebAssembly."
)]
struct Cli {
    /// Print exactly one JSON object `{ok, data, error}` on stdout instead of human text.
    #[arg(long, global = true)]
    json: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a sealed snapshot and run one workflow on a payload.
    ///
    /// Exit codes: 0 success; 1 ended at a terminal declared `ok: false`; 3 payload rejected by the
    /// admission schema; 4 run failed (fail-closed, nothing committed); 5 refused before running
    /// (snapshot, workflow or payload unusable); 2 usage error.
    Run {
        /// Sealed snapshot directory (made by `host seal`).
        #[arg(long)]
        snapshot: PathBuf,
        /// Workflow name inside the snapshot.
        #[arg(long = "wf", visible_alias = "workflow")]
        wf: String,
        /// Payload JSON file (`-` reads standard input).
        #[arg(long)]
        payload: PathBuf,
        /// Data root: holds the SQLite store (`sealed.db`) and, by default, `traces/`.
        #[arg(long)]
        data_root: PathBuf,
        /// Where run directories go (default: <data-root>/traces).
        #[arg(long)]
        trace_dir: Option<PathBuf>,
        /// Use this run id instead of a fresh one. A run id is single-use per data root.
        #[arg(long)]
        run_id: Option<String>,
        /// Trust root for snapshot signatures: a `sealed-trust/v1` file or `*.pub.json` key files
        /// (repeatable). Required unless --insecure-allow-unsigned-snapshot.
        #[arg(long)]
        trust: Vec<PathBuf>,
        /// DEVELOPMENT ONLY: run a snapshot without a trusted signature. Recorded in the trace and the
        /// attestation as UNSIGNED.
        #[arg(long)]
        insecure_allow_unsigned_snapshot: bool,
        /// run-signer private key for the attestation (default: <data-root>/keys/run-signer.key, created on
        /// first use).
        #[arg(long)]
        run_key: Option<PathBuf>,
    },
    /// Create an ed25519 key pair: <name>.key (0600, never overwritten) and <name>.pub.json.
    Keygen {
        /// Directory for the key files.
        #[arg(long)]
        out: PathBuf,
        /// snapshot-signer (signs sealed snapshots) or run-signer (signs run attestations).
        #[arg(long)]
        role: String,
        /// File name stem (default: the role).
        #[arg(long)]
        name: Option<String>,
    },
    /// Verify a run offline: attestation signature and signer role, subjects against the trace bytes,
    /// the hash chain line by line, and (with --snapshot) the snapshot digest and component pins. Needs no
    /// data root. Exit code 0 only if every check passes.
    Verify {
        /// The run's trace: <run-dir>/<run-id>.jsonl (the attestation is read from beside it).
        trace: PathBuf,
        /// Trust root: a `sealed-trust/v1` file or `*.pub.json` key files (repeatable).
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        /// Also check the snapshot the run claims to have used.
        #[arg(long)]
        snapshot: Option<PathBuf>,
        /// Fail unless the run verified its snapshot's signature (refuse runs made with
        /// --insecure-allow-unsigned-snapshot).
        #[arg(long)]
        require_signed_snapshot: bool,
    },
    /// Re-execute a recorded run from its trace alone (payload and storage answers from the journal) and
    /// require identical outcomes, outputs, fuel and chain head.
    Replay {
        /// The run's trace.
        trace: PathBuf,
        /// The sealed snapshot the run used.
        #[arg(long)]
        snapshot: PathBuf,
    },
    /// Seal a source declaration into a snapshot directory (manifest.json, snapshot.digest, components/).
    ///
    /// Refuses with a precise message on any closure violation: cycles, unrouted outcomes, JSONPaths that
    /// do not parse or read a node that may not have run, components that are missing, do not hash as
    /// pinned or whose imports do not fit the node kind, grants naming no real interface.
    Seal {
        /// Source declaration (JSON, format sealed-source/v1).
        source: PathBuf,
        /// Output directory (created, or replaced if it holds a previous sealed snapshot).
        #[arg(long)]
        out: PathBuf,
        /// Sign the sealed snapshot with this snapshot-signer key (writes snapshot.sig.json).
        #[arg(long)]
        sign: Option<PathBuf>,
    },
    /// Tell the story of one run from its trace: path node by node (outcome, fuel, storage effects), where
    /// and why it failed, and what to change. Verifies the trace's hash chain first; changes nothing.
    ///
    /// With --json, `ok` says whether the trace could be examined; the run's own status is in `data`.
    /// Exit codes: 0 examined; 1 the trace (or snapshot) could not be read or does not verify.
    Examine {
        /// The run's trace: <run-dir>/<run-id>.jsonl.
        trace: PathBuf,
        /// The sealed snapshot the run used: adds component names, budgets and grant-merged hints.
        #[arg(long)]
        snapshot: Option<PathBuf>,
        /// Also (re)write the run's report beside the trace: <run-id>.md and <run-id>.png (the whole
        /// workflow with --snapshot, else the path taken).
        #[arg(long)]
        render: bool,
    },
    /// Show what a sealed snapshot contains (workflows, nodes, components with their real imports, grants,
    /// budgets), or with --component whether a component file would be accepted at a CT or a CS node.
    Inspect {
        /// Sealed snapshot directory.
        #[arg(required_unless_present = "component", conflicts_with = "component")]
        snapshot: Option<PathBuf>,
        /// A component file (.wasm) to inspect instead of a snapshot.
        #[arg(long)]
        component: Option<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell.
        shell: sealed_host::completions::Shell,
    },
    /// Print the man page (roff) to stdout: `host man | man -l -`.
    Man {
        /// A subcommand's own page (e.g. `run`), with all its options.
        subcommand: Option<String>,
    },
    /// Run the demo: the runs of `snapshots/demo.json` in order (the register-actor example twice, the
    /// second finding the actor registered, then an invalid payload, then both branches of the review-claim
    /// example), each checked against the ending the plan expects. Uses the committed snapshots; needs no
    /// other input. Exits 0 only if every run ended as expected.
    Demo {
        /// Directory with the example snapshots (default: this checkout's snapshots/).
        #[arg(long)]
        snapshots: Option<PathBuf>,
        /// Data root for the demo (default: target/demo-data in this checkout, wiped at start).
        #[arg(long)]
        data_root: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` are not errors (clap prints them to stdout); a real usage error under
        // `--json` is still one result object, so a script never has to parse clap's text.
        Err(e) if e.use_stderr() && std::env::args_os().any(|a| a == "--json") => {
            let message = e.render().to_string();
            let first = message.lines().next().unwrap_or_default().trim_start_matches("error: ");
            println!(
                "{}",
                Envelope::failure(
                    serde_json::Value::Null,
                    "USAGE",
                    first,
                    Some("see `host --help` or `host <command> --help`".into())
                )
                .to_json_line()
            );
            return ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    init_logging(cli.verbose);
    let json_mode = cli.json;
    match dispatch(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if json_mode {
                println!(
                    "{}",
                    Envelope::failure(serde_json::Value::Null, "CLI", format!("{e:#}"), None).to_json_line()
                );
            } else {
                eprintln!("host: error: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}

/// Logs go to stderr only, so stdout stays the command's result (one JSON line with --json).
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    match cli.command {
        Command::Run {
            snapshot,
            wf,
            payload,
            data_root,
            trace_dir,
            run_id,
            trust,
            insecure_allow_unsigned_snapshot,
            run_key,
        } => {
            let payload = if payload == Path::new("-") {
                // Read whole, then judged by the run like a file's bytes: not JSON is a REJECTED-class
                // refusal with a trace, not a command-line error.
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                    .context("reading the payload from stdin")?;
                PayloadSource::Text(bytes)
            } else {
                PayloadSource::File(payload)
            };
            let engine = sealed_engine::Engine::new(sealed_engine::EngineProfile::default())
                .context("starting the Wasm engine")?;
            let trust = if insecure_allow_unsigned_snapshot {
                eprintln!("host: WARNING: --insecure-allow-unsigned-snapshot: the snapshot's signature is NOT checked");
                TrustPolicy::InsecureAllowUnsigned
            } else {
                match sealed_host::keys::trust(&trust) {
                    Ok(t) => TrustPolicy::Require(std::sync::Arc::new(t)),
                    Err(f) => return Ok(fail(&f, cli.json)),
                }
            };
            let run_key = match sealed_host::keys::run_key(&data_root, run_key.as_deref()) {
                Ok((k, _)) => k,
                Err(f) => return Ok(fail(&f, cli.json)),
            };
            let req = RunRequest {
                snapshot,
                workflow: wf,
                payload,
                data_root,
                trace_dir,
                run_id,
                trust,
                run_key,
            };
            // A bar while the workflow's components compile (seconds for a large workflow in a fresh
            // process); created on the first report, when the count is known. Drawn on a terminal only.
            let bar: std::cell::RefCell<Option<sealed_host::progress::Progress>> = std::cell::RefCell::new(None);
            let observe = |p: sealed_host::run::Progress<'_>| match p {
                sealed_host::run::Progress::Prepared { node, done, total } => {
                    let mut bar = bar.borrow_mut();
                    let b = bar.get_or_insert_with(|| {
                        if total > 1 {
                            sealed_host::progress::Progress::new(total as u64, "compiling")
                        } else {
                            sealed_host::progress::Progress::hidden()
                        }
                    });
                    b.set_item(node);
                    b.set_position(done as u64);
                }
                sealed_host::run::Progress::Executing => {
                    if let Some(b) = bar.borrow().as_ref() {
                        b.finish();
                    }
                }
            };
            let result = sealed_host::run::run_observed(&engine, &req, &observe);
            if let Some(b) = bar.borrow().as_ref() {
                b.finish();
            }
            let report = match result {
                Ok(r) => r,
                Err(f) => return Ok(fail(&f, cli.json)),
            };
            print_run(&report, cli.json);
            Ok(report.end.exit_code())
        }
        Command::Seal { source, out, sign } => seal(&source, &out, sign.as_deref(), cli.json),
        Command::Keygen { out, role, name } => keygen(&out, &role, name.as_deref(), cli.json),
        Command::Verify {
            trace,
            trust,
            snapshot,
            require_signed_snapshot,
        } => verify(&trace, &trust, snapshot.as_deref(), require_signed_snapshot, cli.json),
        Command::Replay { trace, snapshot } => replay(&trace, &snapshot, cli.json),
        Command::Demo { snapshots, data_root } => demo(snapshots, data_root, cli.json),
        Command::Examine {
            trace,
            snapshot,
            render,
        } => examine(&trace, snapshot.as_deref(), render, cli.json),
        Command::Inspect { snapshot, component } => inspect(snapshot.as_deref(), component.as_deref(), cli.json),
        Command::Completions { shell } => {
            sealed_host::completions::completions(Cli::command(), shell, &mut std::io::stdout());
            Ok(0)
        }
        Command::Man { subcommand } => {
            sealed_host::completions::man(Cli::command(), subcommand.as_deref(), &mut std::io::stdout())
                .map_err(|e| anyhow::anyhow!(e))?;
            Ok(0)
        }
    }
}

/// Reports a failure that ended a command before it produced its result; exit code 5 (refused).
fn fail(f: &Failure, json_mode: bool) -> u8 {
    if json_mode {
        println!(
            "{}",
            Envelope::failure(serde_json::Value::Null, &f.code, &f.message, f.hint()).to_json_line()
        );
    } else {
        eprintln!("host: {} {}", f.code, f.message);
        if let Some(h) = f.hint() {
            eprintln!("  hint: {h}");
        }
    }
    5
}

fn keygen(out: &Path, role: &str, name: Option<&str>, json_mode: bool) -> anyhow::Result<u8> {
    let role: sealed_attest::Role = match role.parse() {
        Ok(r) => r,
        Err(_) => {
            let f = Failure::new(
                "KEY_ROLE",
                format!("unknown role {role:?}: use snapshot-signer or run-signer"),
            );
            return Ok(fail(&f, json_mode));
        }
    };
    match sealed_attest::keygen(out, role, name.unwrap_or(role.as_str())) {
        Ok(info) => {
            if json_mode {
                println!("{}", Envelope::success(serde_json::to_value(&info)?).to_json_line());
            } else {
                println!("{} key {}", info.role.as_str(), info.keyid);
                println!("  private: {} (0600; keep it secret)", info.private_path.display());
                println!("  public:  {} (put this in trust roots)", info.public_path.display());
            }
            Ok(0)
        }
        Err(e) => Ok(fail(&Failure::new(e.code(), e.to_string()), json_mode)),
    }
}

/// Traces with at least this many lines get a progress bar in `host verify` (on a terminal).
const VERIFY_PROGRESS_LINES: usize = 20_000;

fn verify(
    trace: &Path,
    trust: &[PathBuf],
    snapshot: Option<&Path>,
    require_signed_snapshot: bool,
    json_mode: bool,
) -> anyhow::Result<u8> {
    let trust = match sealed_host::keys::trust(trust) {
        Ok(t) => t,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    // A bar for large traces only (the chain check is ~45,000 lines/s; small ones finish at once).
    let bar = std::cell::RefCell::new(None::<sealed_host::progress::Progress>);
    let mut on_line = |done: usize, total: usize| {
        let mut bar = bar.borrow_mut();
        let b = bar.get_or_insert_with(|| {
            if total >= VERIFY_PROGRESS_LINES {
                sealed_host::progress::Progress::new(total as u64, "verifying")
            } else {
                sealed_host::progress::Progress::hidden()
            }
        });
        // Redrawing per line would cost more than checking it.
        if done.is_multiple_of(1024) || done == total {
            b.set_position(done as u64);
        }
    };
    let mut report = sealed_attest::verify_run_observed(trace, &trust, snapshot, &mut on_line);
    if let Some(b) = bar.borrow().as_ref() {
        b.finish();
    }
    if require_signed_snapshot {
        report.require_signed_snapshot();
    }
    if json_mode {
        let data = serde_json::to_value(&report)?;
        let env = match report.failures().next() {
            None => Envelope::success(data),
            Some(c) => Envelope::failure(
                data,
                "VERIFY_FAILED",
                format!("{}: {}", c.name, c.detail),
                Some("the trace, its attestation or the snapshot was altered, or signed by an untrusted key".into()),
            ),
        };
        println!("{}", env.to_json_line());
    } else {
        for c in &report.checks {
            println!("  {}  {:<26} {}", if c.ok { "ok  " } else { "FAIL" }, c.name, c.detail);
        }
        if let Some(t) = report.snapshot_trust.as_deref().filter(|t| !t.starts_with("signed:")) {
            println!(
                "  note: this run did not verify a snapshot signature ({t}); --require-signed-snapshot refuses it"
            );
        }
        println!("{}", if report.ok { "VERIFIED" } else { "NOT VERIFIED" });
    }
    Ok(if report.ok { 0 } else { 1 })
}

fn replay(trace: &Path, snapshot: &Path, json_mode: bool) -> anyhow::Result<u8> {
    let engine =
        sealed_engine::Engine::new(sealed_engine::EngineProfile::default()).context("starting the Wasm engine")?;
    let report = match sealed_host::replay::replay(&engine, trace, snapshot) {
        Ok(r) => r,
        Err(f) => return Ok(fail(&f, json_mode)),
    };
    if json_mode {
        let data = serde_json::to_value(&report)?;
        let env = match report.divergences.first() {
            None if report.ok => Envelope::success(data),
            first => Envelope::failure(
                data,
                "REPLAY_DIVERGED",
                first.map_or("chain head differs".to_string(), |d| {
                    format!(
                        "line {} node {:?} field {}",
                        d.line,
                        d.node.as_deref().unwrap_or("-"),
                        d.field
                    )
                }),
                Some("the trace was not produced by these pinned components (or the engine profile differs)".into()),
            ),
        };
        println!("{}", env.to_json_line());
    } else {
        println!("replayed run {} ({} nodes)", report.run_id, report.nodes_replayed);
        println!("  recorded chain head {}", report.recorded_chain_head);
        println!("  replayed chain head {}", report.replayed_chain_head);
        for d in &report.divergences {
            println!(
                "  DIVERGED at line {} node {} field {}: recorded {} replayed {}",
                d.line,
                d.node.as_deref().unwrap_or("-"),
                d.field,
                d.recorded,
                d.replayed
            );
        }
        println!(
            "{}",
            if report.ok {
                "REPLAY IDENTICAL"
            } else {
                "REPLAY DIVERGED"
            }
        );
    }
    Ok(if report.ok { 0 } else { 1 })
}

fn print_run(report: &RunReport, json_mode: bool) {
    if json_mode {
        let data = serde_json::to_value(report).unwrap_or(serde_json::Value::Null);
        let env = match &report.error {
            Some(f) if !report.ok => Envelope::failure(data, &f.code, &f.message, f.hint()),
            None if !report.ok => Envelope::failure(
                data,
                &report.status,
                format!("run ended with status {}", report.status),
                None,
            ),
            _ => Envelope::success(data),
        };
        println!("{}", env.to_json_line());
        return;
    }
    println!("run {}  workflow {}", report.run_id, report.workflow);
    for s in &report.steps {
        println!(
            "  {:<24} {:<16} fuel {:>10}  storage calls {}",
            s.node,
            s.outcome.as_deref().unwrap_or("-"),
            s.fuel_used,
            s.storage_calls
        );
    }
    if !report.admission_errors.is_empty() {
        println!("  admission refused the payload:");
        for v in &report.admission_errors {
            println!(
                "    {} {}",
                if v.instance_path.is_empty() {
                    "/"
                } else {
                    &v.instance_path
                },
                v.message
            );
        }
    }
    let end = match report.end {
        EndKind::Succeeded => "succeeded",
        EndKind::Completed => "completed (not ok)",
        EndKind::Rejected => "rejected",
        EndKind::Failed => "FAILED",
        EndKind::Refused => "REFUSED",
    };
    match &report.terminal {
        Some(t) => println!("  => {} at terminal `{t}` ({end})", report.status),
        None => println!("  => {} ({end})", report.status),
    }
    if let Some(f) = &report.error {
        println!("  error {}: {}", f.code, f.message);
        if let Some(h) = f.hint() {
            println!("  hint: {h}");
        }
    }
    println!(
        "  committed: {}",
        if report.committed {
            "yes"
        } else {
            "no (store unchanged)"
        }
    );
    if let Some(t) = &report.trace {
        println!(
            "  trace: {}  ({} lines, chain head {})",
            t.path.display(),
            t.lines,
            &t.chain_head[..16]
        );
    }
    if let Some(a) = &report.attestation {
        println!("  attestation: {}", a.display());
    }
    for f in &report.report_files {
        println!("  report: {}", f.display());
    }
    for e in &report.evidence_errors {
        println!("  evidence error: {e}");
    }
}

fn seal(source: &Path, out: &Path, sign: Option<&Path>, json_mode: bool) -> anyhow::Result<u8> {
    let engine =
        sealed_engine::Engine::new(sealed_engine::EngineProfile::default()).context("starting the Wasm engine")?;
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
    let count = std::fs::read(source)
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
                println!("{}", Envelope::success(serde_json::to_value(&report)?).to_json_line());
            } else {
                println!("sealed {} -> {}", source.display(), report.dir.display());
                println!("  snapshot digest sha256:{}", report.digest);
                for c in &report.components {
                    println!(
                        "  component {:<24} {:<12} {:>8} bytes  {}",
                        c.name,
                        c.world.as_str(),
                        c.size,
                        c.sha256
                    );
                }
                println!("  workflows: {}", report.workflows.join(", "));
            }
            Ok(0)
        }
        Err(e) => {
            let hint = sealed_host::failure::hint_for(e.code()).map(String::from);
            if json_mode {
                println!(
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

fn demo(snapshots: Option<PathBuf>, data_root: Option<PathBuf>, json_mode: bool) -> anyhow::Result<u8> {
    let snapshots = snapshots.unwrap_or_else(|| checkout_dir().join("snapshots"));
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
    let engine =
        sealed_engine::Engine::new(sealed_engine::EngineProfile::default()).context("starting the Wasm engine")?;
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
            workflow: wf.clone(),
            payload: PayloadSource::File(dir.join(payload)),
            data_root: data_root.clone(),
            trace_dir: None,
            run_id: None,
            trust: trust.clone(),
            run_key: run_key.clone(),
        };
        let report = sealed_host::run(&engine, &req).map_err(|f| anyhow::anyhow!("{}: {}", f.code, f.message))?;
        let matched = report.end == step.expect.end && report.status == step.expect.status;
        as_expected &= matched;
        if !json_mode {
            println!("\n### {what}: {snap} / {wf} / {}", payload.display());
            print_run(&report, false);
            if !matched {
                println!(
                    "  UNEXPECTED: the plan expects {:?} / {}",
                    step.expect.end, step.expect.status
                );
            }
        }
        reports.push(report);
    }
    if json_mode {
        println!(
            "{}",
            Envelope::success(json!({ "data_root": data_root, "runs": reports, "as_expected": as_expected }))
                .to_json_line()
        );
    } else {
        println!(
            "\ndata root: {}  (store: sealed.db, traces: traces/<run-id>/)",
            data_root.display()
        );
        if let Some(t) = reports.first().and_then(|r| r.trace.as_ref()) {
            println!("verify the first run offline (no data root needed):");
            println!(
                "  cargo run -q -p sealed-host -- verify {} --trust {} --trust {} --snapshot {}",
                t.path.display(),
                run_pub.display(),
                snapshots.join("trust.json").display(),
                snapshots.join("register-actor/sealed").display()
            );
            println!("replay it from its trace alone:");
            println!(
                "  cargo run -q -p sealed-host -- replay {} --snapshot {}",
                t.path.display(),
                snapshots.join("register-actor/sealed").display()
            );
        }
        println!(
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

fn examine(trace: &Path, snapshot: Option<&Path>, render: bool, json_mode: bool) -> anyhow::Result<u8> {
    let examined = sealed_host::examine::examine(trace, snapshot).and_then(|account| {
        let files = if render {
            Some(sealed_host::examine::render(trace, snapshot)?)
        } else {
            None
        };
        Ok((account, files))
    });
    match examined {
        Ok((account, files)) => {
            if json_mode {
                let mut data = serde_json::to_value(&account)?;
                if let (Some((md, png)), Some(obj)) = (&files, data.as_object_mut()) {
                    obj.insert("report".into(), json!({"markdown": md, "png": png}));
                }
                println!("{}", Envelope::success(data).to_json_line());
            } else {
                print!("{}", sealed_host::examine::to_text(&account));
                if let Some((md, png)) = files {
                    println!("  report: {}  {}", md.display(), png.display());
                }
            }
            Ok(0)
        }
        Err(f) => {
            fail(&f, json_mode);
            Ok(1)
        }
    }
}

fn inspect(snapshot: Option<&Path>, component: Option<&Path>, json_mode: bool) -> anyhow::Result<u8> {
    let engine =
        sealed_engine::Engine::new(sealed_engine::EngineProfile::default()).context("starting the Wasm engine")?;
    let result = match (snapshot, component) {
        (_, Some(file)) => sealed_host::inspect::inspect_component(&engine, file).and_then(|r| {
            let text = sealed_host::inspect::component_text(&r);
            Ok((
                serde_json::to_value(&r).map_err(|e| Failure::new("OUTPUT_ENCODE", e.to_string()))?,
                text,
            ))
        }),
        (Some(dir), None) => sealed_host::inspect::inspect_snapshot(&engine, dir).and_then(|r| {
            let text = sealed_host::inspect::snapshot_text(&r);
            Ok((
                serde_json::to_value(&r).map_err(|e| Failure::new("OUTPUT_ENCODE", e.to_string()))?,
                text,
            ))
        }),
        (None, None) => anyhow::bail!("give a snapshot directory or --component FILE"),
    };
    match result {
        Ok((data, text)) => {
            if json_mode {
                println!("{}", Envelope::success(data).to_json_line());
            } else {
                print!("{text}");
            }
            Ok(0)
        }
        Err(f) => {
            fail(&f, json_mode);
            Ok(1)
        }
    }
}
