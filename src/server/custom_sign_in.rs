//! Signing a user in with a custom-login ticket minted by the backend.

use crate::Session;
use crate::error::Error;
use crate::generated::types;
use crate::secret::CustomLoginTicket;
use crate::session::SignedIn;

impl Session {
    /// Signs in the user a custom-login ticket names (`POST /auth/v1/signin/custom`, as
    /// `@cloudbase/oauth`'s `signInWithCustomTicket` does). The ticket comes from your server:
    /// [`CustomLoginKey::create_ticket`](crate::server::CustomLoginKey::create_ticket) or
    /// node-sdk's `createTicket`. CloudBase creates the user on first use.
    pub async fn sign_in_with_custom_ticket(
        &self,
        ticket: &CustomLoginTicket,
    ) -> Result<SignedIn, Error> {
        let body = types::SignInCustomRequest::builder()
            .provider_id("custom".to_string())
            .ticket(ticket.expose_secret().to_string());
        let response = self
            .send(|raw| raw.sign_in_custom().body(body).send())
            .await?;
        self.signed_in(response).await
    }
}
