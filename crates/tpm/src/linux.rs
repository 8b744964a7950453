//! The TPM through tpm2-tss's ESAPI (`tss-esapi`).

use std::str::FromStr;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use p256::ecdsa::Signature;
use sha2::{Digest as _, Sha256};
use tss_esapi::abstraction::{AsymmetricAlgorithmSelection, ak, ek};
use tss_esapi::attributes::{ObjectAttributesBuilder, SessionAttributesBuilder};
use tss_esapi::constants::response_code::Tss2ResponseCode;
use tss_esapi::constants::tss::{
    TPM2_PT_LOCKOUT_COUNTER, TPM2_PT_LOCKOUT_INTERVAL, TPM2_PT_LOCKOUT_RECOVERY,
    TPM2_PT_MAX_AUTH_FAIL, TPM2_RH_NULL, TPM2_ST_HASHCHECK,
};
use tss_esapi::constants::{CapabilityType, SessionType};
use tss_esapi::handles::{AuthHandle, KeyHandle, ObjectHandle, SessionHandle};
use tss_esapi::interface_types::algorithm::{
    AsymmetricAlgorithm, HashingAlgorithm, PublicAlgorithm, SignatureSchemeAlgorithm,
};
use tss_esapi::interface_types::ecc::EccCurve;
use tss_esapi::interface_types::key_bits::RsaKeyBits;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::interface_types::session_handles::{AuthSession, PolicySession};
use tss_esapi::structures::{
    Auth, CapabilityData, Data, Digest, EccParameter, EccPoint, EccScheme, EncryptedSecret,
    HashScheme, IdObject, KeyDerivationFunctionScheme, Private, Public, PublicBuilder,
    PublicEccParametersBuilder, SignatureScheme, SymmetricDefinition, SymmetricDefinitionObject,
};
use tss_esapi::traits::Marshall;
use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;
use tss_esapi::{Context, TctiNameConf};
use zeroize::Zeroizing;

use crate::rc::{RcClass, classify};
use crate::{
    AkBlob, AttestationStart, DaStatus, KeyAuth, KeyBlob, KeyCertification, TCTI_ENV, TpmError,
};

/// A connection to the TPM. All commands go through one ESAPI context behind a mutex: the
/// TPM executes one command at a time anyway, and a direct TCTI (no resource manager) must
/// not interleave sessions from two threads.
pub struct Tpm {
    inner: Mutex<Inner>,
    tcti: String,
}

struct Inner {
    ctx: Context,
    /// The storage primary key, recreated from its template on first use and kept loaded
    /// for the life of the process (never persisted in NV: the template and the owner seed
    /// determine it, so every process gets the same key).
    srk: Option<KeyHandle>,
}

impl std::fmt::Debug for Tpm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tpm").field("tcti", &self.tcti).finish()
    }
}

/// A TSS error in context: which TCTI, so transport failures say where they looked.
fn map_err(tcti: &str, e: tss_esapi::Error) -> TpmError {
    let detail = e.to_string();
    match raw_rc(&e).map(classify) {
        Some(RcClass::AuthFail) => TpmError::WrongPin { tries_left: None },
        Some(RcClass::Lockout) => TpmError::LockedOut { retry_after: None },
        Some(RcClass::NotThisTpm) => TpmError::NotThisTpm,
        Some(RcClass::Transport) => TpmError::Unavailable {
            tcti: tcti.to_owned(),
            detail,
        },
        _ => TpmError::Tpm {
            detail: match raw_rc(&e) {
                Some(rc) => format!("{detail} (rc {rc:#x})"),
                None => detail,
            },
        },
    }
}

/// The raw TSS2_RC. `tss-esapi` keeps it private inside the response-code types but shows
/// it in their `Display` ("Response code value: 0x…"), which is stable across 7.x.
fn raw_rc(e: &tss_esapi::Error) -> Option<u32> {
    let text = match e {
        tss_esapi::Error::Tss2Error(Tss2ResponseCode::FormatZero(c)) => c.to_string(),
        tss_esapi::Error::Tss2Error(Tss2ResponseCode::FormatOne(c)) => c.to_string(),
        _ => return None,
    };
    let hex = text.rsplit("0x").next()?;
    u32::from_str_radix(hex.trim(), 16).ok()
}

