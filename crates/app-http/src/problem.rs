//! Errors as RFC 9457 `application/problem+json`, mapped from the use cases' errors in one
//! place. Unexpected failures are logged in full and answered blandly.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use services::ServiceError;

/// The body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({
    "type": "https://conversa.dev/problems/invalid_input",
    "title": "Invalid input",
    "status": 422,
    "detail": "invalid `customer_phone`: phone number must be in E.164 form, starting with '+' (got `5511`)",
    "code": "invalid_input",
    "field": "customer_phone"
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
    /// A stable machine-readable code.
    pub code: &'static str,
    /// The input field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answered as problem+json.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    detail: String,
    field: Option<String>,
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
        Self { status, code, title, detail: detail.into(), field: None }
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

    /// The body answered.
    #[must_use]
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("https://conversa.dev/problems/{}", self.code),
            title: self.title,
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code,
            field: self.field.clone(),
        }
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
            ServiceError::NotFound => Self::not_found(),
            ServiceError::Conflict(_) => Self::new(StatusCode::CONFLICT, code, "Conflict", error.to_string()),
            ServiceError::ConversationClosed(_) => {
                Self::new(StatusCode::CONFLICT, code, "Conversation closed", error.to_string())
            }
            ServiceError::Rejected(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, "Request refused", error.to_string())
            }
            ServiceError::Unavailable(ref why) => {
                tracing::warn!(error = %why, "dependency unavailable");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, code, "Service unavailable", "try again shortly")
            }
            ServiceError::Internal(ref why) => {
                tracing::error!(error = %why, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code,
                    "Internal error",
                    "something went wrong on our side",
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
        HttpResponse::build(self.status)
            .insert_header((header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json")))
            .json(self.problem())
    }
}
