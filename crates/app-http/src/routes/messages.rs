//! Messages of a conversation and AI results of a message.

use actix_web::{HttpResponse, get, post, web};
use domain::{ConversationId, MessageId, MessageOwner, NewAiResult};
use serde::Deserialize;
use serde_json::Value;
use services::{AddMessage, TemplateInput};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::{AiResultOut, ListOut, MediaDto, MessageOut, TemplateDto};
use crate::extract::{JsonBody, QueryParams};
use crate::pagination::{PageBody, PageParams};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Input to write to the customer of a conversation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"body": "Your order ships today!"}))]
pub struct AddMessageIn {
    /// `agent` (default), `support`, `system` or `tool`.
    #[schema(value_type = Option<String>)]
    pub sender: Option<MessageOwner>,
    /// The text, 1 to 4096 characters.
    pub body: Option<String>,
    /// Attachments (at most 10).
    #[serde(default)]
    pub media: Vec<MediaDto>,
    /// A WhatsApp template instead of `body` and `media` (a message has one or the other): the
    /// one kind of message WhatsApp delivers outside the 24-hour window.
    pub template: Option<TemplateDto>,
    /// A JSON object.
    pub context: Option<Value>,
    /// A JSON object.
    pub metadata: Option<Value>,
}

/// Input to attach an AI result to a message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"kind": "sentiment", "model": "gpt-x", "content": {"label": "positive"}, "score": 0.92}))]
pub struct AddAiResultIn {
    /// What produced it, 1 to 64 characters.
    pub kind: String,
    /// Model or version.
    pub model: Option<String>,
    /// The result.
    pub content: Value,
    /// Score in 0..1.
    pub score: Option<f64>,
}

/// Writes a message to the customer; it is queued and sent through Twilio.
#[utoipa::path(
    operation_id = "add_message",
    params(("id" = Uuid, Path, description = "Conversation id")),
    request_body = AddMessageIn,
    responses(
        (status = 201, description = "Stored and queued for sending", body = MessageOut),
        (status = 404, body = Problem), (status = 409, description = "Conversation closed", body = Problem),
        (status = 422, description = "Invalid, or WhatsApp's 24-hour window is closed to free-form messages (send a `template`)", body = Problem),
        (status = 429, description = "`rate_limited`, or `send_quota_exceeded`: the tenant's send quota of the day or month is used up until `resets_at` (nothing is stored or queued)", body = Problem,
            headers(("Retry-After" = u64, description = "Seconds until the limit or quota lets the request through")))
    ),
    security(("api_key" = [])), tag = "messages"
)]
#[post("/conversations/{id}/messages")]
pub async fn add(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<AddMessageIn>,
) -> Result<HttpResponse, ApiError> {
    let request = AddMessage {
        sender: input.sender,
        body: input.body,
        media: input.media.into_iter().map(Into::into).collect(),
        template: input
            .template
            .map(|t| TemplateInput { content_sid: t.content_sid, variables: t.variables }),
        context: input.context,
        metadata: input.metadata,
    };
    let appended = state.messages.add_message(&caller.0, ConversationId::from(*id), request).await?;
    Ok(HttpResponse::Created().json(MessageOut::from(appended.message)))
}

/// A conversation's messages, oldest first.
#[utoipa::path(
    operation_id = "list_messages",
    params(("id" = Uuid, Path, description = "Conversation id"), PageParams),
    responses((status = 200, body = PageBody<MessageOut>), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])), tag = "messages"
)]
#[get("/conversations/{id}/messages")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    QueryParams(page): QueryParams<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let page = state.messages.list_messages(&caller.0, ConversationId::from(*id), page.to_request()?).await?;
    Ok(HttpResponse::Ok().json(PageBody::from_page(page, MessageOut::from)))
}

/// One message.
#[utoipa::path(
    operation_id = "get_message",
    params(("id" = Uuid, Path, description = "Message id")),
    responses((status = 200, body = MessageOut), (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "messages"
)]
#[get("/messages/{id}")]
pub async fn get_one(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let message = state.messages.get_message(&caller.0, MessageId::from(*id)).await?;
    Ok(HttpResponse::Ok().json(MessageOut::from(message)))
}

/// Attaches an AI result to a message.
#[utoipa::path(
    operation_id = "add_ai_result",
    params(("id" = Uuid, Path, description = "Message id")),
    request_body = AddAiResultIn,
    responses((status = 201, body = AiResultOut), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])), tag = "messages"
)]
#[post("/messages/{id}/ai-results")]
pub async fn add_ai_result(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<AddAiResultIn>,
) -> Result<HttpResponse, ApiError> {
    let result =
        NewAiResult { kind: input.kind, model: input.model, content: input.content, score: input.score };
    let stored = state.messages.add_ai_result(&caller.0, MessageId::from(*id), result).await?;
    Ok(HttpResponse::Created().json(AiResultOut::from(stored)))
}

/// The AI results of a message, oldest first.
#[utoipa::path(
    operation_id = "list_ai_results",
    params(("id" = Uuid, Path, description = "Message id")),
    responses((status = 200, body = ListOut<AiResultOut>), (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "messages"
)]
#[get("/messages/{id}/ai-results")]
pub async fn list_ai_results(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let results = state.messages.list_ai_results(&caller.0, MessageId::from(*id)).await?;
    Ok(HttpResponse::Ok()
        .json(ListOut { items: results.into_iter().map(AiResultOut::from).collect::<Vec<_>>() }))
}
