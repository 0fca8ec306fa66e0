//! `Authorization: Bearer <api key>` → the caller's [`Principal`]. The tenant always comes from
//! the key, never from the request. Authenticating is also where the API's rate limits are
//! applied (one place: every authenticated route extracts a [`Caller`]), see
//! [`crate::rate_limit`].

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use domain::Principal;

use crate::problem::ApiError;
use crate::state::AppState;

/// The authenticated caller of a request.
#[derive(Clone, Copy, Debug)]
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer_token(req);
        let req = req.clone();
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::unauthorized("authentication is not configured"))?;
            let token =
                token.ok_or_else(|| ApiError::unauthorized("send `Authorization: Bearer <api key>`"))?;
            let principal = state
                .tenants
                .authenticate(&token)
                .await?
                .ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))?;
            // Lets the request log carry the tenant without reading the key again.
            req.extensions_mut().insert(principal);
            // A failing read of the tenant's override falls back to the defaults: limiting
            // with them is better than failing a request the database may still serve.
            let limits = state.limits.cached(principal.owner_id).await.unwrap_or_else(|error| {
                tracing::warn!(%error, "tenant limits unreadable; the defaults apply");
                state.limits.defaults()
            });
            let rate = state.rate_limiter.check(&principal, &limits);
            req.extensions_mut().insert(rate);
            match rate.retry_after_seconds {
                Some(seconds) => Err(ApiError::rate_limited(seconds)),
                None => Ok(Self(principal)),
            }
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header, if the request has one.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_owned())
}
