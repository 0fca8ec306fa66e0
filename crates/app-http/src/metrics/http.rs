//! Request latency by method, route and status, recorded by a middleware around every request.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::state::AppState;

/// The `route` of requests no route matched (the 404 answer), so probes of random paths add
/// no series.
pub const UNMATCHED: &str = "unmatched";

/// Upper bounds in seconds, from a cached read (half a millisecond) to a request near the
/// database's statement timeout.
const BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The methods the API answers; any other is exported as `other`.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

/// The labels of one request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// The method, or `other`.
    pub method: &'static str,
    /// The route's pattern (`/api/v1/conversations/{id}`), never the path: ids stay out.
    pub route: String,
    /// The status answered.
    pub status: u16,
}

impl RequestLabels {
    /// The labels of a request to `route` (its pattern, `None` when unmatched) answered `status`.
    #[must_use]
    pub fn new(method: &Method, route: Option<String>, status: StatusCode) -> Self {
        Self {
            method: METHODS.into_iter().find(|known| *known == method.as_str()).unwrap_or("other"),
            route: route.unwrap_or_else(|| UNMATCHED.to_owned()),
            status: status.as_u16(),
        }
    }
}

type Durations = Family<RequestLabels, Histogram, fn() -> Histogram>;

/// The request-duration histograms.
#[derive(Clone, Debug)]
pub struct RequestDurations(Durations);

impl RequestDurations {
    /// Registers `http_request_duration_seconds` (its `_count` series counts the requests).
    pub fn register(registry: &mut Registry) -> Self {
        let family: Durations = Family::new_with_constructor(|| Histogram::new(BUCKETS));
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request, by method, route pattern and status; `_count` counts requests",
            Unit::Seconds,
            family.clone(),
        );
        Self(family)
    }

    /// Records one request.
    pub fn observe(&self, labels: &RequestLabels, elapsed: Duration) {
        self.0.get_or_create(labels).observe(elapsed.as_secs_f64());
    }
}

/// Middleware: times every request and records it under its route pattern and status.
pub async fn record_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let method = req.method().clone();
    // The pattern is found from the path alone, so it is known even if an inner layer fails.
    let route = req.match_pattern();
    let started = Instant::now();
    let result = next.call(req).await;
    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    state.metrics.observe_request(&RequestLabels::new(&method, route, status), started.elapsed());
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_bounded() {
        let labels = RequestLabels::new(&Method::from_bytes(b"BREW").unwrap(), None, StatusCode::NOT_FOUND);
        assert_eq!((labels.method, labels.route.as_str(), labels.status), ("other", UNMATCHED, 404));
        let known =
            RequestLabels::new(&Method::GET, Some("/api/v1/messages/{id}".to_owned()), StatusCode::OK);
        assert_eq!((known.method, known.route.as_str(), known.status), ("GET", "/api/v1/messages/{id}", 200));
    }
}
