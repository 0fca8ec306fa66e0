//! Tenant administration (admin role): users, API keys, features, Twilio accounts.

use actix_web::{HttpResponse, get, post, put, web};
use domain::{ApiKeyId, SecretString, TwilioAccountId, UserId, UserRole};
use serde::Deserialize;
use serde_json::Value;
use services::{CreateApiKey, CreateTwilioAccount, CreateUser, PutFeature};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::{ApiKeyOut, CreatedApiKeyOut, FeatureOut, ListOut, TwilioAccountOut, UserOut};
use crate::extract::JsonBody;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Input to add a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"name": "Bruno Lima", "email": "bruno@acme.example", "role": "agent"}))]
pub struct CreateUserIn {
    /// Display name.
    pub name: String,
    /// Login address, unique within the tenant.
    pub email: String,
    /// `admin`, `agent` or `viewer`.
    #[schema(value_type = String)]
    pub role: UserRole,
}

/// Input to create an API key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyIn {
    /// The user of the tenant the key acts as.
    pub user_id: Uuid,
    /// A label.
    #[schema(example = "crm integration")]
    pub name: String,
}

/// Input to create or replace a feature.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"enabled": true, "config": {"threshold": 0.7}}))]
pub struct PutFeatureIn {
    /// On or off (default on).
    pub enabled: Option<bool>,
    /// A JSON object; known features check it against their schema.
    pub config: Value,
}

/// Input to turn a feature on or off.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetEnabledIn {
    /// On or off.
    pub enabled: bool,
}

/// Input to register a Twilio account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"account_sid": "AC0123456789abcdef0123456789abcdef", "auth_token": "0123456789abcdef0123456789abcdef", "phone_numbers": ["+14155550100", "whatsapp:+14155550100"]}))]
pub struct CreateTwilioAccountIn {
    /// Twilio's Account SID.
    pub account_sid: String,
    /// The account's auth token; stored encrypted, never returned.
    pub auth_token: String,
    /// A label.
    pub friendly_name: Option<String>,
    /// Numbers, `+…` or `whatsapp:+…`.
    pub phone_numbers: Vec<String>,
}

impl std::fmt::Debug for CreateTwilioAccountIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateTwilioAccountIn")
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

