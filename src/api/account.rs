//! The signed-in user's account: profile, sudo tokens, password, deletion, sign-out.

use crate::error::Error;
use crate::events::SessionEvent;
use crate::generated::types;
use crate::secret::{Password, SudoToken, VerificationToken};
use crate::session::Session;

impl Session {
    /// The signed-in user's profile.
    pub async fn me(&self) -> Result<types::UserProfile, Error> {
        self.send(|raw| raw.get_user_me().send()).await
    }

    /// Signs out on the server (`user/signout`) and clears the session here. The local
    /// session is cleared even if the server says the token already expired.
    pub async fn sign_out(&self) -> Result<(), Error> {
        if self.tokens().is_none() {
            return Ok(());
        }
        let body = types::SignOutRequest::builder();
        let result = self.send(|raw| raw.sign_out().body(body).send()).await;
        self.end(SessionEvent::SignedOut).await?;
        match result {
            Err(Error::Api(api)) if api.is_unauthenticated() => Ok(()),
            Err(Error::SignInRequired { .. }) => Ok(()),
            other => other.map(drop),
        }
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
        let response = self
            .send(|raw| raw.create_sudo_token().body(body).send())
            .await?;
        Ok(SudoToken::new(response.sudo_token.unwrap_or_default()))
    }

    /// Changes the password (a sudo token from the current password, then
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
        self.send(|raw| raw.update_password().body(body).send())
            .await
            .map(drop)
    }

    /// Deletes the signed-in user (sudo from the password, then `DELETE user/me`).
    pub async fn delete_me(&self, password: impl Into<Password>) -> Result<(), Error> {
        let sudo = self.sudo_with_password(password).await?;
        self.delete_me_with_sudo(&sudo).await
    }

    /// `DELETE user/me` with a sudo token you already have; the session ends.
    pub async fn delete_me_with_sudo(&self, sudo: &SudoToken) -> Result<(), Error> {
        let sudo = sudo.expose_secret().to_string();
        self.send(|raw| raw.delete_user_me().sudo_token(sudo).send())
            .await?;
        self.end(SessionEvent::SignedOut).await
    }
}
