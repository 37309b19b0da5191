//! Reading a request body: at most the configured number of bytes, within [`BODY_READ_TIMEOUT`].
//!
//! Owns the body cap: a declared `Content-Length` over the cap is refused before a byte of the body is
//! read, and a body without one (chunked) is refused as soon as it passes the cap. It must never buffer more
//! than the cap.
//!
//! [`BODY_READ_TIMEOUT`]: super::config::BODY_READ_TIMEOUT

use std::time::Duration;

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, HeaderMap};

use crate::Failure;

fn too_large(cap: u64) -> Failure {
    Failure::new(
        "BODY_TOO_LARGE",
        format!("the request body is larger than this server's limit of {cap} bytes (--max-body-bytes)"),
    )
}

/// Refuses a request whose declared length is over `cap`, before reading its body.
pub fn check_declared(headers: &HeaderMap, cap: u64) -> Result<(), Failure> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > cap => Err(too_large(cap)),
        _ => Ok(()),
    }
}

/// Reads the whole body, refusing it past `cap` bytes or after `timeout`.
pub async fn read(body: Incoming, cap: u64, timeout: Duration) -> Result<Vec<u8>, Failure> {
    let limit = usize::try_from(cap).unwrap_or(usize::MAX);
    match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(cap)),
        Ok(Err(e)) => Err(Failure::new(
            "BODY_UNREADABLE",
            format!("cannot read the request body: {e}"),
        )),
        Err(_) => Err(Failure::new(
            "REQUEST_TIMEOUT",
            format!("the request body did not arrive within {} s", timeout.as_secs()),
        )),
    }
}
