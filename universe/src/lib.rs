//! The Universe package format, exactly as the public Universe publishes it.
//!
//! Load a repository folder ([`Repository::load_dir`]) or an index document
//! ([`Repository::from_index_json`]), validate packages against the Universe's own schemas plus
//! the folder rules ([`validate_dir`]), resolve a package by name and version
//! ([`Repository::resolve`]), build options from config.json defaults and user options
//! ([`options::resolve`]), render the Marathon app ([`render()`]: mustache with the package
//! service's rules, or tera for the project's own packages) and write the index files the public
//! Universe publishes ([`index::build`]). The schemas are embedded: nothing is read from outside
//! the repository being worked on.

pub mod index;
mod load;
pub mod mustache;
pub mod options;
mod package;
mod render;
mod repo;
pub mod schema;

use std::path::{Path, PathBuf};

pub use index::{BuildError, IndexVersion};
pub use options::OptionsError;
pub use package::{MarathonTemplate, Package, PackagingVersion, TemplateKind, TERA_MARKER};
pub use render::{
    add_package_labels, decode_package_definition_label, package_definition_label, render,
    render_template, RenderError, RenderRequest, Rendered,
};
pub use repo::{Repository, ResolveError};

/// One problem in a repository: the file, the JSON path inside it (JSON pointer, empty when the
/// problem is about the file as a whole) and what is wrong / what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub path: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(file: &Path, path: &str, message: impl Into<String>) -> Problem {
        Problem {
            file: file.display().to_string(),
            path: path.to_string(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Problem {
    /// `file: message` or `file: at /json/path: message`, on one line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let msg = self.message.replace('\n', " ");
        if self.path.is_empty() {
            write!(f, "{}: {msg}", self.file)
        } else {
            write!(f, "{}: at {}: {msg}", self.file, self.path)
        }
    }
}

/// Why a repository could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LoadError {
    #[error("{0}: no such file or directory: give the repo root (holding packages/) or its packages/ folder")]
    NotFound(PathBuf),
    #[error(
        "{0}: not a directory: give the repo root (holding packages/) or its packages/ folder"
    )]
    NotADirectory(PathBuf),
    #[error("{0}: no packages/ folder here and no letter folders (A-Z): give the repo root or its packages/ folder")]
    NoPackages(PathBuf),
    #[error("{0}: {1}")]
    Io(PathBuf, String),
    #[error("repository index: {0}")]
    Index(String),
    #[error("{0}: {1}")]
    IndexFile(PathBuf, String),
    #[error("{}{}", .0.first().map(|p| p.to_string()).unwrap_or_default(),
            if .0.len() > 1 { format!(" (and {} more problems; `dcos universe validate` lists them all)", .0.len() - 1) } else { String::new() })]
    Invalid(Vec<Problem>),
}

/// Result of [`validate_dir`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationReport {
    /// Distinct package names found.
    pub packages: usize,
    /// Package version folders found.
    pub versions: usize,
    /// Every problem, in folder order. Empty means the repository is valid.
    pub problems: Vec<Problem>,
}

/// Checks a repository folder completely: folder rules, JSON syntax, the Universe's schemas for
/// package.json, config.json, resource.json and command.json, templates, and that every package
/// renders with its default options. Fails only when the folder itself cannot be used.
pub fn validate_dir(path: &Path) -> Result<ValidationReport, LoadError> {
    let scan = load::scan(path, true)?;
    let mut names: Vec<&str> = scan.packages.iter().map(|p| p.name.as_str()).collect();
    names.dedup();
    // Count names also for versions that failed to load, from the folder layout.
    let packages = count_package_folders(path).unwrap_or(names.len());
    Ok(ValidationReport {
        packages,
        versions: scan.versions,
        problems: scan.problems,
    })
}

fn count_package_folders(path: &Path) -> Option<usize> {
    let dir = load::packages_dir(path).ok()?;
    let mut n = 0;
    for letter in std::fs::read_dir(dir).ok()?.filter_map(Result::ok) {
        let visible = |e: &std::fs::DirEntry| !e.file_name().to_string_lossy().starts_with('.');
        if letter.path().is_dir() && visible(&letter) {
            n += std::fs::read_dir(letter.path())
                .ok()?
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir() && visible(e))
                .count();
        }
    }
    Some(n)
}
