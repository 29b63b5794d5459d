//! The seed's curl scenarios as methods, built on the generated operations.
//!
//! Each method sends exactly what the spec documents; bearer methods make sure the
//! token is fresh first so a refresh failure surfaces as a typed [`Error`].

use std::future::Future;
use std::sync::Arc;
use std::time::SystemTime;

use progenitor_client::ResponseValue;

use crate::Session;
use crate::error::Error;
use crate::events::SessionEvent;
use crate::generated::types;
use crate::hooks::{BEARER_OVERRIDE, CAPTCHA_TOKEN};
use crate::request_id::{random_hex32, scope_call, scoped_request_id};
use crate::secret::{
    AccessToken, CaptchaToken, Password, RefreshToken, SudoToken, VerificationToken,
};
use crate::session::{Core, Tokens};

type Generated<T> = Result<ResponseValue<T>, progenitor_client::Error<types::ErrorBody>>;

/// Where a verification code goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// A phone number in CloudBase's form: `+86 13800000000` (prefix, space, number).
    Phone(String),
    /// An e-mail address.
    Email(String),
}

/// What a sign-in produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedIn {
    /// The user id.
    pub sub: Option<String>,
    /// The token scope (`user`, `anonymous`, …).
    pub scope: Option<String>,
    /// When the access token expires, on this machine's clock.
    pub expires_at: SystemTime,
}

impl SignedIn {
    fn from_tokens(tokens: &Tokens) -> SignedIn {
        SignedIn {
            sub: tokens.sub.clone(),
            scope: tokens.scope.clone(),
            expires_at: tokens.expires_at,
        }
    }
}

/// A verification code was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CodeSent {
    /// Pass it to [`Session::verify_code`] with the code the user received.
    pub verification_id: String,
    /// Seconds the code stays valid.
    pub expires_in: Option<i32>,
    /// Whether the phone/e-mail already belongs to a user: sign in if so, else sign up.
    pub is_user: bool,
}

/// A captcha to show the user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaptchaChallenge {
    /// The image as a `data:` URL.
    pub image: String,
    /// Pass it to [`Session::verify_captcha`] with the user's answer.
    pub token: String,
    /// Seconds the challenge stays valid.
    pub expires_in: Option<i32>,
}

/// What the server says about a token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Introspection {
    /// Whether the token is valid now (upstream answers `{}` for an invalid one).
    pub active: bool,
    /// The user id the token belongs to.
    pub sub: Option<String>,
    /// The token's scope.
    pub scope: Option<String>,
    /// The client the token was issued to.
    pub client_id: Option<String>,
}

/// New-user details for [`Session::sign_up`].
#[derive(Debug, Clone)]
pub struct SignUp {
    contact: Contact,
    verification_token: VerificationToken,
    username: Option<String>,
    password: Option<Password>,
    name: Option<String>,
}

impl SignUp {
    /// A sign-up for the phone/e-mail that `verification_token` proves.
    pub fn new(contact: Contact, verification_token: VerificationToken) -> SignUp {
        SignUp {
            contact,
            verification_token,
            username: None,
            password: None,
            name: None,
        }
    }

    /// A username to sign in with later.
    pub fn with_username(mut self, username: impl Into<String>) -> SignUp {
        self.username = Some(username.into());
        self
    }

    /// A password to sign in with later.
    pub fn with_password(mut self, password: impl Into<Password>) -> SignUp {
        self.password = Some(password.into());
        self
    }

    /// A display name.
    pub fn with_name(mut self, name: impl Into<String>) -> SignUp {
        self.name = Some(name.into());
        self
    }
}

/// Runs `future` with a solved captcha's token, sent as `x-captcha-token` by every
/// request it makes; use it to resend a call that failed with `captcha_required`.
pub async fn with_captcha_token<F: Future>(token: &CaptchaToken, future: F) -> F::Output {
    CAPTCHA_TOKEN
        .scope(token.expose_secret().to_string(), future)
        .await
}

/// Calls a generated operation with a known request id and maps its error.
pub(crate) async fn call<'a, T, Fut>(
    raw: &'a crate::RawClient,
    operation: &str,
    send: impl FnOnce(&'a crate::RawClient) -> Fut,
) -> Result<T, Error>
where
    Fut: Future<Output = Generated<T>>,
{
    let request_id = scoped_request_id().unwrap_or_else(random_hex32);
    let (result, hook_error) = scope_call(request_id.clone(), send(raw)).await;
    result
        .map(ResponseValue::into_inner)
        .map_err(|e| match (e, hook_error) {
            // The `pre` hook failed (e.g. the refresh before a bearer call): its typed error.
            (progenitor_client::Error::Custom(_), Some(typed)) => typed,
            (e, _) => Error::from_generated(e, operation, request_id),
        })
}

