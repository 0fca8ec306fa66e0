//! Gauges read at scrape time: the connection pool and the send queue. They are encoded from a
//! registry built for the one scrape, so a value that could not be read is left out rather than
//! exported stale.

use std::sync::atomic::AtomicU64;

use adapters_postgres::{BatchStats, PoolStatus, WebhookBatchStats};
use chrono::{DateTime, Utc};
use ports::{SendQueueDepth, SpoolStats, WebhookQueueDepth};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::labels::{Label, LabelValues, PoolState, QueueState, WebhookQueueState};

/// What the store looked like when a scrape asked.
#[derive(Clone, Copy, Debug)]
pub struct StoreSnapshot {
    /// The connection pool.
    pub pool: PoolStatus,
    /// The send queue; `None` when it could not be counted in time (its series are left out).
    pub send_queue: Option<SendQueueDepth>,
    /// The webhook spool; `None` when it could not be read (its series are left out).
    pub spool: Option<SpoolStats>,
    /// The outbound webhook deliveries; `None` when they could not be counted in time.
    pub webhook_queue: Option<WebhookQueueDepth>,
    /// Group commit of the webhook's statements, since the start.
    pub batches: WebhookBatchStats,
    /// When it was read.
    pub at: DateTime<Utc>,
}

/// A count as a gauge's value (counts beyond `i64::MAX` do not happen; they would saturate).
fn value(count: impl TryInto<i64>) -> i64 {
    count.try_into().unwrap_or(i64::MAX)
}

fn gauge(count: impl TryInto<i64>) -> Gauge {
    let gauge = Gauge::default();
    gauge.set(value(count));
    gauge
}

fn by_state<T: LabelValues>(counts: [(T, i64); 2]) -> Family<Label<T>, Gauge> {
    let family = Family::<Label<T>, Gauge>::default();
    for (state, count) in counts {
        family.get_or_create(&Label(state)).set(count);
    }
    family
}

/// One counter per webhook statement (`statement` label), read from `field` of its stats.
fn per_statement(
    stats: &WebhookBatchStats,
    field: fn(&BatchStats) -> u64,
) -> Family<Vec<(&'static str, &'static str)>, Counter> {
    let family = Family::<Vec<(&'static str, &'static str)>, Counter>::default();
    for (statement, of) in
        [("inbound", &stats.inbound), ("close", &stats.closes), ("propose_closure", &stats.proposals)]
    {
        family.get_or_create(&vec![("statement", statement)]).inc_by(field(of));
    }
    family
}

