//! The resolver of the webhook client: names resolve through the system, and every address that
//! is not public is dropped before the client may connect to it. A name with no public address
//! left fails with [`RefusedAddress`], naming what it resolved to.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::ip::is_public;

/// How long a name may take to resolve.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// A name resolved only to addresses a webhook may not reach (or did not resolve).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedAddress {
    /// Every address of the name is outside the public internet.
    #[error("refused address {address} of `{host}`: not a public address")]
    NotPublic {
        /// The name.
        host: String,
        /// The first address refused.
        address: IpAddr,
    },
    /// The name did not resolve.
    #[error("`{host}` does not resolve: {reason}")]
    Unresolvable {
        /// The name.
        host: String,
        /// Why.
        reason: String,
    },
}

/// Resolves `host`, keeping only addresses that may be reached (all of them when
/// `allow_private`).
///
/// # Errors
/// [`RefusedAddress`].
pub async fn resolve_checked(host: &str, allow_private: bool) -> Result<Vec<SocketAddr>, RefusedAddress> {
    let unresolvable = |reason: String| RefusedAddress::Unresolvable { host: host.to_owned(), reason };
    let found: Vec<SocketAddr> = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, 0)))
        .await
        .map_err(|_| unresolvable(format!("no answer within {} s", LOOKUP_TIMEOUT.as_secs())))?
        .map_err(|e| unresolvable(e.to_string()))?
        .collect();
    if found.is_empty() {
        return Err(unresolvable("no addresses".to_owned()));
    }
    if allow_private {
        return Ok(found);
    }
    let public: Vec<SocketAddr> = found.iter().copied().filter(|addr| is_public(addr.ip())).collect();
    if public.is_empty() {
        return Err(RefusedAddress::NotPublic { host: host.to_owned(), address: found[0].ip() });
    }
    Ok(public)
}

/// A [`Resolve`] for reqwest that applies [`resolve_checked`] at every connection.
#[derive(Clone, Copy, Debug)]
pub struct GuardedResolver {
    /// Admit every address (development and tests only).
    pub allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let addrs = resolve_checked(name.as_str(), allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}
