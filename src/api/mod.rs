//! The session's methods, one file per area: each sends exactly what the spec documents
//! through [`Session::send`](crate::Session::send), so its errors are the typed ones.

pub(crate) mod account;
pub(crate) mod captcha;
pub(crate) mod device_flow;
pub(crate) mod providers;
pub(crate) mod security_history;
pub(crate) mod sign_in;
pub(crate) mod tokens;
pub(crate) mod verification;
