//! Windows: device keys in the TPM through CNG's Platform Crypto Provider (PCP,
//! "Microsoft Platform Crypto Provider"), with the same API as the Linux TSS path.
//!
//! Compiled for `x86_64-pc-windows-msvc` (`cargo check`/`clippy`); **never run** — there
//! is no Windows machine or TPM in this project's CI. What differs from Linux:
//! - The PCP persists each key (its TPM-wrapped blob) in the user's profile under a name;
//!   the wallet's [`KeyBlob`] holds that name and the public point
//!   ([`crate::platform_key`]), not the TPM2B areas. A vault copied to another machine
//!   finds no key of that name ([`TpmError::NotThisTpm`]).
//! - A PIN key is made with the PCP's own PIN (`NCRYPT_UI_POLICY` with
//!   `NCRYPT_UI_PROTECT_KEY_FLAG` and `NCRYPT_PIN_PROPERTY` before `NCryptFinalizeKey`):
//!   the PCP turns the PIN into the key's TPM authValue, so wrong PINs count against the
//!   TPM's dictionary-attack lockout. The PIN is passed as the hex of the wallet's PIN
//!   bytes (the property is a UTF-16 string) and every call is silent: no Windows dialog.
//! - The TPM's lockout counters are not readable through the PCP
//!   ([`Tpm::dictionary_attack_status`] is `Unsupported`); the wallet then shows the
//!   errors without the count of tries left.
//! - Key attestation (the AIK flow) is sketched, not written: see [`Tpm::attestation_start`].
//!
//! All `unsafe` of the crate's Windows path is in this module; each block says why it is
//! sound.

use p256::ecdsa::Signature;
use sha2::{Digest, Sha256};
use windows_sys::Win32::Security::Cryptography::{
    BCRYPT_ECCPUBLIC_BLOB, BCRYPT_ECDSA_P256_ALGORITHM, MS_PLATFORM_CRYPTO_PROVIDER,
    NCRYPT_EXPORT_POLICY_PROPERTY, NCRYPT_HANDLE, NCRYPT_KEY_HANDLE,
    NCRYPT_PCP_CHANGEPASSWORD_PROPERTY, NCRYPT_PCP_EKCERT_PROPERTY, NCRYPT_PIN_PROPERTY,
    NCRYPT_PROV_HANDLE, NCRYPT_SILENT_FLAG, NCRYPT_UI_POLICY, NCRYPT_UI_POLICY_PROPERTY,
    NCRYPT_UI_PROTECT_KEY_FLAG, NCryptCreatePersistedKey, NCryptDeleteKey, NCryptExportKey,
    NCryptFinalizeKey, NCryptFreeObject, NCryptGetProperty, NCryptOpenKey,
    NCryptOpenStorageProvider, NCryptSetProperty, NCryptSignHash,
};
use windows_sys::core::{HRESULT, PCWSTR};
use zeroize::Zeroizing;

use crate::platform_key::{
    Platform, PlatformKeyRef, error_from_hresult, fresh_key_name, p256_from_ecc_public_blob,
    signature_from_raw,
};
use crate::{AkBlob, AttestationStart, DaStatus, KeyAuth, KeyBlob, KeyCertification, TpmError};

/// The provider name [`Tpm::open`] uses.
pub const PCP_NAME: &str = "Microsoft Platform Crypto Provider";

/// An NCrypt provider or key handle, freed on drop.
struct Handle(NCRYPT_HANDLE);

impl Drop for Handle {
    fn drop(&mut self) {
        if self.0 != 0 {
            // SAFETY: `self.0` is a handle NCrypt returned to us and that nothing else
            // frees: `Handle` is the only owner (not Clone), and `delete` zeroes it after
            // NCryptDeleteKey, which frees the handle itself.
            unsafe {
                NCryptFreeObject(self.0);
            }
        }
    }
}

fn check(hr: HRESULT, what: &str) -> Result<(), TpmError> {
    if hr >= 0 {
        Ok(())
    } else {
        // An HRESULT is a u32 bit pattern stored in an i32.
        Err(error_from_hresult(hr as u32, what))
    }
}

