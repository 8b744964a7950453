//! TPM2_MakeCredential done in software (TPM 2.0 Library Part 1 §24 "Credential
//! Protection", Part 3 §12.6 "TPM2_MakeCredential"), for an EK made from a TCG default
//! template (TCG EK Credential Profile, L-1 RSA 2048 or L-2 ECC NIST P-256): nameAlg
//! SHA-256, symmetric AES-128-CFB.

use aes::Aes128;
use cfb_mode::Encryptor;
use cfb_mode::cipher::KeyIvInit;
use hmac::{Hmac, KeyInit, Mac};
use rand_core::TryCryptoRng;
use sha2::Sha256;
use zeroize::Zeroizing;

/// KDFa (Part 1 §11.4.10.2): SP 800-108 counter-mode KDF with HMAC-SHA-256.
/// Each block is HMAC(key, [i]₃₂ ‖ label ‖ 0x00 ‖ contextU ‖ contextV ‖ [bits]₃₂); the
/// label is followed by its terminating zero octet, as the reference implementation hashes
/// it.
pub(crate) fn kdfa_sha256(
    key: &[u8],
    label: &[u8],
    context_u: &[u8],
    context_v: &[u8],
    bits: u32,
) -> Zeroizing<Vec<u8>> {
    let bytes = bits.div_ceil(8) as usize;
    let mut out = Zeroizing::new(Vec::with_capacity(bytes + 32));
    let mut counter: u32 = 0;
    while out.len() < bytes {
        counter += 1;
        // HMAC accepts keys of any length: new_from_slice cannot fail for it.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
            break;
        };
        mac.update(&counter.to_be_bytes());
        mac.update(label);
        mac.update(&[0]);
        mac.update(context_u);
        mac.update(context_v);
        mac.update(&bits.to_be_bytes());
        out.extend_from_slice(&mac.finalize().into_bytes());
    }
    out.truncate(bytes);
    out
}

/// Why MakeCredential could not be done.
#[derive(Debug)]
pub(crate) enum MakeCredentialError {
    Randomness,
    Encryption,
}

/// The two outputs of TPM2_MakeCredential, each already marshalled as its TPM2B.
pub(crate) struct Credential {
    /// TPM2B_ID_OBJECT (Part 2 §12.4.3): size ‖ TPM2B_DIGEST(integrityHMAC) ‖ encIdentity.
    pub id_object: Vec<u8>,
    /// TPM2B_ENCRYPTED_SECRET (Part 2 §11.4.33): size ‖ RSA-OAEP(seed).
    pub encrypted_secret: Vec<u8>,
}

/// An EK's public key, from one of the TCG default templates (L-1 RSA 2048, L-2 ECC
/// NIST P-256): both have nameAlg SHA-256 and AES-128-CFB.
pub(crate) enum EkPublic {
    Rsa(rsa::PublicKey),
    EccP256(p256::PublicKey),
}

/// KDFe (Part 1 §11.4.10.3): SP 800-56A concatenation KDF with SHA-256, for one 256-bit
/// output: SHA-256([1]₃₂ ‖ Z ‖ label ‖ 0x00 ‖ partyUInfo ‖ partyVInfo).
fn kdfe_sha256_256(z: &[u8], label: &[u8], party_u: &[u8], party_v: &[u8]) -> Zeroizing<[u8; 32]> {
    use sha2::Digest;
    let mut h = Sha256::new();
    h.update(1u32.to_be_bytes());
    h.update(z);
    h.update(label);
    h.update([0]);
    h.update(party_u);
    h.update(party_v);
    Zeroizing::new(h.finalize().into())
}

