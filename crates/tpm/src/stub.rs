//! Platforms without a key store here (neither Linux's TSS, Windows' Platform Crypto
//! Provider nor Apple's Secure Enclave): the API exists so the wallet builds everywhere,
//! and every call says `Unsupported`.

use p256::ecdsa::Signature;
use zeroize::Zeroizing;

use crate::{AkBlob, AttestationStart, DaStatus, KeyAuth, KeyBlob, KeyCertification, TpmError};

/// A TPM connection; never obtainable on this platform.
#[derive(Debug)]
pub struct Tpm {
    _private: (),
}

impl Tpm {
    /// Always `Unsupported` here.
    pub fn open() -> Result<Tpm, TpmError> {
        Err(TpmError::Unsupported)
    }
    /// Always `Unsupported` here.
    pub fn open_with(_tcti: &str) -> Result<Tpm, TpmError> {
        Err(TpmError::Unsupported)
    }
    /// The TCTI string (none here).
    pub fn tcti(&self) -> &str {
        ""
    }
    /// Always `Unsupported` here.
    pub fn create_key(&self, _auth: KeyAuth) -> Result<KeyBlob, TpmError> {
        Err(TpmError::Unsupported)
    }
    /// Always `Unsupported` here.
    pub fn sign(
        &self,
        _key: &KeyBlob,
        _auth: Option<&[u8]>,
        _message: &[u8],
    ) -> Result<Signature, TpmError> {
        Err(TpmError::Unsupported)
    }
    /// Always `Unsupported` here.
    pub fn change_auth(
        &self,
        _key: &KeyBlob,
        _old: &[u8],
        _new: &[u8],
    ) -> Result<KeyBlob, TpmError> {
        Err(TpmError::Unsupported)
    }
    /// Always `Unsupported` here.
    pub fn delete_key(&self, _key: &KeyBlob) -> Result<(), TpmError> {
        Err(TpmError::Unsupported)
    }
    /// Always `Unsupported` here.
    pub fn dictionary_attack_status(&self) -> Result<DaStatus, TpmError> {
        Err(TpmError::Unsupported)
    }
    /// Always `Unsupported` here.
    pub fn attestation_start(&self) -> Result<AttestationStart, TpmError> {
        Err(TpmError::Unsupported)
    }
    /// Always `Unsupported` here.
    pub fn activate(
        &self,
        _ak: &AkBlob,
        _id_object: &[u8],
        _encrypted_secret: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, TpmError> {
        Err(TpmError::Unsupported)
    }
    /// Always `Unsupported` here.
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
