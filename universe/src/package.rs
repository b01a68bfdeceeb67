//! One package version: its package.json metadata plus config, resource, command and Marathon
//! template, and its form in a repository index.

use base64::Engine;
use serde_json::{Map, Value};

/// The packaging format version of a package (`packagingVersion` in package.json).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PackagingVersion {
    V2,
    V3,
    V4,
    V5,
}

impl PackagingVersion {
    pub const ALL: [PackagingVersion; 4] = [
        PackagingVersion::V2,
        PackagingVersion::V3,
        PackagingVersion::V4,
        PackagingVersion::V5,
    ];

    /// Parses `"2.0"`, `"3.0"`, `"4.0"` or `"5.0"`.
    pub fn parse(s: &str) -> Option<PackagingVersion> {
        match s {
            "2.0" => Some(PackagingVersion::V2),
            "3.0" => Some(PackagingVersion::V3),
            "4.0" => Some(PackagingVersion::V4),
            "5.0" => Some(PackagingVersion::V5),
            _ => None,
        }
    }

    /// `"2.0"` .. `"5.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PackagingVersion::V2 => "2.0",
            PackagingVersion::V3 => "3.0",
            PackagingVersion::V4 => "4.0",
            PackagingVersion::V5 => "5.0",
        }
    }

    /// `v2` .. `v5`: the version of the package media type.
    pub fn media_version(self) -> &'static str {
        match self {
            PackagingVersion::V2 => "v2",
            PackagingVersion::V3 => "v3",
            PackagingVersion::V4 => "v4",
            PackagingVersion::V5 => "v5",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    pub(crate) fn definition_name(self) -> &'static str {
        match self {
            PackagingVersion::V2 => "v20Package",
            PackagingVersion::V3 => "v30Package",
            PackagingVersion::V4 => "v40Package",
            PackagingVersion::V5 => "v50Package",
        }
    }
}

impl std::fmt::Display for PackagingVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which engine renders a package's Marathon template; chosen by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// `marathon.json.mustache`: mustache with the package service's rules.
    Mustache,
    /// `marathon.json.tera`: tera (dcos-rs extension), with a `json` filter.
    Tera,
}

impl TemplateKind {
    /// The file name of this kind of template in a package folder.
    pub fn file_name(self) -> &'static str {
        match self {
            TemplateKind::Mustache => "marathon.json.mustache",
            TemplateKind::Tera => "marathon.json.tera",
        }
    }
}

/// First line that marks a tera template inside an index's `v2AppMustacheTemplate`.
///
/// The public index schemas allow only `v2AppMustacheTemplate` in `marathon` (and no extra
/// package fields), so a tera template travels in that same field, prefixed with this tera
/// comment line. A public mustache template never starts with `{#` (it would not render to
/// JSON), so the marker is unambiguous; the index stays valid against the v3/v4/v5 schemas.
pub const TERA_MARKER: &str = "{# dcos-rs: marathon.json.tera #}\n";

/// A package's Marathon app template.
#[derive(Debug, Clone, PartialEq)]
pub struct MarathonTemplate {
    pub kind: TemplateKind,
    pub source: String,
}

impl MarathonTemplate {
    /// The content of `v2AppMustacheTemplate` for this template (tera gets [`TERA_MARKER`]).
    pub fn index_text(&self) -> String {
        match self.kind {
            TemplateKind::Mustache => self.source.clone(),
            TemplateKind::Tera => format!("{TERA_MARKER}{}", self.source),
        }
    }

    /// The template carried in an index's `v2AppMustacheTemplate` text.
    pub fn from_index_text(text: String) -> MarathonTemplate {
        match text.strip_prefix(TERA_MARKER) {
            Some(rest) => MarathonTemplate {
                kind: TemplateKind::Tera,
                source: rest.to_string(),
            },
            None => MarathonTemplate {
                kind: TemplateKind::Mustache,
                source: text,
            },
        }
    }
}

/// Values derived from a package on its first render and reused: the parsed mustache template
/// and the DCOS_PACKAGE_DEFINITION label. Shared by clones; ignored by `==`.
#[derive(Default)]
pub(crate) struct Derived {
    pub(crate) definition_label: std::sync::OnceLock<String>,
    pub(crate) mustache:
        std::sync::OnceLock<Result<crate::mustache::Template, crate::mustache::MustacheError>>,
}

#[derive(Clone, Default)]
pub(crate) struct DerivedCache(pub(crate) std::sync::Arc<Derived>);

impl std::fmt::Debug for DerivedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedCache")
    }
}

impl PartialEq for DerivedCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// One version of a package, as loaded from a folder or an index. Build one with
/// [`Package::from_parts`] or [`Package::from_index_entry`]; do not change `config` or
/// `metadata` afterwards (what renders derive from them is computed once and kept).
#[derive(Debug, Clone, PartialEq)]
pub struct Package {
    pub name: String,
    /// The package's version string (`version` in package.json).
    pub version: String,
    /// The release number (folder name; `releaseVersion` in an index). Latest = highest.
    pub release_version: u64,
    pub packaging_version: PackagingVersion,
    pub description: String,
    pub maintainer: String,
    pub tags: Vec<String>,
    pub framework: bool,
    pub selected: bool,
    pub pre_install_notes: Option<String>,
    pub post_install_notes: Option<String>,
    pub post_uninstall_notes: Option<String>,
    pub min_dcos_release_version: Option<String>,
    /// config.json: the draft-4 schema of the options.
    pub config: Option<Value>,
    /// resource.json.
    pub resource: Option<Value>,
    /// command.json (packaging 2.0/3.0 only).
    pub command: Option<Value>,
    pub template: Option<MarathonTemplate>,
    /// package.json exactly as written (every field, original order).
    pub metadata: Map<String, Value>,
    pub(crate) derived: DerivedCache,
}

