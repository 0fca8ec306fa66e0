//! The API's JSON shapes. They are separate from the domain types: the wire contract can grow
//! (additive fields) without the domain changing, and they carry the OpenAPI schemas.

use chrono::{DateTime, Utc};
use domain::{AiResult, ApiKey, Conversation, Feature, Media, Message, PendingClosure, TwilioAccount, User};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

/// A conversation.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationOut {
    /// Its id.
    pub id: Uuid,
    /// `sms` or `whatsapp`.
    #[schema(example = "whatsapp")]
    pub channel: String,
    /// The customer's number (E.164).
    #[schema(example = "+5511987650001")]
    pub customer_phone: String,
    /// The tenant's number (E.164).
    #[schema(example = "+5511940000001")]
    pub business_phone: String,
    /// `pending`, `progress`, or a final state.
    #[schema(example = "progress")]
    pub status: String,
    /// Free-form context.
    pub context: Value,
    /// Free-form metadata.
    pub metadata: Value,
    /// When it expires unless extended.
    pub expires_at: DateTime<Utc>,
    /// The latest an extension can push `expires_at`.
    pub max_expires_at: DateTime<Utc>,
    /// The last message, either direction.
    pub last_message_at: Option<DateTime<Utc>>,
    /// The customer's last message.
    pub last_inbound_at: Option<DateTime<Utc>>,
    /// Messages recorded.
    pub message_count: i64,
    /// When it was closed.
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was closed.
    pub close_reason: Option<String>,
    /// Closure detection's verdict waiting for the customer to finish, or `null`. The
    /// conversation stays active; at `closes_at` the sweeper re-assesses it and closes it as
    /// `user_closed` if the verdict holds. A newer customer message drops it.
    pub pending_closure: Option<PendingClosureOut>,
    /// When it was opened.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// A pending closure: closure detection said the conversation ended, and waits the tenant's
/// grace period (`closure_detection.config.grace_seconds`) before closing it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingClosureOut {
    /// When the sweeper re-assesses the conversation and closes it if the verdict holds.
    pub closes_at: DateTime<Utc>,
    /// The detector's score (0..1), projected to `closes_at`.
    #[schema(example = 0.82)]
    pub score: f64,
    /// The detector's explanation.
    pub reason: String,
    /// The customer message the verdict is based on.
    pub message_id: Uuid,
}

impl From<PendingClosure> for PendingClosureOut {
    fn from(p: PendingClosure) -> Self {
        Self { closes_at: p.closes_at, score: p.score, reason: p.reason, message_id: p.message_id.as_uuid() }
    }
}