/// The storage primary key's template: the TCG "TPM v2.0 Provisioning Guidance" SRK
/// (ECC NIST P-256, SHA-256 name, AES-128-CFB, restricted decrypt, noDA, empty auth and
/// policy, unique x and y of 32 zero bytes). Being the standard template, other software
/// on the machine derives the same key from the owner seed.
fn srk_template() -> tss_esapi::Result<Public> {
    let attributes = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(true)
        .with_no_da(true)
        .with_restricted(true)
        .with_decrypt(true)
        .build()?;
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new()
                .with_symmetric(SymmetricDefinitionObject::AES_128_CFB)
                .with_ecc_scheme(EccScheme::Null)
                .with_curve(EccCurve::NistP256)
                .with_key_derivation_function_scheme(KeyDerivationFunctionScheme::Null)
                .with_is_signing_key(false)
                .with_is_decryption_key(true)
                .with_restricted(true)
                .build()?,
        )
        .with_ecc_unique_identifier(EccPoint::new(
            EccParameter::try_from(vec![0u8; 32])?,
            EccParameter::try_from(vec![0u8; 32])?,
        ))
        .build()
}

/// The device key's template: an unrestricted ECDSA-SHA256 P-256 signing key that never
/// leaves this TPM (fixedTPM, fixedParent), generated inside it (sensitiveDataOrigin). A PIN
/// key is DA-protected (noDA clear) so wrong PINs count against the lockout; a key without
/// a PIN sets noDA: its empty authValue has nothing to guess, and while wrong PINs have
/// locked the TPM out it still signs, so the basic codes keep working. A PIN key clears
/// userWithAuth and sets authPolicy to PolicyAuthValue, so every signature needs a policy
/// session proving the authValue, and a verifier can see that in the public area.
fn signing_key_template(pin: bool) -> tss_esapi::Result<Public> {
    let attributes = ObjectAttributesBuilder::new()
        .with_fixed_tpm(true)
        .with_fixed_parent(true)
        .with_sensitive_data_origin(true)
        .with_user_with_auth(!pin)
        .with_admin_with_policy(false)
        .with_no_da(!pin)
        .with_restricted(false)
        .with_decrypt(false)
        .with_sign_encrypt(true)
        .build()?;
    let policy = if pin {
        Digest::try_from(crate::policy_auth_value_digest().to_vec())?
    } else {
        Digest::default()
    };
    PublicBuilder::new()
        .with_public_algorithm(PublicAlgorithm::Ecc)
        .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
        .with_object_attributes(attributes)
        .with_auth_policy(policy)
        .with_ecc_parameters(
            PublicEccParametersBuilder::new()
                .with_symmetric(SymmetricDefinitionObject::Null)
                .with_ecc_scheme(EccScheme::EcDsa(HashScheme::new(HashingAlgorithm::Sha256)))
                .with_curve(EccCurve::NistP256)
                .with_key_derivation_function_scheme(KeyDerivationFunctionScheme::Null)
                .with_is_signing_key(true)
                .with_is_decryption_key(false)
                .with_restricted(false)
                .build()?,
        )
        .with_ecc_unique_identifier(EccPoint::default())
        .build()
}

fn ecdsa_sha256() -> SignatureScheme {
    SignatureScheme::EcDsa {
        hash_scheme: HashScheme::new(HashingAlgorithm::Sha256),
    }
}

