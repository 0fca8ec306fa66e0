//! The delivery loop: keeps up to `concurrency` attempts in flight, each its own task, and
//! claims more as slots free up. A slow or dead endpoint holds at most its per-endpoint share
//! of the slots (the claim never leases more of one endpoint's deliveries), each attempt ends
//! at the client's timeout, and the loop never waits for an attempt to claim the next ones, so
//! other tenants' deliveries keep going.

use std::sync::Arc;
use std::time::Duration;

use services::WebhookDeliveryWorker;
use tokio::sync::{Notify, watch};
use tokio::task::{JoinHandle, JoinSet};

use crate::metrics::{Metrics, Worker};

/// How the loop runs.
#[derive(Debug)]
pub struct DeliveryLoop {
    /// Attempts in flight at once on this instance.
    pub concurrency: usize,
    /// Pause between looks at the outbox and the queue while nothing is due (the net under
    /// `wake`).
    pub poll_interval: Duration,
    /// Woken when deliveries become due through any instance (LISTEN/NOTIFY).
    pub wake: Arc<Notify>,
    /// The task listening for those notifications, ended with the loop.
    pub listener: Option<JoinHandle<()>>,
}

/// Runs until `stopped` flips, then waits for the attempts in flight.
pub(super) async fn run(
    worker: WebhookDeliveryWorker,
    settings: DeliveryLoop,
    mut stopped: watch::Receiver<bool>,
    metrics: Arc<Metrics>,
) {
    tracing::info!(
        worker = "webhook_delivery",
        concurrency = settings.concurrency,
        every_ms = settings.poll_interval.as_millis(),
        "worker started"
    );
    let mut in_flight = JoinSet::new();
    loop {
        let mut busy = false;
        match worker.fan_out().await {
            Ok(created) => busy |= created > 0,
            Err(error) => {
                metrics.record_worker_failure(Worker::WebhookDelivery);
                tracing::warn!(%error, "webhook fan-out failed");
            }
        }
        match worker.claim(settings.concurrency.saturating_sub(in_flight.len())).await {
            Ok(claims) => {
                busy |= !claims.is_empty();
                for claim in claims {
                    let (worker, metrics) = (worker.clone(), Arc::clone(&metrics));
                    in_flight.spawn(async move {
                        let report = worker.deliver(&claim).await;
                        if let Err(error) = &report {
                            tracing::warn!(%error, delivery_id = %claim.delivery_id, "webhook attempt not recorded");
                        }
                        metrics.record_webhook_attempt(report.as_ref().ok());
                    });
                }
            }
            Err(error) => {
                metrics.record_worker_failure(Worker::WebhookDelivery);
                tracing::warn!(%error, "webhook claim failed");
            }
        }
        // Did work: look again at once (a backlog drains fast). Otherwise wait for the poll
        // interval, or for an attempt to end (a slot freed, a retry may be due soon).
        let pause = if busy && in_flight.len() < settings.concurrency {
            Duration::ZERO
        } else {
            settings.poll_interval
        };
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
            () = settings.wake.notified() => {}
            _ = stopped.changed() => break,
        }
        if *stopped.borrow() {
            break;
        }
    }
    if let Some(listener) = &settings.listener {
        listener.abort();
    }
    // Attempts in flight end within the client's timeout; their outcomes are recorded.
    while in_flight.join_next().await.is_some() {}
    tracing::info!(worker = "webhook_delivery", "worker stopped");
}
