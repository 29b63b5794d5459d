//! Users, their contacts and linked providers, and the profile views upstream returns.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::clock::rfc3339;
use crate::errors::{ApiError, ApiResult};

/// A phone number ("+86 13800000000") or an e-mail address, in normalized form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub(crate) enum Contact {
    Phone(String),
    Email(String),
}

impl Contact {
    /// Exactly one of the two request fields must be set.
    pub(crate) fn from_fields(phone: Option<&str>, email: Option<&str>) -> ApiResult<Self> {
        match (
            phone.filter(|p| !p.is_empty()),
            email.filter(|e| !e.is_empty()),
        ) {
            (Some(phone), None) => Self::phone(phone),
            (None, Some(email)) => Self::email(email),
            _ => Err(ApiError::invalid_argument(
                "exactly one of phone_number and email is required",
            )),
        }
    }

    /// Upstream form: `+<country code> <number>`, e.g. "+86 13800000000". Leading zeros of
    /// the country code are dropped ("+086", "+0086" are "+86"): one number, one identity.
    pub(crate) fn phone(raw: &str) -> ApiResult<Self> {
        let normalized = raw
            .trim()
            .strip_prefix('+')
            .and_then(|rest| rest.split_once(' '))
            .filter(|(country, number)| {
                (1..=4).contains(&country.len())
                    && (4..=20).contains(&number.len())
                    && country
                        .bytes()
                        .chain(number.bytes())
                        .all(|b| b.is_ascii_digit())
            })
            .map(|(country, number)| (country.trim_start_matches('0'), number))
            .filter(|(country, _)| !country.is_empty())
            .map(|(country, number)| format!("+{country} {number}"));
        if let Some(normalized) = normalized {
            Ok(Self::Phone(normalized))
        } else {
            Err(ApiError::auth(
                "invalid_phone_number",
                "phone number must look like \"+86 13800000000\"",
            ))
        }
    }

    pub(crate) fn email(raw: &str) -> ApiResult<Self> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.contains(char::is_whitespace)
            && email.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && !domain.is_empty() && !domain.contains('@')
            });
        if valid {
            Ok(Self::Email(email))
        } else {
            Err(ApiError::auth("invalid_email", "invalid e-mail address"))
        }
    }

    /// Parses a phone number or an e-mail address given as one string.
    pub(crate) fn parse(raw: &str) -> ApiResult<Self> {
        if raw.trim_start().starts_with('+') {
            Self::phone(raw)
        } else {
            Self::email(raw)
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            Self::Phone(v) | Self::Email(v) => v,
        }
    }

    pub(crate) fn provider_type(&self) -> &'static str {
        match self {
            Self::Phone(_) => "phone",
            Self::Email(_) => "email",
        }
    }
}

/// Usernames as upstream documents them: 2-48 characters of letters, digits and `-_.:+ @`,
/// starting with a letter or digit.
pub(crate) fn validate_username(username: &str) -> ApiResult<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_.:+ @".contains(c);
    let valid = (2..=48).contains(&username.chars().count())
        && username
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && username.chars().all(allowed);
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid_argument("invalid username"))
    }
}

/// Upstream's length rule (8-64). Its composition rule is not enforced (ASVS V2.1.9).
pub(crate) fn validate_password(password: &str) -> ApiResult<()> {
    if (8..=64).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(ApiError::auth(
            "weak_password",
            "password must be 8 to 64 characters",
        ))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Address {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// A third-party identity linked to a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProviderLink {
    pub provider_id: String,
    pub provider_user_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct User {
    pub sub: String,
    pub username: Option<String>,
    pub password_hash: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub name: Option<String>,
    pub picture: Option<String>,
    pub gender: Option<String>,
    pub locale: Option<String>,
    pub birthdate: Option<String>,
    pub zoneinfo: Option<String>,
    pub description: Option<String>,
    pub address: Option<Address>,
    pub anonymous: bool,
    pub created_from: String,
    pub providers: Vec<ProviderLink>,
    pub created_at: u64,
    pub updated_at: u64,
    pub password_updated_at: Option<u64>,
    pub last_login: Option<u64>,
}

impl User {
    pub(crate) fn new(sub: String, created_from: &str, now: u64) -> Self {
        Self {
            sub,
            created_from: created_from.to_owned(),
            created_at: now,
            updated_at: now,
            ..Self::default()
        }
    }

    pub(crate) fn has_contact(&self, contact: &Contact) -> bool {
        match contact {
            Contact::Phone(p) => self.phone_number.as_deref() == Some(p.as_str()),
            Contact::Email(e) => self.email.as_deref() == Some(e.as_str()),
        }
    }

    pub(crate) fn set_contact(&mut self, contact: Option<&Contact>, kind: &Contact) {
        let value = contact.map(|c| c.as_str().to_owned());
        match kind {
            Contact::Phone(_) => self.phone_number = value,
            Contact::Email(_) => self.email = value,
        }
    }

    pub(crate) fn link(&self, provider_id: &str) -> Option<&ProviderLink> {
        self.providers.iter().find(|l| l.provider_id == provider_id)
    }
}

/// All users, keyed by `sub`, with indexes by username, contact and linked identity, so a
/// lookup costs the same at 100k users as at 10. The indexes are not exported; they are
/// rebuilt when a state document is loaded.
#[derive(Debug, Default, Deserialize)]
#[serde(from = "UsersDocument")]
pub(crate) struct Users {
    by_sub: BTreeMap<String, User>,
    index: HashMap<Key, String>,
}

/// The exported form: users only.
#[derive(Deserialize)]
struct UsersDocument {
    by_sub: BTreeMap<String, User>,
}

impl Serialize for Users {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Borrowed<'a> {
            by_sub: &'a BTreeMap<String, User>,
        }
        Borrowed {
            by_sub: &self.by_sub,
        }
        .serialize(serializer)
    }
}

