//! Resolving a tenant's settings from its features.

use domain::{OwnerId, TenantSettings};
use ports::FeatureStore;

use crate::ServiceError;

/// The tenant's settings, resolved from its stored features.
pub(crate) async fn tenant_settings(
    features: &dyn FeatureStore,
    owner_id: OwnerId,
) -> Result<TenantSettings, ServiceError> {
    let features = features.list_features(owner_id).await?;
    Ok(TenantSettings::from_features(&features))
}
