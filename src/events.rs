//! Session lifecycle events a caller can subscribe to.

/// What happened to a session. Subscribe with [`Session::subscribe`](crate::Session::subscribe).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A sign-in, sign-up or restore produced a session for `sub`.
    SignedIn {
        /// The user id.
        sub: Option<String>,
    },
    /// The access token was replaced by a refresh (or an anonymous re-sign-in).
    TokenRefreshed,
    /// The session was ended by the caller.
    SignedOut,
    /// The server refused the refresh token (`invalid_grant`): the user must sign in again.
    SignInRequired,
}
