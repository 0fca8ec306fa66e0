use std::sync::Arc;

use domain::{ApiKey, ApiKeyId, Email, Owner, SecretString, User, UserId, UserRole};
use mockall::predicate::eq;
use ports::{ConflictKind, IssuedApiKey, MockApiKeyIssuer, MockTenantDirectory, OwnerCreated, StoreError};
use services::{
    CreateApiKey, CreateUser, FIRST_KEY_NAME, MAX_API_KEY_LEN, NewOwnerRequest, ServiceError, TenantService,
};
use uuid::Uuid;

use crate::fixtures::*;

struct Setup {
    directory: MockTenantDirectory,
    issuer: MockApiKeyIssuer,
}

impl Setup {
    fn new() -> Self {
        Self { directory: MockTenantDirectory::new(), issuer: MockApiKeyIssuer::new() }
    }

    /// The issuer hands out one key.
    fn issuing(mut self) -> Self {
        self.issuer.expect_issue().times(1).returning(issued);
        self
    }

    fn service(self) -> TenantService {
        TenantService { directory: Arc::new(self.directory), issuer: Arc::new(self.issuer), clock: clock() }
    }
}

fn issued() -> IssuedApiKey {
    IssuedApiKey {
        plaintext: SecretString::new("cnv_live_abcdef123456"),
        prefix: "cnv_live_abc".into(),
        hash: "h4sh".into(),
    }
}

fn user(email: &str, role: UserRole) -> User {
    User {
        id: user_id(),
        owner_id: owner_id(),
        name: "Ana".into(),
        email: Email::parse(email).unwrap(),
        role,
        active: true,
        created_at: now(),
        updated_at: now(),
    }
}

fn api_key(user_id: UserId, name: &str) -> ApiKey {
    ApiKey {
        id: ApiKeyId::from_uuid(Uuid::from_u128(0x5)),
        owner_id: owner_id(),
        user_id,
        name: name.into(),
        prefix: "cnv_live_abc".into(),
        last_used_at: None,
        revoked_at: None,
        created_at: now(),
    }
}

fn owner_request() -> NewOwnerRequest {
    NewOwnerRequest {
        name: "  Acme ".into(),
        email: "Ops@Acme.COM".into(),
        admin_name: None,
        admin_email: None,
    }
}

#[tokio::test]
async fn create_owner_creates_the_tenant_its_admin_and_a_key() {
    let mut setup = Setup::new().issuing();
    setup
        .directory
        .expect_create_owner()
        .withf(|input, at| {
            input.owner.name == "Acme"
                && input.owner.email.as_str() == "ops@acme.com"
                && input.admin.name == "Acme"
                && input.admin.email.as_str() == "ops@acme.com"
                && input.admin.role == UserRole::Admin
                && input.api_key.name == FIRST_KEY_NAME
                && input.api_key.prefix == "cnv_live_abc"
                && input.api_key.hash == "h4sh"
                && *at == now()
        })
        .times(1)
        .returning(|input, at| {
            let owner = Owner {
                id: owner_id(),
                name: input.owner.name,
                email: input.owner.email,
                active: true,
                created_at: at,
                updated_at: at,
            };
            Ok(OwnerCreated {
                owner,
                admin: user("ops@acme.com", UserRole::Admin),
                api_key: api_key(user_id(), FIRST_KEY_NAME),
            })
        });
    let (created, key) = setup.service().create_owner(owner_request()).await.unwrap();
    assert_eq!((created.owner.name.as_str(), key.expose()), ("Acme", "cnv_live_abcdef123456"));
}

#[tokio::test]
async fn create_owner_takes_an_explicit_admin() {
    let mut setup = Setup::new().issuing();
    setup
        .directory
        .expect_create_owner()
        .withf(|input, _| input.admin.name == "Bia" && input.admin.email.as_str() == "bia@acme.com")
        .times(1)
        .returning(|_, _| Err(StoreError::Conflict(ConflictKind::EmailTaken)));
    let request = NewOwnerRequest {
        admin_name: Some("Bia".into()),
        admin_email: Some("bia@acme.com".into()),
        ..owner_request()
    };
    assert_eq!(
        setup.service().create_owner(request).await.unwrap_err(),
        ServiceError::Conflict(ConflictKind::EmailTaken)
    );
}

#[tokio::test]
async fn create_owner_refuses_bad_input_before_issuing_a_key() {
    let cases = [
        (NewOwnerRequest { name: " ".into(), ..owner_request() }, "name"),
        (NewOwnerRequest { email: "acme".into(), ..owner_request() }, "email"),
        (NewOwnerRequest { admin_name: Some("x".repeat(201)), ..owner_request() }, "admin_name"),
        (NewOwnerRequest { admin_email: Some("bia@".into()), ..owner_request() }, "admin_email"),
    ];
    for (request, field) in cases {
        let mut setup = Setup::new();
        setup.issuer.expect_issue().never();
        setup.directory.expect_create_owner().never();
        assert_invalid(setup.service().create_owner(request).await, field);
    }
}

