//! What introspection said about a token: the online mode asks, the shared cache keeps.

use serde::{Deserialize, Serialize};

/// What the server said about a token (what the shared cache keeps).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Answer {
    /// Active, with the server's view of the token.
    Active {
        sub: Option<String>,
        scope: Option<String>,
        client_id: Option<String>,
    },
    /// Not active (revoked, signed out, unknown).
    Inactive,
}
