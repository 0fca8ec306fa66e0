//! The service's metrics, exported at `GET /metrics` in the OpenMetrics text format (see
//! `docs/METRICS.md`). Metrics are an edge concern: the handlers, the middleware and the worker
//! loops record what the use cases report, so `services` and `domain` know nothing of them.
//!
//! Recording is an atomic add on a series found in a hash map; every label takes values from a
//! closed set (route patterns, not paths), so the number of series stays bounded.

mod http;
mod labels;
mod snapshot;

use std::time::Duration;

use ports::DeliveryUpdate;
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use services::{DispatchReport, DrainReport, InboundOutcome, Receipt, SweepReport};

use crate::problem::ApiError;

pub use http::{RequestLabels, UNMATCHED, record_request};
pub use labels::{
    ClosureDetection, InboundWebhook, PendingClosureOutcome, SendOutcome, SpoolReplay, StatusCallback,
    SweepReason, WebhookAttemptOutcome, Worker,
};
pub use snapshot::StoreSnapshot;

use http::RequestDurations;
use labels::LabeledCounter;

/// Every metric name starts with this.
pub const PREFIX: &str = "conversa";

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The registry and the series the service records into. One per process, shared by the HTTP
/// workers and the background workers.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: RequestDurations,
    inbound_webhooks: LabeledCounter<InboundWebhook>,
    status_callbacks: LabeledCounter<StatusCallback>,
    closure_detections: LabeledCounter<ClosureDetection>,
    sends: LabeledCounter<SendOutcome>,
    sweeper_closures: LabeledCounter<SweepReason>,
    pending_closures: LabeledCounter<PendingClosureOutcome>,
    worker_failures: LabeledCounter<Worker>,
    spool_replays: LabeledCounter<SpoolReplay>,
    webhook_attempts: LabeledCounter<WebhookAttemptOutcome>,
    webhook_endpoints_disabled: Counter,
    event_streams: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every series, the counters at 0.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let requests = RequestDurations::register(&mut registry);
        let inbound_webhooks = LabeledCounter::register(
            &mut registry,
            "inbound_webhooks",
            "Inbound-message webhooks by outcome: stored, duplicate, spooled, rejected (4xx), failed (5xx)",
        );
        let status_callbacks = LabeledCounter::register(
            &mut registry,
            "status_callbacks",
            "Delivery-status callbacks by outcome: advanced, unchanged, unknown_sid, spooled, rejected (4xx), failed (5xx)",
        );
        let closure_detections = LabeledCounter::register(
            &mut registry,
            "closure_detections",
            "Closure detection runs on stored inbound messages, by result: closed, pending or kept_open",
        );
        let sends = LabeledCounter::register(
            &mut registry,
            "sends",
            "Send jobs the dispatcher handled, by outcome: sent, retried, failed, unrecorded",
        );
        let sweeper_closures = LabeledCounter::register(
            &mut registry,
            "sweeper_closures",
            "Conversations the lifecycle sweeper closed, by reason: expired, idle_timeout or user_closed",
        );
        let pending_closures = LabeledCounter::register(
            &mut registry,
            "pending_closures",
            "Due pending closures the sweeper re-assessed, by outcome: confirmed (closed) or dropped",
        );
        let worker_failures = LabeledCounter::register(
            &mut registry,
            "worker_failures",
            "Background worker rounds that failed (the database did not answer, mostly), by worker",
        );
        let spool_replays = LabeledCounter::register(
            &mut registry,
            "spool_replays",
            "Spooled webhooks the drainer handled, by outcome: replayed (stored) or failed (buried as dead letters)",
        );
        let webhook_attempts = LabeledCounter::register(
            &mut registry,
            "webhook_attempts",
            "Attempts to deliver events to tenants' webhook endpoints, by outcome: success, http_error, transport_error, lease_lost, unrecorded",
        );
        let webhook_endpoints_disabled = Counter::default();
        registry.register(
            "webhook_endpoints_disabled_by_failures",
            "Webhook endpoints this instance disabled (retry schedule over, or too many failures in a row)",
            webhook_endpoints_disabled.clone(),
        );
        let event_streams = Gauge::default();
        registry.register(
            "event_streams",
            "Event streams (GET /api/v1/events) open on this instance",
            event_streams.clone(),
        );
        Self {
            registry,
            requests,
            inbound_webhooks,
            status_callbacks,
            closure_detections,
            sends,
            sweeper_closures,
            pending_closures,
            worker_failures,
            spool_replays,
            webhook_attempts,
            webhook_endpoints_disabled,
            event_streams,
        }
    }

    /// An event stream opened.
    pub fn event_streams_opened(&self) {
        self.event_streams.inc();
    }

    /// An event stream closed (its client went away).
    pub fn event_streams_closed(&self) {
        self.event_streams.dec();
    }

    /// Records one HTTP request.
    pub fn observe_request(&self, labels: &RequestLabels, elapsed: Duration) {
        self.requests.observe(labels, elapsed);
    }

    /// Records an inbound-message webhook: its outcome, and closure detection's result when it
    /// ran.
    pub fn record_inbound(&self, result: Result<&Receipt<InboundOutcome>, &ApiError>) {
        let outcome = match result {
            Ok(Receipt::Stored(outcome)) if outcome.duplicate => InboundWebhook::Duplicate,
            Ok(Receipt::Stored(_)) => InboundWebhook::Stored,
            Ok(Receipt::Spooled) => InboundWebhook::Spooled,
            Err(error) if error.status().is_client_error() => InboundWebhook::Rejected,
            Err(_) => InboundWebhook::Failed,
        };
        self.inbound_webhooks.inc(outcome);
        if let Ok(Receipt::Stored(outcome)) = result
            && outcome.closure.is_some()
        {
            let result = if outcome.closed {
                ClosureDetection::Closed
            } else if outcome.closure_pending {
                ClosureDetection::Pending
            } else {
                ClosureDetection::KeptOpen
            };
            self.closure_detections.inc(result);
        }
    }

    /// Records a delivery-status callback.
    pub fn record_status_callback(&self, result: Result<&Receipt<DeliveryUpdate>, &ApiError>) {
        self.status_callbacks.inc(match result {
            Ok(Receipt::Stored(DeliveryUpdate::Advanced(_))) => StatusCallback::Advanced,
            Ok(Receipt::Stored(DeliveryUpdate::Unchanged(_))) => StatusCallback::Unchanged,
            Ok(Receipt::Stored(DeliveryUpdate::UnknownSid)) => StatusCallback::UnknownSid,
            Ok(Receipt::Spooled) => StatusCallback::Spooled,
            Err(error) if error.status().is_client_error() => StatusCallback::Rejected,
            Err(_) => StatusCallback::Failed,
        });
    }

    /// Records one drain of the webhook spool.
    pub fn record_drain(&self, report: &DrainReport) {
        self.spool_replays.add(SpoolReplay::Replayed, report.replayed);
        self.spool_replays.add(SpoolReplay::Failed, report.buried);
    }

    /// Records one dispatch round.
    pub fn record_dispatch(&self, report: &DispatchReport) {
        self.sends.add(SendOutcome::Sent, report.sent);
        self.sends.add(SendOutcome::Retried, report.retried);
        self.sends.add(SendOutcome::Failed, report.failed);
        self.sends.add(SendOutcome::Unrecorded, report.errors);
        self.sends.add(SendOutcome::AlreadyAccepted, report.already_accepted);
        self.sends.add(SendOutcome::LeaseLost, report.lease_lost);
    }

    /// Records one webhook attempt (`None`: it could not be recorded).
    pub fn record_webhook_attempt(&self, report: Option<&services::AttemptReport>) {
        let Some(report) = report else {
            self.webhook_attempts.add(WebhookAttemptOutcome::Unrecorded, 1);
            return;
        };
        let outcome = if report.lease_lost {
            WebhookAttemptOutcome::LeaseLost
        } else {
            match report.outcome {
                domain::AttemptOutcome::Succeeded { .. } => WebhookAttemptOutcome::Success,
                domain::AttemptOutcome::HttpError { .. } => WebhookAttemptOutcome::HttpError,
                domain::AttemptOutcome::TransportError { .. } => WebhookAttemptOutcome::TransportError,
            }
        };
        self.webhook_attempts.add(outcome, 1);
        if report.disabled.is_some() {
            self.webhook_endpoints_disabled.inc();
        }
    }

    /// Records one sweep.
    pub fn record_sweep(&self, report: &SweepReport) {
        self.sweeper_closures.add(SweepReason::Expired, report.expired);
        self.sweeper_closures.add(SweepReason::IdleTimeout, report.idle);
        self.sweeper_closures.add(SweepReason::UserClosed, report.user_closed);
        self.pending_closures.add(PendingClosureOutcome::Confirmed, report.user_closed);
        self.pending_closures.add(PendingClosureOutcome::Dropped, report.kept_open);
    }

    /// Records a worker round that failed.
    pub fn record_worker_failure(&self, worker: Worker) {
        self.worker_failures.inc(worker);
    }

    /// The whole exposition: every recorded series, then `store`'s gauges.
    ///
    /// # Errors
    /// Only if formatting into a `String` fails, which it does not.
    pub fn encode(&self, store: &StoreSnapshot) -> Result<String, std::fmt::Error> {
        let mut text = String::with_capacity(16 * 1024);
        encode_registry(&mut text, &self.registry)?;
        encode_registry(&mut text, &store.registry(PREFIX))?;
        encode_eof(&mut text)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::{Method, StatusCode};
    use adapters_postgres::PoolStatus;
    use chrono::Utc;

    use super::*;

    fn encode(metrics: &Metrics) -> String {
        let pool = PoolStatus { max_size: 4, open: 0, idle: 0, waiting: 0 };
        metrics
            .encode(&StoreSnapshot {
                pool,
                send_queue: None,
                spool: None,
                webhook_queue: None,
                batches: adapters_postgres::WebhookBatchStats::default(),
                at: Utc::now(),
            })
            .unwrap()
    }

    #[track_caller]
    fn assert_lines(text: &str, lines: &[&str]) {
        for line in lines {
            assert!(text.lines().any(|l| l == *line), "no `{line}` in:\n{text}");
        }
    }

    #[test]
    fn worker_reports_add_up_by_outcome_and_reason() {
        let metrics = Metrics::new();
        metrics.record_dispatch(&DispatchReport {
            sent: 3,
            retried: 1,
            failed: 0,
            errors: 2,
            already_accepted: 1,
            lease_lost: 2,
        });
        metrics.record_dispatch(&DispatchReport { sent: 1, ..DispatchReport::default() });
        metrics.record_sweep(&SweepReport { expired: 2, idle: 5, user_closed: 3, kept_open: 1 });
        metrics.record_worker_failure(Worker::Dispatcher);
        assert_lines(
            &encode(&metrics),
            &[
                "conversa_sends_total{outcome=\"sent\"} 4",
                "conversa_sends_total{outcome=\"retried\"} 1",
                "conversa_sends_total{outcome=\"failed\"} 0",
                "conversa_sends_total{outcome=\"unrecorded\"} 2",
                "conversa_sends_total{outcome=\"already_accepted\"} 1",
                "conversa_sends_total{outcome=\"lease_lost\"} 2",
                "conversa_sweeper_closures_total{reason=\"expired\"} 2",
                "conversa_sweeper_closures_total{reason=\"idle_timeout\"} 5",
                "conversa_sweeper_closures_total{reason=\"user_closed\"} 3",
                "conversa_pending_closures_total{outcome=\"confirmed\"} 3",
                "conversa_pending_closures_total{outcome=\"dropped\"} 1",
                "conversa_worker_failures_total{worker=\"dispatcher\"} 1",
                "conversa_worker_failures_total{worker=\"sweeper\"} 0",
            ],
        );
    }

    #[test]
    fn webhook_errors_count_as_rejected_or_failed_by_status() {
        let metrics = Metrics::new();
        let forbidden = ApiError::new(StatusCode::FORBIDDEN, "invalid_signature", "Forbidden", "no");
        let unavailable = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Unavailable", "no");
        metrics.record_inbound(Err(&forbidden));
        metrics.record_inbound(Err(&unavailable));
        metrics.record_status_callback(Err(&forbidden));
        metrics.record_status_callback(Ok(&Receipt::Stored(DeliveryUpdate::UnknownSid)));
        assert_lines(
            &encode(&metrics),
            &[
                "conversa_inbound_webhooks_total{outcome=\"rejected\"} 1",
                "conversa_inbound_webhooks_total{outcome=\"failed\"} 1",
                "conversa_inbound_webhooks_total{outcome=\"stored\"} 0",
                "conversa_status_callbacks_total{outcome=\"rejected\"} 1",
                "conversa_status_callbacks_total{outcome=\"unknown_sid\"} 1",
                "conversa_closure_detections_total{result=\"closed\"} 0",
            ],
        );
    }

    #[test]
    fn requests_are_timed_into_buckets_and_counted() {
        let metrics = Metrics::new();
        let labels = RequestLabels::new(&Method::GET, Some("/health".to_owned()), StatusCode::OK);
        metrics.observe_request(&labels, Duration::from_millis(3));
        metrics.observe_request(&labels, Duration::from_millis(30));
        let text = encode(&metrics);
        assert!(text.starts_with("# HELP conversa_http_request_duration_seconds "), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        let series = "conversa_http_request_duration_seconds";
        let labels = "method=\"GET\",route=\"/health\",status=\"200\"";
        assert_lines(
            &text,
            &[
                &format!("{series}_count{{{labels}}} 2"),
                &format!("{series}_bucket{{le=\"0.0025\",{labels}}} 0"),
                &format!("{series}_bucket{{le=\"0.005\",{labels}}} 1"),
                &format!("{series}_bucket{{le=\"0.05\",{labels}}} 2"),
                &format!("{series}_bucket{{le=\"+Inf\",{labels}}} 2"),
            ],
        );
    }
}
