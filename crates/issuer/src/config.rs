//! Service settings, with defaults a real deployment can start from.

use std::time::Duration;

/// How the issuer behaves. Everything has a default; the CLI overrides some.
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer's name in the trust list (e.g. "Demo ID Authority").
    pub issuer_name: String,
    /// `iss` in credentials: short, as in the DCC (a country or authority code).
    pub issuer_id: String,
    /// The public base URL clients use (`https://id.example.gov`), for status list URIs.
    pub public_url: String,
    /// How long a credential batch is valid.
    pub credential_validity: Duration,
    /// How long a liveness challenge can be answered.
    pub challenge_lifetime: Duration,
    /// Largest request body, bytes (enrolment frames are the big ones).
    pub max_body_bytes: usize,
    /// Most frames in one answer.
    pub max_frames: usize,
    /// Largest frame side, pixels.
    pub max_frame_side: u32,
    /// Most pixels in one answer, all frames together: the face check decodes a whole
    /// answer at once, ≈ 4 bytes per pixel (32 MP ≈ 128 MB; 12 VGA frames are 3.7 MP).
    pub max_answer_pixels: u64,
    /// Enrolment and renewal attempts allowed per client per window: a client is an IPv4
    /// address or an IPv6 /64 (`ratelimit::ClientKey`); challenges get five times as many.
    /// A burst of this many, then one more every `rate_window / attempts_per_ip`.
    pub attempts_per_ip: u32,
    /// Refused face checks (face mismatch, liveness failed) allowed per ID number per window,
    /// enrolment and renewal together. Only answers that passed the cheap checks (a fresh
    /// challenge bound to the submitted device key, a valid proof of possession, a known and
    /// not otherwise enrolled person) reach the face check, so junk requests naming someone's
    /// ID number cannot lock them out; a person's own successful enrolment costs nothing.
    pub attempts_per_id: u32,
    /// The rate-limit window.
    pub rate_window: Duration,
    /// Most keys (clients or ID numbers) each rate limiter holds, so a flood of distinct
    /// keys cannot exhaust memory (about 100 bytes a key). When full, keys whose budget is
    /// whole again are forgotten; if none are, newcomers share one budget per shard.
    pub rate_limit_keys: usize,
    /// `POST /v1/portraits` requests allowed per client per `rate_window`, checked before
    /// anything is looked up or audited. A busy desk checks a guest a minute; a hotel's
    /// desks behind one address at a check-in peak stay under 600 an hour.
    pub portraits_per_ip: u32,
    /// Sign-in steps (authorization requests, wallet answers) allowed per client per
    /// `rate_window`: each request writes a row. Many people sign in from behind one
    /// address (a company, a carrier-grade NAT), so this is generous; it stops floods only.
    pub sign_ins_per_ip: u32,
    /// How long audit records are kept: they hold ID numbers (personal data, kept no longer
    /// than needed) and client addresses. 400 days: a credential is valid for 365 days, and
    /// a holder who disputes an issuance, renewal or portrait release learns of it at the
    /// latest when the credential is used or expires; a month more covers the complaint's
    /// arrival. `serve` purges hourly; `tessera-issuer audit purge` runs it by hand.
    pub audit_retention: Duration,
    /// Status list lifetime (`exp` − `iat`) and the `ttl` clients should refresh after.
    pub status_list_ttl: Duration,
    /// Answers whose faces are analysed at once. Each analysis already spreads its frames
    /// over every core, so a second one at once mostly interleaves with the first (both take
    /// longer) and only fills the moments one analysis leaves a core idle; it also holds more
    /// decoded frames in memory. The default is one per two cores (at least one): on 2 cores,
    /// measured against 2 at once, p99 at 2 concurrent enrolments 447 instead of 623 ms for
    /// 4.6 instead of 4.7 enrolments/s (docs/PERFORMANCE.md).
    pub face_workers: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed (for per-client rate limits).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// One-time credentials of each batch tier (lightweight, age only) a person holds at
    /// most: what enrolment and renewal issue, and what refills top up to. 10 as the EU
    /// reference wallet holds per document.
    pub batch_size: u32,
    /// How long one-time credentials are valid (rounded down to the day; never past the
    /// enrolment's end). Shorter than the enrolment: refills replace them as they are shown
    /// or near expiry, and each one issued holds a status slot until it expires; 90 days
    /// leaves a wallet three months offline before its basic codes run out.
    pub one_time_validity: Duration,
    /// Refills per person per day. A refill needs no face check, so it is bounded: 24 a
    /// day lets someone show ~240 codes a day, far above any real use, while a stolen
    /// credential cannot mint keys without limit.
    pub refills_per_day: u32,
    /// TPM key attestation (`serve --tpm-roots DIR`): the TPM manufacturer certificates an
    /// EK certificate must chain to. `None`: a challenge's `tpm` is ignored (no activation),
    /// so the wallet sends no attestation and its credentials say software keys.
    pub tpm_roots: Option<tessera_tpm_attestation::TrustedRoots>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            issuer_name: "Tessera Demo ID Authority".into(),
            issuer_id: "CN".into(),
            public_url: "http://127.0.0.1:8443".into(),
            credential_validity: Duration::from_secs(365 * 86_400),
            challenge_lifetime: Duration::from_secs(120),
            max_body_bytes: 8 * 1024 * 1024,
            max_frames: 48,
            max_frame_side: 1920,
            max_answer_pixels: 32_000_000,
            attempts_per_ip: 20,
            attempts_per_id: 5,
            rate_window: Duration::from_secs(3600),
            rate_limit_keys: 200_000,
            portraits_per_ip: 600,
            sign_ins_per_ip: 3000,
            audit_retention: Duration::from_secs(400 * 86_400),
            status_list_ttl: Duration::from_secs(300),
            face_workers: std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            trusted_proxies: Vec::new(),
            batch_size: 10,
            one_time_validity: Duration::from_secs(90 * 86_400),
            refills_per_day: 24,
            tpm_roots: None,
        }
    }
}