/// The seed and its encryption to the EK (Part 1 §24.4 and Annex B/C, "secret sharing"):
/// the seed is the size of the EK's nameAlg digest, with the label "IDENTITY".
/// * RSA: a random seed, RSA-OAEP-encrypted (SHA-256, label "IDENTITY" with its zero);
///   the TPM2B_ENCRYPTED_SECRET holds the ciphertext.
/// * ECC: one-pass ECDH with an ephemeral key: Z = x(d_e·Q_ek),
///   seed = KDFe(SHA-256, Z, "IDENTITY", x(Q_e), x(Q_ek), 256); the
///   TPM2B_ENCRYPTED_SECRET holds Q_e as a marshalled TPMS_ECC_POINT.
fn seed_for<R: TryCryptoRng + ?Sized>(
    ek: &EkPublic,
    rng: &mut R,
) -> Result<(Zeroizing<[u8; 32]>, Vec<u8>), MakeCredentialError> {
    match ek {
        EkPublic::Rsa(ek) => {
            let mut seed = Zeroizing::new([0u8; 32]);
            rng.try_fill_bytes(seed.as_mut())
                .map_err(|_| MakeCredentialError::Randomness)?;
            let oaep = rsa::Oaep::<Sha256>::new_with_label(b"IDENTITY\0".to_vec());
            let encrypted = ek
                .encrypt(rng, oaep, seed.as_ref())
                .map_err(|_| MakeCredentialError::Encryption)?;
            Ok((seed, encrypted))
        }
        EkPublic::EccP256(ek) => {
            use p256::elliptic_curve::sec1::ToSec1Point;
            let mut d = None;
            for _ in 0..8 {
                let mut bytes = Zeroizing::new([0u8; 32]);
                rng.try_fill_bytes(bytes.as_mut())
                    .map_err(|_| MakeCredentialError::Randomness)?;
                if let Ok(s) = p256::NonZeroScalar::try_from(&bytes[..]) {
                    d = Some(s);
                    break;
                }
            }
            let d = d.ok_or(MakeCredentialError::Randomness)?;
            let q_e = p256::PublicKey::from_secret_scalar(&d).to_sec1_point(false);
            let shared = p256::PublicKey::from_affine((ek.to_projective() * *d).to_affine())
                .map_err(|_| MakeCredentialError::Encryption)?;
            // Z is secret but lives only on this stack frame (Sec1Point is not Zeroize).
            let z = shared.to_sec1_point(false);
            let q_ek = ek.to_sec1_point(false);
            let (Some(z_x), Some(e_x), Some(e_y), Some(ek_x)) = (z.x(), q_e.x(), q_e.y(), q_ek.x())
            else {
                return Err(MakeCredentialError::Encryption);
            };
            let seed = kdfe_sha256_256(z_x, b"IDENTITY", e_x, ek_x);
            let mut point = Vec::with_capacity(68);
            point.extend_from_slice(&(e_x.len() as u16).to_be_bytes());
            point.extend_from_slice(e_x);
            point.extend_from_slice(&(e_y.len() as u16).to_be_bytes());
            point.extend_from_slice(e_y);
            Ok((seed, point))
        }
    }
}

/// MakeCredential(EK, objectName, credential) for an EK with nameAlg SHA-256 and
/// AES-128-CFB as its symmetric algorithm.
pub(crate) fn make_credential<R: TryCryptoRng + ?Sized>(
    ek: &EkPublic,
    object_name: &[u8],
    credential: &[u8; 32],
    rng: &mut R,
) -> Result<Credential, MakeCredentialError> {
    let (seed, encrypted_seed) = seed_for(ek, rng)?;

    // §24.4: symKey = KDFa(nameAlg, seed, "STORAGE", Name, ∅, 128) for the EK's AES-128.
    let sym_key = kdfa_sha256(seed.as_ref(), b"STORAGE", object_name, &[], 128);
    // The credential is encrypted as a marshalled TPM2B_DIGEST, in CFB mode with a zero IV.
    let mut enc_identity = Vec::with_capacity(2 + credential.len());
    enc_identity.extend_from_slice(&(credential.len() as u16).to_be_bytes());
    enc_identity.extend_from_slice(credential);
    let cipher = Encryptor::<Aes128>::new_from_slices(&sym_key, &[0u8; 16])
        .map_err(|_| MakeCredentialError::Encryption)?;
    cipher.encrypt(&mut enc_identity);

    // §24.5: HMACkey = KDFa(nameAlg, seed, "INTEGRITY", ∅, ∅, digest bits);
    // outerHMAC = HMAC(HMACkey, encIdentity ‖ Name).
    let hmac_key = kdfa_sha256(seed.as_ref(), b"INTEGRITY", &[], &[], 256);
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&hmac_key)
        .map_err(|_| MakeCredentialError::Encryption)?;
    mac.update(&enc_identity);
    mac.update(object_name);
    let integrity = mac.finalize().into_bytes();

    // TPMS_ID_OBJECT (Part 2 §12.4.2): integrityHMAC as TPM2B_DIGEST, then encIdentity
    // (not size-prefixed: its size follows from the TPM2B_ID_OBJECT's).
    let body_len = 2 + integrity.len() + enc_identity.len();
    let mut id_object = Vec::with_capacity(2 + body_len);
    id_object.extend_from_slice(&(body_len as u16).to_be_bytes());
    id_object.extend_from_slice(&(integrity.len() as u16).to_be_bytes());
    id_object.extend_from_slice(&integrity);
    id_object.extend_from_slice(&enc_identity);

    let mut encrypted_secret = Vec::with_capacity(2 + encrypted_seed.len());
    encrypted_secret.extend_from_slice(&(encrypted_seed.len() as u16).to_be_bytes());
    encrypted_secret.extend_from_slice(&encrypted_seed);
    Ok(Credential {
        id_object,
        encrypted_secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdfa_lengths_and_determinism() {
        let a = kdfa_sha256(b"k", b"STORAGE", b"n", b"", 128);
        assert_eq!(a.len(), 16);
        let b = kdfa_sha256(b"k", b"STORAGE", b"n", b"", 512);
        assert_eq!(b.len(), 64);
        // Different output length → different blocks (the length is an input).
        assert_ne!(&a[..], &b[..16]);
        assert_eq!(a, kdfa_sha256(b"k", b"STORAGE", b"n", b"", 128));
    }
}