#[tokio::test]
async fn authenticate_resolves_a_key_by_its_hash() {
    let mut setup = Setup::new();
    setup.issuer.expect_hash().with(eq("cnv_live_abcdef123456")).times(1).returning(|_| "h4sh".into());
    setup
        .directory
        .expect_authenticate()
        .with(eq("h4sh".to_owned()), eq(now()))
        .times(1)
        .returning(|_, _| Ok(Some(admin())));
    assert_eq!(setup.service().authenticate("cnv_live_abcdef123456").await, Ok(Some(admin())));

    let mut setup = Setup::new();
    setup.issuer.expect_hash().times(1).returning(|_| "other".into());
    setup.directory.expect_authenticate().times(1).returning(|_, _| Ok(None));
    assert_eq!(setup.service().authenticate("revoked").await, Ok(None));
}

#[tokio::test]
async fn authenticate_ignores_empty_and_oversized_keys() {
    for presented in [String::new(), "k".repeat(MAX_API_KEY_LEN + 1)] {
        let mut setup = Setup::new();
        setup.issuer.expect_hash().never();
        setup.directory.expect_authenticate().never();
        assert_eq!(setup.service().authenticate(&presented).await, Ok(None));
    }
    let mut setup = Setup::new();
    setup.issuer.expect_hash().times(1).returning(|_| "h".into());
    setup
        .directory
        .expect_authenticate()
        .times(1)
        .returning(|_, _| Err(StoreError::Unavailable("down".into())));
    let at_limit = "k".repeat(MAX_API_KEY_LEN);
    assert_eq!(setup.service().authenticate(&at_limit).await, Err(ServiceError::Unavailable("down".into())));
}

#[tokio::test]
async fn admins_add_users() {
    let mut setup = Setup::new();
    setup
        .directory
        .expect_create_user()
        .withf(|owner, user, at| {
            *owner == owner_id()
                && user.name == "Ana"
                && user.email.as_str() == "ana@acme.com"
                && user.role == UserRole::Agent
                && *at == now()
        })
        .times(1)
        .returning(|_, user, _| Ok(self::user(user.email.as_str(), user.role)));
    let input = CreateUser { name: " Ana ".into(), email: "ANA@acme.com".into(), role: UserRole::Agent };
    assert_eq!(setup.service().create_user(&admin(), input).await.unwrap().role, UserRole::Agent);
}

#[tokio::test]
async fn create_user_refuses_bad_input_agents_and_duplicates() {
    let valid = CreateUser { name: "Ana".into(), email: "ana@acme.com".into(), role: UserRole::Viewer };
    for (input, field) in [
        (CreateUser { name: String::new(), ..valid.clone() }, "name"),
        (CreateUser { email: "ana at acme".into(), ..valid.clone() }, "email"),
    ] {
        let mut setup = Setup::new();
        setup.directory.expect_create_user().never();
        assert_invalid(setup.service().create_user(&admin(), input).await, field);
    }
    let mut setup = Setup::new();
    setup.directory.expect_create_user().never();
    assert_forbidden(setup.service().create_user(&agent(), valid.clone()).await, UserRole::Admin);

    let mut setup = Setup::new();
    setup
        .directory
        .expect_create_user()
        .times(1)
        .returning(|_, _, _| Err(StoreError::Conflict(ConflictKind::EmailTaken)));
    assert_eq!(
        setup.service().create_user(&admin(), valid).await,
        Err(ServiceError::Conflict(ConflictKind::EmailTaken))
    );
}

#[tokio::test]
async fn admins_read_users() {
    let mut setup = Setup::new();
    setup
        .directory
        .expect_list_users()
        .with(eq(owner_id()))
        .times(1)
        .returning(|_| Ok(vec![user("a@b.co", UserRole::Viewer)]));
    setup
        .directory
        .expect_get_user()
        .with(eq(owner_id()), eq(user_id()))
        .times(1)
        .returning(|_, _| Err(StoreError::NotFound));
    let service = setup.service();
    assert_eq!(service.list_users(&admin()).await.unwrap().len(), 1);
    assert_eq!(service.get_user(&admin(), user_id()).await, Err(ServiceError::NotFound));

    let mut setup = Setup::new();
    setup.directory.expect_list_users().never();
    setup.directory.expect_get_user().never();
    let service = setup.service();
    assert_forbidden(service.list_users(&agent()).await, UserRole::Admin);
    assert_forbidden(service.get_user(&viewer(), user_id()).await, UserRole::Admin);
}

