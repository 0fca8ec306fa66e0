//! The API's rate limits (ADR 0020): GCRA through `governor`, one bucket per tenant and one per
//! API key, in this process. The authentication extractor ([`crate::auth::Caller`]) checks both
//! and records the outcome on the request; [`headers`] writes it on the answer, so every
//! authenticated answer, a 429 included, carries `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset` (the IETF draft's names). Twilio's webhooks, health, metrics and the docs
//! never authenticate, so they are never limited.

use std::collections::HashMap;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use domain::{ApiKeyId, OwnerId, Principal, RateLimit, TenantLimits};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

type Limiter = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

/// Where a request stands against its limits: what the `RateLimit-*` headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitState {
    /// The bucket's capacity (the burst) of the tighter of the two limits.
    pub limit: u32,
    /// Requests left in it now.
    pub remaining: u32,
    /// Seconds until it is full again.
    pub reset_seconds: u64,
    /// Seconds until a request may be made, when this one was refused.
    pub retry_after_seconds: Option<u64>,
}

/// The tenants' and keys' buckets of this instance.
#[derive(Debug)]
pub struct ApiRateLimiter {
    /// Instances sharing each tenant's limit (`CONVERSA_RATE_LIMIT_INSTANCES`).
    instances: u32,
    clock: DefaultClock,
    tenants: Buckets<OwnerId>,
    keys: Buckets<ApiKeyId>,
}

impl ApiRateLimiter {
    /// Buckets for `instances` instances sharing every limit.
    #[must_use]
    pub fn new(instances: u32) -> Self {
        Self {
            instances: instances.max(1),
            clock: DefaultClock::default(),
            tenants: Buckets::default(),
            keys: Buckets::default(),
        }
    }

    /// Takes one request from the caller's key's bucket, then from its tenant's. A request the
    /// key's limit refuses costs the tenant nothing, so one runaway key leaves the tenant's
    /// other keys their share.
    pub fn check(&self, principal: &Principal, limits: &TenantLimits) -> RateLimitState {
        let key =
            self.keys.check(principal.api_key_id, limits.key_rate.shared_by(self.instances), &self.clock);
        if key.retry_after_seconds.is_some() {
            return key;
        }
        let tenant =
            self.tenants.check(principal.owner_id, limits.tenant_rate.shared_by(self.instances), &self.clock);
        if tenant.retry_after_seconds.is_some() || tenant.remaining < key.remaining { tenant } else { key }
    }
}

/// One bucket per id, rebuilt (full) when the id's rate changes, so an override applies at once.
///
/// Buckets idle long enough to have filled up again are dropped when the map has grown by
/// [`SWEEP_EVERY`] since the last sweep: a dropped bucket comes back full, exactly as it was, so
/// this changes no answer, and the keys a tenant used once (or revoked) cost no memory for the
/// life of the process.
#[derive(Debug)]
struct Buckets<K>(Mutex<BucketMap<K>>);

#[derive(Debug)]
struct BucketMap<K> {
    buckets: HashMap<K, Bucket>,
    /// The number of buckets after the last sweep.
    swept_at_len: usize,
}

/// How many buckets the map may gain between two sweeps of the idle ones.
const SWEEP_EVERY: usize = 1024;

impl<K> Default for Buckets<K> {
    fn default() -> Self {
        Self(Mutex::new(BucketMap { buckets: HashMap::new(), swept_at_len: 0 }))
    }
}

#[derive(Debug)]
struct Bucket {
    rate: RateLimit,
    limiter: Arc<Limiter>,
    last_used: Instant,
}

impl Bucket {
    fn new(rate: RateLimit, now: Instant) -> Self {
        Self { rate, limiter: limiter(rate), last_used: now }
    }

    /// Whether the bucket has had time to fill up since it was last used: then it is as good
    /// as a new one.
    fn is_full_again(&self, now: Instant) -> bool {
        now.duration_since(self.last_used) >= replenish_interval(self.rate) * self.rate.burst
    }
}

impl<K: Eq + Hash> BucketMap<K> {
    fn sweep_when_grown(&mut self, now: Instant) {
        if self.buckets.len() >= self.swept_at_len + SWEEP_EVERY {
            self.buckets.retain(|_, bucket| !bucket.is_full_again(now));
            self.swept_at_len = self.buckets.len();
        }
    }
}

impl<K: Eq + Hash + Copy> Buckets<K> {
    fn check(&self, id: K, rate: RateLimit, clock: &DefaultClock) -> RateLimitState {
        let limiter = {
            // The map holds plain values: a panic elsewhere cannot leave it half-written.
            let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            let now = Instant::now();
            map.sweep_when_grown(now);
            let bucket = map.buckets.entry(id).or_insert_with(|| Bucket::new(rate, now));
            if bucket.rate != rate {
                *bucket = Bucket::new(rate, now);
            }
            bucket.last_used = now;
            bucket.limiter.clone()
        };
        let interval = replenish_interval(rate);
        match limiter.check() {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                RateLimitState {
                    limit: rate.burst,
                    remaining,
                    reset_seconds: ceil_seconds(interval * (rate.burst - remaining)),
                    retry_after_seconds: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(clock.now());
                RateLimitState {
                    limit: rate.burst,
                    remaining: 0,
                    reset_seconds: ceil_seconds(wait + interval * (rate.burst - 1)),
                    // At least 1: "try again in 0 seconds" invites a busy loop.
                    retry_after_seconds: Some(ceil_seconds(wait).max(1)),
                }
            }
        }
    }
}

/// One request back every `60 s / per_minute`.
fn replenish_interval(rate: RateLimit) -> Duration {
    Duration::from_secs(60) / rate.per_minute.max(1)
}

