//! Reading a repository folder (`packages/<L>/<name>/<release>/`), with the folder rules and,
//! for `validate`, the Universe's schemas. Every problem is collected, none stops the walk.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::{
    mustache, render, schema, schema::SchemaKind, LoadError, MarathonTemplate, Package,
    PackagingVersion, Problem, TemplateKind,
};

/// Files a package version folder may hold.
const KNOWN_FILES: [&str; 6] = [
    "package.json",
    "config.json",
    "resource.json",
    "command.json",
    "marathon.json.mustache",
    "marathon.json.tera",
];

/// What a walk found.
pub(crate) struct Scan {
    pub packages: Vec<Package>,
    pub problems: Vec<Problem>,
    /// Package version folders seen (loaded or not).
    pub versions: usize,
}

/// The `packages` folder of a repo given as its root or as the packages folder itself.
pub(crate) fn packages_dir(path: &Path) -> Result<PathBuf, LoadError> {
    if !path.exists() {
        return Err(LoadError::NotFound(path.to_path_buf()));
    }
    if !path.is_dir() {
        return Err(LoadError::NotADirectory(path.to_path_buf()));
    }
    let inner = path.join("packages");
    if inner.is_dir() {
        return Ok(inner);
    }
    // The packages folder itself: its sub-folders are single letters.
    let looks_like_packages = std::fs::read_dir(path)
        .map_err(|e| LoadError::Io(path.to_path_buf(), e.to_string()))?
        .filter_map(Result::ok)
        .any(|e| e.path().is_dir() && is_letter_folder(&e.file_name().to_string_lossy()));
    if looks_like_packages || path.file_name().is_some_and(|n| n == "packages") {
        Ok(path.to_path_buf())
    } else {
        Err(LoadError::NoPackages(path.to_path_buf()))
    }
}

fn is_letter_folder(name: &str) -> bool {
    name.len() == 1 && name.chars().all(|c| c.is_ascii_uppercase())
}

fn is_hidden(name: &str) -> bool {
    name.starts_with('.')
}

/// Sorted entries of a directory; an unreadable directory is a problem.
fn entries(dir: &Path, problems: &mut Vec<Problem>) -> Vec<(String, PathBuf)> {
    match std::fs::read_dir(dir) {
        Ok(rd) => {
            let mut v: Vec<(String, PathBuf)> = rd
                .filter_map(Result::ok)
                .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
                .filter(|(n, _)| !is_hidden(n))
                .collect();
            v.sort();
            v
        }
        Err(e) => {
            problems.push(Problem::new(dir, "", format!("cannot read folder: {e}")));
            Vec::new()
        }
    }
}