/// `POST /auth/v1/token` with the refresh grant (used by the session's refresh task).
pub(crate) async fn refresh_grant_request(
    core: &Arc<Core>,
    refresh: &RefreshToken,
) -> Result<types::TokenResponse, Error> {
    let raw = core.raw();
    let body = types::GrantTokenRequest::builder()
        .grant_type("refresh_token".to_string())
        .refresh_token(refresh.expose_secret().to_string());
    call(&raw, "grant_token", |raw| {
        raw.grant_token().body(body).send()
    })
    .await
}

/// `POST /auth/v1/signin/anonymously` (also how anonymous sessions renew, as upstream).
pub(crate) async fn anonymous_sign_in_request(
    core: &Arc<Core>,
) -> Result<types::TokenResponse, Error> {
    let raw = core.raw();
    call(&raw, "sign_in_anonymously", |raw| {
        raw.sign_in_anonymously()
            .body(types::SignInAnonymouslyRequest::builder())
            .send()
    })
    .await
}

impl Session {
    pub(crate) async fn signed_in(
        &self,
        response: types::TokenResponse,
    ) -> Result<SignedIn, Error> {
        let event = SessionEvent::SignedIn { sub: None };
        let tokens = self.core.commit(response, None, event).await?;
        let tokens =
            tokens.ok_or_else(|| Error::sign_in_required(crate::SignInReason::NotSignedIn))?;
        Ok(SignedIn::from_tokens(&tokens))
    }

    /// Scenario 1: sign in with a username (or phone/e-mail) and password.
    ///
    /// ```no_run
    /// # async fn demo(session: cloudbase_auth::Session) -> Result<(), cloudbase_auth::Error> {
    /// let signed_in = session.sign_in_with_password("alice", "correct horse battery").await?;
    /// println!("signed in as {:?}", signed_in.sub);
    /// # Ok(()) }
    /// ```
    pub async fn sign_in_with_password(
        &self,
        username: &str,
        password: impl Into<Password>,
    ) -> Result<SignedIn, Error> {
        let password = password.into();
        let body = types::SignInRequest::builder()
            .username(username.to_string())
            .password(password.expose_secret().to_string());
        let response = call(&self.raw, "sign_in", |raw| raw.sign_in().body(body).send()).await?;
        self.signed_in(response).await
    }

    /// Scenario 2, step 1: send a verification code by SMS or e-mail (`target: ANY`).
    pub async fn send_verification_code(&self, contact: &Contact) -> Result<CodeSent, Error> {
        let mut body = types::SendVerificationRequest::builder()
            .target(types::SendVerificationRequestTarget::Any);
        body = match contact {
            Contact::Phone(phone) => body.phone_number(phone.clone()),
            Contact::Email(email) => body.email(email.clone()),
        };
        let response = call(&self.raw, "send_verification", |raw| {
            raw.send_verification().body(body).send()
        })
        .await?;
        Ok(CodeSent {
            verification_id: response.verification_id.unwrap_or_default(),
            expires_in: response.expires_in,
            is_user: response.is_user.unwrap_or(false),
        })
    }

    /// Scenario 2, step 2: exchange the code the user received for a verification token.
    pub async fn verify_code(
        &self,
        verification_id: &str,
        code: &str,
    ) -> Result<VerificationToken, Error> {
        let body = types::VerifyVerificationRequest::builder()
            .verification_id(verification_id.to_string())
            .verification_code(code.to_string());
        let response = call(&self.raw, "verify_verification", |raw| {
            raw.verify_verification().body(body).send()
        })
        .await?;
        Ok(VerificationToken::new(
            response.verification_token.unwrap_or_default(),
        ))
    }

    /// Scenario 2, step 3: sign up with a verified phone/e-mail; the session is signed in.
    pub async fn sign_up(&self, sign_up: SignUp) -> Result<SignedIn, Error> {
        let mut body = types::SignUpRequest::builder()
            .verification_token(sign_up.verification_token.expose_secret().to_string())
            .username(sign_up.username)
            .password(sign_up.password.map(|p| p.expose_secret().to_string()))
            .name(sign_up.name);
        body = match sign_up.contact {
            Contact::Phone(phone) => body.phone_number(phone),
            Contact::Email(email) => body.email(email),
        };
        let response = call(&self.raw, "sign_up", |raw| raw.sign_up().body(body).send()).await?;
        self.signed_in(response).await
    }

