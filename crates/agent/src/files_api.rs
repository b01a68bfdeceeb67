//! The Mesos files API on the agent: `read.json` (a byte range of a file, or its size for
//! offset -1) and `browse.json` (a directory listing with `ls -l` style modes), both confined
//! to the agent's sandboxes: a path is resolved with every symlink followed and must still lie
//! below `<work-dir>/slaves`, so neither `..` nor a symlink planted by a task reaches anything
//! else (the agent's own state, the join token file, the host).

use serde::Serialize;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

#[cfg(test)]
mod tests;

/// The largest chunk one `read.json` returns.
pub const MAX_READ: u64 = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("path parameter is required")]
    MissingPath,
    #[error("`{0}` does not exist")]
    NotFound(String),
    #[error("`{0}` is outside the agent's sandboxes")]
    Escapes(String),
    #[error("`{0}` is a directory; use browse.json")]
    IsDirectory(String),
    #[error("`{0}` is not a directory; use read.json")]
    NotDirectory(String),
    #[error("invalid {name} `{value}`: expected an integer >= -1")]
    BadNumber { name: &'static str, value: String },
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl FilesError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            FilesError::NotFound(_) => 404,
            FilesError::Escapes(_) => 403,
            FilesError::Io { .. } => 500,
            _ => 400,
        }
    }
}

/// Resolves `requested` (absolute, or relative to `root`) to a canonical path below `root`.
pub fn confine(root: &Path, requested: &str) -> Result<PathBuf, FilesError> {
    if requested.is_empty() {
        return Err(FilesError::MissingPath);
    }
    let root = root
        .canonicalize()
        .map_err(|_| FilesError::NotFound(requested.to_string()))?;
    let p = Path::new(requested);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        root.join(p)
    };
    let canon = match joined.canonicalize() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FilesError::NotFound(requested.to_string()))
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {
            return Err(FilesError::NotFound(requested.to_string()))
        }
        Err(source) => {
            return Err(FilesError::Io {
                path: requested.to_string(),
                source,
            })
        }
    };
    if !canon.starts_with(&root) {
        return Err(FilesError::Escapes(requested.to_string()));
    }
    Ok(canon)
}

/// Parses an optional integer query parameter (`-1` allowed).
pub fn parse_num(name: &'static str, v: Option<&str>) -> Result<Option<i64>, FilesError> {
    match v {
        None | Some("") => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n >= -1 => Ok(Some(n)),
            _ => Err(FilesError::BadNumber {
                name,
                value: s.to_string(),
            }),
        },
    }
}

#[derive(Debug, Serialize, PartialEq)]
pub struct ReadResult {
    pub data: String,
    pub offset: u64,
}

/// Reads `length` bytes (default: up to [`MAX_READ`]) from `offset`; offset -1 (or none) asks
/// for the size. A multi-byte character cut at the end of the chunk is left for the next read.
pub fn read(
    path: &Path,
    shown: &str,
    offset: Option<i64>,
    length: Option<i64>,
) -> Result<ReadResult, FilesError> {
    let io = |source| FilesError::Io {
        path: shown.to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(FilesError::IsDirectory(shown.to_string()));
    }
    let size = meta.len();
    let offset = match offset {
        None | Some(-1) => {
            return Ok(ReadResult {
                data: String::new(),
                offset: size,
            })
        }
        Some(o) => o as u64,
    };
    let want = match length {
        None | Some(-1) => MAX_READ,
        Some(l) => (l as u64).min(MAX_READ),
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut buf = Vec::new();
    if offset < size && want > 0 {
        f.seek(SeekFrom::Start(offset)).map_err(io)?;
        f.take(want).read_to_end(&mut buf).map_err(io)?;
    }
    // Drop an incomplete UTF-8 sequence at the very end (at most 3 bytes): the next read
    // starts with the whole character.
    if let Err(e) = std::str::from_utf8(&buf) {
        if e.error_len().is_none() && e.valid_up_to() + 4 > buf.len() {
            buf.truncate(e.valid_up_to());
        }
    }
    Ok(ReadResult {
        data: to_text_same_length(&buf),
        offset,
    })
}

/// UTF-8 text whose byte length equals the input's, so clients can advance their offset by
/// the length of `data`: each byte that is not part of a valid character becomes `?`.
pub fn to_text_same_length(buf: &[u8]) -> String {
    let mut out = String::with_capacity(buf.len());
    for chunk in buf.utf8_chunks() {
        out.push_str(chunk.valid());
        for _ in chunk.invalid() {
            out.push('?');
        }
    }
    out
}

/// One entry of `browse.json`, as Mesos writes it.
#[derive(Debug, Serialize, PartialEq)]
pub struct Entry {
    pub path: String,
    pub size: u64,
    pub mode: String,
    pub mtime: i64,
    pub nlink: u64,
    pub uid: String,
    pub gid: String,
}

/// Lists a directory (sorted by path); a file lists as itself.
pub fn browse(path: &Path, shown: &str) -> Result<Vec<Entry>, FilesError> {
    let io = |source| FilesError::Io {
        path: shown.to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_dir() {
        return Ok(vec![entry(
            path,
            &std::fs::symlink_metadata(path).map_err(io)?,
        )]);
    }
    // Entries are named below the path as asked (e.g. through a `latest` link), like Mesos.
    let shown_dir = Path::new(shown);
    let base = if shown_dir.is_absolute() {
        shown_dir
    } else {
        path
    };
    let mut out = Vec::new();
    for de in std::fs::read_dir(path).map_err(io)? {
        let de = de.map_err(io)?;
        if let Ok(m) = std::fs::symlink_metadata(de.path()) {
            out.push(entry(&base.join(de.file_name()), &m));
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn entry(path: &Path, m: &std::fs::Metadata) -> Entry {
    Entry {
        path: path.to_string_lossy().into_owned(),
        size: m.len(),
        mode: mode_string(m.permissions().mode(), m.file_type()),
        mtime: m.mtime(),
        nlink: m.nlink(),
        uid: nix::unistd::User::from_uid(m.uid().into())
            .ok()
            .flatten()
            .map(|u| u.name)
            .unwrap_or_else(|| m.uid().to_string()),
        gid: nix::unistd::Group::from_gid(m.gid().into())
            .ok()
            .flatten()
            .map(|g| g.name)
            .unwrap_or_else(|| m.gid().to_string()),
    }
}

/// `ls -l` style mode, e.g. `-rw-r--r--`, `drwxr-xr-x`, `lrwxrwxrwx`.
pub fn mode_string(mode: u32, ft: std::fs::FileType) -> String {
    use std::os::unix::fs::FileTypeExt;
    let kind = if ft.is_dir() {
        'd'
    } else if ft.is_symlink() {
        'l'
    } else if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else if ft.is_fifo() {
        'p'
    } else if ft.is_socket() {
        's'
    } else {
        '-'
    };
    let mut s = String::with_capacity(10);
    s.push(kind);
    s.push_str(&perm_bits(mode));
    s
}

/// The nine permission characters, with setuid/setgid/sticky shown as `ls` does.
pub fn perm_bits(mode: u32) -> String {
    let bit = |m: u32, c: char| if mode & m != 0 { c } else { '-' };
    let special = |x: u32, s: u32, lower: char, upper: char| match (mode & x != 0, mode & s != 0) {
        (true, true) => lower,
        (false, true) => upper,
        (true, false) => 'x',
        (false, false) => '-',
    };
    [
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o001, 0o1000, 't', 'T'),
    ]
    .iter()
    .collect()
}
