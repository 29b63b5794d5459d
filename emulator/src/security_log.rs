//! The per-user security log behind `GET /auth/v1/user/security/history`: every session
//! opened for a user (each sign-in, whatever the method) is a `USER_LOGIN` record.
//!
//! Bound: the newest [`MAX_RECORDS_PER_USER`] records of each user are kept.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

/// Records kept per user; older ones are dropped first.
pub(crate) const MAX_RECORDS_PER_USER: usize = 100;
/// The action of a sign-in record (3.3.3 filters on it).
pub(crate) const USER_LOGIN: &str = "USER_LOGIN";

/// One record.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Record {
    pub id: u64,
    pub action: String,
    pub client_id: String,
    pub device_id: Option<String>,
    /// Unix seconds.
    pub at: u64,
    /// How the user signed in (the session's `provider_type`).
    pub from: String,
}

/// Which records a page holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Filter<'a> {
    Only(&'a str),
    Except(&'a str),
    All,
}

impl Filter<'_> {
    fn keeps(&self, record: &Record) -> bool {
        match self {
            Filter::Only(action) => record.action == *action,
            Filter::Except(action) => record.action != *action,
            Filter::All => true,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct SecurityLog {
    next_id: u64,
    by_sub: BTreeMap<String, VecDeque<Record>>,
}

impl SecurityLog {
    pub(crate) fn sign_in(
        &mut self,
        sub: &str,
        client_id: &str,
        device_id: Option<&str>,
        from: &str,
        at: u64,
    ) {
        self.next_id += 1;
        let records = self.by_sub.entry(sub.to_owned()).or_default();
        if records.len() >= MAX_RECORDS_PER_USER {
            records.pop_front();
        }
        records.push_back(Record {
            id: self.next_id,
            action: USER_LOGIN.to_owned(),
            client_id: client_id.to_owned(),
            device_id: device_id.map(str::to_owned),
            at,
            from: from.to_owned(),
        });
    }

    /// Newest first: at most `limit` records with ids below `before` (the page token), and
    /// the token of the next page when there is one.
    pub(crate) fn page(
        &self,
        sub: &str,
        filter: Filter<'_>,
        limit: usize,
        before: Option<u64>,
    ) -> (Vec<Record>, Option<u64>) {
        let mut matching = self
            .by_sub
            .get(sub)
            .into_iter()
            .flatten()
            .rev()
            .filter(|r| before.is_none_or(|b| r.id < b))
            .filter(|r| filter.keeps(r));
        let page: Vec<Record> = matching.by_ref().take(limit).cloned().collect();
        let next = matching.next().and(page.last().map(|r| r.id));
        (page, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_run_newest_first_and_the_log_is_bounded() {
        let mut log = SecurityLog::default();
        for at in 0..(MAX_RECORDS_PER_USER as u64 + 5) {
            log.sign_in("u", "env", None, "username", at);
        }
        let (first, next) = log.page("u", Filter::Only(USER_LOGIN), 2, None);
        assert_eq!(first.iter().map(|r| r.at).collect::<Vec<_>>(), [104, 103]);
        let (second, _) = log.page("u", Filter::All, 2, next);
        assert_eq!(second[0].at, 102);
        let (all, none) = log.page("u", Filter::All, 1000, None);
        assert_eq!(all.len(), MAX_RECORDS_PER_USER);
        assert_eq!(none, None);
        assert!(
            log.page("u", Filter::Except(USER_LOGIN), 10, None)
                .0
                .is_empty()
        );
    }
}
