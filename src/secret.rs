//! Newtypes for every secret the crate handles.
//!
//! Each wraps a [`secrecy::SecretString`] (zeroised on drop) and prints as
//! `Name([redacted])` in `Debug`, so a secret cannot reach a log by accident:
//! reading it takes an explicit [`expose_secret`](AccessToken::expose_secret).

use secrecy::{ExposeSecret, SecretString};

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                $name(SecretString::from(value.into()))
            }

            /// The secret itself. Call it only where the value must go on the wire.
            pub fn expose_secret(&self) -> &str {
                self.0.expose_secret()
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name::new(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name::new(value)
            }
        }
    };
}

secret_type!(
    /// A user's access token (an RS256 JWT, sent as `Authorization: Bearer`).
    AccessToken
);
secret_type!(
    /// A refresh token. CloudBase rotates it on every refresh.
    RefreshToken
);
secret_type!(
    /// The OAuth client secret of a CloudBase client id.
    ClientSecret
);
secret_type!(
    /// A user's password.
    Password
);
secret_type!(
    /// A short-lived token from `POST /auth/v1/user/sudo` (900 s) that password change
    /// and account deletion require.
    SudoToken
);
secret_type!(
    /// A token proving a verification code was entered (600 s); used to sign up, sign
    /// in, reset a password or get a sudo token.
    VerificationToken
);
secret_type!(
    /// A token proving a captcha was solved; resend the blocked call with it.
    CaptchaToken
);
secret_type!(
    /// A Tencent Cloud SecretKey, for the server-only `token/clientCredential` operation.
    CloudSecretKey
);
secret_type!(
    /// The session token of temporary (STS) Tencent Cloud credentials, sent with the signature.
    StsToken
);
secret_type!(
    /// A CloudBase API key, sent as a bearer token instead of a signature.
    ApiKey
);
secret_type!(
    /// A custom-login ticket (`<private_key_id>/@@/<RS256 JWT>`): whoever holds it can sign in
    /// as its user for 10 minutes.
    CustomLoginTicket
);
secret_type!(
    /// The device code of a device-code sign-in: whoever holds it receives the session
    /// once the user approves.
    DeviceCode
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_is_redacted_exactly() {
        assert_eq!(
            format!("{:?}", AccessToken::new("eyJ.secret")),
            "AccessToken([redacted])"
        );
        assert_eq!(
            format!("{:?}", RefreshToken::new("m.secret")),
            "RefreshToken([redacted])"
        );
        assert_eq!(
            format!("{:?}", ClientSecret::new("s")),
            "ClientSecret([redacted])"
        );
        assert_eq!(
            format!("{:?}", Password::new("hunter2")),
            "Password([redacted])"
        );
        assert_eq!(
            format!("{:?}", SudoToken::new("s")),
            "SudoToken([redacted])"
        );
        assert_eq!(
            format!("{:?}", VerificationToken::new("v")),
            "VerificationToken([redacted])"
        );
        assert_eq!(
            format!("{:?}", CaptchaToken::new("c")),
            "CaptchaToken([redacted])"
        );
        assert_eq!(
            format!("{:?}", CloudSecretKey::new("k")),
            "CloudSecretKey([redacted])"
        );
        assert_eq!(format!("{:?}", StsToken::new("t")), "StsToken([redacted])");
        assert_eq!(format!("{:?}", ApiKey::new("a")), "ApiKey([redacted])");
        assert_eq!(
            format!("{:?}", CustomLoginTicket::new("k/@@/e.j.s")),
            "CustomLoginTicket([redacted])"
        );
        assert_eq!(
            format!("{:?}", DeviceCode::new("dc.k")),
            "DeviceCode([redacted])"
        );
    }

    #[test]
    fn expose_returns_the_value() {
        assert_eq!(Password::new("hunter2").expose_secret(), "hunter2");
    }
}
