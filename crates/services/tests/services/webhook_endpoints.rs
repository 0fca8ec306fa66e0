//! Webhook endpoint administration: only admins, a target outside the public internet or an
//! unknown event type is refused before anything is stored, and the secret shown is the one
//! stored.

use std::sync::Arc;

use domain::{SecretString, UserRole, WebhookUrl};
use ports::{MockWebhookEndpointStore, MockWebhookSender, TargetRefused};
use services::{CreateWebhookEndpoint, WebhookEndpointService};

use crate::fixtures::{admin, agent, assert_forbidden, assert_invalid, clock, now, owner_id, viewer};

fn service(store: MockWebhookEndpointStore, sender: MockWebhookSender) -> WebhookEndpointService {
    WebhookEndpointService {
        endpoints: Arc::new(store),
        sender: Arc::new(sender),
        clock: clock(),
        allow_http: false,
    }
}

fn input(url: &str, events: &[&str]) -> CreateWebhookEndpoint {
    CreateWebhookEndpoint {
        url: url.to_owned(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        description: Some("  ".to_owned()),
    }
}

#[tokio::test]
async fn only_admins_manage_endpoints() {
    let svc = service(MockWebhookEndpointStore::new(), MockWebhookSender::new());
    for caller in [viewer(), agent()] {
        assert_forbidden(svc.create(&caller, input("https://crm.example/h", &[])).await, UserRole::Admin);
        assert_forbidden(
            svc.rotate_secret(&caller, domain::WebhookEndpointId::new_at(now())).await,
            UserRole::Admin,
        );
    }
}

#[tokio::test]
async fn refused_targets_plain_http_and_unknown_types_store_nothing() {
    let mut sender = MockWebhookSender::new();
    sender.expect_check_target().returning(|url| {
        Err(TargetRefused::PrivateAddress {
            host: url.url().host_str().unwrap().to_owned(),
            address: "10.0.0.1".into(),
        })
    });
    let svc = service(MockWebhookEndpointStore::new(), sender);
    assert_invalid(svc.create(&admin(), input("https://internal.example/h", &[])).await, "url");
    assert_invalid(svc.create(&admin(), input("http://crm.example/h", &[])).await, "url");
    assert_invalid(svc.create(&admin(), input("not a url", &[])).await, "url");
    assert_invalid(
        svc.create(&admin(), input("https://crm.example/h", &["message.deleted"])).await,
        "events",
    );
}

#[tokio::test]
async fn registration_stores_the_secret_it_shows_once_and_types_without_repeats() {
    let mut sender = MockWebhookSender::new();
    sender.expect_check_target().times(1).returning(|_| Ok(()));
    sender
        .expect_new_secret()
        .times(1)
        .returning(|| SecretString::new("whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"));
    let mut store = MockWebhookEndpointStore::new();
    store
        .expect_create_webhook_endpoint()
        .withf(|owner, endpoint, at| {
            *owner == owner_id()
                && endpoint.secret.expose() == "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"
                && endpoint.event_types == [domain::EventType::MessageCreated]
                && endpoint.description.is_none()
                && *at == now()
        })
        .times(1)
        .returning(|owner, endpoint, at| {
            Ok(domain::WebhookEndpoint {
                id: domain::WebhookEndpointId::new_at(at),
                owner_id: owner,
                url: endpoint.url,
                event_types: endpoint.event_types,
                description: endpoint.description,
                enabled: true,
                disabled_reason: None,
                consecutive_failures: 0,
                previous_secret_expires_at: None,
                created_at: at,
                updated_at: at,
            })
        });
    let created = service(store, sender)
        .create(&admin(), input("https://crm.example/h", &["message.created", " message.created"]))
        .await
        .unwrap();
    assert_eq!(created.secret.expose(), "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0");
    assert_eq!(created.endpoint.url, WebhookUrl::parse("https://crm.example/h", false).unwrap());
}
