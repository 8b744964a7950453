//! Staff passwords (Argon2id), session and CSRF tokens, and cookies. Tokens are 32 random
//! bytes; the database keeps only their SHA-256, so a copy of it opens no session.

use argon2::password_hash::{PasswordHasher, PasswordVerifier, phc::PasswordHash};
use argon2::{Algorithm, Argon2, Params, Version};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The session cookie.
pub const SESSION_COOKIE: &str = "tessera_desk_session";
/// The CSRF cookie (double submit: the page echoes it in `X-CSRF-Token`).
pub const CSRF_COOKIE: &str = "tessera_desk_csrf";
/// The header carrying the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Why a password cannot be set.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("the password must be 10 to 200 characters")]
    Length,
    /// The hasher failed.
    #[error("cannot hash the password")]
    Hash,
}

fn argon2() -> Argon2<'static> {
    // OWASP's Argon2id recommendation (19 MiB, 2 passes, 1 lane).
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// The PHC string of `password` with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let n = password.chars().count();
    if !(10..=200).contains(&n) {
        return Err(PasswordError::Length);
    }
    let salt: [u8; 16] = random_bytes();
    let hash: PasswordHash = argon2()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|_| PasswordError::Hash)?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(hash) => argon2().verify_password(password.as_bytes(), &hash).is_ok(),
        Err(_) => false,
    }
}

/// A hash to check against when the staff name is unknown, so both cases take as long.
pub fn dummy_phc() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}

/// `N` bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    // Without OS randomness no session or CSRF token would be safe: stop.
    if let Err(e) = getrandom::fill(&mut b) {
        panic!("the operating system's random number generator failed: {e}");
    }
    b
}

/// A new random token (hex).
pub fn new_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// The SHA-256 (hex) under which a session token is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The value of cookie `name` in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, Secure behind https.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Whether the request carries the CSRF header matching its CSRF cookie.
pub fn csrf_ok(headers: &HeaderMap) -> bool {
    let Some(cookie) = cookie(headers, CSRF_COOKIE) else {
        return false;
    };
    let Some(header) = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    bool::from(cookie.as_bytes().ct_eq(header.as_bytes()))
}

/// Wrong-password back-off per staff name: five free tries, then 30 s doubling to 15 min.
/// In memory: a restart forgets it, which an attacker cannot trigger from the page.
///
/// Names of staff accounts are tracked apart from other names and never forgotten for
/// lack of room: there are only as many as the operator created, so flooding the desk with
/// made-up names cannot push a real account's count out and hand its guesser five free
/// tries again. Other names (nothing to guess behind them, but answered alike so a
/// stranger cannot tell which names exist) live in a bounded table that, when full, drops
/// first a name not under back-off, then the least recently failed one.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    state: std::sync::Mutex<Throttled>,
}

#[derive(Debug, Default)]
struct Throttled {
    staff: std::collections::HashMap<[u8; 32], Failures>,
    others: std::collections::HashMap<[u8; 32], Failures>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Failures {
    count: u32,
    until: u64,
    last: u64,
}

/// Names are kept as their SHA-256: a login name may be 16 KiB of anything.
fn name_key(name: &str) -> [u8; 32] {
    Sha256::digest(name.as_bytes()).into()
}

impl LoginThrottle {
    const FREE: u32 = 5;
    /// Room for names that are not staff accounts.
    pub const MAX_OTHER_NAMES: usize = 10_000;

    /// Seconds to wait before `name` may try again (0: now); `staff`: whether it names a
    /// staff account.
    pub fn wait(&self, name: &str, staff: bool, now: u64) -> u64 {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let map = if staff { &state.staff } else { &state.others };
        map.get(&name_key(name))
            .map_or(0, |f| f.until.saturating_sub(now))
    }

    /// Records a failure.
    pub fn failed(&self, name: &str, staff: bool, now: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let key = name_key(name);
        let map = if staff {
            &mut state.staff
        } else {
            let others = &mut state.others;
            if others.len() >= Self::MAX_OTHER_NAMES && !others.contains_key(&key) {
                // One scan per failed login when full; the Argon2 check before it costs more.
                let victim = others
                    .iter()
                    .min_by_key(|(_, f)| (f.until > now, f.last))
                    .map(|(k, _)| *k);
                if let Some(victim) = victim {
                    others.remove(&victim);
                }
            }
            others
        };
        let f = map.entry(key).or_default();
        f.count = f.count.saturating_add(1);
        f.last = now;
        if f.count >= Self::FREE {
            let wait = (30u64 << (f.count - Self::FREE).min(5)).min(900);
            f.until = now + wait;
        }
    }

    /// Forgets `name`'s failures after a good login.
    pub fn succeeded(&self, name: &str) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let key = name_key(name);
        state.staff.remove(&key);
        state.others.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn throttle_backs_off_after_five_failures() {
        for staff in [true, false] {
            let t = LoginThrottle::default();
            for _ in 0..4 {
                t.failed("a", staff, 100);
                assert_eq!(t.wait("a", staff, 100), 0);
            }
            t.failed("a", staff, 100);
            assert_eq!(t.wait("a", staff, 100), 30);
            t.failed("a", staff, 130);
            assert_eq!(t.wait("a", staff, 130), 60);
            assert_eq!(t.wait("b", staff, 130), 0);
            t.succeeded("a");
            assert_eq!(t.wait("a", staff, 130), 0);
        }
    }

    #[test]
    fn other_names_are_bounded_and_evict_names_not_under_back_off_first() {
        let t = LoginThrottle::default();
        for _ in 0..5 {
            t.failed("held", false, 100);
        }
        for i in 0..LoginThrottle::MAX_OTHER_NAMES + 50 {
            t.failed(&format!("flood{i}"), false, 101);
        }
        let state = t.state.lock().unwrap();
        assert_eq!(state.others.len(), LoginThrottle::MAX_OTHER_NAMES);
        drop(state);
        assert_eq!(t.wait("held", false, 101), 29);
    }

    use super::*;

    #[test]
    fn passwords_round_trip_and_wrong_ones_fail() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("correct horse battery!", &phc));
        assert!(!verify_password("x", "not a phc string"));
        assert!(hash_password("short").is_err());
    }

    #[test]
    fn csrf_needs_matching_cookie_and_header() {
        let token = new_token();
        let mut h = HeaderMap::new();
        assert!(!csrf_ok(&h));
        h.insert(
            "cookie",
            format!("a=b; {CSRF_COOKIE}={token}").parse().unwrap(),
        );
        assert!(!csrf_ok(&h));
        h.insert(CSRF_HEADER, new_token().parse().unwrap());
        assert!(!csrf_ok(&h));
        h.insert(CSRF_HEADER, token.parse().unwrap());
        assert!(csrf_ok(&h));
    }
}
