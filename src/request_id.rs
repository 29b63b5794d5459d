//! `x-request-id` and `x-device-id` values, and the per-call overrides that travel
//! with a future (task-locals), since progenitor's generated calls take no extra headers.

use std::cell::RefCell;
use std::future::Future;

use rand::Rng;

use crate::error::Error;

/// What one call carries through progenitor's generated code to the hooks and back.
struct CallContext {
    request_id: String,
    /// A typed error from the `pre` hook, which progenitor can only pass on as a string.
    hook_error: RefCell<Option<Error>>,
}

tokio::task_local! {
    static CALL: CallContext;
}

fn context(request_id: String) -> CallContext {
    CallContext {
        request_id,
        hook_error: RefCell::new(None),
    }
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
    CALL.scope(context(request_id.into()), future).await
}

/// The caller's request id, if one is set for the running task.
pub(crate) fn scoped_request_id() -> Option<String> {
    CALL.try_with(|call| call.request_id.clone()).ok()
}

/// Runs one facade call with `request_id` in scope (so the id it puts into errors is the
/// one the hooks send) and returns, beside its output, the typed error the `pre` hook
/// left, if any.
pub(crate) async fn scope_call<F: Future>(
    request_id: String,
    future: F,
) -> (F::Output, Option<Error>) {
    let mut scoped = std::pin::pin!(CALL.scope(context(request_id), future));
    let output = scoped.as_mut().await;
    let hook_error = scoped
        .as_mut()
        .take_value()
        .and_then(|call| call.hook_error.into_inner());
    (output, hook_error)
}

/// Keeps the `pre` hook's typed error for the facade call that is running, if any.
pub(crate) fn keep_hook_error(error: Error) {
    let _ = CALL.try_with(|call| *call.hook_error.borrow_mut() = Some(error));
}
