//! The webhook service's bench, shared by the inbound, status and spool tests: its mocks, a
//! tenant whose webhooks verify, and Twilio's form fields.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{
    AccountSid, Conversation, Feature, Message, MessageId, MessageOwner, NewMessage, SecretString,
    TenantSettings, TwilioCredentials,
};
use mockall::predicate::eq;
use ports::{
    InboundStored, MockConversationStore, MockMessageStore, MockWebhookAccounts, MockWebhookSpool,
    MockWebhookVerifier, WebhookAccount,
};
use services::{InboundOutcome, Receipt, ServiceError, SignedWebhook, StatusOutcome, TwilioWebhookService};
use uuid::Uuid;

use crate::fixtures::*;

/// The public URL Twilio posts inbound messages to.
pub const INBOUND_URL: &str = "https://conversa.example/webhooks/twilio/inbound";
/// The public URL Twilio posts status callbacks to (with a query, which the signature covers).
pub const STATUS_URL: &str = "https://conversa.example/webhooks/twilio/status?tenant=main";
/// The `X-Twilio-Signature` of every signed webhook.
pub const SIGNATURE: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
/// Twilio's id of the message.
pub const MESSAGE_SID: &str = "SM0123456789abcdef0123456789abcdef";

/// The tenant's Account SID.
pub fn account_sid() -> AccountSid {
    AccountSid::parse(ACCOUNT_SID).unwrap()
}

/// The tenant's account as the webhook port finds it, with the settings of `features`.
pub fn webhook_account(features: &[Feature]) -> Arc<WebhookAccount> {
    Arc::new(WebhookAccount {
        credentials: TwilioCredentials { account: account(), auth_token: SecretString::new(AUTH_TOKEN) },
        settings: TenantSettings::from_features(features),
    })
}

/// A webhook's form fields, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// A text message `body` from the customer to the tenant's SMS number.
    pub fn inbound(body: &str) -> Self {
        Self::of(&[
            ("AccountSid", ACCOUNT_SID),
            ("MessageSid", MESSAGE_SID),
            ("From", CUSTOMER),
            ("To", BUSINESS),
            ("Body", body),
            ("NumMedia", "0"),
        ])
    }

    /// A status callback reporting `status` for [`MESSAGE_SID`].
    pub fn status(status: &str) -> Self {
        Self::of(&[("AccountSid", ACCOUNT_SID), ("MessageSid", MESSAGE_SID), ("MessageStatus", status)])
    }

    fn of(pairs: &[(&str, &str)]) -> Self {
        Self(pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect())
    }

    /// With the field `name` set to `value` (the first of that name replaced, or one appended).
    pub fn set(mut self, name: &str, value: impl Into<String>) -> Self {
        let value = value.into();
        match self.0.iter_mut().find(|(key, _)| key == name) {
            Some((_, old)) => *old = value,
            None => self.0.push((name.to_owned(), value)),
        }
        self
    }

    /// Without any field `name`.
    pub fn without(mut self, name: &str) -> Self {
        self.0.retain(|(key, _)| key != name);
        self
    }

    /// The fields, as the service receives them.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.0.clone()
    }
}

/// An inbound-message webhook with these fields, signed.
pub fn inbound_webhook(fields: Fields) -> SignedWebhook {
    SignedWebhook { url: INBOUND_URL.to_owned(), signature: Some(SIGNATURE.to_owned()), fields: fields.0 }
}

/// A status-callback webhook with these fields, signed.
pub fn status_webhook(fields: Fields) -> SignedWebhook {
    SignedWebhook { url: STATUS_URL.to_owned(), signature: Some(SIGNATURE.to_owned()), fields: fields.0 }
}

/// The webhook service's ports as mocks. A call no test expected fails the test.
pub struct Setup {
    pub accounts: MockWebhookAccounts,
    pub verifier: MockWebhookVerifier,
    pub conversations: MockConversationStore,
    pub messages: MockMessageStore,
    pub spool: MockWebhookSpool,
}

impl Setup {
    /// Mocks expecting nothing yet.
    pub fn new() -> Self {
        Self {
            accounts: MockWebhookAccounts::new(),
            verifier: MockWebhookVerifier::new(),
            conversations: MockConversationStore::new(),
            messages: MockMessageStore::new(),
            spool: MockWebhookSpool::new(),
        }
    }

    /// The tenant's account is looked up once, found with `features`, and the webhook's
    /// signature verifies.
    pub fn tenant(features: &[Feature]) -> Self {
        Self::new().account_found(features, 1).signature_verifies(true)
    }

