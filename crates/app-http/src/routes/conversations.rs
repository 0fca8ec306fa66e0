//! `/api/v1/conversations`: open, read, list, close and extend.

use actix_web::{HttpResponse, get, post, web};
use domain::{Channel, ConversationId, ConversationStatus};
use serde::Deserialize;
use serde_json::Value;
use services::CreateConversation;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::ConversationOut;
use crate::extract::{JsonBody, QueryParams};
use crate::pagination::{PageBody, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Input to open a conversation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_phone": "+5511987650001", "business_phone": "+5511940000001", "context": {"topic": "delivery"}}))]
pub struct CreateConversationIn {
    /// The customer's number, `+…` or `whatsapp:+…`.
    pub customer_phone: String,
    /// The tenant's number, `+…` or `whatsapp:+…`.
    pub business_phone: String,
    /// `sms` or `whatsapp`; by default WhatsApp when either number has the `whatsapp:` prefix.
    #[schema(value_type = Option<String>, example = "sms")]
    pub channel: Option<Channel>,
    /// A JSON object.
    pub context: Option<Value>,
    /// A JSON object.
    pub metadata: Option<Value>,
}

/// Filters of the conversation listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListConversationsQuery {
    /// Comma-separated states (`pending,progress`, `agent_closed`, …); the active ones by default.
    pub status: Option<String>,
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Input to close a conversation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "customer's question answered", "status": "agent_closed"}))]
pub struct CloseIn {
    /// Why, 1 to 500 characters.
    pub reason: String,
    /// `agent_closed` (default), `support_closed`, `user_closed` or `failed`.
    #[schema(value_type = Option<String>)]
    pub status: Option<ConversationStatus>,
}

/// Input to extend a conversation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"seconds": 3600}))]
pub struct ExtendIn {
    /// Seconds to add; capped by the tenant's maximum extension and the conversation's lifetime.
    #[serde(deserialize_with = "whole_number")]
    #[schema(maximum = 9_223_372_036_854_775_807_i64)]
    pub seconds: i64,
}

/// An integer as JSON Schema reads one: `3600` and `3600.0` alike (the document says
/// `integer`, and a client's JSON library may write either).
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    number
        .as_i64()
        .or_else(|| {
            // Within i64's range, an integral f64 converts exactly.
            #[allow(clippy::cast_possible_truncation)]
            number.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18).map(|f| f as i64)
        })
        .ok_or_else(|| serde::de::Error::custom("expected a whole number within 64 bits"))
}

/// Opens a conversation, or returns the tenant's active one between the same numbers.
#[utoipa::path(
    operation_id = "create_conversation",
    request_body = CreateConversationIn,
    responses(
        (status = 201, description = "Created", body = ConversationOut),
        (status = 200, description = "An active conversation between these numbers already existed", body = ConversationOut),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)
    ),
    security(("api_key" = [])), tag = "conversations"
)]
#[post("/conversations")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateConversationIn>,
) -> Result<HttpResponse, ApiError> {
    let request = CreateConversation {
        customer_phone: input.customer_phone,
        business_phone: input.business_phone,
        channel: input.channel,
        context: input.context,
        metadata: input.metadata,
    };
    let opened = state.conversations.create_or_get(&caller.0, request).await?;
    let body = ConversationOut::from(opened.conversation);
    Ok(if opened.created { HttpResponse::Created().json(body) } else { HttpResponse::Ok().json(body) })
}

/// One conversation.
#[utoipa::path(
    operation_id = "get_conversation",
    params(("id" = Uuid, Path, description = "Conversation id")),
    responses((status = 200, body = ConversationOut), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "conversations"
)]
#[get("/conversations/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let conversation = state.conversations.get(&caller.0, ConversationId::from(*id)).await?;
    Ok(HttpResponse::Ok().json(ConversationOut::from(conversation)))
}

/// The tenant's conversations, newest first (active ones unless `status` says otherwise).
#[utoipa::path(
    operation_id = "list_conversations",
    params(ListConversationsQuery),
    responses((status = 200, body = PageBody<ConversationOut>), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])), tag = "conversations"
)]
#[get("/conversations")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    QueryParams(query): QueryParams<ListConversationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let statuses = query
        .status
        .as_deref()
        .map(|raw| {
            raw.split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| {
                    s.trim()
                        .parse::<ConversationStatus>()
                        .map_err(|e| ApiError::invalid("status", e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let page = PageParams { limit: query.limit, cursor: query.cursor }.to_request()?;
    let page = state.conversations.list(&caller.0, statuses, page).await?;
    Ok(HttpResponse::Ok().json(PageBody::from_page(page, ConversationOut::from)))
}

/// Closes a conversation.
#[utoipa::path(
    operation_id = "close_conversation",
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body = CloseIn,
    responses(
        (status = 200, body = ConversationOut), (status = 404, body = Problem),
        (status = 409, description = "Already closed", body = Problem), (status = 422, body = Problem)
    ),
    security(("api_key" = [])), tag = "conversations"
)]
#[post("/conversations/{id}/close")]
pub async fn close(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<CloseIn>,
) -> Result<HttpResponse, ApiError> {
    let closed =
        state.conversations.close(&caller.0, ConversationId::from(*id), input.status, &input.reason).await?;
    Ok(HttpResponse::Ok().json(ConversationOut::from(closed)))
}

/// Moves a conversation's expiry forward.
#[utoipa::path(
    operation_id = "extend_conversation",
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body = ExtendIn,
    responses(
        (status = 200, body = ConversationOut), (status = 404, body = Problem),
        (status = 409, description = "Closed", body = Problem), (status = 422, body = Problem)
    ),
    security(("api_key" = [])), tag = "conversations"
)]
#[post("/conversations/{id}/extend")]
pub async fn extend(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<ExtendIn>,
) -> Result<HttpResponse, ApiError> {
    let extended = state.conversations.extend(&caller.0, ConversationId::from(*id), input.seconds).await?;
    Ok(HttpResponse::Ok().json(ConversationOut::from(extended)))
}
