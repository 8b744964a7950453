//! TPM 2.0 key attestation, checked by the issuer (work in progress).
