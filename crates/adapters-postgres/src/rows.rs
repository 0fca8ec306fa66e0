//! Row types of each table and their conversions to and from domain values. Enum columns are
//! text checked by the schema; reading one back goes through the domain's `FromStr`, so a
//! manual edit that slips past the checks surfaces as `StoreError::Corrupt`, not a panic.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::{
    AiResult, ApiKey, Conversation, Email, Feature, FeatureName, Media, Message, MessageBody,
    MessageTemplate, Owner, PendingClosure, PhoneNumber, TwilioAccount, User,
};
use ports::StoreError;
use uuid::Uuid;

use crate::error::corrupt;
use crate::schema::{
    ai_results, api_keys, conversations, features, messages, owners, twilio_accounts, users,
};

fn parse<T: std::str::FromStr>(what: &str, raw: &str) -> Result<T, StoreError>
where
    T::Err: std::fmt::Display,
{
    raw.parse().map_err(|e| corrupt(what, e))
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = owners, check_for_backend(diesel::pg::Pg))]
pub(crate) struct OwnerRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<OwnerRow> for Owner {
    type Error = StoreError;

    fn try_from(row: OwnerRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id.into(),
            name: row.name,
            email: Email::parse(&row.email).map_err(|e| corrupt("owners.email", e))?,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserRow {
    pub owner_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id.into(),
            owner_id: row.owner_id.into(),
            name: row.name,
            email: Email::parse(&row.email).map_err(|e| corrupt("users.email", e))?,
            role: parse("users.role", &row.role)?,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ApiKeyRow {
    pub owner_id: Uuid,
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(row: ApiKeyRow) -> Self {
        Self {
            id: row.id.into(),
            owner_id: row.owner_id.into(),
            user_id: row.user_id.into(),
            name: row.name,
            prefix: row.prefix,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
            created_at: row.created_at,
        }
    }
}

/// Also read as JSON, as `app_twilio_account_by_sid` aggregates a tenant's features.
#[derive(Queryable, Selectable, serde::Deserialize)]
#[diesel(table_name = features, check_for_backend(diesel::pg::Pg))]
pub(crate) struct FeatureRow {
    pub owner_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub enabled: bool,
    pub config: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<FeatureRow> for Feature {
    type Error = StoreError;

    fn try_from(row: FeatureRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id.into(),
            owner_id: row.owner_id.into(),
            name: FeatureName::parse(&row.name).map_err(|e| corrupt("features.name", e))?,
            enabled: row.enabled,
            config: row.config,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A Twilio account without its encrypted token: what every API-facing read selects.
#[derive(Queryable, Selectable)]
#[diesel(table_name = twilio_accounts, check_for_backend(diesel::pg::Pg))]
pub(crate) struct TwilioAccountRow {
    pub owner_id: Uuid,
    pub id: Uuid,
    pub account_sid: String,
    pub friendly_name: Option<String>,
    pub phone_numbers: Vec<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub messaging_service_sid: Option<String>,
}

impl TryFrom<TwilioAccountRow> for TwilioAccount {
    type Error = StoreError;

    fn try_from(row: TwilioAccountRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id.into(),
            owner_id: row.owner_id.into(),
            account_sid: domain::AccountSid::parse(&row.account_sid)
                .map_err(|e| corrupt("account_sid", e))?,
            friendly_name: row.friendly_name,
            phone_numbers: row.phone_numbers,
            messaging_service_sid: row
                .messaging_service_sid
                .as_deref()
                .map(domain::MessagingServiceSid::parse)
                .transpose()
                .map_err(|e| corrupt("messaging_service_sid", e))?,
            active: row.active,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, AsChangeset)]
// `None` is bound as NULL rather than written as DEFAULT, in inserts (`treat_none_as_default_value`)
// and updates (`treat_none_as_null`): the SQL text then never varies, so inserts are prepared once
// per connection.
#[diesel(
    table_name = conversations,
    primary_key(owner_id, id),
    check_for_backend(diesel::pg::Pg),
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
pub(crate) struct ConversationRow {
    pub owner_id: Uuid,
    pub id: Uuid,
    pub channel: String,
    pub customer_phone: String,
    pub business_phone: String,
    pub status: String,
    pub context: serde_json::Value,
    pub metadata: serde_json::Value,
    pub expires_at: DateTime<Utc>,
    pub idle_timeout_seconds: i32,
    pub idle_deadline_at: DateTime<Utc>,
    pub max_extension_seconds: i32,
    pub max_expires_at: DateTime<Utc>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub last_inbound_at: Option<DateTime<Utc>>,
    pub message_count: i64,
    pub closed_at: Option<DateTime<Utc>>,
    pub close_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_inbound_message_id: Option<Uuid>,
    pub pending_closure_message_id: Option<Uuid>,
    pub pending_closure_closes_at: Option<DateTime<Utc>>,
    pub pending_closure_score: Option<f64>,
    pub pending_closure_reason: Option<String>,
}

fn seconds_to_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

impl From<&Conversation> for ConversationRow {
    fn from(c: &Conversation) -> Self {
        Self {
            owner_id: c.owner_id.into(),
            id: c.id.into(),
            channel: c.channel.as_str().to_owned(),
            customer_phone: c.customer_phone.as_str().to_owned(),
            business_phone: c.business_phone.as_str().to_owned(),
            status: c.status.as_str().to_owned(),
            context: c.context.clone(),
            metadata: c.metadata.clone(),
            expires_at: c.expires_at,
            idle_timeout_seconds: seconds_to_i32(c.idle_timeout_seconds),
            idle_deadline_at: c.next_sweep_at(),
            max_extension_seconds: seconds_to_i32(c.max_extension_seconds),
            max_expires_at: c.max_expires_at,
            last_message_at: c.last_message_at,
            last_inbound_at: c.last_inbound_at,
            message_count: c.message_count,
            closed_at: c.closed_at,
            close_reason: c.close_reason.clone(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_inbound_message_id: c.last_inbound_message_id.map(Into::into),
            pending_closure_message_id: c.pending_closure.as_ref().map(|p| p.message_id.into()),
            pending_closure_closes_at: c.pending_closure.as_ref().map(|p| p.closes_at),
            pending_closure_score: c.pending_closure.as_ref().map(|p| p.score),
            pending_closure_reason: c.pending_closure.as_ref().map(|p| p.reason.clone()),
        }
    }
}

impl TryFrom<ConversationRow> for Conversation {
    type Error = StoreError;

    fn try_from(row: ConversationRow) -> Result<Self, StoreError> {
        let phone = |what, raw: &str| PhoneNumber::parse(raw).map_err(|e| corrupt(what, e));
        let seconds = |what, raw: i32| u32::try_from(raw).map_err(|e| corrupt(what, e));
        Ok(Self {
            id: row.id.into(),
            owner_id: row.owner_id.into(),
            channel: parse("conversations.channel", &row.channel)?,
            customer_phone: phone("conversations.customer_phone", &row.customer_phone)?,
            business_phone: phone("conversations.business_phone", &row.business_phone)?,
            status: parse("conversations.status", &row.status)?,
            context: row.context,
            metadata: row.metadata,
            expires_at: row.expires_at,
            idle_timeout_seconds: seconds("conversations.idle_timeout_seconds", row.idle_timeout_seconds)?,
            max_extension_seconds: seconds("conversations.max_extension_seconds", row.max_extension_seconds)?,
            max_expires_at: row.max_expires_at,
            last_message_at: row.last_message_at,
            last_inbound_at: row.last_inbound_at,
            message_count: row.message_count,
            closed_at: row.closed_at,
            close_reason: row.close_reason,
            created_at: row.created_at,
            updated_at: row.updated_at,
            last_inbound_message_id: row.last_inbound_message_id.map(Into::into),
            pending_closure: match (
                row.pending_closure_message_id,
                row.pending_closure_closes_at,
                row.pending_closure_score,
                row.pending_closure_reason,
            ) {
                (Some(message_id), Some(closes_at), Some(score), Some(reason)) => {
                    Some(PendingClosure { message_id: message_id.into(), closes_at, score, reason })
                }
                (None, None, None, None) => None,
                _ => return Err(corrupt("conversations.pending_closure_*", "set in part")),
            },
        })
    }
}

// `None` is bound as NULL, not written as DEFAULT (no nullable column has another default): the
// insert's SQL never varies, so diesel prepares it once per connection.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg), treat_none_as_default_value = false)]
pub(crate) struct MessageRow {
    pub owner_id: Uuid,
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub direction: String,
    pub sender: String,
    pub message_type: String,
    pub body: Option<String>,
    pub media: serde_json::Value,
    pub context: serde_json::Value,
    pub metadata: serde_json::Value,
    pub provider_sid: Option<String>,
    pub delivery_status: String,
    pub error_code: Option<i32>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<MessageRow> for Message {
    type Error = StoreError;

    fn try_from(row: MessageRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: row.id.into(),
            owner_id: row.owner_id.into(),
            conversation_id: row.conversation_id.into(),
            direction: parse("messages.direction", &row.direction)?,
            sender: parse("messages.sender", &row.sender)?,
            message_type: parse("messages.message_type", &row.message_type)?,
            body: row.body.map(MessageBody::new).transpose().map_err(|e| corrupt("messages.body", e))?,
            media: serde_json::from_value::<Vec<Media>>(row.media)
                .map_err(|e| corrupt("messages.media", e))?,
            template: None,
            context: row.context,
            metadata: row.metadata,
            provider_sid: row.provider_sid,
            delivery_status: parse("messages.delivery_status", &row.delivery_status)?,
            error_code: row.error_code,
            error_message: row.error_message,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// A message with its template: what the API's reads return. The inbound path's function
/// returns [`MessageRow`]'s columns only (an inbound message never has a template).
#[derive(Queryable, Selectable)]
#[diesel(table_name = messages, check_for_backend(diesel::pg::Pg))]
pub(crate) struct FullMessageRow {
    #[diesel(embed)]
    pub row: MessageRow,
    pub template: Option<serde_json::Value>,
}

impl TryFrom<FullMessageRow> for Message {
    type Error = StoreError;

    fn try_from(full: FullMessageRow) -> Result<Self, StoreError> {
        let template = full
            .template
            .map(serde_json::from_value::<MessageTemplate>)
            .transpose()
            .map_err(|e| corrupt("messages.template", e))?;
        Ok(Self { template, ..Message::try_from(full.row)? })
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = ai_results, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AiResultRow {
    pub owner_id: Uuid,
    pub id: Uuid,
    pub conversation_id: Uuid,
    pub message_id: Uuid,
    pub kind: String,
    pub model: Option<String>,
    pub content: serde_json::Value,
    pub score: Option<f64>,
    pub created_at: DateTime<Utc>,
}

impl From<AiResultRow> for AiResult {
    fn from(row: AiResultRow) -> Self {
        Self {
            id: row.id.into(),
            owner_id: row.owner_id.into(),
            conversation_id: row.conversation_id.into(),
            message_id: row.message_id.into(),
            kind: row.kind,
            model: row.model,
            content: row.content,
            score: row.score,
            created_at: row.created_at,
        }
    }
}
