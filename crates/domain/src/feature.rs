//! Per-tenant features: a named switch with a JSON configuration.
//!
//! Most features are free-form, but the ones the service itself reads have a typed
//! configuration that is validated when a tenant sets it ([`validate_feature_config`]) and
//! resolved into [`TenantSettings`] when a use case needs it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::closure::{ClosureConfig, ClosureConfigError};
use crate::{FeatureId, OwnerId};

/// Why a feature name or configuration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    /// Names are 1–64 characters of `a-z`, `0-9` and `_`, starting with a letter.
    #[error("feature name `{0}` must be 1-64 characters of a-z, 0-9 and '_', starting with a letter")]
    InvalidName(String),
    /// The configuration, as compact JSON, is larger than [`MAX_FEATURE_CONFIG_BYTES`].
    #[error("the configuration is {bytes} bytes; at most {MAX_FEATURE_CONFIG_BYTES} are accepted")]
    ConfigTooLarge {
        /// Its size as compact JSON.
        bytes: usize,
    },
    /// The configuration does not match the feature's schema.
    #[error("invalid configuration for feature `{feature}`: {reason}")]
    InvalidConfig {
        /// The feature.
        feature: String,
        /// What is wrong, naming the field.
        reason: String,
    },
}

/// The most features one tenant may have: every feature costs the tenant's own requests, never
/// another tenant's, only while it is bounded.
pub const MAX_FEATURES_PER_TENANT: usize = 64;
/// The largest configuration of one feature, as compact JSON.
pub const MAX_FEATURE_CONFIG_BYTES: usize = 16 * 1024;
/// The deepest nesting of objects and arrays in a feature's configuration (the configuration
/// object itself is level 1).
pub const MAX_FEATURE_CONFIG_DEPTH: usize = 10;

/// A feature's name, such as `closure_detection`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct FeatureName(String);

impl FeatureName {
    /// Closure detection ([`ClosureConfig`]).
    pub const CLOSURE_DETECTION: &'static str = "closure_detection";
    /// Conversation time limits ([`LifecycleSettings`]).
    pub const CONVERSATION_LIFECYCLE: &'static str = "conversation_lifecycle";
    /// TwiML auto-reply to inbound messages ([`AutoReplySettings`]).
    pub const AUTO_REPLY: &'static str = "auto_reply";
    /// Rate limits and send quotas that replace the configured defaults
    /// ([`crate::LimitsOverride`]).
    pub const LIMITS: &'static str = "limits";

    /// Validates a name.
    ///
    /// # Errors
    /// [`FeatureError::InvalidName`].
    pub fn parse(raw: &str) -> Result<Self, FeatureError> {
        let valid = (1..=64).contains(&raw.len())
            && raw.starts_with(|c: char| c.is_ascii_lowercase())
            && raw.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if valid { Ok(Self(raw.to_owned())) } else { Err(FeatureError::InvalidName(raw.to_owned())) }
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for FeatureName {
    type Error = FeatureError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<FeatureName> for String {
    fn from(name: FeatureName) -> Self {
        name.0
    }
}

impl std::fmt::Display for FeatureName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tenant's feature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Feature {
    /// The feature's id.
    pub id: FeatureId,
    /// The tenant.
    pub owner_id: OwnerId,
    /// Unique per tenant.
    pub name: FeatureName,
    /// Whether the feature is on.
    pub enabled: bool,
    /// Its configuration.
    pub config: serde_json::Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
}

/// Input to create or replace a feature's configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct FeatureUpdate {
    /// The feature.
    pub name: FeatureName,
    /// On or off.
    pub enabled: bool,
    /// New configuration, already checked by [`validate_feature_config`].
    pub config: serde_json::Value,
}

/// How long conversations live and when they go idle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LifecycleSettings {
    /// Lifetime of a new conversation, in seconds.
    pub ttl_seconds: u32,
    /// A conversation with no message for this long is closed as `idle_timeout`.
    pub idle_timeout_seconds: u32,
    /// The most one `extend` may add, in seconds.
    pub max_extension_seconds: u32,
    /// A conversation never lives longer than this after it was created, extended or not.
    pub max_lifetime_seconds: u32,
}

impl Default for LifecycleSettings {
    fn default() -> Self {
        Self {
            ttl_seconds: 24 * 3600,
            idle_timeout_seconds: 2 * 3600,
            max_extension_seconds: 24 * 3600,
            max_lifetime_seconds: 7 * 24 * 3600,
        }
    }
}

impl LifecycleSettings {
    fn validate(&self) -> Result<(), String> {
        let positive = [
            ("ttl_seconds", self.ttl_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
            ("max_extension_seconds", self.max_extension_seconds),
            ("max_lifetime_seconds", self.max_lifetime_seconds),
        ];
        if let Some((field, _)) = positive.iter().find(|(_, value)| *value == 0) {
            return Err(format!("`{field}` must be greater than 0"));
        }
        if self.ttl_seconds > self.max_lifetime_seconds {
            return Err("`ttl_seconds` must not exceed `max_lifetime_seconds`".to_owned());
        }
        Ok(())
    }
}

/// An automatic TwiML reply to every inbound message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoReplySettings {
    /// The text sent back.
    pub message: String,
}

