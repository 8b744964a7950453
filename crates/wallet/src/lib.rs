//! The Tessera wallet core: the device key, the credentials, the PIN verifier and the face
//! template in the OS keystore; the credential life cycle as a persisted state machine;
//! tiered presentations. The Tauri shell and the `tessera-wallet` CLI are thin layers on it.
//!
//! It must never write a secret or personal data to a plain file, never fall back to an
//! in-memory keystore, and never destroy stored data because something could not be read.

pub mod client;
pub mod clock;
pub mod journal;
pub mod keys;
pub mod keystore;
pub mod lifecycle;
pub mod pin;
pub mod pin_policy;
pub mod sealed;
pub mod trust;
pub mod vault;
pub mod wallet;
