//! Keyed rate limits: `governor`'s GCRA (a burst of `limit`, one more every
//! `window / limit`) over a state store of our own that
//!
//! - holds at most `capacity` keys, so a flood of distinct keys cannot grow memory: when a
//!   shard is full, keys whose state is indistinguishable from a fresh key's are forgotten
//!   (at most one sweep per shard per second, so a flood does not buy an O(n) scan per
//!   request); if it is still full, new keys share one overflow budget per shard. A key
//!   already held is never evicted while it matters: flooding cannot reset a target's count;
//! - can answer "would one more be allowed?" without charging ([`Limiter::check`]), which a
//!   failure budget needs: look before the expensive work, charge only when it failed.
//!
//! Time comes from the issuer's [`Clock`], so tests control it. In memory, per replica:
//! behind a load balancer each replica limits on its own, which still bounds an attacker to
//! `replicas × limit`; a shared store is the next step at scale.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::StateStore;
use governor::{Quota, RateLimiter};

use crate::config::Clock;

/// Shards of the state store (fewer keys behind each lock).
const SHARDS: usize = 16;

/// Whom a per-client limit counts: an IPv4 address, or the /64 an IPv6 address is in (one
/// host or home network usually holds a whole /64, so per address it would have 2^64
/// budgets). An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) counts as its IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An IPv4 address.
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6Net([u8; 8]),
}

impl From<IpAddr> for ClientKey {
    fn from(ip: IpAddr) -> ClientKey {
        match ip {
            IpAddr::V4(v4) => ClientKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey::V4(v4.octets()),
                None => {
                    let mut net = [0u8; 8];
                    net.copy_from_slice(&v6.octets()[..8]);
                    ClientKey::V6Net(net)
                }
            },
        }
    }
}

impl std::fmt::Display for ClientKey {
    /// `203.0.113.7` or `2001:db8:1:2::/64`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientKey::V4(o) => write!(f, "{}", std::net::Ipv4Addr::from(*o)),
            ClientKey::V6Net(n) => {
                let mut full = [0u8; 16];
                full[..8].copy_from_slice(n);
                write!(f, "{}/64", std::net::Ipv6Addr::from(full))
            }
        }
    }
}

/// A key with what the store should do with governor's decision.
#[derive(Debug, Clone)]
struct Probe<K> {
    key: K,
    /// `false`: report the decision but keep the state (a look, not an attempt).
    charge: bool,
}

impl<K: Hash> Hash for Probe<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key.hash(state);
    }
}

impl<K: PartialEq> PartialEq for Probe<K> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<K: Eq> Eq for Probe<K> {}

#[derive(Debug)]
struct Shard<K> {
    /// Each key's theoretical arrival time, relative to the store's start.
    tats: HashMap<K, Nanos>,
    /// The budget shared by keys that found the shard full.
    overflow: Option<Nanos>,
    /// When (store time, seconds) this shard was last swept.
    swept_at: Option<u64>,
}

/// governor's state, at most `per_shard` keys in each of [`SHARDS`] shards.
#[derive(Debug)]
struct BoundedStore<K> {
    shards: Arc<Vec<Mutex<Shard<K>>>>,
    per_shard: usize,
    hasher: RandomState,
    clock: Arc<dyn Clock>,
    /// Unix seconds when the store was made: at most 1 s before the limiter's own start,
    /// whose time its state values count from.
    start: u64,
}

impl<K: Hash + Eq + Clone> BoundedStore<K> {
    fn shard(&self, key: &K) -> &Mutex<Shard<K>> {
        let n = self.hasher.hash_one(key) as usize % SHARDS;
        &self.shards[n]
    }

    /// Nanoseconds since the store's start, less 2 s: a state at or before this is in the
    /// past even counted from the limiter's start, i.e. the key has its whole budget again.
    fn stale_before(&self) -> Nanos {
        let secs = self.clock.now().saturating_sub(self.start);
        Nanos::from(Duration::from_secs(secs.saturating_sub(2)))
    }
}

impl<K: Hash + Eq + Clone> StateStore for BoundedStore<K> {
    type Key = Probe<K>;

    fn measure_and_replace<T, F, E>(&self, probe: &Probe<K>, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let mut shard = self
            .shard(&probe.key)
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(tat) = shard.tats.get_mut(&probe.key) {
            let (t, next) = f(Some(*tat))?;
            if probe.charge {
                *tat = next;
            }
            return Ok(t);
        }
        if shard.tats.len() >= self.per_shard {
            let now = self.clock.now();
            if shard.swept_at.is_none_or(|at| at < now) {
                shard.swept_at = Some(now);
                let stale = self.stale_before();
                shard.tats.retain(|_, tat| *tat > stale);
            }
        }
        if shard.tats.len() >= self.per_shard {
            let (t, next) = f(shard.overflow)?;
            if probe.charge {
                shard.overflow = Some(next);
            }
            return Ok(t);
        }
        let (t, next) = f(None)?;
        if probe.charge {
            shard.tats.insert(probe.key.clone(), next);
        }
        Ok(t)
    }
}

/// governor's clock, read from the issuer's.
#[derive(Debug, Clone)]
struct IssuerClock(Arc<dyn Clock>);

