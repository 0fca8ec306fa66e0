//! Tenants' webhook endpoints (admin role): `/api/v1/webhook-endpoints…`.

mod dto;

use actix_web::{HttpResponse, delete, get, patch, post, web};
use domain::{WebhookDeliveryId, WebhookEndpointId};
use services::{CreateWebhookEndpoint, EndpointWithSecret, UpdateWebhookEndpoint};
use uuid::Uuid;

use crate::auth::Caller;
use crate::extract::{JsonBody, QueryParams};
use crate::pagination::{PageBody, PageParams};
use crate::problem::{ApiError, Problem};
use crate::routes::admin::not_null;
use crate::state::AppState;

pub use dto::{
    CreateWebhookEndpointIn, UpdateWebhookEndpointIn, WebhookAttemptOut, WebhookDeliveryOut,
    WebhookEndpointOut, WebhookEndpointWithSecretOut,
};

fn with_secret(created: EndpointWithSecret) -> WebhookEndpointWithSecretOut {
    WebhookEndpointWithSecretOut {
        endpoint: WebhookEndpointOut::from(created.endpoint),
        secret: created.secret.expose().to_owned(),
    }
}

/// Registers a webhook endpoint. The answer carries its signing secret, shown only here.
#[utoipa::path(operation_id = "create_webhook_endpoint", request_body = CreateWebhookEndpointIn,
    responses((status = 201, body = WebhookEndpointWithSecretOut), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 415, body = Problem),
        (status = 422, description = "`invalid_input` naming the `field`: `url` (not an absolute https URL, longer than 2048 bytes, or a host that is or resolves to a non-public address), `events` (an unknown type), `description` (over 500 characters), or an unknown field", body = Problem)),
    security(("api_key" = [])), tag = "webhook endpoints")]
#[post("/webhook-endpoints")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateWebhookEndpointIn>,
) -> Result<HttpResponse, ApiError> {
    let request =
        CreateWebhookEndpoint { url: input.url, events: input.events, description: input.description };
    let created = state.webhook_endpoints.create(&caller.0, request).await?;
    Ok(HttpResponse::Created().json(with_secret(created)))
}

/// The tenant's webhook endpoints, oldest first.
#[utoipa::path(operation_id = "list_webhook_endpoints", params(PageParams),
    responses((status = 200, body = PageBody<WebhookEndpointOut>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])), tag = "webhook endpoints")]
#[get("/webhook-endpoints")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = state.webhook_endpoints.list(&caller.0, query.to_request()?).await?;
    Ok(HttpResponse::Ok().json(PageBody::from_page(page, WebhookEndpointOut::from)))
}

/// One webhook endpoint.
#[utoipa::path(operation_id = "get_webhook_endpoint", params(("id" = Uuid, Path, description = "Webhook endpoint id")),
    responses((status = 200, body = WebhookEndpointOut), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "webhook endpoints")]
#[get("/webhook-endpoints/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let endpoint = state.webhook_endpoints.get(&caller.0, WebhookEndpointId::from(*id)).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointOut::from(endpoint)))
}

/// Changes a webhook endpoint: URL, event types, label, or whether it is enabled.
#[utoipa::path(operation_id = "update_webhook_endpoint", params(("id" = Uuid, Path, description = "Webhook endpoint id")),
    request_body(content = UpdateWebhookEndpointIn, description = "`application/json` or `application/merge-patch+json`"),
    responses((status = 200, body = WebhookEndpointOut), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 415, body = Problem),
        (status = 422, description = "`invalid_input` naming the `field` (`url`, `events`, `description`, `enabled`, or an unknown field)", body = Problem)),
    security(("api_key" = [])), tag = "webhook endpoints")]
#[patch("/webhook-endpoints/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<UpdateWebhookEndpointIn>,
) -> Result<HttpResponse, ApiError> {
    let request = UpdateWebhookEndpoint {
        url: not_null("url", input.url)?,
        events: not_null("events", input.events)?,
        description: input.description,
        enabled: not_null("enabled", input.enabled)?,
    };
    let endpoint = state.webhook_endpoints.update(&caller.0, WebhookEndpointId::from(*id), request).await?;
    Ok(HttpResponse::Ok().json(WebhookEndpointOut::from(endpoint)))
}

/// Deletes a webhook endpoint and its deliveries.
#[utoipa::path(operation_id = "delete_webhook_endpoint", params(("id" = Uuid, Path, description = "Webhook endpoint id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "webhook endpoints")]
#[delete("/webhook-endpoints/{id}")]
pub async fn delete_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    state.webhook_endpoints.delete(&caller.0, WebhookEndpointId::from(*id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Gives the endpoint a new signing secret, shown only in this answer. The replaced secret
/// keeps signing beside it for 24 hours (`webhook-signature` then carries both signatures), so
/// the receiver can switch over without missing a delivery.
#[utoipa::path(operation_id = "rotate_webhook_secret", params(("id" = Uuid, Path, description = "Webhook endpoint id")),
    responses((status = 200, body = WebhookEndpointWithSecretOut), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "webhook endpoints")]
#[post("/webhook-endpoints/{id}/rotate-secret")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let rotated = state.webhook_endpoints.rotate_secret(&caller.0, WebhookEndpointId::from(*id)).await?;
    Ok(HttpResponse::Ok().json(with_secret(rotated)))
}

/// The endpoint's deliveries, newest first, each with its attempts (time, HTTP status or
/// transport error, latency, the next attempt).
#[utoipa::path(operation_id = "list_webhook_deliveries",
    params(("id" = Uuid, Path, description = "Webhook endpoint id"), PageParams),
    responses((status = 200, body = PageBody<WebhookDeliveryOut>), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])), tag = "webhook endpoints")]
#[get("/webhook-endpoints/{id}/deliveries")]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    QueryParams(query): QueryParams<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = state
        .webhook_endpoints
        .deliveries(&caller.0, WebhookEndpointId::from(*id), query.to_request()?)
        .await?;
    Ok(HttpResponse::Ok().json(PageBody::from_page(page, WebhookDeliveryOut::from)))
}

/// Schedules a fresh attempt of a delivery now (with a fresh retry schedule). A disabled
/// endpoint gets it once it is enabled again.
#[utoipa::path(operation_id = "retry_webhook_delivery",
    params(("id" = Uuid, Path, description = "Webhook endpoint id"), ("delivery_id" = Uuid, Path, description = "Delivery id")),
    responses((status = 202, description = "Scheduled", body = WebhookDeliveryOut), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "webhook endpoints")]
#[post("/webhook-endpoints/{id}/deliveries/{delivery_id}/retry")]
pub async fn retry(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, ApiError> {
    let (id, delivery_id) = path.into_inner();
    let delivery = state
        .webhook_endpoints
        .retry(&caller.0, WebhookEndpointId::from(id), WebhookDeliveryId::from(delivery_id))
        .await?;
    Ok(HttpResponse::Accepted().json(WebhookDeliveryOut::from(delivery)))
}
