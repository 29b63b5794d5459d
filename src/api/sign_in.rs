//! Signing in and up: password, verified phone/e-mail, anonymous.

use crate::api::verification::Contact;
use crate::error::Error;
use crate::generated::types;
use crate::secret::{Password, VerificationToken};
use crate::session::{Session, SignedIn};

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

impl Session {
    /// Signs in with a username (or phone/e-mail) and password.
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
        let response = self.send(|raw| raw.sign_in().body(body).send()).await?;
        self.signed_in(response).await
    }

    /// Signs up with a verified phone/e-mail; the session is signed in.
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
        let response = self.send(|raw| raw.sign_up().body(body).send()).await?;
        self.signed_in(response).await
    }

    /// Signs in the user a verified phone/e-mail belongs to.
    pub async fn sign_in_with_verification(
        &self,
        token: &VerificationToken,
    ) -> Result<SignedIn, Error> {
        let body =
            types::SignInRequest::builder().verification_token(token.expose_secret().to_string());
        let response = self.send(|raw| raw.sign_in().body(body).send()).await?;
        self.signed_in(response).await
    }

    /// Signs in anonymously. The anonymous user is tied to this session's device id;
    /// when its token expires the session signs in anonymously again.
    pub async fn sign_in_anonymously(&self) -> Result<SignedIn, Error> {
        let body = types::SignInAnonymouslyRequest::builder();
        let response = self
            .send(|raw| raw.sign_in_anonymously().body(body).send())
            .await?;
        self.signed_in(response).await
    }
}
