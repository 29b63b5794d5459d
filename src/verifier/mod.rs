//! Verifying CloudBase access tokens in a gateway or backend (feature `verifier`).
//!
//! A [`Verifier`] turns a bearer token into [`Claims`] or a [`Rejection`], in one of two
//! modes:
//!
//! - **online** ([`Verifier::online`]): asks the server (`GET /auth/v1/token/introspect`).
//!   Sees revocations, after at most the cache TTL.
//! - **offline** ([`Verifier::offline`]): checks the RS256 signature against the JWKS, and
//!   `exp`, `nbf`, `iss`, `aud` locally. No call per token, but **a revoked token stays
//!   valid until its `exp`**: offline mode cannot see sign-outs or revocations.
//!
//! Both keep verdicts in a bounded cache keyed by a SHA-256 of the token (never the token
//! itself), for at most `min(exp - now, max TTL)`; refusals for a few seconds. Concurrent
//! calls with one token share one check. Every time check uses the injectable
//! [`Clock`](crate::Clock).
//!
//! ```no_run
//! use cloudbase_auth::Config;
//! use cloudbase_auth::verifier::Verifier;
//!
//! # async fn demo(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::online(Config::for_env("my-env-1a2b3c")).build()?;
//! let claims = verifier.verify(token).await?;
//! println!("{} anonymous={}", claims.sub(), claims.is_anonymous());
//! # Ok(()) }
//! ```

mod answer;
mod builder;
mod cache;
pub(crate) mod claims;
mod jwks;
#[cfg(feature = "axum")]
mod layer;
mod offline;
mod online;
mod rejection;
#[cfg(feature = "redis")]
mod shared_cache;
mod verify;

pub use builder::{BuildError, VerifierBuilder};
pub use claims::Claims;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use layer::{VerifyLayer, VerifyService};
pub use rejection::Rejection;
pub use verify::{Mode, Verifier};
