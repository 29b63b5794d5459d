//! Signing devices out.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::auth::Authed;
use crate::state::App;

/// Signs every session of the caller out, the current one included.
pub(crate) async fn revoke_all_devices(State(app): State<App>, authed: Authed) -> Json<Value> {
    app.state()
        .sessions
        .revoke_where(|_, s| s.sub == authed.sub);
    Json(json!({}))
}

/// Signs out the caller's sessions opened with this `x-device-id`; `{}` even if there were none.
pub(crate) async fn revoke_device(
    State(app): State<App>,
    authed: Authed,
    Path(device_id): Path<String>,
) -> Json<Value> {
    app.state().sessions.revoke_where(|_, s| {
        s.sub == authed.sub && s.device_id.as_deref() == Some(device_id.as_str())
    });
    Json(json!({}))
}
