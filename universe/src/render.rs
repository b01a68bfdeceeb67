//! Rendering a package's Marathon app (the package service's rules 4-8): context = options +
//! `resource`, the template rendered by its engine, checked to be a JSON object with string
//! labels, `appId` applied, and the DCOS_PACKAGE_* labels added.

use std::collections::HashMap;
use std::io::Write;

use base64::Engine;
use serde_json::{Map, Value};

use crate::mustache::{self, RenderOptions};
use crate::options::{self, OptionsError};
use crate::{Package, TemplateKind};

/// What to render a package with.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderRequest<'a> {
    /// The user's options (`None` or `{}` for defaults only).
    pub options: Option<&'a Value>,
    /// Replaces the app's `id` when given.
    pub app_id: Option<&'a str>,
    /// The repository URI the package came from (DCOS_PACKAGE_SOURCE).
    pub source_uri: &'a str,
}

/// A rendered app and the options it was rendered with.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The Marathon app JSON object, with the DCOS_PACKAGE_* labels.
    pub app: Value,
    /// Defaults merged with the user's options (what the template saw, less `resource`).
    pub resolved_options: Value,
}

/// Why a package could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("package {name} {version} has no Marathon template, so it cannot be rendered or installed as an app")]
    NoTemplate { name: String, version: String },
    #[error(transparent)]
    Options(#[from] OptionsError),
    #[error("{file}: {message}")]
    Template { file: &'static str, message: String },
    #[error("{file} rendered to invalid JSON ({message}) near: {snippet}; fix the template (quote strings, mind trailing commas)")]
    NotJson {
        file: &'static str,
        message: String,
        snippet: String,
    },
    #[error("{file} rendered to JSON that is not an object: the app must be a JSON object")]
    NotObject { file: &'static str },
    #[error(
        "{file} rendered label {key:?} with a non-string value: labels must map strings to strings"
    )]
    BadLabel { file: &'static str, key: String },
}

/// Renders `package` as Marathon app JSON: options resolved, template rendered, `appId` applied
/// and the DCOS_PACKAGE_* labels added.
pub fn render(package: &Package, request: &RenderRequest<'_>) -> Result<Rendered, RenderError> {
    let resolved = options::resolve(&package.name, package.config.as_ref(), request.options)?;
    let mut app = render_template(package, &resolved)?;
    if let Some(id) = request.app_id {
        app.insert("id".into(), Value::String(id.to_string()));
    }
    add_package_labels(&mut app, package, request.options, request.source_uri);
    Ok(Rendered {
        app: Value::Object(app),
        resolved_options: resolved,
    })
}

/// Rules 4-7: renders the template with `resolved_options` (+ `resource`) and checks the result
/// is an object whose labels are strings. No DCOS_PACKAGE_* labels.
pub fn render_template(
    package: &Package,
    resolved_options: &Value,
) -> Result<Map<String, Value>, RenderError> {
    let Some(template) = &package.template else {
        return Err(RenderError::NoTemplate {
            name: package.name.clone(),
            version: package.version.clone(),
        });
    };
    let file = template.kind.file_name();
    let mut resource = Map::new();
    resource.insert(
        "resource".into(),
        package
            .resource
            .clone()
            .unwrap_or(Value::Object(Map::new())),
    );
    let context = options::deep_merge(resolved_options.clone(), Value::Object(resource));
    let text = match template.kind {
        TemplateKind::Mustache => package
            .derived
            .0
            .mustache
            .get_or_init(|| mustache::Template::parse(&template.source))
            .as_ref()
            .map_err(|e| e.clone())
            .and_then(|t| t.render(&context, RenderOptions::COSMOS, &HashMap::new()))
            .map_err(|e| RenderError::Template {
                file,
                message: e.to_string(),
            })?,
        TemplateKind::Tera => render_tera(&template.source, &context)
            .map_err(|message| RenderError::Template { file, message })?,
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| RenderError::NotJson {
        file,
        message: e.to_string(),
        snippet: snippet(&text, e.line(), e.column()),
    })?;
    let Value::Object(app) = value else {
        return Err(RenderError::NotObject { file });
    };
    if let Some(labels) = app.get("labels") {
        let Some(labels) = labels.as_object() else {
            return Err(RenderError::BadLabel {
                file,
                key: "labels".into(),
            });
        };
        if let Some((k, _)) = labels.iter().find(|(_, v)| !v.is_string()) {
            return Err(RenderError::BadLabel {
                file,
                key: k.clone(),
            });
        }
    }
    Ok(app)
}

/// Rule 8: merges the package service's labels into the app's (these win).
pub fn add_package_labels(
    app: &mut Map<String, Value>,
    package: &Package,
    user_options: Option<&Value>,
    source_uri: &str,
) {
    let b64 = base64::engine::general_purpose::STANDARD;
    let user = user_options.cloned().unwrap_or(Value::Object(Map::new()));
    let labels = app
        .entry("labels")
        .or_insert_with(|| Value::Object(Map::new()));
    if !labels.is_object() {
        *labels = Value::Object(Map::new());
    }
    let Some(labels) = labels.as_object_mut() else {
        return;
    };
    let mut put = |k: &str, v: String| {
        labels.insert(k.to_string(), Value::String(v));
    };
    put("DCOS_PACKAGE_NAME", package.name.clone());
    put("DCOS_PACKAGE_VERSION", package.version.clone());
    put("DCOS_PACKAGE_SOURCE", source_uri.to_string());
    put("DCOS_PACKAGE_OPTIONS", b64.encode(user.to_string()));
    let definition = package
        .derived
        .0
        .definition_label
        .get_or_init(|| b64.encode(package_definition_label(package).to_string()));
    put("DCOS_PACKAGE_DEFINITION", definition.clone());
}

/// `{"metadata":{"Content-Type":...,"Content-Encoding":"gzip"},"data": base64(gzip(package))}`.
pub fn package_definition_label(package: &Package) -> Value {
    let json = package.to_index_entry().to_string();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let data = gz
        .write_all(json.as_bytes())
        .and_then(|_| gz.finish())
        .unwrap_or_default();
    serde_json::json!({
        "metadata": {"Content-Type": package.media_type(), "Content-Encoding": "gzip"},
        "data": base64::engine::general_purpose::STANDARD.encode(data),
    })
}

/// Decodes a DCOS_PACKAGE_DEFINITION label back into the package definition JSON.
pub fn decode_package_definition_label(label: &str) -> Option<Value> {
    use std::io::Read;
    let b64 = base64::engine::general_purpose::STANDARD;
    let outer: Value = serde_json::from_slice(&b64.decode(label).ok()?).ok()?;
    let gz = b64.decode(outer.get("data")?.as_str()?).ok()?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut text)
        .ok()?;
    serde_json::from_str(&text).ok()
}

