//! Twilio webhooks besides inbound messages: finding the account, delivery statuses.

use domain::{AccountSid, Channel, DeliveryStatus, FeatureName, MessageOwner};
use mockall::predicate::eq;
use ports::{DeliveryFailure, DeliveryUpdate, StoreError};
use serde_json::json;
use services::{DeliveryCallback, ServiceError};

use crate::fixtures::*;
use crate::inbound::{Setup, webhook_account};

const SID: &str = "SM0123456789abcdef0123456789abcdef";

fn callback(status: &str) -> DeliveryCallback {
    DeliveryCallback { message_sid: SID.to_owned(), status: status.to_owned(), ..DeliveryCallback::default() }
}

fn sent_message() -> domain::Message {
    message(&conversation(Channel::Sms), MessageOwner::Agent, "Olá", now())
}

/// Expects one `apply_delivery_status` with exactly these arguments, answering `update`.
fn expect_apply(
    setup: &mut Setup,
    status: DeliveryStatus,
    failure: Option<DeliveryFailure>,
    update: DeliveryUpdate,
) {
    setup
        .messages
        .expect_apply_delivery_status()
        .with(eq(owner_id()), eq(SID.to_owned()), eq(status), eq(failure), eq(now()))
        .times(1)
        .return_once(move |_, _, _, _, _| Ok(update));
}

#[tokio::test]
async fn a_status_moves_the_message_forward() {
    let mut setup = Setup::new();
    let advanced = DeliveryUpdate::Advanced(sent_message());
    expect_apply(&mut setup, DeliveryStatus::Delivered, None, advanced.clone());
    assert_eq!(setup.service().apply_status(&account(), callback("delivered")).await, Ok(advanced));
}

#[tokio::test]
async fn failures_carry_twilios_error() {
    let mut setup = Setup::new();
    let failure =
        DeliveryFailure { code: Some(30_006), message: Some("Landline or unreachable carrier".into()) };
    expect_apply(
        &mut setup,
        DeliveryStatus::Undelivered,
        Some(failure),
        DeliveryUpdate::Unchanged(sent_message()),
    );
    let input = DeliveryCallback {
        error_code: Some(30_006),
        error_message: Some("Landline or unreachable carrier".into()),
        ..callback("undelivered")
    };
    setup.service().apply_status(&account(), input).await.unwrap();

    let mut setup = Setup::new();
    let failure = DeliveryFailure { code: None, message: None };
    expect_apply(
        &mut setup,
        DeliveryStatus::Failed,
        Some(failure),
        DeliveryUpdate::Unchanged(sent_message()),
    );
    setup.service().apply_status(&account(), callback("failed")).await.unwrap();

    let mut setup = Setup::new();
    let failure = DeliveryFailure { code: Some(63_016), message: None };
    expect_apply(&mut setup, DeliveryStatus::Sent, Some(failure), DeliveryUpdate::Unchanged(sent_message()));
    setup
        .service()
        .apply_status(&account(), DeliveryCallback { error_code: Some(63_016), ..callback("sent") })
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unknown_sid_is_not_an_error() {
    let mut setup = Setup::new();
    expect_apply(&mut setup, DeliveryStatus::Read, None, DeliveryUpdate::UnknownSid);
    assert_eq!(
        setup.service().apply_status(&account(), callback("read")).await,
        Ok(DeliveryUpdate::UnknownSid)
    );
}

#[tokio::test]
async fn malformed_callbacks_are_refused_unapplied() {
    for (input, field) in [
        (callback("lost"), "MessageStatus"),
        (callback(""), "MessageStatus"),
        (DeliveryCallback { message_sid: String::new(), ..callback("sent") }, "MessageSid"),
        (DeliveryCallback { message_sid: "SM 1".into(), ..callback("sent") }, "MessageSid"),
    ] {
        let mut setup = Setup::new();
        setup.messages.expect_apply_delivery_status().never();
        assert_invalid(setup.service().apply_status(&account(), input).await, field);
    }
}

#[tokio::test]
async fn store_failures_are_reported() {
    let mut setup = Setup::new();
    setup.messages.expect_apply_delivery_status().times(1).returning(|_, _, _, _, _| Err(unavailable()));
    let result = setup.service().apply_status(&account(), callback("sent")).await;
    assert!(matches!(result, Err(ServiceError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn resolve_account_finds_the_active_account_by_sid() {
    let webhook = webhook_account(vec![feature(FeatureName::AUTO_REPLY, true, json!({"message": "Oi!"}))]);
    let mut setup = Setup::new();
    let found = webhook.clone();
    setup
        .accounts
        .expect_webhook_account()
        .with(eq(AccountSid::parse(ACCOUNT_SID).unwrap()))
        .times(1)
        .return_once(move |_| Ok(Some(found)));
    assert_eq!(setup.service().resolve_account(ACCOUNT_SID).await.unwrap(), Some(webhook));

    let mut setup = Setup::new();
    setup.accounts.expect_webhook_account().times(1).returning(|_| Ok(None));
    assert_eq!(setup.service().resolve_account(ACCOUNT_SID).await.unwrap(), None);
}

#[tokio::test]
async fn resolve_account_refuses_malformed_sids_and_maps_corrupt_tokens() {
    let mut setup = Setup::new();
    setup.accounts.expect_webhook_account().never();
    assert_invalid(setup.service().resolve_account("AC123").await, "AccountSid");

    let mut setup = Setup::new();
    setup.accounts.expect_webhook_account().times(1).returning(|_| Err(StoreError::Corrupt("token".into())));
    assert_eq!(
        setup.service().resolve_account(ACCOUNT_SID).await,
        Err(ServiceError::Internal("token".into()))
    );
}