/// `u16 BE size ‖ bytes`: the TPM2B wrapping of a marshalled structure.
fn tpm2b(body: &[u8]) -> Result<Vec<u8>, TpmError> {
    let len = u16::try_from(body.len()).map_err(|_| TpmError::Malformed {
        what: "structure longer than a TPM2B allows",
    })?;
    let mut out = Vec::with_capacity(body.len() + 2);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// The body of a marshalled TPM2B, checking its size field.
fn tpm2b_body<'a>(bytes: &'a [u8], what: &'static str) -> Result<&'a [u8], TpmError> {
    match bytes {
        [a, b, rest @ ..] if usize::from(u16::from_be_bytes([*a, *b])) == rest.len() => Ok(rest),
        _ => Err(TpmError::Malformed { what }),
    }
}

/// The DER certificate in an NV index, without the padding some TPMs leave after it.
fn der_trim(bytes: &[u8]) -> Vec<u8> {
    let len = match bytes {
        [0x30, 0x82, a, b, ..] => Some(4 + usize::from(u16::from_be_bytes([*a, *b]))),
        [0x30, 0x81, a, ..] => Some(3 + usize::from(*a)),
        [0x30, a, ..] if *a < 0x80 => Some(2 + usize::from(*a)),
        _ => None,
    };
    match len {
        Some(n) if n <= bytes.len() => bytes[..n].to_vec(),
        _ => bytes.to_vec(),
    }
}

impl Tpm {
    /// Opens the TPM named by `TPM2TOOLS_TCTI` (as tpm2-tools do), by default the kernel's
    /// resource manager `device:/dev/tpmrm0`.
    pub fn open() -> Result<Tpm, TpmError> {
        Tpm::open_with(&crate::tcti_from_env(std::env::var(TCTI_ENV).ok()))
    }

    /// Opens the TPM at an explicit TCTI string (`device:/dev/tpmrm0`,
    /// `swtpm:host=127.0.0.1,port=2321`, `tabrmd:`, …).
    pub fn open_with(tcti: &str) -> Result<Tpm, TpmError> {
        let unavailable = |detail: String| TpmError::Unavailable {
            tcti: tcti.to_owned(),
            detail,
        };
        let conf = TctiNameConf::from_str(tcti)
            .map_err(|e| unavailable(format!("cannot parse the TCTI string: {e}")))?;
        let ctx = Context::new(conf).map_err(|e| unavailable(e.to_string()))?;
        Ok(Tpm {
            inner: Mutex::new(Inner { ctx, srk: None }),
            tcti: tcti.to_owned(),
        })
    }

    /// The TCTI string this connection uses.
    pub fn tcti(&self) -> &str {
        &self.tcti
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves at worst a stale session in the TPM; the
        // context itself stays usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, e: tss_esapi::Error) -> TpmError {
        map_err(&self.tcti, e)
    }

    /// Adds the DA state to PIN and lockout errors, so the caller can say how many tries
    /// are left or how long to wait.
    fn enrich(&self, inner: &mut Inner, e: TpmError) -> TpmError {
        match e {
            TpmError::WrongPin { .. } => TpmError::WrongPin {
                tries_left: read_da(&mut inner.ctx).ok().map(|s| s.tries_left()),
            },
            TpmError::LockedOut { .. } => TpmError::LockedOut {
                retry_after: read_da(&mut inner.ctx).ok().and_then(|s| s.retry_after()),
            },
            other => other,
        }
    }

    /// Runs `f` with the context and the storage key, mapping and enriching errors.
    fn with_srk<T>(
        &self,
        f: impl FnOnce(&mut Context, KeyHandle) -> Result<T, TpmError>,
    ) -> Result<T, TpmError> {
        let mut inner = self.lock();
        let srk = match inner.srk {
            Some(h) => h,
            None => {
                let template = srk_template().map_err(|e| self.err(e))?;
                let h = inner
                    .ctx
                    .execute_with_session(Some(AuthSession::Password), |ctx| {
                        ctx.create_primary(Hierarchy::Owner, template, None, None, None, None)
                    })
                    .map_err(|e| self.err(e))?
                    .key_handle;
                inner.srk = Some(h);
                h
            }
        };
        let result = f(&mut inner.ctx, srk);
        result.map_err(|e| self.enrich(&mut inner, e))
    }

    /// Creates a device key under the storage key and returns its blob.
    pub fn create_key(&self, auth: KeyAuth) -> Result<KeyBlob, TpmError> {
        let (template, auth_value) = match &auth {
            KeyAuth::None => (signing_key_template(false), None),
            KeyAuth::Pin(pin) => (signing_key_template(true), Some(new_auth_value(pin)?)),
        };
        let template = template.map_err(|e| self.err(e))?;
        let tcti = self.tcti.clone();
        self.with_srk(|ctx, srk| {
            let e = |e| map_err(&tcti, e);
            let created = if let Some(auth_value) = auth_value {
                // The authValue travels in TPM2B_SENSITIVE_CREATE: encrypt it on the bus
                // with a session salted by the storage key.
                let session = salted_session(ctx, srk, SessionType::Hmac, true).map_err(e)?;
                let r = ctx.execute_with_session(Some(session), |ctx| {
                    ctx.create(srk, template, Some(auth_value), None, None, None)
                });
                flush_session(ctx, session);
                r.map_err(e)?
            } else {
                ctx.execute_with_session(Some(AuthSession::Password), |ctx| {
                    ctx.create(srk, template, None, None, None, None)
                })
                .map_err(e)?
            };
            Ok(KeyBlob {
                public: tpm2b(&created.out_public.marshall().map_err(e)?)?,
                private: tpm2b(created.out_private.value())?,
            })
        })
    }

    /// Signs SHA-256(`message`) with the key: ECDSA P-256, s normalised to the low half so
    /// strict verifiers (`p256`) accept it. A PIN key needs `auth`; it is proven to the TPM
    /// in a policy session (PolicyAuthValue) salted with the storage key, so the PIN's
    /// HMAC on the bus cannot be attacked offline.
    pub fn sign(
        &self,
        key: &KeyBlob,
        auth: Option<&[u8]>,
        message: &[u8],
    ) -> Result<Signature, TpmError> {
        let pin_key = check_auth(key, auth)?;
        let (public, private) = unmarshal_key(&key.public, &key.private)?;
        let digest = Digest::try_from(Sha256::digest(message).to_vec()).map_err(|e| self.err(e))?;
        let auth = auth
            .map(|a| Auth::try_from(a.to_vec()))
            .transpose()
            .map_err(|_| TpmError::Malformed {
                what: "PIN longer than the TPM allows",
            })?;
        let tcti = self.tcti.clone();
        let signature = self.with_srk(|ctx, srk| {
            let e = |e| map_err(&tcti, e);
            let handle = load(ctx, srk, private, public).map_err(e)?;
            let result = (|| {
                if let Some(auth) = auth {
                    ctx.tr_set_auth(handle.into(), auth).map_err(e)?;
                }
                let validation =
                    tss_esapi::structures::HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
                        tag: TPM2_ST_HASHCHECK,
                        hierarchy: TPM2_RH_NULL,
                        digest: Default::default(),
                    })
                    .map_err(e)?;
                if pin_key {
                    let session =
                        salted_session(ctx, srk, SessionType::Policy, false).map_err(e)?;
                    let r = (|| {
                        ctx.policy_auth_value(PolicySession::try_from(session)?)?;
                        ctx.execute_with_session(Some(session), |ctx| {
                            ctx.sign(handle, digest, ecdsa_sha256(), validation)
                        })
                    })();
                    flush_session(ctx, session);
                    r.map_err(e)
                } else {
                    ctx.execute_with_session(Some(AuthSession::Password), |ctx| {
                        ctx.sign(handle, digest, ecdsa_sha256(), validation)
                    })
                    .map_err(e)
                }
            })();
            flush(ctx, handle.into());
            result
        })?;
        to_p256_signature(&signature)
    }

    /// Changes a key's authValue (TPM2_ObjectChangeAuth in the ADMIN role, proven with the
    /// old value) and returns the new blob: same public area, new private part.
    ///
    /// The TPM cannot revoke the old private part: whoever kept a copy of the old blob can
    /// still use it with the old PIN. The vault must replace the old blob.
    pub fn change_auth(&self, key: &KeyBlob, old: &[u8], new: &[u8]) -> Result<KeyBlob, TpmError> {
        if !key.needs_pin()? {
            // Its public area says userWithAuth with no policy: a value set now would be
            // used in password sessions and attested as "no authorisation". Make a PIN key.
            return Err(TpmError::NoPinOnThisKey);
        }
        let (public, private) = unmarshal_key(&key.public, &key.private)?;
        let too_long = |_| TpmError::Malformed {
            what: "PIN longer than the TPM allows",
        };
        let old = Auth::try_from(old.to_vec()).map_err(too_long)?;
        let new = new_auth_value(new)?;
        let tcti = self.tcti.clone();
        let new_private = self.with_srk(|ctx, srk| {
            let e = |e| map_err(&tcti, e);
            let handle = load(ctx, srk, private, public).map_err(e)?;
            let result = (|| {
                ctx.tr_set_auth(handle.into(), old).map_err(e)?;
                // newAuth is the first parameter: the session's decrypt attribute hides it.
                let session = salted_session(ctx, srk, SessionType::Hmac, true).map_err(e)?;
                let r = ctx.execute_with_session(Some(session), |ctx| {
                    ctx.object_change_auth(handle.into(), srk.into(), new)
                });
                flush_session(ctx, session);
                r.map_err(e)
            })();
            flush(ctx, handle.into());
            result
        })?;
        Ok(KeyBlob {
            public: key.public.clone(),
            private: tpm2b(new_private.value())?,
        })
    }

    /// Forgets a key. The TPM stores nothing for it (the vault holds the only copy of the
    /// blob), so there is nothing to delete here; the method exists so that the Windows
    /// and Apple stores, which keep keys by name, have the same API.
    pub fn delete_key(&self, _key: &KeyBlob) -> Result<(), TpmError> {
        Ok(())
    }

    /// Reads the dictionary-attack state.
    pub fn dictionary_attack_status(&self) -> Result<DaStatus, TpmError> {
        let mut inner = self.lock();
        read_da(&mut inner.ctx).map_err(|e| self.err(e))
    }

    /// Starts attestation: recreates the RSA-2048 EK from the TCG default template, reads
    /// its certificate from NV (index 0x01c00002), and creates an attestation key under it
    /// (restricted ECDSA P-256 / SHA-256, nameAlg SHA-256).
    pub fn attestation_start(&self) -> Result<AttestationStart, TpmError> {
        let mut inner = self.lock();
        let ctx = &mut inner.ctx;
        let e = |e| self.err(e);
        let ek_certificate =
            ek::retrieve_ek_pubcert(ctx, AsymmetricAlgorithmSelection::Rsa(RsaKeyBits::Rsa2048))
                .map_err(e)?;
        let ek_handle = ek::create_ek_object(ctx, AsymmetricAlgorithm::Rsa, None).map_err(e)?;
        let created = ak::create_ak(
            ctx,
            ek_handle,
            HashingAlgorithm::Sha256,
            SignatureSchemeAlgorithm::EcDsa,
            None,
            None,
        );
        flush(ctx, ek_handle.into());
        let created = created.map_err(e)?;
        let ak_public = tpm2b(&created.out_public.marshall().map_err(e)?)?;
        Ok(AttestationStart {
            ek_certificate: der_trim(&ek_certificate),
            ak: AkBlob {
                public: ak_public.clone(),
                private: tpm2b(created.out_private.value())?,
            },
            ak_public,
        })
    }

    /// TPM2_ActivateCredential: recovers the secret the issuer encrypted to this TPM's EK
    /// for the AK's name. It succeeds only if the AK is loaded in the TPM holding that EK,
    /// which is what proves to the issuer that the AK lives beside the certified EK.
    pub fn activate(
        &self,
        ak_blob: &AkBlob,
        id_object: &[u8],
        encrypted_secret: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, TpmError> {
        let (ak_public, ak_private) = unmarshal_key(&ak_blob.public, &ak_blob.private)?;
        let id_object = IdObject::try_from(
            tpm2b_body(id_object, "id_object is not a TPM2B_ID_OBJECT")?.to_vec(),
        )
        .map_err(|_| TpmError::Malformed {
            what: "id_object too long",
        })?;
        let encrypted_secret = EncryptedSecret::try_from(
            tpm2b_body(
                encrypted_secret,
                "encrypted_secret is not a TPM2B_ENCRYPTED_SECRET",
            )?
            .to_vec(),
        )
        .map_err(|_| TpmError::Malformed {
            what: "encrypted_secret too long",
        })?;
        let mut inner = self.lock();
        let ctx = &mut inner.ctx;
        let e = |e| self.err(e);
        let ek_handle = ek::create_ek_object(ctx, AsymmetricAlgorithm::Rsa, None).map_err(e)?;
        let mut load_failed = false;
        let result = (|| {
            let ak_handle = ak::load_ak(ctx, ek_handle, None, ak_private, ak_public)
                .inspect_err(|_| load_failed = true)?;
            let r = (|| {
                // The EK's policy is PolicySecret(TPM_RH_ENDORSEMENT).
                let session = start_session(ctx, SessionType::Policy, None, false)?;
                let r = (|| {
                    ctx.execute_with_session(Some(AuthSession::Password), |ctx| {
                        ctx.policy_secret(
                            PolicySession::try_from(session)?,
                            AuthHandle::Endorsement,
                            Default::default(),
                            Default::default(),
                            Default::default(),
                            None,
                        )
                    })?;
                    ctx.execute_with_sessions(
                        (Some(AuthSession::Password), Some(session), None),
                        |ctx| {
                            ctx.activate_credential(
                                ak_handle,
                                ek_handle,
                                id_object,
                                encrypted_secret,
                            )
                        },
                    )
                })();
                flush_session(ctx, session);
                r
            })();
            flush(ctx, ak_handle.into());
            r
        })();
        flush(ctx, ek_handle.into());
        let secret = result.map_err(|err| {
            // A failure of ActivateCredential itself (not of loading the AK) that means
            // the credential is foreign.
            if !load_failed && raw_rc(&err).is_some_and(crate::rc::is_bad_credential) {
                TpmError::CredentialMismatch
            } else {
                e(err)
            }
        })?;
        Ok(Zeroizing::new(secret.value().to_vec()))
    }

    /// TPM2_Certify: the AK signs (ECDSA-SHA256) a statement that `key` is loaded in this
    /// TPM, with `qualifying_data` as its extraData. Certify uses the key's ADMIN role, so a
    /// PIN key needs its PIN here too.
    pub fn certify(
        &self,
        ak_blob: &AkBlob,
        key: &KeyBlob,
        key_auth: Option<&[u8]>,
        qualifying_data: &[u8],
    ) -> Result<KeyCertification, TpmError> {
        let (ak_public, ak_private) = unmarshal_key(&ak_blob.public, &ak_blob.private)?;
        let (key_public, key_private) = unmarshal_key(&key.public, &key.private)?;
        let qualifying =
            Data::try_from(qualifying_data.to_vec()).map_err(|_| TpmError::Malformed {
                what: "qualifying data longer than 64 bytes",
            })?;
        check_auth(key, key_auth)?;
        let key_auth = key_auth
            .map(|a| Auth::try_from(a.to_vec()))
            .transpose()
            .map_err(|_| TpmError::Malformed {
                what: "PIN longer than the TPM allows",
            })?;
        let tcti = self.tcti.clone();
        let (attest, signature) = self.with_srk(|ctx, srk| {
            let e = |e| map_err(&tcti, e);
            // Load the AK first and drop the EK at once: a TPM may hold only three
            // transient objects (storage key, AK, device key).
            let ek_handle = ek::create_ek_object(ctx, AsymmetricAlgorithm::Rsa, None).map_err(e)?;
            let ak_handle = ak::load_ak(ctx, ek_handle, None, ak_private, ak_public);
            flush(ctx, ek_handle.into());
            let ak_handle = ak_handle.map_err(e)?;
            let result = (|| {
                let key_handle = load(ctx, srk, key_private, key_public).map_err(e)?;
                let r = (|| {
                    let key_session = match key_auth {
                        Some(auth) => {
                            ctx.tr_set_auth(key_handle.into(), auth)?;
                            // ADMIN role with the authValue: an HMAC session salted with
                            // the storage key keeps it from offline attack.
                            Some(salted_session(ctx, srk, SessionType::Hmac, false)?)
                        }
                        None => None,
                    };
                    let r = ctx.execute_with_sessions(
                        (
                            Some(key_session.unwrap_or(AuthSession::Password)),
                            Some(AuthSession::Password),
                            None,
                        ),
                        |ctx| ctx.certify(key_handle.into(), ak_handle, qualifying, ecdsa_sha256()),
                    );
                    if let Some(s) = key_session {
                        flush_session(ctx, s);
                    }
                    r
                })();
                flush(ctx, key_handle.into());
                r.map_err(e)
            })();
            flush(ctx, ak_handle.into());
            result
        })?;
        let e = |e| self.err(e);
        Ok(KeyCertification {
            key_public: key.public.clone(),
            certify_info: tpm2b(&attest.marshall().map_err(e)?)?,
            signature: signature.marshall().map_err(e)?,
        })
    }
}

