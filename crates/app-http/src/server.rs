//! The actix-web application: routes, extractor error handlers, middleware.
//!
//! The route table exists once: every route is registered through `utoipa-actix-web`, which
//! collects each handler's `#[utoipa::path]` as it registers it with actix, so `/openapi.json`
//! lists exactly what is served (ADR 0017). The same document then gives the methods of each
//! path, so a known path with a wrong method answers 405 with `Allow`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, web};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt, scope};

use crate::extract::BodyLimit;
use crate::openapi::{self, ApiDocument, RouteTable};
use crate::problem::ApiError;
use crate::routes::{
    admin, conversations, docs, events, health, messages, metrics, usage, webhook_endpoints, webhooks,
};
use crate::state::AppState;
use crate::telemetry;

/// Every route. Each `service` call both serves the handler and documents it (its
/// `#[utoipa::path]`), so nothing is served undocumented or documented unserved.
fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::health)
        .service(health::ready)
        .service(health::twilio_health)
        .service(metrics::scrape)
        .service(webhooks::inbound)
        .service(webhooks::status)
        .service(docs::openapi)
        .service(docs::page)
        .service(docs::bundle)
        .service(docs::css)
        .service(
            scope::scope("/api/v1")
                .service(conversations::create)
                .service(conversations::list)
                .service(conversations::get_one)
                .service(conversations::close)
                .service(conversations::extend)
                .service(messages::add)
                .service(messages::list)
                .service(messages::get_one)
                .service(messages::add_ai_result)
                .service(messages::list_ai_results)
                .service(admin::create_user)
                .service(admin::list_users)
                .service(admin::get_user)
                .service(admin::create_api_key)
                .service(admin::list_api_keys)
                .service(admin::revoke_api_key)
                .service(admin::list_features)
                .service(admin::get_feature)
                .service(admin::put_feature)
                .service(admin::set_feature_enabled)
                .service(admin::create_twilio_account)
                .service(admin::list_twilio_accounts)
                .service(admin::get_twilio_account)
                .service(admin::update_twilio_account)
                .service(admin::delete_twilio_account)
                .service(webhook_endpoints::create)
                .service(webhook_endpoints::list)
                .service(webhook_endpoints::get_one)
                .service(webhook_endpoints::update)
                .service(webhook_endpoints::delete_one)
                .service(webhook_endpoints::rotate_secret)
                .service(webhook_endpoints::deliveries)
                .service(webhook_endpoints::retry)
                .service(events::stream)
                .service(usage::get),
        )
        .default_service(web::to(unrouted));
}

/// A request no route took: 405 with `Allow` when its path is served with other methods,
/// otherwise 404.
async fn unrouted(req: HttpRequest, routes: web::Data<RouteTable>) -> Result<HttpResponse, ApiError> {
    match routes.allowed(req.path()) {
        Some(allowed) => Err(ApiError::method_not_allowed(req.method(), allowed)),
        None => Err(ApiError::not_found()),
    }
}

/// The OpenAPI document of [`app`], collected from the same registration.
#[must_use]
pub fn document() -> serde_json::Value {
    let (_, document) =
        App::new().into_utoipa_app().openapi(openapi::base()).configure(routes).split_for_parts();
    openapi::complete(document)
}

/// The application as the server and the tests run it, with the OpenAPI document collected
/// from its registration.
pub fn app(
    state: web::Data<AppState>,
    body_limit: usize,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let (app, document) =
        App::new().into_utoipa_app().openapi(openapi::base()).configure(routes).split_for_parts();
    let document = openapi::complete(document);
    app.app_data(state)
        .app_data(BodyLimit(body_limit))
        .app_data(web::PayloadConfig::new(body_limit))
        // A path segment that is not a valid id names no resource.
        .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
        .app_data(web::Data::new(RouteTable::new(&document)))
        .app_data(web::Data::new(ApiDocument::new(&document)))
        .wrap(from_fn(crate::rate_limit::headers))
        .wrap(Compress::default())
        .wrap(from_fn(crate::metrics::record_request))
        .wrap(from_fn(telemetry::request_log))
}
