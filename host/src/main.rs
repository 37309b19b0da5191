//! The `host` command line. Parses arguments, calls the library, prints results; nothing else.
//!
//! This file holds the command line itself (`Cli`, `Command`) and the dispatch; each command's flags and
//! code are in its own module under `cli/`.

/// `println!` for a closed standard output: `host run --json | head` closes the pipe, and `println!` would
/// panic on EPIPE (exit 101). The reader chose to stop reading; the command still finishes (a run still
/// commits and records) and exits with its own code. Other write errors are reported on stderr.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("host: cannot write to standard output: {e}");
            }
        }
    }};
}

/// [`outln!`] without the newline.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout().lock(), $($arg)*) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("host: cannot write to standard output: {e}");
            }
        }
    }};
}

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use sealed_host::output::Envelope;

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
    Run(cli::run::RunArgs),
    /// Create an ed25519 key pair: <name>.key (0600, never overwritten), <name>.pub.json, and for standard
    /// tools <name>.pub.pem (SPKI PEM) and <name>.pub.ssl.json (securesystemslib key dict).
    Keygen(cli::keygen::KeygenArgs),
    /// Verify a run offline: attestation signature and signer role, subjects against the trace bytes,
    /// the hash chain line by line, and (with --snapshot) the snapshot digest and component pins. Needs no
    /// data root. Exit code 0 only if every check passes.
    Verify(cli::verify::VerifyArgs),
    /// Re-execute a recorded run from its trace alone (payload and storage answers from the journal) and
    /// require identical outcomes, outputs, fuel and chain head.
    Replay(cli::replay::ReplayArgs),
    /// Seal a source declaration into a snapshot directory (manifest.json, snapshot.digest, components/).
    ///
    /// Refuses with a precise message on any closure violation: cycles, unrouted outcomes, JSONPaths that
    /// do not parse or read a node that may not have run, components that are missing, do not hash as
    /// pinned or whose imports do not fit the node kind, grants naming no real interface.
    Seal(cli::seal::SealArgs),
    /// Tell the story of one run from its trace: path node by node (outcome, fuel, storage effects), where
    /// and why it failed, and what to change. Verifies the trace's hash chain first; changes nothing.
    ///
    /// With --json, `ok` says whether the trace could be examined; the run's own status is in `data`.
    /// Exit codes: 0 examined; 1 the trace (or snapshot) could not be read or does not verify.
    Examine(cli::examine::ExamineArgs),
    /// Show what a sealed snapshot contains (workflows, nodes, components with their real imports, grants,
    /// budgets), or with --component whether a component file would be accepted at a CT or a CS node.
    Inspect(cli::inspect::InspectArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(cli::completions::CompletionsArgs),
    /// Print the man page (roff) to stdout: `host man | man -l -`.
    Man(cli::completions::ManArgs),
    /// Run the demo: the runs of `snapshots/demo.json` in order (the register-actor example twice, the
    /// second finding the actor registered, then an invalid payload, then both branches of the review-claim
    /// example, then one real PGS workflow imported by `host import pgs`), each checked against the ending
    /// the plan expects. Uses the committed snapshots; needs no
    /// other input. Exits 0 only if every run ended as expected.
    Demo(cli::demo::DemoArgs),
    /// Write a run's human views beside its trace: <run-id>.md (the account: path, outcomes, fuel, storage
    /// effects, what failed and how to fix it) and <run-id>.png (the workflow with the path taken). They
    /// are derived from the trace, which is verified first; `host run --report` writes them at run time.
    Report(cli::report::ReportArgs),
    /// Manage the compiled-component cache (native code compiled from pinned components, keyed by their
    /// sha256, the wasmtime build and the engine profile): warm it ahead of time, list and check it, clear it.
    Cache(cli::cache::CacheCmdArgs),
    /// Serve runs over HTTP from preloaded, verified snapshots: POST /v1/runs/{snapshot}/{workflow} with
    /// the JSON payload as the body answers the envelope of `run --json` once the run is durable; GET
    /// /v1/runs/{run-id} (and /trace, /attestation, /report.md, /report.png), /healthz, /metrics.
    ///
    /// Prints `listening on http://ADDR` once ready. Runs execute on a fixed pool of workers behind a
    /// bounded queue (503 with Retry-After when full). Listening beyond loopback requires --token-file.
    /// SIGTERM/SIGINT: stop accepting, finish accepted runs, exit 0. Exit 5: refused to start.
    Serve(cli::serve::ServeArgs),
    /// Complete the evidence of runs whose process died (killed, crashed) before their trace was finished:
    /// a committed run gets the `run_end` it would have written (from the store's record) and its
    /// attestation, an uncommitted one ends FAILED with RUN_INTERRUPTED. `host run` and `host serve` do
    /// this on their own when they open the data root; this command does it on demand.
    ///
    /// Exit codes: 0 every interrupted run completed (or none found); 1 one could not be completed.
    Recover(cli::recover::RecoverArgs),
    /// Run conformance vectors against components in the real engine with the default limits (storage
    /// against an in-memory store): sealed `vectors.json` files and PGS CT conformance cases (through an
    /// atoms map naming the component of each CT). Prints PASS / FAIL / UNSUPPORTED per vector.
    ///
    /// Exit codes: 0 no vector failed (with --require-all: and none unsupported); 1 otherwise; 5 the
    /// vectors or components could not be read.
    Conformance(cli::conformance::ConformanceArgs),
    /// Create a capability project anywhere on disk: sealed-capability.json, a working example in the
    /// language, conformance vectors and a README (build, test, seal, run). Never overwrites.
    ///
    /// Exit codes: 0 created; 5 refused (name, language, world, or the directory exists).
    New(cli::new::NewArgs),
    /// Build a capability project (Rust, C, Python, JavaScript) into a component (Rust and C byte-
    /// reproducibly; Python and JavaScript are pinned by the artifact's sha256, their pinned tools installed
    /// once where missing), and refuse it if it imports anything outside its world (IMPORT_NOT_ALLOWED). Prints name, world, outcomes, size, imports,
    /// sha256 and whether the build is byte-reproducible; writes DIR/target/sealed/<name>.wasm.
    ///
    /// Exit codes: 0 built; 5 refused or failed (BUILD_TOOL_MISSING names what to install).
    Build(cli::build::BuildArgs),
    /// Run a component's conformance vectors in the real engine with the default limits (storage against
    /// an in-memory store), the runner of `host conformance`. Prints PASS / FAIL per vector.
    ///
    /// Exit codes: 0 every vector passed; 1 one failed (or there were none); 5 unreadable input.
    Test(cli::test::TestArgs),
    /// Import workflows from another system as a sealed source (`host import pgs`: a PGS workspace).
    ///
    /// Exit codes: 0 imported (and sealed with --seal); 1 the import was refused (IMPORT_UNSUPPORTED,
    /// IMPORT_INVALID, IMPORT_IO) or sealing refused the source.
    Import(cli::import::ImportArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // `--help` and `--version` are not errors (clap prints them to stdout); a real usage error under
        // `--json` is still one result object, so a script never has to parse clap's text.
        Err(e) if e.use_stderr() && std::env::args_os().any(|a| a == "--json") => {
            let message = e.render().to_string();
            let first = message.lines().next().unwrap_or_default().trim_start_matches("error: ");
            outln!(
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
                outln!(
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

fn dispatch(parsed: Cli) -> anyhow::Result<u8> {
    let json_mode = parsed.json;
    match parsed.command {
        Command::Run(args) => cli::run::execute(args, json_mode),
        Command::Seal(args) => cli::seal::execute(args, json_mode),
        Command::Keygen(args) => cli::keygen::execute(args, json_mode),
        Command::Verify(args) => cli::verify::execute(args, json_mode),
        Command::Replay(args) => cli::replay::execute(args, json_mode),
        Command::Demo(args) => cli::demo::execute(args, json_mode),
        Command::Examine(args) => cli::examine::execute(args, json_mode),
        Command::Inspect(args) => cli::inspect::execute(args, json_mode),
        Command::Report(args) => cli::report::execute(args, json_mode),
        Command::Cache(args) => cli::cache::execute(args, json_mode),
        Command::Serve(args) => cli::serve::execute(args, json_mode),
        Command::Recover(args) => cli::recover::execute(args, json_mode),
        Command::Conformance(args) => cli::conformance::execute(args, json_mode),
        Command::New(args) => cli::new::execute(args, json_mode),
        Command::Build(args) => cli::build::execute(args, json_mode),
        Command::Test(args) => cli::test::execute(args, json_mode),
        Command::Import(args) => cli::import::execute(args, json_mode),
        Command::Completions(args) => cli::completions::completions(args, Cli::command()),
        Command::Man(args) => cli::completions::man(args, Cli::command()),
    }
}
