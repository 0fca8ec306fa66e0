//! Messages exchanged in a conversation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::closure::{Speaker, Turn};
use crate::{
    ConversationId, DeliveryStatus, MessageBody, MessageDirection, MessageId, MessageOwner, MessageTemplate,
    MessageType, OwnerId,
};

/// An attachment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// Where the file can be fetched (Twilio's media URL for inbound messages).
    pub url: String,
    /// Its MIME type, when known.
    pub content_type: Option<String>,
}

/// Why a message input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageInputError {
    /// A message needs text, an attachment, or both.
    #[error("a message needs a body, at least one media attachment, or a template")]
    NoContent,
    /// A template replaces the body and the attachments: a message carries one or the other.
    #[error("a template message carries no body and no media: the template is its content")]
    TemplateWithContent,
    /// Twilio accepts at most 10 media URLs per message.
    #[error("a message may carry at most {max} media attachments (got {actual})")]
    TooManyMedia {
        /// Attachments given.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// A media URL that is not `http(s)://`.
    #[error("media url `{0}` must be an absolute http(s) URL")]
    BadMediaUrl(String),
}

/// A message as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The message's id.
    pub id: MessageId,
    /// The tenant.
    pub owner_id: OwnerId,
    /// The conversation it belongs to.
    pub conversation_id: ConversationId,
    /// From the customer, or to them.
    pub direction: MessageDirection,
    /// Who wrote it.
    pub sender: MessageOwner,
    /// Text or a kind of attachment.
    pub message_type: MessageType,
    /// The text, if any.
    pub body: Option<MessageBody>,
    /// Attachments.
    pub media: Vec<Media>,
    /// The WhatsApp template the message was sent as, with its variables (then it has no body
    /// and no media).
    pub template: Option<MessageTemplate>,
    /// Free-form context, JSON.
    pub context: serde_json::Value,
    /// Free-form metadata (WhatsApp profile name, …), JSON.
    pub metadata: serde_json::Value,
    /// The provider's id for the message (Twilio's MessageSid), once known.
    pub provider_sid: Option<String>,
    /// Delivery status; `received` for inbound messages.
    pub delivery_status: DeliveryStatus,
    /// The provider's error code, when delivery failed.
    pub error_code: Option<i32>,
    /// A description of the failure.
    pub error_message: Option<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

impl Message {
    /// The message as a turn for closure detection: the customer on one side, everyone who
    /// speaks for the business on the other.
    #[must_use]
    pub fn as_turn(&self) -> Turn<'_> {
        turn(self.sender, self.body.as_ref(), self.created_at)
    }
}

/// A turn for closure detection: the customer on one side, everyone who speaks for the business
/// on the other; media without a caption is an empty text.
fn turn(sender: MessageOwner, body: Option<&MessageBody>, at: DateTime<Utc>) -> Turn<'_> {
    let speaker = if sender.is_business() { Speaker::Business } else { Speaker::Customer };
    Turn::new(speaker, body.map_or("", MessageBody::as_str), at)
}

/// What closure detection reads of a stored message: who wrote it, what, and when. Storage
/// can hand the detector this much without reading whole messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageTurn {
    /// Its author.
    pub sender: MessageOwner,
    /// Its text.
    pub body: Option<MessageBody>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

impl MessageTurn {
    /// The turn for closure detection (see [`Message::as_turn`]).
    #[must_use]
    pub fn as_turn(&self) -> Turn<'_> {
        turn(self.sender, self.body.as_ref(), self.created_at)
    }
}

impl From<&Message> for MessageTurn {
    fn from(message: &Message) -> Self {
        Self { sender: message.sender, body: message.body.clone(), created_at: message.created_at }
    }
}

/// Input to store a message.
#[derive(Clone, Debug, PartialEq)]
pub struct NewMessage {
    /// From or to the customer.
    pub direction: MessageDirection,
    /// Author.
    pub sender: MessageOwner,
    /// Text or a kind of attachment.
    pub message_type: MessageType,
    /// Text.
    pub body: Option<MessageBody>,
    /// Attachments.
    pub media: Vec<Media>,
    /// A WhatsApp template instead of a body and media.
    pub template: Option<MessageTemplate>,
    /// Context.
    pub context: serde_json::Value,
    /// Metadata.
    pub metadata: serde_json::Value,
    /// Provider id (inbound messages arrive with one).
    pub provider_sid: Option<String>,
    /// Initial delivery status.
    pub delivery_status: DeliveryStatus,
}

