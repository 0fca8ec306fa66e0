//! Errors as RFC 9457 `application/problem+json`, mapped from the use cases' errors in one
//! place. Unexpected failures are logged in full and answered blandly, with the request id to
//! quote; every 503 says when to try again (`Retry-After`).
//!
//! | status | `code` |
//! | --- | --- |
//! | 400 | `bad_request` |
//! | 401 | `unauthorized` |
//! | 403 | `forbidden`, `invalid_signature` |
//! | 404 | `not_found` |
//! | 405 | `method_not_allowed` (with `Allow`) |
//! | 409 | `email_taken`, `account_sid_taken`, `number_taken`, `account_in_use`, `conflict`, `conversation_closed` |
//! | 413 | `payload_too_large` |
//! | 415 | `unsupported_media_type` |
//! | 422 | `invalid_input` (with `field` when known), `rejected` |
//! | 429 | `rate_limited`, `send_quota_exceeded` (with `Retry-After`) |
//! | 500 | `internal` (with `request_id` only) |
//! | 503 | `unavailable`, `not_ready` |

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use ports::ConflictKind;
use serde::Serialize;
use services::ServiceError;

use crate::telemetry;

/// What every 503 answers in `Retry-After`: long enough for a failover or a burst of contention
/// to pass, short enough that a client does not give up on a blip.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "https://conversa.dev/problems/invalid_input",
    "title": "Invalid input",
    "status": 422,
    "detail": "invalid `customer_phone`: phone number must be in E.164 form, starting with '+' (got `5511`)",
    "code": "invalid_input",
    "field": "customer_phone",
    "request_id": "0190f3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
}))]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// A stable machine-readable code: `email_taken`, `account_sid_taken`, `invalid_input`,
    /// `not_found`, `unavailable`, `internal`, … (see the API's description of each status).
    pub code: &'static str,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The request's id (also in the `x-request-id` header): the one thing to quote about an
    /// internal error, whose details are only in the service's log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// When a used-up send quota starts again (RFC 3339), on a 429 `send_quota_exceeded`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resets_at: Option<String>,
}

/// An error answered as problem+json.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    field: Option<String>,
    /// `Allow`, on a 405.
    allow: Option<String>,
    /// On a 429: when to try again (boxed: most errors have none, and every handler's result
    /// carries the type).
    throttle: Option<Box<Throttle>>,
}

/// When a refused request may be tried again.
#[derive(Debug)]
struct Throttle {
    /// `Retry-After`, in seconds (a 503 always says [`RETRY_AFTER_SECONDS`]).
    retry_after: u64,
    /// When a used-up quota resets, on a 429 `send_quota_exceeded`.
    resets_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl ApiError {
    /// An error with everything spelled out.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self { status, code, title, detail: detail.into(), field: None, allow: None, throttle: None }
    }

    /// Names the input field at fault.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400: the request could not be read (malformed JSON, a bad query string).
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", "Malformed request", detail)
    }

    /// 422: the request was readable but a value is not acceptable.
    pub fn invalid(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "Invalid input", detail)
            .with_field(field)
    }

    /// 401: no credentials, or credentials that do not resolve.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized", detail)
    }

    /// 404.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "Not found", "no such resource")
    }

    /// 405: the path is served, with other methods (`allow`, as in the `Allow` header).
    pub fn method_not_allowed(method: &actix_web::http::Method, allow: String) -> Self {
        let mut error = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "Method not allowed",
            format!("{method} is not served here; {allow} are"),
        );
        error.allow = Some(allow);
        error
    }

    /// 429: the caller's tenant or key is over its rate limit; `retry_after` seconds until a
    /// request may go through.
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
            format!(
                "the API rate limit is reached; try again in {retry_after} s (see the RateLimit-* headers)"
            ),
        );
        error.throttle = Some(Box::new(Throttle { retry_after, resets_at: None }));
        error
    }

    /// 413: the body is over the configured limit.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "Payload too large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    /// The status answered.
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        self.status
    }

    /// The body answered, with the id of the request being handled, if any.
    #[must_use]
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("https://conversa.dev/problems/{}", self.code),
            title: self.title,
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            field: self.field.clone(),
            request_id: telemetry::current_request_id(),
            resets_at: self
                .throttle
                .as_ref()
                .and_then(|t| t.resets_at)
                .map(|at| at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        }
    }
}

