//! Per-device and per-address quotas (governor's GCRA: the rate of PROTOCOL.md with a burst of a
//! whole minute's allowance, which behaves as a sliding minute).

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota as GQuota, RateLimiter};
use uuid::Uuid;

use crate::config::Limits;
use crate::domain::{DeviceId, Quota};

/// Limiters for asks and votes, per (session, device) and per address.
pub struct Quotas {
    asks: DefaultKeyedRateLimiter<(Uuid, DeviceId)>,
    votes: DefaultKeyedRateLimiter<(Uuid, DeviceId)>,
    addr_asks: DefaultKeyedRateLimiter<IpAddr>,
    addr_votes: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

fn per_minute(n: u32) -> GQuota {
    GQuota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN))
}

impl Quotas {
    /// Limiters with the configured rates.
    pub fn new(l: &Limits) -> Self {
        Self {
            asks: RateLimiter::keyed(per_minute(l.asks_per_minute)),
            votes: RateLimiter::keyed(per_minute(l.votes_per_minute)),
            addr_asks: RateLimiter::keyed(per_minute(
                l.asks_per_minute.saturating_mul(l.address_factor),
            )),
            addr_votes: RateLimiter::keyed(per_minute(
                l.votes_per_minute.saturating_mul(l.address_factor),
            )),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one ask or vote; `Err(ms)` when over quota, with the time until the next is allowed.
    pub fn check(
        &self,
        kind: Quota,
        session: Uuid,
        device: DeviceId,
        addr: IpAddr,
    ) -> Result<(), u64> {
        let (dev, adr) = match kind {
            Quota::Ask => (&self.asks, &self.addr_asks),
            Quota::Vote => (&self.votes, &self.addr_votes),
        };
        let now = self.clock.now();
        dev.check_key(&(session, device))
            .and_then(|_| adr.check_key(&addr))
            .map_err(|nu| (nu.wait_time_from(now).as_millis() as u64).max(1))
    }

    /// Forgets keys whose allowance is full again (bounds memory).
    pub fn retain_recent(&self) {
        self.asks.retain_recent();
        self.votes.retain_recent();
        self.addr_asks.retain_recent();
        self.addr_votes.retain_recent();
    }
}

/// The frame-flood limiter of one socket: `burst` at once, `per_second` sustained.
pub fn frame_limiter(burst: u32, per_second: u32) -> DefaultDirectRateLimiter {
    let ps = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
    let b = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    RateLimiter::direct(GQuota::per_second(ps).allow_burst(b))
}