/// Whether `key` is a PIN key, after checking that `auth` fits it: a PIN key without one
/// would spend a DA try for nothing, and a PIN for a key without one would be sent in a
/// password session (in clear) for nothing.
fn check_auth(key: &KeyBlob, auth: Option<&[u8]>) -> Result<bool, TpmError> {
    let pin_key = key.needs_pin()?;
    match (pin_key, auth) {
        (true, None) => Err(TpmError::PinRequired),
        (false, Some(_)) => Err(TpmError::NoPinOnThisKey),
        _ => Ok(pin_key),
    }
}

/// A new authValue: non-empty (an empty "PIN" would make a PIN key anyone can use, and the
/// attestation could not tell) and at most 32 bytes, the size of the key's SHA-256 name
/// digest, which the TPM enforces.
fn new_auth_value(pin: &[u8]) -> Result<Auth, TpmError> {
    if pin.is_empty() {
        return Err(TpmError::Malformed { what: "empty PIN" });
    }
    if pin.len() > 32 {
        return Err(TpmError::Malformed {
            what: "PIN longer than 32 bytes",
        });
    }
    Auth::try_from(pin).map_err(|_| TpmError::Malformed {
        what: "PIN longer than the TPM allows",
    })
}

fn unmarshal_key(public: &[u8], private: &[u8]) -> Result<(Public, Private), TpmError> {
    use tss_esapi::traits::UnMarshall;
    let public_body = tpm2b_body(public, "public part is not a TPM2B_PUBLIC")?;
    let public = Public::unmarshall(public_body).map_err(|_| TpmError::Malformed {
        what: "public part is not a TPMT_PUBLIC",
    })?;
    let private =
        Private::try_from(tpm2b_body(private, "private part is not a TPM2B_PRIVATE")?.to_vec())
            .map_err(|_| TpmError::Malformed {
                what: "private part too long",
            })?;
    Ok((public, private))
}

