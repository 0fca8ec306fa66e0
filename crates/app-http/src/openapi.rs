//! The OpenAPI document, generated from the route and schema annotations.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{admin, conversations, docs, events, health, messages, metrics, webhooks};

/// Conversa's API description: the versioned API under `/api/v1` and the health endpoints.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Conversa API", description = "Multi-tenant SMS and WhatsApp conversations over Twilio.

Errors are `application/problem+json` with a stable `code`: 400 `bad_request`; 401 `unauthorized`; \
403 `forbidden`, `invalid_signature`; 404 `not_found`; 409 `email_taken`, `account_sid_taken`, `number_taken`, \
`account_in_use`, `conversation_closed`, `conflict`; 413 `payload_too_large`; 415 `unsupported_media_type`; \
422 `invalid_input` (naming the `field` when known), `rejected`; 500 `internal` (its body carries \
only the `request_id`, also sent as `x-request-id`); 503 `unavailable`, `not_ready`, with \
`Retry-After`."),
    nest((path = "/api/v1", api = V1)),
    paths(
        health::health, health::ready, health::twilio_health, metrics::scrape, webhooks::inbound,
        webhooks::status, docs::openapi, docs::page, docs::bundle, docs::css,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "conversations", description = "Conversations and their lifecycle"),
        (name = "messages", description = "Messages and AI results"),
        (name = "administration", description = "Users, API keys, features, Twilio accounts (admin role)"),
        (name = "health", description = "Liveness, readiness and metrics"),
        (name = "webhooks", description = "Twilio webhooks"),
        (name = "events", description = "The tenant's events, live (Server-Sent Events)"),
        (name = "documentation", description = "This document and its viewer"),
    )
)]
pub struct ApiDoc;

#[derive(OpenApi)]
#[openapi(paths(
    conversations::create,
    conversations::get_one,
    conversations::list,
    conversations::close,
    conversations::extend,
    messages::add,
    messages::list,
    messages::get_one,
    messages::add_ai_result,
    messages::list_ai_results,
    admin::create_user,
    admin::list_users,
    admin::get_user,
    admin::create_api_key,
    admin::list_api_keys,
    admin::revoke_api_key,
    admin::list_features,
    admin::get_feature,
    admin::put_feature,
    admin::set_feature_enabled,
    admin::create_twilio_account,
    admin::list_twilio_accounts,
    admin::get_twilio_account,
    admin::update_twilio_account,
    admin::delete_twilio_account,
    events::stream,
))]
struct V1;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key: `Authorization: Bearer cnv_…`"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "metrics_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("`CONVERSA_METRICS_TOKEN`, when the operator set one"))
                    .build(),
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_operation_has_a_unique_id() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut seen = HashSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let id =
                    operation["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no id"));
                assert!(seen.insert(id.to_owned()), "operationId `{id}` repeats ({method} {path})");
            }
        }
        assert!(seen.len() >= 30, "{} operations", seen.len());
    }
}
