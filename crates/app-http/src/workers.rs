//! Background work of the binary: the lifecycle sweeper and the outbound dispatcher, each a
//! loop on a tokio task until shutdown. Both claim their rows through the database
//! (`SKIP LOCKED`), so every replica of the service can run them at once. Each round's report
//! is added to the metrics.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use services::{EventRetention, LifecycleSweeper, OutboundDispatcher, ServiceError, TwilioWebhookService};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::metrics::{Metrics, Worker};

mod deliveries;

pub use deliveries::DeliveryLoop;

/// Spooled webhooks replayed per drain round (one after another, in arrival order).
const SPOOL_DRAIN_BATCH: usize = 100;

/// Pause between rounds of the event retention while nothing is due: events are kept for days,
/// so a minute late is nothing.
const EVENT_RETENTION_EVERY: Duration = Duration::from_secs(60);

/// Tells the workers to stop, and waits for them.
#[derive(Debug)]
pub struct Workers {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts the sweeper, the dispatcher and the event retention, recording their rounds into
    /// `metrics`.
    #[must_use]
    pub fn start(
        sweeper: LifecycleSweeper,
        sweep_every: Duration,
        dispatcher: OutboundDispatcher,
        dispatch_every: Duration,
        retention: EventRetention,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        // The use cases log their own reports; the loops count them and decide when to run again.
        let sweep = spawn_loop("sweeper", sweep_every, stopped.clone(), {
            let metrics = Arc::clone(&metrics);
            move || {
                let (sweeper, metrics) = (sweeper.clone(), Arc::clone(&metrics));
                async move {
                    let report = sweeper.run_once().await.inspect_err(|_| {
                        metrics.record_worker_failure(Worker::Sweeper);
                    })?;
                    metrics.record_sweep(&report);
                    Ok(report.expired + report.idle > 0)
                }
            }
        });
        let prune = spawn_loop("event_retention", EVENT_RETENTION_EVERY, stopped.clone(), {
            let metrics = Arc::clone(&metrics);
            move || {
                let (retention, metrics) = (retention.clone(), Arc::clone(&metrics));
                async move {
                    let pruned = retention.run_once().await.inspect_err(|_| {
                        metrics.record_worker_failure(Worker::EventRetention);
                    })?;
                    Ok(pruned as usize == retention.batch_size)
                }
            }
        });
        let dispatch = spawn_loop("dispatcher", dispatch_every, stopped, move || {
            let (dispatcher, metrics) = (dispatcher.clone(), Arc::clone(&metrics));
            async move {
                let report = dispatcher.run_once().await.inspect_err(|_| {
                    metrics.record_worker_failure(Worker::Dispatcher);
                })?;
                metrics.record_dispatch(&report);
                // Store errors and lost leases alone do not count as work: they would spin the loop.
                Ok(report.sent + report.retried + report.failed + report.already_accepted > 0)
            }
        });
        Self { stop, handles: vec![sweep, dispatch, prune] }
    }

    /// Starts the drainer of the webhook spool: every `every` while the spool holds webhooks,
    /// right away again while the database takes them. Every instance runs it, workers enabled
    /// or not: the spool is the instance's own.
    #[must_use]
    pub fn spool_drainer(webhooks: TwilioWebhookService, every: Duration, metrics: Arc<Metrics>) -> Self {
        let (stop, stopped) = watch::channel(false);
        let drain = spawn_loop("spool_drainer", every, stopped, move || {
            let (webhooks, metrics) = (webhooks.clone(), Arc::clone(&metrics));
            async move {
                let report = webhooks.drain_spool(SPOOL_DRAIN_BATCH).await.inspect_err(|_| {
                    metrics.record_worker_failure(Worker::SpoolDrainer);
                })?;
                metrics.record_drain(&report);
                Ok(!report.stalled && report.replayed + report.buried > 0)
            }
        });
        Self { stop, handles: vec![drain] }
    }

    /// Starts the delivery of events to tenants' webhook endpoints (every instance with
    /// workers enabled; they share the work through the database).
    #[must_use]
    pub fn webhook_deliveries(
        worker: services::WebhookDeliveryWorker,
        settings: DeliveryLoop,
        metrics: Arc<Metrics>,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let handle = tokio::spawn(deliveries::run(worker, settings, stopped, metrics));
        Self { stop, handles: vec![handle] }
    }

    /// These workers and `other`'s, stopped together.
    #[must_use]
    pub fn with(mut self, other: Self) -> Self {
        let other_stop = other.stop;
        let mut stopped = self.stop.subscribe();
        // One signal stops both: `other`'s sender follows this one's.
        self.handles.push(tokio::spawn(async move {
            let _ = stopped.changed().await;
            let _ = other_stop.send(true);
        }));
        self.handles.extend(other.handles);
        self
    }

    /// Signals the workers and waits until each finished its current round.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// Runs `round` every `every`; right away again when it did work (a backlog drains fast), and
/// after a pause when it failed, until `stopped` flips.
fn spawn_loop<F, Fut>(
    name: &'static str,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
    round: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<bool, ServiceError>> + Send,
{
    tokio::spawn(async move {
        tracing::info!(worker = name, every_ms = every.as_millis(), "worker started");
        loop {
            let pause = match round().await {
                Ok(true) => Duration::ZERO,
                Ok(false) => every,
                Err(error) => {
                    tracing::warn!(worker = name, %error, "worker round failed");
                    every
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => break,
            }
            if *stopped.borrow() {
                break;
            }
        }
        tracing::info!(worker = name, "worker stopped");
    })
}