/// Checks `config` against the schema of the feature `name`, when the service knows one.
/// Features the service does not read accept any JSON object within the bounds
/// ([`MAX_FEATURE_CONFIG_BYTES`], [`MAX_FEATURE_CONFIG_DEPTH`]).
///
/// # Errors
/// [`FeatureError::ConfigTooLarge`]; [`FeatureError::InvalidConfig`] naming the field at fault.
pub fn validate_feature_config(name: &FeatureName, config: &serde_json::Value) -> Result<(), FeatureError> {
    let invalid = |reason: String| FeatureError::InvalidConfig { feature: name.to_string(), reason };
    if !config.is_object() {
        return Err(invalid("configuration must be a JSON object".to_owned()));
    }
    if depth(config) > MAX_FEATURE_CONFIG_DEPTH {
        return Err(invalid(format!("configuration nests deeper than {MAX_FEATURE_CONFIG_DEPTH} levels")));
    }
    let bytes = serde_json::to_vec(config).map_or(usize::MAX, |json| json.len());
    if bytes > MAX_FEATURE_CONFIG_BYTES {
        return Err(FeatureError::ConfigTooLarge { bytes });
    }
    match name.as_str() {
        FeatureName::CLOSURE_DETECTION => {
            let parsed: ClosureConfig = parse_config(config).map_err(invalid)?;
            parsed.validate().map_err(|e: ClosureConfigError| invalid(e.to_string()))
        }
        FeatureName::LIMITS => parse_config::<crate::LimitsOverride>(config)
            .map_err(invalid)?
            .validate()
            .map_err(|e| invalid(e.to_string())),
        FeatureName::CONVERSATION_LIFECYCLE => {
            parse_config::<LifecycleSettings>(config).map_err(invalid)?.validate().map_err(invalid)
        }
        FeatureName::AUTO_REPLY => {
            let reply: AutoReplySettings = parse_config(config).map_err(invalid)?;
            crate::MessageBody::new(reply.message).map(drop).map_err(|e| invalid(format!("`message`: {e}")))
        }
        _ => Ok(()),
    }
}

/// How deeply objects and arrays nest in `value` (a scalar is 0).
fn depth(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Object(map) => 1 + map.values().map(depth).max().unwrap_or(0),
        serde_json::Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn parse_config<T: serde::de::DeserializeOwned>(config: &serde_json::Value) -> Result<T, String> {
    T::deserialize(config).map_err(|e| e.to_string())
}

/// What the use cases need to know about a tenant, resolved from its features.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantSettings {
    /// Conversation time limits (defaults when the feature is absent or off).
    pub lifecycle: LifecycleSettings,
    /// Closure detection configuration; `None` when the tenant turned it off.
    pub closure: Option<ClosureConfig>,
    /// Auto-reply text; `None` unless the tenant turned it on.
    pub auto_reply: Option<String>,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            lifecycle: LifecycleSettings::default(),
            closure: Some(ClosureConfig::default()),
            auto_reply: None,
        }
    }
}

impl crate::LimitsOverride {
    /// The override of a tenant's enabled `limits` feature; none (every default) when the
    /// feature is absent, off or (against [`validate_feature_config`]) no longer parses.
    #[must_use]
    pub fn from_features(features: &[Feature]) -> Self {
        features
            .iter()
            .find(|f| f.enabled && f.name.as_str() == FeatureName::LIMITS)
            .and_then(|f| parse_config(&f.config).ok())
            .unwrap_or_default()
    }
}

