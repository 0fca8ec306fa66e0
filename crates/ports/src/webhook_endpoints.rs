//! Tenants' webhook endpoints (administration), the queue of their deliveries (the worker's),
//! and the outbound HTTP that carries them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    AttemptOutcome, EventId, NewWebhookEndpoint, OwnerId, PublishedEvent, SecretString, WebhookAttempt,
    WebhookDelivery, WebhookDeliveryId, WebhookEndpoint, WebhookEndpointChanges, WebhookEndpointId,
    WebhookUrl,
};
use uuid::Uuid;

use crate::{Page, PageRequest, StoreError};

/// A tenant's webhook endpoints. Secrets go in encrypted and come out only through
/// [`WebhookDeliveryQueue::claim_deliveries`], which no API response uses.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookEndpointStore: Send + Sync {
    /// Registers an endpoint. It receives the events written after it (none from before).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a value the store cannot keep; [`StoreError::Unavailable`].
    async fn create_webhook_endpoint(
        &self,
        owner_id: OwnerId,
        endpoint: NewWebhookEndpoint,
        at: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError>;

    /// A page of the tenant's endpoints, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn list_webhook_endpoints(
        &self,
        owner_id: OwnerId,
        page: PageRequest,
    ) -> Result<Page<WebhookEndpoint>, StoreError>;

    /// One endpoint of the tenant.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign id.
    async fn get_webhook_endpoint(
        &self,
        owner_id: OwnerId,
        id: WebhookEndpointId,
    ) -> Result<WebhookEndpoint, StoreError>;

    /// Applies `changes`. Enabling clears the disabled reason and the failure count, and the
    /// endpoint then receives events written from then on.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign id.
    async fn update_webhook_endpoint(
        &self,
        owner_id: OwnerId,
        id: WebhookEndpointId,
        changes: WebhookEndpointChanges,
        at: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError>;

    /// Deletes an endpoint with its deliveries.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign id.
    async fn delete_webhook_endpoint(
        &self,
        owner_id: OwnerId,
        id: WebhookEndpointId,
    ) -> Result<(), StoreError>;

    /// Replaces the signing secret by `secret`; the replaced one keeps signing beside it until
    /// `previous_until`.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] for an unknown or foreign id.
    async fn rotate_webhook_secret(
        &self,
        owner_id: OwnerId,
        id: WebhookEndpointId,
        secret: SecretString,
        previous_until: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<WebhookEndpoint, StoreError>;

    /// A page of the endpoint's deliveries, newest first, each with its attempts.
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] when the endpoint is unknown or foreign.
    async fn list_webhook_deliveries(
        &self,
        owner_id: OwnerId,
        endpoint_id: WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<WebhookDelivery>, StoreError>;

    /// Schedules a fresh attempt of a delivery at `at` (whatever its state).
    ///
    /// # Errors
    /// MUST return [`StoreError::NotFound`] when the delivery is not the tenant's endpoint's.
    async fn retry_webhook_delivery(
        &self,
        owner_id: OwnerId,
        endpoint_id: WebhookEndpointId,
        delivery_id: WebhookDeliveryId,
        at: DateTime<Utc>,
    ) -> Result<WebhookDelivery, StoreError>;
}

/// A delivery claimed for one attempt: what to send, and the lease the outcome names.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimedDelivery {
    /// The tenant.
    pub owner_id: OwnerId,
    /// The delivery.
    pub delivery_id: WebhookDeliveryId,
    /// The endpoint.
    pub endpoint_id: WebhookEndpointId,
    /// This claim (new at every claim): an outcome applies only under it.
    pub lease_id: Uuid,
    /// The number of this attempt (1 for the first).
    pub attempt: u32,
    /// Where the retry window started: the delivery's creation, or the tenant's last manual
    /// retry.
    pub schedule_started_at: DateTime<Utc>,
    /// Where to post.
    pub url: WebhookUrl,
    /// The secrets that sign: the current one first, then the one a rotation replaced, while
    /// it still signs.
    pub secrets: Vec<SecretString>,
    /// The event.
    pub event: PublishedEvent,
}

/// What comes of a delivery after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryNext {
    /// It succeeded: done.
    Succeeded,
    /// Try again then.
    RetryAt(DateTime<Utc>),
    /// Its schedule is over: failed, and the endpoint is disabled.
    GiveUp,
}