impl Config {
    /// `…/v1/status/`, the base every status list URI starts with.
    pub fn status_base(&self) -> String {
        format!("{}/v1/status/", self.public_url.trim_end_matches('/'))
    }
}

/// Unix time, injectable for tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since the epoch.
    fn now(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// The operating system's CSPRNG.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandomness;

impl tessera_credential::keys::Randomness for OsRandomness {
    fn fill(&mut self, dest: &mut [u8]) {
        // Without OS randomness nothing the issuer makes would be safe: stop rather than
        // issue predictable keys, nonces or indices.
        if let Err(e) = getrandom::fill(dest) {
            panic!("the operating system's random number generator failed: {e}");
        }
    }
}

/// `n` random bytes from the OS.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    tessera_credential::keys::Randomness::fill(&mut OsRandomness, &mut b);
    b
}

/// The client's address: the TCP peer, unless the peer is a trusted proxy, in which case the
/// right-most address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_ip(
    peer: std::net::IpAddr,
    forwarded_for: Option<&str>,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    for hop in header.rsplit(',') {
        match hop.trim().parse::<std::net::IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            // A hop we cannot read: stop trusting the chain there.
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let spoofed = "198.51.100.1, 203.0.113.7";
        assert_eq!(client_ip(proxy, Some(spoofed), &[proxy]), client);
        assert_eq!(client_ip(client, Some("198.51.100.1"), &[proxy]), client);
        assert_eq!(client_ip(proxy, None, &[proxy]), proxy);
        assert_eq!(client_ip(proxy, Some("garbage"), &[proxy]), proxy);
        assert_eq!(
            client_ip(proxy, Some("203.0.113.7, 10.0.0.1"), &[proxy]),
            client
        );
    }
}
