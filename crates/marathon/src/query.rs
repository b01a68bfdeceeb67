//! Query parameters of the app endpoints: `GET /v2/apps?cmd=..&id=..&label=..&embed=..`.
//!
//! Label selectors (Marathon's syntax): comma-separated terms, each `key` (exists),
//! `key==value`, `key!=value`, `key in (v1, v2)` or `key notin (v1, v2)`; a backslash escapes
//! the next character. All terms must match.

use std::collections::BTreeMap;

use crate::app::AppDefinition;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("Can not parse label selector {0}")]
    Selector(String),
    #[error("unknown embed '{0}', expected one of apps.tasks, apps.counts, apps.deployments, apps.readiness, apps.lastTaskFailure, apps.failures, apps.taskStats")]
    Embed(String),
}

/// One selector term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelTerm {
    Exists(String),
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl LabelTerm {
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        match self {
            LabelTerm::Exists(k) => labels.contains_key(k),
            LabelTerm::Eq(k, v) => labels.get(k) == Some(v),
            LabelTerm::NotEq(k, v) => labels.get(k) != Some(v),
            LabelTerm::In(k, vs) => labels.get(k).is_some_and(|x| vs.contains(x)),
            LabelTerm::NotIn(k, vs) => labels.get(k).is_none_or(|x| !vs.contains(x)),
        }
    }
}

/// A parsed label selector: all terms must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    pub terms: Vec<LabelTerm>,
}

/// Splits on `sep` outside parentheses, honouring backslash escapes; unescapes the parts.
fn split_top(s: &str, sep: char) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let mut depth = 0i32;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push('\\');
                cur.push(chars.next()?);
            }
            '(' => {
                depth += 1;
                cur.push(c);
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
                cur.push(c);
            }
            c if c == sep && depth == 0 => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    if depth != 0 {
        return None;
    }
    parts.push(cur);
    Some(parts)
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Finds `op` outside escapes; returns (before, after).
fn split_op<'a>(s: &'a str, op: &str) -> Option<(&'a str, &'a str)> {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            i += 1;
            i += s[i..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        if s[i..].starts_with(op) {
            return Some((&s[..i], &s[i + op.len()..]));
        }
        i += s[i..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

fn parse_set(rest: &str) -> Option<Vec<String>> {
    let rest = rest.trim();
    let inner = rest.strip_prefix('(')?.strip_suffix(')')?;
    let items = split_top(inner, ',')?;
    let vals: Vec<String> = items.iter().map(|v| unescape(v.trim())).collect();
    if vals.iter().any(String::is_empty) {
        return None;
    }
    Some(vals)
}

impl LabelSelector {
    pub fn parse(raw: &str) -> Result<Self, QueryError> {
        let err = || QueryError::Selector(raw.to_string());
        let mut terms = Vec::new();
        for part in split_top(raw, ',').ok_or_else(err)? {
            let t = part.trim();
            if t.is_empty() {
                return Err(err());
            }
            let term = if let Some((k, v)) = split_op(t, "==") {
                LabelTerm::Eq(unescape(k.trim()), unescape(v.trim()))
            } else if let Some((k, v)) = split_op(t, "!=") {
                LabelTerm::NotEq(unescape(k.trim()), unescape(v.trim()))
            } else if let Some((k, v)) = split_op(t, " notin ") {
                LabelTerm::NotIn(unescape(k.trim()), parse_set(v).ok_or_else(err)?)
            } else if let Some((k, v)) = split_op(t, " in ") {
                LabelTerm::In(unescape(k.trim()), parse_set(v).ok_or_else(err)?)
            } else {
                if t.contains(char::is_whitespace) || t.contains('(') || t.contains('=') {
                    return Err(err());
                }
                LabelTerm::Exists(unescape(t))
            };
            let key = match &term {
                LabelTerm::Exists(k)
                | LabelTerm::Eq(k, _)
                | LabelTerm::NotEq(k, _)
                | LabelTerm::In(k, _)
                | LabelTerm::NotIn(k, _) => k,
            };
            if key.is_empty() {
                return Err(err());
            }
            terms.push(term);
        }
        Ok(LabelSelector { terms })
    }

    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.terms.iter().all(|t| t.matches(labels))
    }
}

/// The filters of `GET /v2/apps`: `cmd` and `id` match substrings (case-insensitive for
/// `id`), `label` is a selector.
#[derive(Debug, Clone, Default)]
pub struct AppFilter {
    pub cmd: Option<String>,
    pub id: Option<String>,
    pub label: Option<LabelSelector>,
}

impl AppFilter {
    pub fn new(
        cmd: Option<&str>,
        id: Option<&str>,
        label: Option<&str>,
    ) -> Result<Self, QueryError> {
        Ok(AppFilter {
            cmd: cmd.map(str::to_string),
            id: id.map(str::to_lowercase),
            label: label.map(LabelSelector::parse).transpose()?,
        })
    }

    pub fn matches(&self, app: &AppDefinition) -> bool {
        self.cmd
            .as_ref()
            .is_none_or(|c| app.cmd.as_deref().is_some_and(|x| x.contains(c.as_str())))
            && self
                .id
                .as_ref()
                .is_none_or(|i| app.id.to_string().to_lowercase().contains(i.as_str()))
            && self.label.as_ref().is_none_or(|l| l.matches(&app.labels))
    }
}

/// What `embed=` asks to include in each app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Embed {
    pub tasks: bool,
    pub counts: bool,
    pub deployments: bool,
    pub readiness: bool,
    pub last_task_failure: bool,
    pub task_stats: bool,
}

impl Embed {
    /// Parses the repeated `embed` values (`apps.tasks`, `app.tasks` for the single-app
    /// endpoint, `group.apps.tasks` for groups, ...). `apps.failures` is `lastTaskFailure` +
    /// `tasks`, as in Marathon. `group.groups`/`group.apps`/`group.pods` are accepted and left
    /// to the groups endpoint.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, QueryError> {
        let mut e = Embed::default();
        for v in values {
            // group-level embeds are the groups endpoint's business
            if matches!(v, "group.groups" | "group.apps" | "group.pods") {
                continue;
            }
            let name = v
                .strip_prefix("apps.")
                .or_else(|| v.strip_prefix("app."))
                .or_else(|| v.strip_prefix("group.apps."));
            match name {
                Some("tasks") => e.tasks = true,
                Some("counts") => e.counts = true,
                Some("deployments") => e.deployments = true,
                Some("readiness") => e.readiness = true,
                Some("lastTaskFailure") => e.last_task_failure = true,
                Some("failures") => {
                    e.last_task_failure = true;
                    e.tasks = true
                }
                Some("taskStats") => e.task_stats = true,
                _ => return Err(QueryError::Embed(v.to_string())),
            }
        }
        Ok(e)
    }
}

#[cfg(test)]
mod tests;
