//! macOS and iOS: device keys in the Secure Enclave, with the same API as the Linux TSS
//! path. Compiled for `aarch64-apple-darwin` and `aarch64-apple-ios` (`cargo check`),
//! **never run** (no Apple hardware in this project).
//!
//! - Keys are P-256, made by `SecKeyCreateRandomKey` with `kSecAttrTokenIDSecureEnclave`
//!   and stored (permanent, this device only) in the data-protection keychain under a
//!   label; the wallet's [`KeyBlob`] holds that label and the public point
//!   ([`crate::platform_key`]). The private key never leaves the enclave.
//! - Every key's access control has `privateKeyUsage`; the PIN-equivalent key adds
//!   `biometryCurrentSet OR devicePasscode`, so the enclave signs only after the OS has
//!   checked Face ID / Touch ID or the device passcode (the OS's own retry limits and
//!   lockout apply, not the TPM's). The wallet's own PIN is *not* what the enclave checks:
//!   [`Tpm::sign`] still demands it for a PIN key, so the wallet's flow is the same, but
//!   the bytes are not passed on. (Binding the wallet PIN itself would need
//!   `kSecAccessControlApplicationPassword` with an `LAContext` credential, which needs an
//!   Objective-C bridge; not written.)
//! - Signatures are `ecdsaSignatureMessageX962SHA256` (DER), turned into `r ‖ s` low-S.
//! - No PIN change (the passcode belongs to the OS), no lockout counters, no key
//!   attestation here: Apple's is App Attest (DeviceCheck), a different format.
//!
//! The keychain attribute names are `extern` statics of Security.framework; reading them
//! is the only `unsafe` of this module.

use core_foundation::base::{CFType, TCFType};
use core_foundation::boolean::CFBoolean;
use core_foundation::dictionary::CFDictionary;
use core_foundation::number::CFNumber;
use core_foundation::string::CFString;
use p256::ecdsa::{Signature, VerifyingKey};
use security_framework::access_control::{ProtectionMode, SecAccessControl};
use security_framework::item::{ItemClass, ItemSearchOptions, KeyClass, Reference, SearchResult};
use security_framework::key::{Algorithm, SecKey};
use security_framework_sys::item::kSecAttrAccessControl;
use security_framework_sys::item::{
    kSecAttrIsPermanent, kSecAttrKeySizeInBits, kSecAttrKeyType, kSecAttrKeyTypeECSECPrimeRandom,
    kSecAttrLabel, kSecAttrTokenID, kSecAttrTokenIDSecureEnclave, kSecPrivateKeyAttrs,
};
use zeroize::Zeroizing;

use crate::platform_key::{
    Platform, PlatformKeyRef, error_from_security_code, fresh_key_name, signature_from_der,
};
use crate::{AkBlob, AttestationStart, DaStatus, KeyAuth, KeyBlob, KeyCertification, TpmError};

/// SecAccessControlCreateFlags (Security/SecAccessControl.h).
const BIOMETRY_CURRENT_SET: usize = 1 << 3;
const DEVICE_PASSCODE: usize = 1 << 4;
const OR: usize = 1 << 14;
const PRIVATE_KEY_USAGE: usize = 1 << 30;

/// The Secure Enclave through the keychain.
#[derive(Debug)]
pub struct Tpm {
    _private: (),
}

fn public_of(key: &SecKey) -> Result<VerifyingKey, TpmError> {
    let public = key.public_key().ok_or(TpmError::Malformed {
        what: "Secure Enclave key without a public key",
    })?;
    let bytes = public
        .external_representation()
        .ok_or(TpmError::Malformed {
            what: "Secure Enclave public key not exportable",
        })?;
    VerifyingKey::from_sec1_bytes(bytes.bytes()).map_err(|_| TpmError::Malformed {
        what: "Secure Enclave public key is not P-256",
    })
}

impl Tpm {
    /// The Secure Enclave is always "open"; whether the device has one shows when a key
    /// is made.
    pub fn open() -> Result<Tpm, TpmError> {
        Ok(Tpm { _private: () })
    }

    /// Same as [`Tpm::open`]; the argument (a TCTI on Linux) is ignored.
    pub fn open_with(_tcti: &str) -> Result<Tpm, TpmError> {
        Self::open()
    }

    /// Where keys live.
    pub fn tcti(&self) -> &str {
        "Secure Enclave"
    }

