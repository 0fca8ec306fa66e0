//! A tenant's limits in force (the configured defaults, overridden by its `limits` feature) and
//! its usage against them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};
use domain::{LimitsOverride, OwnerId, Principal, QuotaPeriod, TenantLimits, UserRole};
use ports::{Clock, FeatureStore, MessageStore, SendCounts};

use crate::{ServiceError, authz::require};

/// The tenant's sends in the current periods against its quotas, and its rate limits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    /// When it was read.
    pub at: DateTime<Utc>,
    /// The limits in force.
    pub limits: TenantLimits,
    /// Messages queued today and this month (UTC).
    pub sends: SendCounts,
    /// When today's count starts again.
    pub day_resets_at: DateTime<Utc>,
    /// When this month's count starts again.
    pub month_resets_at: DateTime<Utc>,
}

/// Resolves limits. The API's rate limiter asks on every request, so what it resolves is
/// cached per tenant for `cache_ttl`: a changed `limits` feature applies on every instance
/// within that time, without a restart. Send quotas are read fresh ([`Self::current`]): a
/// send costs a transaction anyway, and a lowered quota then applies to the next send.
#[derive(Clone)]
pub struct LimitService {
    features: Arc<dyn FeatureStore>,
    messages: Arc<dyn MessageStore>,
    clock: Arc<dyn Clock>,
    defaults: TenantLimits,
    cache_ttl: Duration,
    cache: Arc<Mutex<Cache>>,
}

/// A tenant's limits and when they were read.
type Cache = HashMap<OwnerId, (DateTime<Utc>, TenantLimits)>;

impl std::fmt::Debug for LimitService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LimitService").field("defaults", &self.defaults).finish_non_exhaustive()
    }
}

impl LimitService {
    /// Limits with `defaults`, overrides read through `features` and cached for `cache_ttl`.
    #[must_use]
    pub fn new(
        features: Arc<dyn FeatureStore>,
        messages: Arc<dyn MessageStore>,
        clock: Arc<dyn Clock>,
        defaults: TenantLimits,
        cache_ttl: Duration,
    ) -> Self {
        Self { features, messages, clock, defaults, cache_ttl, cache: Arc::default() }
    }

    /// The configured defaults.
    #[must_use]
    pub const fn defaults(&self) -> TenantLimits {
        self.defaults
    }

    /// The tenant's limits, read at most once per `cache_ttl`.
    ///
    /// # Errors
    /// Storage errors (the caller decides whether to fall back to the defaults).
    pub async fn cached(&self, owner_id: OwnerId) -> Result<TenantLimits, ServiceError> {
        let now = self.clock.now();
        let hit =
            self.entries().get(&owner_id).filter(|(read_at, _)| now - *read_at < self.cache_ttl).copied();
        if let Some((_, limits)) = hit {
            return Ok(limits);
        }
        let limits = self.current(owner_id).await?;
        self.entries().insert(owner_id, (now, limits));
        Ok(limits)
    }

    /// The tenant's limits as stored now.
    ///
    /// # Errors
    /// Storage errors.
    pub async fn current(&self, owner_id: OwnerId) -> Result<TenantLimits, ServiceError> {
        let features = self.features.list_features(owner_id).await?;
        Ok(self.defaults.overridden_by(&LimitsOverride::from_features(&features)))
    }

    /// The caller's tenant's sends today and this month against its quotas, and its rate
    /// limits. Requires `viewer`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn usage(&self, principal: &Principal) -> Result<Usage, ServiceError> {
        require(principal, UserRole::Viewer)?;
        let at = self.clock.now();
        let limits = self.current(principal.owner_id).await?;
        let sends = self.messages.send_counts(principal.owner_id, at).await?;
        Ok(Usage {
            at,
            limits,
            sends,
            day_resets_at: QuotaPeriod::Day.resets_at(at),
            month_resets_at: QuotaPeriod::Month.resets_at(at),
        })
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Cache> {
        // The map holds plain values: a panic elsewhere cannot leave it half-written.
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
