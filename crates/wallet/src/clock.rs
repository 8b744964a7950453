//! The device's clock against the issuer's. Every code rests on the phone's clock (a proof
//! lives 60 s, a desk allows 30 s of skew), so a device a few minutes off fails at every
//! desk with a generic "expired" or "not yet valid". Whenever the wallet talks to its
//! issuer it reads the answer's `Date` header (RFC 9110 §6.6.1) and keeps the difference,
//! so the app can warn before the person is refused at a desk. It only warns: the codes
//! keep using the device's clock, which the person should fix.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The file, in the wallet's data directory.
pub const CLOCK_FILE: &str = "clock.json";

/// Off by more than this (the desks' default skew), the app warns.
pub const WARN_AFTER_SECONDS: i64 = tessera_credential::verify::DEFAULT_SKEW as i64;

/// The last comparison with the issuer's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockReading {
    /// The issuer's time minus the device's, in seconds: negative when the device is ahead.
    pub offset_seconds: i64,
    /// When it was read, by the device's clock (Unix seconds).
    pub read_at: u64,
}

impl ClockReading {
    /// Whether desks would refuse this device's codes for their time.
    pub fn is_off(&self) -> bool {
        self.offset_seconds.abs() > WARN_AFTER_SECONDS
    }
}

/// The reading from an HTTP `Date` header received at `local_now`; none if it is not an
/// HTTP date.
pub fn reading_from_date(header: &str, local_now: u64) -> Option<ClockReading> {
    let server = httpdate::parse_http_date(header.trim()).ok()?;
    let server = server.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    let offset = i64::try_from(server).ok()? - i64::try_from(local_now).ok()?;
    Some(ClockReading {
        offset_seconds: offset,
        read_at: local_now,
    })
}

/// Writes `reading` to `path` (a temporary file renamed over it: never half written).
pub fn save(path: &Path, reading: &ClockReading) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(reading)?)?;
    std::fs::rename(&tmp, path)
}

/// The saved reading, if there is a readable one.
pub fn load(path: &Path) -> Option<ClockReading> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_is_read_from_the_date_header() {
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        let r = reading_from_date("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777 - 300).unwrap();
        assert_eq!(r.offset_seconds, 300);
        assert!(r.is_off());
        let r = reading_from_date("Sun, 06 Nov 1994 08:49:37 GMT", 784_111_777 + 20).unwrap();
        assert_eq!(r.offset_seconds, -20);
        assert!(!r.is_off());
        assert_eq!(reading_from_date("yesterday", 0), None);
    }
}
