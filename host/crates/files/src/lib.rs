//! Reading a file the host did not write (a payload, a manifest, a trace, a key, a token) with a budget.
//!
//! Every read here opens the path **once**, non-blocking, checks the *opened handle* with `fstat` (never a
//! separate `metadata()` of the path, which a swap could change, and whose length is 0 for `/dev/zero`,
//! FIFOs and sockets), refuses anything that is not a regular file, and reads at most `cap + 1` bytes,
//! so a file over its cap is refused after reading no more than one byte past it. Standard input gets the
//! same cap.
//!
//! This crate owns no policy: callers choose the cap and map [`ReadError`] into their own typed error. It
//! must never read a file whole without a cap, and never follow up an open with a second one.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why a capped read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file could not be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The path is a FIFO, a socket, a device or a directory: refused by its type, before any read.
    #[error("{} is a {kind}, not a regular file; pass a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    /// More than `cap` bytes (only `cap + 1` were read).
    #[error("{} is larger than the limit of {cap} bytes", path.display())]
    TooLarge { path: PathBuf, cap: u64 },
}

impl ReadError {
    pub fn path(&self) -> &Path {
        match self {
            ReadError::Io { path, .. } | ReadError::NotRegular { path, .. } | ReadError::TooLarge { path, .. } => path,
        }
    }

    /// Whether the file does not exist (callers often have a better message for that).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The bytes of the regular file at `path`, at most `cap` of them.
pub fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path)?;
    read_all_capped(file, cap).map_err(|e| match e {
        CapError::Io(source) => ReadError::Io {
            path: path.to_path_buf(),
            source,
        },
        CapError::TooLarge => ReadError::TooLarge {
            path: path.to_path_buf(),
            cap,
        },
    })
}

/// [`read_capped`], as UTF-8 text (invalid UTF-8 is an `InvalidData` I/O error).
pub fn read_capped_string(path: &Path, cap: u64) -> Result<String, ReadError> {
    let bytes = read_capped(path, cap)?;
    String::from_utf8(bytes).map_err(|e| ReadError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()),
    })
}

/// Opens `path` for reading without blocking (a FIFO with no writer would block a plain open) and
/// returns the handle only if it is a regular file.
pub fn open_regular(path: &Path) -> Result<File, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(io)?;
    let kind = file.metadata().map_err(io)?.file_type();
    let refused = if kind.is_file() {
        None
    } else if kind.is_dir() {
        Some("directory")
    } else if kind.is_fifo() {
        Some("FIFO")
    } else if kind.is_socket() {
        Some("socket")
    } else if kind.is_char_device() {
        Some("character device")
    } else if kind.is_block_device() {
        Some("block device")
    } else {
        Some("special file")
    };
    match refused {
        None => Ok(file),
        Some(kind) => Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind,
        }),
    }
}

/// Why [`read_all_capped`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum CapError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("more bytes than the cap")]
    TooLarge,
}

/// Reads `reader` to its end, but never more than `cap + 1` bytes: more than `cap` is [`CapError::TooLarge`].
/// For standard input and other streams that have no path.
pub fn read_all_capped(reader: impl Read, cap: u64) -> Result<Vec<u8>, CapError> {
    let mut bytes = Vec::new();
    reader.take(cap.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(CapError::TooLarge);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"12345").unwrap();
        assert_eq!(read_capped(&p, 5).unwrap(), b"12345");
        assert!(matches!(read_capped(&p, 4), Err(ReadError::TooLarge { cap: 4, .. })));
    }

    #[test]
    fn devices_fifos_and_directories_are_refused_by_type() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_capped(Path::new("/dev/zero"), 1 << 20),
            Err(ReadError::NotRegular {
                kind: "character device",
                ..
            })
        ));
        assert!(matches!(
            read_capped(dir.path(), 1 << 20),
            Err(ReadError::NotRegular { kind: "directory", .. })
        ));
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR).unwrap();
        // Would block forever with a plain open (no writer): refused at once instead.
        assert!(matches!(
            read_capped(&fifo, 1 << 20),
            Err(ReadError::NotRegular { kind: "FIFO", .. })
        ));
    }

    #[test]
    fn streams_are_capped() {
        assert!(matches!(
            read_all_capped(std::io::repeat(0), 1 << 20),
            Err(CapError::TooLarge)
        ));
        assert_eq!(read_all_capped(&b"abc"[..], 3).unwrap(), b"abc");
    }
}