/// A NUL-terminated UTF-16 string, as NCrypt takes names.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// The PIN as the PCP's PIN property wants it: a NUL-terminated UTF-16 string, here the
/// lowercase hex of the wallet's PIN bytes (which may be a stretched, binary value).
fn pin_property(pin: &[u8]) -> Zeroizing<Vec<u16>> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Zeroizing::new(Vec::with_capacity(pin.len() * 2 + 1));
    for b in pin {
        out.push(u16::from(HEX[usize::from(b >> 4)]));
        out.push(u16::from(HEX[usize::from(b & 0xF)]));
    }
    out.push(0);
    out
}

/// Sets a property from a byte buffer.
fn set_property(object: &Handle, name: PCWSTR, value: &[u8], what: &str) -> Result<(), TpmError> {
    let len = u32::try_from(value.len()).map_err(|_| TpmError::Malformed {
        what: "property value too long",
    })?;
    // SAFETY: `object.0` is a live NCrypt handle owned by `object`; `name` is one of the
    // static NUL-terminated property names of windows-sys; `value` is valid for reads of
    // `len` bytes for the whole call and NCrypt copies it.
    let hr = unsafe { NCryptSetProperty(object.0, name, value.as_ptr(), len, NCRYPT_SILENT_FLAG) };
    check(hr, what)
}

/// Sets the PIN on a key handle (before finalising it, or before signing).
fn set_pin(key: &Handle, pin: &[u8]) -> Result<(), TpmError> {
    let pin = pin_property(pin);
    // The property is the UTF-16 string with its terminator, as bytes.
    let bytes: Zeroizing<Vec<u8>> =
        Zeroizing::new(pin.iter().flat_map(|c| c.to_le_bytes()).collect());
    set_property(key, NCRYPT_PIN_PROPERTY, &bytes, "set the PIN")
}

/// A property of unknown length: asks for the size, then the value.
fn get_property(object: &Handle, name: PCWSTR, what: &str) -> Result<Vec<u8>, TpmError> {
    let mut len = 0u32;
    // SAFETY: sizing call: a null output pointer with size 0 is the documented way to ask
    // for the length, which NCrypt writes to `len`, a live local.
    let hr = unsafe {
        NCryptGetProperty(
            object.0,
            name,
            std::ptr::null_mut(),
            0,
            &mut len,
            NCRYPT_SILENT_FLAG,
        )
    };
    check(hr, what)?;
    let mut out = vec![0u8; len as usize];
    // SAFETY: `out` is valid for writes of `len` bytes (its length), and NCrypt writes at
    // most `len` bytes and the count written into the live local `len`.
    let hr = unsafe {
        NCryptGetProperty(
            object.0,
            name,
            out.as_mut_ptr(),
            len,
            &mut len,
            NCRYPT_SILENT_FLAG,
        )
    };
    check(hr, what)?;
    out.truncate(len as usize);
    Ok(out)
}

/// The BCRYPT_ECCPUBLIC_BLOB of a key.
fn export_public(key: &Handle) -> Result<p256::ecdsa::VerifyingKey, TpmError> {
    let mut len = 0u32;
    // SAFETY: sizing call (null output, size 0); `key.0` is a live key handle; the blob
    // type is a static NUL-terminated string; no parameter list (null is allowed).
    let hr = unsafe {
        NCryptExportKey(
            key.0,
            0,
            BCRYPT_ECCPUBLIC_BLOB,
            std::ptr::null(),
            std::ptr::null_mut(),
            0,
            &mut len,
            NCRYPT_SILENT_FLAG,
        )
    };
    check(hr, "export the public key")?;
    let mut blob = vec![0u8; len as usize];
    // SAFETY: `blob` is valid for writes of `len` bytes; NCrypt writes at most that many
    // and their count into the live local `len`.
    let hr = unsafe {
        NCryptExportKey(
            key.0,
            0,
            BCRYPT_ECCPUBLIC_BLOB,
            std::ptr::null(),
            blob.as_mut_ptr(),
            len,
            &mut len,
            NCRYPT_SILENT_FLAG,
        )
    };
    check(hr, "export the public key")?;
    blob.truncate(len as usize);
    p256_from_ecc_public_blob(&blob)
}

