use std::sync::Arc;

use domain::{SecretString, UserRole};
use mockall::predicate::eq;
use ports::{MockTwilioAccountStore, StoreError};
use services::{CreateTwilioAccount, MAX_FRIENDLY_NAME_CHARS, ServiceError, TwilioAccountService};

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