impl StoreSnapshot {
    /// A registry holding this snapshot's gauges, named under `prefix`.
    #[must_use]
    pub fn registry(&self, prefix: &str) -> Registry {
        let mut registry = Registry::with_prefix(prefix);
        let pool = self.pool;
        registry.register(
            "db_pool_connections",
            "Open database connections: held by a caller (in_use) or not (idle)",
            by_state([(PoolState::InUse, value(pool.in_use())), (PoolState::Idle, value(pool.idle))]),
        );
        registry.register(
            "db_pool_max_connections",
            "Most connections the pool may open",
            gauge(pool.max_size),
        );
        registry.register(
            "db_pool_waiting",
            "Callers waiting for a database connection",
            gauge(pool.waiting),
        );
        registry.register(
            "db_batches",
            "Batches of the webhook's statements run as one statement (group commit), by statement",
            per_statement(&self.batches, |b| b.batches),
        );
        registry.register(
            "db_batched_statements",
            "Webhook statements run inside those batches",
            per_statement(&self.batches, |b| b.batched),
        );
        registry.register(
            "db_single_statements",
            "Webhook statements run alone (nothing else was queued)",
            per_statement(&self.batches, |b| b.single),
        );
        registry.register(
            "db_batch_fallbacks",
            "Batches that failed and were run again one statement at a time",
            per_statement(&self.batches, |b| b.fallbacks),
        );
        if let Some(queue) = self.send_queue {
            registry.register(
                "send_queue_jobs",
                "Send jobs of every tenant: due now (waiting for a worker) or deferred (leased or retrying)",
                by_state([
                    (QueueState::Due, value(queue.due)),
                    (QueueState::Deferred, value(queue.deferred)),
                ]),
            );
            let waited = queue.oldest_due_at.map_or(0.0, |due| (self.at - due).as_seconds_f64().max(0.0));
            let oldest = Gauge::<f64, AtomicU64>::default();
            oldest.set(waited);
            registry.register_with_unit(
                "send_queue_oldest_due_age",
                "How long the longest-waiting due send job has waited for a worker (0 when none is due)",
                Unit::Seconds,
                oldest,
            );
        }
        if let Some(queue) = self.webhook_queue {
            registry.register(
                "webhook_deliveries_waiting",
                "Webhook deliveries of every tenant waiting for an attempt: due now, or scheduled for a retry",
                by_state([
                    (WebhookQueueState::Due, value(queue.due)),
                    (WebhookQueueState::Scheduled, value(queue.scheduled)),
                ]),
            );
            let waited = queue.oldest_due_at.map_or(0.0, |due| (self.at - due).as_seconds_f64().max(0.0));
            let oldest = Gauge::<f64, AtomicU64>::default();
            oldest.set(waited);
            registry.register_with_unit(
                "webhook_deliveries_oldest_due_age",
                "How long the longest-waiting due webhook delivery has waited (0 when none is due)",
                Unit::Seconds,
                oldest,
            );
            registry.register(
                "webhook_endpoints_disabled",
                "Webhook endpoints of every tenant that are disabled (by the service or their tenant)",
                gauge(queue.disabled_endpoints),
            );
        }
        if let Some(spool) = self.spool {
            registry.register(
                "spool_webhooks",
                "Webhooks in the local spool waiting for the database (accepted while it was unavailable)",
                gauge(spool.depth),
            );
            registry.register_with_unit(
                "spool",
                "Bytes the waiting spooled webhooks take (the bound is CONVERSA_SPOOL_MAX_BYTES)",
                Unit::Bytes,
                gauge(spool.bytes),
            );
            let waited = spool.oldest_received_at.map_or(0.0, |at| (self.at - at).as_seconds_f64().max(0.0));
            let oldest = Gauge::<f64, AtomicU64>::default();
            oldest.set(waited);
            registry.register_with_unit(
                "spool_oldest_age",
                "How long the oldest spooled webhook has waited for the database (0 when none)",
                Unit::Seconds,
                oldest,
            );
            registry.register(
                "spool_dead_letters",
                "Spooled webhooks set aside because they can never be stored",
                gauge(spool.buried),
            );
        }
        registry
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use prometheus_client::encoding::text::encode_registry;

    use super::*;

    fn encode(snapshot: &StoreSnapshot) -> String {
        let mut text = String::new();
        encode_registry(&mut text, &snapshot.registry("conversa")).unwrap();
        text
    }

    const POOL: PoolStatus = PoolStatus { max_size: 16, open: 5, idle: 2, waiting: 1 };

    #[test]
    fn pool_and_queue_gauges_read_from_the_snapshot() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 30).unwrap();
        let depth =
            SendQueueDepth { due: 3, deferred: 4, oldest_due_at: Some(at - chrono::Duration::seconds(30)) };
        let webhooks = ports::WebhookQueueDepth {
            due: 2,
            scheduled: 5,
            oldest_due_at: Some(at - chrono::Duration::seconds(12)),
            disabled_endpoints: 1,
        };
        let text = encode(&StoreSnapshot {
            pool: POOL,
            send_queue: Some(depth),
            spool: None,
            webhook_queue: Some(webhooks),
            batches: WebhookBatchStats::default(),
            at,
        });
        for line in [
            "conversa_db_pool_connections{state=\"in_use\"} 3\n",
            "conversa_db_pool_connections{state=\"idle\"} 2\n",
            "conversa_db_pool_max_connections 16\n",
            "conversa_db_pool_waiting 1\n",
            "conversa_send_queue_jobs{state=\"due\"} 3\n",
            "conversa_send_queue_jobs{state=\"deferred\"} 4\n",
            "conversa_send_queue_oldest_due_age_seconds 30.0\n",
            "conversa_webhook_deliveries_waiting{state=\"due\"} 2\n",
            "conversa_webhook_deliveries_waiting{state=\"scheduled\"} 5\n",
            "conversa_webhook_deliveries_oldest_due_age_seconds 12.0\n",
            "conversa_webhook_endpoints_disabled 1\n",
        ] {
            assert!(text.contains(line), "no `{}` in:\n{text}", line.trim_end());
        }
    }

    #[test]
    fn a_queue_that_could_not_be_counted_is_left_out() {
        let text = encode(&StoreSnapshot {
            pool: POOL,
            send_queue: None,
            spool: None,
            webhook_queue: None,
            batches: WebhookBatchStats::default(),
            at: Utc::now(),
        });
        assert!(text.contains("conversa_db_pool_waiting 1\n"), "{text}");
        assert!(!text.contains("send_queue"), "{text}");
    }

    #[test]
    fn group_commit_counters_are_labelled_by_statement() {
        let batches = WebhookBatchStats {
            inbound: BatchStats { batches: 7, batched: 90, single: 3, fallbacks: 1 },
            closes: BatchStats { batches: 2, batched: 5, single: 4, fallbacks: 0 },
            proposals: BatchStats::default(),
        };
        let text = encode(&StoreSnapshot {
            pool: POOL,
            send_queue: None,
            spool: None,
            webhook_queue: None,
            batches,
            at: Utc::now(),
        });
        for line in [
            "conversa_db_batches_total{statement=\"inbound\"} 7\n",
            "conversa_db_batched_statements_total{statement=\"inbound\"} 90\n",
            "conversa_db_single_statements_total{statement=\"close\"} 4\n",
            "conversa_db_batch_fallbacks_total{statement=\"inbound\"} 1\n",
            "conversa_db_batches_total{statement=\"propose_closure\"} 0\n",
        ] {
            assert!(text.contains(line), "no `{}` in:\n{text}", line.trim_end());
        }
    }
}
