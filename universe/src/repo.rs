//! A set of packages (from a folder or an index) and the lookups the package service needs:
//! resolve by name and version, list versions, search.

use std::path::Path;

use serde_json::Value;

use crate::{load, IndexVersion, LoadError, Package, Problem};

/// Packages of one repository, sorted by name then release.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Repository {
    packages: Vec<Package>,
}

/// A package or version that is not in the repository. Messages name what exists.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResolveError {
    #[error("package {name:?} not found; the repository has: {}", list_or_none(.available))]
    UnknownPackage {
        name: String,
        available: Vec<String>,
    },
    #[error("package {name:?} has no version {version:?}; available versions: {}", .available.join(", "))]
    UnknownVersion {
        name: String,
        version: String,
        available: Vec<String>,
    },
}

fn list_or_none(v: &[String]) -> String {
    if v.is_empty() {
        "no packages".into()
    } else {
        v.join(", ")
    }
}

impl Repository {
    /// A repository of these packages (any order).
    pub fn new(mut packages: Vec<Package>) -> Repository {
        packages.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then(a.release_version.cmp(&b.release_version))
        });
        Repository { packages }
    }

    /// Loads a repository folder: `path` is the repo root (holding `packages/`) or the
    /// `packages/` folder. Fails with every problem found (malformed JSON, folder rules,
    /// templates that do not parse); the Universe schemas are checked by [`crate::validate_dir`].
    pub fn load_dir(path: &Path) -> Result<Repository, LoadError> {
        let scan = load::scan(path, false)?;
        if !scan.problems.is_empty() {
            return Err(LoadError::Invalid(scan.problems));
        }
        Ok(Repository::new(scan.packages))
    }

    /// Loads whatever `path` is: an index file (`.json`), a directory written by
    /// [`crate::index::build`] (holding `universe.json` and no `packages/`), or a repository
    /// folder (see [`Repository::load_dir`]). Problems name the file.
    pub fn load_path(path: &Path) -> Result<Repository, LoadError> {
        let index_file = if path.is_file() {
            Some(path.to_path_buf())
        } else if path.join("universe.json").is_file() && !path.join("packages").is_dir() {
            Some(path.join("universe.json"))
        } else {
            None
        };
        let Some(file) = index_file else {
            return Repository::load_dir(path);
        };
        let bytes = std::fs::read(&file).map_err(|e| LoadError::Io(file.clone(), e.to_string()))?;
        Repository::from_index_json(&bytes).map_err(|e| match e {
            LoadError::Invalid(problems) => LoadError::Invalid(
                problems
                    .into_iter()
                    .map(|p| Problem {
                        file: file.display().to_string(),
                        ..p
                    })
                    .collect(),
            ),
            LoadError::Index(message) => LoadError::IndexFile(file.clone(), message),
            other => other,
        })
    }

    /// Loads a repository index document (`{"packages":[...]}`, v3, v4 or v5).
    pub fn from_index_json(text: &[u8]) -> Result<Repository, LoadError> {
        let doc: Value = serde_json::from_slice(text)
            .map_err(|e| LoadError::Index(format!("malformed JSON: {e}")))?;
        Repository::from_index(&doc)
    }

    /// Loads a parsed repository index document.
    pub fn from_index(doc: &Value) -> Result<Repository, LoadError> {
        let Some(entries) = doc.get("packages").and_then(Value::as_array) else {
            return Err(LoadError::Index(
                "not a repository index: expected {\"packages\": [...]}".into(),
            ));
        };
        let mut packages = Vec::with_capacity(entries.len());
        let mut problems = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            match Package::from_index_entry(entry) {
                Ok(p) => packages.push(p),
                Err((ptr, msg)) => problems.push(Problem {
                    file: "index".into(),
                    path: format!("/packages/{i}{ptr}"),
                    message: msg,
                }),
            }
        }
        if !problems.is_empty() {
            return Err(LoadError::Invalid(problems));
        }
        Ok(Repository::new(packages))
    }

    /// Every package version.
    pub fn packages(&self) -> &[Package] {
        &self.packages
    }

    /// Names of all packages, sorted, once each.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.packages.iter().map(|p| p.name.clone()).collect();
        names.dedup();
        names
    }

    /// All versions of `name`, lowest release first.
    pub fn versions(&self, name: &str) -> Vec<&Package> {
        self.packages.iter().filter(|p| p.name == name).collect()
    }

    /// The package `name` at `version` (the `version` string of package.json), or its latest
    /// release (highest releaseVersion) when `version` is `None`. If several releases share a
    /// version string, the highest release wins.
    pub fn resolve(&self, name: &str, version: Option<&str>) -> Result<&Package, ResolveError> {
        let versions = self.versions(name);
        if versions.is_empty() {
            return Err(ResolveError::UnknownPackage {
                name: name.into(),
                available: self.names(),
            });
        }
        let found = match version {
            None => versions.last().copied(),
            Some(v) => versions.iter().rev().find(|p| p.version == v).copied(),
        };
        found.ok_or_else(|| ResolveError::UnknownVersion {
            name: name.into(),
            version: version.unwrap_or_default().into(),
            available: versions.iter().map(|p| p.version.clone()).collect(),
        })
    }

    /// The latest version of each package matching `query` (case-insensitive; `*` matches any
    /// run of characters) against name, description or a tag; all packages when `query` is
    /// `None` or empty.
    pub fn search(&self, query: Option<&str>) -> Vec<&Package> {
        let query = query
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_lowercase);
        let mut out: Vec<&Package> = Vec::new();
        for name in self.names() {
            let Some(latest) = self.versions(&name).last().copied() else {
                continue;
            };
            let hit = match &query {
                None => true,
                Some(q) => {
                    matches(q, &latest.name.to_lowercase())
                        || matches(q, &latest.description.to_lowercase())
                        || latest.tags.iter().any(|t| matches(q, &t.to_lowercase()))
                }
            };
            if hit {
                out.push(latest);
            }
        }
        out
    }

    /// The repository as an index document of `version`, optionally only the packages a DC/OS
    /// release may use (see [`crate::index`]).
    pub fn to_index(&self, version: IndexVersion, dcos_release: Option<&str>) -> Value {
        crate::index::index_document(&self.packages, version, dcos_release)
    }
}

/// Substring match, or glob match when the query has `*`.
fn matches(query: &str, text: &str) -> bool {
    if !query.contains('*') {
        return text.contains(query);
    }
    let parts: Vec<&str> = query.split('*').collect();
    let mut rest = text;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            let Some(pos) = rest.find(part) else {
                return false;
            };
            rest = &rest[pos + part.len()..];
        }
    }
    true
}
