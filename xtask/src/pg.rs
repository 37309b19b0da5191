//! A throwaway PostgreSQL server for the tests: `cargo xtask pg start|stop|url`, and started once by
//! `cargo xtask test` around `cargo test` (exported to the tests as `SEALED_TEST_PG`).
//!
//! Owns the cluster under `target/pg-test/` (data directory, Unix socket, log, the URL in `url`): `initdb`
//! with trust authentication for the cluster's own superuser `sealed`, listening on a Unix socket only (no
//! TCP), on a free port number (the socket file's name). `initdb` refuses to run as root, so as root the
//! cluster belongs to the `postgres` system user (created by the Debian package); as anyone else, to the
//! caller. The server binaries are found under `/usr/lib/postgresql/*/bin` or on PATH; when missing, root
//! installs Debian's `postgresql` package (as the C SDK step installs clang), anyone else gets an error
//! saying exactly what to install. An already running server named by `SEALED_TEST_PG` is used as is.
//! It must never touch a cluster it did not create.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The environment variable the tests read: a `postgres://` URL of a server they may create databases on.
pub const ENV: &str = "SEALED_TEST_PG";

/// The cluster's superuser (trust authentication, socket only).
const USER: &str = "sealed";

fn dir(target: &Path) -> PathBuf {
    target.join("pg-test")
}

/// `cargo xtask pg start|stop|url`.
pub fn cmd(target: &Path, args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("start") => {
            let durable = match args.get(1).map(String::as_str) {
                None => false,
                Some("--durable") => true,
                Some(other) => bail!("unknown option {other:?}: `cargo xtask pg start [--durable]`"),
            };
            let url = start_with(target, durable)?;
            println!("{url}");
            eprintln!("export {ENV}='{url}'   # or leave unset: the tests read target/pg-test/url");
            Ok(())
        }
        Some("stop") => stop(target),
        Some("url") => {
            let url = std::fs::read_to_string(dir(target).join("url"))
                .context("no test cluster: run `cargo xtask pg start`")?;
            println!("{}", url.trim());
            Ok(())
        }
        _ => bail!("usage: cargo xtask pg start|stop|url"),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The directory holding `initdb` and `pg_ctl`.
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|b| b.join("initdb").is_file() && b.join("pg_ctl").is_file())
        .collect();
    // The newest major version.
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(b) = found.pop() {
        return Some(b);
    }
    let on_path = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))?;
    on_path.parent().map(Path::to_path_buf)
}

fn ensure_binaries() -> Result<PathBuf> {
    if let Some(b) = bin_dir() {
        return Ok(b);
    }
    if is_root() {
        eprintln!("xtask: PostgreSQL server binaries missing; installing Debian's `postgresql` package");
        crate::apt_install(&["postgresql"])?;
        if let Some(b) = bin_dir() {
            return Ok(b);
        }
    }
    bail!(
        "the PostgreSQL tests need the PostgreSQL server binaries (initdb, pg_ctl): install them with \
         `sudo apt-get install postgresql` (Debian/Ubuntu; any version >= 13), or point {ENV} at a running server \
         (postgres://user@host:port/db, a user allowed to CREATE DATABASE)"
    )
}

/// Runs `bin args` as the cluster's owner (`postgres` when we are root).
fn as_owner(root: bool, bin: &Path, args: &[&str]) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin).args(args);
        c
    } else {
        let mut c = Command::new(bin);
        c.args(args);
        c
    }
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

/// Starts the test cluster (creating it if needed) and returns its URL; `SEALED_TEST_PG` if set.
pub fn start(target: &Path) -> Result<String> {
    start_with(target, false)
}

/// Starts the cluster; `durable` keeps PostgreSQL's own durability settings (fsync, synchronous commit,
/// full-page writes) for benchmarks that compare its commit cost with SQLite's `synchronous = FULL`.
fn start_with(target: &Path, durable: bool) -> Result<String> {
    if let Ok(url) = std::env::var(ENV)
        && !url.trim().is_empty()
    {
        return Ok(url);
    }
    let bin = ensure_binaries()?;
    let root = is_root();
    let d = dir(target);
    let data = d.join("data");
    let sock = d.join("sock");
    std::fs::create_dir_all(&sock).with_context(|| format!("creating {}", sock.display()))?;
    if root {
        crate::status(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&d))?;
    }
    let s = |p: &Path| p.display().to_string();
    if !data.join("PG_VERSION").is_file() {
        crate::status(&mut as_owner(
            root,
            &bin.join("initdb"),
            &[
                "-D",
                &s(&data),
                "-U",
                USER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        ))?;
    }
    // Stop a server left running by an earlier start (its port may have changed).
    let _ = as_owner(root, &bin.join("pg_ctl"), &["-D", &s(&data), "-m", "fast", "stop"])
        .stderr(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status();
    let port = free_port()?;
    // Socket only (listen_addresses empty); fsync off unless `durable`: a throwaway cluster, and the
    // tests' speed is the database's commit latency. Enough connections for the multi-host tests.
    let durability = if durable {
        "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
    } else {
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    };
    let opts = format!(
        "-c listen_addresses='' -k {} -p {port} {durability} -c max_connections=200",
        s(&sock)
    );
    crate::status(&mut as_owner(
        root,
        &bin.join("pg_ctl"),
        &[
            "-D",
            &s(&data),
            "-l",
            &s(&d.join("server.log")),
            "-o",
            &opts,
            "-w",
            "start",
        ],
    ))
    .with_context(|| format!("starting the test PostgreSQL (log: {})", d.join("server.log").display()))?;
    let url = format!("postgres://{USER}@{}:{port}/postgres", s(&sock).replace('/', "%2F"));
    std::fs::write(d.join("url"), &url)?;
    Ok(url)
}

/// Stops the test cluster if it runs (its data stays, for the next start).
pub fn stop(target: &Path) -> Result<()> {
    let d = dir(target);
    let data = d.join("data");
    let _ = std::fs::remove_file(d.join("url"));
    if !data.join("postmaster.pid").is_file() {
        return Ok(());
    }
    let bin = ensure_binaries()?;
    crate::status(&mut as_owner(
        is_root(),
        &bin.join("pg_ctl"),
        &["-D", &data.display().to_string(), "-m", "fast", "-w", "stop"],
    ))
}
