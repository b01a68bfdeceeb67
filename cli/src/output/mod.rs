//! Output for humans and machines: aligned tables (header row in capitals, columns separated by
//! two spaces, no trailing blanks) and pretty `--json`.

use std::io::Write;

#[cfg(test)]
mod tests;

/// A table built row by row and rendered with aligned columns.
#[derive(Debug, Clone)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a row; missing cells are blank, extra cells are dropped.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut r: Vec<String> = cells
            .into_iter()
            .map(|c| c.into().replace(['\n', '\t'], " "))
            .take(self.header.len())
            .collect();
        r.resize(self.header.len(), String::new());
        self.rows.push(r);
    }

    pub fn render(&self) -> String {
        let width = |s: &str| console::measure_text_width(s);
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                widths[i] = widths[i].max(width(c));
            }
        }
        let mut out = String::new();
        for r in std::iter::once(&self.header).chain(self.rows.iter()) {
            let mut line = String::new();
            for (i, c) in r.iter().enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(c);
                if i + 1 < r.len() {
                    line.push_str(&" ".repeat(widths[i].saturating_sub(width(c))));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Writes to stdout. A reader that went away (`dcos task log --follow | head -1`) ends the
/// program quietly with success, as SIGPIPE would.
pub fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// One line on stderr; never fails (a closed stderr is ignored).
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Pretty JSON on stdout followed by a newline.
pub fn print_json(v: &serde_json::Value) {
    let s = serde_json::to_string_pretty(v).unwrap_or_else(|_| "null".into());
    print(&format!("{s}\n"));
}

/// A number of cpus/mem/disk as DC/OS shows them: integers without decimals, else up to 2.
pub fn fmt_num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
