//! Verification codes by SMS or e-mail.

use crate::error::Error;
use crate::generated::types;
use crate::secret::VerificationToken;
use crate::session::Session;

/// Where a verification code goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// A phone number in CloudBase's form: `+86 13800000000` (prefix, space, number).
    Phone(String),
    /// An e-mail address.
    Email(String),
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

impl Session {
    /// Sends a verification code by SMS or e-mail (`target: ANY`).
    pub async fn send_verification_code(&self, contact: &Contact) -> Result<CodeSent, Error> {
        let mut body = types::SendVerificationRequest::builder()
            .target(types::SendVerificationRequestTarget::Any);
        body = match contact {
            Contact::Phone(phone) => body.phone_number(phone.clone()),
            Contact::Email(email) => body.email(email.clone()),
        };
        let response = self
            .send(|raw| raw.send_verification().body(body).send())
            .await?;
        Ok(CodeSent {
            verification_id: response.verification_id.unwrap_or_default(),
            expires_in: response.expires_in,
            is_user: response.is_user.unwrap_or(false),
        })
    }

    /// Exchanges the code the user received for a verification token.
    pub async fn verify_code(
        &self,
        verification_id: &str,
        code: &str,
    ) -> Result<VerificationToken, Error> {
        let body = types::VerifyVerificationRequest::builder()
            .verification_id(verification_id.to_string())
            .verification_code(code.to_string());
        let response = self
            .send(|raw| raw.verify_verification().body(body).send())
            .await?;
        Ok(VerificationToken::new(
            response.verification_token.unwrap_or_default(),
        ))
    }
}
