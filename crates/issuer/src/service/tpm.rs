//! TPM key attestation (issue 15, `tessera-tpm-attestation`): the activation made when a
//! challenge is drawn with a TPM, and the certifications of every device key checked at
//! enrolment and renewal, each refusal with its own problem type.

use std::time::{Duration, UNIX_EPOCH};

use tessera_credential::KeyProtection;
use tessera_issuer_api::tpm::{
    TpmActivation, TpmAttestationStart, TpmKeyAttestation, TpmKeyCertification,
};
use tessera_issuer_api::{Problem, ProblemType};
use tessera_tpm_attestation::{ActivationState, AttestationError, KeyCertification};

use super::{Issuer, internal};
use crate::config::random_bytes;

/// The problem an attestation refusal is reported as: one type per kind of refusal the
/// issue names (untrusted EK, another key, a key not made in the TPM, a replay), the rest
/// `tpm-attestation-invalid`.
pub(super) fn attestation_problem(e: AttestationError) -> Problem {
    use AttestationError as E;
    let kind = match &e {
        E::EkCertificateUntrusted { .. }
        | E::EkCertificateBadSignature { .. }
        | E::EkCertificateNotValidNow { .. }
        | E::IssuerNotCa { .. }
        | E::ChainTooLong => ProblemType::TpmEkUntrusted,
        E::KeyMismatch | E::CertifiedNameMismatch => ProblemType::TpmAttestationOtherKey,
        E::KeyNotGeneratedInTpm(_) => ProblemType::TpmKeyNotInTpm,
        E::QualifyingDataMismatch => ProblemType::TpmAttestationReplayed,
        E::Randomness | E::Encryption => return internal(e),
        _ => ProblemType::TpmAttestationInvalid,
    };
    Problem::new(kind, e.to_string())
}

/// The protection an attested key gets in its credential: with its PIN when the TPM
/// demands the key's authorization for every use and counts wrong ones (dictionary-attack
/// lockout), else hardware.
fn protection(a: &tessera_tpm_attestation::AttestedKey) -> KeyProtection {
    if a.requires_authorization && a.dictionary_attack_protected {
        KeyProtection::HardwareWithPin
    } else {
        KeyProtection::Hardware
    }
}

fn to_attestation(c: &TpmKeyCertification) -> KeyCertification {
    KeyCertification {
        key_public: c.key_public.clone(),
        certify_info: c.certify_info.clone(),
        signature: c.signature.clone(),
    }
}

impl Issuer {
    /// For a challenge drawn with `tpm` on an issuer with `--tpm-roots`: checks the EK
    /// certificate and the AK and makes the credential only that TPM can activate, with a
    /// fresh secret. Returns the activation (to the wallet) and the state to keep with the
    /// challenge (JSON). `None` without roots: the wallet's keys will count as software.
    pub(super) fn tpm_begin(
        &self,
        tpm: Option<&TpmAttestationStart>,
    ) -> Result<Option<(TpmActivation, String)>, Problem> {
        let (Some(tpm), Some(roots)) = (tpm, self.config.tpm_roots.as_ref()) else {
            return Ok(None);
        };
        let now = UNIX_EPOCH + Duration::from_secs(self.now());
        let (activation, state) = tessera_tpm_attestation::begin(
            &tpm.ek_certificate,
            &tpm.ak_public,
            roots,
            now,
            random_bytes::<32>(),
            &mut getrandom::SysRng,
        )
        .map_err(|e| {
            tracing::info!(event = "tpm_begin", outcome = "refused", reason = %e, "decision");
            attestation_problem(e)
        })?;
        let state = serde_json::to_string(&state).map_err(internal)?;
        Ok(Some((
            TpmActivation {
                id_object: activation.id_object,
                encrypted_secret: activation.encrypted_secret,
            },
            state,
        )))
    }

