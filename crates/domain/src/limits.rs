//! Per-tenant limits: API rate limits (requests per minute with a burst, per tenant and per API
//! key) and send quotas (outbound messages per UTC day and per UTC month).
//!
//! The defaults come from the service's configuration; a tenant's `limits` feature overrides
//! them field by field ([`LimitsOverride`]): a field left out keeps the default, a quota set to
//! `null` is unlimited.

use chrono::{DateTime, Datelike, Months, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize};

/// The largest rate or burst a tenant may be given: far above any real client, low enough that
/// the arithmetic on it never overflows.
pub const MAX_RATE: u32 = 1_000_000;

/// A GCRA rate: `per_minute` requests a minute on average, `burst` of them at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RateLimit {
    /// Sustained requests per minute.
    pub per_minute: u32,
    /// Requests that may arrive at once (the bucket's capacity).
    pub burst: u32,
}

impl RateLimit {
    /// A rate of `per_minute` with `burst`, both in `1..=MAX_RATE`.
    ///
    /// ```
    /// # use domain::RateLimit;
    /// assert!(RateLimit::new(600, 100).is_ok());
    /// assert!(RateLimit::new(0, 100).is_err());
    /// ```
    ///
    /// # Errors
    /// [`LimitsError::OutOfRange`] naming the field.
    pub fn new(per_minute: u32, burst: u32) -> Result<Self, LimitsError> {
        in_range("per_minute", per_minute)?;
        in_range("burst", burst)?;
        Ok(Self { per_minute, burst })
    }

    /// This instance's share of the limit when `instances` serve the tenant: each instance
    /// limits on its own (ADR 0020), so the rate and the burst are divided, never below 1.
    #[must_use]
    pub fn shared_by(self, instances: u32) -> Self {
        let instances = instances.max(1);
        Self { per_minute: (self.per_minute / instances).max(1), burst: (self.burst / instances).max(1) }
    }
}

fn in_range(field: &'static str, value: u32) -> Result<(), LimitsError> {
    if (1..=MAX_RATE).contains(&value) { Ok(()) } else { Err(LimitsError::OutOfRange { field }) }
}

/// Why a limit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitsError {
    /// A rate or burst outside `1..=MAX_RATE`.
    #[error("`{field}` must be between 1 and {MAX_RATE}")]
    OutOfRange {
        /// The field.
        field: &'static str,
    },
}

/// Outbound messages a tenant may queue per UTC day and per UTC month; `None`: unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendQuota {
    /// Per UTC day.
    pub per_day: Option<u32>,
    /// Per UTC calendar month.
    pub per_month: Option<u32>,
}

impl SendQuota {
    /// No quota at all.
    pub const UNLIMITED: Self = Self { per_day: None, per_month: None };

    /// The quota of `period`.
    #[must_use]
    pub const fn of(&self, period: QuotaPeriod) -> Option<u32> {
        match period {
            QuotaPeriod::Day => self.per_day,
            QuotaPeriod::Month => self.per_month,
        }
    }
}

/// The period a send quota counts over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaPeriod {
    /// A UTC day.
    Day,
    /// A UTC calendar month.
    Month,
}

impl QuotaPeriod {
    /// Both periods, day first.
    pub const ALL: [Self; 2] = [Self::Day, Self::Month];

    /// The name stored and shown (`day`, `month`).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Month => "month",
        }
    }

    /// The first day of the period holding `at`.
    ///
    /// ```
    /// # use domain::QuotaPeriod;
    /// let at = "2026-12-03T23:59:59Z".parse().unwrap();
    /// assert_eq!(QuotaPeriod::Month.start(at).to_string(), "2026-12-01");
    /// assert_eq!(QuotaPeriod::Day.start(at).to_string(), "2026-12-03");
    /// ```
    #[must_use]
    pub fn start(self, at: DateTime<Utc>) -> NaiveDate {
        let day = at.date_naive();
        match self {
            Self::Day => day,
            Self::Month => day.with_day(1).unwrap_or(day),
        }
    }

    /// When the period holding `at` ends and its count starts again from zero.
    ///
    /// ```
    /// # use domain::QuotaPeriod;
    /// let at = "2026-12-31T10:00:00Z".parse().unwrap();
    /// assert_eq!(QuotaPeriod::Day.resets_at(at).to_rfc3339(), "2027-01-01T00:00:00+00:00");
    /// assert_eq!(QuotaPeriod::Month.resets_at(at).to_rfc3339(), "2027-01-01T00:00:00+00:00");
    /// ```
    #[must_use]
    pub fn resets_at(self, at: DateTime<Utc>) -> DateTime<Utc> {
        let start = self.start(at);
        let next = match self {
            Self::Day => start.succ_opt(),
            Self::Month => start.checked_add_months(Months::new(1)),
        }
        .unwrap_or(start);
        Utc.from_utc_datetime(&next.and_time(chrono::NaiveTime::MIN))
    }
}