fn load(
    ctx: &mut Context,
    parent: KeyHandle,
    private: Private,
    public: Public,
) -> tss_esapi::Result<KeyHandle> {
    ctx.execute_with_session(Some(AuthSession::Password), |ctx| {
        ctx.load(parent, private, public)
    })
}

/// Starts a session; `salt` is the key that encrypts its salt (the storage key), so the
/// session key is unknown to anyone watching the bus.
fn start_session(
    ctx: &mut Context,
    kind: SessionType,
    salt: Option<KeyHandle>,
    encrypt_params: bool,
) -> tss_esapi::Result<AuthSession> {
    let symmetric = if encrypt_params {
        SymmetricDefinition::AES_128_CFB
    } else {
        SymmetricDefinition::Null
    };
    let session = ctx
        .execute_without_session(|ctx| {
            ctx.start_auth_session(salt, None, None, kind, symmetric, HashingAlgorithm::Sha256)
        })?
        .ok_or(tss_esapi::Error::WrapperError(
            tss_esapi::WrapperErrorKind::WrongValueFromTpm,
        ))?;
    let builder = SessionAttributesBuilder::new().with_continue_session(true);
    let (attributes, mask) = if encrypt_params {
        builder.with_decrypt(true).with_encrypt(true).build()
    } else {
        builder.build()
    };
    ctx.tr_sess_set_attributes(session, attributes, mask)?;
    Ok(session)
}

