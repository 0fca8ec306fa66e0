use std::sync::Arc;

use domain::{SecretString, TwilioAccount, TwilioAccountChanges, UserRole};
use mockall::predicate::eq;
use ports::{ConflictKind, MockTwilioAccountStore, StoreError, TwilioAccountDeletion};
use services::{
    CreateTwilioAccount, MAX_FRIENDLY_NAME_CHARS, ServiceError, TwilioAccountRemoval, TwilioAccountService,
    UpdateTwilioAccount,
};

use crate::fixtures::*;

fn service(accounts: MockTwilioAccountStore) -> TwilioAccountService {
    TwilioAccountService { accounts: Arc::new(accounts), clock: clock() }
}

fn input() -> CreateTwilioAccount {
    CreateTwilioAccount {
        account_sid: ACCOUNT_SID.into(),
        auth_token: SecretString::new(AUTH_TOKEN),
        friendly_name: Some("  main ".into()),
        phone_numbers: vec!["whatsapp:+14155238886".into(), "+1 415 523 8886".into()],
        messaging_service_sid: None,
    }
}

#[tokio::test]
async fn admins_register_normalised_accounts() {
    let mut accounts = MockTwilioAccountStore::new();
    accounts
        .expect_create_twilio_account()
        .withf(|owner, account, at| {
            *owner == owner_id()
                && account.account_sid.as_str() == ACCOUNT_SID
                && account.auth_token.expose() == AUTH_TOKEN
                && account.friendly_name.as_deref() == Some("main")
                && account.phone_numbers == ["+14155238886", "whatsapp:+14155238886"]
                && *at == now()
        })
        .times(1)
        .returning(|_, _, _| Ok(account()));
    assert_eq!(service(accounts).create(&admin(), input()).await.unwrap(), account());
}

#[tokio::test]
async fn a_blank_friendly_name_is_none() {
    let mut accounts = MockTwilioAccountStore::new();
    accounts
        .expect_create_twilio_account()
        .withf(|_, account, _| account.friendly_name.is_none())
        .times(1)
        .returning(|_, _, _| Ok(account()));
    service(accounts)
        .create(&admin(), CreateTwilioAccount { friendly_name: Some(" ".into()), ..input() })
        .await
        .unwrap();
}

#[tokio::test]
async fn create_refuses_bad_input_naming_the_field() {
    let cases = [
        (CreateTwilioAccount { account_sid: "AC1".into(), ..input() }, "account_sid"),
        (CreateTwilioAccount { auth_token: SecretString::new("short"), ..input() }, "auth_token"),
        (CreateTwilioAccount { phone_numbers: vec![], ..input() }, "phone_numbers"),
        (
            CreateTwilioAccount {
                messaging_service_sid: Some("AC0123456789abcdef0123456789abcdef".into()),
                ..input()
            },
            "messaging_service_sid",
        ),
        (CreateTwilioAccount { phone_numbers: vec!["4155238886".into()], ..input() }, "phone_numbers"),
        (
            CreateTwilioAccount { friendly_name: Some("x".repeat(MAX_FRIENDLY_NAME_CHARS + 1)), ..input() },
            "friendly_name",
        ),
    ];
    for (input, field) in cases {
        let mut accounts = MockTwilioAccountStore::new();
        accounts.expect_create_twilio_account().never();
        assert_invalid(service(accounts).create(&admin(), input).await, field);
    }
}

#[tokio::test]
async fn create_refuses_agents_and_duplicate_sids() {
    let mut accounts = MockTwilioAccountStore::new();
    accounts.expect_create_twilio_account().never();
    assert_forbidden(service(accounts).create(&agent(), input()).await, UserRole::Admin);

    let mut accounts = MockTwilioAccountStore::new();
    accounts
        .expect_create_twilio_account()
        .times(1)
        .returning(|_, _, _| Err(StoreError::Conflict(ports::ConflictKind::AccountSidTaken)));
    assert_eq!(
        service(accounts).create(&admin(), input()).await,
        Err(ServiceError::Conflict(ports::ConflictKind::AccountSidTaken))
    );
}

