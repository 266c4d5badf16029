//! What the API reads from a request, with errors in JSON that name the
//! offending field: bodies ([`ApiJson`]), query strings ([`query`]) and
//! paging ([`Paging`]).

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{FromRequest, Query, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::MAX_REQUEST_BYTES;
use crate::errors::JsonError;

/// A JSON body whose errors are JSON too, naming the offending field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = JsonError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                JsonError::new(
                    status,
                    format!("the request body is larger than {MAX_REQUEST_BYTES} bytes"),
                )
            } else {
                JsonError::new(status, rejection.body_text())
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let message = inner.to_string();
                if inner.is_syntax() || inner.is_eof() || inner.is_io() {
                    return JsonError::new(
                        StatusCode::BAD_REQUEST,
                        format!("malformed JSON: {message}"),
                    );
                }
                let field = if path != "." {
                    path
                } else {
                    backticked(&message).unwrap_or_default()
                };
                JsonError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message)
            })
    }
}

/// The first `name` in "unknown field `name`" / "missing field `name`".
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

/// Query parameters whose errors are JSON too (400).
pub fn query<T>(
    params: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, JsonError> {
    params
        .map(|Query(p)| p)
        .map_err(|e| JsonError::new(StatusCode::BAD_REQUEST, e.body_text()))
}

/// A query parameter that names one value of an enum (`status=draft`),
/// `default` when it is absent; another value is a 400 naming the field and
/// the values it may take.
pub fn choice<T: FromStr<Err = String>>(
    field: &'static str,
    value: Option<&str>,
    default: T,
) -> Result<T, JsonError> {
    match value {
        None => Ok(default),
        Some(value) => value
            .parse()
            .map_err(|e| JsonError::field(StatusCode::BAD_REQUEST, field, format!("{field} {e}"))),
    }
}

/// One page of a listing: `page` from 1, `per_page` from 1 to a maximum.
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Paging {
    pub fn new(
        page: Option<i64>,
        per_page: Option<i64>,
        default: i64,
        max: i64,
    ) -> Result<Self, JsonError> {
        let page = page.unwrap_or(1);
        if page < 1 {
            return Err(JsonError::field(
                StatusCode::BAD_REQUEST,
                "page",
                "page must be 1 or more",
            ));
        }
        let per_page = per_page.unwrap_or(default);
        if !(1..=max).contains(&per_page) {
            return Err(JsonError::field(
                StatusCode::BAD_REQUEST,
                "per_page",
                format!("per_page must be 1 to {max}"),
            ));
        }
        Ok(Paging { page, per_page })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_out_of_serde_messages() {
        assert_eq!(
            backticked("unknown field `colour`, expected one of `title`").as_deref(),
            Some("colour")
        );
        assert_eq!(
            backticked("missing field `title`").as_deref(),
            Some("title")
        );
        assert_eq!(backticked("no field here"), None);
    }
}
