//! Request extractors whose failures are problem+json that name the field at fault.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// A JSON body. Malformed JSON answers 400; well-formed JSON with a wrong or missing value
/// answers 422 naming the field (`context.items[2]`); a body over the limit answers 413.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// The body limit, stored in app data by the server.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// A body of any type within the limit (Twilio's forms): over the limit answers 413, an
/// unreadable body 400, both problem+json (actix's own `Bytes` extractor answers plain text).
#[derive(Debug)]
pub struct RawBody(pub web::Bytes);

impl FromRequest for RawBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = body_limit(req);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move { read_body(bytes, limit).await.map(RawBody) })
    }
}

fn body_limit(req: &HttpRequest) -> usize {
    req.app_data::<BodyLimit>().map_or(64 * 1024, |l| l.0)
}

/// Awaits actix's body extraction (which enforces `PayloadConfig`'s limit) and maps its
/// failures to problems.
async fn read_body(
    bytes: impl Future<Output = Result<web::Bytes, actix_web::Error>>,
    limit: usize,
) -> Result<web::Bytes, ApiError> {
    let bytes = bytes.await.map_err(|e| {
        if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::payload_too_large(limit)
        } else {
            ApiError::bad_request(format!("cannot read the body: {e}"))
        }
    })?;
    Ok(bytes)
}

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = body_limit(req);
        let content_type_ok = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json") || v.contains("+json"));
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = read_body(bytes, limit).await?;
            if !content_type_ok {
                return Err(ApiError::new(
                    actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Unsupported media type",
                    "send the body as application/json",
                ));
            }
            parse_json(&bytes).map(JsonBody)
        })
    }
}

/// Parses JSON, telling syntax errors (400) from data errors (422, with the field's path). A
/// string or key with the NUL character (`\u0000`), which PostgreSQL cannot store in text or
/// `jsonb`, is a data error naming where it is.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // JSON can only carry NUL escaped; the walk runs only when the escape appears at all (a
    // literal backslash before "u0000" also matches here, and the walk finds nothing).
    if contains_nul_escape(bytes)
        && let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some(path) = nul_path(&value, String::new())
    {
        let field = if path.is_empty() { "body".to_owned() } else { path };
        return Err(ApiError::invalid(
            field.clone(),
            format!("invalid `{field}`: must not contain the NUL character (\\u0000)"),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize::<_, T>(&mut deserializer);
    match parsed {
        Ok(value) => {
            deserializer.end().map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))?;
            Ok(value)
        }
        Err(error) => {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_data() {
                let field = if path == "." { "body".to_owned() } else { path };
                Err(ApiError::invalid(
                    field.clone(),
                    format!("invalid `{field}`: {}", strip_position(&inner)),
                ))
            } else {
                Err(ApiError::bad_request(format!("malformed JSON: {inner}")))
            }
        }
    }
}

/// serde_json appends "at line 1 column 42"; the field path says more.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    text.split(" at line ").next().unwrap_or(&text).to_owned()
}

/// A query string. A wrong value answers 422 naming the parameter.
#[derive(Debug)]
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for QueryParams<T> {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs = form_urlencoded::parse(req.query_string().as_bytes());
        let deserializer = serde_urlencoded::Deserializer::new(pairs);
        std::future::ready(serde_path_to_error::deserialize(deserializer).map(QueryParams).map_err(|error| {
            let field = error.path().to_string();
            ApiError::invalid(
                field.clone(),
                format!("invalid query parameter `{field}`: {}", error.into_inner()),
            )
        }))
    }
}

/// Whether `bytes` contain the JSON escape of NUL.
fn contains_nul_escape(bytes: &[u8]) -> bool {
    bytes.windows(6).any(|window| window == b"\\u0000")
}

/// Where in `value` a string or an object key holds NUL, as `a.b[2]`, if anywhere.
fn nul_path(value: &serde_json::Value, at: String) -> Option<String> {
    match value {
        serde_json::Value::String(text) => text.contains('\0').then_some(at),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().find_map(|(i, item)| nul_path(item, format!("{at}[{i}]")))
        }
        serde_json::Value::Object(map) => map.iter().find_map(|(key, item)| {
            let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
            if key.contains('\0') { Some(path) } else { nul_path(item, path) }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Input {
        phone: String,
        kind: domain::MessageType,
        items: Vec<u8>,
    }

    #[test]
    fn syntax_errors_are_400_and_data_errors_name_the_field() {
        let err = parse_json::<Input>(b"{\"phone\": ").unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        let err = parse_json::<Input>(br#"{"phone":"+1","kind":"sticker","items":[]}"#).unwrap_err();
        assert_eq!((err.status().as_u16(), err.problem().field.as_deref()), (422, Some("kind")));
        let err = parse_json::<Input>(br#"{"phone":"+1","kind":"text","items":[1,-2]}"#).unwrap_err();
        assert_eq!(err.problem().field.as_deref(), Some("items[1]"));
        let err = parse_json::<Input>(br#"{"kind":"text","items":[]}"#).unwrap_err();
        assert!(err.problem().detail.contains("phone"), "{:?}", err.problem());
        let err = parse_json::<Input>(br#"{"phone":"+1","kind":"text","items":[]} trailing"#).unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
    }

    #[test]
    fn nul_is_refused_where_it_is_and_a_literal_backslash_is_not() {
        let err = parse_json::<serde_json::Value>(br#"{"context":{"a":"\u0000"}}"#).unwrap_err();
        assert_eq!((err.status().as_u16(), err.problem().field.as_deref()), (422, Some("context.a")));
        let err = parse_json::<serde_json::Value>(br#"{"tags":["ok","x\u0000y"]}"#).unwrap_err();
        assert_eq!(err.problem().field.as_deref(), Some("tags[1]"));
        let err = parse_json::<serde_json::Value>(br#"{"k\u0000":1}"#).unwrap_err();
        assert_eq!(err.problem().field.as_deref(), Some("k\u{0}"));
        let literal = parse_json::<serde_json::Value>(br#"{"a":"\\u0000"}"#).unwrap();
        assert_eq!(literal["a"], "\\u0000", "a backslash before u0000 is text");
    }
}