/// An attempt to record, with what follows from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The attempt, as the tenant will see it.
    pub attempt: WebhookAttempt,
    /// Whether it succeeded.
    pub outcome: AttemptOutcome,
    /// What follows.
    pub next: DeliveryNext,
    /// Disable the endpoint once this many attempts in a row (across events) failed.
    pub disable_after_failures: u32,
}

/// What recording an attempt did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptRecorded {
    /// Recorded; `disabled` carries the reason when the endpoint was disabled by it.
    Recorded {
        /// Why the endpoint was disabled, when this attempt disabled it.
        disabled: Option<String>,
    },
    /// The lease had lapsed (another claim holds the delivery): nothing was written.
    LeaseLost,
}

/// How much waits in the delivery queue, across tenants (for monitoring).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookQueueDepth {
    /// Deliveries due now.
    pub due: u64,
    /// Deliveries waiting for a later retry.
    pub scheduled: u64,
    /// When the oldest due delivery became due.
    pub oldest_due_at: Option<DateTime<Utc>>,
    /// Endpoints disabled by the service (or by their tenant).
    pub disabled_endpoints: u64,
}

/// The deliveries, worker side: fan-out from the outbox, claims across tenants, outcomes.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookDeliveryQueue: Send + Sync {
    /// Creates a delivery (created at `now`) for each event written after each enabled
    /// endpoint's position that
    /// the endpoint wants, and moves the positions past the events read (at most `limit` per
    /// endpoint); how many deliveries were created. Safe to run on every instance at once.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn fan_out_events(&self, now: DateTime<Utc>, limit: usize) -> Result<u64, StoreError>;

    /// Claims up to `limit` due deliveries of enabled endpoints (`FOR UPDATE SKIP LOCKED`),
    /// leased for `lease`, never more than `per_endpoint` leased at once for one endpoint.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`]; [`StoreError::Corrupt`] when a secret cannot be decrypted.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        per_endpoint: usize,
        lease: chrono::Duration,
    ) -> Result<Vec<ClaimedDelivery>, StoreError>;

    /// Records an attempt under its claim: the attempt row, the delivery's state, the
    /// endpoint's failure count, and the endpoint disabled when the schedule is over or
    /// `disable_after_failures` is reached. One transaction.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn record_attempt(
        &self,
        claim: &ClaimedDelivery,
        record: AttemptRecord,
    ) -> Result<AttemptRecorded, StoreError>;

    /// The queue's depth at `now`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    async fn webhook_queue_depth(&self, now: DateTime<Utc>) -> Result<WebhookQueueDepth, StoreError>;
}

/// One signed webhook to post.
#[derive(Clone, Debug, PartialEq)]
pub struct OutgoingWebhook {
    /// Where.
    pub url: WebhookUrl,
    /// `webhook-id`: the event id, the same on every attempt.
    pub webhook_id: EventId,
    /// `webhook-timestamp`.
    pub timestamp: DateTime<Utc>,
    /// The body (the event's envelope).
    pub body: String,
    /// The secrets that sign it, each giving one signature of `webhook-signature`.
    pub secrets: Vec<SecretString>,
}

/// What the endpoint did with a webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookResponse {
    /// Answered 2xx, answered otherwise, or did not answer.
    pub outcome: AttemptOutcome,
    /// How long it took, in milliseconds.
    pub latency_ms: u32,
    /// The start of its answer.
    pub excerpt: Option<String>,
}

/// Why a URL may not be delivered to.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetRefused {
    /// The host is, or resolves to, an address outside the public internet.
    #[error("`{host}` is or resolves to {address}, which is not a public address")]
    PrivateAddress {
        /// The host of the URL.
        host: String,
        /// The first refused address.
        address: String,
    },
    /// The host does not resolve.
    #[error("`{0}` does not resolve")]
    Unresolvable(String),
}

/// Outbound HTTP for webhooks: signs (Standard Webhooks), posts, and refuses targets outside
/// the public internet unless configured otherwise.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait WebhookSender: Send + Sync {
    /// Checks that `url`'s host may be delivered to now (its addresses resolved and checked).
    ///
    /// # Errors
    /// [`TargetRefused`].
    async fn check_target(&self, url: &WebhookUrl) -> Result<(), TargetRefused>;

    /// Signs and posts `webhook`; every failure is an [`AttemptOutcome`], never an error.
    async fn send(&self, webhook: &OutgoingWebhook) -> WebhookResponse;

    /// A new signing secret: `whsec_` and the base64 of random bytes.
    fn new_secret(&self) -> SecretString;
}
