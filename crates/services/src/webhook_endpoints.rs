//! Tenants' webhook endpoints (admin role): registration with a secret shown once, changes,
//! rotation, and the deliveries with their attempts.

use std::sync::Arc;

use chrono::Duration;
use domain::{
    EventType, NewWebhookEndpoint, Principal, SecretString, UserRole, WebhookDelivery, WebhookDeliveryId,
    WebhookEndpoint, WebhookEndpointChanges, WebhookEndpointId, WebhookUrl,
};
use ports::{Clock, Page, PageRequest, WebhookEndpointStore, WebhookSender};

use crate::input::bounded_text;
use crate::{ServiceError, authz::require};

/// The longest description accepted, in characters.
pub const MAX_WEBHOOK_DESCRIPTION_CHARS: usize = 500;

/// How long a rotated-out secret keeps signing beside the new one.
pub const SECRET_ROTATION_OVERLAP: Duration = Duration::hours(24);

/// Input to register an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateWebhookEndpoint {
    /// Where deliveries are posted.
    pub url: String,
    /// Event type names; empty: all.
    pub events: Vec<String>,
    /// A label; blank counts as none.
    pub description: Option<String>,
}

/// Changes to an endpoint; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateWebhookEndpoint {
    /// A new URL.
    pub url: Option<String>,
    /// New event type names (empty: all).
    pub events: Option<Vec<String>>,
    /// A new label; `Some(None)` or a blank one removes it.
    pub description: Option<Option<String>>,
    /// On or off.
    pub enabled: Option<bool>,
}

/// An endpoint with its signing secret: only the answer to a registration or a rotation.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointWithSecret {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// Its new secret, never shown again.
    pub secret: SecretString,
}

/// Webhook endpoint use cases of a tenant.
#[derive(Clone)]
pub struct WebhookEndpointService {
    /// The endpoints.
    pub endpoints: Arc<dyn WebhookEndpointStore>,
    /// Outbound HTTP: checks targets, makes secrets.
    pub sender: Arc<dyn WebhookSender>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// Whether `http` URLs are accepted (`CONVERSA_WEBHOOKS_ALLOW_PRIVATE_TARGETS`).
    pub allow_http: bool,
}

impl std::fmt::Debug for WebhookEndpointService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookEndpointService").field("allow_http", &self.allow_http).finish_non_exhaustive()
    }
}

