//! Request and response bodies of `/v1`. Bytes travel as unpadded base64url.

use serde::{Deserialize, Serialize};

/// `POST /v1/challenges` body. An empty body is a challenge without a device key, which can
/// only be used for revocation by the holder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRequest {
    /// The new device key the challenge will be answered with (P-256 SubjectPublicKeyInfo,
    /// DER). Enrolment and renewal accept the challenge only with this key, so a relayed
    /// live answer cannot be redirected to another key (DESIGN §11).
    #[serde(
        default,
        with = "crate::b64::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_key: Option<Vec<u8>>,
    /// The wallet's TPM, when its device keys live in one (key attestation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<crate::tpm::TpmAttestationStart>,
}

/// `POST /v1/challenges` response: what the person must do, and by when, signed by the
/// issuer over the device key it is bound to ([`crate::challenge`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeResponse {
    /// The challenge's identifier (hex), quoted back with the answer.
    pub challenge_id: String,
    /// 16 random bytes, signed over in the device key's proof of possession.
    #[serde(with = "crate::b64")]
    pub nonce: Vec<u8>,
    /// The actions in order: `front`, `left`, `right`, `blink`.
    pub actions: Vec<String>,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds; answers after this are refused.
    pub expires_at: u64,
    /// SHA-256 of the device key's SubjectPublicKeyInfo DER the challenge is bound to;
    /// absent for a challenge drawn without a key (revocation only).
    #[serde(
        default,
        with = "crate::b64::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_key_sha256: Option<Vec<u8>>,
    /// The `kid` (8 bytes) of the issuer key that signed the challenge; look it up in the
    /// trust list. Empty when unsigned (which a wallet refuses).
    #[serde(default, with = "crate::b64")]
    pub signer: Vec<u8>,
    /// ES256 signature (`r ‖ s`) over [`crate::challenge::signing_input`].
    #[serde(default, with = "crate::b64")]
    pub signature: Vec<u8>,
    /// How many one-time credentials of each batch tier the issuer gives per enrolment,
    /// renewal or refill (a hint for how many keys to make; the issuer enforces it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<u32>,
    /// For a challenge drawn with a TPM: the credential only that TPM can activate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm_activation: Option<crate::tpm::TpmActivation>,
}

/// The device key and its proof of possession, in a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceKey {
    /// P-256 SubjectPublicKeyInfo, DER.
    #[serde(with = "crate::b64")]
    pub public_key: Vec<u8>,
    /// ES256 signature (`r ‖ s`) over [`crate::pop_message`].
    #[serde(with = "crate::b64")]
    pub proof: Vec<u8>,
}

/// `POST /v1/enrolments` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolRequest {
    /// From [`ChallengeResponse`].
    pub challenge_id: String,
    /// The claimed 18-character ID number.
    pub id_number: String,
    /// The new device key.
    pub device_key: DeviceKey,
    /// JPEG or PNG frames answering the challenge, in capture order.
    #[serde(with = "crate::b64::list")]
    pub frames: Vec<Vec<u8>>,
    /// Replace credentials held on another (lost) device: they are revoked once the face
    /// matches. Without it, an existing enrolment on another device is an error.
    #[serde(default)]
    pub replace_existing: bool,
    /// The one-time credentials' keys ([`crate::batch`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<crate::batch::BatchKeys>,
    /// Proof that the keys live in the TPM named when the challenge was drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<crate::tpm::TpmKeyAttestation>,
}

/// `POST /v1/renewals` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenewRequest {
    /// From [`ChallengeResponse`].
    pub challenge_id: String,
    /// A QR text (`TS1:…`) from the current credential whose holder-proof nonce is
    /// [`crate::holder_auth_nonce`] for renewal and this challenge.
    pub presentation: String,
    /// The new device key (renewal rotates it).
    pub device_key: DeviceKey,
    /// Frames answering the challenge.
    #[serde(with = "crate::b64::list")]
    pub frames: Vec<Vec<u8>>,
    /// The one-time credentials' keys ([`crate::batch`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<crate::batch::BatchKeys>,
    /// Proof that the keys live in the TPM named when the challenge was drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpm: Option<crate::tpm::TpmKeyAttestation>,
}

/// `POST /v1/refills` body: fresh one-time credentials without a face check, for the
/// holder of a current one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefillRequest {
    /// From [`ChallengeResponse`], drawn naming the first new key.
    pub challenge_id: String,
    /// A QR text (`TS1:…`) from a current one-time credential of the holder, whose
    /// holder-proof nonce is [`crate::holder_auth_nonce`] for
    /// [`crate::HolderAuthPurpose::Refill`] over these keys and `retire`.
    pub presentation: String,
    /// The new keys, each with its proof of possession for the challenge.
    pub keys: Vec<crate::batch::BatchKey>,
    /// The `cti`s (hex) of the holder's credentials to retire: the ones already shown.
    pub retire: Vec<String>,
}

/// The answer to a refill.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefillResponse {
    /// The enrolment the credentials belong to.
    pub enrolment_id: String,
    /// One per key, bound to it (`cnf`).
    pub credentials: Vec<IssuedCredential>,
    /// The `cti`s retired (revoked in the status lists).
    pub retired: Vec<String>,
}

/// `POST /v1/revocations` body (the holder revokes their own credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HolderRevokeRequest {
    /// From [`ChallengeResponse`].
    pub challenge_id: String,
    /// A QR text whose holder-proof nonce is [`crate::holder_auth_nonce`] for revocation.
    pub presentation: String,
}

/// `POST /v1/admin/revocations` body (an administrator revokes a person's credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminRevokeRequest {
    /// Whose credentials.
    pub id_number: String,
    /// Why (kept in the audit table).
    pub reason: String,
}

/// One issued credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedCredential {
    /// `lightweight` or `upgraded`.
    pub tier: String,
    /// The tagged COSE_Sign1 bytes (`Credential::to_tagged_bytes`).
    #[serde(with = "crate::b64")]
    pub credential: Vec<u8>,
}

/// The answer to an enrolment or a renewal: one credential per tier, bound to the device key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchResponse {
    /// The enrolment this batch belongs to.
    pub enrolment_id: String,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds; renew before this.
    pub expires_at: u64,
    /// The similarity of the live face to the registry photo (for the record; the decision
    /// was made with the issuer's threshold).
    pub face_similarity: f32,
    /// The upgraded credential (bound to the main device key), then one one-time
    /// credential per batch key (bound to it).
    pub credentials: Vec<IssuedCredential>,
}

/// The answer to a revocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeResponse {
    /// How many credentials changed to revoked.
    pub revoked: u64,
}
