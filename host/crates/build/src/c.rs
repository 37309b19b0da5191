//! The C recipe: the WIT → C bindings (`wit-bindgen-c` as a library) → clang-19 for wasm32 with
//! wasi-libc and the deny stubs → `wit-component`.
//!
//! Owns the toolchain check (and its installation with apt, as root only, announced on stderr), the
//! bindings generation, the fixed compiler flags (shared by `xtask build-c` and `host build`), and the C
//! project template. It must never install anything when not root, pass an unmapped project path into the
//! module (`-ffile-prefix-map`), write generated code into the author's sources, or run the import gate
//! itself ([`crate::finish`] does).
//!
//! `sealed.h` and `deny_stubs.c` (from the SDK's `sdk/c`) are compiled into this crate and written next
//! to the generated bindings at build time, so an author's project holds only its own code.

use std::path::{Path, PathBuf};
use std::process::Command;

use wit_bindgen_c::Opts;
use wit_bindgen_core::{Files, wit_parser::Resolve};

use crate::scaffold::{NewOptions, Template, TemplateFile};
use crate::{BuildError, BuildOptions, Language, Manifest, World};

/// The Debian (bookworm) packages the C build needs: the compiler, the wasm linker, the libc and the
/// compiler runtime (builtins) for wasm32.
pub const APT_PACKAGES: [&str; 4] = ["clang-19", "lld-19", "wasi-libc", "libclang-rt-19-dev-wasm32"];
pub const CLANG: &str = "clang-19";
pub const WASM_LD: &str = "wasm-ld-19";
/// Where Debian's `wasi-libc` puts the libc (`$SYSROOT/lib/wasm32-wasi/libc.a`).
pub const SYSROOT: &str = "/usr";
pub const TARGET: &str = "wasm32-wasi";
/// The SDK header (result helpers).
pub const SEALED_H: &str = include_str!("../../../../sdk/c/sealed.h");
/// Resolves the WASI functions libc's stdio references, failing them (see the file).
pub const DENY_STUBS_C: &str = include_str!("../../../../sdk/c/deny_stubs.c");

/// What is missing from the C toolchain (empty when complete).
pub fn missing_tools() -> Vec<String> {
    let mut missing = Vec::new();
    for tool in [CLANG, WASM_LD] {
        let ok = Command::new(tool)
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            missing.push(format!("`{tool}` on PATH"));
        }
    }
    let libc = Path::new(SYSROOT).join("lib").join(TARGET).join("libc.a");
    if !libc.is_file() {
        missing.push(format!("wasi-libc ({})", libc.display()));
    }
    // The compiler runtime: clang names the file it would link, whether or not it exists.
    let builtins = Command::new(CLANG)
        .args([&format!("--target={TARGET}"), "-print-libgcc-file-name"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    match builtins {
        Some(p) if p.is_file() => {}
        Some(p) => missing.push(format!("the wasm32 compiler runtime ({})", p.display())),
        None => missing.push("the wasm32 compiler runtime".to_string()),
    }
    missing
}

/// Makes sure clang-19, wasm-ld-19, wasi-libc and the wasm32 builtins are installed. As root (CI, the
/// project's machines) the missing packages are installed with apt, saying so on stderr; otherwise
/// [`BuildError::ToolMissing`] names what is missing and the command that installs it.
pub fn ensure_toolchain() -> Result<(), BuildError> {
    crate::toolchain::ensure_apt(
        Language::C,
        "the C toolchain (Debian bookworm or later packages)",
        &APT_PACKAGES,
        || {
            let missing = missing_tools();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(missing.join(", "))
            }
        },
    )
}

/// Writes the C bindings of `world` (from the compiled-in [`crate::WIT`]) into `out` and returns the
/// files: `<world>.h`, `<world>.c` and `<world>_component_type.o` (the world's type, which
/// `wit-component` reads back when it makes the component).
pub fn generate_bindings(world: World, out: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let failed = |detail: String| BuildError::Failed {
        step: "generating the C bindings".into(),
        detail,
    };
    let mut resolve = Resolve::default();
    let pkg = resolve
        .push_str("capability.wit", crate::WIT)
        .map_err(|e| failed(format!("{e:#}")))?;
    let world_id = resolve
        .select_world(&[pkg], Some(world.as_str()))
        .map_err(|e| failed(format!("{e:#}")))?;
    let mut files = Files::default();
    Opts::default()
        .build()
        .generate(&mut resolve, world_id, &mut files)
        .map_err(|e| failed(format!("{e:#}")))?;
    std::fs::create_dir_all(out).map_err(|e| BuildError::io(out, e))?;
    let mut written = Vec::new();
    for (name, bytes) in files.iter() {
        let path = out.join(name);
        std::fs::write(&path, bytes).map_err(|e| BuildError::io(&path, e))?;
        written.push(path);
    }
    Ok(written)
}

