//! What each constraint of the schema (`migrations/*/up.sql`) means to a caller. PostgreSQL
//! names them (`<table>_<column>_key`, `<table>_<column>_check`, `<domain>_check`) unless the
//! migration does; a constraint missing here still classifies, only less precisely.

use domain::MAX_FEATURES_PER_TENANT;
use ports::{ConflictKind, StoreError};

/// The unique constraints and indexes a write of the service can break, by what is taken. The
/// others (primary keys of ids the service makes, `api_keys_key_hash_key` of 160 random bits,
/// `send_jobs_owner_id_message_id_key`, and `conversations_one_active_idx` and
/// `features_owner_id_name_key`, which their writes avoid with `ON CONFLICT`) are
/// [`ConflictKind::Other`].
const UNIQUE: &[(&str, ConflictKind)] = &[
    ("owners_email_key", ConflictKind::EmailTaken),
    ("users_owner_id_email_key", ConflictKind::EmailTaken),
    ("twilio_accounts_account_sid_key", ConflictKind::AccountSidTaken),
    ("twilio_accounts_number_taken", ConflictKind::NumberTaken),
    ("messages_provider_sid_idx", ConflictKind::MessageSidTaken),
];

/// Check constraints whose column is one input field, with the rule in the API's words. The
/// domain types check the same rules before a write, so these answer only what slips past them.
const CHECKS: &[(&str, &str, &str)] = &[
    ("owners_name_check", "name", "must have 1 to 200 characters"),
    ("users_name_check", "name", "must have 1 to 200 characters"),
    ("api_keys_name_check", "name", "must have 1 to 200 characters"),
    ("owners_email_check", "email", "must be a lower-case email address"),
    ("users_email_check", "email", "must be a lower-case email address"),
    ("users_role_check", "role", "must be admin, agent or viewer"),
    ("features_name_check", "name", "must be a lower-case identifier of at most 64 characters"),
    ("features_config_check", "config", "must be a JSON object"),
    ("twilio_accounts_account_sid_check", "account_sid", "must be AC followed by 32 hexadecimal digits"),
    ("twilio_accounts_phone_numbers_check", "phone_numbers", "must list at least one number"),
    (
        "twilio_accounts_messaging_service_sid_check",
        "messaging_service_sid",
        "must be MG followed by 32 hexadecimal digits",
    ),
    ("ai_results_kind_check", "kind", "must have 1 to 64 characters"),
    ("ai_results_score_check", "score", "must be between 0 and 1"),
    ("conversa_message_body_check", "body", "must have 1 to 4096 characters"),
    ("webhook_endpoints_url_check", "url", "must be at most 2048 bytes"),
    ("webhook_endpoints_description_check", "description", "must have at most 500 characters"),
    ("webhook_endpoints_event_types_check", "events", "must list known event types"),
];

/// Check constraints of domains that several columns share: the rule is known, the field not.
const SHARED_CHECKS: &[(&str, &str)] = &[
    ("conversa_e164_check", "must be a phone number in E.164 form"),
    ("conversa_json_object_check", "must be a JSON object"),
    ("conversa_json_array_check", "must be a JSON array"),
];

/// Columns named as the API names their field; any other column is the store's own business
/// and is not named to a client.
const API_FIELDS: &[&str] = &[
    "name",
    "email",
    "role",
    "config",
    "account_sid",
    "friendly_name",
    "phone_numbers",
    "messaging_service_sid",
    "customer_phone",
    "business_phone",
    "context",
    "metadata",
    "body",
    "media",
    "kind",
    "model",
    "score",
    "content",
    "url",
    "description",
];

/// The feature limit's trigger (migration `000007_bounded_tenant_config`) raises a check
/// violation under this name.
const FEATURE_LIMIT: &str = "features_per_tenant_limit";

pub(super) fn conflict_kind(constraint: Option<&str>) -> ConflictKind {
    UNIQUE.iter().find(|(name, _)| Some(*name) == constraint).map_or(ConflictKind::Other, |(_, kind)| *kind)
}

pub(super) fn check_violation(constraint: Option<&str>) -> StoreError {
    if constraint == Some(FEATURE_LIMIT) {
        return StoreError::LimitReached { what: "features", limit: MAX_FEATURES_PER_TENANT };
    }
    if let Some((_, field, reason)) = CHECKS.iter().find(|(name, ..)| Some(*name) == constraint) {
        return StoreError::Invalid { field: Some(field), reason };
    }
    let reason = SHARED_CHECKS
        .iter()
        .find(|(name, _)| Some(*name) == constraint)
        .map_or("is outside what can be stored", |(_, reason)| reason);
    StoreError::Invalid { field: None, reason }
}

/// The column as an input field, when it is one.
pub(super) fn api_field(column: &str) -> Option<&'static str> {
    API_FIELDS.iter().find(|field| **field == column).copied()
}