    /// Signs in the user a verified phone/e-mail belongs to.
    pub async fn sign_in_with_verification(
        &self,
        token: &VerificationToken,
    ) -> Result<SignedIn, Error> {
        let body =
            types::SignInRequest::builder().verification_token(token.expose_secret().to_string());
        let response = call(&self.raw, "sign_in", |raw| raw.sign_in().body(body).send()).await?;
        self.signed_in(response).await
    }

    /// Scenario 3: sign in anonymously. The anonymous user is tied to this session's
    /// device id; when its token expires the session signs in anonymously again.
    pub async fn sign_in_anonymously(&self) -> Result<SignedIn, Error> {
        let response = anonymous_sign_in_request(&self.core).await?;
        self.signed_in(response).await
    }

    /// Scenario 4: refresh now (the session also does this by itself before expiry).
    pub async fn refresh(&self) -> Result<SignedIn, Error> {
        let tokens = self.core.force_refresh().await?;
        Ok(SignedIn::from_tokens(&tokens))
    }

    /// Scenario 5: introspect this session's access token.
    pub async fn introspect(&self) -> Result<Introspection, Error> {
        let response = call(&self.raw, "introspect_token", |raw| {
            raw.introspect_token().send()
        })
        .await?;
        Ok(introspection(response))
    }

    /// Scenario 5: introspect any access token (e.g. one a caller presented to you).
    pub async fn introspect_token(&self, token: &AccessToken) -> Result<Introspection, Error> {
        let send = call(&self.raw, "introspect_token", |raw| {
            raw.introspect_token().send()
        });
        let response = BEARER_OVERRIDE
            .scope(token.expose_secret().to_string(), send)
            .await?;
        Ok(introspection(response))
    }

    /// Scenario 6: revoke a token (access or refresh). Revoking this session's own token
    /// also ends the session here.
    pub async fn revoke(&self, token: &str) -> Result<(), Error> {
        let own = self.core.current().is_some_and(|t| {
            t.access.expose_secret() == token
                || t.refresh
                    .as_ref()
                    .is_some_and(|r| r.expose_secret() == token)
        });
        let body = types::RevokeRequest::builder().token(token.to_string());
        call(&self.raw, "revoke_token", |raw| {
            raw.revoke_token().body(body).send()
        })
        .await?;
        if own {
            self.core.clear(None, SessionEvent::SignedOut).await?;
        }
        Ok(())
    }

    /// Signs out on the server (`user/signout`) and clears the session here. The local
    /// session is cleared even if the server says the token already expired.
    pub async fn sign_out(&self) -> Result<(), Error> {
        if self.core.current().is_none() {
            return Ok(());
        }
        let result = call(&self.raw, "sign_out", |raw| {
            raw.sign_out().body(types::SignOutRequest::builder()).send()
        })
        .await;
        self.core.clear(None, SessionEvent::SignedOut).await?;
        match result {
            Err(Error::Api(api)) if api.is_unauthenticated() => Ok(()),
            Err(Error::SignInRequired { .. }) => Ok(()),
            other => other.map(drop),
        }
    }

    /// Scenario 7: the signed-in user's profile.
    pub async fn me(&self) -> Result<types::UserProfile, Error> {
        call(&self.raw, "get_user_me", |raw| raw.get_user_me().send()).await
    }

    /// A sudo token (900 s) from the user's password, for sensitive operations.
    pub async fn sudo_with_password(
        &self,
        password: impl Into<Password>,
    ) -> Result<SudoToken, Error> {
        let body =
            types::SudoRequest::builder().password(password.into().expose_secret().to_string());
        self.sudo(body).await
    }

    /// A sudo token from a verification token (users with a bound phone must use this).
    pub async fn sudo_with_verification(
        &self,
        token: &VerificationToken,
    ) -> Result<SudoToken, Error> {
        let body =
            types::SudoRequest::builder().verification_token(token.expose_secret().to_string());
        self.sudo(body).await
    }

    async fn sudo(&self, body: types::builder::SudoRequest) -> Result<SudoToken, Error> {
        let response = call(&self.raw, "create_sudo_token", |raw| {
            raw.create_sudo_token().body(body).send()
        })
        .await?;
        Ok(SudoToken::new(response.sudo_token.unwrap_or_default()))
    }

