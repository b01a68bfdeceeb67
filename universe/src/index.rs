//! Repository index documents, as the public Universe's generator wrote them: `universe.json`
//! (v5, every package) and one `repo-up-to-<release>.json` per DC/OS release holding only the
//! packages whose `minDcosReleaseVersion` allows that release. Releases before 1.10 get v3
//! documents (4.0/5.0 packages downgraded to 3.0) with the pre-1.10 double escaping of quotes in
//! config strings; 1.10 and 1.11 get v4 (5.0 downgraded to 4.0); 1.12 and later get v5. Each
//! document has a `.content_type` file beside it with its media type, which `serve` uses.
//!
//! Tera templates travel in `marathon.v2AppMustacheTemplate` behind [`crate::TERA_MARKER`], so
//! every document stays valid against the public index schemas.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::{schema, Package, PackagingVersion, Problem, Repository};

/// Version of a repository index document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IndexVersion {
    V3 = 0,
    V4 = 1,
    V5 = 2,
}

impl IndexVersion {
    pub const ALL: [IndexVersion; 3] = [IndexVersion::V3, IndexVersion::V4, IndexVersion::V5];

    /// `"v3"`, `"v4"` or `"v5"`.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexVersion::V3 => "v3",
            IndexVersion::V4 => "v4",
            IndexVersion::V5 => "v5",
        }
    }

    /// Parses `v3`, `v4` or `v5`.
    pub fn parse(s: &str) -> Option<IndexVersion> {
        IndexVersion::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// `application/vnd.dcos.universe.repo+json;charset=utf-8;version=vN`.
    pub fn content_type(self) -> String {
        format!(
            "application/vnd.dcos.universe.repo+json;charset=utf-8;version={}",
            self.as_str()
        )
    }

    /// The highest packaging version a document of this version can carry.
    fn max_packaging(self) -> PackagingVersion {
        match self {
            IndexVersion::V3 => PackagingVersion::V3,
            IndexVersion::V4 => PackagingVersion::V4,
            IndexVersion::V5 => PackagingVersion::V5,
        }
    }
}

/// The DC/OS releases that get a `repo-up-to-<release>.json`, with that file's index version.
/// (The public Universe also wrote zip files for 1.6.1 and 1.7, a format Cosmos stopped reading
/// in 1.8; they are not produced.)
pub const DCOS_RELEASES: [(&str, IndexVersion); 7] = [
    ("1.8", IndexVersion::V3),
    ("1.9", IndexVersion::V3),
    ("1.10", IndexVersion::V4),
    ("1.11", IndexVersion::V4),
    ("1.12", IndexVersion::V5),
    ("1.13", IndexVersion::V5),
    ("2.0", IndexVersion::V5),
];

/// Compares dotted release versions numerically (`1.10` > `1.9`); missing parts count as 0.
pub fn compare_releases(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |s: &str| -> Vec<u64> {
        s.split('.')
            .map(|p| p.trim().parse().unwrap_or(0))
            .collect()
    };
    let (a, b) = (parse(a), parse(b));
    let n = a.len().max(b.len());
    for i in 0..n {
        let (x, y) = (
            a.get(i).copied().unwrap_or(0),
            b.get(i).copied().unwrap_or(0),
        );
        if x != y {
            return x.cmp(&y);
        }
    }
    std::cmp::Ordering::Equal
}

/// Whether `package` may be offered to DC/OS `release`.
pub fn allowed_on(package: &Package, release: &str) -> bool {
    let min = package.min_dcos_release_version.as_deref().unwrap_or("0.0");
    compare_releases(min, release) != std::cmp::Ordering::Greater
}

