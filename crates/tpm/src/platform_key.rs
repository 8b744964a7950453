//! Platform-neutral parts of the device keys kept by the operating system's key store
//! rather than through a TSS: the Windows Platform Crypto Provider (a TPM behind CNG) and
//! the Apple Secure Enclave. Pure and free of I/O, so it is tested on every platform even
//! though the stores themselves are only compiled for their targets.
//!
//! Such a key is persisted by the platform under a name; the wallet's [`KeyBlob`] then
//! holds, instead of the TPM's public and wrapped private areas:
//! - `public`: a TPM2B-framed SEC1 uncompressed point (`00 41 04 x y`). A real
//!   TPM2B_PUBLIC starts with its size and then `TPM_ALG_ECC` (`00 23`), so the two cannot
//!   be confused;
//! - `private`: a TPM2B-framed reference `"TSPK" ‖ platform ‖ flags ‖ name (UTF-8)` that
//!   names the key in the platform's store. It is not secret: the key never leaves the
//!   hardware, and the name is useless on another machine.

use p256::ecdsa::{Signature, VerifyingKey};

use crate::{KeyBlob, TpmError};

/// Magic at the start of a platform key reference.
const MAGIC: &[u8; 4] = b"TSPK";
/// Flag bit: the key needs its PIN (or the device passcode / biometry on Apple).
const FLAG_PIN: u8 = 0x01;

/// Which key store holds a platform key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Windows CNG, "Microsoft Platform Crypto Provider" (the TPM).
    WindowsPcp,
    /// The Apple Secure Enclave (macOS, iOS), through the keychain.
    AppleSecureEnclave,
}

impl Platform {
    fn tag(self) -> u8 {
        match self {
            Platform::WindowsPcp => 1,
            Platform::AppleSecureEnclave => 2,
        }
    }

    fn from_tag(tag: u8) -> Option<Platform> {
        match tag {
            1 => Some(Platform::WindowsPcp),
            2 => Some(Platform::AppleSecureEnclave),
            _ => None,
        }
    }
}

/// The name of a key in a platform key store, and whether it needs a PIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformKeyRef {
    /// The store holding the key.
    pub platform: Platform,
    /// Whether every signature needs the PIN (Windows) or user presence (Apple).
    pub pin: bool,
    /// The key's name in the store (the CNG key name; the keychain application tag).
    pub name: String,
}

