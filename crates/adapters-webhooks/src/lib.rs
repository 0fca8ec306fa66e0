//! # Outbound webhooks
//!
//! [`HttpWebhookSender`] implements [`ports::WebhookSender`]: it signs each webhook the
//! Standard Webhooks way (with the specification's own `standardwebhooks` crate) and posts it
//! with an HTTP client that only reaches the public internet. The check happens where it
//! cannot be dodged: the client's resolver drops every non-public address a name resolves to
//! (so a name that changes its answer after registration is still refused), literal IPs are
//! checked before connecting, no proxy is used, redirects are not followed, and an answer is
//! read up to a small cap. `allow_private_targets` (development and tests only) lifts the
//! address rule and admits `http`.

mod ip;
mod resolver;
mod sender;
mod signing;

pub use ip::is_public;
pub use resolver::{GuardedResolver, RefusedAddress};
pub use sender::{HttpWebhookSender, SenderSettings, WebhookSetupError};
pub use signing::{new_secret, signature_header};
