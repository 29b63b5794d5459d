//! Third-party identities linked to the signed-in user.

use crate::error::Error;
use crate::generated::types;
use crate::session::Session;

impl Session {
    /// The user's linked providers (and those that could be bound).
    pub async fn providers(&self) -> Result<types::ProvidersResponse, Error> {
        self.send(|raw| raw.list_user_providers().send()).await
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
        let response = self
            .send(|raw| raw.grant_provider_token().body(body).send())
            .await?;
        Ok(response.provider_token.unwrap_or_default())
    }

    /// Binds a third-party identity (a provider token) to the signed-in user.
    pub async fn bind_provider(&self, provider_token: &str) -> Result<(), Error> {
        let body = types::BindProviderRequest::builder().provider_token(provider_token.to_string());
        self.send(|raw| raw.bind_provider().body(body).send())
            .await
            .map(drop)
    }

    /// Unbinds a provider from the signed-in user.
    pub async fn unbind_provider(&self, provider_id: &str) -> Result<(), Error> {
        let provider_id = provider_id.to_string();
        self.send(|raw| raw.unbind_provider().provider_id(provider_id).send())
            .await
            .map(drop)
    }
}
