//! The Universe's own JSON Schemas (copied unchanged from `repo/meta/schema/` of the public
//! Universe into `universe/schema/`, embedded at compile time) and draft-4 validation against
//! them. Validators are compiled once per process.

use std::sync::OnceLock;

use jsonschema::{Draft, Validator};
use serde_json::Value;

use crate::PackagingVersion;

const PACKAGE_SCHEMA: &str = include_str!("../schema/package-schema.json");
const CONFIG_SCHEMA: &str = include_str!("../schema/config-schema.json");
const V2_RESOURCE_SCHEMA: &str = include_str!("../schema/v2-resource-schema.json");
const V3_RESOURCE_SCHEMA: &str = include_str!("../schema/v3-resource-schema.json");
const COMMAND_SCHEMA: &str = include_str!("../schema/command-schema.json");
const V3_REPO_SCHEMA: &str = include_str!("../schema/v3-repo-schema.json");
const V4_REPO_SCHEMA: &str = include_str!("../schema/v4-repo-schema.json");
const V5_REPO_SCHEMA: &str = include_str!("../schema/v5-repo-schema.json");
const REPO_DEFINITIONS: &str = include_str!("../schema/vX-repo-definitions.json");

/// The index schemas refer to `vX-repo-definitions.json` relatively; with no `$id` the base
/// URI is this one.
const DEFINITIONS_URI: &str = "json-schema:///vX-repo-definitions.json";

/// Which schema to check a document against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaKind {
    /// package.json of the given packaging version.
    Package(PackagingVersion),
    /// config.json (the Universe's draft-4 meta-schema).
    Config,
    /// resource.json: v2 schema for packaging 2.0, v3 schema from 3.0.
    Resource(PackagingVersion),
    /// command.json.
    Command,
    /// A whole repository index of version v3, v4 or v5.
    Index(crate::IndexVersion),
    /// One entry of the `packages` array of an index of version v3, v4 or v5.
    IndexEntry(crate::IndexVersion),
}

struct Validators {
    package: [Validator; 4],
    config: Validator,
    resource_v2: Validator,
    resource_v3: Validator,
    command: Validator,
    index: [Validator; 3],
    index_entry: [Validator; 3],
}

fn parse(text: &str) -> Value {
    // The embedded files are fixed at compile time and covered by tests.
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn build(schema: &Value) -> Validator {
    let defs = Draft::Draft4.create_resource(parse(REPO_DEFINITIONS));
    match jsonschema::draft4::options()
        .should_validate_formats(false)
        .with_resource(DEFINITIONS_URI, defs)
        .build(schema)
    {
        Ok(v) => v,
        // Unreachable for the embedded schemas (a unit test compiles each one); fall back to a
        // schema that accepts everything rather than panicking.
        Err(_) => jsonschema::draft4::new(&Value::Bool(true)).unwrap_or_else(|_| unreachable!()),
    }
}

/// package-schema.json with its root `oneOf` replaced by the one definition for `version`, so
/// errors name the failing field instead of "not valid under any of oneOf".
fn package_schema(version: PackagingVersion) -> Value {
    let mut schema = parse(PACKAGE_SCHEMA);
    if let Some(obj) = schema.as_object_mut() {
        obj.remove("oneOf");
        obj.insert(
            "$ref".into(),
            Value::String(format!("#/definitions/{}", version.definition_name())),
        );
    }
    schema
}

/// The schema of one `packages` item of an index schema (its `properties.packages.items`).
fn entry_schema(repo_schema: &str) -> Value {
    parse(repo_schema)
        .pointer("/properties/packages/items")
        .cloned()
        .unwrap_or(Value::Bool(true))
}

fn validators() -> &'static Validators {
    static CELL: OnceLock<Validators> = OnceLock::new();
    CELL.get_or_init(|| Validators {
        package: PackagingVersion::ALL.map(|v| build(&package_schema(v))),
        config: build(&parse(CONFIG_SCHEMA)),
        resource_v2: build(&parse(V2_RESOURCE_SCHEMA)),
        resource_v3: build(&parse(V3_RESOURCE_SCHEMA)),
        command: build(&parse(COMMAND_SCHEMA)),
        index: [
            build(&parse(V3_REPO_SCHEMA)),
            build(&parse(V4_REPO_SCHEMA)),
            build(&parse(V5_REPO_SCHEMA)),
        ],
        index_entry: [
            build(&entry_schema(V3_REPO_SCHEMA)),
            build(&entry_schema(V4_REPO_SCHEMA)),
            build(&entry_schema(V5_REPO_SCHEMA)),
        ],
    })
}