/// Walks the repository. `strict` adds the schema checks, unknown-file checks and a render with
/// default options (what `validate` reports); loading for use skips them.
pub(crate) fn scan(path: &Path, strict: bool) -> Result<Scan, LoadError> {
    let packages_dir = packages_dir(path)?;
    let mut scan = Scan {
        packages: Vec::new(),
        problems: Vec::new(),
        versions: 0,
    };
    let name_re = package_name_regex();
    for (letter, letter_path) in entries(&packages_dir, &mut scan.problems) {
        if !letter_path.is_dir() || !is_letter_folder(&letter) {
            scan.problems.push(Problem::new(
                &letter_path,
                "",
                "unexpected entry: packages/ holds one folder per upper-case first letter (A-Z); move or remove it",
            ));
            continue;
        }
        for (name, pkg_path) in entries(&letter_path, &mut scan.problems) {
            if !pkg_path.is_dir() {
                scan.problems.push(Problem::new(
                    &pkg_path,
                    "",
                    "unexpected file: a letter folder holds package folders only",
                ));
                continue;
            }
            if !name_re.is_match(&name) {
                scan.problems.push(Problem::new(
                    &pkg_path,
                    "",
                    format!("package folder name {name:?} must match ^[a-z][a-z0-9-]*[a-z0-9]$: rename it"),
                ));
            } else if !name.starts_with(&letter.to_ascii_lowercase()) {
                scan.problems.push(Problem::new(
                    &pkg_path,
                    "",
                    format!(
                        "package {name:?} is in letter folder {letter}: move it to packages/{}/",
                        name[..1].to_ascii_uppercase()
                    ),
                ));
            }
            for (release, rel_path) in entries(&pkg_path, &mut scan.problems) {
                if !rel_path.is_dir() {
                    scan.problems.push(Problem::new(&rel_path, "", "unexpected file: a package folder holds release folders (0, 1, 2, ...) only"));
                    continue;
                }
                scan.versions += 1;
                let Some(release_version) = release
                    .parse::<u64>()
                    .ok()
                    .filter(|_| release.bytes().all(|b| b.is_ascii_digit()))
                else {
                    scan.problems.push(Problem::new(
                        &rel_path,
                        "",
                        format!("release folder {release:?} must be a non-negative integer (0, 1, 2, ...): rename it"),
                    ));
                    continue;
                };
                let before = scan.problems.len();
                let pkg = load_version(
                    &rel_path,
                    &name,
                    release_version,
                    strict,
                    &mut scan.problems,
                );
                if let Some(pkg) = pkg.filter(|_| scan.problems.len() == before) {
                    scan.packages.push(pkg);
                }
            }
        }
    }
    scan.packages.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(a.release_version.cmp(&b.release_version))
    });
    Ok(scan)
}

pub(crate) fn package_name_regex() -> regex::Regex {
    // A constant, valid pattern.
    regex::Regex::new(r"^[a-z][a-z0-9-]*[a-z0-9]$").unwrap_or_else(|_| unreachable!())
}

fn read_json(path: &Path, problems: &mut Vec<Problem>) -> Option<Value> {
    let text = read_text(path, problems)?;
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            problems.push(Problem::new(
                path,
                "",
                format!("malformed JSON: {e}: fix the syntax"),
            ));
            None
        }
    }
}

fn read_text(path: &Path, problems: &mut Vec<Problem>) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(_) => {
                problems.push(Problem::new(path, "", "not UTF-8 text: save it as UTF-8"));
                None
            }
        },
        Err(e) => {
            problems.push(Problem::new(path, "", format!("cannot read: {e}")));
            None
        }
    }
}

fn optional_json(dir: &Path, file: &str, problems: &mut Vec<Problem>) -> Option<Value> {
    let p = dir.join(file);
    if p.is_file() {
        read_json(&p, problems)
    } else {
        None
    }
}

