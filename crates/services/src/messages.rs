//! Message use cases: write to a customer, read a conversation's messages, attach and read AI
//! results.

use std::collections::BTreeMap;
use std::sync::Arc;

use domain::{
    AiResult, AiResultInputError, ContentSid, ConversationId, Media, Message, MessageBody, MessageId,
    MessageInputError, MessageOwner, MessageTemplate, NewAiResult, NewMessage, Principal, UserRole,
};
use ports::{AppendedMessage, Clock, ConversationStore, MessageStore, Page, PageRequest};
use serde_json::Value;

use crate::input::json_object;
use crate::limits::LimitService;
use crate::{ServiceError, authz::require};

/// Input to write a message to the customer of a conversation.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct AddMessage {
    /// Who writes it; `None` means [`MessageOwner::Agent`]. Never [`MessageOwner::User`]:
    /// customers write through the inbound webhook.
    pub sender: Option<MessageOwner>,
    /// The text.
    pub body: Option<String>,
    /// Attachments.
    pub media: Vec<Media>,
    /// A WhatsApp template instead of `body` and `media`.
    pub template: Option<TemplateInput>,
    /// Context, a JSON object.
    pub context: Option<Value>,
    /// Metadata, a JSON object.
    pub metadata: Option<Value>,
}

/// A WhatsApp template as the caller names it: validated into a [`MessageTemplate`].
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct TemplateInput {
    /// The Content SID (`HX…`).
    pub content_sid: String,
    /// Variable name → value.
    pub variables: BTreeMap<String, String>,
}

/// Message use cases of a tenant.
#[derive(Clone)]
pub struct MessageService {
    /// Conversations, to check the channel's sending rules.
    pub conversations: Arc<dyn ConversationStore>,
    /// Messages and their AI results.
    pub messages: Arc<dyn MessageStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The send quotas.
    pub limits: LimitService,
}

impl std::fmt::Debug for MessageService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageService").finish_non_exhaustive()
    }
}

impl MessageService {
    /// Stores a message for the customer and queues it for sending within the tenant's send
    /// quotas, in one step. Every business sender (agent, support, system, tool) is delivered
    /// to the customer, so on WhatsApp a free-form message is refused outside the 24-hour
    /// window after the customer's last message; a template message is not. Requires `agent`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `sender`, `body`, `media`,
    /// `template`, `context` or `metadata`; [`ServiceError::NotFound`];
    /// [`ServiceError::ConversationClosed`]; [`ServiceError::Rejected`] outside WhatsApp's
    /// window; [`ServiceError::SendQuotaExceeded`]; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, conversation_id = %conversation_id))]
    pub async fn add_message(
        &self,
        principal: &Principal,
        conversation_id: ConversationId,
        input: AddMessage,
    ) -> Result<AppendedMessage, ServiceError> {
        require(principal, UserRole::Agent)?;
        let message = outbound_message(input)?;
        let conversation = self.conversations.get_conversation(principal.owner_id, conversation_id).await?;
        if conversation.status.is_terminal() {
            return Err(ServiceError::ConversationClosed(conversation.status));
        }
        let now = self.clock.now();
        if message.template.is_none() && !conversation.free_form_allowed(now) {
            return Err(ServiceError::Rejected(
                "WhatsApp allows free-form messages only within 24 hours of the customer's last message; \
                 outside it, send an approved template (`template` with its `content_sid` and `variables`)"
                    .to_owned(),
            ));
        }
        let quota = self.limits.current(principal.owner_id).await?.sends;
        let appended = self
            .messages
            .append_message(principal.owner_id, conversation_id, message, Some(quota), now)
            .await?;
        tracing::info!(message_id = %appended.message.id, sender = %appended.message.sender, "message queued");
        Ok(appended)
    }

    /// One message. Requires `viewer`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, message_id = %id))]
    pub async fn get_message(&self, principal: &Principal, id: MessageId) -> Result<Message, ServiceError> {
        require(principal, UserRole::Viewer)?;
        Ok(self.messages.get_message(principal.owner_id, id).await?)
    }

    /// A conversation's messages, oldest first. Requires `viewer`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, conversation_id = %conversation_id))]
    pub async fn list_messages(
        &self,
        principal: &Principal,
        conversation_id: ConversationId,
        page: PageRequest,
    ) -> Result<Page<Message>, ServiceError> {
        require(principal, UserRole::Viewer)?;
        Ok(self.messages.list_messages(principal.owner_id, conversation_id, page).await?)
    }

    /// Attaches an analysis result to a message. Requires `agent`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `kind` or `score`;
    /// [`ServiceError::NotFound`]; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, message_id = %message_id))]
    pub async fn add_ai_result(
        &self,
        principal: &Principal,
        message_id: MessageId,
        result: NewAiResult,
    ) -> Result<AiResult, ServiceError> {
        require(principal, UserRole::Agent)?;
        let result = result.validate().map_err(|e| match e {
            AiResultInputError::InvalidKind => ServiceError::invalid("kind", e),
            AiResultInputError::ScoreOutOfRange => ServiceError::invalid("score", e),
        })?;
        let now = self.clock.now();
        Ok(self.messages.add_ai_result(principal.owner_id, message_id, result, now).await?)
    }

    /// The AI results of a message, oldest first. Requires `viewer`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], [`ServiceError::NotFound`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, message_id = %message_id))]
    pub async fn list_ai_results(
        &self,
        principal: &Principal,
        message_id: MessageId,
    ) -> Result<Vec<AiResult>, ServiceError> {
        require(principal, UserRole::Viewer)?;
        Ok(self.messages.list_ai_results(principal.owner_id, message_id).await?)
    }
}

/// Validates an agent's input into an outbound message.
fn outbound_message(input: AddMessage) -> Result<NewMessage, ServiceError> {
    let sender = input.sender.unwrap_or(MessageOwner::Agent);
    if !sender.is_business() {
        return Err(ServiceError::invalid("sender", "customers write through the inbound webhook"));
    }
    let body = input.body.map(MessageBody::new).transpose().map_err(|e| ServiceError::invalid("body", e))?;
    let context = json_object("context", input.context)?;
    let metadata = json_object("metadata", input.metadata)?;
    let mut message = match input.template {
        Some(_) if body.is_some() || !input.media.is_empty() => {
            return Err(ServiceError::invalid("template", MessageInputError::TemplateWithContent));
        }
        Some(template) => NewMessage::outbound_template(sender, parse_template(template)?),
        None => NewMessage::outbound(sender, body, input.media).map_err(|e| match e {
            MessageInputError::NoContent => ServiceError::invalid("body", e),
            MessageInputError::TemplateWithContent => ServiceError::invalid("template", e),
            MessageInputError::TooManyMedia { .. } | MessageInputError::BadMediaUrl(_) => {
                ServiceError::invalid("media", e)
            }
        })?,
    };
    message.context = context;
    message.metadata = metadata;
    Ok(message)
}

fn parse_template(input: TemplateInput) -> Result<MessageTemplate, ServiceError> {
    let content_sid = ContentSid::parse(&input.content_sid)
        .map_err(|e| ServiceError::invalid("template.content_sid", e))?;
    MessageTemplate::new(content_sid, input.variables)
        .map_err(|e| ServiceError::invalid("template.variables", e))
}