/// Deletes a persisted key and frees its handle (NCryptDeleteKey frees it on success).
fn delete(mut key: Handle) -> Result<(), TpmError> {
    // SAFETY: `key.0` is a live key handle that we own; on success NCryptDeleteKey frees
    // it, so we zero it below and `Drop` does not free it again; on failure it stays ours
    // and `Drop` frees it.
    let hr = unsafe { NCryptDeleteKey(key.0, NCRYPT_SILENT_FLAG) };
    if hr >= 0 {
        key.0 = 0;
    }
    check(hr, "delete the key")
}

/// A connection to the Platform Crypto Provider.
pub struct Tpm {
    provider: Handle,
    name: String,
}

impl std::fmt::Debug for Tpm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tpm").field("provider", &self.name).finish()
    }
}

impl Tpm {
    /// Opens the Microsoft Platform Crypto Provider (the TPM). Fails with
    /// [`TpmError::Unavailable`] if the machine has no usable TPM.
    pub fn open() -> Result<Tpm, TpmError> {
        Self::open_provider(MS_PLATFORM_CRYPTO_PROVIDER, PCP_NAME)
    }

    /// Opens a CNG key storage provider by name (the counterpart of Linux's TCTI): the PCP
    /// in production; "Microsoft Software Key Storage Provider" can stand in for tests on
    /// a machine without a TPM (its keys are software keys and it has no PIN lockout).
    pub fn open_with(provider: &str) -> Result<Tpm, TpmError> {
        let name = wide(provider);
        Self::open_provider(name.as_ptr(), provider)
    }

    fn open_provider(provider: PCWSTR, name: &str) -> Result<Tpm, TpmError> {
        let mut handle: NCRYPT_PROV_HANDLE = 0;
        // SAFETY: `handle` is a live local NCrypt writes the new handle to; `provider` is a
        // NUL-terminated UTF-16 string that outlives the call (a static, or the caller's
        // buffer borrowed across it).
        let hr = unsafe { NCryptOpenStorageProvider(&mut handle, provider, 0) };
        check(hr, "open the key storage provider").map_err(|e| match e {
            TpmError::Tpm { detail } | TpmError::Unavailable { detail, .. } => {
                TpmError::Unavailable {
                    tcti: name.to_owned(),
                    detail,
                }
            }
            other => other,
        })?;
        Ok(Tpm {
            provider: Handle(handle),
            name: name.to_owned(),
        })
    }

    /// The provider's name (where Linux reports its TCTI).
    pub fn tcti(&self) -> &str {
        &self.name
    }

