use std::sync::Arc;

use domain::{FeatureName, UserRole};
use mockall::predicate::eq;
use ports::{MockFeatureStore, StoreError};
use serde_json::json;
use services::{FeatureService, PutFeature, ServiceError};

use crate::fixtures::*;

fn service(features: MockFeatureStore) -> FeatureService {
    FeatureService { features: Arc::new(features), clock: clock() }
}

fn name(raw: &str) -> FeatureName {
    FeatureName::parse(raw).unwrap()
}

#[tokio::test]
async fn viewers_read_features() {
    let mut features = MockFeatureStore::new();
    features
        .expect_list_features()
        .with(eq(owner_id()))
        .times(1)
        .returning(|_| Ok(vec![feature("crm_sync", true, json!({}))]));
    features
        .expect_get_feature()
        .with(eq(owner_id()), eq(name("crm_sync")))
        .times(1)
        .returning(|_, _| Ok(feature("crm_sync", true, json!({}))));
    let service = service(features);
    assert_eq!(service.list(&viewer()).await.unwrap().len(), 1);
    assert!(service.get(&viewer(), "crm_sync").await.unwrap().enabled);
}

#[tokio::test]
async fn get_refuses_bad_names_and_reports_missing_features() {
    let mut features = MockFeatureStore::new();
    features
        .expect_get_feature()
        .with(eq(owner_id()), eq(name("nope")))
        .times(1)
        .returning(|_, _| Err(StoreError::NotFound));
    let service = service(features);
    assert_invalid(service.get(&viewer(), "Not-A-Name").await, "name");
    assert_eq!(service.get(&viewer(), "nope").await, Err(ServiceError::NotFound));
}

#[tokio::test]
async fn admins_put_validated_configurations() {
    let mut features = MockFeatureStore::new();
    features
        .expect_put_feature()
        .withf(|owner, update, at| {
            *owner == owner_id()
                && update.name == name(FeatureName::CONVERSATION_LIFECYCLE)
                && update.enabled
                && update.config == json!({"idle_timeout_seconds": 600})
                && *at == now()
        })
        .times(1)
        .returning(|_, update, _| Ok(feature(update.name.as_str(), update.enabled, update.config)));
    let input = PutFeature {
        name: FeatureName::CONVERSATION_LIFECYCLE.into(),
        enabled: true,
        config: json!({"idle_timeout_seconds": 600}),
    };
    assert!(service(features).put(&admin(), input).await.unwrap().enabled);
}

#[tokio::test]
async fn put_refuses_bad_names_configs_and_non_admins() {
    let mut features = MockFeatureStore::new();
    features.expect_put_feature().never();
    let service = service(features);
    let bad_config = PutFeature {
        name: FeatureName::CONVERSATION_LIFECYCLE.into(),
        enabled: true,
        config: json!({"ttl_secs": 60}),
    };
    match service.put(&admin(), bad_config.clone()).await {
        Err(ServiceError::Invalid { field: "config", reason }) => {
            assert!(
                reason.contains(FeatureName::CONVERSATION_LIFECYCLE) && reason.contains("ttl_secs"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_invalid(
        service.put(&admin(), PutFeature { config: json!([]), name: "crm_sync".into(), enabled: true }).await,
        "config",
    );
    assert_invalid(
        service.put(&admin(), PutFeature { name: "9lives".into(), ..bad_config.clone() }).await,
        "name",
    );
    assert_forbidden(service.put(&agent(), bad_config).await, UserRole::Admin);
}

#[tokio::test]
async fn put_reports_store_failures() {
    let mut features = MockFeatureStore::new();
    features.expect_put_feature().times(1).returning(|_, _, _| Err(StoreError::Unavailable("down".into())));
    let input = PutFeature { name: "crm_sync".into(), enabled: false, config: json!({}) };
    assert_eq!(service(features).put(&admin(), input).await, Err(ServiceError::Unavailable("down".into())));
}

#[tokio::test]
async fn admins_switch_features() {
    let mut features = MockFeatureStore::new();
    features
        .expect_set_feature_enabled()
        .with(eq(owner_id()), eq(name(FeatureName::AUTO_REPLY)), eq(false), eq(now()))
        .times(1)
        .returning(|_, name, enabled, _| Ok(feature(name.as_str(), enabled, json!({"message": "oi"}))));
    features
        .expect_set_feature_enabled()
        .with(eq(owner_id()), eq(name("missing")), eq(true), eq(now()))
        .times(1)
        .returning(|_, _, _, _| Err(StoreError::NotFound));
    let service = service(features);
    assert!(!service.set_enabled(&admin(), FeatureName::AUTO_REPLY, false).await.unwrap().enabled);
    assert_eq!(service.set_enabled(&admin(), "missing", true).await, Err(ServiceError::NotFound));
}

#[tokio::test]
async fn set_enabled_refuses_bad_names_and_non_admins() {
    let mut features = MockFeatureStore::new();
    features.expect_set_feature_enabled().never();
    let service = service(features);
    assert_invalid(service.set_enabled(&admin(), "", true).await, "name");
    assert_forbidden(service.set_enabled(&agent(), "crm_sync", true).await, UserRole::Admin);
}
