//! # tessera-verify
//!
//! The verifier side of Tessera as a library the CLI and the front-desk server ([`desk`])
//! are thin shells over: load trust anchors and status lists from bytes, read a QR from text or
//! an image, and verify it with `tessera-credential`, producing a JSON-ready report.
//!
//! It must never panic on input, never print personal data anywhere but the verdict it is
//! asked for, and never guess: anything it cannot read is a clear error.

pub mod desk;

use serde::Serialize;
use tessera_credential::keys::public_key_from_pem;
use tessera_credential::status_list::StatusListToken;
use tessera_credential::{
    MemoryReplayCache, StatusLists, Tier, TrustList, Verdict, VerifyError, VerifyOptions,
};

/// Errors that are the caller's (exit code 2): unreadable files, bad trust anchors.
#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    /// The trust file is neither a PEM public key nor a signed trust list.
    #[error("{path}: not a P-256 public key (SPKI PEM) nor a signed Tessera trust list")]
    TrustFile {
        /// The file.
        path: String,
    },
    /// A signed trust list needs the key that signed it.
    #[error(
        "{path} is a signed trust list: also give --trust-list-key with the trust-list public key (PEM)"
    )]
    TrustListNeedsKey {
        /// The file.
        path: String,
    },
    /// The trust list did not verify.
    #[error("{path}: {reason}")]
    TrustList {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A status list did not verify.
    #[error("{path}: {reason}")]
    StatusList {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The input file is not an image we read.
    #[error("{path}: {reason}")]
    Image {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Trust anchors from the bytes of a `--trust` file (and, for a signed list, the PEM of the
/// trust-list key).
pub fn load_trust(
    path: &str,
    bytes: &[u8],
    trust_list_key_pem: Option<&str>,
) -> Result<TrustList, UsageError> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains("-----BEGIN PUBLIC KEY-----")
    {
        let key =
            public_key_from_pem(text).map_err(|_| UsageError::TrustFile { path: path.into() })?;
        return Ok(TrustList::single("issuer key from ".to_owned() + path, key));
    }
    // A signed trust list is a tagged COSE_Sign1 (CBOR tag 18 = 0xd2).
    if bytes.first() != Some(&0xd2) {
        return Err(UsageError::TrustFile { path: path.into() });
    }
    let Some(pem) = trust_list_key_pem else {
        return Err(UsageError::TrustListNeedsKey { path: path.into() });
    };
    let key = public_key_from_pem(pem).map_err(|e| UsageError::TrustList {
        path: path.into(),
        reason: format!("--trust-list-key: {e}"),
    })?;
    TrustList::verify(bytes, &key).map_err(|e| UsageError::TrustList {
        path: path.into(),
        reason: e.to_string(),
    })
}

/// Adds a Status List Token file to `lists`, verified against `trust` at `now`.
pub fn load_status_list(
    lists: &mut StatusLists,
    path: &str,
    bytes: &[u8],
    trust: &TrustList,
    now: u64,
) -> Result<(), UsageError> {
    let token = StatusListToken::verify(bytes, trust, now).map_err(|e| UsageError::StatusList {
        path: path.into(),
        reason: e.to_string(),
    })?;
    lists.insert(token);
    Ok(())
}

/// True if the bytes look like a PNG or JPEG file.
pub fn is_image(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xff, 0xd8, 0xff])
}

/// The QR text inside an image, or why there is none (`Ok(Err)` is "no QR code", an
/// invalid input; `Err` is an unreadable image, a usage error).
pub fn qr_text_from_image(path: &str, bytes: &[u8]) -> Result<Result<String, String>, UsageError> {
    match tessera_qr::decode_image(bytes) {
        Ok(text) => Ok(Ok(text)),
        Err(tessera_qr::ReadError::NoQrCode) => {
            Ok(Err(format!("{path}: no QR code found in the image")))
        }
        Err(e) => Err(UsageError::Image {
            path: path.into(),
            reason: e.to_string(),
        }),
    }
}

/// The JSON report printed for every verification.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Report {
    /// Valid.
    Valid {
        /// Always true.
        valid: bool,
        /// The verdict.
        verdict: Box<Verdict>,
    },
    /// Invalid.
    Invalid {
        /// Always false.
        valid: bool,
        /// Why.
        error: ErrorReport,
    },
}

/// An invalid QR, for JSON.
#[derive(Debug, Serialize)]
pub struct ErrorReport {
    /// Stable code (see docs/format).
    pub code: &'static str,
    /// For people.
    pub message: String,
    /// For malformed codes: where decoding stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<tessera_credential::DecodeStep>,
}

impl Report {
    /// The report of a verification.
    pub fn of(result: Result<Verdict, VerifyError>) -> Report {
        match result {
            Ok(v) => Report::Valid {
                valid: true,
                verdict: Box::new(v),
            },
            Err(e) => Report::invalid(&e),
        }
    }

    /// The report of a refusal.
    pub fn invalid(e: &VerifyError) -> Report {
        Report::Invalid {
            valid: false,
            error: ErrorReport {
                code: e.code(),
                message: e.to_string(),
                step: match e {
                    VerifyError::Malformed(d) => Some(d.step),
                    _ => None,
                },
            },
        }
    }

    /// A QR that could not even be found in an image.
    pub fn no_qr(message: String) -> Report {
        Report::Invalid {
            valid: false,
            error: ErrorReport {
                code: "no_qr_code",
                message,
                step: None,
            },
        }
    }

    /// A valid report of a tier not in `accepted` becomes the refusal `tier_not_accepted`
    /// (a venue that takes only some tiers, e.g. only the age-only code): none of the
    /// refused code's claims are kept in it.
    pub fn accept_only(self, accepted: &[Tier]) -> Report {
        match self {
            Report::Valid { verdict, .. }
                if !accepted.is_empty() && !accepted.contains(&verdict.tier) =>
            {
                let names: Vec<&str> = accepted.iter().map(|t| t.name()).collect();
                Report::Invalid {
                    valid: false,
                    error: ErrorReport {
                        code: "tier_not_accepted",
                        message: format!(
                            "only the {} tier is accepted here, the code is {}: ask for that one instead",
                            names.join(" or "),
                            verdict.tier.name()
                        ),
                        step: None,
                    },
                }
            }
            other => other,
        }
    }

    /// One line for a person.
    pub fn summary(&self) -> String {
        match self {
            Report::Valid { verdict, .. } => {
                let status = match verdict.status {
                    tessera_credential::StatusOutcome::Valid => "status checked",
                    tessera_credential::StatusOutcome::NotChecked => {
                        "status not checked (no status list)"
                    }
                };
                // What an age check must not miss: the over-18 answer comes first.
                let age = match verdict.claims.age_over_18() {
                    Some(true) => " (over 18: yes)",
                    Some(false) => " (NOT OVER 18)",
                    None => "",
                };
                format!(
                    "valid: {} tier{age}, issued by {}, proof {} s old, {status}",
                    verdict.tier.name(),
                    verdict.issuer_name,
                    verdict.proof_age
                )
            }
            Report::Invalid { error, .. } => format!("invalid ({}): {}", error.code, error.message),
        }
    }
}

/// Verifies QR text with the given inputs, with an in-memory replay cache for this run.
pub fn check_text(
    text: &str,
    trust: &TrustList,
    options: &VerifyOptions,
    lists: &StatusLists,
) -> Report {
    let mut replay = MemoryReplayCache::default();
    Report::of(tessera_credential::verify_qr_text(
        text,
        trust,
        options,
        lists,
        &mut replay,
    ))
}
