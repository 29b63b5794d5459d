//! The generated client's hooks: they add the cross-cutting parts of every call and
//! nothing else. `pre` stamps the request (device id, captcha, the operation's
//! credential, refreshed first if due); `exec` sends it through the transport and, when
//! a bearer call's token is refused with 401, refreshes once and resends once.
//!
//! progenitor calls `pre` then `exec` for every operation; `OperationInfo` carries only
//! the operation id, so the credential comes from the spec-generated table in `auth.rs`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

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
    /// refused with 401, refreshes once and resends once (`after_rejection`).
    fn exec(&self, request: Request, info: &OperationInfo) -> impl Future<Output = Reply> {
        exchange(&self.inner().0, request, info.operation_id)
    }
}

pin_project_lite::pin_project! {
    /// The future of `exec`, written out so that the future every call carries holds
    /// the request once: an `async fn` keeps a request argument twice (as argument and
    /// as local), and an async block awaiting an attempt made before it keeps that
    /// twice. The first attempt is polled in place; what may follow it (retries, the
    /// refresh and resend after a 401) runs boxed, only when needed.
    struct Exchange<'a, A> {
        #[pin]
        first: A,
        rest: Option<Rest<'a>>,
        then: Option<Pin<Box<dyn Future<Output = Reply> + Send + 'a>>>,
    }
}

/// What a call needs after its first attempt.
struct Rest<'a> {
    core: &'a Arc<Core>,
    operation: &'static str,
    /// The template of every retry and of the resend after a 401; cheap to make (JSON
    /// and form bodies are bytes). `None` when the body is a stream.
    spare: Option<Request>,
    attempts: Attempts,
    replay: Replay<'static>,
}

/// Starts a call's exchange: the request goes out as the first attempt.
fn exchange<'a>(
    core: &'a Arc<Core>,
    request: Request,
    operation: &'static str,
) -> Exchange<'a, impl Future<Output = reqwest::Result<Answer>> + use<'a>> {
    let mut attempts = Attempts::new(core.transport.retry_policy());
    let replay = replay_for(&request);
    let spare = duplicate(&request);
    let first = core
        .transport
        .first_attempt(request, operation, &mut attempts);
    Exchange {
        first,
        rest: Some(Rest {
            core,
            operation,
            spare,
            attempts,
            replay,
        }),
        then: None,
    }
}

impl<A: Future<Output = reqwest::Result<Answer>>> Future for Exchange<'_, A> {
    type Output = Reply;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        let mut this = self.project();
        loop {
            if let Some(then) = this.then.as_mut() {
                return then.as_mut().poll(cx);
            }
            let result = std::task::ready!(this.first.as_mut().poll(cx));
            let Some(rest) = this.rest.take() else {
                unreachable!("`exec` polled after it completed");
            };
            match result {
                // The common case: done, nothing boxed.
                Ok(answer) if !answer.is_transient() && !answer.is_unauthenticated() => {
                    return Poll::Ready(Ok(answer.into_response()));
                }
                result => *this.then = Some(Box::pin(rest.finish(result))),
            }
        }
    }
}

impl Rest<'_> {
    /// Retries a transient failure, then refreshes and resends after a 401.
    async fn finish(mut self, first: reqwest::Result<Answer>) -> Reply {
        let transport = &self.core.transport;
        let first = transport
            .retried(
                first,
                self.spare.as_ref(),
                self.operation,
                self.replay,
                &mut self.attempts,
            )
            .await
            .map_err(without_query)?;
        match self.spare {
            Some(template) if first.is_unauthenticated() && self.attempts.any_left() => {
                after_rejection(self.core, first, template, self.operation, self.attempts).await
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