/// Renders a tera template with a `json` filter (alias of json_encode) for safe escaping.
pub(crate) fn render_tera(source: &str, context: &Value) -> Result<String, String> {
    let tera = tera_with_template(source)?;
    let ctx = tera::Context::from_value(context.clone()).map_err(|e| error_chain(&e))?;
    tera.render(TERA_NAME, &ctx).map_err(|e| error_chain(&e))
}

const TERA_NAME: &str = "marathon.json.tera";

/// Parses a tera template (used by validation too).
pub(crate) fn tera_with_template(source: &str) -> Result<tera::Tera, String> {
    let mut tera = tera::Tera::default();
    tera.autoescape_on(vec![]);
    tera.register_filter("json", json_filter);
    tera.add_raw_template(TERA_NAME, source)
        .map_err(|e| error_chain(&e))?;
    Ok(tera)
}

fn json_filter(value: &Value, args: &HashMap<String, Value>) -> tera::Result<Value> {
    let pretty = args.get("pretty").and_then(Value::as_bool).unwrap_or(false);
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    text.map(Value::String)
        .map_err(|e| tera::Error::msg(e.to_string()))
}

/// Tera errors keep the useful part in their sources; join them on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.join(": ").replace('\n', " ")
}

/// The rendered line around a JSON error, for the error message.
fn snippet(text: &str, line: usize, column: usize) -> String {
    let Some(l) = text.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let chars: Vec<char> = l.chars().collect();
    let start = column.saturating_sub(40).min(chars.len());
    let end = (column + 40).min(chars.len());
    format!(
        "line {line}: `{}`",
        chars[start..end].iter().collect::<String>().trim()
    )
}