fn tpm2b(payload: &[u8]) -> Result<Vec<u8>, TpmError> {
    let len = u16::try_from(payload.len()).map_err(|_| TpmError::Malformed {
        what: "platform key reference too long",
    })?;
    let mut out = Vec::with_capacity(2 + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

impl PlatformKeyRef {
    /// The blob the vault stores for this key.
    pub fn to_blob(&self, public: &VerifyingKey) -> Result<KeyBlob, TpmError> {
        let point = public.to_sec1_point(false);
        let mut reference = MAGIC.to_vec();
        reference.push(self.platform.tag());
        reference.push(if self.pin { FLAG_PIN } else { 0 });
        reference.extend_from_slice(self.name.as_bytes());
        Ok(KeyBlob {
            public: tpm2b(point.as_bytes())?,
            private: tpm2b(&reference)?,
        })
    }

    /// The reference inside a blob, or `None` if the blob is a TSS blob (or malformed).
    pub fn from_blob(blob: &KeyBlob) -> Option<PlatformKeyRef> {
        let body = blob.private.get(2..)?;
        let rest = body.strip_prefix(MAGIC.as_slice())?;
        let (&tag, rest) = rest.split_first()?;
        let (&flags, name) = rest.split_first()?;
        Some(PlatformKeyRef {
            platform: Platform::from_tag(tag)?,
            pin: flags & FLAG_PIN != 0,
            name: String::from_utf8(name.to_vec()).ok()?,
        })
    }
}

/// A fresh name for a key in a platform store. It only has to be unique on this machine
/// (a collision makes the store refuse to create the key rather than overwrite one), not
/// secret.
#[cfg(any(windows, target_os = "macos", target_os = "ios"))]
pub(crate) fn fresh_key_name() -> String {
    use sha2::{Digest, Sha256};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = Sha256::new();
    h.update(std::process::id().to_be_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    h.update(now.as_nanos().to_be_bytes());
    h.update(COUNTER.fetch_add(1, Ordering::Relaxed).to_be_bytes());
    let hex: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("tessera-device-{hex}")
}

/// The public key of a platform blob (`00 41 04 x y`), or `None` if `public` is not one.
pub(crate) fn sec1_public(public: &[u8]) -> Option<Result<VerifyingKey, TpmError>> {
    match public {
        [0x00, 0x41, 0x04, ..] if public.len() == 67 => Some(
            VerifyingKey::from_sec1_bytes(&public[2..]).map_err(|_| TpmError::Malformed {
                what: "platform public key is not a P-256 point",
            }),
        ),
        _ => None,
    }
}

/// An ECDSA signature from its fixed-size `r ‖ s` (what CNG's NCryptSignHash returns),
/// with s normalised to the low half so strict verifiers accept it.
pub fn signature_from_raw(raw: &[u8]) -> Result<Signature, TpmError> {
    let sig = Signature::from_slice(raw).map_err(|_| TpmError::Malformed {
        what: "signature is not a P-256 r || s",
    })?;
    Ok(sig.normalize_s())
}

/// An ECDSA signature from its X9.62 DER encoding (what the Secure Enclave returns), with
/// s normalised to the low half.
pub fn signature_from_der(der: &[u8]) -> Result<Signature, TpmError> {
    let sig = Signature::from_der(der).map_err(|_| TpmError::Malformed {
        what: "signature is not DER ECDSA",
    })?;
    Ok(sig.normalize_s())
}

/// A SEC1 uncompressed point from CNG's BCRYPT_ECCPUBLIC_BLOB: the 8-byte
/// BCRYPT_ECCKEY_BLOB header (`dwMagic`, `cbKey`, little-endian) then X and Y, each `cbKey`
/// bytes.
pub fn p256_from_ecc_public_blob(blob: &[u8]) -> Result<VerifyingKey, TpmError> {
    /// BCRYPT_ECDSA_PUBLIC_P256_MAGIC ("ECS1").
    const MAGIC_ECDSA_P256: u32 = 0x3153_4345;
    let bad = |what| TpmError::Malformed { what };
    if blob.len() != 8 + 64 {
        return Err(bad("ECC public blob has the wrong size"));
    }
    let magic = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]);
    let cb_key = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]);
    if magic != MAGIC_ECDSA_P256 || cb_key != 32 {
        return Err(bad("ECC public blob is not ECDSA P-256"));
    }
    let mut sec1 = [0u8; 65];
    sec1[0] = 0x04;
    sec1[1..].copy_from_slice(&blob[8..]);
    VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| bad("ECC public blob is not a P-256 point"))
}

/// HRESULTs the Platform Crypto Provider answers with, that the wallet must tell apart.
pub mod hresult {
    /// TPM 2.0 response codes come through as `0x80280000 | rc`.
    pub const TPM_20_E_BASE: u32 = 0x8028_0000;
    /// TPM_20_E_AUTH_FAIL (TPM_RC_AUTH_FAIL, counted by the DA logic).
    pub const TPM_20_E_AUTH_FAIL: u32 = 0x8028_008E;
    /// TPM_20_E_BAD_AUTH.
    pub const TPM_20_E_BAD_AUTH: u32 = 0x8028_00A2;
    /// TPM_20_E_LOCKOUT (TPM_RC_LOCKOUT).
    pub const TPM_20_E_LOCKOUT: u32 = 0x8028_0921;
    /// TPM_E_PCP_AUTHENTICATION_FAILED: the PCP's own "wrong PIN".
    pub const TPM_E_PCP_AUTHENTICATION_FAILED: u32 = 0x8029_0408;
    /// TPM_E_PCP_WRONG_PARENT: the key was made under another storage key.
    pub const TPM_E_PCP_WRONG_PARENT: u32 = 0x8029_040E;
    /// TPM_E_PCP_DEVICE_NOT_READY.
    pub const TPM_E_PCP_DEVICE_NOT_READY: u32 = 0x8029_0401;
    /// TBS_E_* (TPM Base Services) are `0x80284xxx`: no TPM or the service is down.
    pub const TBS_E_BASE: u32 = 0x8028_4000;
    /// SCARD_W_WRONG_CHV: "wrong PIN" as smart-card-style providers say it.
    pub const SCARD_W_WRONG_CHV: u32 = 0x8010_006B;
    /// SCARD_W_CHV_BLOCKED: the PIN is blocked.
    pub const SCARD_W_CHV_BLOCKED: u32 = 0x8010_006C;
    /// NTE_BAD_KEYSET: no key with that name (deleted, or another user's or machine's).
    pub const NTE_BAD_KEYSET: u32 = 0x8009_0016;
    /// NTE_DEVICE_NOT_READY.
    pub const NTE_DEVICE_NOT_READY: u32 = 0x8009_0030;
    /// NTE_NOT_SUPPORTED.
    pub const NTE_NOT_SUPPORTED: u32 = 0x8009_0029;
    /// NTE_USER_CANCELLED: a PIN dialog was dismissed (only if the silent flag is ignored).
    pub const NTE_USER_CANCELLED: u32 = 0x8009_0036;
}

