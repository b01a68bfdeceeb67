//! A mustache engine over JSON values.
//!
//! Parsing ([`Template::parse`]) turns a template into a token tree once; rendering walks it
//! with a stack of JSON contexts. Two switches cover both users: HTML escaping (on for the official spec,
//! off for packages) and the value style ([`ValueStyle::Plain`] prints values as the spec's
//! reference implementations do; [`ValueStyle::Cosmos`] applies the package service's
//! conversions: strings JSON-escaped without quotes, integral numbers as integers, arrays as
//! `["a", "b"]`). Hostile templates cannot blow the stack: section nesting and partial
//! recursion are both capped.

mod parse;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use serde_json::Value;

pub use parse::{Node, MAX_NESTING};

/// How deep partials may include each other (including recursion) while rendering.
pub const MAX_PARTIAL_DEPTH: usize = 64;

/// A template problem, with the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MustacheError {
    #[error("line {line}: {message}")]
    Syntax { line: usize, message: String },
    #[error("partial `{name}`: {message}")]
    Partial { name: String, message: String },
    #[error("partials nested deeper than {MAX_PARTIAL_DEPTH} (recursive partial?): stop the recursion with a section")]
    TooDeep,
}

impl MustacheError {
    fn syntax(line: usize, message: String) -> Self {
        MustacheError::Syntax { line, message }
    }
}

/// How values print when interpolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueStyle {
    /// As the mustache spec expects: strings raw, numbers as written, null empty.
    Plain,
    /// The package service's rules (Universe packages).
    Cosmos,
}

/// Rendering switches.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// HTML-escape `{{x}}` (spec behaviour). Off for packages.
    pub escape_html: bool,
    pub values: ValueStyle,
}

impl RenderOptions {
    /// Options used for Universe packages: escaping off, Cosmos value conversions.
    pub const COSMOS: RenderOptions = RenderOptions {
        escape_html: false,
        values: ValueStyle::Cosmos,
    };
    /// Options of the official mustache spec: HTML escaping on, plain values.
    pub const SPEC: RenderOptions = RenderOptions {
        escape_html: true,
        values: ValueStyle::Plain,
    };
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    /// Parses a template (default delimiters `{{ }}`).
    pub fn parse(src: &str) -> Result<Template, MustacheError> {
        Ok(Template {
            nodes: parse::parse(src)?,
        })
    }

    /// The token tree.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Renders with `context` as the root of the context stack; partials are looked up by name
    /// in `partials` (a missing partial renders as nothing, as the spec says).
    pub fn render(
        &self,
        context: &Value,
        options: RenderOptions,
        partials: &HashMap<String, String>,
    ) -> Result<String, MustacheError> {
        let mut out = String::new();
        let mut renderer = Renderer {
            options,
            partials,
            stack: vec![context],
            depth: 0,
        };
        renderer.nodes(&self.nodes, &mut out)?;
        Ok(out)
    }
}

/// Parses and renders in one step with no partials.
pub fn render_str(
    src: &str,
    context: &Value,
    options: RenderOptions,
) -> Result<String, MustacheError> {
    Template::parse(src)?.render(context, options, &HashMap::new())
}

struct Renderer<'a> {
    options: RenderOptions,
    partials: &'a HashMap<String, String>,
    stack: Vec<&'a Value>,
    depth: usize,
}

