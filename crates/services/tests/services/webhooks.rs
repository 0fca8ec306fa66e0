//! Every webhook's first steps (finding the account, verifying the signature, before anything
//! is stored) and delivery-status callbacks.

use domain::{Channel, DeliveryStatus, MessageOwner};
use mockall::predicate::eq;
use ports::{DeliveryFailure, DeliveryUpdate, StoreError};
use services::{Receipt, ServiceError, SignedWebhook};

use crate::fixtures::*;
use crate::twilio::*;

/// What a bad signature and an unknown account both get.
const REFUSED: ServiceError = ServiceError::InvalidSignature("invalid signature");

/// Both webhooks, signed, with valid fields.
fn both_webhooks() -> [SignedWebhook; 2] {
    [inbound_webhook(Fields::inbound("oi")), status_webhook(Fields::status("delivered"))]
}

/// Receives `webhook` at the endpoint its URL names, answering only whether it failed how.
async fn receive(setup: Setup, webhook: SignedWebhook) -> Result<(), ServiceError> {
    let service = setup.service();
    if webhook.url == INBOUND_URL {
        service.receive_inbound(webhook).await.map(drop)
    } else {
        service.receive_status(webhook).await.map(drop)
    }
}

fn unsigned(webhook: SignedWebhook) -> SignedWebhook {
    SignedWebhook { signature: None, ..webhook }
}

#[tokio::test]
async fn the_signature_is_checked_with_the_accounts_token_over_the_exact_url_and_fields() {
    let fields = Fields::inbound("oi").set("NumMedia", "1").set("MediaUrl0", "https://api.twilio.com/m/1");
    let expected = fields.pairs();
    let mut setup = Setup::new().account_found(&[], 1).stores_nothing();
    setup
        .verifier
        .expect_verify()
        .withf(move |token, url, params, signature| {
            token.expose() == AUTH_TOKEN && url == INBOUND_URL && params == expected && signature == SIGNATURE
        })
        .times(1)
        .return_const(false);
    assert_eq!(setup.inbound(fields).await, Err(REFUSED));

    let fields = Fields::status("sent").set("ErrorCode", "30001");
    let expected = fields.pairs();
    let mut setup = Setup::new().account_found(&[], 1).stores_nothing();
    setup
        .verifier
        .expect_verify()
        .withf(move |token, url, params, signature| {
            token.expose() == AUTH_TOKEN && url == STATUS_URL && params == expected && signature == SIGNATURE
        })
        .times(1)
        .return_const(false);
    assert_eq!(setup.status(fields).await, Err(REFUSED));
}

#[tokio::test]
async fn nothing_is_stored_or_spooled_when_the_signature_does_not_verify() {
    for webhook in both_webhooks() {
        let setup = Setup::new().account_found(&[], 1).signature_verifies(false).stores_nothing();
        assert_eq!(receive(setup, webhook).await, Err(REFUSED));
    }
}

#[tokio::test]
async fn an_unknown_account_is_refused_like_a_bad_signature_without_verifying() {
    for webhook in both_webhooks() {
        let mut setup = Setup::new().stores_nothing();
        setup.accounts.expect_webhook_account().with(eq(account_sid())).times(1).returning(|_| Ok(None));
        setup.verifier.expect_verify().never();
        assert_eq!(receive(setup, webhook).await, Err(REFUSED));
    }
}

#[tokio::test]
async fn a_missing_signature_is_refused_before_the_account_is_looked_up() {
    for webhook in both_webhooks() {
        let mut setup = Setup::new().stores_nothing();
        setup.accounts.expect_webhook_account().never();
        setup.verifier.expect_verify().never();
        let result = receive(setup, unsigned(webhook)).await;
        assert!(matches!(result, Err(ServiceError::InvalidSignature(_))), "{result:?}");
    }
}

#[tokio::test]
async fn a_missing_or_malformed_account_sid_is_refused_before_anything_else() {
    for fields in [
        Fields::inbound("oi").without("AccountSid"),
        Fields::inbound("oi").set("AccountSid", "AC123"),
        Fields::status("sent").set("AccountSid", ""),
    ] {
        for webhook in [inbound_webhook(fields.clone()), unsigned(status_webhook(fields))] {
            let mut setup = Setup::new().stores_nothing();
            setup.accounts.expect_webhook_account().never();
            setup.verifier.expect_verify().never();
            assert_invalid(receive(setup, webhook).await, "AccountSid");
        }
    }
}

#[tokio::test]
async fn an_undecryptable_token_is_an_internal_error() {
    let mut setup = Setup::new().stores_nothing();
    setup.accounts.expect_webhook_account().times(1).returning(|_| Err(StoreError::Corrupt("token".into())));
    setup.verifier.expect_verify().never();
    assert_eq!(setup.inbound(Fields::inbound("oi")).await, Err(ServiceError::Internal("token".into())));
}

fn sent_message() -> domain::Message {
    message(&conversation(Channel::Sms), MessageOwner::Agent, "Olá", now())
}

/// A verified tenant whose store expects one `apply_delivery_status` with exactly these
/// arguments, answering `update`.
fn applying(status: DeliveryStatus, failure: Option<DeliveryFailure>, update: DeliveryUpdate) -> Setup {
    let mut setup = Setup::tenant(&[]);
    setup
        .messages
        .expect_apply_delivery_status()
        .with(eq(owner_id()), eq(None), eq(MESSAGE_SID.to_owned()), eq(status), eq(failure), eq(now()))
        .times(1)
        .return_once(move |_, _, _, _, _, _| Ok(update));
    setup.spool.expect_push().never();
    setup
}

