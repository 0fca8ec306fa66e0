//! Use-case tests: each use case runs against mockall mocks of its ports, and every test
//! states which port calls must happen (with which arguments) and which must not.

mod conversations;
mod dispatch;
mod events;
mod features;
mod fixtures;
mod inbound;
mod limits;
mod messages;
mod spool;
mod sweep;
mod tenants;
mod twilio;
mod twilio_accounts;
mod webhook_delivery;
mod webhook_endpoints;
mod webhooks;