/// Every schema violation of `doc`, as (JSON pointer, message); empty when valid.
pub fn check(kind: SchemaKind, doc: &Value) -> Vec<(String, String)> {
    let v = validators();
    let validator = match kind {
        SchemaKind::Package(pv) => &v.package[pv.index()],
        SchemaKind::Config => &v.config,
        SchemaKind::Resource(PackagingVersion::V2) => &v.resource_v2,
        SchemaKind::Resource(_) => &v.resource_v3,
        SchemaKind::Command => &v.command,
        SchemaKind::Index(iv) => &v.index[iv as usize],
        SchemaKind::IndexEntry(iv) => &v.index_entry[iv as usize],
    };
    errors(validator, doc)
}

/// Errors of `validator` on `doc`, messages shortened to one readable line.
pub(crate) fn errors(validator: &Validator, doc: &Value) -> Vec<(String, String)> {
    validator
        .iter_errors(doc)
        .map(|e| {
            let path = e.instance_path.as_str().to_string();
            (
                if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                },
                shorten(&e.to_string()),
            )
        })
        .collect()
}

/// One line, at most ~300 characters (messages quote the offending value, which can be big).
pub(crate) fn shorten(msg: &str) -> String {
    let one_line = msg.replace('\n', " ");
    if one_line.chars().count() > 300 {
        let cut: String = one_line.chars().take(300).collect();
        format!("{cut}...")
    } else {
        one_line
    }
}

/// Compiles a package's config.json as a draft-4 schema (for options validation).
pub fn compile_config(config: &Value) -> Result<Validator, String> {
    jsonschema::draft4::options()
        .should_validate_formats(false)
        .build(config)
        .map_err(|e| shorten(&e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_schemas_parse_and_compile() {
        for text in [
            PACKAGE_SCHEMA,
            CONFIG_SCHEMA,
            V2_RESOURCE_SCHEMA,
            V3_RESOURCE_SCHEMA,
            COMMAND_SCHEMA,
            V3_REPO_SCHEMA,
            V4_REPO_SCHEMA,
            V5_REPO_SCHEMA,
            REPO_DEFINITIONS,
        ] {
            let schema: Value = serde_json::from_str(text).unwrap();
            if schema.get("packages").is_none() {
                jsonschema::draft4::options()
                    .should_validate_formats(false)
                    .with_resource(
                        DEFINITIONS_URI,
                        Draft::Draft4.create_resource(parse(REPO_DEFINITIONS)),
                    )
                    .build(&schema)
                    .unwrap();
            }
        }
        for v in PackagingVersion::ALL {
            jsonschema::draft4::new(&package_schema(v)).unwrap();
        }
    }

    #[test]
    fn package_errors_name_the_field() {
        let doc = json!({"packagingVersion": "3.0", "name": "Bad Name", "version": "1", "maintainer": "m",
                         "description": "d", "tags": ["a b"], "extra": 1});
        let errs = check(SchemaKind::Package(PackagingVersion::V3), &doc);
        let paths: Vec<&str> = errs.iter().map(|(p, _)| p.as_str()).collect();
        assert!(paths.contains(&"/name"), "{errs:?}");
        assert!(paths.contains(&"/tags/0"), "{errs:?}");
        assert!(errs.iter().any(|(_, m)| m.contains("extra")), "{errs:?}");
    }

    #[test]
    fn index_schema_resolves_the_shared_definitions() {
        let good = json!({"packages": [{"packagingVersion": "3.0", "name": "a-b", "version": "1", "releaseVersion": 0,
                          "maintainer": "m", "description": "d", "tags": []}]});
        assert!(check(SchemaKind::Index(crate::IndexVersion::V3), &good).is_empty());
        let bad = json!({"packages": [{"packagingVersion": "4.0", "name": "a-b"}]});
        assert!(!check(SchemaKind::Index(crate::IndexVersion::V3), &bad).is_empty());
    }
}
