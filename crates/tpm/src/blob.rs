//! The key blobs the wallet's vault stores, and their byte encoding.

use p256::ecdsa::VerifyingKey;

use crate::TpmError;
use crate::public_area::PublicArea;

/// A key made by the TPM: its marshalled TPM2B_PUBLIC and TPM2B_PRIVATE. The private part
/// is encrypted and integrity-protected under this TPM's storage primary key, so the blob
/// is safe to store outside the TPM and useless on another TPM.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyBlob {
    /// Marshalled TPM2B_PUBLIC (2-byte size, then TPMT_PUBLIC).
    pub public: Vec<u8>,
    /// Marshalled TPM2B_PRIVATE (2-byte size, then the wrapped private area).
    pub private: Vec<u8>,
}

/// An attestation key: restricted ECDSA P-256, wrapped under the endorsement key. Same
/// encoding as [`KeyBlob`]; a separate type so one cannot be passed for the other.
#[derive(Clone, PartialEq, Eq)]
pub struct AkBlob {
    /// Marshalled TPM2B_PUBLIC.
    pub public: Vec<u8>,
    /// Marshalled TPM2B_PRIVATE.
    pub private: Vec<u8>,
}

impl std::fmt::Debug for KeyBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KeyBlob {{ public: {} bytes, private: {} bytes }}",
            self.public.len(),
            self.private.len()
        )
    }
}

impl std::fmt::Debug for AkBlob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "AkBlob {{ public: {} bytes, private: {} bytes }}",
            self.public.len(),
            self.private.len()
        )
    }
}

/// Version byte of the blob encoding, so a later format can be told apart.
const BLOB_VERSION: u8 = 1;

/// `version ‖ u32 BE len ‖ public ‖ u32 BE len ‖ private`.
fn encode(public: &[u8], private: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(9 + public.len() + private.len());
    out.push(BLOB_VERSION);
    for part in [public, private] {
        // Both parts are TPM2B structures, at most 64 KiB, so the length always fits.
        out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn decode(bytes: &[u8]) -> Result<(Vec<u8>, Vec<u8>), TpmError> {
    let bad = |what| TpmError::Malformed { what };
    let (&version, mut rest) = bytes.split_first().ok_or(bad("empty blob"))?;
    if version != BLOB_VERSION {
        return Err(bad("unknown blob version"));
    }
    let mut parts = Vec::with_capacity(2);
    for _ in 0..2 {
        if rest.len() < 4 {
            return Err(bad("truncated blob"));
        }
        let (len, tail) = rest.split_at(4);
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if tail.len() < len {
            return Err(bad("truncated blob"));
        }
        let (part, tail) = tail.split_at(len);
        check_tpm2b(part)?;
        parts.push(part.to_vec());
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(bad("trailing bytes after blob"));
    }
    let private = parts.pop().unwrap_or_default();
    let public = parts.pop().unwrap_or_default();
    Ok((public, private))
}

/// A TPM2B is a 2-byte big-endian size followed by exactly that many bytes.
fn check_tpm2b(part: &[u8]) -> Result<(), TpmError> {
    match part {
        [a, b, rest @ ..] if usize::from(u16::from_be_bytes([*a, *b])) == rest.len() => Ok(()),
        _ => Err(TpmError::Malformed {
            what: "blob part is not a TPM2B",
        }),
    }
}

impl KeyBlob {
    /// The stored form: a version byte, then each part with a 4-byte big-endian length.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(&self.public, &self.private)
    }

    /// Parses [`KeyBlob::to_bytes`]; checks the framing only (the TPM checks the rest when
    /// the key is loaded).
    pub fn from_bytes(bytes: &[u8]) -> Result<KeyBlob, TpmError> {
        let (public, private) = decode(bytes)?;
        Ok(KeyBlob { public, private })
    }

    /// The key's parsed public area.
    pub fn public_area(&self) -> Result<PublicArea, TpmError> {
        PublicArea::parse(&self.public)
    }

    /// The P-256 public key, from the public area's unique point.
    /// For a key kept by a platform store (Windows PCP, Apple Secure Enclave), the SEC1
    /// point the blob carries instead ([`crate::platform_key`]).
    pub fn public_key(&self) -> Result<VerifyingKey, TpmError> {
        if let Some(key) = crate::platform_key::sec1_public(&self.public) {
            return key;
        }
        self.public_area()?.p256_key()
    }

    /// Whether the key demands its authValue through a policy session (a PIN key); for a
    /// platform key, whether it was made with a PIN (or user presence on Apple).
    pub fn needs_pin(&self) -> Result<bool, TpmError> {
        if let Some(r) = crate::platform_key::PlatformKeyRef::from_blob(self) {
            return Ok(r.pin);
        }
        Ok(self.public_area()?.is_pin_key())
    }
}

impl AkBlob {
    /// Same encoding as [`KeyBlob::to_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(&self.public, &self.private)
    }

    /// Parses [`AkBlob::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<AkBlob, TpmError> {
        let (public, private) = decode(bytes)?;
        Ok(AkBlob { public, private })
    }

    /// The AK's P-256 public key (it signs certifications).
    pub fn public_key(&self) -> Result<VerifyingKey, TpmError> {
        PublicArea::parse(&self.public)?.p256_key()
    }

    /// The AK's TPM name (what TPM2_MakeCredential binds the credential to).
    pub fn name(&self) -> Result<Vec<u8>, TpmError> {
        crate::tpm_name(&self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let blob = KeyBlob {
            public: vec![0, 2, 9, 9],
            private: vec![0, 3, 1, 2, 3],
        };
        let bytes = blob.to_bytes();
        assert_eq!(KeyBlob::from_bytes(&bytes).unwrap(), blob);
        assert!(KeyBlob::from_bytes(&bytes[..bytes.len() - 1]).is_err());
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(KeyBlob::from_bytes(&longer).is_err());
        let mut version = bytes.clone();
        version[0] = 2;
        assert!(KeyBlob::from_bytes(&version).is_err());
        assert!(KeyBlob::from_bytes(&[]).is_err());
        let not_2b = KeyBlob {
            public: vec![0, 5, 1],
            private: vec![0, 0],
        };
        assert!(KeyBlob::from_bytes(&not_2b.to_bytes()).is_err());
    }
}
