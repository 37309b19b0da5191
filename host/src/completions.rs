//! `host completions SHELL` and `host man`: shell completion scripts and a roff man page, both generated
//! from the one clap definition of the command line, so they cannot drift from it.
//!
//! Takes the `clap::Command` from the binary (the CLI types live in `main.rs`); writes only to the writer
//! it is given.

use std::io::Write;

pub use clap_complete::Shell;

/// Writes the completion script for `shell` to `out`.
pub fn completions(mut cmd: clap::Command, shell: Shell, out: &mut dyn Write) {
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, out);
}

/// Writes the man page (roff) of `cmd` to `out`; with `sub`, the page of that subcommand (`host-<sub>`),
/// which lists its own options.
pub fn man(cmd: clap::Command, sub: Option<&str>, out: &mut dyn Write) -> Result<(), String> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let page = match sub {
        None => cmd,
        Some(name) => {
            let Some(s) = cmd.find_subcommand(name) else {
                let names: Vec<&str> = cmd.get_subcommands().map(|s| s.get_name()).collect();
                return Err(format!("no subcommand {name:?} (there are: {})", names.join(", ")));
            };
            let full = format!("{}-{}", cmd.get_name(), s.get_name());
            s.clone().display_name(full)
        }
    };
    clap_mangen::Man::new(page).render(out).map_err(|e| e.to_string())
}
