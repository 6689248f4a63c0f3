//! Quotas. Asks and votes: at most N per device (and N x `address_factor` per address) in any
//! sliding minute, kept as a log of the last N times per key. Frame floods: governor's GCRA
//! (a burst, then a sustained rate), which is exactly the rule for frames.

use std::collections::VecDeque;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use governor::{DefaultDirectRateLimiter, Quota as GQuota, RateLimiter};
use uuid::Uuid;

use crate::config::Limits;
use crate::domain::{DeviceId, Net, Quota};

const WINDOW: Duration = Duration::from_secs(60);

/// At most `max` events per key in any `WINDOW`.
struct SlidingLog<K: Hash + Eq> {
    max: usize,
    /// The times of the last (at most `max`) counted events of each key, oldest first.
    log: DashMap<K, VecDeque<Instant>>,
}

impl<K: Hash + Eq + Clone> SlidingLog<K> {
    fn new(max: u32) -> Self {
        Self {
            max: max.max(1) as usize,
            log: DashMap::new(),
        }
    }

    /// `Err(wait)` when `key` already has `max` events in the window.
    fn would_allow(&self, key: &K, now: Instant) -> Result<(), Duration> {
        match self.log.get(key) {
            Some(q) if q.len() >= self.max => match q.front() {
                Some(oldest) if now.duration_since(*oldest) < WINDOW => {
                    Err(WINDOW - now.duration_since(*oldest))
                }
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    fn record(&self, key: K, now: Instant) {
        let mut q = self.log.entry(key).or_default();
        while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
            q.pop_front();
        }
        if q.len() >= self.max {
            q.pop_front();
        }
        q.push_back(now);
    }

    fn retain_recent(&self, now: Instant) {
        self.log
            .retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < WINDOW));
    }
}

/// Quotas for asks and votes, per (session, device) and per network ([`Net`]: an IPv4 address
/// or an IPv6 /64), and for new devices per network.
pub struct Quotas {
    asks: SlidingLog<(Uuid, DeviceId)>,
    votes: SlidingLog<(Uuid, DeviceId)>,
    addr_asks: SlidingLog<Net>,
    addr_votes: SlidingLog<Net>,
    /// Device tokens issued per address (an IPv6 /64): a client cannot make itself a new
    /// identity (and so new votes, or a way around a ban) faster than this.
    new_devices: SlidingLog<Net>,
}

impl Quotas {
    /// Quotas with the configured rates.
    pub fn new(l: &Limits) -> Self {
        Self {
            asks: SlidingLog::new(l.asks_per_minute),
            votes: SlidingLog::new(l.votes_per_minute),
            addr_asks: SlidingLog::new(l.asks_per_minute.saturating_mul(l.address_factor)),
            addr_votes: SlidingLog::new(l.votes_per_minute.saturating_mul(l.address_factor)),
            new_devices: SlidingLog::new(l.new_devices_per_minute),
        }
    }

    /// Counts one ask or vote when both the device and the address have room; else
    /// `Err(ms)`, the time until one more is allowed (nothing is counted then).
    pub fn check(
        &self,
        kind: Quota,
        session: Uuid,
        device: DeviceId,
        addr: IpAddr,
    ) -> Result<(), u64> {
        self.check_at(kind, session, device, addr, Instant::now())
    }

    fn check_at(
        &self,
        kind: Quota,
        session: Uuid,
        device: DeviceId,
        addr: IpAddr,
        now: Instant,
    ) -> Result<(), u64> {
        let (dev, adr) = match kind {
            Quota::Ask => (&self.asks, &self.addr_asks),
            Quota::Vote => (&self.votes, &self.addr_votes),
        };
        let key = (session, device);
        let net = Net::of(addr);
        let wait = match (dev.would_allow(&key, now), adr.would_allow(&net, now)) {
            (Ok(()), Ok(())) => {
                dev.record(key, now);
                adr.record(net, now);
                return Ok(());
            }
            (Err(a), Err(b)) => a.max(b),
            (Err(a), Ok(())) | (Ok(()), Err(a)) => a,
        };
        Err((wait.as_millis() as u64).max(1))
    }

    /// Counts one new device for `addr` when it has room; else `Err(ms)`, the time until one
    /// more is allowed.
    pub fn new_device(&self, addr: IpAddr) -> Result<(), u64> {
        let key = Net::of(addr);
        let now = Instant::now();
        match self.new_devices.would_allow(&key, now) {
            Ok(()) => {
                self.new_devices.record(key, now);
                Ok(())
            }
            Err(wait) => Err((wait.as_millis() as u64).max(1)),
        }
    }

    /// Forgets keys with nothing in the window (bounds memory).
    pub fn retain_recent(&self) {
        let now = Instant::now();
        self.asks.retain_recent(now);
        self.votes.retain_recent(now);
        self.new_devices.retain_recent(now);
        self.addr_asks.retain_recent(now);
        self.addr_votes.retain_recent(now);
    }
}

/// The frame-flood limiter of one socket: `burst` at once, `per_second` sustained.
pub fn frame_limiter(burst: u32, per_second: u32) -> DefaultDirectRateLimiter {
    let ps = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let b = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(GQuota::per_second(ps).allow_burst(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(asks: u32) -> Limits {
        Limits {
            asks_per_minute: asks,
            ..Limits::default()
        }
    }

    #[test]
    fn no_more_than_n_in_any_minute() {
        let q = Quotas::new(&limits(3));
        let (s, d, a) = (Uuid::new_v4(), Uuid::new_v4(), IpAddr::from([127, 0, 0, 1]));
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(
                q.check_at(Quota::Ask, s, d, a, t0 + Duration::from_secs(i))
                    .is_ok()
            );
        }
        let wait = q
            .check_at(Quota::Ask, s, d, a, t0 + Duration::from_secs(30))
            .unwrap_err();
        assert_eq!(wait, 30_000);
        // Still refused just before the first one leaves the window; allowed after.
        assert!(
            q.check_at(Quota::Ask, s, d, a, t0 + Duration::from_millis(59_999))
                .is_err()
        );
        assert!(
            q.check_at(Quota::Ask, s, d, a, t0 + Duration::from_secs(60))
                .is_ok()
        );
        assert!(
            q.check_at(Quota::Ask, s, d, a, t0 + Duration::from_millis(60_500))
                .is_err()
        );
        // Another device is not affected; votes are a separate quota.
        assert!(
            q.check_at(
                Quota::Ask,
                s,
                Uuid::new_v4(),
                a,
                t0 + Duration::from_secs(61)
            )
            .is_ok()
        );
        assert!(
            q.check_at(Quota::Vote, s, d, a, t0 + Duration::from_secs(61))
                .is_ok()
        );
    }

    #[test]
    fn an_address_refusal_does_not_use_the_device_quota() {
        let l = Limits {
            asks_per_minute: 1,
            address_factor: 100,
            ..Limits::default()
        };
        let q = Quotas::new(&l);
        let (s, a) = (Uuid::new_v4(), IpAddr::from([10, 0, 0, 1]));
        let t0 = Instant::now();
        for _ in 0..100 {
            assert!(q.check_at(Quota::Ask, s, Uuid::new_v4(), a, t0).is_ok());
        }
        let d = Uuid::new_v4();
        assert!(q.check_at(Quota::Ask, s, d, a, t0).is_err());
        // The refused device did not spend its one ask: from another address it may ask.
        assert!(
            q.check_at(Quota::Ask, s, d, IpAddr::from([10, 0, 0, 2]), t0)
                .is_ok()
        );
    }
}
