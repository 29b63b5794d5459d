//! The TC3-HMAC-SHA256 vectors the pinned `@cloudbase/signature-nodejs` 2.2.0 and
//! `@cloudbase/node-sdk` 3.18.3 generated (`tests/js-oracle/tc3-vectors.json`, regenerated and
//! compared by .ci/run): the crate must sign each one byte for byte, the emulator must accept
//! each client-credential one.

use serde::Deserialize;

/// One signed request and the `Authorization` header the npm packages made for it.
#[derive(Debug, Clone, Deserialize)]
pub struct Tc3Vector {
    pub name: String,
    pub secret_id: String,
    pub secret_key: String,
    pub session_token: Option<String>,
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub timestamp: u64,
    pub authorization: String,
}

#[derive(Deserialize)]
struct Table {
    vectors: Vec<Tc3Vector>,
}

/// Every vector of the table, in its order.
pub fn tc3_vectors() -> Vec<Tc3Vector> {
    serde_json::from_str::<Table>(include_str!("../../tests/js-oracle/tc3-vectors.json"))
        .expect("the TC3 vector table")
        .vectors
}
