//! The checks a value passes after it parsed: each failure names the environment variable.

use std::time::Duration;

use super::{Config, ConfigError};

impl Config {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| Err(ConfigError::Invalid { key, reason: reason.to_owned() });
        let (http, database, twilio, workers, webhooks) =
            (&self.http, &self.database, &self.twilio, &self.workers, &self.webhooks);
        // A dispatcher sends its claimed batch one job after another under one lease: if the
        // lease could end first, another replica would claim the batch's tail and send it twice.
        let slowest_batch = twilio.request_timeout.saturating_mul(workers.dispatch_batch_size);
        if Duration::from_secs(u64::from(workers.send_lease_seconds)) <= slowest_batch {
            return invalid(
                "CONVERSA_SEND_LEASE_SECONDS",
                "must outlast a whole batch: more than CONVERSA_DISPATCH_BATCH_SIZE × CONVERSA_TWILIO_REQUEST_TIMEOUT_MS",
            );
        }
        if !(http.public_base_url.starts_with("http://") || http.public_base_url.starts_with("https://"))
            || http.public_base_url.ends_with('/')
        {
            return invalid(
                "CONVERSA_PUBLIC_BASE_URL",
                "must be an absolute http(s) URL without a trailing slash",
            );
        }
        if url::Url::parse(database.url.expose()).is_err() {
            return invalid("DATABASE_URL", "must be a postgres:// URL");
        }
        if database.app_url.as_ref().is_some_and(|url| url::Url::parse(url.expose()).is_err()) {
            return invalid("CONVERSA_APP_DATABASE_URL", "must be a postgres:// URL");
        }
        if webhooks.deadline.is_zero() || webhooks.deadline > Duration::from_millis(14_000) {
            return invalid(
                "CONVERSA_WEBHOOK_DEADLINE_MS",
                "must be between 1 and 14000: Twilio gives up on a webhook after 15 s",
            );
        }
        if webhooks.spool_dir.to_string_lossy().trim().is_empty() {
            return invalid("CONVERSA_SPOOL_DIR", "must name a directory");
        }
        if webhooks.spool_max_bytes < 1024 * 1024 {
            return invalid("CONVERSA_SPOOL_MAX_BYTES", "must be at least 1 MiB");
        }
        let limits = &self.limits;
        let rates = [
            ("CONVERSA_RATE_LIMIT_PER_MINUTE", limits.tenant_per_minute),
            ("CONVERSA_RATE_LIMIT_BURST", limits.tenant_burst),
            ("CONVERSA_KEY_RATE_LIMIT_PER_MINUTE", limits.key_per_minute),
            ("CONVERSA_KEY_RATE_LIMIT_BURST", limits.key_burst),
        ];
        if let Some((key, _)) =
            rates.iter().find(|(_, value)| !(1..=domain::limits::MAX_RATE).contains(value))
        {
            return invalid(key, "must be between 1 and 1000000");
        }
        if limits.instances == 0 {
            return invalid("CONVERSA_RATE_LIMIT_INSTANCES", "must be at least 1");
        }
        let outbound = &self.outbound_webhooks;
        if outbound.timeout.is_zero() || outbound.timeout > Duration::from_secs(60) {
            return invalid("CONVERSA_WEBHOOKS_TIMEOUT_MS", "must be between 1 and 60000");
        }
        if outbound.retry_base_delay_ms == 0 || outbound.retry_max_delay_ms < outbound.retry_base_delay_ms {
            return invalid(
                "CONVERSA_WEBHOOKS_RETRY_MAX_DELAY_MS",
                "must be at least CONVERSA_WEBHOOKS_RETRY_BASE_DELAY_MS, which must be at least 1",
            );
        }
        if outbound.disable_after_failures == 0 {
            return invalid("CONVERSA_WEBHOOKS_DISABLE_AFTER_FAILURES", "must be at least 1");
        }
        if outbound.concurrency == 0 || outbound.concurrency > 256 {
            return invalid("CONVERSA_WEBHOOKS_CONCURRENCY", "must be between 1 and 256");
        }
        if outbound.per_endpoint_concurrency == 0 || outbound.per_endpoint_concurrency > 16 {
            return invalid("CONVERSA_WEBHOOKS_PER_ENDPOINT_CONCURRENCY", "must be between 1 and 16");
        }
        if outbound.poll_interval.is_zero() {
            return invalid("CONVERSA_WEBHOOKS_POLL_INTERVAL_MS", "must be at least 1");
        }
        if database.pool_size == 0 {
            return invalid("CONVERSA_DB_POOL_SIZE", "must be at least 1");
        }
        if database.worker_pool_size == 0 {
            return invalid("CONVERSA_DB_WORKER_POOL_SIZE", "must be at least 1");
        }
        if database.connect_timeout.is_zero() {
            return invalid("CONVERSA_DB_CONNECT_TIMEOUT_MS", "must be at least 1");
        }
        if database.keepalive_idle.is_zero() {
            return invalid("CONVERSA_DB_KEEPALIVE_IDLE_SECONDS", "must be at least 1");
        }
        if database.inbound_batch_max == 0 || database.inbound_batch_max > 256 {
            return invalid("CONVERSA_DB_INBOUND_BATCH_MAX", "must be between 1 and 256");
        }
        if database.inbound_flushers == 0 || database.inbound_flushers > database.pool_size {
            return invalid("CONVERSA_DB_INBOUND_FLUSHERS", "must be between 1 and CONVERSA_DB_POOL_SIZE");
        }
        if workers.send_max_attempts == 0 {
            return invalid("CONVERSA_SEND_MAX_ATTEMPTS", "must be at least 1");
        }
        if workers.send_base_delay_ms == 0 || workers.send_max_delay_ms < workers.send_base_delay_ms {
            return invalid(
                "CONVERSA_SEND_MAX_DELAY_MS",
                "must be at least CONVERSA_SEND_BASE_DELAY_MS (> 0)",
            );
        }
        if url::Url::parse(&twilio.api_base_url).is_err() {
            return invalid("CONVERSA_TWILIO_API_BASE_URL", "must be an absolute URL");
        }
        if self.events.retention_days == 0 {
            return invalid("CONVERSA_EVENTS_RETENTION_DAYS", "must be at least 1");
        }
        if self.events.poll_interval < Duration::from_millis(10)
            || self.events.poll_interval > Duration::from_secs(1)
        {
            return invalid(
                "CONVERSA_EVENTS_POLL_INTERVAL_MS",
                "must be between 10 and 1000: an event reaches every stream within it",
            );
        }
        if http.body_limit_bytes < 1024 {
            return invalid("CONVERSA_BODY_LIMIT_BYTES", "must be at least 1024");
        }
        Ok(())
    }
}