fn salted_session(
    ctx: &mut Context,
    srk: KeyHandle,
    kind: SessionType,
    encrypt_params: bool,
) -> tss_esapi::Result<AuthSession> {
    start_session(ctx, kind, Some(srk), encrypt_params)
}

/// Flushes a transient object; a failure only leaves a slot taken until the TPM restarts,
/// and must not hide the command's own result.
fn flush(ctx: &mut Context, handle: ObjectHandle) {
    let _ = ctx.flush_context(handle);
}

fn flush_session(ctx: &mut Context, session: AuthSession) {
    flush(ctx, SessionHandle::from(session).into());
}

fn read_da(ctx: &mut Context) -> tss_esapi::Result<DaStatus> {
    // The four properties are consecutive; read them in one call (and never through
    // `get_tpm_property`, which caches values that change here).
    let (data, _) = ctx.execute_without_session(|ctx| {
        ctx.get_capability(CapabilityType::TpmProperties, TPM2_PT_LOCKOUT_COUNTER, 4)
    })?;
    let mut status = DaStatus {
        counter: 0,
        max_tries: 0,
        interval: Duration::ZERO,
        recovery: Duration::ZERO,
    };
    if let CapabilityData::TpmProperties(list) = data {
        for p in list.iter() {
            let v = p.value();
            match u32::from(p.property()) {
                TPM2_PT_LOCKOUT_COUNTER => status.counter = v,
                TPM2_PT_MAX_AUTH_FAIL => status.max_tries = v,
                TPM2_PT_LOCKOUT_INTERVAL => status.interval = Duration::from_secs(v.into()),
                TPM2_PT_LOCKOUT_RECOVERY => status.recovery = Duration::from_secs(v.into()),
                _ => {}
            }
        }
    }
    Ok(status)
}

