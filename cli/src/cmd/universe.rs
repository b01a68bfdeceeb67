//! `dcos universe ...`: package-author commands that work offline on a Universe repository
//! folder: validate, render, build the index files, serve them over HTTP.

mod serve;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::Value;
use universe::{RenderRequest, Repository};

/// Where a repository is read from, in every command's help.
const REPO_HELP: &str = "Repository folder: the repo root (the folder holding packages/) or the packages/ folder itself";

#[derive(Subcommand)]
pub enum Args {
    /// Check every package of a repository folder; print every problem, one line each.
    ///
    /// Checks the folder rules (letter/name/release folders, folder name = package.json name,
    /// required and forbidden files per packaging version), JSON syntax, the Universe's schemas
    /// for package.json, config.json, resource.json and command.json, that templates parse and
    /// that every package renders with its default options. Exits 1 if there is any problem.
    Validate {
        #[arg(help = REPO_HELP)]
        repo: PathBuf,
    },
    /// Print the Marathon app a package renders to (pretty JSON), as the package service would.
    Render {
        /// Repository folder (repo root or packages/), a built index directory (holding
        /// universe.json) or an index file (.json).
        repo: PathBuf,
        /// Package name.
        name: String,
        /// Package version (the `version` of package.json); default: the latest release.
        #[arg(long)]
        package_version: Option<String>,
        /// JSON file of options, merged over the defaults of config.json.
        #[arg(long)]
        options: Option<PathBuf>,
        /// Marathon app id to use instead of the template's `id`.
        #[arg(long)]
        app_id: Option<String>,
    },
    /// Write the index files the public Universe publishes: universe.json (v5) and
    /// repo-up-to-<DC/OS release>.json (each with a .content_type file).
    Build {
        #[arg(help = REPO_HELP)]
        repo: PathBuf,
        /// Output directory (created if missing).
        #[arg(short = 'o', long = "output")]
        out: PathBuf,
    },
    /// Serve a repository's index over HTTP as the public Universe server did.
    ///
    /// GET /repo answers with the index version asked for in the Accept header
    /// (application/vnd.dcos.universe.repo+json;charset=utf-8;version=v3|v4|v5; v5 when absent
    /// or unknown) and, when the User-Agent carries `dcos/<release>`, only the packages that
    /// DC/OS release may use. /universe.json and /repo-up-to-<release>.json serve the built
    /// files. Prints the URL, then serves until interrupted.
    Serve {
        /// Repository folder (repo root or packages/) or a directory written by `dcos universe build`.
        repo: PathBuf,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, default_value = "127.0.0.1:8086")]
        listen: String,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args {
        Args::Validate { repo } => validate(&repo),
        Args::Render {
            repo,
            name,
            package_version,
            options,
            app_id,
        } => render(
            &repo,
            &name,
            package_version.as_deref(),
            options.as_deref(),
            app_id.as_deref(),
        ),
        Args::Build { repo, out } => build(&repo, &out),
        Args::Serve { repo, listen } => serve::run(&repo, &listen),
    }
}

fn validate(repo: &Path) -> anyhow::Result<()> {
    let report = universe::validate_dir(repo)?;
    let mut text = String::new();
    for p in &report.problems {
        text.push_str(&format!("{p}\n"));
    }
    if report.problems.is_empty() {
        out(&format!(
            "{} packages, {} versions: OK\n",
            report.packages, report.versions
        ))
    } else {
        out(&text)?;
        bail!(
            "{} problem{} in {} ({} packages, {} versions); each is listed above, one per line",
            report.problems.len(),
            if report.problems.len() == 1 { "" } else { "s" },
            repo.display(),
            report.packages,
            report.versions
        )
    }
}

/// Writes to stdout; a closed pipe (`| head`) ends the output quietly instead of panicking.
fn out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(e).context("cannot write to stdout")
        }
        _ => Ok(()),
    }
}

/// Loads a repository folder, a build directory (universe.json) or an index file.
pub(crate) fn load_any(path: &Path) -> anyhow::Result<Repository> {
    Ok(Repository::load_path(path)?)
}

/// A `file://` URI for a local repository (DCOS_PACKAGE_SOURCE).
pub(crate) fn source_uri(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file://{}", abs.display())
}

fn render(
    repo_path: &Path,
    name: &str,
    version: Option<&str>,
    options: Option<&Path>,
    app_id: Option<&str>,
) -> anyhow::Result<()> {
    let user_options: Option<Value> = match options {
        None => None,
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("{}: cannot read options file", file.display()))?;
            Some(serde_json::from_str(&text).map_err(|e| {
                anyhow::anyhow!(
                    "{}: malformed JSON: {e}: fix the options file",
                    file.display()
                )
            })?)
        }
    };
    let repo = load_any(repo_path)?;
    let package = repo.resolve(name, version)?;
    let source = source_uri(repo_path);
    let request = RenderRequest {
        options: user_options.as_ref(),
        app_id,
        source_uri: &source,
    };
    let rendered = universe::render(package, &request).map_err(|e| match e {
        universe::RenderError::Options(o) => anyhow::anyhow!(
            "{o} (options file {})",
            options
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| "none: the package's own defaults".into())
        ),
        other => anyhow::anyhow!("{}/{}: {other}", package.name, package.release_version),
    })?;
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(&rendered.app)?
    ))
}

fn build(repo_path: &Path, out: &Path) -> anyhow::Result<()> {
    let repo = Repository::load_dir(repo_path)?;
    let written = universe::index::build(&repo, out)?;
    self::out(&format!(
        "wrote {} index files to {} ({} packages, {} versions)\n",
        written.len(),
        out.display(),
        repo.names().len(),
        repo.packages().len()
    ))
}
