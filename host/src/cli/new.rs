//! `host new`: scaffold a capability project (the templates are `sealed_build::scaffold`'s).

use std::path::PathBuf;

use clap::Args;
use sealed_build::scaffold::{self, NewOptions, SdkSource};
use sealed_build::{Language, World};
use sealed_host::output::Envelope;

use super::fail_build;

// The command's doc comment (its `--help` text) is on `Command::New` in main.rs.
#[derive(Args)]
pub struct NewArgs {
    /// The capability's name: lowercase letters, digits and dashes (e.g. `double`, `word-count`).
    pub name: String,
    /// rust, c, python or js.
    #[arg(long)]
    pub lang: String,
    /// transform (a pure function, imports nothing) or side-effect (may use the host's storage).
    #[arg(long, default_value = "transform")]
    pub world: String,
    /// The project directory to create (default: ./NAME). Refused if it exists and is not empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Rust: depend on the sealed-sdk crate at this directory (your own checkout) instead of the copy
    /// `host new` writes into the project. Written as given, made absolute.
    #[arg(long, value_name = "DIR")]
    pub sdk_path: Option<PathBuf>,
    /// Rust: depend on sealed-sdk from this git repository instead of the copy `host new` writes into
    /// the project.
    #[arg(long, value_name = "URL", conflicts_with = "sdk_path")]
    pub sdk_git: Option<String>,
}

/// Exit 0 when the project was written; 5 when refused (nothing written).
pub fn execute(args: NewArgs, json_mode: bool) -> anyhow::Result<u8> {
    let opts = (|| {
        let language: Language = args.lang.parse()?;
        let world: World = args.world.parse()?;
        let cwd = std::env::current_dir().map_err(|e| sealed_build::BuildError::io(std::path::Path::new("."), e))?;
        let sdk = match (&args.sdk_path, &args.sdk_git) {
            (Some(p), _) => SdkSource::Path(if p.is_absolute() { p.clone() } else { cwd.join(p) }),
            (None, Some(url)) => SdkSource::Git { url: url.clone() },
            (None, None) => SdkSource::default(),
        };
        Ok::<_, sealed_build::BuildError>(NewOptions {
            dir: args
                .dir
                .clone()
                .unwrap_or_else(|| scaffold::default_dir(&cwd, &args.name)),
            name: args.name.clone(),
            language,
            world,
            sdk,
        })
    })();
    let made = match opts.and_then(|o| scaffold::new_project(&o)) {
        Ok(m) => m,
        Err(e) => return Ok(fail_build(&e, json_mode)),
    };
    if json_mode {
        outln!("{}", Envelope::success(serde_json::to_value(&made)?).to_json_line());
    } else {
        outln!(
            "created {} capability `{}` ({}) in {}",
            made.manifest.language,
            made.manifest.name,
            made.manifest.world,
            made.dir.display()
        );
        for f in &made.files {
            outln!("  {}", f.display());
        }
        outln!(
            "next: cd {} && host build && host test target/sealed/{}.wasm --vectors vectors.json",
            made.dir.display(),
            made.manifest.name
        );
    }
    Ok(0)
}