/// Maps an HRESULT from the Platform Crypto Provider to the crate's error.
pub fn error_from_hresult(hr: u32, what: &str) -> TpmError {
    use hresult::*;
    match hr {
        TPM_20_E_AUTH_FAIL
        | TPM_20_E_BAD_AUTH
        | TPM_E_PCP_AUTHENTICATION_FAILED
        | SCARD_W_WRONG_CHV => TpmError::WrongPin { tries_left: None },
        // Format-one auth failures carry a session or parameter number in bits 8..11.
        _ if hr & 0xFFFF_F000 == TPM_20_E_BASE
            && hr & 0x80 != 0
            && matches!(hr & 0x3F, 0x0E | 0x22) =>
        {
            TpmError::WrongPin { tries_left: None }
        }
        TPM_20_E_LOCKOUT | SCARD_W_CHV_BLOCKED => TpmError::LockedOut { retry_after: None },
        TPM_E_PCP_WRONG_PARENT | NTE_BAD_KEYSET => TpmError::NotThisTpm,
        NTE_USER_CANCELLED => TpmError::PinRequired,
        NTE_NOT_SUPPORTED => TpmError::Unsupported,
        TPM_E_PCP_DEVICE_NOT_READY | NTE_DEVICE_NOT_READY => TpmError::Unavailable {
            tcti: "Microsoft Platform Crypto Provider".into(),
            detail: format!("{what}: device not ready (0x{hr:08X})"),
        },
        _ if hr & 0xFFFF_F000 == TBS_E_BASE => TpmError::Unavailable {
            tcti: "Microsoft Platform Crypto Provider".into(),
            detail: format!("{what}: TPM Base Services error 0x{hr:08X}"),
        },
        _ => TpmError::Tpm {
            detail: format!("{what}: HRESULT 0x{hr:08X}"),
        },
    }
}

