//! `Authorization: Bearer <api key>` → the caller's [`Principal`]. The tenant always comes from
//! the key, never from the request.

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
            Ok(Self(principal))
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header, if the request has one.
pub(crate) fn bearer_token(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_owned())
}