    /// The tenant's account is looked up `times` times by its SID and found with `features`.
    pub fn account_found(mut self, features: &[Feature], times: usize) -> Self {
        let found = webhook_account(features);
        self.accounts
            .expect_webhook_account()
            .with(eq(account_sid()))
            .times(times)
            .returning(move |_| Ok(Some(Arc::clone(&found))));
        self
    }

    /// The signature is checked once and is `valid` or not.
    pub fn signature_verifies(mut self, valid: bool) -> Self {
        self.verifier.expect_verify().times(1).return_const(valid);
        self
    }

    /// Nothing may be stored, closed or spooled.
    pub fn stores_nothing(mut self) -> Self {
        self.messages.expect_store_inbound().never();
        self.messages.expect_apply_delivery_status().never();
        self.spool.expect_push().never();
        self.no_detection()
    }

    /// No conversation may be closed by detection.
    pub fn no_detection(mut self) -> Self {
        self.conversations.expect_close_detected().never();
        self.conversations.expect_propose_closure().never();
        self
    }

    /// `store_inbound` stores the message in `conversation` (or reports it a duplicate).
    pub fn storing_in(mut self, conversation: Conversation, duplicate: bool) -> Self {
        self.messages.expect_store_inbound().times(1).return_once(move |_, message, _, at| {
            Ok(InboundStored {
                message: stored(&conversation, &message, at),
                conversation,
                conversation_created: false,
                duplicate,
                recent: Vec::new(),
            })
        });
        self
    }

    /// `store_inbound` stores the message in `conversation`, asked for a window of `window`
    /// messages, and returns `turns` as the conversation's latest.
    pub fn storing_with_window(
        mut self,
        conversation: Conversation,
        window: u32,
        turns: Vec<Message>,
    ) -> Self {
        self.messages
            .expect_store_inbound()
            .withf(move |_, _, asked, _| *asked == window)
            .times(1)
            .return_once(move |_, message, _, at| {
                Ok(InboundStored {
                    message: stored(&conversation, &message, at),
                    conversation,
                    conversation_created: false,
                    duplicate: false,
                    recent: turns.iter().map(domain::MessageTurn::from).collect(),
                })
            });
        self
    }

    /// The service over these mocks, with the fixed clock.
    pub fn service(self) -> TwilioWebhookService {
        TwilioWebhookService {
            accounts: Arc::new(self.accounts),
            verifier: Arc::new(self.verifier),
            conversations: Arc::new(self.conversations),
            messages: Arc::new(self.messages),
            spool: Arc::new(self.spool),
            clock: clock(),
        }
    }

    /// Receives a signed inbound webhook with `fields`.
    pub async fn inbound(self, fields: Fields) -> Result<Receipt<InboundOutcome>, ServiceError> {
        self.service().receive_inbound(inbound_webhook(fields)).await
    }

    /// Receives a signed inbound webhook with `fields`, which must be stored.
    pub async fn stored(self, fields: Fields) -> InboundOutcome {
        match self.inbound(fields).await {
            Ok(Receipt::Stored(outcome)) => outcome,
            other => panic!("expected the message stored, got {other:?}"),
        }
    }

    /// Receives a signed status callback with `fields`.
    pub async fn status(self, fields: Fields) -> Result<Receipt<StatusOutcome>, ServiceError> {
        self.service().receive_status(status_webhook(fields)).await
    }
}

/// The id `store_inbound` gives the message.
pub fn stored_message_id() -> MessageId {
    MessageId::from_uuid(Uuid::from_u128(0x1f))
}

/// The message `store_inbound` would store in `conversation`.
pub fn stored(conversation: &Conversation, new: &NewMessage, at: DateTime<Utc>) -> Message {
    let mut message = crate::fixtures::message(conversation, MessageOwner::User, "placeholder", at);
    message.id = stored_message_id();
    message.body.clone_from(&new.body);
    message.media.clone_from(&new.media);
    message.message_type = new.message_type;
    message.metadata = new.metadata.clone();
    message.provider_sid.clone_from(&new.provider_sid);
    message
}

/// What `store_inbound` answers for a message that opened `candidate`.
pub fn opened(candidate: Conversation, message: &NewMessage, at: DateTime<Utc>) -> InboundStored {
    InboundStored {
        message: stored(&candidate, message, at),
        conversation: candidate,
        conversation_created: true,
        duplicate: false,
        recent: Vec::new(),
    }
}
