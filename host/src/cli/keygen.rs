//! `host keygen`: create an ed25519 key pair (snapshot-signer or run-signer).

use std::path::{Path, PathBuf};

use clap::Args;
use sealed_host::Failure;
use sealed_host::output::Envelope;

use super::fail;

// The command's doc comment (its `--help` text) is on `Command::Keygen` in main.rs.
#[derive(Args)]
pub struct KeygenArgs {
    /// Directory for the key files.
    #[arg(long)]
    pub out: PathBuf,
    /// snapshot-signer (signs sealed snapshots) or run-signer (signs run attestations).
    #[arg(long)]
    pub role: String,
    /// File name stem (default: the role).
    #[arg(long)]
    pub name: Option<String>,
}

/// Writes the key pair; exit code 0, or 5 for an unknown role or a key that could not be written.
pub fn execute(args: KeygenArgs, json_mode: bool) -> anyhow::Result<u8> {
    keygen(&args.out, &args.role, args.name.as_deref(), json_mode)
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
                outln!("{}", Envelope::success(serde_json::to_value(&info)?).to_json_line());
            } else {
                outln!("{} key {}", info.role.as_str(), info.keyid);
                outln!("  private: {} (0600; keep it secret)", info.private_path.display());
                outln!("  public:  {} (put this in trust roots)", info.public_path.display());
                outln!(
                    "  for standard tools (no role; trust as --trust {}=FILE): {}, {}",
                    info.role.as_str(),
                    info.pem_path.display(),
                    info.ssl_path.display()
                );
            }
            Ok(0)
        }
        Err(e) => Ok(fail(&Failure::new(e.code(), e.to_string()), json_mode)),
    }
}
