//! Mustache parser: template text to a token tree.
//!
//! Handles the whole tag grammar of the mustache spec: variables (`{{x}}`, `{{{x}}}`, `{{&x}}`),
//! sections and inverted sections, comments, partials and set-delimiter tags, with the spec's
//! "standalone line" rule (a line holding only a non-output tag and whitespace disappears).

use super::MustacheError;

/// Deepest nesting of sections a template may use (guards the renderer's recursion).
pub const MAX_NESTING: usize = 100;

/// One node of a parsed template.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Literal text, printed as is.
    Text(String),
    /// `{{name}}` (escaped when escaping is on) or `{{{name}}}` / `{{&name}}` (never escaped).
    Variable { name: String, escape: bool },
    /// `{{#name}}...{{/name}}` or, when `inverted`, `{{^name}}...{{/name}}`.
    Section {
        name: String,
        inverted: bool,
        children: Vec<Node>,
    },
    /// `{{>name}}`; `indent` is the whitespace before a standalone partial tag.
    Partial { name: String, indent: String },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum TagKind {
    Variable,
    Unescaped,
    Section,
    Inverted,
    Close,
    Comment,
    Partial,
    Delimiters,
}

impl TagKind {
    /// Tags that print nothing and may stand alone on a line.
    fn may_stand_alone(self) -> bool {
        !matches!(self, TagKind::Variable | TagKind::Unescaped)
    }
}

/// An open section while parsing: its name, kind, line, and the nodes collected so far.
struct Open {
    name: String,
    inverted: bool,
    line: usize,
    nodes: Vec<Node>,
}

