//! Marathon's `fetch`: downloads each URI (http, https, file) into the task's sandbox before
//! the task starts, honours `executable` and `outputFile`, and extracts `.tar`, `.tar.gz` and
//! `.tgz` archives (`extract`, default true) and decompresses `.gz` files. Extraction never
//! leaves the sandbox: absolute paths and `..` are refused, nothing is written through a
//! symlink (every parent is checked, files are opened with O_NOFOLLOW), hard links must point
//! inside, device nodes and fifos are refused, set-id bits are dropped.

use serde::Deserialize;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

#[cfg(test)]
mod tests;

/// Largest download accepted.
pub const MAX_DOWNLOAD: u64 = 4 * 1024 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("fetch entry {0} is not valid: {1}")]
    Invalid(usize, String),
    #[error("failed to fetch '{uri}': {detail}")]
    Download { uri: String, detail: String },
    #[error("cannot extract '{archive}': {detail}")]
    Extract { archive: String, detail: String },
}

/// One entry of Marathon's `fetch`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FetchUri {
    pub uri: String,
    #[serde(default)]
    pub executable: bool,
    #[serde(default = "yes")]
    pub extract: bool,
    #[serde(default)]
    pub cache: bool,
    #[serde(default)]
    pub output_file: Option<String>,
}

fn yes() -> bool {
    true
}

/// A file name for the download: `outputFile`, or the URI's last path segment.
pub fn target_name(f: &FetchUri) -> Option<String> {
    let name = match &f.output_file {
        Some(o) => o.clone(),
        None => {
            let no_query = f.uri.split(['?', '#']).next().unwrap_or("");
            no_query.rsplit('/').next().unwrap_or("").to_string()
        }
    };
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.contains('\0');
    ok.then_some(name)
}

/// Parses the `fetch` JSON of a launch.
pub fn parse(values: &[serde_json::Value]) -> Result<Vec<FetchUri>, FetchError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let f: FetchUri = serde_json::from_value(v.clone())
                .map_err(|e| FetchError::Invalid(i, e.to_string()))?;
            let scheme_ok = f.uri.starts_with("http://")
                || f.uri.starts_with("https://")
                || f.uri.starts_with("file://")
                || f.uri.starts_with('/');
            if !scheme_ok {
                return Err(FetchError::Invalid(
                    i,
                    format!(
                        "uri '{}' must be http://, https://, file:// or an absolute path",
                        f.uri
                    ),
                ));
            }
            if target_name(&f).is_none() {
                return Err(FetchError::Invalid(
                    i,
                    format!("no file name in '{}'; give outputFile", f.uri),
                ));
            }
            Ok(f)
        })
        .collect()
}

/// Downloads everything into `sandbox`, extracting archives.
pub async fn fetch_all(
    client: &reqwest::Client,
    uris: &[FetchUri],
    sandbox: &Path,
) -> Result<(), FetchError> {
    for f in uris {
        let name = target_name(f).ok_or_else(|| FetchError::Invalid(0, f.uri.clone()))?;
        let dest = sandbox.join(&name);
        let err = |detail: String| FetchError::Download {
            uri: f.uri.clone(),
            detail,
        };
        if let Some(path) = f
            .uri
            .strip_prefix("file://")
            .or(f.uri.starts_with('/').then_some(f.uri.as_str()))
        {
            let (src, dst) = (PathBuf::from(path), dest.clone());
            tokio::task::spawn_blocking(move || copy_file(&src, &dst))
                .await
                .map_err(|e| err(e.to_string()))?
                .map_err(|e| err(e.to_string()))?;
        } else {
            download(client, &f.uri, &dest).await.map_err(err)?;
        }
        if f.executable {
            let _ = fs::set_permissions(&dest, fs::Permissions::from_mode(0o755));
        }
        if f.extract {
            let (src, dir) = (dest.clone(), sandbox.to_path_buf());
            let lower = name.to_ascii_lowercase();
            // `x.gz` decompresses to `x` (same bytes minus the 3-byte ASCII suffix).
            let gz_out = name
                .get(..name.len().saturating_sub(3))
                .unwrap_or("")
                .to_string();
            let res = tokio::task::spawn_blocking(move || -> Result<(), String> {
                if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
                    let f = fs::File::open(&src).map_err(|e| e.to_string())?;
                    extract_tar(flate2::read::GzDecoder::new(f), &dir)
                } else if lower.ends_with(".tar") {
                    let f = fs::File::open(&src).map_err(|e| e.to_string())?;
                    extract_tar(f, &dir)
                } else if lower.ends_with(".gz") && !gz_out.is_empty() {
                    let f = fs::File::open(&src).map_err(|e| e.to_string())?;
                    let out = dir.join(&gz_out);
                    write_new(&dir, &out, &mut flate2::read::GzDecoder::new(f), 0o644)
                } else {
                    Ok(())
                }
            })
            .await
            .map_err(|e| e.to_string())
            .and_then(|r| r);
            res.map_err(|detail| FetchError::Extract {
                archive: name.clone(),
                detail,
            })?;
        }
    }
    Ok(())
}