/// The entry of `package` in an index of `version`, downgraded if needed.
pub fn index_entry(package: &Package, version: IndexVersion) -> Value {
    let mut entry = package.to_index_entry();
    let max = version.max_packaging();
    if package.packaging_version > max {
        if let Some(obj) = entry.as_object_mut() {
            obj.remove("manager");
            if max < PackagingVersion::V4 {
                obj.remove("upgradesFrom");
                obj.remove("downgradesTo");
            }
            obj.insert(
                "packagingVersion".into(),
                Value::String(max.as_str().into()),
            );
        }
    }
    entry
}

/// An index document of `version` for `packages`; with `dcos_release`, only the packages that
/// release may use (and, before 1.10, the old double escaping of quotes in config strings).
pub fn index_document(
    packages: &[Package],
    version: IndexVersion,
    dcos_release: Option<&str>,
) -> Value {
    let entries: Vec<Value> = packages
        .iter()
        .filter(|p| dcos_release.is_none_or(|r| allowed_on(p, r)))
        .map(|p| document_entry(p, version, dcos_release))
        .collect();
    let mut doc = Map::new();
    doc.insert("packages".into(), Value::Array(entries));
    Value::Object(doc)
}

/// The entry of `package` in a document of `version` for `dcos_release` (downgraded, and with
/// the old escaping before 1.10).
fn document_entry(package: &Package, version: IndexVersion, dcos_release: Option<&str>) -> Value {
    let old_escaping =
        dcos_release.is_some_and(|r| compare_releases(r, "1.10") == std::cmp::Ordering::Less);
    let mut e = index_entry(package, version);
    if old_escaping {
        if let Some(props) = e.get_mut("config").and_then(|c| c.get_mut("properties")) {
            escape_compat(props);
        }
    }
    e
}

/// Cosmos before DC/OS 1.10 unescaped stringified JSON once too often; the generator escaped
/// the quotes in string defaults and descriptions once more for those releases.
fn escape_compat(properties: &mut Value) {
    let Some(props) = properties.as_object_mut() else {
        return;
    };
    for prop in props.values_mut() {
        let Some(obj) = prop.as_object_mut() else {
            continue;
        };
        if let Some(Value::String(d)) = obj.get_mut("description") {
            *d = escape_quotes(d);
        }
        match obj.get("type").and_then(Value::as_str) {
            Some("string") => {
                if let Some(Value::String(d)) = obj.get_mut("default") {
                    *d = escape_quotes(d);
                }
            }
            Some("object") => {
                if let Some(inner) = obj.get_mut("properties") {
                    escape_compat(inner);
                }
            }
            _ => {}
        }
    }
}

/// Puts a backslash before every `"` that follows a character other than a backslash.
fn escape_quotes(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut prev: Option<char> = None;
    let mut prev_consumed = false;
    for c in s.chars() {
        if c == '"' && prev.is_some_and(|p| p != '\\') && !prev_consumed {
            out.push('\\');
            out.push('"');
            prev_consumed = true;
        } else {
            out.push(c);
            prev_consumed = false;
        }
        prev = Some(c);
    }
    out
}

/// Every problem of `doc` against the index schema of `version`.
pub fn validate_index(doc: &Value, version: IndexVersion, file: &str) -> Vec<Problem> {
    schema::check(schema::SchemaKind::Index(version), doc)
        .into_iter()
        .map(|(path, message)| Problem {
            file: file.into(),
            path,
            message,
        })
        .collect()
}

/// Why an index could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("cannot write {0}: {1}")]
    Io(PathBuf, String),
    #[error("{} fails its index schema: {}", .0.display(), .1.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "))]
    Invalid(PathBuf, Vec<Problem>),
}

