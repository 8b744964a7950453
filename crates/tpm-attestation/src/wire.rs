//! Bounds-checked readers for the few TPM 2.0 structures the issuer receives
//! (TPM 2.0 Library, Part 2 "Structures"; section numbers of revision 1.59). Every read checks the remaining length; any
//! input, however malformed, ends in `Err`, never in a panic. All integers are big-endian
//! (Part 1 §18.6 "Canonical form").

use sha2::{Digest, Sha256};

/// TPM_ALG_ID values (Part 2 §6.3).
pub(crate) mod alg {
    pub const SHA256: u16 = 0x000B;
    pub const NULL: u16 = 0x0010;
    pub const ECDSA: u16 = 0x0018;
    pub const ECC: u16 = 0x0023;
}

/// TPM_ECC_CURVE (Part 2 §6.4): NIST P-256.
pub(crate) const ECC_NIST_P256: u16 = 0x0003;

/// TPM_GENERATED_VALUE (Part 2 §6.2): only the TPM puts it in front of a structure it
/// signs, and a restricted signing key refuses to sign data that starts with it.
pub(crate) const TPM_GENERATED_VALUE: u32 = 0xff54_4347;

/// TPM_ST_ATTEST_CERTIFY (Part 2 §6.9).
pub(crate) const TPM_ST_ATTEST_CERTIFY: u16 = 0x8017;

/// TPMA_OBJECT bits (Part 2 §8.3.2).
pub(crate) mod attr {
    pub const FIXED_TPM: u32 = 1 << 1;
    pub const FIXED_PARENT: u32 = 1 << 4;
    pub const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
    pub const USER_WITH_AUTH: u32 = 1 << 6;
    pub const NO_DA: u32 = 1 << 10;
    pub const RESTRICTED: u32 = 1 << 16;
    pub const DECRYPT: u32 = 1 << 17;
    pub const SIGN: u32 = 1 << 18;
}

/// Why a structure could not be read (kept short: it lands in an error message).
pub(crate) type WireError = &'static str;

/// A cursor over untrusted bytes.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    pub(crate) fn take(&mut self, n: usize, what: WireError) -> Result<&'a [u8], WireError> {
        if n > self.bytes.len() {
            return Err(what);
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    pub(crate) fn u8(&mut self, what: WireError) -> Result<u8, WireError> {
        Ok(self.take(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: WireError) -> Result<u16, WireError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, what: WireError) -> Result<u32, WireError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self, what: WireError) -> Result<u64, WireError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A TPM2B: a 2-byte size, then that many bytes (Part 2 §10.4).
    pub(crate) fn tpm2b(&mut self, what: WireError) -> Result<&'a [u8], WireError> {
        let n = self.u16(what)?;
        self.take(usize::from(n), what)
    }

    pub(crate) fn finish(self, what: WireError) -> Result<(), WireError> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(what)
        }
    }
}

/// Unwraps a TPM2B whose size must cover the rest of `bytes` exactly (a TPM2B_PUBLIC or a
/// TPM2B_ATTEST as sent by the wallet).
pub(crate) fn outer_tpm2b(bytes: &[u8], what: WireError) -> Result<&[u8], WireError> {
    let mut r = Reader::new(bytes);
    let inner = r.tpm2b(what)?;
    r.finish(what)?;
    Ok(inner)
}

/// An ECC signing key's public area (TPMT_PUBLIC with type TPM_ALG_ECC, Part 2 §12.2.4;
/// TPMS_ECC_PARMS §12.2.3.6). Only what the checks need is kept.
#[derive(Debug, Clone)]
pub(crate) struct EccPublic {
    pub name_alg: u16,
    pub attributes: u32,
    pub auth_policy: Vec<u8>,
    /// TPMT_SYM_DEF_OBJECT.algorithm (TPM_ALG_NULL for a signing key).
    pub symmetric: u16,
    /// TPMT_ECC_SCHEME: scheme and its hash (TPM_ALG_NULL scheme has no hash).
    pub scheme: u16,
    pub scheme_hash: Option<u16>,
    pub curve: u16,
    /// The point, each coordinate left-padded to 32 bytes; `None` if a coordinate is longer
    /// than 32 bytes (then the curve check refuses the key anyway).
    pub point: Option<([u8; 32], [u8; 32])>,
}

/// A parsed public area: ECC, or another type (not parsed further).
pub(crate) enum Public {
    Ecc(EccPublic),
    Other,
}

