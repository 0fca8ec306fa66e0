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
use std::time::Duration;

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
#[derive(Debug)]
struct Buckets<K>(Mutex<HashMap<K, Bucket>>);

impl<K> Default for Buckets<K> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

#[derive(Debug)]
struct Bucket {
    rate: RateLimit,
    limiter: Arc<Limiter>,
}

impl<K: Eq + Hash + Copy> Buckets<K> {
    fn check(&self, id: K, rate: RateLimit, clock: &DefaultClock) -> RateLimitState {
        let limiter = {
            // The map holds plain values: a panic elsewhere cannot leave it half-written.
            let mut buckets = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            let bucket = buckets.entry(id).or_insert_with(|| Bucket { rate, limiter: limiter(rate) });
            if bucket.rate != rate {
                *bucket = Bucket { rate, limiter: limiter(rate) };
            }
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
