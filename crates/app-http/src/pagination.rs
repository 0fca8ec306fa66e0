//! `limit` and an opaque `cursor` on list endpoints; `next_cursor` in list responses.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ports::{Cursor, PageRequest};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::problem::ApiError;

/// Items per page when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit` accepted.
pub const MAX_LIMIT: u32 = 200;

/// Pagination parameters of a list endpoint.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Items per page, 1 to 200 (default 50).
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// Checks the parameters.
    ///
    /// # Errors
    /// 422 naming `limit` or `cursor`.
    pub fn to_request(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", format!("`limit` must be between 1 and {MAX_LIMIT}")));
        }
        let after = self.cursor.as_deref().map(decode_cursor).transpose()?;
        Ok(PageRequest { limit, after })
    }
}

/// Encodes a cursor for clients; they treat it as opaque.
#[must_use]
pub fn encode_cursor(cursor: Cursor) -> String {
    URL_SAFE_NO_PAD.encode(cursor.0.as_bytes())
}

fn decode_cursor(raw: &str) -> Result<Cursor, ApiError> {
    URL_SAFE_NO_PAD
        .decode(raw)
        .ok()
        .and_then(|bytes| Uuid::from_slice(&bytes).ok())
        .map(Cursor)
        .ok_or_else(|| ApiError::invalid("cursor", "`cursor` is not a cursor this API returned"))
}

/// A page of a list response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PageBody<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` at the end.
    pub next_cursor: Option<String>,
}

impl<T> PageBody<T> {
    /// Converts a port page.
    pub fn from_page<U>(page: ports::Page<U>, convert: impl Fn(U) -> T) -> Self {
        Self {
            items: page.items.into_iter().map(convert).collect(),
            next_cursor: page.next_cursor.map(encode_cursor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor(Uuid::now_v7());
        let params = PageParams { limit: Some(10), cursor: Some(encode_cursor(cursor)) };
        assert_eq!(params.to_request().unwrap(), PageRequest { limit: 10, after: Some(cursor) });
        let bad = PageParams { limit: None, cursor: Some("not-a-cursor!".into()) };
        assert_eq!(bad.to_request().unwrap_err().problem().field.as_deref(), Some("cursor"));
    }

    #[test]
    fn limit_defaults_and_is_bounded() {
        assert_eq!(PageParams::default().to_request().unwrap().limit, DEFAULT_LIMIT);
        for bad in [0, MAX_LIMIT + 1] {
            let params = PageParams { limit: Some(bad), cursor: None };
            assert_eq!(params.to_request().unwrap_err().status().as_u16(), 422);
        }
    }
}