    /// Creates a P-256 key in the Secure Enclave, kept in the keychain for this device
    /// only; a [`KeyAuth::Pin`] key needs biometry or the device passcode for each use.
    pub fn create_key(&self, auth: KeyAuth) -> Result<KeyBlob, TpmError> {
        let name = fresh_key_name();
        let pin = matches!(auth, KeyAuth::Pin(_));
        let (protection, flags) = if pin {
            (
                ProtectionMode::AccessibleWhenPasscodeSetThisDeviceOnly,
                PRIVATE_KEY_USAGE | BIOMETRY_CURRENT_SET | OR | DEVICE_PASSCODE,
            )
        } else {
            (
                ProtectionMode::AccessibleWhenUnlockedThisDeviceOnly,
                PRIVATE_KEY_USAGE,
            )
        };
        let access = SecAccessControl::create_with_protection(Some(protection), flags as _)
            .map_err(|e| {
                error_from_security_code(e.code() as isize, "create the access control")
            })?;
        // SAFETY: the kSec* names are immutable `extern` CFStringRef statics exported by
        // Security.framework, initialised before any Rust code runs; we only read them
        // and wrap them under the get rule (retained, never released by us).
        let attr = |s: core_foundation_sys::string::CFStringRef| unsafe {
            CFString::wrap_under_get_rule(s)
        };
        // SAFETY: reading the extern statics, as above.
        let (permanent, access_key, private_attrs, key_type, ec, size, label, token, enclave) = unsafe {
            (
                attr(kSecAttrIsPermanent),
                attr(kSecAttrAccessControl),
                attr(kSecPrivateKeyAttrs),
                attr(kSecAttrKeyType),
                attr(kSecAttrKeyTypeECSECPrimeRandom),
                attr(kSecAttrKeySizeInBits),
                attr(kSecAttrLabel),
                attr(kSecAttrTokenID),
                attr(kSecAttrTokenIDSecureEnclave),
            )
        };
        let private: CFDictionary<CFString, CFType> = CFDictionary::from_CFType_pairs(&[
            (permanent, CFBoolean::true_value().as_CFType()),
            (access_key, access.as_CFType()),
            (label.clone(), CFString::new(&name).as_CFType()),
        ]);
        let attributes: CFDictionary<CFString, CFType> = CFDictionary::from_CFType_pairs(&[
            (key_type, ec.as_CFType()),
            (size, CFNumber::from(256i32).as_CFType()),
            (token, enclave.as_CFType()),
            (label, CFString::new(&name).as_CFType()),
            (private_attrs, private.as_CFType()),
        ]);
        // `SecKey::generate` is SecKeyCreateRandomKey with our own dictionary:
        // security-framework's GenerateKeyOptions leaves out the private-key attributes
        // (permanence, access control) on iOS.
        #[allow(deprecated)]
        let key = SecKey::generate(attributes.to_untyped())
            .map_err(|e| error_from_security_code(e.code(), "create the key"))?;
        let public = public_of(&key)?;
        PlatformKeyRef {
            platform: Platform::AppleSecureEnclave,
            pin,
            name,
        }
        .to_blob(&public)
    }

    fn find(&self, blob: &KeyBlob) -> Result<(SecKey, PlatformKeyRef), TpmError> {
        let r = PlatformKeyRef::from_blob(blob)
            .filter(|r| r.platform == Platform::AppleSecureEnclave)
            .ok_or(TpmError::Malformed {
                what: "not a Secure Enclave key",
            })?;
        let results = ItemSearchOptions::new()
            .class(ItemClass::key())
            .key_class(KeyClass::private())
            .label(&r.name)
            .load_refs(true)
            .search()
            .map_err(|e| error_from_security_code(e.code() as isize, "find the key"))?;
        for result in results {
            if let SearchResult::Ref(Reference::Key(key)) = result {
                return Ok((key, r));
            }
        }
        Err(TpmError::NotThisTpm)
    }

    /// Signs SHA-256(`message`) in the Secure Enclave; a PIN key makes the OS ask for
    /// biometry or the passcode. `auth` must be given for a PIN key (the wallet checked
    /// its PIN) and not otherwise; its bytes are not used here (see the module notes).
    pub fn sign(
        &self,
        key: &KeyBlob,
        auth: Option<&[u8]>,
        message: &[u8],
    ) -> Result<Signature, TpmError> {
        let (handle, r) = self.find(key)?;
        match (r.pin, auth.is_some()) {
            (true, false) => return Err(TpmError::PinRequired),
            (false, true) => return Err(TpmError::NoPinOnThisKey),
            _ => {}
        }
        let der = handle
            .create_signature(Algorithm::ECDSASignatureMessageX962SHA256, message)
            .map_err(|e| error_from_security_code(e.code(), "sign"))?;
        signature_from_der(&der)
    }

    /// The passcode and biometry belong to the OS: always `Unsupported`.
    pub fn change_auth(
        &self,
        _key: &KeyBlob,
        _old: &[u8],
        _new: &[u8],
    ) -> Result<KeyBlob, TpmError> {
        Err(TpmError::Unsupported)
    }

    /// Deletes the key from the keychain (and so from the enclave).
    pub fn delete_key(&self, key: &KeyBlob) -> Result<(), TpmError> {
        let (handle, _) = self.find(key)?;
        handle
            .delete()
            .map_err(|e| error_from_security_code(e.code() as isize, "delete the key"))
    }

    /// The OS's passcode and biometry counters are not readable: always `Unsupported`.
    pub fn dictionary_attack_status(&self) -> Result<DaStatus, TpmError> {
        Err(TpmError::Unsupported)
    }

    /// No TPM attestation on Apple: always `Unsupported`. Apple's counterpart is App
    /// Attest (`DCAppAttestService`), whose attestation object (CBOR, an Apple-rooted
    /// certificate chain over a key made by the service itself, not by us) would need its
    /// own verifier at the issuer.
    pub fn attestation_start(&self) -> Result<AttestationStart, TpmError> {
        Err(TpmError::Unsupported)
    }

    /// No TPM attestation on Apple: always `Unsupported`.
    pub fn activate(
        &self,
        _ak: &AkBlob,
        _id_object: &[u8],
        _encrypted_secret: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, TpmError> {
        Err(TpmError::Unsupported)
    }

    /// No TPM attestation on Apple: always `Unsupported`.
    pub fn certify(
        &self,
        _ak: &AkBlob,
        _key: &KeyBlob,
        _key_auth: Option<&[u8]>,
        _qualifying_data: &[u8],
    ) -> Result<KeyCertification, TpmError> {
        Err(TpmError::Unsupported)
    }
}