impl governor::clock::Clock for IssuerClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(Duration::from_secs(self.0.now()))
    }
}

/// A keyed limit: `limit` per `window` (a burst of `limit`, then one more every
/// `window / limit`), for at most `capacity` keys.
#[derive(Debug)]
pub struct Limiter<K: Hash + Eq + Clone> {
    inner: RateLimiter<Probe<K>, BoundedStore<K>, IssuerClock, NoOpMiddleware<Nanos>>,
    shards: Arc<Vec<Mutex<Shard<K>>>>,
    clock: IssuerClock,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    /// A limiter of `limit` (at least 1) per `window`, holding at most about `capacity` keys.
    pub fn new(limit: u32, window: Duration, capacity: usize, clock: Arc<dyn Clock>) -> Self {
        let limit = NonZeroU32::new(limit).unwrap_or(NonZeroU32::MIN);
        let period = (window / limit.get()).max(Duration::from_millis(1));
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(limit);
        let shards: Arc<Vec<_>> = Arc::new(
            (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        tats: HashMap::new(),
                        overflow: None,
                        swept_at: None,
                    })
                })
                .collect(),
        );
        let store = BoundedStore {
            shards: shards.clone(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
            clock: clock.clone(),
            start: clock.now(),
        };
        let clock = IssuerClock(clock);
        Limiter {
            inner: RateLimiter::new(quota, store, clock.clone()),
            shards,
            clock,
        }
    }

    fn decide(&self, key: &K, charge: bool) -> Result<(), u64> {
        let probe = Probe {
            key: key.clone(),
            charge,
        };
        self.inner.check_key(&probe).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
            // Whole seconds, rounded up: a client that waits this long is let in.
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }

    /// Counts one attempt for `key`; `Err(seconds to wait)` when it is over the limit (and
    /// then nothing is counted).
    pub fn attempt(&self, key: &K) -> Result<(), u64> {
        self.decide(key, true)
    }

    /// Whether [`attempt`](Self::attempt) would pass now, counting nothing: `Err(seconds to
    /// wait)` when the budget is spent.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        self.decide(key, false)
    }

    /// How many keys are held (the overflow budgets not counted).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).tats.len())
            .sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[derive(Debug)]
    struct TestClock(AtomicU64);

    impl Clock for TestClock {
        fn now(&self) -> u64 {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn clock() -> Arc<TestClock> {
        Arc::new(TestClock(AtomicU64::new(1_000_000)))
    }

    #[test]
    fn limits_per_key_and_refills_over_the_window() {
        let c = clock();
        let r = Limiter::new(2, Duration::from_secs(60), 1000, c.clone());
        assert!(r.attempt(&"a").is_ok());
        assert!(r.attempt(&"a").is_ok());
        assert_eq!(r.attempt(&"a"), Err(30));
        assert!(r.attempt(&"b").is_ok());
        c.0.fetch_add(30, Ordering::SeqCst);
        assert!(r.attempt(&"a").is_ok());
        assert_eq!(r.attempt(&"a"), Err(30));
    }

    #[test]
    fn check_looks_without_counting() {
        let r = Limiter::new(2, Duration::from_secs(60), 1000, clock());
        for _ in 0..10 {
            assert!(r.check(&"a").is_ok());
        }
        r.attempt(&"a").unwrap();
        r.attempt(&"a").unwrap();
        assert_eq!(r.check(&"a"), Err(30));
        assert_eq!(r.attempt(&"a"), Err(30));
    }

    #[test]
    fn ipv6_clients_count_per_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| ClientKey::from(s.parse::<IpAddr>().unwrap());
        assert_eq!(
            key("2001:db8:1:2::1"),
            key("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
        assert_eq!(key("2001:db8:1:2::1").to_string(), "2001:db8:1:2::/64");
        let r = Limiter::new(3, Duration::from_secs(3600), 1000, clock());
        for n in 0..3u16 {
            let ip = std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, n, n, n, n + 1);
            r.attempt(&ClientKey::from(IpAddr::V6(ip))).unwrap();
        }
        assert!(r.attempt(&key("2001:db8:1:2:abcd::9")).is_err());
        assert!(r.attempt(&key("2001:db8:1:3::1")).is_ok());
    }

    #[test]
    fn memory_is_bounded_and_a_flood_resets_no_held_key() {
        let c = clock();
        let r = Limiter::new(2, Duration::from_secs(3600), 160, c.clone());
        r.attempt(&u64::MAX).unwrap();
        r.attempt(&u64::MAX).unwrap();
        for key in 0..100_000u64 {
            let _ = r.attempt(&key);
        }
        assert!(r.len() <= 160, "{} keys held", r.len());
        // The key spent before the flood is still spent.
        assert!(r.attempt(&u64::MAX).is_err());
        // Keys that found their shard full share its overflow budget: spent by the flood.
        assert!((200_000..200_100u64).all(|k| r.attempt(&k).is_err()));
        // Once the window has passed, old states are forgotten and new keys get room.
        c.0.fetch_add(3600 + 3, Ordering::SeqCst);
        assert!(r.attempt(&300_000).is_ok());
        assert!(r.attempt(&u64::MAX).is_ok());
        assert!(r.len() <= 160);
    }
}