    /// Creates a persisted, non-exportable ECDSA P-256 key in the TPM; with
    /// [`KeyAuth::Pin`] every signature needs the PIN, checked by the TPM.
    pub fn create_key(&self, auth: KeyAuth) -> Result<KeyBlob, TpmError> {
        let name = fresh_key_name();
        let wname = wide(&name);
        let mut raw: NCRYPT_KEY_HANDLE = 0;
        // SAFETY: the provider handle is live for `&self`; the algorithm id is a static
        // NUL-terminated string and `wname` a NUL-terminated buffer alive for the call;
        // `raw` is a live local that receives the new handle.
        let hr = unsafe {
            NCryptCreatePersistedKey(
                self.provider.0,
                &mut raw,
                BCRYPT_ECDSA_P256_ALGORITHM,
                wname.as_ptr(),
                0,
                0,
            )
        };
        check(hr, "create the key")?;
        let key = Handle(raw);
        let pin = matches!(auth, KeyAuth::Pin(_));
        let setup = (|| {
            // Export policy 0: neither exportable nor plaintext-exportable.
            set_property(
                &key,
                NCRYPT_EXPORT_POLICY_PROPERTY,
                &0u32.to_le_bytes(),
                "set the export policy",
            )?;
            if let KeyAuth::Pin(value) = &auth {
                let policy = NCRYPT_UI_POLICY {
                    dwVersion: 1,
                    dwFlags: NCRYPT_UI_PROTECT_KEY_FLAG,
                    pszCreationTitle: std::ptr::null(),
                    pszFriendlyName: std::ptr::null(),
                    pszDescription: std::ptr::null(),
                };
                // SAFETY: viewing a live, fully initialised `repr(C)` struct as its bytes
                // for the length of the borrow; NCrypt copies them (the null string
                // pointers mean "no text").
                let bytes = unsafe {
                    std::slice::from_raw_parts(
                        (&raw const policy).cast::<u8>(),
                        std::mem::size_of::<NCRYPT_UI_POLICY>(),
                    )
                };
                set_property(&key, NCRYPT_UI_POLICY_PROPERTY, bytes, "set the PIN policy")?;
                set_pin(&key, value)?;
            }
            // SAFETY: `key.0` is the live, not yet finalised key handle created above.
            let hr = unsafe { NCryptFinalizeKey(key.0, NCRYPT_SILENT_FLAG) };
            check(hr, "finalise the key")?;
            export_public(&key)
        })();
        let public = match setup {
            Ok(public) => public,
            Err(e) => {
                // Leave no half-made key behind (best effort: the original error matters).
                let _ = delete(key);
                return Err(e);
            }
        };
        PlatformKeyRef {
            platform: Platform::WindowsPcp,
            pin,
            name,
        }
        .to_blob(&public)
    }

    /// Opens a key made by [`Tpm::create_key`].
    fn open_key(&self, blob: &KeyBlob) -> Result<(Handle, PlatformKeyRef), TpmError> {
        let r = PlatformKeyRef::from_blob(blob)
            .filter(|r| r.platform == Platform::WindowsPcp)
            .ok_or(TpmError::Malformed {
                what: "not a Windows Platform Crypto Provider key",
            })?;
        let wname = wide(&r.name);
        let mut raw: NCRYPT_KEY_HANDLE = 0;
        // SAFETY: the provider handle is live for `&self`; `wname` is NUL-terminated and
        // alive for the call; `raw` is a live local that receives the handle.
        let hr = unsafe {
            NCryptOpenKey(
                self.provider.0,
                &mut raw,
                wname.as_ptr(),
                0,
                NCRYPT_SILENT_FLAG,
            )
        };
        check(hr, "open the key")?;
        Ok((Handle(raw), r))
    }

    /// Signs SHA-256(`message`) in the TPM; `r ‖ s` with s normalised to the low half.
    pub fn sign(
        &self,
        key: &KeyBlob,
        auth: Option<&[u8]>,
        message: &[u8],
    ) -> Result<Signature, TpmError> {
        let (handle, r) = self.open_key(key)?;
        match (r.pin, auth) {
            (true, None) => return Err(TpmError::PinRequired),
            (false, Some(_)) => return Err(TpmError::NoPinOnThisKey),
            (true, Some(pin)) => set_pin(&handle, pin)?,
            (false, None) => {}
        }
        let digest = Sha256::digest(message);
        let mut sig = [0u8; 64];
        let mut len = 0u32;
        // SAFETY: `handle.0` is a live key handle; no padding info for ECDSA (null is the
        // documented value); `digest` is 32 readable bytes; `sig` is 64 writable bytes,
        // the size passed, and NCrypt writes the count into the live local `len`.
        let hr = unsafe {
            NCryptSignHash(
                handle.0,
                std::ptr::null(),
                digest.as_ptr(),
                32,
                sig.as_mut_ptr(),
                64,
                &mut len,
                NCRYPT_SILENT_FLAG,
            )
        };
        check(hr, "sign")?;
        signature_from_raw(&sig[..(len as usize).min(64)])
    }

