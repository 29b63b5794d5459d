//! The signed-in user's security log (`GET /auth/v1/user/security/history`, 3.3.3
//! `getUserBehaviorLog`) on [`Session`].

use std::num::NonZeroU32;

use crate::generated::types;
use crate::{Error, Session};

/// Which records to list, as 3.3.3's `type` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityHistoryKind {
    /// Sign-ins (`query[action]=USER_LOGIN`; 3.3.3 `LOGIN`).
    SignIns,
    /// Everything but sign-ins, i.e. account changes (`ne_query[action]=USER_LOGIN`; 3.3.3
    /// `MODIFY`).
    Changes,
}

/// The action of sign-in records.
const USER_LOGIN: &str = "USER_LOGIN";

impl Session {
    /// One page of the signed-in user's security log, newest first; pass the answer's
    /// `next_page_token` to get the next page.
    pub async fn security_history(
        &self,
        kind: SecurityHistoryKind,
        limit: NonZeroU32,
        page_token: Option<&str>,
    ) -> Result<types::SecurityHistoryResponse, Error> {
        self.send(|raw| {
            let request = raw.get_security_history().limit(limit);
            let request = match kind {
                SecurityHistoryKind::SignIns => request.query_action(USER_LOGIN),
                SecurityHistoryKind::Changes => request.ne_query_action(USER_LOGIN),
            };
            match page_token {
                Some(token) => request.page_token(token).send(),
                None => request.send(),
            }
        })
        .await
    }
}
