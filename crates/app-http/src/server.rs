//! The actix-web application: routes, extractor error handlers, middleware.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpResponse, web};

use crate::extract::BodyLimit;
use crate::problem::ApiError;
use crate::routes::{admin, conversations, docs, events, health, messages, metrics, webhooks};
use crate::state::AppState;
use crate::telemetry;

/// Registers every route and the shared configuration on an app.
pub fn configure(state: web::Data<AppState>, body_limit: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        cfg.app_data(state)
            .app_data(BodyLimit(body_limit))
            .app_data(web::PayloadConfig::new(body_limit))
            // A path segment that is not a valid id names no resource.
            .app_data(web::PathConfig::default().error_handler(|_, _| ApiError::not_found().into()))
            .service(health::health)
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
                web::scope("/api/v1")
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
                    .service(events::stream),
            )
            .default_service(web::to(not_found));
    }
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found())
}

/// The application as the server and the tests run it.
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
    App::new()
        .wrap(Compress::default())
        .wrap(from_fn(crate::metrics::record_request))
        .wrap(from_fn(telemetry::request_log))
        .configure(configure(state, body_limit))
}
