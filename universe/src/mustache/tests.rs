use std::collections::HashMap;

use serde_json::json;

use super::*;

fn cosmos(src: &str, ctx: serde_json::Value) -> String {
    render_str(src, &ctx, RenderOptions::COSMOS).unwrap()
}

#[test]
fn cosmos_strings_are_json_escaped_without_quotes() {
    assert_eq!(
        cosmos(r#""{{x}}""#, json!({"x": "a\"b\\c\nd"})),
        r#""a\"b\\c\nd""#
    );
    // Escaping is off: the triple form prints the same.
    assert_eq!(
        cosmos("{{x}}|{{{x}}}|{{&x}}", json!({"x": "<&>"})),
        "<&>|<&>|<&>"
    );
}

#[test]
fn cosmos_numbers_print_integral_values_as_integers() {
    assert_eq!(
        cosmos(
            "{{a}} {{b}} {{c}} {{d}}",
            json!({"a": 1.0, "b": 2.5, "c": 7, "d": -3.0})
        ),
        "1 2.5 7 -3"
    );
    assert_eq!(cosmos("{{a}}", json!({"a": 1e20})), "100000000000000000000");
    assert_eq!(
        cosmos("{{a}}", json!({"a": -(2f64.powi(70))})),
        "-1180591620717411303424"
    );
}

#[test]
fn cosmos_arrays_print_json_elements_joined_by_comma_space() {
    assert_eq!(
        cosmos("{{a}}", json!({"a": ["one", "two"]})),
        r#"["one", "two"]"#
    );
    assert_eq!(cosmos("{{a}}", json!({"a": []})), "[]");
    assert_eq!(
        cosmos("{{a}}", json!({"a": [1, {"k": "v"}]})),
        r#"[1, {"k":"v"}]"#
    );
}

#[test]
fn cosmos_booleans_and_null() {
    assert_eq!(
        cosmos(
            "{{t}}/{{f}}/{{n}}/{{missing}}",
            json!({"t": true, "f": false, "n": null})
        ),
        "true/false//"
    );
}

#[test]
fn falsiness_rules() {
    let ctx = json!({"zero": 0, "empty_obj": {}, "empty_str": "", "empty_arr": [], "null": null, "f": false});
    assert_eq!(
        cosmos(
            "{{#zero}}Z{{/zero}}{{#empty_obj}}O{{/empty_obj}}",
            ctx.clone()
        ),
        "ZO"
    );
    assert_eq!(
        cosmos("{{#empty_str}}x{{/empty_str}}{{#empty_arr}}x{{/empty_arr}}{{#null}}x{{/null}}{{#f}}x{{/f}}", ctx.clone()),
        ""
    );
    assert_eq!(
        cosmos(
            "{{^empty_str}}1{{/empty_str}}{{^empty_arr}}2{{/empty_arr}}{{^zero}}3{{/zero}}",
            ctx
        ),
        "12"
    );
}

#[test]
fn dotted_names_with_dashes_and_context_stack() {
    let ctx = json!({"a": {"b-c": {"d": "deep"}}, "outer": "O", "list": [{"n": 1}, {"n": 2}]});
    assert_eq!(cosmos("{{a.b-c.d}}", ctx.clone()), "deep");
    assert_eq!(cosmos("{{#list}}{{n}}{{outer}};{{/list}}", ctx), "1O;2O;");
}

#[test]
fn unclosed_section_names_section_and_line() {
    let err = Template::parse("{\n  {{#service.role}}\n  \"role\": 1\n}").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("line 2") && msg.contains("service.role") && msg.contains("{{/service.role}}"),
        "{msg}"
    );
}

#[test]
fn mismatched_close_is_an_error() {
    let msg = Template::parse("{{#a}}{{/b}}").unwrap_err().to_string();
    assert!(msg.contains("does not match"), "{msg}");
    let msg = Template::parse("{{/b}}").unwrap_err().to_string();
    assert!(msg.contains("without an opening"), "{msg}");
    let msg = Template::parse("{{ a ").unwrap_err().to_string();
    assert!(msg.contains("unclosed tag"), "{msg}");
}

#[test]
fn hostile_nesting_is_refused_not_a_stack_overflow() {
    let deep = "{{#a}}".repeat(10_000) + &"{{/a}}".repeat(10_000);
    let msg = Template::parse(&deep).unwrap_err().to_string();
    assert!(msg.contains("nested deeper"), "{msg}");
    // Unbounded partial recursion stops with an error.
    let t = Template::parse("{{>p}}").unwrap();
    let partials = HashMap::from([("p".to_string(), "x{{>p}}".to_string())]);
    assert_eq!(
        t.render(&json!({}), RenderOptions::COSMOS, &partials)
            .unwrap_err(),
        MustacheError::TooDeep
    );
}

/// The official mustache spec, run with HTML escaping on and plain values.
#[test]
fn official_spec() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/mustache-spec");
    let mut failures = Vec::new();
    let mut count = 0;
    for file in [
        "comments",
        "interpolation",
        "sections",
        "inverted",
        "delimiters",
        "partials",
    ] {
        let path = dir.join(format!("{file}.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        let spec: serde_json::Value = serde_json::from_str(&text).unwrap();
        for case in spec["tests"].as_array().unwrap() {
            count += 1;
            let name = case["name"].as_str().unwrap();
            let template = case["template"].as_str().unwrap();
            let expected = case["expected"].as_str().unwrap();
            let partials: HashMap<String, String> = case
                .get("partials")
                .and_then(|p| p.as_object())
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            let got = Template::parse(template)
                .and_then(|t| t.render(&case["data"], RenderOptions::SPEC, &partials));
            match got {
                Ok(got) if got == expected => {}
                other => failures.push(format!(
                    "{file}.json / {name}:\n  template {template:?}\n  expected {expected:?}\n  got      {other:?}"
                )),
            }
        }
    }
    assert!(
        count > 100,
        "only {count} spec cases found in {}",
        dir.display()
    );
    assert!(
        failures.is_empty(),
        "{} of {count} spec cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