/// Parses `src` into nodes. Errors name the line (1-based) and what to fix.
pub fn parse(src: &str) -> Result<Vec<Node>, MustacheError> {
    let mut open_delim = "{{".to_string();
    let mut close_delim = "}}".to_string();
    let mut stack: Vec<Open> = Vec::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut text = String::new();
    let mut pos = 0usize;

    fn current<'a>(stack: &'a mut [Open], root: &'a mut Vec<Node>) -> &'a mut Vec<Node> {
        match stack.last_mut() {
            Some(open) => &mut open.nodes,
            None => root,
        }
    }

    while pos < src.len() {
        let Some(rel) = src[pos..].find(open_delim.as_str()) else {
            text.push_str(&src[pos..]);
            break;
        };
        let tag_start = pos + rel;
        text.push_str(&src[pos..tag_start]);
        let line = line_of(src, tag_start);
        let mut inner_start = tag_start + open_delim.len();

        // Triple mustache: `{{{name}}}` closes with `}` + the closing delimiter.
        let (kind, inner_end, tag_end) = if src[inner_start..].starts_with('{') {
            inner_start += 1;
            let closer = format!("}}{close_delim}");
            let Some(rel) = src[inner_start..].find(&closer) else {
                return Err(MustacheError::syntax(
                    line,
                    format!("unclosed tag `{open_delim}{{`: add `{closer}`"),
                ));
            };
            (
                TagKind::Unescaped,
                inner_start + rel,
                inner_start + rel + closer.len(),
            )
        } else {
            let Some(rel) = src[inner_start..].find(close_delim.as_str()) else {
                return Err(MustacheError::syntax(
                    line,
                    format!("unclosed tag `{open_delim}`: add `{close_delim}`"),
                ));
            };
            let inner_end = inner_start + rel;
            let first = src[inner_start..inner_end].trim_start().chars().next();
            let kind = match first {
                Some('#') => TagKind::Section,
                Some('^') => TagKind::Inverted,
                Some('/') => TagKind::Close,
                Some('!') => TagKind::Comment,
                Some('>') => TagKind::Partial,
                Some('=') => TagKind::Delimiters,
                Some('&') => TagKind::Unescaped,
                _ => TagKind::Variable,
            };
            (kind, inner_end, inner_end + close_delim.len())
        };

        let raw = &src[inner_start..inner_end];
        let body = match kind {
            TagKind::Variable => raw.trim(),
            TagKind::Unescaped if src[tag_start + open_delim.len()..].starts_with('{') => {
                raw.trim()
            }
            _ => {
                let t = raw.trim_start();
                // Skip the sigil character.
                let mut chars = t.chars();
                chars.next();
                chars.as_str().trim()
            }
        };

        // Standalone: only whitespace before the tag on its line and after it up to the newline.
        let mut next = tag_end;
        let mut indent = String::new();
        if kind.may_stand_alone() {
            let line_start = src[..tag_start].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let before = &src[line_start..tag_start];
            let rest = &src[tag_end..];
            let line_end = rest.find('\n').map(|i| i + 1).unwrap_or(rest.len());
            let after = &rest[..line_end];
            let after = after.strip_suffix('\n').unwrap_or(after);
            let after = after.strip_suffix('\r').unwrap_or(after);
            if is_blank(before) && is_blank(after) && text.ends_with(before) {
                // `before` is the tail of the pending text: drop it, and the line end after the tag.
                text.truncate(text.len() - before.len());
                indent = before.to_string();
                next = tag_end + line_end;
            }
        }

        match kind {
            TagKind::Comment => {}
            TagKind::Delimiters => {
                let spec = body.strip_suffix('=').unwrap_or("").trim();
                let mut parts = spec.split_whitespace();
                match (parts.next(), parts.next(), parts.next()) {
                    (Some(o), Some(c), None) if !o.contains('=') && !c.contains('=') => {
                        open_delim = o.to_string();
                        close_delim = c.to_string();
                    }
                    _ => {
                        return Err(MustacheError::syntax(
                            line,
                            format!("bad set-delimiter tag `{raw}`: write `=<open> <close>=`, e.g. `{{{{=<% %>=}}}}`"),
                        ))
                    }
                }
            }
            _ => {
                if body.is_empty() {
                    return Err(MustacheError::syntax(
                        line,
                        "empty tag: put a name between the delimiters".to_string(),
                    ));
                }
                flush(&mut text, current(&mut stack, &mut nodes));
                match kind {
                    TagKind::Variable | TagKind::Unescaped => {
                        current(&mut stack, &mut nodes).push(Node::Variable {
                            name: body.to_string(),
                            escape: kind == TagKind::Variable,
                        })
                    }
                    TagKind::Partial => current(&mut stack, &mut nodes).push(Node::Partial {
                        name: body.to_string(),
                        indent: indent.clone(),
                    }),
                    TagKind::Section | TagKind::Inverted => {
                        if stack.len() >= MAX_NESTING {
                            return Err(MustacheError::syntax(
                                line,
                                format!("sections nested deeper than {MAX_NESTING}: flatten the template"),
                            ));
                        }
                        stack.push(Open {
                            name: body.to_string(),
                            inverted: kind == TagKind::Inverted,
                            line,
                            nodes: Vec::new(),
                        });
                    }
                    TagKind::Close => {
                        let Some(open) = stack.pop() else {
                            return Err(MustacheError::syntax(
                                line,
                                format!("closing tag `{{{{/{body}}}}}` without an opening `{{{{#{body}}}}}`"),
                            ));
                        };
                        if open.name != body {
                            return Err(MustacheError::syntax(
                                line,
                                format!(
                                    "closing tag `{{{{/{body}}}}}` does not match the section `{}` opened on line {}: close `{}` first",
                                    open.name, open.line, open.name
                                ),
                            ));
                        }
                        current(&mut stack, &mut nodes).push(Node::Section {
                            name: open.name,
                            inverted: open.inverted,
                            children: open.nodes,
                        });
                    }
                    TagKind::Comment | TagKind::Delimiters => {}
                }
            }
        }
        pos = next;
    }

    if let Some(open) = stack.pop() {
        return Err(MustacheError::syntax(
            open.line,
            format!(
                "unclosed section `{}`: add `{{{{/{}}}}}`",
                open.name, open.name
            ),
        ));
    }
    flush(&mut text, &mut nodes);
    Ok(nodes)
}

fn flush(text: &mut String, into: &mut Vec<Node>) {
    if !text.is_empty() {
        into.push(Node::Text(std::mem::take(text)));
    }
}

fn is_blank(s: &str) -> bool {
    s.chars().all(|c| c == ' ' || c == '\t')
}

fn line_of(src: &str, pos: usize) -> usize {
    src[..pos].bytes().filter(|&b| b == b'\n').count() + 1
}
