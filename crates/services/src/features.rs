//! Tenant features: named switches with a JSON configuration.

use std::sync::Arc;

use domain::feature::validate_feature_config;
use domain::{Feature, FeatureName, FeatureUpdate, OwnerId, Principal, UserRole};
use ports::{Clock, FeatureStore};
use serde_json::Value;

use crate::{ServiceError, authz::require};

/// Input to create a feature or replace its configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct PutFeature {
    /// The feature's name, such as `closure_detection`.
    pub name: String,
    /// On or off.
    pub enabled: bool,
    /// Its configuration, a JSON object (checked against the feature's schema when the service
    /// reads the feature).
    pub config: Value,
}

/// Feature use cases of a tenant.
#[derive(Clone)]
pub struct FeatureService {
    /// Features.
    pub features: Arc<dyn FeatureStore>,
    /// Time.
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for FeatureService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FeatureService").finish_non_exhaustive()
    }
}

impl FeatureService {
    /// The tenant's features. Requires `viewer`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`], storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn list(&self, principal: &Principal) -> Result<Vec<Feature>, ServiceError> {
        require(principal, UserRole::Viewer)?;
        Ok(self.features.list_features(principal.owner_id).await?)
    }

    /// One feature by name. Requires `viewer`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `name`;
    /// [`ServiceError::NotFound`]; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id))]
    pub async fn get(&self, principal: &Principal, name: &str) -> Result<Feature, ServiceError> {
        require(principal, UserRole::Viewer)?;
        let name = feature_name(name)?;
        Ok(self.features.get_feature(principal.owner_id, name).await?)
    }

    /// Creates the feature or replaces its configuration and switch, after checking the
    /// configuration against the feature's schema. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `name`, or `config` with a
    /// reason naming the feature and the setting at fault; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, feature = tracing::field::Empty))]
    pub async fn put(&self, principal: &Principal, input: PutFeature) -> Result<Feature, ServiceError> {
        require(principal, UserRole::Admin)?;
        self.store(principal.owner_id, input).await
    }

    /// [`Self::put`] for the operator (`conversa limits set`), who acts on a tenant without
    /// being one of its users.
    ///
    /// # Errors
    /// As [`Self::put`], [`ServiceError::Forbidden`] aside.
    #[tracing::instrument(skip_all, fields(owner_id = %owner_id, feature = tracing::field::Empty))]
    pub async fn put_as_operator(
        &self,
        owner_id: OwnerId,
        input: PutFeature,
    ) -> Result<Feature, ServiceError> {
        self.store(owner_id, input).await
    }

    async fn store(&self, owner_id: OwnerId, input: PutFeature) -> Result<Feature, ServiceError> {
        let name = feature_name(&input.name)?;
        tracing::Span::current().record("feature", name.as_str());
        validate_feature_config(&name, &input.config).map_err(|e| ServiceError::invalid("config", e))?;
        let update = FeatureUpdate { name, enabled: input.enabled, config: input.config };
        let feature = self.features.put_feature(owner_id, update, self.clock.now()).await?;
        tracing::info!(enabled = feature.enabled, "feature configured");
        Ok(feature)
    }

    /// Turns an existing feature on or off. Requires `admin`.
    ///
    /// # Errors
    /// [`ServiceError::Forbidden`]; [`ServiceError::Invalid`] naming `name`;
    /// [`ServiceError::NotFound`]; storage errors.
    #[tracing::instrument(skip_all, fields(owner_id = %principal.owner_id, feature = tracing::field::Empty))]
    pub async fn set_enabled(
        &self,
        principal: &Principal,
        name: &str,
        enabled: bool,
    ) -> Result<Feature, ServiceError> {
        require(principal, UserRole::Admin)?;
        let name = feature_name(name)?;
        tracing::Span::current().record("feature", name.as_str());
        let feature =
            self.features.set_feature_enabled(principal.owner_id, name, enabled, self.clock.now()).await?;
        tracing::info!(enabled, "feature switched");
        Ok(feature)
    }
}

fn feature_name(raw: &str) -> Result<FeatureName, ServiceError> {
    FeatureName::parse(raw).map_err(|e| ServiceError::invalid("name", e))
}
