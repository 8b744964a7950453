//! A pure-Rust reader of the ECC public areas (TPM2B_PUBLIC) this crate makes, so the
//! public key and the authorisation attributes can be read without a TPM (also on
//! platforms where the TSS is not available).

use p256::ecdsa::VerifyingKey;

use crate::TpmError;

/// TPM_ALG_ECC.
pub const TPM_ALG_ECC: u16 = 0x0023;
/// TPM_ALG_SHA256.
pub const TPM_ALG_SHA256: u16 = 0x000B;
/// TPM_ALG_NULL.
pub const TPM_ALG_NULL: u16 = 0x0010;
/// TPM_ALG_ECDSA.
pub const TPM_ALG_ECDSA: u16 = 0x0018;
/// TPM_ALG_ECDAA (its scheme carries a count as well as a hash).
const TPM_ALG_ECDAA: u16 = 0x001A;
/// TPM_ECC_NIST_P256.
pub const TPM_ECC_NIST_P256: u16 = 0x0003;

/// TPMA_OBJECT bits.
pub mod attr {
    /// fixedTPM: the key cannot be duplicated off this TPM.
    pub const FIXED_TPM: u32 = 1 << 1;
    /// stClear.
    pub const ST_CLEAR: u32 = 1 << 2;
    /// fixedParent: the key cannot be re-wrapped under another parent.
    pub const FIXED_PARENT: u32 = 1 << 4;
    /// sensitiveDataOrigin: the TPM generated the private key.
    pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
    /// userWithAuth: the USER role may use the authValue directly (password/HMAC).
    pub const USER_WITH_AUTH: u32 = 1 << 6;
    /// adminWithPolicy: the ADMIN role needs the policy.
    pub const ADMIN_WITH_POLICY: u32 = 1 << 7;
    /// noDA: authorisation failures do not count against the lockout.
    pub const NO_DA: u32 = 1 << 10;
    /// encryptedDuplication.
    pub const ENCRYPTED_DUPLICATION: u32 = 1 << 11;
    /// restricted: signs only TPM-made structures (attestation keys).
    pub const RESTRICTED: u32 = 1 << 16;
    /// decrypt.
    pub const DECRYPT: u32 = 1 << 17;
    /// sign.
    pub const SIGN: u32 = 1 << 18;
}

/// The fields of an ECC TPMT_PUBLIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicArea {
    /// TPMI_ALG_PUBLIC (always ECC here).
    pub object_type: u16,
    /// The name algorithm.
    pub name_alg: u16,
    /// TPMA_OBJECT.
    pub attributes: u32,
    /// authPolicy (empty if none).
    pub auth_policy: Vec<u8>,
    /// The symmetric algorithm of a storage key (TPM_ALG_NULL for signing keys).
    pub symmetric: u16,
    /// The signing scheme (TPM_ALG_NULL if any is allowed).
    pub scheme: u16,
    /// The scheme's hash (TPM_ALG_NULL when the scheme is NULL).
    pub scheme_hash: u16,
    /// TPMI_ECC_CURVE.
    pub curve: u16,
    /// The public point's x coordinate, as the TPM wrote it.
    pub x: Vec<u8>,
    /// The public point's y coordinate.
    pub y: Vec<u8>,
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], TpmError> {
        if self.0.len() < n {
            return Err(TpmError::Malformed {
                what: "truncated public area",
            });
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn u16(&mut self) -> Result<u16, TpmError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, TpmError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn tpm2b(&mut self) -> Result<Vec<u8>, TpmError> {
        let n = self.u16()?;
        Ok(self.take(usize::from(n))?.to_vec())
    }
}

impl PublicArea {
    /// Parses a marshalled TPM2B_PUBLIC holding an ECC key.
    pub fn parse(tpm2b_public: &[u8]) -> Result<PublicArea, TpmError> {
        let mut outer = Reader(tpm2b_public);
        let body = outer.tpm2b()?;
        if !outer.0.is_empty() {
            return Err(TpmError::Malformed {
                what: "trailing bytes after TPM2B_PUBLIC",
            });
        }
        let mut r = Reader(&body);
        let object_type = r.u16()?;
        if object_type != TPM_ALG_ECC {
            return Err(TpmError::Malformed {
                what: "not an ECC public area",
            });
        }
        let name_alg = r.u16()?;
        let attributes = r.u32()?;
        let auth_policy = r.tpm2b()?;
        // TPMT_SYM_DEF_OBJECT: algorithm, then key bits and mode unless NULL.
        let symmetric = r.u16()?;
        if symmetric != TPM_ALG_NULL {
            r.take(4)?;
        }
        // TPMT_ECC_SCHEME: scheme, then its hash (and ECDAA's count) unless NULL.
        let scheme = r.u16()?;
        let mut scheme_hash = TPM_ALG_NULL;
        if scheme != TPM_ALG_NULL {
            scheme_hash = r.u16()?;
            if scheme == TPM_ALG_ECDAA {
                r.take(2)?;
            }
        }
        let curve = r.u16()?;
        // TPMT_KDF_SCHEME: scheme, then its hash unless NULL.
        if r.u16()? != TPM_ALG_NULL {
            r.take(2)?;
        }
        let x = r.tpm2b()?;
        let y = r.tpm2b()?;
        if !r.0.is_empty() {
            return Err(TpmError::Malformed {
                what: "trailing bytes in TPMT_PUBLIC",
            });
        }
        Ok(PublicArea {
            object_type,
            name_alg,
            attributes,
            auth_policy,
            symmetric,
            scheme,
            scheme_hash,
            curve,
            x,
            y,
        })
    }

    /// Whether every use needs the policy (userWithAuth clear) and the policy is exactly
    /// TPM2_PolicyAuthValue: what a PIN key looks like.
    pub fn is_pin_key(&self) -> bool {
        self.attributes & attr::USER_WITH_AUTH == 0
            && self.auth_policy == crate::policy_auth_value_digest()
    }

    /// The P-256 public key from the unique point.
    pub fn p256_key(&self) -> Result<VerifyingKey, TpmError> {
        if self.curve != TPM_ECC_NIST_P256 {
            return Err(TpmError::Malformed {
                what: "not a P-256 key",
            });
        }
        let mut sec1 = [0u8; 65];
        sec1[0] = 0x04;
        left_pad(&self.x, &mut sec1[1..33])?;
        left_pad(&self.y, &mut sec1[33..65])?;
        VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| TpmError::Malformed {
            what: "public point not on P-256",
        })
    }
}

/// TPM2B_ECC_PARAMETERs may drop leading zero bytes; P-256 coordinates are 32 bytes.
fn left_pad(src: &[u8], dst: &mut [u8]) -> Result<(), TpmError> {
    if src.len() > dst.len() {
        return Err(TpmError::Malformed {
            what: "coordinate too long",
        });
    }
    let start = dst.len() - src.len();
    dst[start..].copy_from_slice(src);
    Ok(())
}
