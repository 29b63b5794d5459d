//! `spec/drift-allow.yaml`: deviations from upstream that we accept, each with a reason.
//!
//! Entries match one finding precisely (kind, method, path and, for field findings, the
//! field pointer), so an allowance cannot silently swallow a new, unrelated change.
//!
//! ```yaml
//! allow:
//!   - kind: missing_upstream
//!     method: GET
//!     path: /auth/v1/user/query
//!     reason: SDK-only operation (JS SDK `queryUserProfile`); not in the HTTP API docs.
//! ```

use serde::Deserialize;

use crate::drift::{Finding, Kind};
use crate::{Error, Result};

/// One accepted deviation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub kind: Kind,
    pub method: String,
    pub path: String,
    /// The field pointer (`/request/...`, `/response/...`) of a field finding.
    #[serde(default)]
    pub field: Option<String>,
    pub reason: String,
}

impl Entry {
    pub fn matches(&self, finding: &Finding) -> bool {
        self.kind == finding.kind
            && self.method.eq_ignore_ascii_case(&finding.method)
            && self.path == finding.path
            && self.field == finding.field
    }

    /// `kind METHOD path [field]`, as in reports.
    pub fn describe(&self) -> String {
        let field = self.field.as_deref().unwrap_or_default();
        format!("{} {} {} {field}", self.kind.name(), self.method, self.path)
            .trim_end()
            .to_string()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    allow: Vec<Entry>,
}

/// The accepted deviations, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    pub entries: Vec<Entry>,
}

impl AllowList {
    /// Parses an allow file; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<AllowList> {
        let file: File = serde_norway::from_str(text)
            .map_err(|e| Error::new(format!("{source} is not a valid allow file: {e}")))?;
        for (i, entry) in file.allow.iter().enumerate() {
            if entry.reason.trim().is_empty() {
                return Err(Error::new(format!(
                    "{source}: entry {} ({}) has an empty `reason`; say why the deviation is accepted",
                    i + 1,
                    entry.describe()
                )));
            }
            if file.allow[..i].iter().any(|e| same_match(e, entry)) {
                return Err(Error::new(format!(
                    "{source}: entry {} ({}) repeats an earlier entry",
                    i + 1,
                    entry.describe()
                )));
            }
        }
        Ok(AllowList {
            entries: file.allow,
        })
    }

    /// The index of the entry that accepts `finding`.
    pub fn position(&self, finding: &Finding) -> Option<usize> {
        self.entries.iter().position(|e| e.matches(finding))
    }

    /// Whether our operation `method path` is accepted as absent upstream.
    pub fn knows_ours_only(&self, method: &str, path: &str) -> bool {
        self.entries.iter().any(|e| {
            e.kind == Kind::MissingUpstream
                && e.method.eq_ignore_ascii_case(method)
                && e.path == path
        })
    }
}

fn same_match(a: &Entry, b: &Entry) -> bool {
    a.kind == b.kind
        && a.method.eq_ignore_ascii_case(&b.method)
        && a.path == b.path
        && a.field == b.field
}
