//! What the operation gate learned about a request, and the extractors handlers read it with.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::errors::{ApiError, ApiResult};

/// Per-request facts, put in the request extensions by the gate.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// The identified client (the environment id when the request named none). Operations
    /// authenticated by a bearer token use the token's own client instead.
    pub client_id: String,
    pub device_id: Option<String>,
    /// `Authorization: Bearer` token, or the `access_token` query parameter.
    pub bearer: Option<String>,
    /// `x-captcha-token` header, or the `captcha_token` query parameter.
    pub captcha_token: Option<String>,
    pub body: Arc<Value>,
    pub query: Arc<Vec<(String, String)>>,
}

impl Ctx {
    pub(crate) fn from_parts(parts: &Parts) -> ApiResult<Self> {
        parts
            .extensions
            .get::<Self>()
            .cloned()
            .ok_or_else(|| ApiError::internal("request context missing"))
    }

    /// The first value of a query parameter.
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        query_value(&self.query, name)
    }

    /// Every value of a repeated query parameter.
    pub(crate) fn query_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.query
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

pub(crate) fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        Self::from_parts(parts)
    }
}

/// The JSON body as `T`; type errors and missing fields become 400 `invalid_argument`.
pub(crate) struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> ApiResult<Self> {
        let ctx = Ctx::from_parts(parts)?;
        T::deserialize(ctx.body.as_ref())
            .map(JsonBody)
            .map_err(|e| ApiError::invalid_argument(format!("invalid request body: {e}")))
    }
}