impl WebhookEndpointService {
    /// Registers an endpoint. Requires `admin`. Its secret is in the answer, and only there.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `url` (not an absolute
    /// https URL, too long, or a host outside the public internet), `events` or `description`;
    /// storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn create(
        &self,
        principal: &Principal,
        input: CreateWebhookEndpoint,
    ) -> Result<EndpointWithSecret, ServiceError> {
        require(principal, UserRole::Admin)?;
        let url = self.parse_url(&input.url)?;
        let event_types = event_types(&input.events)?;
        let description = description(input.description)?;
        // Last: the only check that goes to the network.
        self.check_target(&url).await?;
        let secret = self.sender.new_secret();
        let endpoint = NewWebhookEndpoint { url, event_types, description, secret: secret.clone() };
        let endpoint =
            self.endpoints.create_webhook_endpoint(principal.owner_id, endpoint, self.clock.now()).await?;
        tracing::info!(webhook_endpoint_id = %endpoint.id, "webhook endpoint registered");
        Ok(EndpointWithSecret { endpoint, secret })
    }

    /// A page of the tenant's endpoints, oldest first. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn list(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<WebhookEndpoint>, ServiceError> {
        require(principal, UserRole::Admin)?;
        Ok(self.endpoints.list_webhook_endpoints(principal.owner_id, page).await?)
    }

    /// One endpoint. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, webhook_endpoint_id = %id))]
    pub async fn get(
        &self,
        principal: &Principal,
        id: WebhookEndpointId,
    ) -> Result<WebhookEndpoint, ServiceError> {
        require(principal, UserRole::Admin)?;
        Ok(self.endpoints.get_webhook_endpoint(principal.owner_id, id).await?)
    }

    /// Changes an endpoint. Requires `admin`. Enabling it again clears the disabled reason and
    /// the failure count; it then receives the events written from then on.
    ///
    /// # Errors
    /// As [`WebhookEndpointService::create`] for the fields, and [`ServiceError::NotFound`].
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, webhook_endpoint_id = %id))]
    pub async fn update(
        &self,
        principal: &Principal,
        id: WebhookEndpointId,
        input: UpdateWebhookEndpoint,
    ) -> Result<WebhookEndpoint, ServiceError> {
        require(principal, UserRole::Admin)?;
        let changes = WebhookEndpointChanges {
            url: input.url.as_deref().map(|raw| self.parse_url(raw)).transpose()?,
            event_types: input.events.as_deref().map(event_types).transpose()?,
            description: input.description.map(description).transpose()?,
            enabled: input.enabled,
        };
        if let Some(url) = &changes.url {
            self.check_target(url).await?;
        }
        if changes.is_empty() {
            return Ok(self.endpoints.get_webhook_endpoint(principal.owner_id, id).await?);
        }
        let updated =
            self.endpoints.update_webhook_endpoint(principal.owner_id, id, changes, self.clock.now()).await?;
        tracing::info!(enabled = updated.enabled, "webhook endpoint changed");
        Ok(updated)
    }

    /// Deletes an endpoint and its deliveries. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, webhook_endpoint_id = %id))]
    pub async fn delete(&self, principal: &Principal, id: WebhookEndpointId) -> Result<(), ServiceError> {
        require(principal, UserRole::Admin)?;
        self.endpoints.delete_webhook_endpoint(principal.owner_id, id).await?;
        tracing::info!("webhook endpoint deleted");
        Ok(())
    }

    /// Gives an endpoint a new secret (in the answer, and only there); the old one keeps
    /// signing beside it for [`SECRET_ROTATION_OVERLAP`]. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, webhook_endpoint_id = %id))]
    pub async fn rotate_secret(
        &self,
        principal: &Principal,
        id: WebhookEndpointId,
    ) -> Result<EndpointWithSecret, ServiceError> {
        require(principal, UserRole::Admin)?;
        let secret = self.sender.new_secret();
        let now = self.clock.now();
        let endpoint = self
            .endpoints
            .rotate_webhook_secret(principal.owner_id, id, secret.clone(), now + SECRET_ROTATION_OVERLAP, now)
            .await?;
        tracing::info!("webhook secret rotated");
        Ok(EndpointWithSecret { endpoint, secret })
    }

    /// A page of an endpoint's deliveries, newest first, with their attempts. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, webhook_endpoint_id = %id))]
    pub async fn deliveries(
        &self,
        principal: &Principal,
        id: WebhookEndpointId,
        page: PageRequest,
    ) -> Result<Page<WebhookDelivery>, ServiceError> {
        require(principal, UserRole::Admin)?;
        Ok(self.endpoints.list_webhook_deliveries(principal.owner_id, id, page).await?)
    }

    /// Schedules a fresh attempt of a delivery now, with a fresh retry schedule. Requires
    /// `admin`. An endpoint that is disabled gets it once it is enabled again.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, webhook_endpoint_id = %id, %delivery_id))]
    pub async fn retry(
        &self,
        principal: &Principal,
        id: WebhookEndpointId,
        delivery_id: WebhookDeliveryId,
    ) -> Result<WebhookDelivery, ServiceError> {
        require(principal, UserRole::Admin)?;
        let delivery = self
            .endpoints
            .retry_webhook_delivery(principal.owner_id, id, delivery_id, self.clock.now())
            .await?;
        tracing::info!("webhook delivery scheduled again");
        Ok(delivery)
    }

    fn parse_url(&self, raw: &str) -> Result<WebhookUrl, ServiceError> {
        WebhookUrl::parse(raw, self.allow_http).map_err(|e| ServiceError::invalid("url", e))
    }

    /// Whether the URL's host is public now (it is checked again at every delivery).
    async fn check_target(&self, url: &WebhookUrl) -> Result<(), ServiceError> {
        self.sender.check_target(url).await.map_err(|e| ServiceError::invalid("url", e))
    }
}

/// Known event types, each once, in the given order.
fn event_types(names: &[String]) -> Result<Vec<EventType>, ServiceError> {
    let mut types = Vec::new();
    for name in names {
        let event_type: EventType = name.trim().parse().map_err(|e| ServiceError::invalid("events", e))?;
        if !types.contains(&event_type) {
            types.push(event_type);
        }
    }
    Ok(types)
}

/// A label within bounds; blank counts as none.
fn description(raw: Option<String>) -> Result<Option<String>, ServiceError> {
    raw.filter(|text| !text.trim().is_empty())
        .map(|text| bounded_text("description", &text, MAX_WEBHOOK_DESCRIPTION_CHARS))
        .transpose()
}
