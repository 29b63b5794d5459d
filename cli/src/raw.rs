//! Calls through `Session::raw()`, for the commands whose `--json` must be the API's own
//! response body (the session's scenario methods return summaries of it).

use std::future::Future;

use cloudbase_auth::types::ErrorBody;
use cloudbase_auth::{ResponseValue, with_request_id};

use crate::error::{ApiFailure, CliError};
use crate::ids::random_hex32;

type Generated<T> = Result<ResponseValue<T>, progenitor_client::Error<ErrorBody>>;

/// Sends a generated call under a request id we know, so an error can name it.
pub async fn call<T>(send: impl Future<Output = Generated<T>>) -> Result<T, CliError> {
    let request_id = random_hex32();
    with_request_id(request_id.clone(), send)
        .await
        .map(ResponseValue::into_inner)
        .map_err(|e| from_generated(e, request_id))
}

fn from_generated(error: progenitor_client::Error<ErrorBody>, request_id: String) -> CliError {
    use progenitor_client::Error as G;
    match error {
        G::ErrorResponse(response) => {
            let status = response.status().as_u16();
            CliError::Api(ApiFailure::from_body(
                status,
                response.into_inner(),
                request_id,
            ))
        }
        G::CommunicationError(e) | G::ResponseBodyError(e) | G::InvalidUpgrade(e) => {
            let what = if e.is_timeout() {
                "the request timed out"
            } else if e.is_connect() {
                "could not connect to the server"
            } else {
                "the connection failed"
            };
            CliError::Transport(format!("{what} (request id {request_id})"))
        }
        // Bodies are not echoed: a malformed answer may still hold a token.
        G::InvalidResponsePayload(..) | G::UnexpectedResponse(_) => CliError::Malformed(format!(
            "the server's answer did not match the spec (request id {request_id})"
        )),
        // The crate's hooks report a failed sign-in check or refresh this way.
        G::Custom(message) | G::InvalidRequest(message) => CliError::other(message),
    }
}
