//! `GET /auth/v1/user/security/history`: the caller's sign-ins, newest first, in pages.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::auth::Authed;
use crate::clock::rfc3339;
use crate::context::Ctx;
use crate::errors::{ApiError, ApiResult};
use crate::security_log::{Filter, Record};
use crate::state::App;

/// The page size when `limit` is absent, and the largest one served.
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;

#[derive(Debug, Serialize)]
pub(crate) struct SecurityHistory {
    data: Vec<RecordOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
}

/// 3.3.3's record shape (`src/auth/models.ts:646-654`).
#[derive(Debug, Serialize)]
struct RecordOut {
    id: String,
    action: String,
    ip: &'static str,
    user_agent: &'static str,
    client_id: String,
    device_id: String,
    created_at: String,
    meta: Meta,
}

#[derive(Debug, Serialize)]
struct Meta {
    from: String,
}

impl From<Record> for RecordOut {
    fn from(r: Record) -> Self {
        Self {
            id: r.id.to_string(),
            action: r.action,
            // The emulator does not keep addresses or user agents of its callers.
            ip: "",
            user_agent: "",
            client_id: r.client_id,
            device_id: r.device_id.unwrap_or_default(),
            created_at: rfc3339(r.at),
            meta: Meta { from: r.from },
        }
    }
}

pub(crate) async fn get_security_history(
    State(app): State<App>,
    authed: Authed,
    ctx: Ctx,
) -> ApiResult<Json<SecurityHistory>> {
    let filter = match (ctx.query("query[action]"), ctx.query("ne_query[action]")) {
        (Some(action), _) => Filter::Only(action),
        (None, Some(action)) => Filter::Except(action),
        (None, None) => Filter::All,
    };
    let limit = match ctx.query("limit") {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| ApiError::invalid_argument(format!("limit must be 1 to {MAX_LIMIT}")))?,
    };
    let before = match ctx.query("page_token") {
        None => None,
        Some(raw) => Some(
            raw.parse::<u64>()
                .map_err(|_| ApiError::invalid_argument("page_token is not valid"))?,
        ),
    };
    let (records, next) = app
        .state()
        .security_log
        .page(&authed.sub, filter, limit, before);
    Ok(Json(SecurityHistory {
        data: records.into_iter().map(RecordOut::from).collect(),
        next_page_token: next.map(|id| id.to_string()),
    }))
}