/// The TPM's TPMT_SIGNATURE as a `p256` signature with low s.
fn to_p256_signature(signature: &tss_esapi::structures::Signature) -> Result<Signature, TpmError> {
    let tss_esapi::structures::Signature::EcDsa(ecc) = signature else {
        return Err(TpmError::Tpm {
            detail: "the TPM returned a non-ECDSA signature".into(),
        });
    };
    let mut rs = [0u8; 64];
    let (r, s) = rs.split_at_mut(32);
    for (src, dst) in [
        (ecc.signature_r().value(), r),
        (ecc.signature_s().value(), s),
    ] {
        if src.len() > 32 {
            return Err(TpmError::Tpm {
                detail: "ECDSA component longer than 32 bytes".into(),
            });
        }
        let start = 32 - src.len();
        dst[start..].copy_from_slice(src);
    }
    let sig = Signature::from_slice(&rs).map_err(|_| TpmError::Tpm {
        detail: "the TPM returned an invalid ECDSA signature".into(),
    })?;
    Ok(sig.normalize_s())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tpm_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Tpm>();
    }

    #[test]
    fn der_trim_strips_padding() {
        let mut cert = vec![0x30, 0x82, 0x00, 0x02, 0xAA, 0xBB];
        cert.extend_from_slice(&[0xFF; 10]);
        assert_eq!(der_trim(&cert), vec![0x30, 0x82, 0x00, 0x02, 0xAA, 0xBB]);
    }

    #[test]
    fn templates_build() {
        let pin = signing_key_template(true).unwrap();
        let bytes = tpm2b(&pin.marshall().unwrap()).unwrap();
        let area = crate::PublicArea::parse(&bytes).unwrap();
        assert!(area.is_pin_key());
        assert_eq!(area.attributes & crate::public_area::attr::NO_DA, 0);
        let open = signing_key_template(false).unwrap();
        let bytes = tpm2b(&open.marshall().unwrap()).unwrap();
        assert!(!crate::PublicArea::parse(&bytes).unwrap().is_pin_key());
    }
}
