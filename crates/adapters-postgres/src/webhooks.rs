//! Tenants' webhook endpoints and the queue of their deliveries (migration `000014`,
//! ADR 0019). Secrets are sealed like Twilio auth tokens ([`crate::TokenCipher::seal`], bound
//! to the tenant and the endpoint) and opened only for a claimed delivery.

mod endpoints;
mod queue;
mod rows;
