//! The cluster's CA certificate, for https clusters with their own CA: read from a file
//! (`--ca-certs`) or downloaded from `GET /ca/dcos-ca.crt` over a connection that accepts any
//! certificate (the only such request the CLI ever makes), identified by its SHA-256
//! fingerprint for the user to confirm, then stored as `dcos_ca.crt` in the cluster's folder
//! and pinned: later requests trust that CA and nothing else.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::config::{SslVerify, Target};
use crate::http::{Client, HttpError};

#[cfg(test)]
mod tests;

/// Where a cluster serves its CA certificate (DC/OS's path).
pub const CA_PATH: &str = "/ca/dcos-ca.crt";
/// The pinned CA's file name in the cluster's folder.
pub const CA_FILE: &str = "dcos_ca.crt";

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{what} holds no PEM certificate (-----BEGIN CERTIFICATE-----); {hint}")]
    NoCertificate { what: String, hint: &'static str },
    #[error("{what}: certificate {index} is not valid PEM (bad base64); {hint}")]
    BadPem {
        what: String,
        index: usize,
        hint: &'static str,
    },
    #[error("cannot read {path}: {source}; give the path of a PEM CA bundle")]
    Read {
        path: String,
        source: std::io::Error,
    },
}

/// CA certificates in PEM form with their DER bytes.
#[derive(Debug, Clone)]
pub struct CaBundle {
    pub pem: String,
    der: Vec<Vec<u8>>,
}

impl CaBundle {
    /// Parses every `CERTIFICATE` block of `pem`; at least one is required.
    pub fn parse(pem: &str, what: &str, hint: &'static str) -> Result<Self, CaError> {
        const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
        const END: &str = "-----END CERTIFICATE-----";
        let mut der = Vec::new();
        let mut rest = pem;
        while let Some(start) = rest.find(BEGIN) {
            let body_start = start + BEGIN.len();
            let Some(end) = rest[body_start..].find(END) else {
                return Err(CaError::BadPem {
                    what: what.into(),
                    index: der.len() + 1,
                    hint,
                });
            };
            let body: String = rest[body_start..body_start + end]
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body.as_bytes())
                .ok()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| CaError::BadPem {
                    what: what.into(),
                    index: der.len() + 1,
                    hint,
                })?;
            der.push(bytes);
            rest = &rest[body_start + end + END.len()..];
        }
        if der.is_empty() {
            return Err(CaError::NoCertificate {
                what: what.into(),
                hint,
            });
        }
        Ok(Self {
            pem: pem.to_string(),
            der,
        })
    }

    /// Reads and parses a PEM file (`--ca-certs FILE`).
    pub fn read(path: &Path) -> Result<Self, CaError> {
        let text = std::fs::read_to_string(path).map_err(|source| CaError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(
            &text,
            &path.display().to_string(),
            "give the path of a PEM CA bundle",
        )
    }

    /// The SHA-256 fingerprint of each certificate's DER, `AB:CD:...` (as the master shows it).
    pub fn fingerprints(&self) -> Vec<String> {
        self.der.iter().map(|d| fingerprint(d)).collect()
    }
}

/// SHA-256 of `der` as upper-case hex pairs joined by `:`.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Downloads the cluster's CA certificate from `url` without verifying the server (the caller
/// must have the user confirm the fingerprint, or be told not to with `--no-check`).
pub fn fetch_unverified(url: &str) -> Result<CaBundle, CaError> {
    let client = Client::new(&Target {
        url: url.to_string(),
        token: None,
        ssl_verify: SslVerify::No,
        timeout: Duration::from_secs(10),
    })?;
    let pem = client.get_text(CA_PATH)?;
    CaBundle::parse(
        &pem,
        &format!("{url}{CA_PATH}"),
        "pass the cluster's CA with --ca-certs FILE instead",
    )
}