impl std::fmt::Display for QuotaPeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The limits in force for a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantLimits {
    /// API requests of the whole tenant.
    pub tenant_rate: RateLimit,
    /// API requests of one API key.
    pub key_rate: RateLimit,
    /// Outbound messages.
    pub sends: SendQuota,
}

impl TenantLimits {
    /// These limits with `over`'s fields where it sets them.
    #[must_use]
    pub fn overridden_by(self, over: &LimitsOverride) -> Self {
        let rate = |default: RateLimit, per_minute: Option<u32>, burst: Option<u32>| RateLimit {
            per_minute: per_minute.unwrap_or(default.per_minute),
            burst: burst.unwrap_or(default.burst),
        };
        Self {
            tenant_rate: rate(self.tenant_rate, over.requests_per_minute, over.burst),
            key_rate: rate(self.key_rate, over.key_requests_per_minute, over.key_burst),
            sends: SendQuota {
                per_day: over.sends_per_day.unwrap_or(self.sends.per_day),
                per_month: over.sends_per_month.unwrap_or(self.sends.per_month),
            },
        }
    }
}

/// A tenant's `limits` feature configuration: each field overrides the configured default;
/// left out, the default applies. For the quotas, `null` means unlimited.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsOverride {
    /// API requests per minute of the tenant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_minute: Option<u32>,
    /// Burst of the tenant's API requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
    /// API requests per minute of one key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_requests_per_minute: Option<u32>,
    /// Burst of one key's API requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_burst: Option<u32>,
    /// Messages per UTC day: left out, the default; `null`, unlimited.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub sends_per_day: Option<Option<u32>>,
    /// Messages per UTC month: left out, the default; `null`, unlimited.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub sends_per_month: Option<Option<u32>>,
}

/// A field that is present, `null` included (serde maps a present `null` to `Some(None)` only
/// through this: its default for a missing field stays `None`).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(deserializer).map(Some)
}

impl LimitsOverride {
    /// Checks every rate and burst it sets against `1..=MAX_RATE`.
    ///
    /// # Errors
    /// [`LimitsError::OutOfRange`] naming the field.
    pub fn validate(&self) -> Result<(), LimitsError> {
        let rates = [
            ("requests_per_minute", self.requests_per_minute),
            ("burst", self.burst),
            ("key_requests_per_minute", self.key_requests_per_minute),
            ("key_burst", self.key_burst),
        ];
        rates
            .iter()
            .filter_map(|(field, value)| value.map(|v| (*field, v)))
            .try_for_each(|(f, v)| in_range(f, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> TenantLimits {
        TenantLimits {
            tenant_rate: RateLimit { per_minute: 600, burst: 100 },
            key_rate: RateLimit { per_minute: 300, burst: 50 },
            sends: SendQuota { per_day: Some(1_000), per_month: None },
        }
    }

    fn parse(value: serde_json::Value) -> LimitsOverride {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn an_override_replaces_only_what_it_names_and_null_quotas_are_unlimited() {
        let over = parse(json!({"burst": 5, "sends_per_day": null, "sends_per_month": 20}));
        let limits = defaults().overridden_by(&over);
        assert_eq!(limits.tenant_rate, RateLimit { per_minute: 600, burst: 5 });
        assert_eq!(limits.key_rate, defaults().key_rate);
        assert_eq!(limits.sends, SendQuota { per_day: None, per_month: Some(20) });
        assert_eq!(defaults().overridden_by(&parse(json!({}))), defaults());
    }

    #[test]
    fn rates_are_bounded_and_unknown_fields_refused() {
        assert_eq!(
            parse(json!({"key_burst": 0})).validate(),
            Err(LimitsError::OutOfRange { field: "key_burst" })
        );
        assert!(parse(json!({"requests_per_minute": MAX_RATE})).validate().is_ok());
        assert!(serde_json::from_value::<LimitsOverride>(json!({"per_second": 1})).is_err());
        assert!(serde_json::from_value::<LimitsOverride>(json!({"sends_per_day": -1})).is_err());
    }

    #[test]
    fn a_shared_limit_is_divided_but_never_zero() {
        let rate = RateLimit { per_minute: 600, burst: 3 };
        assert_eq!(rate.shared_by(4), RateLimit { per_minute: 150, burst: 1 });
        assert_eq!(rate.shared_by(0), rate);
    }

    #[test]
    fn periods_start_and_reset_in_utc() {
        let at: DateTime<Utc> = "2028-02-29T12:00:00Z".parse().unwrap();
        assert_eq!(QuotaPeriod::Day.resets_at(at).to_rfc3339(), "2028-03-01T00:00:00+00:00");
        assert_eq!(QuotaPeriod::Month.start(at).to_string(), "2028-02-01");
        assert_eq!(SendQuota { per_day: Some(1), per_month: None }.of(QuotaPeriod::Month), None);
    }
}