fn limiter(rate: RateLimit) -> Arc<Limiter> {
    let burst = NonZeroU32::new(rate.burst).unwrap_or(NonZeroU32::MIN);
    // `with_period` refuses only a zero period, which a rate of at most MAX_RATE never gives.
    let quota = Quota::with_period(replenish_interval(rate)).unwrap_or_else(|| Quota::per_minute(burst));
    Arc::new(RateLimiter::direct(quota.allow_burst(burst)).with_middleware::<StateInformationMiddleware>())
}

fn ceil_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// Middleware: writes the request's [`RateLimitState`], when it has one, as `RateLimit-Limit`,
/// `RateLimit-Remaining` and `RateLimit-Reset` (and `Retry-After` on a refusal, which the
/// problem answer sets itself).
pub async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut response = next.call(req).await?;
    let state = response.request().extensions().get::<RateLimitState>().copied();
    if let Some(state) = state {
        let headers = response.headers_mut();
        for (name, value) in [
            ("ratelimit-limit", u64::from(state.limit)),
            ("ratelimit-remaining", u64::from(state.remaining)),
            ("ratelimit-reset", state.reset_seconds),
        ] {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{SendQuota, UserId, UserRole};
    use uuid::Uuid;

    fn principal(owner: u128, key: u128) -> Principal {
        Principal {
            owner_id: OwnerId::from_uuid(Uuid::from_u128(owner)),
            user_id: UserId::from_uuid(Uuid::from_u128(owner)),
            api_key_id: ApiKeyId::from_uuid(Uuid::from_u128(key)),
            role: UserRole::Agent,
        }
    }

    fn limits(tenant_burst: u32, key_burst: u32) -> TenantLimits {
        TenantLimits {
            tenant_rate: RateLimit { per_minute: 60, burst: tenant_burst },
            key_rate: RateLimit { per_minute: 60, burst: key_burst },
            sends: SendQuota::UNLIMITED,
        }
    }

    #[test]
    fn a_tenant_past_its_burst_is_refused_while_another_tenant_is_not() {
        let limiter = ApiRateLimiter::new(1);
        let (acme, other) = (principal(1, 1), principal(2, 2));
        let states: Vec<_> = (0..3).map(|_| limiter.check(&acme, &limits(3, 10))).collect();
        assert_eq!(states.iter().map(|s| s.remaining).collect::<Vec<_>>(), [2, 1, 0]);
        assert_eq!(states[0].limit, 3);
        let refused = limiter.check(&acme, &limits(3, 10));
        assert_eq!((refused.remaining, refused.retry_after_seconds), (0, Some(1)));
        assert!(refused.reset_seconds >= 2, "{refused:?}");
        assert_eq!(limiter.check(&other, &limits(3, 10)).retry_after_seconds, None);
    }

    #[test]
    fn a_key_past_its_limit_leaves_the_tenants_other_keys_alone() {
        let limiter = ApiRateLimiter::new(1);
        let (first, second) = (principal(1, 1), principal(1, 2));
        limiter.check(&first, &limits(10, 1));
        assert!(limiter.check(&first, &limits(10, 1)).retry_after_seconds.is_some());
        let other_key = limiter.check(&second, &limits(10, 1));
        assert_eq!(other_key.retry_after_seconds, None);
        // The refused request was not taken from the tenant: 10 - 2 requests let through.
        assert_eq!(limiter.check(&principal(1, 3), &limits(10, 50)).remaining, 7);
    }

    #[test]
    fn idle_buckets_that_filled_up_again_are_dropped_once_the_map_has_grown() {
        let buckets = Buckets::<u64>::default();
        let rate = RateLimit { per_minute: 60_000, burst: 1 };
        let clock = DefaultClock::default();
        for id in 0..SWEEP_EVERY as u64 {
            buckets.check(id, rate, &clock);
        }
        // One request a millisecond with a burst of one: each bucket is full again 1 ms on.
        std::thread::sleep(Duration::from_millis(5));
        let busy = SWEEP_EVERY as u64;
        buckets.check(busy, rate, &clock);
        let map = buckets.0.lock().unwrap();
        assert_eq!(map.buckets.len(), 1, "only the bucket just used is left");
        assert!(map.buckets.contains_key(&busy));
        assert_eq!(map.swept_at_len, 0);
    }

    #[test]
    fn a_sweep_keeps_the_buckets_still_refilling() {
        let buckets = Buckets::<u64>::default();
        // One request a minute: a bucket used once stays short for a minute.
        let slow = RateLimit { per_minute: 1, burst: 1 };
        let clock = DefaultClock::default();
        for id in 0..=SWEEP_EVERY as u64 {
            buckets.check(id, slow, &clock);
        }
        let map = buckets.0.lock().unwrap();
        assert_eq!(map.buckets.len(), SWEEP_EVERY + 1, "the sweep dropped none of them");
        assert_eq!(map.swept_at_len, SWEEP_EVERY);
        drop(map);
        assert!(buckets.check(0, slow, &clock).retry_after_seconds.is_some(), "and still refuses");
    }

    #[test]
    fn a_changed_limit_applies_at_once_and_instances_share_it() {
        let limiter = ApiRateLimiter::new(1);
        let acme = principal(1, 1);
        limiter.check(&acme, &limits(1, 10));
        assert!(limiter.check(&acme, &limits(1, 10)).retry_after_seconds.is_some());
        assert_eq!(limiter.check(&acme, &limits(5, 10)).remaining, 4);
        let shared = ApiRateLimiter::new(2);
        assert_eq!(
            shared.check(&acme, &limits(6, 10)),
            RateLimitState { limit: 3, remaining: 2, reset_seconds: 2, retry_after_seconds: None }
        );
    }
}