/// Parses a TPMT_PUBLIC (no size prefix). Keys of other types than ECC are only identified
/// by their type, not parsed further.
pub(crate) fn parse_public(tpmt: &[u8]) -> Result<Public, WireError> {
    const BAD: WireError = "truncated or malformed TPMT_PUBLIC";
    let mut r = Reader::new(tpmt);
    let key_type = r.u16(BAD)?;
    let name_alg = r.u16(BAD)?;
    let attributes = r.u32(BAD)?;
    let auth_policy = r.tpm2b(BAD)?.to_vec();
    if key_type != alg::ECC {
        return Ok(Public::Other);
    }
    // TPMT_SYM_DEF_OBJECT (§11.1.7): algorithm, then keyBits and mode unless NULL.
    let symmetric = r.u16(BAD)?;
    if symmetric != alg::NULL {
        r.u16(BAD)?;
        r.u16(BAD)?;
    }
    // TPMT_ECC_SCHEME (§11.2.5.6): scheme, then its details unless NULL. Every ECC scheme's
    // details start with hashAlg; ECDAA adds a 2-byte count (§11.2.1.3).
    const TPM_ALG_ECDAA: u16 = 0x001A;
    let scheme = r.u16(BAD)?;
    let scheme_hash = if scheme == alg::NULL {
        None
    } else {
        let h = r.u16(BAD)?;
        if scheme == TPM_ALG_ECDAA {
            r.u16(BAD)?;
        }
        Some(h)
    };
    let curve = r.u16(BAD)?;
    // TPMT_KDF_SCHEME (§11.2.3.3): scheme, then hashAlg unless NULL.
    if r.u16(BAD)? != alg::NULL {
        r.u16(BAD)?;
    }
    // TPMS_ECC_POINT (§11.2.5.2): x and y as TPM2B_ECC_PARAMETER.
    let x = r.tpm2b(BAD)?;
    let y = r.tpm2b(BAD)?;
    r.finish(BAD)?;
    Ok(Public::Ecc(EccPublic {
        name_alg,
        attributes,
        auth_policy,
        symmetric,
        scheme,
        scheme_hash,
        curve,
        point: left_pad32(x).zip(left_pad32(y)),
    }))
}

/// A TPM outputs an ECC parameter in the curve's size, but a leading zero byte may be
/// trimmed by some software; both forms are accepted.
pub(crate) fn left_pad32(v: &[u8]) -> Option<[u8; 32]> {
    if v.len() > 32 {
        return None;
    }
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(v);
    Some(out)
}

/// The Name of an object whose nameAlg is SHA-256: nameAlg ‖ SHA-256(TPMT_PUBLIC)
/// (Part 1 §16 "Names").
pub(crate) fn name_sha256(tpmt_public: &[u8]) -> Vec<u8> {
    let mut name = Vec::with_capacity(34);
    name.extend_from_slice(&alg::SHA256.to_be_bytes());
    name.extend_from_slice(&Sha256::digest(tpmt_public));
    name
}

/// TPMS_ATTEST (Part 2 §10.12.12) of type TPM_ST_ATTEST_CERTIFY, with TPMS_CERTIFY_INFO
/// (§10.12.3) as its `attested` member.
#[derive(Debug)]
pub(crate) struct Attest<'a> {
    pub magic: u32,
    pub attest_type: u16,
    pub extra_data: &'a [u8],
    /// TPMS_CERTIFY_INFO.name: the Name of the certified object.
    pub certified_name: &'a [u8],
}

/// Parses a TPMS_ATTEST far enough to check magic and type; a certification's body is read
/// only when the type says so (other types' bodies are not parsed, and refused later).
pub(crate) fn parse_attest(bytes: &[u8]) -> Result<Attest<'_>, WireError> {
    const BAD: WireError = "truncated or malformed TPMS_ATTEST";
    let mut r = Reader::new(bytes);
    let magic = r.u32(BAD)?;
    let attest_type = r.u16(BAD)?;
    let _qualified_signer = r.tpm2b(BAD)?;
    let extra_data = r.tpm2b(BAD)?;
    // TPMS_CLOCK_INFO (§10.11.1): clock, resetCount, restartCount, safe.
    r.u64(BAD)?;
    r.u32(BAD)?;
    r.u32(BAD)?;
    r.u8(BAD)?;
    let _firmware_version = r.u64(BAD)?;
    let mut certified_name: &[u8] = &[];
    if attest_type == TPM_ST_ATTEST_CERTIFY {
        certified_name = r.tpm2b(BAD)?;
        let _qualified_name = r.tpm2b(BAD)?;
        r.finish(BAD)?;
    }
    Ok(Attest {
        magic,
        attest_type,
        extra_data,
        certified_name,
    })
}

/// An ECDSA signature from a TPMT_SIGNATURE (Part 2 §11.3.4): sigAlg, then
/// TPMS_SIGNATURE_ECDSA (§11.3.2): hash, signatureR, signatureS.
#[derive(Debug)]
pub(crate) struct EcdsaSignature {
    pub sig_alg: u16,
    pub hash: u16,
    pub r: Option<[u8; 32]>,
    pub s: Option<[u8; 32]>,
}

pub(crate) fn parse_signature(bytes: &[u8]) -> Result<EcdsaSignature, WireError> {
    const BAD: WireError = "truncated or malformed TPMT_SIGNATURE";
    let mut r = Reader::new(bytes);
    let sig_alg = r.u16(BAD)?;
    if sig_alg != alg::ECDSA {
        return Ok(EcdsaSignature {
            sig_alg,
            hash: 0,
            r: None,
            s: None,
        });
    }
    let hash = r.u16(BAD)?;
    let sig_r = r.tpm2b(BAD)?;
    let sig_s = r.tpm2b(BAD)?;
    r.finish(BAD)?;
    Ok(EcdsaSignature {
        sig_alg,
        hash,
        r: left_pad32(sig_r),
        s: left_pad32(sig_s),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_refuses_short_input() {
        let mut r = Reader::new(&[0x00, 0x05, 1, 2]);
        assert!(r.tpm2b("x").is_err());
        assert!(outer_tpm2b(&[0x00, 0x01, 7, 8], "x").is_err());
        assert_eq!(outer_tpm2b(&[0x00, 0x01, 7], "x").unwrap(), &[7]);
        assert!(left_pad32(&[1; 33]).is_none());
        assert_eq!(left_pad32(&[1]).unwrap()[31], 1);
    }
}