#[tokio::test]
async fn admins_create_keys_and_see_the_plaintext_once() {
    let mut setup = Setup::new().issuing();
    setup
        .directory
        .expect_create_api_key()
        .withf(|owner, key, at| {
            *owner == owner_id()
                && key.user_id == user_id()
                && key.name == "CRM"
                && key.prefix == "cnv_live_abc"
                && key.hash == "h4sh"
                && *at == now()
        })
        .times(1)
        .returning(|_, key, _| Ok(api_key(key.user_id, &key.name)));
    let (key, plaintext) = setup
        .service()
        .create_api_key(&admin(), CreateApiKey { user_id: user_id(), name: " CRM ".into() })
        .await
        .unwrap();
    assert_eq!((key.name.as_str(), plaintext.expose()), ("CRM", "cnv_live_abcdef123456"));
}

#[tokio::test]
async fn create_api_key_refusals() {
    let input = CreateApiKey { user_id: user_id(), name: "CRM".into() };
    let mut setup = Setup::new().issuing();
    setup.directory.expect_create_api_key().times(1).returning(|_, _, _| Err(StoreError::NotFound));
    assert_invalid(setup.service().create_api_key(&admin(), input.clone()).await, "user_id");

    let mut setup = Setup::new().issuing();
    setup
        .directory
        .expect_create_api_key()
        .times(1)
        .returning(|_, _, _| Err(StoreError::Unavailable("down".into())));
    assert_eq!(
        setup.service().create_api_key(&admin(), input.clone()).await.unwrap_err(),
        ServiceError::Unavailable("down".into())
    );

    let mut setup = Setup::new();
    setup.issuer.expect_issue().never();
    setup.directory.expect_create_api_key().never();
    let service = setup.service();
    assert_invalid(
        service.create_api_key(&admin(), CreateApiKey { name: "  ".into(), ..input.clone() }).await,
        "name",
    );
    assert_forbidden(service.create_api_key(&agent(), input).await, UserRole::Admin);
}

#[tokio::test]
async fn operators_create_keys_from_a_user_id_alone() {
    let mut setup = Setup::new().issuing();
    setup.directory.expect_owner_of_user().with(eq(user_id())).times(1).returning(|_| Ok(Some(owner_id())));
    setup
        .directory
        .expect_create_api_key()
        .withf(|owner, key, _| *owner == owner_id() && key.user_id == user_id() && key.name == "cli")
        .times(1)
        .returning(|_, key, _| Ok(api_key(key.user_id, &key.name)));
    let (key, plaintext) = setup
        .service()
        .create_api_key_for_user(CreateApiKey { user_id: user_id(), name: "cli".into() })
        .await
        .unwrap();
    assert_eq!((key.user_id, plaintext.expose()), (user_id(), "cnv_live_abcdef123456"));

    let mut setup = Setup::new();
    setup.directory.expect_owner_of_user().times(1).returning(|_| Ok(None));
    setup.issuer.expect_issue().never();
    setup.directory.expect_create_api_key().never();
    assert_invalid(
        setup
            .service()
            .create_api_key_for_user(CreateApiKey { user_id: user_id(), name: "cli".into() })
            .await,
        "user_id",
    );
}

#[tokio::test]
async fn admins_list_and_revoke_keys() {
    let key_id = ApiKeyId::from_uuid(Uuid::from_u128(0x5));
    let mut setup = Setup::new();
    setup
        .directory
        .expect_list_api_keys()
        .with(eq(owner_id()))
        .times(1)
        .returning(|_| Ok(vec![api_key(user_id(), "CRM")]));
    setup
        .directory
        .expect_revoke_api_key()
        .with(eq(owner_id()), eq(key_id), eq(now()))
        .times(1)
        .returning(|_, _, at| Ok(ApiKey { revoked_at: Some(at), ..api_key(user_id(), "CRM") }));
    let service = setup.service();
    assert_eq!(service.list_api_keys(&admin()).await.unwrap().len(), 1);
    assert_eq!(service.revoke_api_key(&admin(), key_id).await.unwrap().revoked_at, Some(now()));

    let mut setup = Setup::new();
    setup.directory.expect_revoke_api_key().times(1).returning(|_, _, _| Err(StoreError::NotFound));
    setup.directory.expect_list_api_keys().never();
    let service = setup.service();
    assert_eq!(service.revoke_api_key(&admin(), key_id).await, Err(ServiceError::NotFound));
    assert_forbidden(service.list_api_keys(&agent()).await, UserRole::Admin);
    assert_forbidden(service.revoke_api_key(&agent(), key_id).await, UserRole::Admin);
}