impl From<UsersDocument> for Users {
    fn from(document: UsersDocument) -> Self {
        let mut users = Self {
            by_sub: document.by_sub,
            index: HashMap::new(),
        };
        let keys: Vec<(Key, String)> = users
            .by_sub
            .values()
            .flat_map(|u| keys(u).into_iter().map(|k| (k, u.sub.clone())))
            .collect();
        users.index.extend(keys);
        users
    }
}

/// What a user can be found by, besides its `sub`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Username(String),
    Phone(String),
    Email(String),
    Link(String, String),
}

fn keys(user: &User) -> Vec<Key> {
    let contacts = [
        user.username.clone().map(Key::Username),
        user.phone_number.clone().map(Key::Phone),
        user.email.clone().map(Key::Email),
    ];
    let links = user
        .providers
        .iter()
        .map(|l| Key::Link(l.provider_id.clone(), l.provider_user_id.clone()));
    contacts.into_iter().flatten().chain(links).collect()
}

fn contact_key(contact: &Contact) -> Key {
    match contact {
        Contact::Phone(p) => Key::Phone(p.clone()),
        Contact::Email(e) => Key::Email(e.clone()),
    }
}

/// A user borrowed for change; the indexes follow the change when it is dropped.
pub(crate) struct UserMut<'a> {
    users: &'a mut Users,
    sub: String,
    before: Vec<Key>,
}

impl std::ops::Deref for UserMut<'_> {
    type Target = User;

    fn deref(&self) -> &User {
        &self.users.by_sub[&self.sub]
    }
}

impl std::ops::DerefMut for UserMut<'_> {
    fn deref_mut(&mut self) -> &mut User {
        self.users
            .by_sub
            .get_mut(&self.sub)
            .expect("a UserMut exists only for a present user")
    }
}

impl Drop for UserMut<'_> {
    fn drop(&mut self) {
        let after = self
            .users
            .by_sub
            .get(&self.sub)
            .map(keys)
            .unwrap_or_default();
        if after != self.before {
            for key in &self.before {
                self.users.unindex(key, &self.sub);
            }
            for key in after {
                self.users.index.insert(key, self.sub.clone());
            }
        }
    }
}

impl Users {
    pub(crate) fn get(&self, sub: &str) -> Option<&User> {
        self.by_sub.get(sub)
    }