impl TenantSettings {
    /// Resolves settings from a tenant's features. Closure detection is on unless a
    /// `closure_detection` feature turns it off; the others apply only when enabled.
    /// A stored configuration that no longer parses falls back to the default rather than
    /// stopping message handling; [`validate_feature_config`] keeps that from happening.
    #[must_use]
    pub fn from_features(features: &[Feature]) -> Self {
        let mut settings = Self::default();
        for feature in features {
            match feature.name.as_str() {
                FeatureName::CLOSURE_DETECTION => {
                    settings.closure =
                        feature.enabled.then(|| parse_config(&feature.config).unwrap_or_default());
                }
                FeatureName::CONVERSATION_LIFECYCLE if feature.enabled => {
                    settings.lifecycle = parse_config(&feature.config).unwrap_or_default();
                }
                FeatureName::AUTO_REPLY if feature.enabled => {
                    settings.auto_reply =
                        parse_config::<AutoReplySettings>(&feature.config).ok().map(|reply| reply.message);
                }
                _ => {}
            }
        }
        settings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn feature(name: &str, enabled: bool, config: serde_json::Value) -> Feature {
        let at = chrono::DateTime::UNIX_EPOCH;
        Feature {
            id: FeatureId::new_at(at),
            owner_id: OwnerId::new_at(at),
            name: FeatureName::parse(name).unwrap(),
            enabled,
            config,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn names_are_slugs() {
        assert!(FeatureName::parse("closure_detection").is_ok());
        for bad in ["", "Closure", "9lives", "with-dash", &"a".repeat(65)] {
            assert!(FeatureName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn known_configs_are_validated_naming_the_field() {
        let lifecycle = FeatureName::parse(FeatureName::CONVERSATION_LIFECYCLE).unwrap();
        assert!(validate_feature_config(&lifecycle, &json!({"ttl_seconds": 3600})).is_ok());
        let err = validate_feature_config(&lifecycle, &json!({"ttl_secs": 3600})).unwrap_err();
        assert!(err.to_string().contains("ttl_secs"), "{err}");
        let err = validate_feature_config(&lifecycle, &json!({"idle_timeout_seconds": 0})).unwrap_err();
        assert!(err.to_string().contains("idle_timeout_seconds"), "{err}");

        let reply = FeatureName::parse(FeatureName::AUTO_REPLY).unwrap();
        assert!(validate_feature_config(&reply, &json!({"message": ""})).is_err());
        let custom = FeatureName::parse("crm_sync").unwrap();
        assert!(validate_feature_config(&custom, &json!({"anything": [1, 2]})).is_ok());
        assert!(validate_feature_config(&custom, &json!([1])).is_err());
    }

    #[test]
    fn configs_are_bounded_in_size_and_depth() {
        let custom = FeatureName::parse("crm_sync").unwrap();
        let at_the_limit = json!({"blob": "x".repeat(MAX_FEATURE_CONFIG_BYTES - r#"{"blob":""}"#.len())});
        assert!(validate_feature_config(&custom, &at_the_limit).is_ok());
        let over = json!({"blob": "x".repeat(MAX_FEATURE_CONFIG_BYTES)});
        assert!(matches!(
            validate_feature_config(&custom, &over),
            Err(FeatureError::ConfigTooLarge { bytes }) if bytes > MAX_FEATURE_CONFIG_BYTES
        ));
        let nested = |levels: usize| (1..levels).fold(json!({}), |inner, _| json!({ "a": inner }));
        assert!(validate_feature_config(&custom, &nested(MAX_FEATURE_CONFIG_DEPTH)).is_ok());
        let err = validate_feature_config(&custom, &nested(MAX_FEATURE_CONFIG_DEPTH + 1)).unwrap_err();
        assert!(err.to_string().contains("deeper than 10"), "{err}");
        let arrays = json!({"a": [[[[[[[[[[1]]]]]]]]]]});
        assert!(validate_feature_config(&custom, &arrays).is_err(), "arrays nest too");
    }

    #[test]
    fn settings_resolve_from_features() {
        let defaults = TenantSettings::from_features(&[]);
        assert_eq!(defaults, TenantSettings::default());
        assert!(defaults.closure.is_some());

        let settings = TenantSettings::from_features(&[
            feature(FeatureName::CLOSURE_DETECTION, false, json!({})),
            feature(FeatureName::CONVERSATION_LIFECYCLE, true, json!({"idle_timeout_seconds": 60})),
            feature(FeatureName::AUTO_REPLY, true, json!({"message": "Recebido!"})),
        ]);
        assert_eq!(settings.closure, None);
        assert_eq!(settings.lifecycle.idle_timeout_seconds, 60);
        assert_eq!(settings.lifecycle.ttl_seconds, LifecycleSettings::default().ttl_seconds);
        assert_eq!(settings.auto_reply.as_deref(), Some("Recebido!"));

        let disabled_reply = TenantSettings::from_features(&[feature(
            FeatureName::AUTO_REPLY,
            false,
            json!({"message": "x"}),
        )]);
        assert_eq!(disabled_reply.auto_reply, None);
    }

    #[test]
    fn the_limits_feature_is_validated_and_applies_only_when_enabled() {
        let limits = FeatureName::parse(FeatureName::LIMITS).unwrap();
        assert!(validate_feature_config(&limits, &json!({"burst": 10, "sends_per_day": null})).is_ok());
        for bad in [json!({"burst": 0}), json!({"sends_per_day": "10"}), json!({"per_hour": 1})] {
            assert!(
                matches!(validate_feature_config(&limits, &bad), Err(FeatureError::InvalidConfig { .. })),
                "{bad}"
            );
        }
        let on = feature(FeatureName::LIMITS, true, json!({"sends_per_day": 3}));
        assert_eq!(crate::LimitsOverride::from_features(&[on]).sends_per_day, Some(Some(3)));
        let off = feature(FeatureName::LIMITS, false, json!({"sends_per_day": 3}));
        assert_eq!(crate::LimitsOverride::from_features(&[off]), crate::LimitsOverride::default());
    }
}