impl<'a> Renderer<'a> {
    fn nodes(&mut self, nodes: &'a [Node], out: &mut String) -> Result<(), MustacheError> {
        for node in nodes {
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Variable { name, escape } => {
                    if let Some(v) = self.lookup(name) {
                        let text = format_value(v, self.options.values);
                        if *escape && self.options.escape_html {
                            escape_html(&text, out);
                        } else {
                            out.push_str(&text);
                        }
                    }
                }
                Node::Section {
                    name,
                    inverted,
                    children,
                } => {
                    let value = self.lookup(name);
                    let truthy = value.is_some_and(is_truthy);
                    if *inverted {
                        if !truthy {
                            self.nodes(children, out)?;
                        }
                    } else if let Some(value) = value.filter(|v| is_truthy(v)) {
                        match value {
                            Value::Array(items) => {
                                for item in items {
                                    self.stack.push(item);
                                    let r = self.nodes(children, out);
                                    self.stack.pop();
                                    r?;
                                }
                            }
                            other => {
                                self.stack.push(other);
                                let r = self.nodes(children, out);
                                self.stack.pop();
                                r?;
                            }
                        }
                    }
                }
                Node::Partial { name, indent } => {
                    let Some(src) = self.partials.get(name) else {
                        continue;
                    };
                    if self.depth >= MAX_PARTIAL_DEPTH {
                        return Err(MustacheError::TooDeep);
                    }
                    let src = indent_lines(src, indent);
                    let nodes = parse::parse(&src).map_err(|e| MustacheError::Partial {
                        name: name.clone(),
                        message: e.to_string(),
                    })?;
                    // The partial's nodes live only for this call: a renderer with a shorter
                    // lifetime borrows the same context values.
                    let mut inner = Renderer {
                        options: self.options,
                        partials: self.partials,
                        stack: self.stack.clone(),
                        depth: self.depth + 1,
                    };
                    inner.nodes(&nodes, out)?;
                }
            }
        }
        Ok(())
    }

    /// Looks a name up: `.` is the top of the stack; otherwise the first part is searched from
    /// the innermost context outwards and the other dotted parts walk objects from there.
    fn lookup(&self, name: &str) -> Option<&'a Value> {
        if name == "." {
            return self.stack.last().copied();
        }
        let mut parts = name.split('.');
        let first = parts.next()?;
        let mut value = self
            .stack
            .iter()
            .rev()
            .find_map(|ctx| ctx.as_object().and_then(|o| o.get(first)))?;
        for part in parts {
            value = value.as_object()?.get(part)?;
        }
        Some(value)
    }
}

/// Falsey values: null, false, the empty string and the empty array. Everything else (numbers,
/// including 0, and objects, even empty) is truthy.
pub fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Number(_) | Value::Object(_) => true,
    }
}

/// The text a value interpolates to.
pub fn format_value(v: &Value, style: ValueStyle) -> String {
    match (v, style) {
        (Value::Null, _) => String::new(),
        (Value::Bool(b), _) => b.to_string(),
        (Value::String(s), ValueStyle::Plain) => s.clone(),
        (Value::String(s), ValueStyle::Cosmos) => json_escape(s),
        (Value::Number(n), ValueStyle::Plain) => n.to_string(),
        (Value::Number(n), ValueStyle::Cosmos) => format_number(n),
        (Value::Array(items), ValueStyle::Cosmos) => {
            let parts: Vec<String> = items.iter().map(|i| i.to_string()).collect();
            format!("[{}]", parts.join(", "))
        }
        (other, _) => other.to_string(),
    }
}

/// Integral numbers print as integers (`1.0` -> `1`, exactly, however large), others as
/// decimals.
fn format_number(n: &serde_json::Number) -> String {
    match n.as_f64().filter(|_| n.is_f64()) {
        Some(f) if f.is_finite() && f.fract() == 0.0 => integral_f64(f),
        _ => n.to_string(),
    }
}

/// The exact decimal expansion of an integral, finite f64.
fn integral_f64(f: f64) -> String {
    if f.abs() < 9.0e15 {
        return format!("{}", f as i64);
    }
    let bits = f.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as i64 - 1075;
    let mantissa = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    // Little-endian base-1e9 limbs of mantissa * 2^exponent (exponent > 0 here).
    let mut limbs: Vec<u64> = vec![
        mantissa % 1_000_000_000,
        mantissa / 1_000_000_000 % 1_000_000_000,
        mantissa / 1_000_000_000_000_000_000,
    ];
    for _ in 0..exponent.max(0) {
        let mut carry = 0u64;
        for limb in limbs.iter_mut() {
            let v = *limb * 2 + carry;
            *limb = v % 1_000_000_000;
            carry = v / 1_000_000_000;
        }
        if carry > 0 {
            limbs.push(carry);
        }
    }
    while limbs.len() > 1 && limbs.last() == Some(&0) {
        limbs.pop();
    }
    let mut out = String::from(if f < 0.0 { "-" } else { "" });
    let mut iter = limbs.iter().rev();
    if let Some(top) = iter.next() {
        out.push_str(&top.to_string());
    }
    for limb in iter {
        out.push_str(&format!("{limb:09}"));
    }
    out
}

/// A JSON string literal without its surrounding quotes.
fn json_escape(s: &str) -> String {
    let quoted = Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

fn escape_html(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// Prefixes every line of a standalone partial with the tag's indentation.
fn indent_lines(src: &str, indent: &str) -> String {
    if indent.is_empty() {
        return src.to_string();
    }
    let mut out = String::with_capacity(src.len() + indent.len() * 4);
    let mut at_line_start = true;
    for c in src.chars() {
        if at_line_start {
            out.push_str(indent);
            at_line_start = false;
        }
        out.push(c);
        if c == '\n' {
            at_line_start = true;
        }
    }
    out
}