    pub(crate) fn get_mut(&mut self, sub: &str) -> Option<UserMut<'_>> {
        let before = keys(self.by_sub.get(sub)?);
        Some(UserMut {
            users: self,
            sub: sub.to_owned(),
            before,
        })
    }

    /// Removes an index entry only if it still points at `sub`.
    fn unindex(&mut self, key: &Key, sub: &str) {
        if self.index.get(key).is_some_and(|s| s == sub) {
            self.index.remove(key);
        }
    }

    pub(crate) fn insert(&mut self, user: User) {
        let sub = user.sub.clone();
        self.remove(&sub);
        for key in keys(&user) {
            self.index.insert(key, sub.clone());
        }
        self.by_sub.insert(sub, user);
    }

    pub(crate) fn remove(&mut self, sub: &str) -> Option<User> {
        let user = self.by_sub.remove(sub)?;
        for key in keys(&user) {
            self.unindex(&key, sub);
        }
        Some(user)
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &User> {
        self.by_sub.values()
    }

    /// Removes the users `doomed` picks (pruning).
    pub(crate) fn remove_where(&mut self, mut doomed: impl FnMut(&User) -> bool) {
        let subs: Vec<String> = self
            .all()
            .filter(|u| doomed(u))
            .map(|u| u.sub.clone())
            .collect();
        for sub in subs {
            self.remove(&sub);
        }
    }

    fn by_key(&self, key: &Key) -> Option<&User> {
        self.index.get(key).and_then(|sub| self.by_sub.get(sub))
    }

    pub(crate) fn by_username(&self, username: &str) -> Option<&User> {
        self.by_key(&Key::Username(username.to_owned()))
    }

    pub(crate) fn by_contact(&self, contact: &Contact) -> Option<&User> {
        self.by_key(&contact_key(contact))
    }

    /// Sign-in accepts a username, a phone number or an e-mail address in `username`.
    pub(crate) fn by_login(&self, login: &str) -> Option<&User> {
        self.by_username(login)
            .or_else(|| Contact::parse(login).ok().and_then(|c| self.by_contact(&c)))
    }

    pub(crate) fn by_link(&self, provider_id: &str, provider_user_id: &str) -> Option<&User> {
        self.by_key(&Key::Link(
            provider_id.to_owned(),
            provider_user_id.to_owned(),
        ))
    }

    /// 409 when another user already holds the username.
    pub(crate) fn ensure_username_free(
        &self,
        username: &str,
        except_sub: Option<&str>,
    ) -> ApiResult<()> {
        match self.by_username(username) {
            Some(u) if Some(u.sub.as_str()) != except_sub => Err(ApiError::already_exists(
                "username_already_exists",
                "username already exists",
            )),
            _ => Ok(()),
        }
    }

    /// 409 when another user already holds the phone number or e-mail address.
    pub(crate) fn ensure_contact_free(
        &self,
        contact: &Contact,
        except_sub: Option<&str>,
    ) -> ApiResult<()> {
        match self.by_contact(contact) {
            Some(u) if Some(u.sub.as_str()) != except_sub => Err(ApiError::already_exists(
                "already_exists",
                format!(
                    "{} is already used by another user",
                    contact.provider_type()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// A fresh 19-digit id that no user has.
    pub(crate) fn new_sub(&self) -> String {
        loop {
            let sub = crate::secrets::numeric_sub();
            if !self.by_sub.contains_key(&sub) {
                return sub;
            }
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ProfileProvider {
    id: String,
    provider_user_id: String,
    name: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Group {
    id: String,
}

/// `GET /auth/v1/user/me` (schema `UserProfile`). Unset optional fields are omitted.
#[derive(Debug, Serialize)]
pub(crate) struct Profile {
    sub: String,
    user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    picture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birthdate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zoneinfo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<Address>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_desc: Option<String>,
    providers: Vec<ProfileProvider>,
    groups: Vec<Group>,
    status: &'static str,
    has_password: bool,
    /// The same fact under the camelCase name 3.3.3 reads (`src/auth/models.ts:351`).
    #[serde(rename = "hasPassword")]
    has_password_camel: bool,
    internal_user_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    created_from: String,
    created_at: String,
    updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_login: Option<String>,
}

impl From<&User> for Profile {
    fn from(u: &User) -> Self {
        let providers = u.providers.iter().map(|l| ProfileProvider {
            id: l.provider_id.clone(),
            provider_user_id: l.provider_user_id.clone(),
            name: l.name.clone(),
        });
        Self {
            sub: u.sub.clone(),
            user_id: u.sub.clone(),
            name: u.name.clone(),
            picture: u.picture.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            email_verified: u.email.is_some(),
            phone_number: u.phone_number.clone(),
            gender: u.gender.clone(),
            locale: u.locale.clone(),
            birthdate: u.birthdate.clone(),
            zoneinfo: u.zoneinfo.clone(),
            address: u.address.clone(),
            user_desc: u.description.clone(),
            providers: providers.collect(),
            groups: Vec::new(),
            status: "ACTIVE",
            has_password: u.password_hash.is_some(),
            has_password_camel: u.password_hash.is_some(),
            internal_user_type: if u.anonymous {
                "anonymousUser"
            } else {
                "generalUser"
            },
            kind: "external",
            created_from: u.created_from.clone(),
            created_at: rfc3339(u.created_at),
            updated_at: rfc3339(u.updated_at),
            password_updated_at: u.password_updated_at.map(rfc3339),
            last_login: u.last_login.map(rfc3339),
        }
    }
}

/// One row of `GET /auth/v1/user/query` (schema `QueriedUser`).
#[derive(Debug, Serialize)]
pub(crate) struct QueriedUser {
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    picture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locale: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number: Option<String>,
}

impl From<&User> for QueriedUser {
    fn from(u: &User) -> Self {
        Self {
            sub: u.sub.clone(),
            name: u.name.clone(),
            picture: u.picture.clone(),
            gender: u.gender.clone(),
            locale: u.locale.clone(),
            email: u.email.clone(),
            phone_number: u.phone_number.clone(),
        }
    }
}