#[tokio::test]
async fn admins_read_accounts() {
    let id = account().id;
    let mut accounts = MockTwilioAccountStore::new();
    accounts.expect_list_twilio_accounts().with(eq(owner_id())).times(1).returning(|_| Ok(vec![account()]));
    accounts
        .expect_get_twilio_account()
        .with(eq(owner_id()), eq(id))
        .times(1)
        .returning(|_, _| Ok(account()));
    let service = service(accounts);
    assert_eq!(service.list(&admin()).await.unwrap(), vec![account()]);
    assert_eq!(service.get(&admin(), id).await.unwrap(), account());

    let mut accounts = MockTwilioAccountStore::new();
    accounts.expect_get_twilio_account().times(1).returning(|_, _| Err(StoreError::NotFound));
    accounts.expect_list_twilio_accounts().never();
    let service = self::service(accounts);
    assert_eq!(service.get(&admin(), id).await, Err(ServiceError::NotFound));
    assert_forbidden(service.list(&agent()).await, UserRole::Admin);
    assert_forbidden(service.get(&viewer(), id).await, UserRole::Admin);
}

#[tokio::test]
async fn account_sids_are_registered_in_twilios_form_whatever_their_case() {
    let mut accounts = MockTwilioAccountStore::new();
    accounts
        .expect_create_twilio_account()
        .withf(|_, account, _| account.account_sid.as_str() == ACCOUNT_SID)
        .times(1)
        .returning(|_, _, _| Ok(account()));
    let shouted = CreateTwilioAccount { account_sid: ACCOUNT_SID.to_ascii_uppercase(), ..input() };
    service(accounts).create(&admin(), shouted).await.unwrap();
}

const NEW_TOKEN: &str = "fedcba9876543210fedcba9876543210";

fn deactivated() -> TwilioAccount {
    TwilioAccount { active: false, ..account() }
}

#[tokio::test]
async fn admins_change_an_account_with_validated_normalised_fields() {
    let id = account().id;
    let mut accounts = MockTwilioAccountStore::new();
    accounts
        .expect_update_twilio_account()
        .withf(move |owner, account_id, changes, at| {
            *owner == owner_id()
                && *account_id == id
                && changes.friendly_name == Some(Some("second".to_owned()))
                && changes.auth_token.as_ref().map(SecretString::expose) == Some(NEW_TOKEN)
                && changes.phone_numbers.as_deref() == Some(&["+14155238886".to_owned()][..])
                && changes.active == Some(false)
                && changes
                    .messaging_service_sid
                    .as_ref()
                    .map(|sid| sid.as_ref().map(domain::MessagingServiceSid::as_str))
                    == Some(Some("MG0123456789abcdef0123456789abcdef"))
                && *at == now()
        })
        .times(1)
        .returning(|_, _, _, _| Ok(deactivated()));
    let input = UpdateTwilioAccount {
        friendly_name: Some(Some(" second ".into())),
        auth_token: Some(SecretString::new(NEW_TOKEN)),
        phone_numbers: Some(vec!["+1 415 523 8886".into()]),
        active: Some(false),
        messaging_service_sid: Some(Some("mg0123456789ABCDEF0123456789abcdef".into())),
    };
    assert_eq!(service(accounts).update(&admin(), id, input).await, Ok(deactivated()));
}

#[tokio::test]
async fn a_blank_or_null_label_is_removed_and_absent_fields_are_left_alone() {
    for label in [None, Some(" ".to_owned())] {
        let mut accounts = MockTwilioAccountStore::new();
        accounts
            .expect_update_twilio_account()
            .withf(|_, _, changes, _| {
                *changes
                    == TwilioAccountChanges { friendly_name: Some(None), ..TwilioAccountChanges::default() }
            })
            .times(1)
            .returning(|_, _, _, _| Ok(account()));
        let input = UpdateTwilioAccount { friendly_name: Some(label), ..UpdateTwilioAccount::default() };
        service(accounts).update(&admin(), account().id, input).await.unwrap();
    }
}

#[tokio::test]
async fn an_empty_change_reads_the_account_back_without_writing() {
    let mut accounts = MockTwilioAccountStore::new();
    accounts.expect_update_twilio_account().never();
    accounts
        .expect_get_twilio_account()
        .with(eq(owner_id()), eq(account().id))
        .times(1)
        .returning(|_, _| Ok(account()));
    let unchanged = service(accounts).update(&admin(), account().id, UpdateTwilioAccount::default()).await;
    assert_eq!(unchanged, Ok(account()));

    let mut accounts = MockTwilioAccountStore::new();
    accounts.expect_update_twilio_account().never();
    accounts.expect_get_twilio_account().times(1).returning(|_, _| Err(StoreError::NotFound));
    let foreign = service(accounts).update(&admin(), account().id, UpdateTwilioAccount::default()).await;
    assert_eq!(foreign, Err(ServiceError::NotFound));
}

