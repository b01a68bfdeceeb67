//! The agent's status update journal: every update a task produces is appended (one JSON line,
//! fsync'd) before anyone hears of it, and stays pending until the master acknowledges its
//! uuid (an `ack` line). Pending updates are resent in their original order, so each task's
//! updates reach the master in order and at least once, also across an agent restart. The file
//! is compacted to the pending updates when it is opened and when it grows long.

use dcos_schemas::task::StatusUpdate;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

#[cfg(test)]
mod tests;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("status journal {path}: cannot {op}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Record {
    Update(StatusUpdate),
    Ack(String),
}

/// Compact after this many lines beyond the pending ones.
#[cfg(not(test))]
const COMPACT_AFTER: usize = 4096;
#[cfg(test)]
const COMPACT_AFTER: usize = 64;

pub struct StatusJournal {
    path: PathBuf,
    file: File,
    pending: Vec<StatusUpdate>,
    lines: usize,
}

impl StatusJournal {
    /// Opens (or creates) the journal at `path` and replays it.
    pub fn open(path: &Path) -> Result<StatusJournal, JournalError> {
        let err = |op| {
            let path = path.to_path_buf();
            move |source| JournalError::Io { op, path, source }
        };
        let mut pending: Vec<StatusUpdate> = Vec::new();
        match File::open(path) {
            Ok(f) => {
                for line in io::BufReader::new(f).lines() {
                    let line = line.map_err(err("read"))?;
                    // A torn last line (crash mid-append) was never acknowledged to anyone.
                    match serde_json::from_str::<Record>(&line) {
                        Ok(Record::Update(u)) => {
                            if !pending.iter().any(|p| p.uuid == u.uuid) {
                                pending.push(u)
                            }
                        }
                        Ok(Record::Ack(uuid)) => pending.retain(|p| p.uuid != uuid),
                        Err(_) => {}
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(err("open")(e)),
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(err("open"))?;
        let mut j = StatusJournal {
            path: path.to_path_buf(),
            file,
            pending,
            lines: 0,
        };
        j.compact()?;
        Ok(j)
    }

    fn io(&self, op: &'static str) -> impl FnOnce(io::Error) -> JournalError + '_ {
        move |source| JournalError::Io {
            op,
            path: self.path.clone(),
            source,
        }
    }

    fn append_lines(&mut self, records: &[Record]) -> Result<(), JournalError> {
        let mut buf = Vec::new();
        for r in records {
            // Serializing these plain structs cannot fail.
            if let Ok(line) = serde_json::to_vec(r) {
                buf.extend_from_slice(&line);
                buf.push(b'\n');
            }
        }
        let mut file = &self.file;
        file.write_all(&buf)
            .and_then(|_| file.sync_data())
            .map_err(|e| JournalError::Io {
                op: "append",
                path: self.path.clone(),
                source: e,
            })?;
        self.lines += records.len();
        Ok(())
    }

    /// Records an update durably; it is pending until acknowledged.
    pub fn append(&mut self, update: StatusUpdate) -> Result<(), JournalError> {
        self.append_lines(&[Record::Update(update.clone())])?;
        self.pending.push(update);
        Ok(())
    }

    /// Forgets the acknowledged updates; unknown uuids are ignored.
    pub fn ack(&mut self, uuids: &[String]) -> Result<(), JournalError> {
        let set: HashSet<&String> = uuids.iter().collect();
        let acked: Vec<Record> = self
            .pending
            .iter()
            .filter(|p| set.contains(&p.uuid))
            .map(|p| Record::Ack(p.uuid.clone()))
            .collect();
        if acked.is_empty() {
            return Ok(());
        }
        self.append_lines(&acked)?;
        self.pending.retain(|p| !set.contains(&p.uuid));
        if self.lines > self.pending.len() + COMPACT_AFTER {
            self.compact()?;
        }
        Ok(())
    }

    /// Pending updates, oldest first.
    pub fn pending(&self) -> &[StatusUpdate] {
        &self.pending
    }

    /// Rewrites the file with only the pending updates (atomically).
    fn compact(&mut self) -> Result<(), JournalError> {
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut buf = Vec::new();
        for p in &self.pending {
            if let Ok(line) = serde_json::to_vec(&Record::Update(p.clone())) {
                buf.extend_from_slice(&line);
                buf.push(b'\n');
            }
        }
        let mut f = File::create(&tmp).map_err(self.io("compact"))?;
        f.write_all(&buf)
            .and_then(|_| f.sync_all())
            .map_err(self.io("compact"))?;
        std::fs::rename(&tmp, &self.path).map_err(self.io("compact"))?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(self.io("reopen"))?;
        self.lines = self.pending.len();
        Ok(())
    }
}