#[tokio::test]
async fn a_status_moves_the_message_forward() {
    let advanced = DeliveryUpdate::Advanced(sent_message());
    let setup = applying(DeliveryStatus::Delivered, None, advanced.clone());
    assert_eq!(setup.status(Fields::status("delivered")).await, Ok(Receipt::Stored(advanced)));
}

#[tokio::test]
async fn failures_carry_twilios_error() {
    let failure =
        DeliveryFailure { code: Some(30_006), message: Some("Landline or unreachable carrier".into()) };
    let unchanged = DeliveryUpdate::Unchanged(sent_message());
    let setup = applying(DeliveryStatus::Undelivered, Some(failure), unchanged.clone());
    let fields = Fields::status("undelivered")
        .set("ErrorCode", "30006")
        .set("ErrorMessage", "Landline or unreachable carrier");
    assert_eq!(setup.status(fields).await, Ok(Receipt::Stored(unchanged.clone())));

    let failure = DeliveryFailure { code: None, message: None };
    let setup = applying(DeliveryStatus::Failed, Some(failure), unchanged.clone());
    assert_eq!(setup.status(Fields::status("failed")).await, Ok(Receipt::Stored(unchanged.clone())));

    let failure = DeliveryFailure { code: Some(63_016), message: None };
    let setup = applying(DeliveryStatus::Sent, Some(failure), unchanged.clone());
    let fields = Fields::status("sent").set("ErrorCode", "63016");
    assert_eq!(setup.status(fields).await, Ok(Receipt::Stored(unchanged)));
}

#[tokio::test]
async fn an_unknown_sid_is_not_an_error() {
    let setup = applying(DeliveryStatus::Read, None, DeliveryUpdate::UnknownSid);
    assert_eq!(setup.status(Fields::status("read")).await, Ok(Receipt::Stored(DeliveryUpdate::UnknownSid)));
}

#[tokio::test]
async fn the_older_sms_sid_and_sms_status_are_accepted() {
    let setup = applying(DeliveryStatus::Delivered, None, DeliveryUpdate::UnknownSid);
    let fields = Fields::status("")
        .without("MessageSid")
        .without("MessageStatus")
        .set("SmsSid", MESSAGE_SID)
        .set("SmsStatus", "delivered");
    assert_eq!(setup.status(fields).await, Ok(Receipt::Stored(DeliveryUpdate::UnknownSid)));
}

#[tokio::test]
async fn malformed_callbacks_are_refused_after_a_good_signature_unapplied_and_unspooled() {
    for (fields, field) in [
        (Fields::status("lost"), "MessageStatus"),
        (Fields::status(""), "MessageStatus"),
        (Fields::status("sent").without("MessageStatus"), "MessageStatus"),
        (Fields::status("sent").set("MessageSid", ""), "MessageSid"),
        (Fields::status("sent").set("MessageSid", "SM 1"), "MessageSid"),
        (Fields::status("failed").set("ErrorCode", "carrier"), "ErrorCode"),
    ] {
        let setup = Setup::tenant(&[]).stores_nothing();
        assert_invalid(setup.status(fields).await, field);
    }
}

#[tokio::test]
async fn status_store_failures_other_than_unavailability_are_reported_not_spooled() {
    let mut setup = Setup::tenant(&[]).no_detection();
    setup
        .messages
        .expect_apply_delivery_status()
        .times(1)
        .returning(|_, _, _, _, _, _| Err(StoreError::Corrupt("row".into())));
    setup.spool.expect_push().never();
    assert_eq!(setup.status(Fields::status("sent")).await, Err(ServiceError::Internal("row".into())));
}

/// A status callback at the URL the dispatcher gives Twilio, which names our message.
fn naming(message_id: &str, fields: &Fields) -> SignedWebhook {
    SignedWebhook {
        url: format!("{STATUS_URL}&message_id={message_id}"),
        signature: Some(SIGNATURE.to_owned()),
        fields: fields.pairs(),
    }
}

#[tokio::test]
async fn a_callback_naming_its_message_hands_the_store_that_id_with_the_sid() {
    let message = sent_message();
    let id = message.id;
    let mut setup = Setup::tenant(&[]);
    let advanced = DeliveryUpdate::Advanced(message);
    let answer = advanced.clone();
    setup
        .messages
        .expect_apply_delivery_status()
        .with(
            eq(owner_id()),
            eq(Some(id)),
            eq(MESSAGE_SID.to_owned()),
            eq(DeliveryStatus::Delivered),
            eq(None),
            eq(now()),
        )
        .times(1)
        .return_once(move |_, _, _, _, _, _| Ok(answer));
    setup.spool.expect_push().never();
    let webhook = naming(&id.to_string(), &Fields::status("delivered"));
    assert_eq!(setup.service().receive_status(webhook).await, Ok(Receipt::Stored(advanced)));
}

#[tokio::test]
async fn the_signature_covers_the_url_that_names_the_message() {
    let id = sent_message().id;
    let mut setup = Setup::new().account_found(&[], 1).stores_nothing();
    let url = format!("{STATUS_URL}&message_id={id}");
    setup.verifier.expect_verify().withf(move |_, signed, _, _| *signed == url).times(1).return_const(false);
    let webhook = naming(&id.to_string(), &Fields::status("delivered"));
    assert_eq!(setup.service().receive_status(webhook).await, Err(REFUSED));
}

#[tokio::test]
async fn a_message_id_that_is_not_one_is_refused_after_the_signature_and_applies_nothing() {
    let setup = Setup::tenant(&[]).stores_nothing();
    let webhook = naming("not-a-uuid", &Fields::status("delivered"));
    assert_invalid(setup.service().receive_status(webhook).await, "message_id");
}