impl From<Conversation> for ConversationOut {
    fn from(c: Conversation) -> Self {
        Self {
            id: c.id.as_uuid(),
            channel: c.channel.as_str().to_owned(),
            customer_phone: c.customer_phone.to_string(),
            business_phone: c.business_phone.to_string(),
            status: c.status.as_str().to_owned(),
            context: c.context,
            metadata: c.metadata,
            expires_at: c.expires_at,
            max_expires_at: c.max_expires_at,
            last_message_at: c.last_message_at,
            last_inbound_at: c.last_inbound_at,
            message_count: c.message_count,
            closed_at: c.closed_at,
            close_reason: c.close_reason,
            pending_closure: c.pending_closure.map(Into::into),
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// An attachment.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MediaDto {
    /// An absolute http(s) URL.
    #[schema(example = "https://example.com/receipt.jpg")]
    pub url: String,
    /// Its MIME type.
    #[schema(example = "image/jpeg")]
    pub content_type: Option<String>,
}

impl From<MediaDto> for Media {
    fn from(m: MediaDto) -> Self {
        Self { url: m.url, content_type: m.content_type }
    }
}

/// A WhatsApp template (Twilio's Content API) and the values of its variables.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"content_sid": "HX0123456789abcdef0123456789abcdef", "variables": {"1": "Maria"}}))]
pub struct TemplateDto {
    /// The approved content's SID: `HX` and 32 hexadecimal digits.
    pub content_sid: String,
    /// Variable name (1-64 of `A-Za-z0-9_`) → value (1-1024 characters); at most 50.
    #[serde(default)]
    pub variables: std::collections::BTreeMap<String, String>,
}

/// A message.
#[derive(Debug, Serialize, ToSchema)]
pub struct MessageOut {
    /// Its id.
    pub id: Uuid,
    /// Its conversation.
    pub conversation_id: Uuid,
    /// `inbound` or `outbound`.
    #[schema(example = "outbound")]
    pub direction: String,
    /// `user` (the customer), `agent`, `system`, `tool` or `support`.
    #[schema(example = "agent")]
    pub sender: String,
    /// `text`, `image`, `audio`, `video` or `document`.
    #[schema(example = "text")]
    pub message_type: String,
    /// The text.
    pub body: Option<String>,
    /// Attachments.
    pub media: Vec<MediaDto>,
    /// The WhatsApp template it was sent as, with its variables (then it has no body or media).
    pub template: Option<TemplateDto>,
    /// Free-form context.
    pub context: Value,
    /// Free-form metadata.
    pub metadata: Value,
    /// Twilio's MessageSid, once known.
    pub provider_sid: Option<String>,
    /// Twilio's delivery status (`queued`, `sent`, `delivered`, `read`, `failed`, …).
    #[schema(example = "queued")]
    pub delivery_status: String,
    /// Twilio's error code, when delivery failed.
    pub error_code: Option<i32>,
    /// The failure's description.
    pub error_message: Option<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<Message> for MessageOut {
    fn from(m: Message) -> Self {
        Self {
            id: m.id.as_uuid(),
            conversation_id: m.conversation_id.as_uuid(),
            direction: m.direction.as_str().to_owned(),
            sender: m.sender.as_str().to_owned(),
            message_type: m.message_type.as_str().to_owned(),
            body: m.body.map(domain::MessageBody::into_inner),
            media: m
                .media
                .into_iter()
                .map(|x| MediaDto { url: x.url, content_type: x.content_type })
                .collect(),
            template: m
                .template
                .map(|t| TemplateDto { content_sid: t.content_sid.into(), variables: t.variables }),
            context: m.context,
            metadata: m.metadata,
            provider_sid: m.provider_sid,
            delivery_status: m.delivery_status.as_str().to_owned(),
            error_code: m.error_code,
            error_message: m.error_message,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

/// An AI result attached to a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct AiResultOut {
    /// Its id.
    pub id: Uuid,
    /// The message.
    pub message_id: Uuid,
    /// The message's conversation.
    pub conversation_id: Uuid,
    /// What produced it.
    #[schema(example = "closure_detection")]
    pub kind: String,
    /// Model or version.
    pub model: Option<String>,
    /// The result.
    pub content: Value,
    /// Score in 0..1.
    pub score: Option<f64>,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
}

impl From<AiResult> for AiResultOut {
    fn from(r: AiResult) -> Self {
        Self {
            id: r.id.as_uuid(),
            message_id: r.message_id.as_uuid(),
            conversation_id: r.conversation_id.as_uuid(),
            kind: r.kind,
            model: r.model,
            content: r.content,
            score: r.score,
            created_at: r.created_at,
        }
    }
}

/// A user of the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Its id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Login address.
    pub email: String,
    /// `admin`, `agent` or `viewer`.
    #[schema(example = "agent")]
    pub role: String,
    /// Whether it may act.
    pub active: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            name: u.name,
            email: u.email.as_str().to_owned(),
            role: u.role.as_str().to_owned(),
            active: u.active,
            created_at: u.created_at,
        }
    }
}

/// An API key: only its prefix, never the key.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyOut {
    /// Its id.
    pub id: Uuid,
    /// The user it acts as.
    pub user_id: Uuid,
    /// Its label.
    pub name: String,
    /// The key's first characters.
    #[schema(example = "cnv_3f9a1c2b")]
    pub prefix: String,
    /// Last successful use.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

impl From<ApiKey> for ApiKeyOut {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id.as_uuid(),
            user_id: k.user_id.as_uuid(),
            name: k.name,
            prefix: k.prefix,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
            created_at: k.created_at,
        }
    }
}

/// A newly created API key: the only time the key itself is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKeyOut {
    /// The key's record.
    #[serde(flatten)]
    pub api_key: ApiKeyOut,
    /// The key. Store it now: it cannot be shown again.
    #[schema(example = "cnv_3f9a1c2b0d8e4f6a7b9c1d3e5f7a9b1c3d5e7f9a")]
    pub key: String,
}

/// A feature of the tenant.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeatureOut {
    /// Its id.
    pub id: Uuid,
    /// Its name.
    #[schema(example = "closure_detection")]
    pub name: String,
    /// Whether it is on.
    pub enabled: bool,
    /// Its configuration.
    #[schema(schema_with = feature_config_schema)]
    pub config: Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// The schema of [`FeatureOut::config`]: utoipa drops a field attribute's example on a
/// `serde_json::Value`, so the example is set here.
fn feature_config_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Object)
        .description(Some("Its configuration."))
        .examples([serde_json::json!({"threshold": 0.7})])
        .build()
}

impl From<Feature> for FeatureOut {
    fn from(f: Feature) -> Self {
        Self {
            id: f.id.as_uuid(),
            name: f.name.to_string(),
            enabled: f.enabled,
            config: f.config,
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

/// A Twilio account of the tenant (never its auth token).
#[derive(Debug, Serialize, ToSchema)]
pub struct TwilioAccountOut {
    /// Its id.
    pub id: Uuid,
    /// Twilio's Account SID.
    #[schema(example = "AC0123456789abcdef0123456789abcdef")]
    pub account_sid: String,
    /// Label.
    pub friendly_name: Option<String>,
    /// Numbers, `+…` for SMS and `whatsapp:+…` for WhatsApp.
    pub phone_numbers: Vec<String>,
    /// The Messaging Service sends go through instead of a `From` number, when set.
    #[schema(example = "MG0123456789abcdef0123456789abcdef")]
    pub messaging_service_sid: Option<String>,
    /// Whether it is used.
    pub active: bool,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

impl From<TwilioAccount> for TwilioAccountOut {
    fn from(a: TwilioAccount) -> Self {
        Self {
            id: a.id.as_uuid(),
            account_sid: a.account_sid.as_str().to_owned(),
            friendly_name: a.friendly_name,
            messaging_service_sid: a.messaging_service_sid.map(String::from),
            phone_numbers: a.phone_numbers,
            active: a.active,
            created_at: a.created_at,
        }
    }
}

/// A list without pagination.
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOut<T> {
    /// The items.
    pub items: Vec<T>,
}
