//! `cargo xtask drift`: how our spec differs from upstream's published OpenAPI document.
//!
//! Operations are matched by method and path (path parameters compared by position,
//! not name), never by operationId: upstream's ids and schema names are its own. What
//! is compared is what a client depends on: which operations exist, their request and
//! success-response fields (type and required-ness, through `$ref`s), and the kind of
//! credential (by scheme type, since scheme names differ too). Descriptions, summaries,
//! examples and tags are ignored.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::allow::{AllowList, Entry};
use crate::fields::{Field, Shape, shape};
use crate::openapi::{self, escape};
use crate::{Error, Result};

/// What kind of difference a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Upstream has an operation we lack.
    AddedUpstream,
    /// We have an operation upstream lacks (removed upstream, or SDK-only).
    MissingUpstream,
    /// Same path, different method.
    MethodChanged,
    /// Same operation (method and shape), different path.
    PathChanged,
    FieldAdded,
    FieldRemoved,
    FieldRetyped,
    RequiredChanged,
    /// The credential kind (none / basic / bearer …) differs.
    AuthChanged,
}

impl Kind {
    /// The name used in reports and the allow file.
    pub fn name(self) -> &'static str {
        match self {
            Kind::AddedUpstream => "added_upstream",
            Kind::MissingUpstream => "missing_upstream",
            Kind::MethodChanged => "method_changed",
            Kind::PathChanged => "path_changed",
            Kind::FieldAdded => "field_added",
            Kind::FieldRemoved => "field_removed",
            Kind::FieldRetyped => "field_retyped",
            Kind::RequiredChanged => "required_changed",
            Kind::AuthChanged => "auth_changed",
        }
    }
}

/// One difference. `method` and `path` are ours, except for `added_upstream`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: Kind,
    pub method: String,
    pub path: String,
    /// `/request/...` or `/response/...` for field findings.
    pub field: Option<String>,
    pub ours: Option<String>,
    pub upstream: Option<String>,
}

/// The outcome of a comparison.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Findings no allow entry accepts: any of these fails the run.
    pub findings: Vec<Finding>,
    /// Findings accepted by the allow file.
    pub allowed: Vec<Finding>,
    /// Allow entries that matched nothing: stale, to be removed.
    pub unused: Vec<Entry>,
}

/// Compares our document with upstream's and applies the allow list.
pub fn compare(ours: &Value, upstream: &Value, allow: &AllowList) -> Result<Report> {
    let ours_ops = collect(ours, "our spec")?;
    let upstream_ops = collect(upstream, "the upstream document")?;
    let mut all = Vec::new();
    let matching = match_operations(&ours_ops, &upstream_ops, allow);
    for &(i, j) in &matching.pairs {
        differences(&ours_ops[i], &upstream_ops[j], &mut all);
    }
    for &i in &matching.ours_only {
        all.push(operation_finding(Kind::MissingUpstream, &ours_ops[i]));
    }
    for &j in &matching.upstream_only {
        all.push(operation_finding(Kind::AddedUpstream, &upstream_ops[j]));
    }
    all.sort_by(|a, b| {
        (&a.path, &a.method, &a.field, a.kind).cmp(&(&b.path, &b.method, &b.field, b.kind))
    });
    Ok(apply(allow, all))
}

/// Splits findings into reported and allowed, and finds the allow entries nothing used.
fn apply(allow: &AllowList, all: Vec<Finding>) -> Report {
    let mut report = Report::default();
    let mut used = vec![false; allow.entries.len()];
    for finding in all {
        match allow.position(&finding) {
            Some(index) => {
                used[index] = true;
                report.allowed.push(finding);
            }
            None => report.findings.push(finding),
        }
    }
    report.unused = allow
        .entries
        .iter()
        .zip(used)
        .filter(|(_, used)| !used)
        .map(|(entry, _)| entry.clone())
        .collect();
    report
}

/// An operation reduced to what drift compares.
struct Op {
    method: String,
    path: String,
    /// The path with parameter names erased: `/user/provider/{}`.
    key: String,
    auth: String,
    shape: Shape,
}

fn collect(doc: &Value, which: &str) -> Result<Vec<Op>> {
    openapi::operations(doc)
        .into_iter()
        .map(|op| {
            let shape = shape(doc, op.op)
                .map_err(|e| Error::new(format!("{which}: {} {}: {e}", op.method, op.path)))?;
            Ok(Op {
                key: path_key(&op.path),
                auth: auth(doc, op.op),
                method: op.method,
                path: op.path,
                shape,
            })
        })
        .collect()
}

fn path_key(path: &str) -> String {
    let segments: Vec<&str> = path
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                "{}"
            } else {
                s
            }
        })
        .collect();
    segments.join("/")
}

