//! `GET /api/v1/usage`: the tenant's sends against its quotas, and the rate limits in force.

use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use domain::RateLimit;
use serde::Serialize;
use services::Usage;
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::problem::ApiError;
use crate::state::AppState;

/// Messages queued in a period against its quota.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaUsageOut {
    /// Messages queued for sending in the period (UTC).
    pub sent: u32,
    /// The quota; `null`: unlimited.
    pub quota: Option<u32>,
    /// When the period ends and its count starts again.
    pub resets_at: DateTime<Utc>,
}

/// A GCRA rate limit.
#[derive(Debug, Serialize, ToSchema)]
pub struct RateLimitOut {
    /// Sustained requests per minute.
    pub requests_per_minute: u32,
    /// Requests that may arrive at once.
    pub burst: u32,
}

impl From<RateLimit> for RateLimitOut {
    fn from(rate: RateLimit) -> Self {
        Self { requests_per_minute: rate.per_minute, burst: rate.burst }
    }
}

/// The tenant's usage and limits.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "sends_today": {"sent": 12, "quota": 10000, "resets_at": "2026-12-04T00:00:00Z"},
    "sends_this_month": {"sent": 310, "quota": null, "resets_at": "2027-01-01T00:00:00Z"},
    "rate_limit": {"requests_per_minute": 600, "burst": 100},
    "key_rate_limit": {"requests_per_minute": 300, "burst": 50}
}))]
pub struct UsageOut {
    /// Today's sends (UTC day).
    pub sends_today: QuotaUsageOut,
    /// This month's sends (UTC calendar month).
    pub sends_this_month: QuotaUsageOut,
    /// The API rate limit of the whole tenant.
    pub rate_limit: RateLimitOut,
    /// The API rate limit of each of its keys.
    pub key_rate_limit: RateLimitOut,
}

impl From<Usage> for UsageOut {
    fn from(usage: Usage) -> Self {
        Self {
            sends_today: QuotaUsageOut {
                sent: usage.sends.day,
                quota: usage.limits.sends.per_day,
                resets_at: usage.day_resets_at,
            },
            sends_this_month: QuotaUsageOut {
                sent: usage.sends.month,
                quota: usage.limits.sends.per_month,
                resets_at: usage.month_resets_at,
            },
            rate_limit: usage.limits.tenant_rate.into(),
            key_rate_limit: usage.limits.key_rate.into(),
        }
    }
}

/// The tenant's sends today and this month against its quotas, and its API rate limits (the
/// configured defaults, or its `limits` feature's overrides). Any role.
#[utoipa::path(
    operation_id = "get_usage",
    responses((status = 200, body = UsageOut)),
    security(("api_key" = [])), tag = "limits"
)]
#[get("/usage")]
pub async fn get(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let usage = state.limits.usage(&caller.0).await?;
    Ok(HttpResponse::Ok().json(UsageOut::from(usage)))
}