    /// Changes a PIN key's PIN (the PCP's change-password property, proven with the old
    /// PIN). The key keeps its name, so the blob is unchanged; unlike Linux, no old copy
    /// of the key remains usable with the old PIN.
    pub fn change_auth(&self, key: &KeyBlob, old: &[u8], new: &[u8]) -> Result<KeyBlob, TpmError> {
        let (handle, r) = self.open_key(key)?;
        if !r.pin {
            return Err(TpmError::NoPinOnThisKey);
        }
        set_pin(&handle, old)?;
        let new = pin_property(new);
        let bytes: Zeroizing<Vec<u8>> =
            Zeroizing::new(new.iter().flat_map(|c| c.to_le_bytes()).collect());
        set_property(
            &handle,
            NCRYPT_PCP_CHANGEPASSWORD_PROPERTY,
            &bytes,
            "change the PIN",
        )?;
        Ok(key.clone())
    }

    /// Deletes the key from the provider (on Linux the TPM stores nothing, so forgetting
    /// the blob is enough; here the PCP keeps the wrapped key under its name).
    pub fn delete_key(&self, key: &KeyBlob) -> Result<(), TpmError> {
        let (handle, _) = self.open_key(key)?;
        delete(handle)
    }

    /// The PCP does not report the TPM's lockout counters: always `Unsupported`.
    pub fn dictionary_attack_status(&self) -> Result<DaStatus, TpmError> {
        Err(TpmError::Unsupported)
    }

    /// The TPM's EK certificate as the PCP reports it (`NCRYPT_PCP_EKCERT_PROPERTY` on the
    /// provider). Not run: on some machines the certificate is only in the registry or
    /// must be fetched from the manufacturer's EK certificate service.
    pub fn ek_certificate(&self) -> Result<Vec<u8>, TpmError> {
        get_property(
            &self.provider,
            NCRYPT_PCP_EKCERT_PROPERTY,
            "read the EK certificate",
        )
    }

    /// Not written on Windows: always `Unsupported`. What it would do:
    /// 1. the EK certificate from [`Tpm::ek_certificate`];
    /// 2. an attestation identity key: `NCryptCreatePersistedKey` with
    ///    `NCRYPT_PCP_KEY_USAGE_POLICY_PROPERTY = NCRYPT_PCP_IDENTITY_KEY`, finalised;
    ///    its TPM2B_PUBLIC from `NCryptExportKey(BCRYPT_OPAQUE_KEY_BLOB)`, whose
    ///    `PCP_KEY_BLOB_WIN8` header (magic "MPCK") is followed by TPM2B_PUBLIC and
    ///    TPM2B_PRIVATE;
    /// 3. the [`AkBlob`] would then carry the AK's TPM2B_PUBLIC and its PCP name, as a
    ///    key blob does.
    ///
    /// The issuer's verifier (TCG credential activation + TPM2_Certify) then works
    /// unchanged, provided the device keys' public areas are exported the same way.
    pub fn attestation_start(&self) -> Result<AttestationStart, TpmError> {
        Err(TpmError::Unsupported)
    }

    /// Not written on Windows: always `Unsupported`. The PCP's credential activation is
    /// `NCryptSetProperty(ak, NCRYPT_PCP_TPM12_IDACTIVATION_PROPERTY, idObject ‖
    /// encryptedSecret)` then `NCryptGetProperty` of the same property for the secret
    /// (the TPM 2.0 encoding of that buffer must be checked against a real PCP).
    pub fn activate(
        &self,
        _ak: &AkBlob,
        _id_object: &[u8],
        _encrypted_secret: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, TpmError> {
        Err(TpmError::Unsupported)
    }

    /// Not written on Windows: always `Unsupported`. The PCP's certification of a key by
    /// the AK is `NCryptCreateClaim(key, ak, NCRYPT_CLAIM_AUTHORITY_AND_SUBJECT, params)`
    /// with the qualifying data as an `NCRYPTBUFFER_CLAIM_KEYATTESTATION_NONCE` parameter;
    /// the claim blob (`PCP_KEY_ATTESTATION_BLOB`, magic "KADS") holds TPMS_ATTEST, the AK's
    /// signature and the key's TPM2B_PUBLIC, which map onto [`KeyCertification`].
    /// `NCRYPT_CLAIM_PLATFORM` is the PCR quote, not needed here.
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
