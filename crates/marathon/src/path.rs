//! Path ids of apps and groups (`/prod/db/mysql`): parsing, relative resolution against a
//! parent group and Marathon's id rules with its messages.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::sync::OnceLock;

/// The segment pattern Marathon applies to every part of an id (PathId.scala, stringTypes.raml).
pub const SEGMENT_PATTERN: &str = r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$";

/// Last segments an app id may not end with: they clash with REST sub-resources.
pub const RESERVED_LAST_SEGMENTS: [&str; 3] = ["restart", "tasks", "versions"];

fn segment_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    // The pattern is a constant known to compile.
    RE.get_or_init(|| {
        Regex::new(&format!("^(?:{SEGMENT_PATTERN})$")).unwrap_or_else(|_| unreachable!())
    })
}

/// True when `segment` fully matches [`SEGMENT_PATTERN`]. Like Java's `matches()` the whole
/// segment has to match, not just a prefix.
pub fn segment_is_valid(segment: &str) -> bool {
    segment_regex().is_match(segment)
}

/// Id problems, worded as Marathon words them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("must fully match regular expression '{SEGMENT_PATTERN}'")]
    InvalidSegment(String),
    #[error("must not end with any of the following reserved keywords: restart, tasks, versions")]
    ReservedKeyword(String),
    #[error("Path must contain at least one path element")]
    Empty,
    #[error("Path needs to be absolute")]
    NotAbsolute,
    #[error("Identifier is not child of {parent}. Hint: use relative paths.")]
    NotChildOf { parent: String },
}

/// An app or group id: a list of segments, absolute (`/a/b`) or relative (`b`, `../c`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PathId {
    segments: Vec<String>,
    absolute: bool,
}

impl PathId {
    /// The root group `/`.
    pub fn root() -> Self {
        PathId {
            segments: Vec::new(),
            absolute: true,
        }
    }

    /// Parses an id as Marathon does: leading `/` makes it absolute, empty segments
    /// (`//`, trailing `/`) are dropped. Nothing is validated here; see [`PathId::validate_app_id`].
    pub fn parse(raw: &str) -> Self {
        let absolute = raw.starts_with('/');
        let segments = raw
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        PathId { segments, absolute }
    }

    /// Builds an absolute id from segments.
    pub fn from_segments<I, S>(segments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        PathId {
            segments: segments.into_iter().map(Into::into).collect(),
            absolute: true,
        }
    }

    pub fn segments(&self) -> &[String] {
        &self.segments
    }
    pub fn is_absolute(&self) -> bool {
        self.absolute
    }
    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }
    /// Last segment, `""` for the root.
    pub fn name(&self) -> &str {
        self.segments.last().map(String::as_str).unwrap_or("")
    }

    /// The enclosing group (the root is its own parent).
    pub fn parent(&self) -> PathId {
        let mut segments = self.segments.clone();
        segments.pop();
        PathId {
            segments,
            absolute: self.absolute,
        }
    }

    /// All ancestors from the direct parent up to the root.
    pub fn ancestors(&self) -> Vec<PathId> {
        let mut out = Vec::new();
        let mut cur = self.clone();
        while !cur.is_root() {
            cur = cur.parent();
            out.push(cur.clone());
        }
        out
    }

    /// `self / name`.
    pub fn child(&self, name: &str) -> PathId {
        let mut segments = self.segments.clone();
        segments.extend(
            name.split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        PathId {
            segments,
            absolute: self.absolute,
        }
    }

    /// Resolves this id against `base` (an absolute group id) and removes `.` and `..`:
    /// `PathId::parse("db").canonical(&"/prod".into()) == "/prod/db"`. Absolute ids ignore the base.
    pub fn canonical(&self, base: &PathId) -> PathId {
        let start: Vec<String> = if self.absolute {
            self.segments.clone()
        } else {
            base.segments
                .iter()
                .chain(self.segments.iter())
                .cloned()
                .collect()
        };
        let mut out: Vec<String> = Vec::with_capacity(start.len());
        for seg in start {
            match seg.as_str() {
                "." => {}
                ".." => {
                    out.pop();
                }
                _ => out.push(seg),
            }
        }
        PathId {
            segments: out,
            absolute: true,
        }
    }

    /// True when `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &PathId) -> bool {
        self.segments.len() >= other.segments.len()
            && self
                .segments
                .iter()
                .zip(other.segments.iter())
                .all(|(a, b)| a == b)
    }

    /// Marathon's `safePath`: segments joined with `_` (used in task ids).
    pub fn safe_path(&self) -> String {
        self.segments.join("_")
    }

    /// Marathon's `toHostname`: reversed segments joined with `.` (`/a/b` -> `b.a`).
    pub fn to_hostname(&self) -> String {
        let mut s = self.segments.clone();
        s.reverse();
        s.join(".")
    }

    /// The segment rules: each segment matches [`SEGMENT_PATTERN`].
    pub fn validate_segments(&self) -> Result<(), PathError> {
        match self.segments.iter().find(|s| !segment_is_valid(s)) {
            Some(bad) => Err(PathError::InvalidSegment(bad.clone())),
            None => Ok(()),
        }
    }

    /// The rules for a run spec (app) id: not empty, valid segments, not ending in a reserved
    /// keyword. Returns every problem found.
    pub fn validate_app_id(&self) -> Vec<PathError> {
        let mut errors = Vec::new();
        if self.segments.is_empty() {
            errors.push(PathError::Empty);
        }
        if let Err(e) = self.validate_segments() {
            errors.push(e);
        }
        if let Some(last) = self.segments.last() {
            if RESERVED_LAST_SEGMENTS.contains(&last.as_str()) {
                errors.push(PathError::ReservedKeyword(last.clone()));
            }
        }
        errors
    }

    /// Checks that this id (resolved against `parent`) is a direct child of `parent`.
    pub fn check_child_of(&self, parent: &PathId) -> Result<(), PathError> {
        if !parent.absolute || self.canonical(parent).parent() == parent.canonical(&PathId::root())
        {
            Ok(())
        } else {
            Err(PathError::NotChildOf {
                parent: parent.to_string(),
            })
        }
    }
}

impl fmt::Display for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.absolute {
            write!(f, "/")?;
        }
        write!(f, "{}", self.segments.join("/"))
    }
}

impl fmt::Debug for PathId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PathId({self})")
    }
}

impl From<&str> for PathId {
    fn from(s: &str) -> Self {
        PathId::parse(s)
    }
}

impl Serialize for PathId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for PathId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(PathId::parse(&s))
    }
}

#[cfg(test)]
mod tests;
