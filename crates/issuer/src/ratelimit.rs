//! Fixed-window attempt counters (per client IP, per claimed ID number).
//!
//! In memory, per replica: behind a load balancer each replica limits on its own, which
//! still bounds an attacker to `replicas × limit`; a shared store is the next step at scale.

use std::collections::HashMap;
use std::sync::Mutex;

/// Counts attempts per key in windows of `window` seconds.
#[derive(Debug)]
pub struct RateLimiter {
    window: u64,
    counts: Mutex<HashMap<String, (u64, u32)>>,
}

impl RateLimiter {
    /// A limiter with windows of `window` seconds.
    pub fn new(window: u64) -> RateLimiter {
        RateLimiter {
            window: window.max(1),
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt for `key`; `Err(seconds until the window ends)` once more than
    /// `limit` attempts fell in the current window.
    pub fn attempt(&self, key: &str, limit: u32, now: u64) -> Result<(), u64> {
        let window_start = now - now % self.window;
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| *start == window_start);
        }
        let entry = counts.entry(key.to_owned()).or_insert((window_start, 0));
        if entry.0 != window_start {
            *entry = (window_start, 0);
        }
        if entry.1 >= limit {
            return Err(window_start + self.window - now);
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_and_resets_with_the_window() {
        let r = RateLimiter::new(60);
        assert!(r.attempt("a", 2, 120).is_ok());
        assert!(r.attempt("a", 2, 130).is_ok());
        assert_eq!(r.attempt("a", 2, 150), Err(30));
        assert!(r.attempt("b", 2, 150).is_ok());
        assert!(r.attempt("a", 2, 180).is_ok());
    }
}
