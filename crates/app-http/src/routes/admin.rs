//! Tenant administration (admin role): users, API keys, features, Twilio accounts.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use domain::{ApiKeyId, SecretString, TwilioAccountId, UserId, UserRole};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use services::{
    CreateApiKey, CreateTwilioAccount, CreateUser, PutFeature, TwilioAccountRemoval, UpdateTwilioAccount,
};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::dto::{ApiKeyOut, CreatedApiKeyOut, FeatureOut, ListOut, TwilioAccountOut, UserOut};
use crate::extract::{JsonBody, QueryParams};
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
    /// A Messaging Service (`MG` and 32 hex digits): sends go through it instead of a `From`
    /// number.
    pub messaging_service_sid: Option<String>,
}

impl std::fmt::Debug for CreateTwilioAccountIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateTwilioAccountIn")
            .field("account_sid", &self.account_sid)
            .finish_non_exhaustive()
    }
}

/// Changes to a Twilio account, as a JSON merge patch (RFC 7396): a field left out stays as it
/// is; `null` removes `friendly_name` and is refused for the others.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"auth_token": "fedcba9876543210fedcba9876543210", "active": true}))]
pub struct UpdateTwilioAccountIn {
    /// A new label; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub friendly_name: Option<Option<String>>,
    /// The new auth token, after rotating it at Twilio; stored encrypted, never returned.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String)]
    pub auth_token: Option<Option<String>>,
    /// The numbers, `+…` or `whatsapp:+…`, replacing the current list.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Vec<String>)]
    pub phone_numbers: Option<Option<Vec<String>>>,
    /// `false` stops the account at once: its webhooks are refused (403) and its sends fail.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub active: Option<Option<bool>>,
    /// A Messaging Service to send through; `null`: send from the conversation's number again.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub messaging_service_sid: Option<Option<String>>,
}

impl std::fmt::Debug for UpdateTwilioAccountIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateTwilioAccountIn")
            .field("friendly_name", &self.friendly_name)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "[redacted]"))
            .field("phone_numbers", &self.phone_numbers)
            .field("active", &self.active)
            .field("messaging_service_sid", &self.messaging_service_sid)
            .finish()
    }
}

/// A field that is in the body, `null` or not: `Some(None)` for `null`; with
/// `#[serde(default)]`, `None` when left out (merge patch tells the two apart).
pub(crate) fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A field that has no "removed" state: `null` is refused like a wrong value.
pub(crate) fn not_null<T>(field: &'static str, value: Option<Option<T>>) -> Result<Option<T>, ApiError> {
    match value {
        Some(None) => Err(ApiError::invalid(field, format!("invalid `{field}`: must not be null"))),
        Some(Some(value)) => Ok(Some(value)),
        None => Ok(None),
    }
}

impl UpdateTwilioAccountIn {
    fn into_request(self) -> Result<UpdateTwilioAccount, ApiError> {
        Ok(UpdateTwilioAccount {
            friendly_name: self.friendly_name,
            auth_token: not_null("auth_token", self.auth_token)?.map(SecretString::new),
            phone_numbers: not_null("phone_numbers", self.phone_numbers)?,
            active: not_null("active", self.active)?,
            messaging_service_sid: self.messaging_service_sid,
        })
    }
}

/// How to remove a Twilio account.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteTwilioAccountQuery {
    /// With conversations active on the account's numbers: `true` deactivates the account
    /// instead of refusing (default `false`).
    pub force: Option<bool>,
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
    responses((status = 200, body = FeatureOut), (status = 404, body = Problem),
        (status = 422, description = "`invalid_input`: not a feature name", body = Problem)),
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
        messaging_service_sid: input.messaging_service_sid,
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

/// Changes a Twilio account: label, numbers, auth token (after rotating it at Twilio), or
/// whether it is active. Webhooks verify with a new token, and an inactive account's webhooks
/// are refused, at once on every instance. The token is never returned.
#[utoipa::path(params(("id" = Uuid, Path, description = "Twilio account id")),
    request_body(content = UpdateTwilioAccountIn, description = "`application/json` or `application/merge-patch+json`"),
    responses((status = 200, body = TwilioAccountOut), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`number_taken`: a number is another of the tenant's accounts'", body = Problem),
        (status = 415, body = Problem),
        (status = 422, description = "`invalid_input` naming the `field` (`auth_token`, `phone_numbers`, `friendly_name`, `active`, `messaging_service_sid`, or an unknown field)", body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[patch("/twilio-accounts/{id}")]
pub async fn update_twilio_account(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    JsonBody(input): JsonBody<UpdateTwilioAccountIn>,
) -> Result<HttpResponse, ApiError> {
    let request = input.into_request()?;
    let account = state.twilio_accounts.update(&caller.0, TwilioAccountId::from(*id), request).await?;
    Ok(HttpResponse::Ok().json(TwilioAccountOut::from(account)))
}

/// Removes a Twilio account. Refused while conversations are active on its numbers unless
/// `force=true`, which deactivates it instead (200 with the account). Its conversations and
/// messages stay readable.
#[utoipa::path(params(("id" = Uuid, Path, description = "Twilio account id"), DeleteTwilioAccountQuery),
    responses((status = 204, description = "Deleted"),
        (status = 200, description = "Conversations were active and `force=true`: deactivated, not deleted", body = TwilioAccountOut),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "`account_in_use`: conversations are active on its numbers (close them, or `force=true`)", body = Problem),
        (status = 422, description = "`invalid_input`: `force` is not a boolean", body = Problem)),
    security(("api_key" = [])), tag = "administration")]
#[delete("/twilio-accounts/{id}")]
pub async fn delete_twilio_account(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    QueryParams(query): QueryParams<DeleteTwilioAccountQuery>,
) -> Result<HttpResponse, ApiError> {
    let force = query.force.unwrap_or(false);
    match state.twilio_accounts.remove(&caller.0, TwilioAccountId::from(*id), force).await? {
        TwilioAccountRemoval::Deleted => Ok(HttpResponse::NoContent().finish()),
        TwilioAccountRemoval::Deactivated(account) => {
            Ok(HttpResponse::Ok().json(TwilioAccountOut::from(account)))
        }
    }
}