/// Adds a user to the tenant.
#[utoipa::path(request_body = CreateUserIn,
    responses((status = 201, body = UserOut), (status = 403, body = Problem),
        (status = 409, description = "`email_taken`: a user of the tenant has this address", body = Problem),
        (status = 422, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[post("/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateUserIn>,
) -> Result<HttpResponse, ApiError> {
    let user = state
        .tenants
        .create_user(&caller.0, CreateUser { name: input.name, email: input.email, role: input.role })
        .await?;
    Ok(HttpResponse::Created().json(UserOut::from(user)))
}

/// The tenant's users.
#[utoipa::path(responses((status = 200, body = ListOut<UserOut>), (status = 403, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[get("/users")]
pub async fn list_users(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let users = state.tenants.list_users(&caller.0).await?;
    Ok(HttpResponse::Ok().json(ListOut { items: users.into_iter().map(UserOut::from).collect::<Vec<_>>() }))
}

/// One user.
#[utoipa::path(params(("id" = Uuid, Path, description = "User id")),
    responses((status = 200, body = UserOut), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[get("/users/{id}")]
pub async fn get_user(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let user = state.tenants.get_user(&caller.0, UserId::from(*id)).await?;
    Ok(HttpResponse::Ok().json(UserOut::from(user)))
}

/// Creates an API key for a user; the key is in this response only.
#[utoipa::path(request_body = CreateApiKeyIn,
    responses((status = 201, body = CreatedApiKeyOut), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[post("/api-keys")]
pub async fn create_api_key(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateApiKeyIn>,
) -> Result<HttpResponse, ApiError> {
    let (api_key, plaintext) = state
        .tenants
        .create_api_key(&caller.0, CreateApiKey { user_id: UserId::from(input.user_id), name: input.name })
        .await?;
    let body = CreatedApiKeyOut { api_key: api_key.into(), key: plaintext.expose().to_owned() };
    Ok(HttpResponse::Created().json(body))
}

/// The tenant's API keys (prefixes only).
#[utoipa::path(responses((status = 200, body = ListOut<ApiKeyOut>), (status = 403, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[get("/api-keys")]
pub async fn list_api_keys(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let keys = state.tenants.list_api_keys(&caller.0).await?;
    Ok(HttpResponse::Ok().json(ListOut { items: keys.into_iter().map(ApiKeyOut::from).collect::<Vec<_>>() }))
}

/// Revokes an API key.
#[utoipa::path(params(("id" = Uuid, Path, description = "API key id")),
    responses((status = 200, body = ApiKeyOut), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[post("/api-keys/{id}/revoke")]
pub async fn revoke_api_key(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let key = state.tenants.revoke_api_key(&caller.0, ApiKeyId::from(*id)).await?;
    Ok(HttpResponse::Ok().json(ApiKeyOut::from(key)))
}

/// The tenant's features.
#[utoipa::path(responses((status = 200, body = ListOut<FeatureOut>), (status = 401, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[get("/features")]
pub async fn list_features(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let features = state.features.list(&caller.0).await?;
    Ok(HttpResponse::Ok()
        .json(ListOut { items: features.into_iter().map(FeatureOut::from).collect::<Vec<_>>() }))
}

/// One feature.
#[utoipa::path(params(("name" = String, Path, description = "Feature name")),
    responses((status = 200, body = FeatureOut), (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[get("/features/{name}")]
pub async fn get_feature(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let feature = state.features.get(&caller.0, &name).await?;
    Ok(HttpResponse::Ok().json(FeatureOut::from(feature)))
}

/// Creates a feature or replaces its configuration.
#[utoipa::path(params(("name" = String, Path, description = "Feature name")), request_body = PutFeatureIn,
    responses((status = 200, body = FeatureOut), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[put("/features/{name}")]
pub async fn put_feature(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
    JsonBody(input): JsonBody<PutFeatureIn>,
) -> Result<HttpResponse, ApiError> {
    let request =
        PutFeature { name: name.into_inner(), enabled: input.enabled.unwrap_or(true), config: input.config };
    let feature = state.features.put(&caller.0, request).await?;
    Ok(HttpResponse::Ok().json(FeatureOut::from(feature)))
}

/// Turns a feature on or off.
#[utoipa::path(params(("name" = String, Path, description = "Feature name")), request_body = SetEnabledIn,
    responses((status = 200, body = FeatureOut), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[post("/features/{name}/enabled")]
pub async fn set_feature_enabled(
    state: web::Data<AppState>,
    caller: Caller,
    name: web::Path<String>,
    JsonBody(input): JsonBody<SetEnabledIn>,
) -> Result<HttpResponse, ApiError> {
    let feature = state.features.set_enabled(&caller.0, &name, input.enabled).await?;
    Ok(HttpResponse::Ok().json(FeatureOut::from(feature)))
}

/// Registers a Twilio account; its token is stored encrypted and never returned.
#[utoipa::path(request_body = CreateTwilioAccountIn,
    responses((status = 201, body = TwilioAccountOut), (status = 403, body = Problem),
        (status = 409, description = "`account_sid_taken`: the Account SID is registered (by any tenant); `number_taken`: a number is another of the tenant's accounts'", body = Problem),
        (status = 422, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[post("/twilio-accounts")]
pub async fn create_twilio_account(
    state: web::Data<AppState>,
    caller: Caller,
    JsonBody(input): JsonBody<CreateTwilioAccountIn>,
) -> Result<HttpResponse, ApiError> {
    let request = CreateTwilioAccount {
        account_sid: input.account_sid,
        auth_token: SecretString::new(input.auth_token),
        friendly_name: input.friendly_name,
        phone_numbers: input.phone_numbers,
    };
    let account = state.twilio_accounts.create(&caller.0, request).await?;
    Ok(HttpResponse::Created().json(TwilioAccountOut::from(account)))
}

/// The tenant's Twilio accounts.
#[utoipa::path(responses((status = 200, body = ListOut<TwilioAccountOut>), (status = 403, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[get("/twilio-accounts")]
pub async fn list_twilio_accounts(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let accounts = state.twilio_accounts.list(&caller.0).await?;
    Ok(HttpResponse::Ok()
        .json(ListOut { items: accounts.into_iter().map(TwilioAccountOut::from).collect::<Vec<_>>() }))
}

/// One Twilio account.
#[utoipa::path(params(("id" = Uuid, Path, description = "Twilio account id")),
    responses((status = 200, body = TwilioAccountOut), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[get("/twilio-accounts/{id}")]
pub async fn get_twilio_account(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let account = state.twilio_accounts.get(&caller.0, TwilioAccountId::from(*id)).await?;
    Ok(HttpResponse::Ok().json(TwilioAccountOut::from(account)))
}
