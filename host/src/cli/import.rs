//! `host import pgs`: write a `sealed-source/v1` from a PGS workspace (and with `--seal`, seal it).
//!
//! Only the CLI edge: arguments, where files go, messages. The translation is `sealed_host::import::pgs`.

use std::path::{Component, Path, PathBuf};

use clap::{Args, Subcommand};
use sealed_host::Failure;
use sealed_host::import::pgs::{ImportRequest, import, source_bytes, write_source};
use sealed_host::output::Envelope;

use super::fail;

#[derive(Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub what: ImportWhat,
}

#[derive(Subcommand)]
pub enum ImportWhat {
    /// Import workflows of a PGS workspace (its authored protocol_snapshot/artifacts) as a sealed source.
    ///
    /// Writes <out>/source.json; with --seal also <out>/sealed (signed with --sign). Refuses, naming the
    /// artifact and the construct, anything it cannot express (IMPORT_UNSUPPORTED); rules in docs/PGS.md.
    Pgs(PgsArgs),
}

#[derive(Args)]
pub struct PgsArgs {
    /// The PGS workspace (the directory holding protocol_snapshot/).
    #[arg(long)]
    pub workspace: PathBuf,
    /// The PGS domain (e.g. blockchain, ai_governance); the source is named pgs-<domain>.
    #[arg(long)]
    pub domain: String,
    /// Workflow FQDN to import (repeatable; default: every workflow of the domain).
    #[arg(long = "wf")]
    pub wf: Vec<String>,
    /// Output directory: <out>/source.json (and <out>/sealed with --seal).
    #[arg(long)]
    pub out: PathBuf,
    /// The built components (their index.json), as `cargo xtask build-components` writes them.
    #[arg(long, default_value = "target/components")]
    pub components: PathBuf,
    /// The CT map (sealed-pgs-atoms/v1).
    #[arg(long, default_value = "capabilities/pgs/atoms.json")]
    pub atoms: PathBuf,
    /// The CS map (sealed-pgs-side-effects/v1).
    #[arg(long, default_value = "capabilities/pgs/side_effects.json")]
    pub side_effects: PathBuf,
    /// Payload JSONPath that clock-reading atoms get as `current_date` (PGS reads the wall clock).
    #[arg(long)]
    pub now: Option<String>,
    /// Add a seeding workflow SEED_<ENTITY> (one CS_MUTABLE_JSON_V0 WRITE of the payload's {key, value}
    /// into the entity's label), for stores PGS seeds from files (e.g. LICENSE_FACTS). Repeatable.
    #[arg(long = "seed", value_name = "ENTITY")]
    pub seed: Vec<String>,
    /// Also seal the source into <out>/sealed.
    #[arg(long)]
    pub seal: bool,
    /// Sign the sealed snapshot with this snapshot-signer key (with --seal).
    #[arg(long, requires = "seal")]
    pub sign: Option<PathBuf>,
}

/// `to` relative to the directory `from` (both made absolute first), with `/` separators.
fn relative(from: &Path, to: &Path) -> Option<String> {
    let from = std::fs::canonicalize(from).ok()?;
    let to = std::fs::canonicalize(to).ok()?;
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = a[common..].iter().map(|_| "..".to_string()).collect();
    parts.extend(b[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    Some(parts.join("/"))
}

pub fn execute(args: ImportArgs, json_mode: bool) -> anyhow::Result<u8> {
    let ImportWhat::Pgs(a) = args.what;
    if let Err(e) = std::fs::create_dir_all(&a.out) {
        return Ok(fail(
            &Failure::new("IMPORT_IO", format!("{}: {e}", a.out.display())),
            json_mode,
        ));
    }
    let Some(prefix) = relative(&a.out, &a.components) else {
        let f = Failure::new(
            "IMPORT_IO",
            format!(
                "{}: components directory not found (run `cargo xtask build-components`)",
                a.components.display()
            ),
        );
        return Ok(fail(&f, json_mode));
    };
    let req = ImportRequest {
        workspace: &a.workspace,
        domain: &a.domain,
        workflows: &a.wf,
        atoms: &a.atoms,
        side_effects: &a.side_effects,
        components: &a.components,
        wasm_prefix: &format!("{prefix}/"),
        now: a.now.as_deref(),
        seeds: &a.seed,
    };
    let source_path = a.out.join("source.json");
    let written = import(&req).and_then(|s| {
        let bytes = source_bytes(&s)?;
        write_source(&source_path, &bytes)?;
        Ok(s)
    });
    let source = match written {
        Ok(s) => s,
        Err(e) => return Ok(fail(&Failure::new(e.code(), e.to_string()), json_mode).min(1)),
    };
    if a.seal {
        return super::seal::seal(&source_path, &a.out.join("sealed"), a.sign.as_deref(), json_mode);
    }
    if json_mode {
        let data = serde_json::json!({
            "source": source_path.display().to_string(),
            "workflows": source.workflows.keys().collect::<Vec<_>>(),
            "components": source.components.keys().collect::<Vec<_>>(),
        });
        outln!("{}", Envelope::success(data).to_json_line());
    } else {
        outln!("imported {} -> {}", a.workspace.display(), source_path.display());
        outln!(
            "  workflows: {}",
            source.workflows.keys().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(0)
}
