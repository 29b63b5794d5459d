//! `x-request-id` and `x-device-id` values, and the per-call overrides that travel
//! with a future (task-locals), since progenitor's generated calls take no extra headers.

use std::future::Future;

use rand::Rng;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// 32 lowercase hex characters from the thread's CSPRNG, the format the official SDK uses.
pub(crate) fn random_hex32() -> String {
    // A table lookup rather than 16 `format!` calls: this runs on every request.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes: [u8; 16] = rand::rng().random();
    let mut hex = String::with_capacity(32);
    for byte in bytes {
        hex.push(char::from(HEX[usize::from(byte >> 4)]));
        hex.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    hex
}

/// Runs `future` with `request_id` as the `x-request-id` of the requests it makes,
/// instead of a fresh one per request.
///
/// ```no_run
/// # async fn demo(session: cloudbase_auth::Session) -> Result<(), cloudbase_auth::Error> {
/// let me = cloudbase_auth::with_request_id("a1b2c3d4e5f60718293a4b5c6d7e8f90", session.me()).await?;
/// # Ok(()) }
/// ```
pub async fn with_request_id<F: Future>(request_id: impl Into<String>, future: F) -> F::Output {
    REQUEST_ID.scope(request_id.into(), future).await
}

/// The caller's request id, if one is set for the running task.
pub(crate) fn scoped_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Runs `future` with `request_id` in scope (used by the facade so the id it will put
/// into errors is the one the hooks send).
pub(crate) async fn scope_request_id<F: Future>(request_id: String, future: F) -> F::Output {
    REQUEST_ID.scope(request_id, future).await
}
