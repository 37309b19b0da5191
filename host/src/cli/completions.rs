//! `host completions` and `host man`: print a shell completion script or the roff man page.

use clap::Args;

// The commands' doc comments (their `--help` text) are on `Command::Completions` and `Command::Man` in
// main.rs.
#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: sealed_host::completions::Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// A subcommand's own page (e.g. `run`), with all its options.
    pub subcommand: Option<String>,
}

/// Writes the completion script for the command line `cmd` (the binary's `Cli::command()`) to stdout.
pub fn completions(args: CompletionsArgs, cmd: clap::Command) -> anyhow::Result<u8> {
    sealed_host::completions::completions(cmd, args.shell, &mut std::io::stdout());
    Ok(0)
}

/// Writes the man page of the command line `cmd` (or of one of its subcommands) to stdout.
pub fn man(args: ManArgs, cmd: clap::Command) -> anyhow::Result<u8> {
    sealed_host::completions::man(cmd, args.subcommand.as_deref(), &mut std::io::stdout())
        .map_err(|e| anyhow::anyhow!(e))?;
    Ok(0)
}
