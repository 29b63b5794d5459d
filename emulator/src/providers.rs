//! Third-party identities. The emulator is its own identity provider: the code (or access or
//! id token) a client presents *is* the provider-side user id, so provider `github` with code
//! `octocat` is the GitHub user "octocat". No real provider is ever contacted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, ApiResult};
use crate::secrets::{random_token, sha256_hex};
use crate::users::{ProviderLink, User, Users};

/// Upstream: 3600 s.
pub(crate) const PROVIDER_TOKEN_TTL_SECS: u64 = 3600;

/// Providers `GET /auth/v1/user/provider` offers for binding: (id, name, homepage).
const BINDABLE: [(&str, &str, &str); 3] = [
    ("github", "GitHub", "https://github.com"),
    ("google", "Google", "https://accounts.google.com"),
    ("wx_open", "WeChat", "https://open.weixin.qq.com"),
];

/// The identity behind a provider token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Identity {
    pub provider_id: String,
    pub provider_user_id: String,
    pub phone_number: Option<String>,
    expires_at: u64,
}

impl Identity {
    pub(crate) fn new(provider_id: &str, provider_user_id: &str) -> Self {
        Self {
            provider_id: provider_id.to_owned(),
            provider_user_id: provider_user_id.to_owned(),
            phone_number: None,
            expires_at: 0,
        }
    }

    fn as_link(&self) -> ProviderLink {
        ProviderLink {
            provider_id: self.provider_id.clone(),
            provider_user_id: self.provider_user_id.clone(),
            name: self.provider_user_id.clone(),
        }
    }
}

/// Provider tokens by hash; reusable until they expire, as upstream's 3600 s token.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct ProviderTokens {
    by_hash: BTreeMap<String, Identity>,
}

fn bad_provider_token() -> ApiError {
    ApiError::invalid_grant("provider token is invalid or expired")
}

impl ProviderTokens {
    pub(crate) fn issue(&mut self, mut identity: Identity, now: u64) -> String {
        let token = random_token("pt.");
        identity.expires_at = now.saturating_add(PROVIDER_TOKEN_TTL_SECS);
        self.by_hash.insert(sha256_hex(&token), identity);
        token
    }

    pub(crate) fn get(&self, token: &str, now: u64) -> ApiResult<Identity> {
        self.by_hash
            .get(&sha256_hex(token))
            .filter(|i| i.expires_at > now)
            .cloned()
            .ok_or_else(bad_provider_token)
    }

    /// Attaches a phone number (the WeChat "get phone number" step).
    pub(crate) fn set_phone(&mut self, token: &str, phone: &str, now: u64) -> ApiResult<Identity> {
        self.get(token, now)?;
        let identity = self
            .by_hash
            .get_mut(&sha256_hex(token))
            .ok_or_else(bad_provider_token)?;
        identity.phone_number = Some(phone.to_owned());
        Ok(identity.clone())
    }

    pub(crate) fn prune(&mut self, now: u64) {
        self.by_hash.retain(|_, i| i.expires_at > now);
    }

    pub(crate) fn remaining_secs(identity: &Identity, now: u64) -> u64 {
        identity.expires_at.saturating_sub(now)
    }
}

/// Binds `identity` to user `sub`. With `take_over`, a binding held by another user moves
/// (the transfer operations); without it that is a conflict.
pub(crate) fn link(
    users: &mut Users,
    sub: &str,
    identity: &Identity,
    take_over: bool,
) -> ApiResult<()> {
    let owner = users
        .by_link(&identity.provider_id, &identity.provider_user_id)
        .map(|u| u.sub.clone());
    if owner.as_deref() == Some(sub) {
        return Ok(());
    }
    let user = users.get(sub).ok_or_else(ApiError::user_not_found)?;
    if user.link(&identity.provider_id).is_some() {
        let description = format!(
            "a {} identity is already bound to this user",
            identity.provider_id
        );
        return Err(ApiError::already_exists("already_exists", description));
    }
    if let Some(owner) = owner {
        if !take_over {
            return Err(ApiError::already_exists(
                "already_exists",
                "this identity is bound to another user",
            ));
        }
        if let Some(mut other) = users.get_mut(&owner) {
            other
                .providers
                .retain(|l| l.provider_id != identity.provider_id);
        }
    }
    if let Some(mut user) = users.get_mut(sub) {
        user.providers.push(identity.as_link());
    }
    Ok(())
}

/// Schema `ProviderProfile`.
#[derive(Debug, Serialize)]
pub(crate) struct ProviderProfile {
    provider_id: String,
    sub: String,
    name: String,
    provider: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
}

impl From<&Identity> for ProviderProfile {
    fn from(i: &Identity) -> Self {
        Self {
            provider_id: i.provider_id.clone(),
            sub: i.provider_user_id.clone(),
            name: i.provider_user_id.clone(),
            provider: i.provider_id.clone(),
            phone_number: i.phone_number.clone(),
        }
    }
}

/// Schema `LinkedProvider`.
#[derive(Debug, Serialize)]
pub(crate) struct LinkedProvider {
    id: String,
    name: String,
    homepage: String,
    picture: String,
    provider_user_name: String,
    provider_type: &'static str,
    bind: bool,
}

/// The user's bound providers, then the bindable ones not bound yet.
pub(crate) fn list(user: &User) -> Vec<LinkedProvider> {
    let describe = |id: &str| {
        BINDABLE
            .iter()
            .find(|(known, _, _)| *known == id)
            .map_or_else(
                || (id.to_owned(), String::new()),
                |(_, name, homepage)| ((*name).to_owned(), (*homepage).to_owned()),
            )
    };
    let bound = user.providers.iter().map(|l| {
        let (name, homepage) = describe(&l.provider_id);
        LinkedProvider {
            id: l.provider_id.clone(),
            name,
            homepage,
            picture: String::new(),
            provider_user_name: l.name.clone(),
            provider_type: "OAUTH",
            bind: true,
        }
    });
    let bindable = BINDABLE
        .iter()
        .filter(|(id, _, _)| user.link(id).is_none())
        .map(|(id, name, homepage)| LinkedProvider {
            id: (*id).to_owned(),
            name: (*name).to_owned(),
            homepage: (*homepage).to_owned(),
            picture: String::new(),
            provider_user_name: String::new(),
            provider_type: "OAUTH",
            bind: false,
        });
    bound.chain(bindable).collect()
}