/// One clang invocation of the recipe. The argument order is part of the recipe (it decides the link
/// order, and so the bytes): flags, the prefix map, `-I` each of `include_dirs`, `-o out`, `sources`.
#[derive(Debug, Clone)]
pub struct Compile {
    /// Every path under it reaches the module as `/sealed/...` (`__FILE__` in `assert`).
    pub prefix_root: PathBuf,
    pub include_dirs: Vec<PathBuf>,
    /// Author sources, then the generated `<world>.c` and `<world>_component_type.o`, then the deny stubs.
    pub sources: Vec<PathBuf>,
    pub out: PathBuf,
}

/// Compiles and links a core module (clang's diagnostics go to stderr).
pub fn compile(c: &Compile) -> Result<(), BuildError> {
    let mut cc = Command::new(CLANG);
    cc.current_dir(&c.prefix_root)
        .args([
            &format!("--target={TARGET}"),
            &format!("--sysroot={SYSROOT}"),
            "-O2",
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-mexec-model=reactor",
            "-fuse-ld=lld",
            "-Wl,--strip-all",
        ])
        .arg(format!("-ffile-prefix-map={}=/sealed", c.prefix_root.display()));
    for dir in &c.include_dirs {
        cc.arg("-I").arg(dir);
    }
    cc.arg("-o")
        .arg(&c.out)
        .args(&c.sources)
        // A `CFLAGS` in the environment must not change the flags.
        .env_remove("CFLAGS")
        .env_remove("LDFLAGS");
    crate::run_step("clang", &mut cc)
}

/// Builds the C project at `dir` (every `src/*.c`) into a component (not yet gated). Generated files and
/// the core module go to `<dir>/target/sealed/c/`.
pub fn build(dir: &Path, manifest: &Manifest, _opts: &BuildOptions) -> Result<Vec<u8>, BuildError> {
    let dir = std::fs::canonicalize(dir).map_err(|e| BuildError::io(dir, e))?;
    let src = dir.join("src");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(&src)
        .map_err(|e| BuildError::io(&src, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    if sources.is_empty() {
        return Err(BuildError::ManifestInvalid {
            path: dir.join(crate::MANIFEST_FILE),
            reason: format!("language is c but {} has no .c file", src.display()),
        });
    }
    ensure_toolchain()?;
    let work = dir.join(crate::OUT_DIR).join("c");
    if work.exists() {
        std::fs::remove_dir_all(&work).map_err(|e| BuildError::io(&work, e))?;
    }
    let (gen_dir, sdk_dir) = (work.join("bindings"), work.join("sdk"));
    generate_bindings(manifest.world, &gen_dir)?;
    std::fs::create_dir_all(&sdk_dir).map_err(|e| BuildError::io(&sdk_dir, e))?;
    let deny = sdk_dir.join("deny_stubs.c");
    for (name, text) in [("sealed.h", SEALED_H), ("deny_stubs.c", DENY_STUBS_C)] {
        let p = sdk_dir.join(name);
        std::fs::write(&p, text).map_err(|e| BuildError::io(&p, e))?;
    }
    let stem = manifest.world.as_str().replace('-', "_");
    sources.push(gen_dir.join(format!("{stem}.c")));
    sources.push(gen_dir.join(format!("{stem}_component_type.o")));
    sources.push(deny);
    let core_path = work.join(format!("{}.core.wasm", manifest.name));
    compile(&Compile {
        prefix_root: dir.clone(),
        include_dirs: vec![sdk_dir, gen_dir],
        sources,
        out: core_path.clone(),
    })?;
    let core = std::fs::read(&core_path).map_err(|e| BuildError::io(&core_path, e))?;
    crate::encode(&core)
}

const EXAMPLE_C: &str = include_str!("../../../../sdk/c/examples/word-count/word_count.c");
const EXAMPLE_VECTORS: &str = include_str!("../../../../sdk/c/examples/word-count/vectors.json");
const README: &str = include_str!("../templates/c/README.md");

const SIDE_EFFECT_C: &str = include_str!("../templates/c/side_effect.c");
/// The side effect's vectors are the Rust template's: the two examples do the same thing.
const SIDE_EFFECT_VECTORS: &str = include_str!("../templates/rust/vectors-side-effect.json");

/// The files of a new C project: the SDK's word-count example for a transform, a registry insert for a
/// side effect, as a working start.
pub fn template(opts: &NewOptions) -> Result<Template, BuildError> {
    let (source, vectors, outcomes) = match opts.world {
        World::Transform => (
            EXAMPLE_C.to_string(),
            EXAMPLE_VECTORS,
            vec!["SUCCESS".to_string(), "VIOLATION".to_string()],
        ),
        World::SideEffect => {
            let outcomes = vec!["SUCCESS".to_string(), "ALREADY_EXISTS".to_string()];
            let source = crate::scaffold::fill(SIDE_EFFECT_C, opts, &outcomes);
            (source, SIDE_EFFECT_VECTORS, outcomes)
        }
    };
    let vectors = crate::scaffold::rename_vectors(vectors, &opts.name)?;
    Ok(Template {
        files: vec![
            TemplateFile::new("src/capability.c", source),
            TemplateFile::new("vectors.json", vectors),
            TemplateFile::new("README.md", crate::scaffold::fill(README, opts, &outcomes)),
            TemplateFile::new(".gitignore", "/target\n".to_string()),
        ],
        outcomes,
    })
}