/// The Secure Enclave's error codes the wallet tells apart (OSStatus and LAError codes
/// come back as the CFError's code).
pub fn error_from_security_code(code: isize, what: &str) -> TpmError {
    match code {
        // errSecItemNotFound: no key with that label (another device, or deleted).
        -25300 => TpmError::NotThisTpm,
        // errSecAuthFailed, LAErrorAuthenticationFailed.
        -25293 | -1 => TpmError::WrongPin { tries_left: None },
        // LAErrorBiometryLockout (the passcode then unlocks biometry again).
        -8 => TpmError::LockedOut { retry_after: None },
        // errSecUserCanceled, LAErrorUserCancel, LAErrorSystemCancel, LAErrorAppCancel,
        // errSecInteractionNotAllowed.
        -128 | -2 | -4 | -9 | -25308 => TpmError::PinRequired,
        // errSecNotAvailable, LAErrorPasscodeNotSet.
        -25291 | -5 => TpmError::Unavailable {
            tcti: "Secure Enclave".into(),
            detail: format!("{what}: not available (code {code})"),
        },
        _ => TpmError::Tpm {
            detail: format!("{what}: Security framework error {code}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::SigningKey;
    use p256::ecdsa::signature::hazmat::PrehashSigner;

    fn key() -> SigningKey {
        SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    #[test]
    fn blob_round_trip_and_public_key() {
        let public = *key().verifying_key();
        let r = PlatformKeyRef {
            platform: Platform::WindowsPcp,
            pin: true,
            name: "tessera-device-1".into(),
        };
        let blob = r.to_blob(&public).unwrap();
        let back = KeyBlob::from_bytes(&blob.to_bytes()).unwrap();
        assert_eq!(PlatformKeyRef::from_blob(&back), Some(r));
        assert_eq!(back.public_key().unwrap(), public);
        assert!(back.needs_pin().unwrap());
        let plain = PlatformKeyRef {
            platform: Platform::AppleSecureEnclave,
            pin: false,
            name: "x".into(),
        }
        .to_blob(&public)
        .unwrap();
        assert!(!plain.needs_pin().unwrap());
        // A TSS blob is not a platform reference.
        let tss = KeyBlob {
            public: vec![0, 2, 0, 0x23],
            private: vec![0, 4, 1, 2, 3, 4],
        };
        assert_eq!(PlatformKeyRef::from_blob(&tss), None);
        assert!(sec1_public(&tss.public).is_none());
    }

    #[test]
    fn signatures_are_low_s() {
        let k = key();
        let digest = [9u8; 32];
        let sig: Signature = k.sign_prehash(&digest).unwrap();
        let sig = sig.normalize_s();
        let (r, s) = sig.split_scalars();
        let high = Signature::from_scalars(r, -*s).unwrap();
        assert_eq!(signature_from_raw(&high.to_bytes()).unwrap(), sig);
        assert_eq!(signature_from_der(high.to_der().as_bytes()).unwrap(), sig);
        assert!(signature_from_raw(&[0u8; 63]).is_err());
    }

    #[test]
    fn ecc_public_blob() {
        let public = *key().verifying_key();
        let point = public.to_sec1_point(false);
        let mut blob = 0x3153_4345u32.to_le_bytes().to_vec();
        blob.extend_from_slice(&32u32.to_le_bytes());
        blob.extend_from_slice(&point.as_bytes()[1..]);
        assert_eq!(p256_from_ecc_public_blob(&blob).unwrap(), public);
        blob[0] ^= 1;
        assert!(p256_from_ecc_public_blob(&blob).is_err());
    }

    #[test]
    fn security_framework_codes() {
        let e = error_from_security_code;
        assert_eq!(e(-25300, "sign"), TpmError::NotThisTpm);
        assert_eq!(e(-1, "sign"), TpmError::WrongPin { tries_left: None });
        assert_eq!(e(-8, "sign"), TpmError::LockedOut { retry_after: None });
        assert_eq!(e(-128, "sign"), TpmError::PinRequired);
        assert!(matches!(e(-25291, "sign"), TpmError::Unavailable { .. }));
        assert!(matches!(e(-50, "sign"), TpmError::Tpm { .. }));
    }

    #[test]
    fn hresults() {
        use hresult::*;
        let wrong = TpmError::WrongPin { tries_left: None };
        assert_eq!(error_from_hresult(TPM_20_E_AUTH_FAIL, "sign"), wrong);
        assert_eq!(error_from_hresult(0x8028_098E, "sign"), wrong);
        assert_eq!(
            error_from_hresult(TPM_E_PCP_AUTHENTICATION_FAILED, "sign"),
            wrong
        );
        assert_eq!(
            error_from_hresult(TPM_20_E_LOCKOUT, "sign"),
            TpmError::LockedOut { retry_after: None }
        );
        assert_eq!(
            error_from_hresult(NTE_BAD_KEYSET, "open"),
            TpmError::NotThisTpm
        );
        assert!(matches!(
            error_from_hresult(0x8028_4008, "open"),
            TpmError::Unavailable { .. }
        ));
        assert!(matches!(
            error_from_hresult(0x8028_008B, "sign"),
            TpmError::Tpm { .. }
        ));
    }
}