/// The request field holding the value that is taken, when a request has one.
const fn conflicting_field(kind: ConflictKind) -> Option<&'static str> {
    match kind {
        ConflictKind::EmailTaken => Some("email"),
        ConflictKind::AccountSidTaken => Some("account_sid"),
        ConflictKind::NumberTaken => Some("phone_numbers"),
        ConflictKind::MessageSidTaken | ConflictKind::Other => None,
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        let code = error.code();
        match error {
            ServiceError::Forbidden { .. } => {
                Self::new(StatusCode::FORBIDDEN, code, "Forbidden", error.to_string())
            }
            ServiceError::InvalidSignature(detail) => {
                Self::new(StatusCode::FORBIDDEN, code, "Forbidden", detail)
            }
            ServiceError::Invalid { field, ref reason } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                code,
                "Invalid input",
                format!("invalid `{field}`: {reason}"),
            )
            .with_field(field),
            ServiceError::InvalidValue { field, .. } => {
                let invalid =
                    Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, "Invalid input", error.to_string());
                match field {
                    Some(field) => invalid.with_field(field),
                    None => invalid,
                }
            }
            ServiceError::NotFound => Self::not_found(),
            ServiceError::Conflict(kind) => {
                let conflict = Self::new(StatusCode::CONFLICT, code, "Conflict", kind.to_string());
                match conflicting_field(kind) {
                    Some(field) => conflict.with_field(field),
                    None => conflict,
                }
            }
            ServiceError::ConversationClosed(_) => {
                Self::new(StatusCode::CONFLICT, code, "Conversation closed", error.to_string())
            }
            ServiceError::AccountInUse { .. } => {
                Self::new(StatusCode::CONFLICT, code, "Account in use", error.to_string())
            }
            ServiceError::Rejected(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, "Request refused", error.to_string())
            }
            ServiceError::SendQuotaExceeded { resets_at, .. } => {
                let mut error =
                    Self::new(StatusCode::TOO_MANY_REQUESTS, code, "Send quota exceeded", error.to_string());
                let wait = (resets_at - chrono::Utc::now()).num_seconds().max(1);
                error.throttle =
                    Some(Box::new(Throttle { retry_after: wait.unsigned_abs(), resets_at: Some(resets_at) }));
                error
            }
            ServiceError::Unavailable(ref why) => {
                tracing::warn!(error = %why, "dependency unavailable");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, code, "Service unavailable", "try again shortly")
            }
            // Everything is in the log, under the request id; the body carries only that id.
            ServiceError::Internal(ref why) => {
                let request_id = telemetry::current_request_id();
                tracing::error!(error = %why, request_id = request_id.as_deref().unwrap_or("-"), "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "Internal error",
                    "something went wrong on our side; quote the request id when you report it",
                )
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")));
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECONDS));
        }
        if let Some(throttle) = &self.throttle {
            response.insert_header((header::RETRY_AFTER, throttle.retry_after));
        }
        if let Some(allow) = &self.allow {
            response.insert_header((header::ALLOW, allow.as_str()));
        }
        response.json(self.problem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_conflict_names_what_is_taken_and_its_field() {
        let taken = ApiError::from(ServiceError::Conflict(ConflictKind::EmailTaken));
        let problem = taken.problem();
        assert_eq!((taken.status().as_u16(), problem.code), (409, "email_taken"));
        assert_eq!(problem.field.as_deref(), Some("email"));
        assert_eq!(problem.detail, "this email address is already in use");
        let other = ApiError::from(ServiceError::Conflict(ConflictKind::Other)).problem();
        assert_eq!((other.code, other.field), ("conflict", None));
    }

    #[test]
    fn a_value_the_store_refused_is_invalid_input() {
        let named = ApiError::from(ServiceError::InvalidValue { field: Some("name"), reason: "is too long" });
        let problem = named.problem();
        assert_eq!((named.status().as_u16(), problem.code), (422, "invalid_input"));
        assert_eq!((problem.field.as_deref(), problem.detail.as_str()), (Some("name"), "`name` is too long"));
        let unnamed = ApiError::from(ServiceError::InvalidValue { field: None, reason: "is out of range" });
        assert_eq!(unnamed.problem().field, None);
    }

    #[test]
    fn every_503_says_when_to_try_again_and_an_internal_error_says_nothing() {
        let unavailable = ApiError::from(ServiceError::Unavailable("pool timed out".into())).error_response();
        assert_eq!(unavailable.headers().get(header::RETRY_AFTER).unwrap(), "5");
        let not_ready = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", "Not ready", "down");
        assert_eq!(not_ready.error_response().headers().get(header::RETRY_AFTER).unwrap(), "5");
        let internal = ApiError::from(ServiceError::Internal("permission denied for table users".into()));
        assert!(internal.error_response().headers().get(header::RETRY_AFTER).is_none());
        assert!(!internal.problem().detail.contains("users"), "{:?}", internal.problem());
    }

    #[test]
    fn a_429_says_when_to_try_again_and_a_used_up_quota_when_it_resets() {
        let limited = ApiError::rate_limited(7).error_response();
        assert_eq!(limited.status().as_u16(), 429);
        assert_eq!(limited.headers().get(header::RETRY_AFTER).unwrap(), "7");
        let resets_at = chrono::Utc::now() + chrono::Duration::hours(2);
        let quota = ApiError::from(ServiceError::SendQuotaExceeded {
            period: domain::QuotaPeriod::Day,
            limit: 10,
            resets_at,
        });
        let problem = quota.problem();
        assert_eq!((problem.status, problem.code), (429, "send_quota_exceeded"));
        assert_eq!(problem.resets_at, Some(resets_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)));
        let retry_after: i64 = quota
            .error_response()
            .headers()
            .get(header::RETRY_AFTER)
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((7_100..=7_200).contains(&retry_after), "{retry_after}");
    }
}