#[tokio::test]
async fn update_refuses_bad_values_naming_the_field_and_other_roles() {
    let cases = [
        (
            UpdateTwilioAccount { auth_token: Some(SecretString::new("short")), ..Default::default() },
            "auth_token",
        ),
        (UpdateTwilioAccount { phone_numbers: Some(vec![]), ..Default::default() }, "phone_numbers"),
        (
            UpdateTwilioAccount { phone_numbers: Some(vec!["4155238886".into()]), ..Default::default() },
            "phone_numbers",
        ),
        (
            UpdateTwilioAccount {
                friendly_name: Some(Some("x".repeat(MAX_FRIENDLY_NAME_CHARS + 1))),
                ..Default::default()
            },
            "friendly_name",
        ),
    ];
    for (input, field) in cases {
        let mut accounts = MockTwilioAccountStore::new();
        accounts.expect_update_twilio_account().never();
        assert_invalid(service(accounts).update(&admin(), account().id, input).await, field);
    }
    for principal in [agent(), viewer()] {
        let mut accounts = MockTwilioAccountStore::new();
        accounts.expect_update_twilio_account().never();
        accounts.expect_get_twilio_account().never();
        let input = UpdateTwilioAccount { active: Some(false), ..Default::default() };
        assert_forbidden(service(accounts).update(&principal, account().id, input).await, UserRole::Admin);
    }
}

#[tokio::test]
async fn update_reports_what_the_store_refused() {
    for (refused, expected) in [
        (StoreError::NotFound, ServiceError::NotFound),
        (StoreError::Conflict(ConflictKind::NumberTaken), ServiceError::Conflict(ConflictKind::NumberTaken)),
    ] {
        let mut accounts = MockTwilioAccountStore::new();
        accounts.expect_update_twilio_account().times(1).return_once(move |_, _, _, _| Err(refused));
        let input =
            UpdateTwilioAccount { phone_numbers: Some(vec!["+14155238886".into()]), ..Default::default() };
        assert_eq!(service(accounts).update(&admin(), account().id, input).await, Err(expected));
    }
}

#[tokio::test]
async fn an_account_without_active_conversations_is_deleted_forced_or_not() {
    for force in [false, true] {
        let mut accounts = MockTwilioAccountStore::new();
        accounts
            .expect_delete_twilio_account()
            .with(eq(owner_id()), eq(account().id))
            .times(1)
            .returning(|_, _| Ok(TwilioAccountDeletion::Deleted));
        accounts.expect_update_twilio_account().never();
        let removed = service(accounts).remove(&admin(), account().id, force).await;
        assert_eq!(removed, Ok(TwilioAccountRemoval::Deleted), "force = {force}");
    }
}

#[tokio::test]
async fn an_account_in_use_is_kept_unless_forced_and_then_deactivated() {
    let in_use = |_: domain::OwnerId, _: domain::TwilioAccountId| {
        Ok(TwilioAccountDeletion::InUse { active_conversations: 2 })
    };
    let mut accounts = MockTwilioAccountStore::new();
    accounts.expect_delete_twilio_account().times(1).returning(in_use);
    accounts.expect_update_twilio_account().never();
    let refused = service(accounts).remove(&admin(), account().id, false).await;
    assert_eq!(refused, Err(ServiceError::AccountInUse { active_conversations: 2 }));
    assert_eq!(refused.unwrap_err().code(), "account_in_use");

    let mut accounts = MockTwilioAccountStore::new();
    accounts.expect_delete_twilio_account().times(1).returning(in_use);
    accounts
        .expect_update_twilio_account()
        .withf(|owner, id, changes, at| {
            *owner == owner_id()
                && *id == account().id
                && *changes == TwilioAccountChanges { active: Some(false), ..TwilioAccountChanges::default() }
                && *at == now()
        })
        .times(1)
        .returning(|_, _, _, _| Ok(deactivated()));
    let forced = service(accounts).remove(&admin(), account().id, true).await;
    assert_eq!(forced, Ok(TwilioAccountRemoval::Deactivated(deactivated())));
}

#[tokio::test]
async fn remove_refuses_other_roles_and_reports_an_unknown_account() {
    for principal in [agent(), viewer()] {
        let mut accounts = MockTwilioAccountStore::new();
        accounts.expect_delete_twilio_account().never();
        assert_forbidden(service(accounts).remove(&principal, account().id, true).await, UserRole::Admin);
    }
    let mut accounts = MockTwilioAccountStore::new();
    accounts.expect_delete_twilio_account().times(1).returning(|_, _| Err(StoreError::NotFound));
    assert_eq!(service(accounts).remove(&admin(), account().id, false).await, Err(ServiceError::NotFound));
}