    /// The protection of each key of an enrolment or renewal: `main` first, then
    /// `one_time` in order. Without `tpm`, all software. With it, every key's certification
    /// must verify against the activation kept with the challenge (`tpm_state`), in the
    /// request's key order. `batch_sent`: the request carried batch keys (otherwise the
    /// single one-time credential is on the main key and shares its protection).
    pub(super) fn key_protections(
        &self,
        tpm: Option<&TpmKeyAttestation>,
        tpm_state: Option<&str>,
        nonce: &[u8],
        main: &p256::ecdsa::VerifyingKey,
        one_time: &[(tessera_credential::claims::Tier, p256::ecdsa::VerifyingKey)],
        batch_sent: bool,
    ) -> Result<(KeyProtection, Vec<KeyProtection>), Problem> {
        let Some(tpm) = tpm else {
            return Ok((
                KeyProtection::Software,
                vec![KeyProtection::Software; one_time.len()],
            ));
        };
        let Some(state) = tpm_state else {
            return Err(Problem::new(
                ProblemType::TpmAttestationReplayed,
                "this challenge was drawn without a TPM (or the issuer does not check TPM attestations): \
                 the attestation cannot be for it; draw a challenge naming the TPM",
            ));
        };
        let state: ActivationState = serde_json::from_str(state).map_err(internal)?;
        let main_protection = tessera_tpm_attestation::verify_key(
            &state,
            nonce,
            &to_attestation(&tpm.device_key),
            main,
        )
        .map(|a| protection(&a))
        .map_err(|e| {
            let mut p = attestation_problem(e);
            p.detail = p.detail.map(|d| format!("device key: {d}"));
            p
        })?;
        if !batch_sent {
            if !tpm.batch_keys.is_empty() {
                return Err(Problem::new(
                    ProblemType::TpmAttestationInvalid,
                    "batch key certifications without batch keys",
                ));
            }
            return Ok((main_protection, vec![main_protection; one_time.len()]));
        }
        if tpm.batch_keys.len() != one_time.len() {
            return Err(Problem::new(
                ProblemType::TpmAttestationInvalid,
                format!(
                    "{} batch key certifications for {} batch keys: one per key, in order",
                    tpm.batch_keys.len(),
                    one_time.len()
                ),
            ));
        }
        let mut out = Vec::with_capacity(one_time.len());
        for (n, ((_, key), cert)) in one_time.iter().zip(&tpm.batch_keys).enumerate() {
            tessera_tpm_attestation::verify_key(&state, nonce, &to_attestation(cert), key)
                .map_err(|e| {
                    let mut p = attestation_problem(e);
                    p.detail = p.detail.map(|d| format!("batch key {n}: {d}"));
                    p
                })?;
            // One-time keys carry no PIN (they show the lighter tiers).
            out.push(KeyProtection::Hardware);
        }
        Ok((main_protection, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_refusal_has_its_own_problem_type() {
        let kind = |e: AttestationError| attestation_problem(e).kind();
        assert_eq!(
            kind(AttestationError::ChainTooLong),
            Some(ProblemType::TpmEkUntrusted)
        );
        assert_eq!(
            kind(AttestationError::KeyMismatch),
            Some(ProblemType::TpmAttestationOtherKey)
        );
        assert_eq!(
            kind(AttestationError::CertifiedNameMismatch),
            Some(ProblemType::TpmAttestationOtherKey)
        );
        assert_eq!(
            kind(AttestationError::KeyNotGeneratedInTpm("fixedTPM clear")),
            Some(ProblemType::TpmKeyNotInTpm)
        );
        assert_eq!(
            kind(AttestationError::QualifyingDataMismatch),
            Some(ProblemType::TpmAttestationReplayed)
        );
        assert_eq!(
            kind(AttestationError::BadSignature),
            Some(ProblemType::TpmAttestationInvalid)
        );
        assert_eq!(
            kind(AttestationError::AkNotRestrictedTpmKey("restricted clear")),
            Some(ProblemType::TpmAttestationInvalid)
        );
        assert_eq!(
            kind(AttestationError::Encryption),
            Some(ProblemType::Internal)
        );
    }
}
