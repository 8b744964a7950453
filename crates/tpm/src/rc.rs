//! Classification of TSS2 response codes into what the wallet must tell apart.

/// What a failed TPM command means to the wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RcClass {
    /// TPM_RC_AUTH_FAIL (counted by the DA logic) or TPM_RC_BAD_AUTH (not counted).
    AuthFail,
    /// TPM_RC_LOCKOUT: DA-protected objects are refused.
    Lockout,
    /// TPM_RC_INTEGRITY / TPM_RC_BINDING on load: the blob is not wrapped for this parent.
    NotThisTpm,
    /// The transport (TCTI layer) failed: no TPM to talk to.
    Transport,
    /// Anything else.
    Other,
}

/// The TSS layer of a TSS2_RC (bits 16..24): 0 is the TPM itself.
const LAYER_SHIFT: u32 = 16;
const LAYER_TPM: u32 = 0;
/// TSS2_TCTI_RC_LAYER.
const LAYER_TCTI: u32 = 10;
/// Format-one response codes have bit 7 set; their error number is in bits 0..6, with
/// the parameter, handle or session number above it.
const RC_FMT1: u32 = 0x080;
const TPM_RC_AUTH_FAIL: u32 = 0x00E;
const TPM_RC_INTEGRITY: u32 = 0x01F;
const TPM_RC_BAD_AUTH: u32 = 0x022;
const TPM_RC_BINDING: u32 = 0x025;
/// TPM_RC_WARN + 0x021.
const TPM_RC_LOCKOUT: u32 = 0x921;

/// Classifies a TSS2_RC as returned by the ESAPI (TPM codes pass through with layer 0).
pub(crate) fn classify(rc: u32) -> RcClass {
    let layer = (rc >> LAYER_SHIFT) & 0xFF;
    if layer == LAYER_TCTI {
        return RcClass::Transport;
    }
    if layer != LAYER_TPM {
        return RcClass::Other;
    }
    let code = rc & 0xFFFF;
    if code & RC_FMT1 != 0 {
        return match code & 0x3F {
            TPM_RC_AUTH_FAIL | TPM_RC_BAD_AUTH => RcClass::AuthFail,
            TPM_RC_INTEGRITY | TPM_RC_BINDING => RcClass::NotThisTpm,
            _ => RcClass::Other,
        };
    }
    if code == TPM_RC_LOCKOUT {
        return RcClass::Lockout;
    }
    RcClass::Other
}

/// TPM_RC_VALUE, TPM_RC_SIZE (format one).
const TPM_RC_VALUE: u32 = 0x004;
const TPM_RC_SIZE: u32 = 0x015;
/// TPM_RC_FAILURE (format zero).
const TPM_RC_FAILURE: u32 = 0x101;

/// Whether TPM2_ActivateCredential's own failure means the credential was not made for
/// this EK and AK: the seed does not decrypt under the EK (TPM_RC_VALUE, TPM_RC_SIZE; libtpms
/// answers a failed RSA-OAEP decryption with TPM_RC_FAILURE and stays usable) or the
/// credential's HMAC over the AK name fails (TPM_RC_INTEGRITY).
pub(crate) fn is_bad_credential(rc: u32) -> bool {
    if (rc >> LAYER_SHIFT) & 0xFF != LAYER_TPM {
        return false;
    }
    let code = rc & 0xFFFF;
    if code & RC_FMT1 != 0 {
        return matches!(code & 0x3F, TPM_RC_INTEGRITY | TPM_RC_VALUE | TPM_RC_SIZE);
    }
    code == TPM_RC_FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        // AUTH_FAIL on session 1 (what a wrong PIN gives on TPM2_Sign).
        assert_eq!(classify(0x98E), RcClass::AuthFail);
        assert_eq!(classify(0x08E), RcClass::AuthFail);
        assert_eq!(classify(0x9A2), RcClass::AuthFail);
        assert_eq!(classify(0x921), RcClass::Lockout);
        // INTEGRITY on parameter 1 of TPM2_Load.
        assert_eq!(classify(0x1DF), RcClass::NotThisTpm);
        assert_eq!(classify(0x09F), RcClass::NotThisTpm);
        // TSS2_TCTI_RC_IO_ERROR.
        assert_eq!(classify(0x000A_000A), RcClass::Transport);
        // An ESAPI-layer code that happens to look like AUTH_FAIL in its low bits.
        assert_eq!(classify(0x0007_008E), RcClass::Other);
        // TPM_RC_HANDLE.
        assert_eq!(classify(0x08B), RcClass::Other);
        assert!(is_bad_credential(0x101));
        assert!(is_bad_credential(0x2DF));
        assert!(is_bad_credential(0x084));
        assert!(!is_bad_credential(0x98E));
        assert!(!is_bad_credential(0x000A_000A));
    }
}
