//! The generated client's hooks: they add the cross-cutting parts of every call and
//! nothing else. `pre` stamps the request (device id, captcha, the operation's
//! credential, refreshed first if due); `exec` sends it through the transport and, when
//! a bearer call's token is refused with 401, refreshes once and resends once.
//!
//! progenitor calls `pre` then `exec` for every operation; `OperationInfo` carries only
//! the operation id, so the credential comes from the spec-generated table in `auth.rs`.

use std::sync::Arc;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::AUTHORIZATION;
use reqwest::{Method, Request, Response};

use crate::auth::{AuthKind, operation_auth};
use crate::call;
use crate::generated::Client as RawClient;
use crate::session::{Core, SessionCore};
use crate::transport::{Answer, Attempts, Replay, duplicate};

impl ClientHooks<SessionCore> for RawClient {
    async fn pre<E>(
        &self,
        request: &mut Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        stamp(&self.inner().0, request, info.operation_id)
            .await
            .map_err(|e| {
                let message = e.to_string();
                // A call run by `Session::send` gets the typed error; a plain raw call
                // the message.
                call::report(|r| r.failure = Some(e));
                progenitor_client::Error::Custom(message)
            })
    }

    /// Sends the request through the transport; when a bearer call's own token is
    /// refused with 401, goes on to [`after_rejection`].
    async fn exec(&self, request: Request, info: &OperationInfo) -> Reply {
        let core = &self.inner().0;
        let operation = info.operation_id;
        let mut attempts = Attempts::new(core.transport.retry_policy());
        let replay = replay_for(&request);
        // The template of every retry and of the resend after a 401; cheap (JSON and
        // form bodies are bytes).
        let spare = duplicate(&request);
        let transport = &core.transport;
        let first = transport
            .first_attempt(request, operation, &mut attempts)
            .await;
        let first = transport
            .retried(first, spare.as_ref(), operation, replay, &mut attempts)
            .await
            .map_err(without_query)?;
        match spare {
            // Boxed: the uncommon path, kept out of the future every call carries.
            Some(template) if first.is_unauthenticated() && attempts.any_left() => {
                Box::pin(after_rejection(core, first, template, operation, attempts)).await
            }
            _ => Ok(first.into_response()),
        }
    }
}

type Reply = reqwest::Result<Response>;

/// A `GET` may be sent again whenever it failed transiently; anything else only if it
/// never left this machine.
fn replay_for(request: &Request) -> Replay<'static> {
    if request.method() == Method::GET {
        Replay::Idempotent
    } else {
        Replay::IfNotSent
    }
}

/// The reactive path: one refresh and one resend, only for the session's own token
/// (not one given with `with_bearer_token`), never for the token endpoint (it is not a
/// bearer operation), and only while the call has attempts left.
async fn after_rejection(
    core: &Arc<Core>,
    first: Answer,
    mut template: Request,
    operation: &'static str,
    mut attempts: Attempts,
) -> Reply {
    let own_bearer = operation_auth(operation).is_some_and(|op| op.auth == AuthKind::UserBearer)
        && call::overrides(|o| o.bearer.is_some()) != Some(true);
    let Some(sent) = template
        .headers()
        .get(AUTHORIZATION)
        .filter(|_| own_bearer)
        .cloned()
    else {
        return Ok(first.into_response());
    };
    match core.refresh_after_rejection(&sent).await {
        Ok(tokens) => {
            template
                .headers_mut()
                .insert(AUTHORIZATION, tokens.bearer.clone());
            let Some(resend) = duplicate(&template) else {
                return Ok(first.into_response());
            };
            // A refused request did nothing, so a resend is safe for any method.
            let replay = replay_for(&template);
            Ok(core
                .transport
                .send(resend, Some(&template), operation, replay, &mut attempts)
                .await
                .map_err(without_query)?
                .into_response())
        }
        Err(error) => {
            call::report(|r| r.failure = Some(error));
            Ok(first.into_response())
        }
    }
}

/// reqwest prints the URL of a failed request, and a query can carry a sudo token: keep
/// the scheme, host, port and path (which name the failure), drop the rest.
fn without_query(mut error: reqwest::Error) -> reqwest::Error {
    if let Some(url) = error.url_mut() {
        url.set_query(None);
        url.set_fragment(None);
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    error
}

/// Stamps the request with the identity's headers and the operation's credential, the
/// session's token refreshed first if it is due.
async fn stamp(
    core: &Arc<Core>,
    request: &mut Request,
    operation: &str,
) -> Result<(), crate::Error> {
    let op = operation_auth(operation).ok_or_else(|| crate::Error::InvalidRequest {
        message: format!("operation `{operation}` is not in the spec table"),
    })?;
    if op.auth != AuthKind::UserBearer {
        return core.identity.stamp(request, op, None);
    }
    if let Some(Some(bearer)) = call::overrides(|o| o.bearer.clone()) {
        return core.identity.stamp(request, op, Some(&bearer));
    }
    if op.optional && core.cache.current().is_none() {
        return core.identity.stamp(request, op, None);
    }
    let tokens = core.fresh_tokens().await?;
    core.identity.stamp(request, op, Some(&tokens.bearer))
}
#[cfg(test)]
mod sizes_tmp {
    #[test]
    fn sizes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _g = rt.enter();
        use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
        let session = crate::Session::new(
            crate::Config::for_base_url("http://127.0.0.1:1").with_client_id("x"),
        )
        .unwrap();
        let raw = session.raw();
        let core = &raw.inner().0;
        let info = OperationInfo {
            operation_id: "get_user_me",
        };
        let req =
            || reqwest::Request::new(reqwest::Method::GET, "http://127.0.0.1:1/".parse().unwrap());
        let mut r = req();
        println!(
            "pre {}",
            std::mem::size_of_val(&raw.pre::<()>(&mut r, &info))
        );
        println!("exec {}", std::mem::size_of_val(&raw.exec(req(), &info)));
        let mut attempts = crate::transport::Attempts::new(core.transport.retry_policy());
        println!(
            "tsend {}",
            std::mem::size_of_val(&core.transport.send(
                req(),
                None,
                "x",
                crate::transport::Replay::Idempotent,
                &mut attempts
            ))
        );
        println!(
            "get_user_me {}",
            std::mem::size_of_val(&raw.get_user_me().send())
        );
        println!("me {}", std::mem::size_of_val(&session.me()));
    }
}
