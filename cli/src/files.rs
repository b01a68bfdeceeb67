//! Reading files through the Mesos files API (`.../files/read.json?path=&offset=&length=`,
//! answering `{"data", "offset"}`; offset -1 asks for the size): the last N lines of a log and
//! following it as it grows.

use std::time::Duration;

use serde_json::Value;

use crate::http::{Client, HttpError};

#[cfg(test)]
mod tests;

/// Largest piece asked for in one request.
const PAGE: u64 = 512 * 1024;
/// Never read more than this for `--lines` (a log with very long lines).
const MAX_TAIL: u64 = 16 * 1024 * 1024;

pub struct RemoteFile<'a> {
    pub client: &'a Client,
    /// Route of the read endpoint, e.g. `/agent/<id>/files/read.json`.
    pub route: String,
    pub path: String,
}

impl RemoteFile<'_> {
    fn read_raw(&self, offset: i64, length: Option<u64>) -> Result<(String, u64), HttpError> {
        let mut q = vec![("path", self.path.clone()), ("offset", offset.to_string())];
        if let Some(l) = length {
            q.push(("length", l.to_string()));
        }
        let v = self.client.get_json(&self.route, &q)?;
        let data = v
            .get("data")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let off = v.get("offset").and_then(Value::as_u64).unwrap_or(0);
        Ok((data, off))
    }

    pub fn size(&self) -> Result<u64, HttpError> {
        Ok(self.read_raw(-1, None)?.1)
    }

    /// Bytes `[from, to)` (fewer if the server stops early at the end of the file).
    pub fn read_range(&self, from: u64, to: u64) -> Result<String, HttpError> {
        let mut out = String::new();
        let mut pos = from;
        while pos < to {
            let len = (to - pos).min(PAGE);
            let (data, _) = self.read_raw(pos as i64, Some(len))?;
            if data.is_empty() {
                break;
            }
            pos += data.len() as u64;
            out.push_str(&data);
        }
        Ok(out)
    }

    /// The last `lines` lines and the file size they end at.
    pub fn tail(&self, lines: usize) -> Result<(String, u64), HttpError> {
        let size = self.size()?;
        if lines == 0 {
            return Ok((String::new(), size));
        }
        let mut chunk = (lines as u64 * 160).max(4096);
        loop {
            let start = size.saturating_sub(chunk);
            let text = self.read_range(start, size)?;
            if start == 0 || count_lines(&text) > lines || chunk >= MAX_TAIL {
                return Ok((last_lines(&text, lines, start > 0), size));
            }
            chunk = (chunk * 4).min(MAX_TAIL);
        }
    }

    /// Prints new data every `interval` from `offset` on, until `stop()` says so.
    pub fn follow(
        &self,
        mut offset: u64,
        interval: Duration,
        mut out: impl FnMut(&str),
        mut stop: impl FnMut() -> bool,
    ) -> Result<(), HttpError> {
        loop {
            let size = self.size()?;
            if size < offset {
                // Truncated or rotated: start again from the beginning.
                offset = 0;
            }
            if size > offset {
                let data = self.read_range(offset, size)?;
                offset += data.len() as u64;
                out(&data);
            } else if stop() {
                return Ok(());
            }
            if size <= offset {
                std::thread::sleep(interval);
            }
        }
    }
}

fn count_lines(text: &str) -> usize {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        0
    } else {
        body.split('\n').count()
    }
}

/// The last `n` lines of `text` (keeping its final newline); when `partial_start`, the first
/// line may be cut and is never counted as whole unless needed.
pub fn last_lines(text: &str, n: usize, partial_start: bool) -> String {
    let (body, nl) = match text.strip_suffix('\n') {
        Some(b) => (b, "\n"),
        None => (text, ""),
    };
    if body.is_empty() || n == 0 {
        return String::new();
    }
    let all: Vec<&str> = body.split('\n').collect();
    let mut skip = all.len().saturating_sub(n);
    if partial_start && skip == 0 && all.len() > 1 {
        skip = 1;
    }
    format!("{}{nl}", all[skip..].join("\n"))
}