/// The credential an operation takes, by scheme type: `none`, `basic`, `bearer`,
/// alternatives joined by ` | ` (`basic | none`: basic auth, optional).
fn auth(doc: &Value, op: &Value) -> String {
    // An operation without `security` inherits the document's.
    let requirements = op
        .get("security")
        .or_else(|| doc.get("security"))
        .and_then(Value::as_array);
    let alternatives: BTreeSet<String> = requirements
        .into_iter()
        .flatten()
        .map(|requirement| {
            let schemes: BTreeSet<String> = requirement
                .as_object()
                .into_iter()
                .flat_map(|o| o.keys())
                .map(|name| scheme_kind(doc, name))
                .collect();
            if schemes.is_empty() {
                "none".to_string()
            } else {
                schemes.into_iter().collect::<Vec<_>>().join(" + ")
            }
        })
        .collect();
    if alternatives.is_empty() {
        "none".to_string()
    } else {
        alternatives.into_iter().collect::<Vec<_>>().join(" | ")
    }
}

fn scheme_kind(doc: &Value, name: &str) -> String {
    let pointer = format!("/components/securitySchemes/{}", escape(name));
    let Some(scheme) = doc.pointer(&pointer) else {
        return format!("undeclared `{name}`");
    };
    let field = |key: &str| scheme.get(key).and_then(Value::as_str).unwrap_or_default();
    match field("type") {
        "http" => field("scheme").to_ascii_lowercase(),
        "apiKey" => format!("apiKey in {}", field("in")),
        other => other.to_string(),
    }
}

/// A possible pairing: `(score, ours index, upstream index)`.
type Candidate = (usize, usize, usize);

/// Whether two operations may be paired in one matching step.
type Accept<'a> = &'a dyn Fn(&Op, &Op) -> bool;

#[derive(Debug, Default)]
struct Matching {
    pairs: Vec<(usize, usize)>,
    ours_only: Vec<usize>,
    upstream_only: Vec<usize>,
}

/// Pairs our operations with upstream's: same method and path first; then, among the
/// rest, same path with another method (`method_changed`); then same method with another
/// path where the pairing is unambiguous (`path_changed`). Our operations the allow file
/// already knows as ours-only never pair, so a new upstream operation on one of their
/// paths is reported as added rather than as a change of them.
fn match_operations(ours: &[Op], upstream: &[Op], allow: &AllowList) -> Matching {
    let mut ours_free = vec![true; ours.len()];
    let mut upstream_free = vec![true; upstream.len()];
    let mut pairs = Vec::new();
    let pairable = |o: &Op| !allow.knows_ours_only(&o.method, &o.path);
    // (which pairs a step accepts, whether it pairs only unambiguous ones)
    let steps: [(Accept, bool); 3] = [
        (&|o, u| o.method == u.method && o.key == u.key, false),
        (&|o, u| o.key == u.key && pairable(o), false),
        (
            &|o, u| {
                o.method == u.method
                    && pairable(o)
                    && (same_shape(o, u) || one_segment_apart(&o.key, &u.key))
            },
            true,
        ),
    ];
    for (accept, only_unambiguous) in steps {
        let mut found = candidates(ours, upstream, accept);
        found.retain(|&(_, i, j)| ours_free[i] && upstream_free[j]);
        if only_unambiguous {
            found = unambiguous(found);
        }
        for (_, i, j) in found {
            if ours_free[i] && upstream_free[j] {
                ours_free[i] = false;
                upstream_free[j] = false;
                pairs.push((i, j));
            }
        }
    }
    Matching {
        pairs,
        ours_only: (0..ours.len()).filter(|&i| ours_free[i]).collect(),
        upstream_only: (0..upstream.len()).filter(|&j| upstream_free[j]).collect(),
    }
}

/// Every pair `accept`s, best-matching shapes first.
fn candidates(ours: &[Op], upstream: &[Op], accept: Accept) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (i, o) in ours.iter().enumerate() {
        for (j, u) in upstream.iter().enumerate() {
            if accept(o, u) {
                out.push((similarity(o, u), i, j));
            }
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    out
}

/// Keeps only candidates whose two operations have no other candidate: guessing which
/// of two look-alike operations moved would report a change that did not happen.
fn unambiguous(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let once = |pick: fn(&Candidate) -> usize, value: usize| {
        candidates.iter().filter(|c| pick(c) == value).count() == 1
    };
    candidates
        .iter()
        .filter(|&&(_, i, j)| once(|c| c.1, i) && once(|c| c.2, j))
        .copied()
        .collect()
}

/// Shared fields per mille of all fields (1000 when both have none).
fn similarity(o: &Op, u: &Op) -> usize {
    let keys: BTreeSet<&String> = o.shape.keys().chain(u.shape.keys()).collect();
    if keys.is_empty() {
        return 1000;
    }
    let same = keys
        .iter()
        .filter(|k| o.shape.get(**k) == u.shape.get(**k))
        .count();
    same * 1000 / keys.len()
}

fn same_shape(o: &Op, u: &Op) -> bool {
    o.shape == u.shape && o.auth == u.auth
}

/// `/auth/v1/user/provider` vs `/auth/v1/user/providers`: a rename of one segment.
fn one_segment_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    a.len() == b.len() && a.iter().zip(&b).filter(|(x, y)| x != y).count() == 1
}