    /// Scenario 7: change the password (a sudo token from the current password, then
    /// `PATCH user/password`). Other devices are signed out by the server.
    pub async fn change_password(
        &self,
        current: impl Into<Password>,
        new: impl Into<Password>,
    ) -> Result<(), Error> {
        let sudo = self.sudo_with_password(current).await?;
        self.change_password_with_sudo(&sudo, new).await
    }

    /// `PATCH user/password` with a sudo token you already have.
    pub async fn change_password_with_sudo(
        &self,
        sudo: &SudoToken,
        new: impl Into<Password>,
    ) -> Result<(), Error> {
        let body = types::UpdatePasswordRequest::builder()
            .sudo_token(sudo.expose_secret().to_string())
            .new_password(new.into().expose_secret().to_string());
        call(&self.raw, "update_password", |raw| {
            raw.update_password().body(body).send()
        })
        .await
        .map(drop)
    }

    /// Scenario 7: delete the signed-in user (sudo from the password, then `DELETE user/me`).
    pub async fn delete_me(&self, password: impl Into<Password>) -> Result<(), Error> {
        let sudo = self.sudo_with_password(password).await?;
        self.delete_me_with_sudo(&sudo).await
    }

    /// `DELETE user/me` with a sudo token you already have; the session ends.
    pub async fn delete_me_with_sudo(&self, sudo: &SudoToken) -> Result<(), Error> {
        let sudo = sudo.expose_secret().to_string();
        call(&self.raw, "delete_user_me", |raw| {
            raw.delete_user_me().sudo_token(sudo).send()
        })
        .await?;
        self.core.clear(None, SessionEvent::SignedOut).await
    }

    /// The user's linked providers (and those that could be bound).
    pub async fn providers(&self) -> Result<types::ProvidersResponse, Error> {
        call(&self.raw, "list_user_providers", |raw| {
            raw.list_user_providers().send()
        })
        .await
    }

    /// Exchanges a provider's OAuth code for a provider token (to bind or sign in with).
    pub async fn grant_provider_token(
        &self,
        provider_id: &str,
        provider_code: &str,
    ) -> Result<String, Error> {
        let body = types::GrantProviderTokenRequest::builder()
            .provider_id(provider_id.to_string())
            .provider_code(provider_code.to_string());
        let response = call(&self.raw, "grant_provider_token", |raw| {
            raw.grant_provider_token().body(body).send()
        })
        .await?;
        Ok(response.provider_token.unwrap_or_default())
    }

    /// Binds a third-party identity (a provider token) to the signed-in user.
    pub async fn bind_provider(&self, provider_token: &str) -> Result<(), Error> {
        let body = types::BindProviderRequest::builder().provider_token(provider_token.to_string());
        call(&self.raw, "bind_provider", |raw| {
            raw.bind_provider().body(body).send()
        })
        .await
        .map(drop)
    }

    /// Unbinds a provider from the signed-in user.
    pub async fn unbind_provider(&self, provider_id: &str) -> Result<(), Error> {
        let provider_id = provider_id.to_string();
        call(&self.raw, "unbind_provider", |raw| {
            raw.unbind_provider().provider_id(provider_id).send()
        })
        .await
        .map(drop)
    }

    /// A captcha image, after a call failed with `captcha_required`.
    pub async fn captcha_image(&self) -> Result<CaptchaChallenge, Error> {
        let body = types::CaptchaDataRequest::builder();
        let response = call(&self.raw, "get_captcha_data", |raw| {
            raw.get_captcha_data().body(body).send()
        })
        .await?;
        Ok(CaptchaChallenge {
            image: response.data.unwrap_or_default(),
            token: response.token.unwrap_or_default(),
            expires_in: response.expires_in,
        })
    }

    /// Checks the user's answer; resend the blocked call inside [`with_captcha_token`].
    pub async fn verify_captcha(&self, token: &str, answer: &str) -> Result<CaptchaToken, Error> {
        let body = types::VerifyCaptchaRequest::builder()
            .token(token.to_string())
            .key(answer.to_string());
        let response = call(&self.raw, "verify_captcha_data", |raw| {
            raw.verify_captcha_data().body(body).send()
        })
        .await?;
        Ok(CaptchaToken::new(
            response.captcha_token.unwrap_or_default(),
        ))
    }
}

fn introspection(response: types::IntrospectResponse) -> Introspection {
    Introspection {
        active: response.sub.as_deref().is_some_and(|s| !s.is_empty()),
        sub: response.sub,
        scope: response.scope,
        client_id: response.client_id,
    }
}
