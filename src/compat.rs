//! Readers for facts that official-client generations spell differently, so callers need
//! not know which server build answered (shared/reference/sdk-3.3.3-vs-spec.md).

use serde_json::Value;

use crate::generated::types;

impl types::Count {
    /// The count, whether the server sent a number (3.3.3) or a decimal string (older
    /// builds); `None` for a negative number or a string that is not decimal digits.
    pub fn get(&self) -> Option<u64> {
        match self {
            types::Count::Int64(n) => u64::try_from(*n).ok(),
            types::Count::String(s) => s.parse().ok(),
        }
    }
}

impl types::UserProfile {
    /// Whether the user has set a password: `has_password` (the docs, older builds) or the
    /// camelCase `hasPassword` 3.3.3 reads, which arrives among the additional properties.
    pub fn password_is_set(&self) -> Option<bool> {
        self.has_password
            .or_else(|| self.extra.get("hasPassword").and_then(Value::as_bool))
    }
}