impl NewMessage {
    /// Twilio's limit of media per message.
    pub const MAX_MEDIA: usize = 10;

    /// Checks that the message carries something and that its attachments are sendable, and
    /// derives its type from the first attachment when the caller gave none.
    ///
    /// # Errors
    /// [`MessageInputError`].
    pub fn validate(mut self) -> Result<Self, MessageInputError> {
        let free_form = self.body.is_some() || !self.media.is_empty();
        match (free_form, self.template.is_some()) {
            (false, false) => return Err(MessageInputError::NoContent),
            (true, true) => return Err(MessageInputError::TemplateWithContent),
            _ => {}
        }
        if self.media.len() > Self::MAX_MEDIA {
            return Err(MessageInputError::TooManyMedia { actual: self.media.len(), max: Self::MAX_MEDIA });
        }
        if let Some(bad) =
            self.media.iter().find(|m| !(m.url.starts_with("https://") || m.url.starts_with("http://")))
        {
            return Err(MessageInputError::BadMediaUrl(bad.url.clone()));
        }
        if let (MessageType::Text, Some(first)) = (self.message_type, self.media.first()) {
            self.message_type =
                first.content_type.as_deref().map_or(MessageType::Document, MessageType::from_content_type);
        }
        Ok(self)
    }

    /// An outbound message written by `sender` (an agent, support, a tool…), waiting to be sent.
    ///
    /// # Errors
    /// [`MessageInputError`].
    pub fn outbound(
        sender: MessageOwner,
        body: Option<MessageBody>,
        media: Vec<Media>,
    ) -> Result<Self, MessageInputError> {
        Self {
            direction: MessageDirection::Outbound,
            sender,
            message_type: MessageType::Text,
            body,
            media,
            template: None,
            context: serde_json::json!({}),
            metadata: serde_json::json!({}),
            provider_sid: None,
            delivery_status: DeliveryStatus::Queued,
        }
        .validate()
    }

    /// An outbound WhatsApp template message, queued.
    #[must_use]
    pub fn outbound_template(sender: MessageOwner, template: MessageTemplate) -> Self {
        Self {
            direction: MessageDirection::Outbound,
            sender,
            message_type: MessageType::Text,
            body: None,
            media: Vec::new(),
            template: Some(template),
            context: serde_json::json!({}),
            metadata: serde_json::json!({}),
            provider_sid: None,
            delivery_status: DeliveryStatus::Queued,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(url: &str, content_type: Option<&str>) -> Media {
        Media { url: url.into(), content_type: content_type.map(Into::into) }
    }

    #[test]
    fn needs_body_or_media() {
        assert_eq!(
            NewMessage::outbound(MessageOwner::Agent, None, vec![]),
            Err(MessageInputError::NoContent)
        );
        let text =
            NewMessage::outbound(MessageOwner::Agent, Some(MessageBody::new("oi").unwrap()), vec![]).unwrap();
        assert_eq!((text.message_type, text.delivery_status), (MessageType::Text, DeliveryStatus::Queued));
    }

    #[test]
    fn type_follows_the_first_attachment() {
        let msg = NewMessage::outbound(
            MessageOwner::Agent,
            None,
            vec![media("https://x/a.jpg", Some("image/jpeg"))],
        )
        .unwrap();
        assert_eq!(msg.message_type, MessageType::Image);
        let unknown =
            NewMessage::outbound(MessageOwner::Agent, None, vec![media("https://x/a", None)]).unwrap();
        assert_eq!(unknown.message_type, MessageType::Document);
    }

    #[test]
    fn refuses_bad_attachments() {
        let eleven = vec![media("https://x/a.jpg", None); 11];
        assert_eq!(
            NewMessage::outbound(MessageOwner::Agent, None, eleven),
            Err(MessageInputError::TooManyMedia { actual: 11, max: 10 })
        );
        assert_eq!(
            NewMessage::outbound(MessageOwner::Agent, None, vec![media("ftp://x", None)]),
            Err(MessageInputError::BadMediaUrl("ftp://x".into()))
        );
    }
}
