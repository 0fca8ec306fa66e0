//! Demo data: 3 tenants, 4 users, 5 features, 2 Twilio accounts and 1 conversation with
//! messages. Idempotent: a tenant whose email already exists is skipped with everything it
//! would have brought, so a second run adds nothing.

use chrono::{DateTime, Duration, Utc};
use domain::{
    Channel, Conversation, DeliveryStatus, Email, FeatureName, FeatureUpdate, LifecycleSettings, MessageBody,
    MessageDirection, MessageOwner, MessageType, NewApiKey, NewConversation, NewMessage, NewOwner,
    NewTwilioAccount, NewUser, OwnerId, PhoneNumber, SecretString, UserRole,
};
use ports::{
    ApiKeyIssuer, ConflictKind, FeatureStore, MessageStore, NewOwnerWithAdmin, StoreError, TenantDirectory,
    TwilioAccountStore,
};
use serde_json::json;

use crate::PgStore;

/// What a seed run did.
#[derive(Debug, Default)]
pub struct SeedReport {
    /// Tenants created by this run (0 on a second run).
    pub owners_created: usize,
    /// The first demo tenant, when this run created it.
    pub demo_owner_id: Option<OwnerId>,
    /// Its admin's API key, shown once, when this run created it.
    pub demo_api_key: Option<SecretString>,
}

struct DemoTenant {
    name: &'static str,
    email: &'static str,
    admin: (&'static str, &'static str),
}

const TENANTS: [DemoTenant; 3] = [
    DemoTenant {
        name: "Acme Atendimento",
        email: "contato@acme.example",
        admin: ("Ana Souza", "ana@acme.example"),
    },
    DemoTenant { name: "Beta Store", email: "hello@beta.example", admin: ("Ben Carter", "ben@beta.example") },
    DemoTenant {
        name: "Clínica Gama",
        email: "contacto@gama.example",
        admin: ("Gabriela Ruiz", "gabriela@gama.example"),
    },
];

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Rejected(format!("seed data is invalid: {e}"))
}

/// Seeds the demo data through the ports, as the application role.
///
/// # Errors
/// The first [`StoreError`] other than an already-seeded tenant.
pub async fn seed_demo_data(
    store: &PgStore,
    keys: &dyn ApiKeyIssuer,
    at: DateTime<Utc>,
) -> Result<SeedReport, StoreError> {
    let mut report = SeedReport::default();
    for (index, tenant) in TENANTS.iter().enumerate() {
        let issued = keys.issue();
        let input = NewOwnerWithAdmin {
            owner: NewOwner {
                name: tenant.name.to_owned(),
                email: Email::parse(tenant.email).map_err(invalid)?,
            },
            admin: NewUser {
                name: tenant.admin.0.to_owned(),
                email: Email::parse(tenant.admin.1).map_err(invalid)?,
                role: UserRole::Admin,
            },
            api_key: NewApiKey {
                user_id: domain::UserId::new_at(at),
                name: "demo".to_owned(),
                prefix: issued.prefix,
                hash: issued.hash,
            },
        };
        let created = match store.create_owner(input, at).await {
            Ok(created) => created,
            // The tenant's address is taken: seeded before.
            Err(StoreError::Conflict(ConflictKind::EmailTaken)) => continue,
            Err(other) => return Err(other),
        };
        report.owners_created += 1;
        let owner_id = created.owner.id;
        match index {
            0 => {
                seed_acme(store, owner_id, at).await?;
                report.demo_owner_id = Some(owner_id);
                report.demo_api_key = Some(issued.plaintext);
            }
            1 => seed_beta(store, owner_id, at).await?,
            _ => {}
        }
    }
    Ok(report)
}

async fn seed_acme(store: &PgStore, owner_id: OwnerId, at: DateTime<Utc>) -> Result<(), StoreError> {
    let agent = NewUser {
        name: "Bruno Lima".to_owned(),
        email: Email::parse("bruno@acme.example").map_err(invalid)?,
        role: UserRole::Agent,
    };
    store.create_user(owner_id, agent, at).await?;
    for (name, enabled, config) in [
        (FeatureName::CLOSURE_DETECTION, true, json!({"threshold": 0.7})),
        (
            FeatureName::CONVERSATION_LIFECYCLE,
            true,
            json!({"ttl_seconds": 86_400, "idle_timeout_seconds": 3_600}),
        ),
        (FeatureName::AUTO_REPLY, false, json!({"message": "Recebemos sua mensagem! Já vamos responder."})),
    ] {
        let name = FeatureName::parse(name).map_err(invalid)?;
        store.put_feature(owner_id, FeatureUpdate { name, enabled, config }, at).await?;
    }
    let account = NewTwilioAccount::parse(
        "AC00000000000000000000000000000a01",
        "0000000000000000000000000000a001",
        Some("Acme production".to_owned()),
        &["+5511940000001".to_owned(), "whatsapp:+5511940000001".to_owned()],
    )
    .map_err(invalid)?;
    store.create_twilio_account(owner_id, account, at).await?;

    let phone = |raw| PhoneNumber::parse(raw).map_err(invalid);
    let opened_at = at - Duration::minutes(5);
    let new = NewConversation {
        channel: Channel::Whatsapp,
        customer_phone: phone("+5511987650001")?,
        business_phone: phone("+5511940000001")?,
        context: json!({"topic": "entrega"}),
        metadata: json!({"source": "seed"}),
    };
    let candidate = Conversation::open(owner_id, new, &LifecycleSettings::default(), opened_at);
    let inbound = text(
        MessageDirection::Inbound,
        MessageOwner::User,
        "Oi! Meu pedido 1234 ainda não chegou.",
        Some("SM00000000000000000000000000seed01"),
    )?;
    let stored = store.store_inbound(candidate, inbound, 0, opened_at).await?;
    let reply = text(
        MessageDirection::Outbound,
        MessageOwner::Agent,
        "Olá! Já verifiquei: ele sai para entrega hoje.",
        None,
    )?;
    store
        .append_message(owner_id, stored.conversation.id, reply, None, opened_at + Duration::minutes(1))
        .await?;
    Ok(())
}

async fn seed_beta(store: &PgStore, owner_id: OwnerId, at: DateTime<Utc>) -> Result<(), StoreError> {
    for (name, enabled, config) in [
        (FeatureName::CLOSURE_DETECTION, false, json!({})),
        ("crm_sync", true, json!({"endpoint": "https://crm.beta.example/hooks"})),
    ] {
        let name = FeatureName::parse(name).map_err(invalid)?;
        store.put_feature(owner_id, FeatureUpdate { name, enabled, config }, at).await?;
    }
    let account = NewTwilioAccount::parse(
        "AC00000000000000000000000000000b02",
        "0000000000000000000000000000b002",
        Some("Beta SMS".to_owned()),
        &["+14155550102".to_owned()],
    )
    .map_err(invalid)?;
    store.create_twilio_account(owner_id, account, at).await?;
    Ok(())
}

fn text(
    direction: MessageDirection,
    sender: MessageOwner,
    body: &str,
    sid: Option<&str>,
) -> Result<NewMessage, StoreError> {
    Ok(NewMessage {
        direction,
        sender,
        message_type: MessageType::Text,
        body: Some(MessageBody::new(body).map_err(invalid)?),
        media: Vec::new(),
        template: None,
        context: json!({}),
        metadata: json!({}),
        provider_sid: sid.map(str::to_owned),
        delivery_status: if direction == MessageDirection::Inbound {
            DeliveryStatus::Received
        } else {
            DeliveryStatus::Delivered
        },
    })
}
