//! # Conversa's HTTP application
//!
//! The binary's library half: configuration, wiring of the use cases to the adapters, the
//! actix-web routes (REST API under `/api/v1`, health, metrics, OpenAPI and Swagger UI),
//! problem+json errors, request logging, and the signed webhooks `conversa simulate` sends.
//! `main.rs` adds the command line. Nothing depends on this crate.

pub mod auth;
pub mod config;
pub mod dto;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod rate_limit;
pub mod role_guard;
pub mod routes;
pub mod server;
pub mod simulate;
pub mod state;
pub mod telemetry;
pub mod wiring;
pub mod workers;
