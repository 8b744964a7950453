//! The one error shape every command returns: a stable `kind` the UI translates into the
//! person's language, and an English detail line. Never carries personal data beyond what the
//! wallet's own messages say (no ID numbers, no names, no images).

use serde::Serialize;
use tessera_face::quality::Guidance;
use tessera_face::source::CaptureError;
use tessera_issuer_api::ProblemType;
use tessera_wallet::client::IssuerError;
use tessera_wallet::keystore::KeystoreError;
use tessera_wallet::lifecycle::State;
use tessera_wallet::pin::PinError;
use tessera_wallet::wallet::WalletError;

/// What a failed command returns to the UI (`CommandError` in `ui/src/api.ts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandError {
    /// Stable, for the UI to translate.
    pub kind: &'static str,
    /// English detail.
    pub message: String,
    /// `wrong_pin`: tries left before a wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u32>,
    /// `pin_locked`: seconds to wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    /// `quality`: what to fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guidance: Option<Vec<Guidance>>,
    /// `pin_weak`: why the new PIN is refused (`WeakPin::name`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl CommandError {
    /// An error of `kind` with an English `message`.
    pub fn new(kind: &'static str, message: impl Into<String>) -> CommandError {
        CommandError {
            kind,
            message: message.into(),
            remaining: None,
            seconds: None,
            guidance: None,
            reason: None,
        }
    }
}

fn problem_kind(kind: Option<ProblemType>) -> &'static str {
    match kind {
        Some(ProblemType::FaceMismatch) => "face_mismatch",
        Some(ProblemType::LivenessFailed) => "liveness_failed",
        Some(ProblemType::FaceNotUsable) => "quality",
        Some(ProblemType::UnknownIdNumber) => "unknown_id_number",
        Some(ProblemType::AlreadyEnrolled) => "already_enrolled",
        Some(ProblemType::RateLimited) => "rate_limited",
        Some(ProblemType::ChallengeExpired | ProblemType::ChallengeReused) => "challenge_expired",
        Some(ProblemType::CredentialNotActive) => "revoked",
        Some(ProblemType::SignInEnded) => "sign_in_ended",
        Some(ProblemType::WrongMatchCode) => "wrong_match_code",
        Some(ProblemType::TierTooLow) => "tier_too_low",
        _ => "issuer_refused",
    }
}

impl From<KeystoreError> for CommandError {
    fn from(e: KeystoreError) -> Self {
        CommandError::new("keystore", e.to_string())
    }
}

impl From<WalletError> for CommandError {
    fn from(e: WalletError) -> Self {
        let message = e.to_string();
        let mut out = CommandError::new("internal", message);
        out.kind = match e {
            WalletError::Keystore(_) => "keystore",
            WalletError::Issuer(IssuerError::Unreachable { .. }) => "issuer_unreachable",
            WalletError::Issuer(ref i @ IssuerError::Refused(_)) => problem_kind(i.kind()),
            WalletError::Issuer(IssuerError::BadAnswer(_)) => "issuer_refused",
            // The server is not the issuer this app's trust anchor vouches for, or something
            // between changed what it signed (a relay, a phishing address).
            WalletError::Issuer(IssuerError::NotTrusted { .. } | IssuerError::BadUrl { .. })
            | WalletError::Trust(_) => "issuer_untrusted",
            WalletError::State(t) => match t.state {
                State::Revoked => "revoked",
                _ => "not_enrolled",
            },
            WalletError::Pin(PinError::Format) => "pin_format",
            WalletError::Pin(PinError::Wrong {
                remaining_before_lock,
            }) => {
                out.remaining = Some(remaining_before_lock);
                "wrong_pin"
            }
            WalletError::Pin(PinError::LockedOut { seconds }) => {
                out.seconds = Some(seconds);
                "pin_locked"
            }
            WalletError::Pin(PinError::NotSet) => "pin_not_set",
            WalletError::Pin(PinError::Required) => "pin_required",
            WalletError::Pin(PinError::Weak(why)) => {
                out.reason = Some(why.name());
                "pin_weak"
            }
            WalletError::Pin(PinError::Damaged) => "keystore",
            WalletError::Camera(CaptureError::NoCamera) => "no_camera",
            WalletError::Camera(_) => "camera",
            WalletError::Cancelled => "cancelled",
            WalletError::Liveness(_) => "liveness_failed",
            WalletError::Quality(_) => "quality",
            WalletError::FaceMismatch => "face_mismatch",
            WalletError::Unlock(_) => "unlock_expired",
            WalletError::SignInLink(_) => "sign_in_link",
            WalletError::Frames(_) | WalletError::History { .. } => "internal",
        };
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_issuer_api::Problem;
    use tessera_wallet::pin_policy::WeakPin;

    #[test]
    fn wallet_errors_get_the_kinds_the_ui_translates() {
        let wrong: CommandError = WalletError::Pin(PinError::Wrong {
            remaining_before_lock: 2,
        })
        .into();
        assert_eq!((wrong.kind, wrong.remaining), ("wrong_pin", Some(2)));
        let locked: CommandError = WalletError::Pin(PinError::LockedOut { seconds: 30 }).into();
        assert_eq!((locked.kind, locked.seconds), ("pin_locked", Some(30)));
        let refused: CommandError = WalletError::Issuer(IssuerError::Refused(Problem::new(
            ProblemType::FaceMismatch,
            "no match",
        )))
        .into();
        assert_eq!(refused.kind, "face_mismatch");
        let offline: CommandError = WalletError::Issuer(IssuerError::Unreachable {
            url: "http://127.0.0.1:1".into(),
            detail: "connection refused".into(),
        })
        .into();
        assert_eq!(offline.kind, "issuer_unreachable");
        assert!(offline.message.contains("cannot be reached"));
        let camera: CommandError = WalletError::Camera(CaptureError::NoCamera).into();
        assert_eq!(camera.kind, "no_camera");
        let weak: CommandError = WalletError::Pin(PinError::Weak(WeakPin::BirthDate)).into();
        assert_eq!((weak.kind, weak.reason), ("pin_weak", Some("birth_date")));
        let needed: CommandError = WalletError::Pin(PinError::Required).into();
        assert_eq!(needed.kind, "pin_required");
    }

    #[test]
    fn optional_fields_are_left_out_of_the_json() {
        let e = CommandError::new("internal", "x");
        let json = serde_json::to_value(&e).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"kind": "internal", "message": "x"})
        );
    }
}