fn operation_finding(kind: Kind, op: &Op) -> Finding {
    Finding {
        kind,
        method: op.method.clone(),
        path: op.path.clone(),
        field: None,
        ours: None,
        upstream: None,
    }
}

/// Everything that differs between two paired operations.
fn differences(o: &Op, u: &Op, out: &mut Vec<Finding>) {
    let finding =
        |kind, field: Option<&str>, ours: Option<String>, upstream: Option<String>| Finding {
            kind,
            method: o.method.clone(),
            path: o.path.clone(),
            field: field.map(String::from),
            ours,
            upstream,
        };
    if o.method != u.method {
        out.push(finding(
            Kind::MethodChanged,
            None,
            Some(o.method.clone()),
            Some(u.method.clone()),
        ));
    }
    // By key: a renamed path parameter (`{provider_id}` vs `{id}`) is not a change.
    if o.key != u.key {
        out.push(finding(
            Kind::PathChanged,
            None,
            Some(o.path.clone()),
            Some(u.path.clone()),
        ));
    }
    if o.auth != u.auth {
        out.push(finding(
            Kind::AuthChanged,
            None,
            Some(o.auth.clone()),
            Some(u.auth.clone()),
        ));
    }
    // Once a field is added, removed or retyped, what lies below it is part of that one
    // change, not news of its own.
    let mut reported: Vec<&str> = Vec::new();
    let pointers: BTreeSet<&String> = o.shape.keys().chain(u.shape.keys()).collect();
    for pointer in pointers {
        let below_reported = reported.iter().any(|r| {
            pointer
                .strip_prefix(r)
                .is_some_and(|rest| rest.starts_with('/'))
        });
        if below_reported {
            continue;
        }
        let (kind, ours, upstream) = match (o.shape.get(pointer), u.shape.get(pointer)) {
            (Some(a), None) => (Kind::FieldRemoved, Some(describe(a)), None),
            (None, Some(b)) => (Kind::FieldAdded, None, Some(describe(b))),
            (Some(a), Some(b)) if a.ty != b.ty => {
                (Kind::FieldRetyped, Some(a.ty.clone()), Some(b.ty.clone()))
            }
            (Some(a), Some(b)) => {
                if let (Some(x), Some(y)) = (a.required, b.required)
                    && x != y
                {
                    let (x, y) = (required_word(x), required_word(y));
                    out.push(finding(
                        Kind::RequiredChanged,
                        Some(pointer),
                        Some(x),
                        Some(y),
                    ));
                }
                continue;
            }
            (None, None) => continue,
        };
        reported.push(pointer);
        out.push(finding(kind, Some(pointer), ours, upstream));
    }
}

fn describe(field: &Field) -> String {
    match field.required {
        Some(true) => format!("{}, required", field.ty),
        _ => field.ty.clone(),
    }
}

fn required_word(required: bool) -> String {
    if required { "required" } else { "optional" }.to_string()
}

/// The human-readable report.
pub fn render_text(report: &Report, allow_source: &str) -> String {
    let mut out = String::new();
    for f in &report.findings {
        let _ = write!(out, "{:<17} {} {}", f.kind.name(), f.method, f.path);
        if let Some(field) = &f.field {
            let _ = write!(out, " {field}");
        }
        if f.ours.is_some() || f.upstream.is_some() {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            let _ = write!(
                out,
                " (ours: {}, upstream: {})",
                show(&f.ours),
                show(&f.upstream)
            );
        }
        out.push('\n');
    }
    out.push_str(&render_summary(report, allow_source));
    out
}

/// Stale allow entries and the counts.
pub fn render_summary(report: &Report, allow_source: &str) -> String {
    let mut out = String::new();
    for entry in &report.unused {
        let _ = writeln!(
            out,
            "warning: {allow_source}: `{}` matched nothing; remove it",
            entry.describe()
        );
    }
    let _ = writeln!(
        out,
        "{} finding(s), {} allowed by {allow_source}",
        report.findings.len(),
        report.allowed.len()
    );
    out
}