/// Writes `universe.json` (v5), `repo-empty-v3.json` and the `repo-up-to-<release>.json` files
/// (each with a `.content_type` file) into `out_dir` (created if missing). Every package entry
/// is checked against its index schema; nothing is left in `out_dir` if one fails. Documents
/// are streamed entry by entry to temporary names and renamed at the end, so memory stays near
/// the loaded repository. Returns the paths of the JSON files written.
pub fn build(repo: &Repository, out_dir: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let mut plan: Vec<(String, IndexVersion, Option<&str>, bool)> = vec![
        ("universe.json".into(), IndexVersion::V5, None, false),
        ("repo-empty-v3.json".into(), IndexVersion::V3, None, true),
    ];
    for (release, version) in DCOS_RELEASES {
        plan.push((
            format!("repo-up-to-{release}.json"),
            version,
            Some(release),
            false,
        ));
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| BuildError::Io(out_dir.to_path_buf(), e.to_string()))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let mut result = Ok(());
    for (file, version, release, empty) in &plan {
        let tmp = out_dir.join(format!(".{file}.tmp"));
        staged.push((tmp.clone(), out_dir.join(file)));
        let packages: &[Package] = if *empty { &[] } else { repo.packages() };
        result = write_document(&tmp, file, packages, *version, *release);
        if result.is_err() {
            break;
        }
    }
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e.into_build_error(out_dir));
    }
    let mut written = Vec::new();
    for ((tmp, path), (file, version, _, _)) in staged.into_iter().zip(&plan) {
        std::fs::rename(&tmp, &path).map_err(|e| BuildError::Io(path.clone(), e.to_string()))?;
        let ct = out_dir.join(file.replace(".json", ".content_type"));
        std::fs::write(&ct, version.content_type())
            .map_err(|e| BuildError::Io(ct.clone(), e.to_string()))?;
        written.push(path);
    }
    Ok(written)
}

enum WriteError {
    Io(PathBuf, String),
    Invalid(String, Vec<Problem>),
}

impl WriteError {
    fn into_build_error(self, out_dir: &Path) -> BuildError {
        match self {
            WriteError::Io(p, e) => BuildError::Io(p, e),
            WriteError::Invalid(file, problems) => {
                BuildError::Invalid(out_dir.join(file), problems)
            }
        }
    }
}

/// Streams one index document: `{"packages":[entry,...]}`, each entry validated first.
fn write_document(
    tmp: &Path,
    file: &str,
    packages: &[Package],
    version: IndexVersion,
    release: Option<&str>,
) -> Result<(), WriteError> {
    use std::io::Write;
    let io = |e: std::io::Error| WriteError::Io(tmp.to_path_buf(), e.to_string());
    let f = std::fs::File::create(tmp).map_err(io)?;
    let mut w = std::io::BufWriter::new(f);
    w.write_all(b"{\"packages\":[").map_err(io)?;
    let mut first = true;
    for (i, package) in packages
        .iter()
        .filter(|p| release.is_none_or(|r| allowed_on(p, r)))
        .enumerate()
    {
        let entry = document_entry(package, version, release);
        let problems: Vec<Problem> = schema::check(schema::SchemaKind::IndexEntry(version), &entry)
            .into_iter()
            .map(|(path, message)| Problem {
                file: file.into(),
                path: format!("/packages/{i}{}", path.trim_end_matches('/')),
                message,
            })
            .collect();
        if !problems.is_empty() {
            return Err(WriteError::Invalid(file.into(), problems));
        }
        if !first {
            w.write_all(b",").map_err(io)?;
        }
        first = false;
        serde_json::to_writer(&mut w, &entry)
            .map_err(|e| WriteError::Io(tmp.to_path_buf(), e.to_string()))?;
    }
    w.write_all(b"]}").map_err(io)?;
    w.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_compare_numerically() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_releases("1.10", "1.9"), Greater);
        assert_eq!(compare_releases("1.8", "1.8.0"), Equal);
        assert_eq!(compare_releases("0.0", "1.8"), Less);
    }

    #[test]
    fn quote_escaping_matches_the_generator() {
        assert_eq!(escape_quotes(r#"{"a": "b"}"#), r#"{\"a\": \"b\"}"#);
        assert_eq!(escape_quotes(r#"x\"y"#), r#"x\"y"#);
        assert_eq!(escape_quotes(r#""lead"#), r#""lead"#);
    }
}