fn copy_file(src: &Path, dst: &Path) -> io::Result<()> {
    let mut from = fs::File::open(src)?;
    if !from.metadata()?.is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dst)?;
    io::copy(&mut from, &mut to)?;
    Ok(())
}

async fn download(client: &reqwest::Client, uri: &str, dest: &Path) -> Result<(), String> {
    use futures_util::StreamExt;
    let resp = client.get(uri).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status().as_u16()));
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(dest)
        .map_err(|e| e.to_string())?;
    let mut total = 0u64;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        total += chunk.len() as u64;
        if total > MAX_DOWNLOAD {
            return Err(format!("larger than {MAX_DOWNLOAD} bytes"));
        }
        file.write_all(&chunk).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The entry's path below `root`, refusing anything that could leave it.
fn safe_join(root: &Path, p: &Path) -> Result<PathBuf, String> {
    let mut out = root.to_path_buf();
    let mut depth = 0;
    for c in p.components() {
        match c {
            Component::Normal(n) => {
                out.push(n);
                depth += 1;
            }
            Component::CurDir => {}
            _ => return Err(format!("entry '{}' leaves the sandbox", p.display())),
        }
    }
    if depth == 0 {
        return Err(format!("entry '{}' has no name", p.display()));
    }
    Ok(out)
}

/// Creates the directories between `root` and `dir`, refusing to pass through a symlink.
fn make_dirs(root: &Path, dir: &Path) -> Result<(), String> {
    let rel = dir
        .strip_prefix(root)
        .map_err(|_| "outside the sandbox".to_string())?;
    let mut cur = root.to_path_buf();
    for c in rel.components() {
        cur.push(c);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "'{}' is a symlink; refusing to write through it",
                    cur.display()
                ))
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(format!("'{}' is not a directory", cur.display())),
            Err(_) => fs::create_dir(&cur).map_err(|e| format!("{}: {e}", cur.display()))?,
        }
    }
    Ok(())
}

/// Writes a new regular file (replacing a regular file, never following a symlink).
fn write_new(root: &Path, path: &Path, data: &mut dyn Read, mode: u32) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        make_dirs(root, parent)?;
    }
    if let Ok(m) = fs::symlink_metadata(path) {
        if m.is_file() {
            fs::remove_file(path).map_err(|e| e.to_string())?;
        } else {
            return Err(format!(
                "'{}' exists and is not a regular file",
                path.display()
            ));
        }
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(mode & 0o777)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    io::copy(data, &mut f).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

/// Extracts a tar stream into `root` (see the module doc for what is refused).
pub fn extract_tar<R: Read>(r: R, root: &Path) -> Result<(), String> {
    let mut ar = tar::Archive::new(r);
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut e = entry.map_err(|e| e.to_string())?;
        let path = e.path().map_err(|e| e.to_string())?.into_owned();
        let dest = safe_join(root, &path)?;
        let mode = e.header().mode().unwrap_or(0o644);
        let kind = e.header().entry_type();
        if kind.is_dir() {
            make_dirs(root, &dest)?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            write_new(root, &dest, &mut e, mode)?;
        } else if kind.is_symlink() {
            let target = e
                .link_name()
                .map_err(|e| e.to_string())?
                .ok_or("symlink without a target")?
                .into_owned();
            if let Some(parent) = dest.parent() {
                make_dirs(root, parent)?;
            }
            if fs::symlink_metadata(&dest).is_ok() {
                return Err(format!("'{}' already exists", path.display()));
            }
            std::os::unix::fs::symlink(&target, &dest).map_err(|e| e.to_string())?;
        } else if kind.is_hard_link() {
            let target = e
                .link_name()
                .map_err(|e| e.to_string())?
                .ok_or("hard link without a target")?
                .into_owned();
            let src = safe_join(root, &target)?;
            let m = fs::symlink_metadata(&src).map_err(|e| format!("{}: {e}", target.display()))?;
            if !m.is_file() {
                return Err(format!(
                    "hard link '{}' must point to a regular file",
                    path.display()
                ));
            }
            if let Some(parent) = src.parent() {
                make_dirs(root, parent)?;
            }
            if let Some(parent) = dest.parent() {
                make_dirs(root, parent)?;
            }
            fs::hard_link(&src, &dest).map_err(|e| e.to_string())?;
        } else if matches!(
            kind,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            continue;
        } else {
            return Err(format!(
                "entry '{}' is a device, fifo or other special file",
                path.display()
            ));
        }
    }
    Ok(())
}
