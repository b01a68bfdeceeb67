//! A package's options: defaults from config.json, deep merge of the user's options, and
//! draft-4 validation of the result (the package service's rules 1-3).

use serde_json::{Map, Value};

use crate::schema;

/// Why options were refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OptionsError {
    #[error(
        "options not allowed: package {package} has no config.json; install it without options"
    )]
    NotAllowed { package: String },
    #[error("options must be a JSON object, got {got}")]
    NotAnObject { got: String },
    #[error("options do not match package {package}'s config.json: {}", .problems.join("; "))]
    Invalid {
        package: String,
        problems: Vec<String>,
    },
    #[error("package {package}'s config.json is not a usable draft-4 schema: {message}")]
    BadSchema { package: String, message: String },
}

/// Rule 1: for each entry of `config.properties` take its `default`; without one, recurse into
/// its nested `properties` and keep the result only if non-empty.
pub fn defaults(config: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(props) = config.get("properties").and_then(Value::as_object) {
        for (key, prop) in props {
            if let Some(d) = prop.get("default") {
                out.insert(key.clone(), d.clone());
            } else if prop.get("properties").is_some() {
                let nested = defaults(prop);
                if !nested.is_empty() {
                    out.insert(key.clone(), Value::Object(nested));
                }
            }
        }
    }
    out
}

/// Rule 2: objects merge recursively; anything else (arrays included) is replaced by `over`.
pub fn deep_merge(base: Value, over: Value) -> Value {
    match (base, over) {
        (Value::Object(mut b), Value::Object(o)) => {
            for (k, v) in o {
                let merged = match b.remove(&k) {
                    Some(existing) => deep_merge(existing, v),
                    None => v,
                };
                b.insert(k, merged);
            }
            Value::Object(b)
        }
        (_, over) => over,
    }
}

/// Rules 1-3: the options a package is rendered with. `user` is what the user gave (`None` or
/// `{}` for none). Errors list every failing option path.
///
/// The config.json schema is compiled per call on purpose: a compiled schema takes ~100 times
/// the memory of its JSON, and a package service holding thousands of versions renders rarely.
pub fn resolve(
    package: &str,
    config: Option<&Value>,
    user: Option<&Value>,
) -> Result<Value, OptionsError> {
    let user = match user {
        None => None,
        Some(Value::Object(o)) if o.is_empty() => None,
        Some(v @ Value::Object(_)) => Some(v),
        Some(other) => {
            return Err(OptionsError::NotAnObject {
                got: type_name(other).into(),
            })
        }
    };
    let Some(config) = config else {
        return match user {
            Some(_) => Err(OptionsError::NotAllowed {
                package: package.into(),
            }),
            None => Ok(Value::Object(Map::new())),
        };
    };
    let merged = deep_merge(
        Value::Object(defaults(config)),
        user.cloned().unwrap_or(Value::Object(Map::new())),
    );
    let validator = schema::compile_config(config).map_err(|message| OptionsError::BadSchema {
        package: package.into(),
        message,
    })?;
    let problems: Vec<String> = schema::errors(&validator, &merged)
        .into_iter()
        .map(|(path, msg)| format!("{}: {msg}", option_path(&path)))
        .collect();
    if problems.is_empty() {
        Ok(merged)
    } else {
        Err(OptionsError::Invalid {
            package: package.into(),
            problems,
        })
    }
}

/// `/service/cpus` -> `service.cpus` (the way users write option names); root -> `(root)`.
fn option_path(pointer: &str) -> String {
    let p = pointer.trim_start_matches('/');
    if p.is_empty() {
        "(root)".into()
    } else {
        p.split('/')
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect::<Vec<_>>()
            .join(".")
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config() -> Value {
        json!({"type": "object", "properties": {
            "service": {"type": "object", "properties": {
                "name": {"type": "string", "default": "svc"},
                "cpus": {"type": "number", "default": 1.0, "minimum": 0.1},
                "nodefault": {"type": "string"}
            }},
            "empty": {"type": "object", "properties": {"x": {"type": "string"}}},
            "list": {"type": "array", "default": [1, 2]}
        }})
    }

    #[test]
    fn defaults_recurse_and_drop_empty_objects() {
        assert_eq!(
            Value::Object(defaults(&config())),
            json!({"service": {"name": "svc", "cpus": 1.0}, "list": [1, 2]})
        );
    }

    #[test]
    fn merge_replaces_arrays_and_merges_objects() {
        let merged = resolve(
            "p",
            Some(&config()),
            Some(&json!({"service": {"cpus": 2}, "list": [3]})),
        )
        .unwrap();
        assert_eq!(
            merged,
            json!({"service": {"name": "svc", "cpus": 2}, "list": [3]})
        );
    }

    #[test]
    fn every_failing_path_is_listed() {
        let err = resolve(
            "p",
            Some(&config()),
            Some(&json!({"service": {"cpus": "many", "name": 5}})),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("service.cpus") && msg.contains("service.name"),
            "{msg}"
        );
    }

    #[test]
    fn options_without_config_are_refused() {
        assert_eq!(
            resolve("p", None, Some(&json!({"a": 1}))).unwrap_err(),
            OptionsError::NotAllowed {
                package: "p".into()
            }
        );
        assert_eq!(resolve("p", None, Some(&json!({}))).unwrap(), json!({}));
        assert!(matches!(
            resolve("p", Some(&config()), Some(&json!([1]))),
            Err(OptionsError::NotAnObject { .. })
        ));
    }
}
