//! The server side: how a backend authenticates as itself and vouches for its users.
//!
//! - [`ServerCredential`]: the credential of server-only operations. The default is a
//!   TC3-HMAC-SHA256 signature ([`Tc3Credential`]), byte-identical to the official Node server
//!   SDK's; an API key and (explicitly) basic auth are the alternatives.
//! - [`ServiceSession`]: the admin token of `token/clientCredential`, cached and granted again
//!   before expiry.
//! - [`CustomLoginKey`] (feature `server`): mints custom-login tickets from the console's key
//!   file, as node-sdk's `createTicket` does; users sign in with them through
//!   [`Session::sign_in_with_custom_ticket`](crate::Session::sign_in_with_custom_ticket).

pub(crate) mod credential;
mod custom_sign_in;
#[cfg(feature = "server")]
mod pem;
mod service_session;
mod tc3;
#[cfg(feature = "server")]
mod ticket;

pub use credential::ServerCredential;
pub use service_session::ServiceSession;
pub use tc3::{Tc3Credential, Tc3Error, Tc3Request};
#[cfg(feature = "server")]
pub use ticket::{CustomLoginKey, TicketError, TicketOptions};
