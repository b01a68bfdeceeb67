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
        format!("application/vnd.dcos.universe.repo+json;charset=utf-8;version={}", self.as_str())
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
    let parse = |s: &str| -> Vec<u64> { s.split('.').map(|p| p.trim().parse().unwrap_or(0)).collect() };
    let (a, b) = (parse(a), parse(b));
    let n = a.len().max(b.len());
    for i in 0..n {
        let (x, y) = (a.get(i).copied().unwrap_or(0), b.get(i).copied().unwrap_or(0));
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
            obj.insert("packagingVersion".into(), Value::String(max.as_str().into()));
        }
    }
    entry
}

/// An index document of `version` for `packages`; with `dcos_release`, only the packages that
/// release may use (and, before 1.10, the old double escaping of quotes in config strings).
pub fn index_document(packages: &[Package], version: IndexVersion, dcos_release: Option<&str>) -> Value {
    let old_escaping = dcos_release.is_some_and(|r| compare_releases(r, "1.10") == std::cmp::Ordering::Less);
    let entries: Vec<Value> = packages
        .iter()
        .filter(|p| dcos_release.is_none_or(|r| allowed_on(p, r)))
        .map(|p| {
            let mut e = index_entry(p, version);
            if old_escaping {
                if let Some(props) = e.get_mut("config").and_then(|c| c.get_mut("properties")) {
                    escape_compat(props);
                }
            }
            e
        })
        .collect();
    let mut doc = Map::new();
    doc.insert("packages".into(), Value::Array(entries));
    Value::Object(doc)
}

/// Cosmos before DC/OS 1.10 unescaped stringified JSON once too often; the generator escaped
/// the quotes in string defaults and descriptions once more for those releases.
fn escape_compat(properties: &mut Value) {
    let Some(props) = properties.as_object_mut() else { return };
    for prop in props.values_mut() {
        let Some(obj) = prop.as_object_mut() else { continue };
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
        .map(|(path, message)| Problem { file: file.into(), path, message })
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
/// (each with a `.content_type` file) into `out_dir` (created if missing). Every document is
/// checked against its index schema first; nothing is left in `out_dir` if one fails. Documents
/// are produced one at a time (written to temporary names, renamed at the end), so memory stays
/// near one document. Returns the paths of the JSON files written.
pub fn build(repo: &Repository, out_dir: &Path) -> Result<Vec<PathBuf>, BuildError> {
    let mut plan: Vec<(String, IndexVersion, Option<&str>)> =
        vec![("universe.json".into(), IndexVersion::V5, None), ("repo-empty-v3.json".into(), IndexVersion::V3, None)];
    for (release, version) in DCOS_RELEASES {
        plan.push((format!("repo-up-to-{release}.json"), version, Some(release)));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| BuildError::Io(out_dir.to_path_buf(), e.to_string()))?;
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = (|| {
        for (file, version, release) in &plan {
            let doc = if file == "repo-empty-v3.json" {
                serde_json::json!({"packages": []})
            } else {
                repo.to_index(*version, *release)
            };
            let problems = validate_index(&doc, *version, file);
            if !problems.is_empty() {
                return Err(BuildError::Invalid(out_dir.join(file), problems));
            }
            let path = out_dir.join(file);
            let tmp = out_dir.join(format!(".{file}.tmp"));
            let f = std::fs::File::create(&tmp).map_err(|e| BuildError::Io(tmp.clone(), e.to_string()))?;
            let mut w = std::io::BufWriter::new(f);
            serde_json::to_writer(&mut w, &doc).map_err(|e| BuildError::Io(tmp.clone(), e.to_string()))?;
            std::io::Write::flush(&mut w).map_err(|e| BuildError::Io(tmp.clone(), e.to_string()))?;
            staged.push((tmp, path));
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = std::fs::remove_file(tmp);
        }
        return Err(e);
    }
    let mut written = Vec::new();
    for ((tmp, path), (file, version, _)) in staged.into_iter().zip(&plan) {
        std::fs::rename(&tmp, &path).map_err(|e| BuildError::Io(path.clone(), e.to_string()))?;
        let ct = out_dir.join(file.replace(".json", ".content_type"));
        std::fs::write(&ct, version.content_type()).map_err(|e| BuildError::Io(ct.clone(), e.to_string()))?;
        written.push(path);
    }
    Ok(written)
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
