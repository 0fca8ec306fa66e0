//! The HTTP routes, grouped by resource.

pub mod admin;
pub mod conversations;
pub mod docs;
pub mod events;
pub mod health;
pub mod messages;
pub mod metrics;
pub mod usage;
pub mod webhook_endpoints;
pub mod webhooks;
