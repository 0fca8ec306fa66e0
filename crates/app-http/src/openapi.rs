//! The OpenAPI document. Its paths are collected from the server's own route registration
//! (`server::routes`, through `utoipa-actix-web`); this module holds what is not a route: the
//! description, tags and security schemes ([`base`]), the problem responses every operation
//! can answer ([`complete`]), and the method table the server answers 405 from ([`RouteTable`]).

use actix_web::dev::ResourceDef;
use actix_web::web::Bytes;
use serde_json::{Map, Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::problem::{Problem, RETRY_AFTER_SECONDS};

mod constraints;

/// Conversa's API description: everything but the paths.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "Conversa API", description = "Multi-tenant SMS and WhatsApp conversations over Twilio.

Errors are `application/problem+json` with a stable `code`: 400 `bad_request`; 401 `unauthorized`; \
403 `forbidden`, `invalid_signature`; 404 `not_found`; 405 `method_not_allowed` (with `Allow`); \
409 `email_taken`, `account_sid_taken`, `number_taken`, `account_in_use`, `conversation_closed`, \
`conflict`; 413 `payload_too_large`; 415 `unsupported_media_type`; 422 `invalid_input` (naming the \
`field` when known), `rejected`; 429 `rate_limited`, `send_quota_exceeded` (with `Retry-After`; \
every answer to an authenticated request carries `RateLimit-Limit`, `RateLimit-Remaining` and \
`RateLimit-Reset`); 500 `internal` (its body carries only the `request_id`, also sent \
as `x-request-id`); 503 `unavailable`, `not_ready`, with `Retry-After`."),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "conversations", description = "Conversations and their lifecycle"),
        (name = "messages", description = "Messages and AI results"),
        (name = "administration", description = "Users, API keys, features, Twilio accounts (admin role)"),
        (name = "health", description = "Liveness, readiness and metrics"),
        (name = "webhooks", description = "Twilio webhooks"),
        (name = "events", description = "The tenant's events, live (Server-Sent Events)"),
        (name = "limits", description = "Rate limits and send quotas, and the tenant's usage"),
        (name = "webhook endpoints", description = "The tenant's webhook endpoints: signed deliveries of its events (Standard Webhooks), retried, with their attempts (admin role)"),
        (name = "documentation", description = "This document and its viewer"),
    )
)]
struct ApiDoc;

/// The document before the routes are registered into it.
#[must_use]
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

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

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// The problems an operation answers because of its shape, whatever its use case: they come
/// from the extractors and the authentication every such operation goes through, so they are
/// stated here once rather than on each handler. Each handler states the rest (403, 409, the
/// use case's own 422s).
fn shape_problems(operation: &Value) -> Vec<(&'static str, &'static str)> {
    let mut problems = Vec::new();
    let has_param = |place: &str| {
        operation["parameters"].as_array().is_some_and(|ps| ps.iter().any(|p| p["in"] == place))
    };
    let body = &operation["requestBody"]["content"];
    let json_body = body.as_object().is_some_and(|c| c.keys().any(|k| k.ends_with("json")));
    let form_body = body.get("application/x-www-form-urlencoded").is_some();
    let authenticated =
        operation["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("api_key").is_some()));
    if json_body {
        problems.push(("400", "`bad_request`: the body is not well-formed JSON"));
    }
    if authenticated {
        problems.push(("401", "`unauthorized`: no API key, or one that is unknown or revoked"));
    }
    if has_param("path") {
        problems.push(("404", "`not_found`: no such resource in the tenant, or a malformed id"));
    }
    if json_body || form_body {
        problems.push(("413", "`payload_too_large`: the body is over the configured limit"));
        problems.push(("415", "`unsupported_media_type`: the body is not of the documented type"));
    }
    if json_body || has_param("query") {
        problems.push(("422", "`invalid_input`: a value is missing or not acceptable; `field` names it"));
    }
    if authenticated {
        problems.push((
            "429",
            "`rate_limited`: the tenant or the API key is over its rate limit; try again after `Retry-After`",
        ));
        problems.push(("503", "`unavailable`: the database is down or busy; try again after `Retry-After`"));
    }
    problems
}

/// Adds to every operation the problems its shape implies, and states that every error
/// response is `application/problem+json` with the [`Problem`] schema (503s with
/// `Retry-After`), as `problem.rs` answers them; then states what the parsers refuse in the
/// schemas (`constraints`).
#[must_use]
pub fn complete(document: utoipa::openapi::OpenApi) -> Value {
    let mut document = serde_json::to_value(document).expect("the OpenAPI document serializes");
    let Some(paths) = document["paths"].as_object_mut() else { return document };
    for item in paths.values_mut() {
        for method in METHODS {
            let Some(operation) = item.get_mut(method) else { continue };
            let implied = shape_problems(operation);
            let authenticated = operation["security"]
                .as_array()
                .is_some_and(|s| s.iter().any(|r| r.get("api_key").is_some()));
            let responses = operation["responses"].as_object_mut().expect("operations have responses");
            for (status, description) in implied {
                responses.entry(status).or_insert_with(|| json!({"description": description}));
            }
            for (status, response) in responses.iter_mut() {
                if status.as_str() >= "400" {
                    problem_response(status, response);
                }
                // Every answer to an authenticated caller says where it stands (`rate_limit.rs`).
                // Certain on a success and a 429; an error another extractor raises before the
                // key is checked (a malformed id, body or query) answers without them, and a
                // 401, 500 or 503 comes before or without the check.
                if authenticated && !["401", "500", "503"].contains(&status.as_str()) {
                    let certain = status.starts_with('2') || status == "429";
                    rate_limit_headers(response, certain);
                }
            }
        }
    }
    constraints::state(&mut document);
    document
}

fn problem_response(status: &str, response: &mut Value) {
    let response = response.as_object_mut().expect("responses are objects");
    if response.get("description").and_then(Value::as_str).is_none_or(str::is_empty) {
        response.insert("description".into(), json!(format!("A problem ({status})")));
    }
    response.insert(
        "content".into(),
        json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}),
    );
    if status == "503" {
        let headers = response.entry("headers").or_insert_with(|| Value::Object(Map::new()));
        headers["Retry-After"] = json!({
            "description": format!("Seconds to wait before trying again ({RETRY_AFTER_SECONDS})"),
            "schema": {"type": "integer", "format": "int32", "minimum": 0}
        });
    }
}

