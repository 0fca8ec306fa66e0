//! The HTTP API against a real PostgreSQL: every endpoint's happy path and each class of
//! error, authentication and roles, tenant isolation, request ids, health and documentation.
//!
//! Each test gets its own database (`test-db`), so they run in parallel.

mod admin;
mod auth;
mod conversation_input;
mod conversations;
mod cross_tenant;
mod delivery;
mod errors;
mod health_and_docs;
mod limits;
mod messages;
mod metrics;
mod pending_closure;
mod request_id;
mod support;
mod templates;
mod twilio_accounts;
mod webhook_endpoints;
mod webhooks;
