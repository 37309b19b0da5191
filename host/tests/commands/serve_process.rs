//! A `host serve` child process as the serve and multi-host tests start it: its stderr collected in the
//! background (so the child never blocks on a full pipe and a failure can show it), and its address read
//! from the `listening on` line it prints once it accepts connections.
//!
//! Test plumbing only: it never interprets what the server answers.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::Child;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long start-up may take: it includes compiling the snapshot's components when the shared cache is
/// cold (debug build).
pub const START_TIMEOUT: Duration = Duration::from_secs(180);

/// Collects a child's stderr in the background.
pub fn drain_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().unwrap();
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

/// Waits (at most [`START_TIMEOUT`]) for a child started with piped stdout and stderr to print its
/// `listening on http://…` line; returns the loopback address to connect to (also when it bound
/// `0.0.0.0`) and its collected stderr. Kills the child and panics with its stderr if no line comes.
pub fn wait_listening(child: &mut Child) -> (SocketAddr, Arc<Mutex<String>>) {
    let stderr = drain_stderr(child);
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                if let Some(a) = line.strip_prefix("listening on http://") {
                    let bound: SocketAddr = a.trim().parse().unwrap();
                    return (SocketAddr::from(([127, 0, 0, 1], bound.port())), stderr);
                }
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                // Let the stderr thread take the last bytes the child wrote.
                std::thread::sleep(Duration::from_millis(100));
                panic!("no `listening on` line ({e:?}); stderr:\n{}", stderr.lock().unwrap());
            }
        }
    }
}