/// `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` on `response` (`required`
/// when every such answer has them), and `Retry-After` on a 429.
fn rate_limit_headers(response: &mut Value, required: bool) {
    let seconds = json!({"type": "integer", "format": "int64", "minimum": 0});
    let refusal =
        response.get("description").and_then(Value::as_str).is_some_and(|d| d.contains("rate_limited"));
    let headers = response
        .as_object_mut()
        .expect("responses are objects")
        .entry("headers")
        .or_insert_with(|| Value::Object(Map::new()));
    for (name, description) in [
        (
            "RateLimit-Limit",
            "Requests the tighter of the tenant's and the key's limits lets through at once (its burst)",
        ),
        ("RateLimit-Remaining", "Requests left of it now"),
        ("RateLimit-Reset", "Seconds until it is full again"),
    ] {
        headers[name] = json!({"description": description, "required": required, "schema": seconds});
    }
    if refusal {
        headers["Retry-After"] = json!({"description": "Seconds until a request may go through", "required": true, "schema": seconds});
    }
}

/// The methods served on each path of the document, to answer a wrong method with 405 and
/// `Allow` rather than 404.
#[derive(Debug)]
pub struct RouteTable(Vec<(ResourceDef, Vec<String>)>);

impl RouteTable {
    /// The table of `document`'s paths (a completed document, as [`complete`] returns).
    #[must_use]
    pub fn new(document: &Value) -> Self {
        let paths = document["paths"].as_object().map(|paths| {
            paths
                .iter()
                .map(|(path, item)| {
                    let methods = METHODS
                        .iter()
                        .filter(|m| item.get(**m).is_some())
                        .map(|m| m.to_uppercase())
                        .collect();
                    (ResourceDef::new(path.as_str()), methods)
                })
                .collect()
        });
        Self(paths.unwrap_or_default())
    }

    /// The `Allow` value for `path` (`GET, POST`), or `None` when no route serves it.
    #[must_use]
    pub fn allowed(&self, path: &str) -> Option<String> {
        let mut methods: Vec<&str> = self
            .0
            .iter()
            .filter(|(resource, _)| resource.is_match(path))
            .flat_map(|(_, methods)| methods.iter().map(String::as_str))
            .collect();
        methods.sort_unstable();
        methods.dedup();
        (!methods.is_empty()).then(|| methods.join(", "))
    }
}

/// `/openapi.json`'s body, serialized once per application.
#[derive(Debug)]
pub struct ApiDocument(pub Bytes);

impl ApiDocument {
    /// Serializes `document`.
    #[must_use]
    pub fn new(document: &Value) -> Self {
        Self(Bytes::from(serde_json::to_vec(document).expect("JSON serializes")))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::server::document;

    #[test]
    fn every_operation_has_a_unique_id() {
        let doc = document();
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

    #[test]
    fn every_error_response_is_a_problem_and_shapes_imply_their_problems() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                for (status, response) in operation["responses"].as_object().unwrap() {
                    if status.as_str() >= "400" {
                        let content = response["content"].as_object().unwrap();
                        assert_eq!(
                            content.keys().collect::<Vec<_>>(),
                            ["application/problem+json"],
                            "{method} {path} {status}"
                        );
                    }
                }
            }
        }
        let create = &doc["paths"]["/api/v1/conversations"]["post"]["responses"];
        for status in ["400", "401", "403", "413", "415", "422", "503"] {
            assert!(create[status].is_object(), "POST /api/v1/conversations lacks {status}: {create}");
        }
        assert!(create["503"]["headers"]["Retry-After"].is_object());
        let get = &doc["paths"]["/api/v1/conversations/{id}"]["get"]["responses"];
        assert!(get["404"].is_object() && get["400"].is_null(), "{get}");
        assert!(doc["paths"]["/health"]["get"]["responses"]["401"].is_null());
    }

    #[test]
    fn the_route_table_allows_the_documented_methods_of_a_path() {
        let table = RouteTable::new(&document());
        assert_eq!(table.allowed("/api/v1/conversations").as_deref(), Some("GET, POST"));
        assert_eq!(table.allowed("/api/v1/features/auto_reply").as_deref(), Some("GET, PUT"));
        let account = "/api/v1/twilio-accounts/0190f3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d";
        assert_eq!(table.allowed(account).as_deref(), Some("DELETE, GET, PATCH"));
        assert_eq!(table.allowed("/health").as_deref(), Some("GET"));
        assert_eq!(table.allowed("/api/v1/nothing"), None);
        assert_eq!(table.allowed("/api/v1/conversations/a/b/c"), None);
    }
}