fn string(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_string)
}

impl Package {
    /// Builds a package from package.json contents and the other files. Fails with a message
    /// (naming the field) when a field the package service relies on is missing or mistyped.
    pub fn from_parts(
        metadata: Map<String, Value>,
        release_version: u64,
        config: Option<Value>,
        resource: Option<Value>,
        command: Option<Value>,
        template: Option<MarathonTemplate>,
    ) -> Result<Package, (String, String)> {
        let pv_text = match metadata.get("packagingVersion") {
            Some(Value::String(s)) => s.clone(),
            Some(_) => {
                return Err((
                    "/packagingVersion".into(),
                    "must be a string such as \"4.0\"".into(),
                ))
            }
            None => {
                return Err((
                    "/packagingVersion".into(),
                    "missing: add \"packagingVersion\": \"4.0\"".into(),
                ))
            }
        };
        let packaging_version = PackagingVersion::parse(&pv_text).ok_or_else(|| {
            (
                "/packagingVersion".to_string(),
                format!("unknown packaging version {pv_text:?}: use 2.0, 3.0, 4.0 or 5.0"),
            )
        })?;
        let name = string(&metadata, "name")
            .ok_or(("/name".to_string(), "missing or not a string".to_string()))?;
        let version = string(&metadata, "version").ok_or((
            "/version".to_string(),
            "missing or not a string".to_string(),
        ))?;
        let tags = match metadata.get("tags") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        Ok(Package {
            description: string(&metadata, "description").unwrap_or_default(),
            maintainer: string(&metadata, "maintainer").unwrap_or_default(),
            framework: metadata
                .get("framework")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            selected: metadata
                .get("selected")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            pre_install_notes: string(&metadata, "preInstallNotes"),
            post_install_notes: string(&metadata, "postInstallNotes"),
            post_uninstall_notes: string(&metadata, "postUninstallNotes"),
            min_dcos_release_version: string(&metadata, "minDcosReleaseVersion"),
            name,
            version,
            release_version,
            packaging_version,
            tags,
            config,
            resource,
            command,
            template,
            metadata,
            derived: DerivedCache::default(),
        })
    }

    /// Reads one entry of a repository index (`{"packages":[...]}` item).
    pub fn from_index_entry(entry: &Value) -> Result<Package, (String, String)> {
        let Some(obj) = entry.as_object() else {
            return Err(("".into(), "package entry is not a JSON object".into()));
        };
        let mut metadata = obj.clone();
        let release_version = match metadata.remove("releaseVersion") {
            Some(v) => v.as_u64().ok_or((
                "/releaseVersion".to_string(),
                "must be a non-negative integer".to_string(),
            ))?,
            None => return Err(("/releaseVersion".into(), "missing".into())),
        };
        let config = metadata.remove("config");
        let resource = metadata.remove("resource");
        let command = metadata.remove("command");
        let template = match metadata.remove("marathon") {
            None => None,
            Some(m) => {
                let b64 = m
                    .get("v2AppMustacheTemplate")
                    .and_then(Value::as_str)
                    .ok_or((
                        "/marathon/v2AppMustacheTemplate".to_string(),
                        "missing or not a string".to_string(),
                    ))?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| {
                        (
                            "/marathon/v2AppMustacheTemplate".to_string(),
                            format!("not base64: {e}"),
                        )
                    })?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    (
                        "/marathon/v2AppMustacheTemplate".to_string(),
                        "not UTF-8 text".to_string(),
                    )
                })?;
                Some(MarathonTemplate::from_index_text(text))
            }
        };
        Package::from_parts(
            metadata,
            release_version,
            config,
            resource,
            command,
            template,
        )
    }

    /// The package as an index entry: package.json plus `releaseVersion`, `resource`, `config`,
    /// `command` and `marathon.v2AppMustacheTemplate` (base64). This is also the package
    /// definition the package service describes and stores in DCOS_PACKAGE_DEFINITION.
    pub fn to_index_entry(&self) -> Value {
        let mut obj = self.metadata.clone();
        obj.insert("releaseVersion".into(), Value::from(self.release_version));
        if let Some(t) = &self.template {
            let b64 = base64::engine::general_purpose::STANDARD.encode(t.index_text());
            let mut m = Map::new();
            m.insert("v2AppMustacheTemplate".into(), Value::String(b64));
            obj.insert("marathon".into(), Value::Object(m));
        }
        if let Some(r) = &self.resource {
            obj.insert("resource".into(), r.clone());
        }
        if let Some(c) = &self.config {
            obj.insert("config".into(), c.clone());
        }
        if let Some(c) = &self.command {
            obj.insert("command".into(), c.clone());
        }
        Value::Object(obj)
    }

    /// `resource.images` (icons, screenshots), if any.
    pub fn images(&self) -> Option<&Value> {
        self.resource.as_ref().and_then(|r| r.get("images"))
    }

    /// The media type of this package's definition.
    pub fn media_type(&self) -> String {
        format!(
            "application/vnd.dcos.universe.package+json;charset=utf-8;version={}",
            self.packaging_version.media_version()
        )
    }
}
