//! TPM2_MakeCredential done in software (TPM 2.0 Library Part 1 §24 "Credential
//! Protection", Part 3 §12.6 "TPM2_MakeCredential"), for an RSA 2048 EK made from the TCG
//! default template: nameAlg SHA-256, symmetric AES-128-CFB (TCG EK Credential Profile,
//! template L-1).

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

/// MakeCredential(EK, objectName, credential) for an RSA EK with nameAlg SHA-256 and
/// AES-128-CFB as its symmetric algorithm.
pub(crate) fn make_credential<R: TryCryptoRng + ?Sized>(
    ek: &rsa::PublicKey,
    object_name: &[u8],
    credential: &[u8; 32],
    rng: &mut R,
) -> Result<Credential, MakeCredentialError> {
    // Part 1 §24.4 and Annex B (RSA secret sharing): a random seed the size of
    // the EK's nameAlg digest, encrypted with RSA-OAEP (nameAlg as hash, label "IDENTITY"
    // with its terminating zero).
    let mut seed = Zeroizing::new([0u8; 32]);
    rng.try_fill_bytes(seed.as_mut())
        .map_err(|_| MakeCredentialError::Randomness)?;
    let oaep = rsa::Oaep::<Sha256>::new_with_label(b"IDENTITY\0".to_vec());
    let encrypted_seed = ek
        .encrypt(rng, oaep, seed.as_ref())
        .map_err(|_| MakeCredentialError::Encryption)?;

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