fn load_version(
    dir: &Path,
    folder_name: &str,
    release: u64,
    strict: bool,
    problems: &mut Vec<Problem>,
) -> Option<Package> {
    let start = problems.len();
    if strict {
        for (file, path) in entries(dir, problems) {
            if !KNOWN_FILES.contains(&file.as_str()) {
                problems.push(Problem::new(
                    &path,
                    "",
                    format!(
                        "unexpected file: a package version holds only {}",
                        KNOWN_FILES.join(", ")
                    ),
                ));
            }
        }
    }
    let package_json = dir.join("package.json");
    if !package_json.is_file() {
        problems.push(Problem::new(
            &package_json,
            "",
            "missing: every package version needs a package.json",
        ));
        return None;
    }
    let metadata = read_json(&package_json, problems);
    let config = optional_json(dir, "config.json", problems);
    let resource = optional_json(dir, "resource.json", problems);
    let command = optional_json(dir, "command.json", problems);

    let mustache_path = dir.join(TemplateKind::Mustache.file_name());
    let tera_path = dir.join(TemplateKind::Tera.file_name());
    let template = match (mustache_path.is_file(), tera_path.is_file()) {
        (true, true) => {
            problems.push(Problem::new(
                &tera_path,
                "",
                "both marathon.json.mustache and marathon.json.tera exist: keep one",
            ));
            None
        }
        (true, false) => read_text(&mustache_path, problems).map(|source| MarathonTemplate {
            kind: TemplateKind::Mustache,
            source,
        }),
        (false, true) => read_text(&tera_path, problems).map(|source| MarathonTemplate {
            kind: TemplateKind::Tera,
            source,
        }),
        (false, false) => None,
    };
    let metadata = metadata?;
    let Value::Object(meta_obj) = metadata.clone() else {
        problems.push(Problem::new(
            &package_json,
            "/",
            "package.json must be a JSON object",
        ));
        return None;
    };

    let pkg = match Package::from_parts(
        meta_obj,
        release,
        config.clone(),
        resource.clone(),
        command.clone(),
        template.clone(),
    ) {
        Ok(p) => p,
        Err((ptr, msg)) => {
            problems.push(Problem::new(&package_json, &ptr, msg));
            return None;
        }
    };
    if pkg.name != folder_name {
        problems.push(Problem::new(
            &package_json,
            "/name",
            format!("name {:?} differs from the folder name {folder_name:?}: rename the folder or fix the name", pkg.name),
        ));
    }
    let pv = pkg.packaging_version;
    if pv == PackagingVersion::V2 && template.is_none() {
        problems.push(Problem::new(
            &mustache_path,
            "",
            "missing: packaging 2.0 requires a marathon.json.mustache",
        ));
    }
    if pv >= PackagingVersion::V4 && command.is_some() {
        problems.push(Problem::new(
            &dir.join("command.json"),
            "",
            format!("command.json is not allowed from packaging 4.0 (this package is {pv}): remove it, ship the CLI in resource.json cli.binaries"),
        ));
    }
    if let Some(t) = &template {
        let path = dir.join(t.kind.file_name());
        let parsed = match t.kind {
            // Checked, not kept: the first render parses it again and keeps it.
            TemplateKind::Mustache => mustache::Template::parse(&t.source)
                .map(|_| ())
                .map_err(|e| e.to_string()),
            TemplateKind::Tera => render::tera_with_template(&t.source).map(|_| ()),
        };
        if let Err(msg) = parsed {
            problems.push(Problem::new(
                &path,
                "",
                format!("template does not parse: {msg}"),
            ));
        }
    }
    if strict {
        // Compiled schemas are big: only `validate` compiles them all; renders compile lazily.
        if let Some(cfg) = &config {
            if let Err(msg) = schema::compile_config(cfg) {
                problems.push(Problem::new(
                    &dir.join("config.json"),
                    "",
                    format!("not a valid draft-4 JSON Schema: {msg}"),
                ));
            }
        }
        let checks: [(&str, Option<&Value>, SchemaKind); 4] = [
            ("package.json", Some(&metadata), SchemaKind::Package(pv)),
            ("config.json", config.as_ref(), SchemaKind::Config),
            ("resource.json", resource.as_ref(), SchemaKind::Resource(pv)),
            ("command.json", command.as_ref(), SchemaKind::Command),
        ];
        for (file, doc, kind) in checks {
            if let Some(doc) = doc {
                for (ptr, msg) in schema::check(kind, doc) {
                    problems.push(Problem::new(&dir.join(file), &ptr, msg));
                }
            }
        }
        // A package that is otherwise sound must render with its default options.
        if problems.len() == start && pkg.template.is_some() {
            let request = crate::RenderRequest {
                options: None,
                app_id: None,
                source_uri: "",
            };
            if let Err(e) = render::render(&pkg, &request) {
                let file = pkg
                    .template
                    .as_ref()
                    .map(|t| t.kind.file_name())
                    .unwrap_or("package.json");
                problems.push(Problem::new(
                    &dir.join(file),
                    "",
                    format!("does not render with default options: {e}"),
                ));
            }
        }
    }
    Some(pkg)
}
