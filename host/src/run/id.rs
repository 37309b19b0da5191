//! Run ids: how a fresh one is made and which ones are acceptable.
//!
//! The single-use rule is the store's ([`sealed_storage::DataStore::consume_run_id`]: the data root's
//! `run-ids/` directory for SQLite, a table shared by every host for PostgreSQL). Must never hand out an
//! id that is not a safe file name.

use crate::Failure;

/// A fresh run id: UTC time (sortable) plus 64 random bits (unique across processes and machines).
pub fn new_run_id() -> Result<String, Failure> {
    let mut rnd = [0u8; 8];
    getrandom::fill(&mut rnd)
        .map_err(|e| Failure::new("RANDOM_UNAVAILABLE", format!("no OS randomness for a run id: {e}")))?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(format!("r{}-{}", civil_utc(secs), hex::encode(rnd)))
}

/// `YYYYMMDDThhmmssZ` from Unix seconds (no time-zone database needed for UTC).
fn civil_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-from-civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Whether `id` may name a run (it becomes a file name).
pub fn valid_run_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The run id to use: `requested` if it is acceptable, a fresh one if none was asked for.
pub(crate) fn resolve(requested: Option<&str>) -> Result<String, Failure> {
    match requested {
        Some(id) if valid_run_id(id) => Ok(id.to_string()),
        Some(id) => Err(Failure::new(
            "RUN_ID_INVALID",
            format!("run id {id:?} must be 1-128 characters of A-Z, a-z, 0-9, '-' or '_'"),
        )),
        None => new_run_id(),
    }
}
